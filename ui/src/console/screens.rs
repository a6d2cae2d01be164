//! The state of each screen. Screens stack: Enter pushes, Esc pops, `/` goes home.

use std::collections::HashMap;

use liner::ids::{PartyId, RecordingId, WorkId};
use liner::model::{Conflict, EntityId, Revision};
use liner::protocol::EditOutcome;
use liner::store::{OutboxEntry, PartyView, WorkView};
use serde_json::{Map, Value};

use super::edit::{CreditForm, SharesForm, percent};
use super::list::ListCursor;
use super::worker::{DetailData, ResultRow};

#[derive(Debug)]
pub enum Screen {
    Search(SearchScreen),
    Detail(DetailScreen),
    History(HistoryScreen),
    Party(PartyScreen),
    Work(WorkScreen),
    Outbox(OutboxScreen),
    Conflict(ConflictScreen),
    EditCredits(CreditForm),
    EditShares(SharesForm),
    Status,
}

impl Screen {
    pub fn name(&self) -> &'static str {
        match self {
            Screen::Search(s) if s.title.is_some() => "matches",
            Screen::Search(_) => "search",
            Screen::Detail(_) => "recording",
            Screen::History(_) => "history",
            Screen::Party(_) => "party",
            Screen::Work(_) => "work",
            Screen::Outbox(o) if o.only_conflicts => "conflicts",
            Screen::Outbox(_) => "outbox",
            Screen::Conflict(_) => "conflict",
            Screen::EditCredits(_) => "edit credits",
            Screen::EditShares(_) => "edit shares",
            Screen::Status => "status",
        }
    }

    /// The list the movement keys move in, and how long it is.
    pub fn list(&mut self) -> Option<(&mut ListCursor, usize)> {
        match self {
            Screen::Search(s) => Some((&mut s.cursor, s.rows.len())),
            Screen::Detail(s) => {
                let len = s.credits_len();
                Some((&mut s.cursor, len))
            }
            Screen::History(s) => Some((&mut s.cursor, s.revisions.len())),
            Screen::Party(s) => Some((&mut s.cursor, s.rows.len())),
            Screen::Work(s) => Some((&mut s.cursor, s.view.writers.len())),
            Screen::Outbox(s) => {
                let len = s.visible().count();
                Some((&mut s.cursor, len))
            }
            Screen::Conflict(s) => Some((&mut s.cursor, s.conflicts.len())),
            Screen::EditCredits(f) => Some((&mut f.cursor, f.credits.len())),
            Screen::EditShares(f) => Some((&mut f.cursor, f.writers.len())),
            Screen::Status => None,
        }
    }
}

#[derive(Debug, Default)]
pub struct SearchScreen {
    pub query: String,
    /// Keys go into the query (rather than moving in the list).
    pub typing: bool,
    /// Recordings first, then parties: two sections, one cursor through both.
    pub rows: Vec<ResultRow>,
    pub cursor: ListCursor,
    /// The first party row shown in the parties section (the cursor's own offset serves the
    /// recordings).
    pub party_offset: usize,
    /// No entry matched every word; these match most of them.
    pub partial: bool,
    /// The generation of the newest search asked for; replies for older ones are dropped.
    pub generation: u64,
    /// The generation the shown rows answer.
    pub shown_generation: u64,
    pub micros: Option<u64>,
    /// Set for a list of matches (an ISRC on two recordings…), which has no query.
    pub title: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug)]
pub struct DetailScreen {
    pub id: RecordingId,
    pub data: Option<Box<DetailData>>,
    pub cursor: ListCursor,
}

impl DetailScreen {
    /// The credits the screen shows: the newest local edit's, else the mirror's.
    pub fn shown_credits(&self) -> Option<&[liner::store::CreditView]> {
        let data = self.data.as_ref()?;
        Some(
            data.edits
                .iter()
                .rev()
                .find_map(|e| e.credits.as_deref())
                .unwrap_or(&data.detail.credits),
        )
    }

    pub fn credits_len(&self) -> usize {
        self.shown_credits().map_or(0, |c| c.len())
    }
}

#[derive(Debug)]
pub struct HistoryScreen {
    pub entity: EntityId,
    pub title: String,
    /// Newest first.
    pub revisions: Vec<Revision>,
    pub names: HashMap<String, String>,
    pub cursor: ListCursor,
    pub loaded: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PartyRow {
    Heading {
        label: String,
        count: usize,
    },
    Credit {
        recording: RecordingId,
        title: String,
        artist: String,
        extra: String,
    },
    Work {
        work: WorkId,
        title: String,
        role: String,
        share: Option<String>,
    },
}

#[derive(Debug)]
pub struct PartyScreen {
    pub id: PartyId,
    pub view: Option<Box<PartyView>>,
    pub rows: Vec<PartyRow>,
    pub cursor: ListCursor,
}

impl PartyScreen {
    pub fn fill(&mut self, view: Box<PartyView>) {
        let mut rows = Vec::new();
        for group in &view.by_role {
            rows.push(PartyRow::Heading {
                label: group.role.label(),
                count: group.credits.len(),
            });
            for c in &group.credits {
                let mut extra = Vec::new();
                if let Some(i) = &c.instrument {
                    extra.push(i.clone());
                }
                if let Some(a) = &c.credited_as {
                    extra.push(format!("as “{a}”"));
                }
                rows.push(PartyRow::Credit {
                    recording: c.recording,
                    title: c.title.clone(),
                    artist: c.artist.clone(),
                    extra: extra.join(", "),
                });
            }
        }
        if !view.works.is_empty() {
            rows.push(PartyRow::Heading {
                label: "Writer on works".into(),
                count: view.works.len(),
            });
            for w in &view.works {
                rows.push(PartyRow::Work {
                    work: w.work,
                    title: w.title.clone(),
                    role: w.role.as_str().replace('_', " "),
                    share: w.share_bp.map(|bp| percent(u32::from(bp))),
                });
            }
        }
        self.cursor.clamp(rows.len());
        self.rows = rows;
        self.view = Some(view);
    }
}

#[derive(Debug)]
pub struct WorkScreen {
    pub view: Box<WorkView>,
    pub cursor: ListCursor,
}

#[derive(Debug, Default)]
pub struct OutboxScreen {
    pub entries: Vec<OutboxEntry>,
    pub names: HashMap<String, String>,
    pub only_conflicts: bool,
    pub cursor: ListCursor,
    pub loaded: bool,
}

impl OutboxScreen {
    /// Newest first; only conflicted ones when asked for `:conflicts`.
    pub fn visible(&self) -> impl Iterator<Item = &OutboxEntry> {
        self.entries
            .iter()
            .rev()
            .filter(|e| !self.only_conflicts || e.state == liner::store::OutboxState::Conflicted)
    }

    pub fn selected(&self) -> Option<&OutboxEntry> {
        self.visible().nth(self.cursor.selected)
    }
}

pub use liner::model::Pick;

/// A conflicted or gone edit, being resolved: each conflict with the side a person keeps
/// (mine until they choose), applied to the merge of everything else.
#[derive(Debug)]
pub struct ConflictScreen {
    pub entry: OutboxEntry,
    pub their_version: u64,
    pub conflicts: Vec<(Conflict, Pick)>,
    /// The edit with everything that did not clash merged in (see [`liner::model::Merge`]).
    pub merged: Map<String, Value>,
    /// The entity was deleted upstream: nothing to resolve, only to discard.
    pub gone: Option<String>,
    pub names: HashMap<String, String>,
    pub cursor: ListCursor,
}

impl ConflictScreen {
    pub fn new(entry: OutboxEntry, names: HashMap<String, String>) -> ConflictScreen {
        let (their_version, conflicts, merged, gone) = match &entry.outcome {
            Some(EditOutcome::Conflicted {
                their_version,
                conflicts,
                merged,
                ..
            }) => (
                *their_version,
                conflicts.iter().map(|c| (c.clone(), Pick::Mine)).collect(),
                merged.clone(),
                None,
            ),
            Some(EditOutcome::Gone { detail, .. }) => (
                entry.base_version,
                Vec::new(),
                Map::new(),
                Some(detail.clone()),
            ),
            _ => (
                entry.base_version,
                Vec::new(),
                entry.patch.as_object().cloned().unwrap_or_default(),
                None,
            ),
        };
        ConflictScreen {
            their_version,
            conflicts,
            merged,
            gone,
            entry,
            names,
            cursor: ListCursor::default(),
        }
    }

    /// The edit as resolved: the merge with each conflict as picked.
    pub fn resolved_patch(&self) -> Value {
        let picks: Vec<(&Conflict, Pick)> = self.conflicts.iter().map(|(c, p)| (c, *p)).collect();
        Value::Object(liner::model::resolve(&self.merged, &picks))
    }
}
