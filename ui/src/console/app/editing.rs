//! Starting edits (the credit form, `$EDITOR`, the share form) and saving them: an edit is
//! checked, then asks for its reason, then goes to the worker as an outbox row.

use liner::model::EntityId;

use super::*;
use crate::console::edit::{CreditForm, SharesForm};
use crate::console::screens::Screen;
use crate::console::toml_edit;
use crate::console::worker::Request;

impl App {
    /// An edit of a recording whose earlier edit is still on its way would be made against a
    /// version that edit is about to replace, and conflict with it.
    pub(super) fn blocked_by_edit_in_flight(&mut self) -> bool {
        let Screen::Detail(d) = self.top() else {
            return true;
        };
        let Some(data) = &d.data else { return true };
        if let Some(e) = data.edits.first() {
            let text = match e.entry.state {
                liner::store::OutboxState::Conflicted => format!(
                    "edit {} of this recording conflicts; press c to resolve it first",
                    e.entry.seq
                ),
                liner::store::OutboxState::Rejected => format!(
                    "edit {} of this recording was rejected; fix or discard it in :outbox first",
                    e.entry.seq
                ),
                state => format!(
                    "edit {} of this recording is still {}; wait until upstream confirms it",
                    e.entry.seq,
                    state.as_str()
                ),
            };
            self.info(text);
            return true;
        }
        false
    }

    pub(super) fn start_credit_edit(&mut self) {
        if self.blocked_by_edit_in_flight() {
            return;
        }
        if let Screen::Detail(d) = self.top()
            && let Some(data) = &d.data
        {
            let form = CreditForm::new(data);
            self.screens.push(Screen::EditCredits(form));
        }
    }

    pub(super) fn start_external_edit(&mut self) {
        if self.blocked_by_edit_in_flight() {
            return;
        }
        if let Screen::Detail(d) = self.top()
            && let Some(data) = &d.data
        {
            let names: Vec<_> = data
                .detail
                .credits
                .iter()
                .map(|c| (c.credit.party, c.party_name.clone()))
                .collect();
            let recording = data.detail.recording.clone();
            let text = toml_edit::render(&recording, data.detail.version, &names);
            self.external = Some(ExternalEdit {
                recording,
                version: data.detail.version,
                text,
            });
        }
    }

    /// What the run loop reports back from `$EDITOR`.
    pub fn external_done(
        &mut self,
        edit: &ExternalEdit,
        outcome: Result<toml_edit::Outcome, String>,
    ) {
        self.dirty = true;
        match outcome {
            Ok(toml_edit::Outcome::Edited { credits, reason }) => {
                let patch = serde_json::json!({ "credits": credits });
                self.ask(Request::Enqueue {
                    entity: EntityId::Recording(edit.recording.id),
                    base_version: edit.version,
                    patch,
                    reason,
                    actor: self.session.actor.clone(),
                });
            }
            Ok(toml_edit::Outcome::Cancelled) => {
                self.info("edit cancelled: nothing changed".into())
            }
            Ok(toml_edit::Outcome::Invalid(_)) => self.info("edit cancelled".into()),
            Err(e) => self.error(e),
        }
    }

    pub(super) fn start_share_edit(&mut self) {
        let form = match self.top() {
            Screen::Detail(d) => match d.data.as_ref().and_then(|data| data.detail.works.first()) {
                Some(w) => SharesForm::new(w),
                None => return self.info("this recording is linked to no work".into()),
            },
            Screen::Work(w) => SharesForm::new(&w.view),
            _ => return,
        };
        if form.writers.iter().any(|w| w.writer.share.is_none()) {
            return self.info("the shares of this work are hidden from this token".into());
        }
        if form.writers.is_empty() {
            return self.info("this work has no writers to share".into());
        }
        self.screens.push(Screen::EditShares(form));
    }

    pub(super) fn save(&mut self) {
        let op = match self.top() {
            Screen::EditCredits(f) => new_edit(
                f.problems(),
                f.changed(),
                "credits",
                EntityId::Recording(f.recording),
                f.base_version,
                || f.patch(),
            ),
            Screen::EditShares(f) => new_edit(
                f.problems(),
                f.changed(),
                "shares",
                EntityId::Work(f.work),
                f.base_version,
                || f.patch(),
            ),
            Screen::Conflict(c) => match &c.gone {
                Some(g) => Err(Refusal::Problem(format!(
                    "the entity is gone upstream ({g}); discard the edit with x"
                ))),
                None => Ok(SaveOp::Resolve {
                    seq: c.entry.seq,
                    base_version: c.their_version,
                    patch: c.resolved_patch(),
                }),
            },
            _ => return,
        };
        let op = match op {
            Ok(op) => op,
            Err(Refusal::Problem(m)) => return self.error(m),
            Err(Refusal::Unchanged(m)) => return self.info(m),
        };
        let input = match (&op, self.top()) {
            (SaveOp::Resolve { .. }, Screen::Conflict(c)) => c.entry.reason.clone(),
            _ => String::new(),
        };
        self.overlay = Some(Overlay::Prompt {
            title: "reason for this change (required)".into(),
            input,
            purpose: PromptFor::Reason(op),
            error: None,
        });
    }
}

/// Why a screen's save does not go ahead.
enum Refusal {
    /// Something to fix first (an error).
    Problem(String),
    /// Nothing was changed (just information).
    Unchanged(String),
}

/// The outbox write an edit form asks for, checked the same way for every form: nothing is
/// queued while the form has problems or equals what it started from.
fn new_edit(
    problems: Vec<String>,
    changed: bool,
    what: &str,
    entity: EntityId,
    base_version: u64,
    patch: impl FnOnce() -> serde_json::Value,
) -> Result<SaveOp, Refusal> {
    if let Some(p) = problems.first() {
        return Err(Refusal::Problem(format!("cannot save: {p}")));
    }
    if !changed {
        return Err(Refusal::Unchanged(format!(
            "nothing to save: the {what} are as they were"
        )));
    }
    Ok(SaveOp::New {
        entity,
        base_version,
        patch: patch(),
    })
}
