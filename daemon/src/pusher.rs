//! The outbox pusher: sends local edits upstream in order, exactly once, and turns what the
//! upstream says into durable outbox states.
//!
//! Each edit is marked `sent` before it goes out and resent with the same idempotency key
//! (derived from the row's key and base version) after a crash or a network error, so the
//! upstream applies it once. A stale base (412) is merged three-way against the upstream's
//! history: if the other side did not touch any field this edit changes, it is rebased onto
//! the current version and resent; if every such field already has this edit's value, it is
//! done; a field both sides changed to different values makes the edit `conflicted`, with base,
//! mine and theirs per field, for a person. A 422 makes it `rejected` with the upstream's
//! reasons. Later edits of an entity wait while an earlier one is conflicted or rejected.

use std::collections::HashSet;
use std::time::Duration;

use liner::model::EntityId;
use liner::store::{OutboxEntry, OutboxState, Store, StoreError};
use rand::SeedableRng as _;
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::client::{FetchError, PatchOutcome, Upstream};
use crate::status::StatusFile;

/// One field both sides changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldConflict {
    pub field: String,
    pub base: Value,
    pub mine: Value,
    pub theirs: Value,
}

/// What a three-way merge concluded.
#[derive(Debug, Clone, PartialEq)]
pub enum Merge {
    /// The other side touched none of this edit's fields: resend on the current version.
    Rebase,
    /// Every field of this edit already has its value upstream.
    AlreadyThere,
    Conflict(Vec<FieldConflict>),
}

/// Merges `patch` (made against `base_version`) with what happened upstream since:
/// `revisions` (the entity's history, oldest first) and `current` (its data now).
pub fn merge(
    patch: &Map<String, Value>,
    base_version: u64,
    revisions: &[Value],
    current: &Value,
) -> Merge {
    let later: Vec<&Value> = revisions
        .iter()
        .filter(|r| r["version"].as_u64().is_some_and(|v| v > base_version))
        .collect();
    // The first value each field had after the base: that is the base value of the field.
    let mut touched: Vec<(String, Value)> = Vec::new();
    for rev in &later {
        for change in rev["diff"].as_array().into_iter().flatten() {
            let Some(field) = change["path"]
                .as_str()
                .map(|p| p.trim_start_matches('/').to_owned())
            else {
                continue;
            };
            if !touched.iter().any(|(f, _)| f == &field) {
                touched.push((field, change.get("old").cloned().unwrap_or(Value::Null)));
            }
        }
    }
    let mut conflicts = Vec::new();
    let mut untouched = 0;
    for (field, mine) in patch {
        let theirs = current.get(field).cloned().unwrap_or(Value::Null);
        match touched.iter().find(|(f, _)| f == field) {
            None => untouched += 1,
            Some(_) if &theirs == mine => {}
            Some((_, base)) => conflicts.push(FieldConflict {
                field: field.clone(),
                base: base.clone(),
                mine: mine.clone(),
                theirs,
            }),
        }
    }
    if !conflicts.is_empty() {
        Merge::Conflict(conflicts)
    } else if untouched == 0 {
        Merge::AlreadyThere
    } else {
        Merge::Rebase
    }
}

#[derive(Debug, thiserror::Error)]
enum PushError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("the local mirror failed: {0}")]
    Store(#[from] liner::store::StoreError),
}

pub struct Pusher {
    pub store: Store,
    pub upstream: Upstream,
    pub status: std::sync::Arc<StatusFile>,
    pub max_backoff: Duration,
}

impl std::fmt::Debug for Pusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pusher").finish_non_exhaustive()
    }
}

impl Pusher {
    /// Pushes until cancelled. The outbox is checked when another process committed to the
    /// mirror (SQLite's data_version), at most twice a second, so an idle daemon stays idle.
    pub async fn run(mut self, cancel: CancellationToken) -> anyhow::Result<()> {
        let mut backoff = Backoff::new(Duration::from_millis(500), self.max_backoff);
        let mut rng = rand::rngs::SmallRng::from_os_rng();
        let mut seen_version = None;
        let mut work_left = true;
        loop {
            if !work_left {
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
                let v = self.store.data_version()?;
                if seen_version == Some(v) {
                    continue;
                }
                seen_version = Some(v);
            }
            if cancel.is_cancelled() {
                return Ok(());
            }
            match self.push_all(&cancel).await {
                Ok(()) => {
                    backoff.reset();
                    work_left = false;
                }
                Err(PushError::Store(e)) => return Err(e.into()),
                Err(PushError::Fetch(e)) => {
                    let delay = backoff.next_delay(&mut rng);
                    tracing::warn!(error = %e, retry_in = ?delay, "pushing edits failed");
                    self.status
                        .update(|s| s.last_error = Some(format!("pushing edits: {e}")));
                    work_left = true;
                    tokio::select! {
                        _ = cancel.cancelled() => return Ok(()),
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }

    /// Pushes every sendable edit in queue order.
    async fn push_all(&mut self, cancel: &CancellationToken) -> Result<(), PushError> {
        let entries = self.store.outbox(None)?;
        let mut blocked: HashSet<EntityId> = HashSet::new();
        for entry in entries {
            if cancel.is_cancelled() {
                return Ok(());
            }
            match entry.state {
                OutboxState::Conflicted | OutboxState::Rejected => {
                    blocked.insert(entry.entity);
                }
                OutboxState::Pending | OutboxState::Sent if !blocked.contains(&entry.entity) => {
                    if let Some(state) = self.push_one(entry.clone()).await?
                        && state != OutboxState::Accepted
                    {
                        blocked.insert(entry.entity);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Sends one edit (rebasing it as often as the merge allows) and records the outcome.
    async fn push_one(&mut self, mut entry: OutboxEntry) -> Result<Option<OutboxState>, PushError> {
        if entry.state == OutboxState::Pending {
            match self
                .store
                .set_outbox_state(entry.seq, OutboxState::Sent, None)
            {
                // Discarded in the console since the queue was read: nothing to send.
                Err(StoreError::NoSuchOutboxEntry(_)) => return Ok(None),
                other => other?,
            }
        }
        let Some(patch) = entry.patch.as_object().cloned() else {
            self.store.set_outbox_state(
                entry.seq,
                OutboxState::Rejected,
                Some("the edit is not a field patch"),
            )?;
            return Ok(Some(OutboxState::Rejected));
        };
        // A few rebases at most: each needs someone else to have written in between.
        for _ in 0..5 {
            let key = format!("{}-{}", entry.idempotency_key, entry.base_version);
            let outcome = match self
                .upstream
                .patch(
                    &entry.entity,
                    entry.base_version,
                    &key,
                    &entry.reason,
                    &entry.patch,
                )
                .await
            {
                Err(FetchError::Refused {
                    status: 403,
                    detail,
                }) => {
                    self.store
                        .set_outbox_state(entry.seq, OutboxState::Rejected, Some(&detail))?;
                    return Ok(Some(OutboxState::Rejected));
                }
                other => other?,
            };
            match outcome {
                PatchOutcome::Accepted { version } => {
                    let detail = format!("accepted as version {version}");
                    self.store
                        .set_outbox_state(entry.seq, OutboxState::Accepted, Some(&detail))?;
                    return Ok(Some(OutboxState::Accepted));
                }
                PatchOutcome::Rejected { reasons } => {
                    self.store.set_outbox_state(
                        entry.seq,
                        OutboxState::Rejected,
                        Some(&reasons),
                    )?;
                    return Ok(Some(OutboxState::Rejected));
                }
                PatchOutcome::Gone { detail } => {
                    let detail = json!({"gone": detail}).to_string();
                    self.store.set_outbox_state(
                        entry.seq,
                        OutboxState::Conflicted,
                        Some(&detail),
                    )?;
                    return Ok(Some(OutboxState::Conflicted));
                }
                PatchOutcome::Stale { version, data } => {
                    let history = self.upstream.history(&entry.entity).await?;
                    match merge(&patch, entry.base_version, &history, &data) {
                        Merge::Rebase => {
                            tracing::info!(
                                seq = entry.seq,
                                from = entry.base_version,
                                to = version,
                                "rebasing an edit"
                            );
                            self.store.rebase_outbox_edit(entry.seq, version)?;
                            entry.base_version = version;
                        }
                        Merge::AlreadyThere => {
                            let detail =
                                format!("upstream already had these values at version {version}");
                            self.store.set_outbox_state(
                                entry.seq,
                                OutboxState::Accepted,
                                Some(&detail),
                            )?;
                            return Ok(Some(OutboxState::Accepted));
                        }
                        Merge::Conflict(fields) => {
                            let detail = json!({
                                "base_version": entry.base_version,
                                "their_version": version,
                                "fields": fields,
                            })
                            .to_string();
                            self.store.set_outbox_state(
                                entry.seq,
                                OutboxState::Conflicted,
                                Some(&detail),
                            )?;
                            return Ok(Some(OutboxState::Conflicted));
                        }
                    }
                }
            }
        }
        // Still moving under us: leave it sent; the next round tries again.
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(version: u64, field: &str, old: Value, new: Value) -> Value {
        json!({"version": version, "diff": [{"path": format!("/{field}"), "old": old, "new": new}]})
    }

    #[test]
    fn disjoint_fields_rebase() {
        let patch = json!({"title": "Mine"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let history = [
            rev(1, "title", Value::Null, json!("Base")),
            rev(2, "genre", json!("pop"), json!("rock")),
        ];
        let current = json!({"title": "Base", "genre": "rock"});
        assert_eq!(merge(&patch, 1, &history, &current), Merge::Rebase);
    }

    #[test]
    fn the_same_field_changed_two_ways_is_a_conflict_with_base_mine_theirs() {
        let patch = json!({"title": "Mine"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let history = [
            rev(2, "title", json!("Base"), json!("Theirs")),
            rev(3, "title", json!("Theirs"), json!("Theirs 2")),
        ];
        let current = json!({"title": "Theirs 2"});
        assert_eq!(
            merge(&patch, 1, &history, &current),
            Merge::Conflict(vec![FieldConflict {
                field: "title".into(),
                base: json!("Base"),
                mine: json!("Mine"),
                theirs: json!("Theirs 2"),
            }])
        );
    }

    #[test]
    fn the_same_change_made_twice_is_already_there() {
        let patch = json!({"title": "Same"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let history = [rev(2, "title", json!("Base"), json!("Same"))];
        assert_eq!(
            merge(&patch, 1, &history, &json!({"title": "Same"})),
            Merge::AlreadyThere
        );
    }

    #[test]
    fn revisions_up_to_the_base_are_not_the_other_side() {
        let patch = json!({"title": "Mine"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let history = [rev(2, "title", json!("Old"), json!("Base"))];
        assert_eq!(
            merge(&patch, 2, &history, &json!({"title": "Base"})),
            Merge::Rebase
        );
    }
}
