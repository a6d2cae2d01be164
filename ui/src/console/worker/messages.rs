//! What goes to the worker and what comes back: requests, replies, and the shapes of the data
//! the screens show.

use std::collections::HashMap;

use liner::ids::{PartyId, RecordingId, WorkId};
use liner::model::{EntityId, Revision};
use liner::protocol::status::Status;
use liner::store::{CreditView, OutboxEntry, PartyView, RecordingDetail, WorkView};
use serde_json::Value;

#[derive(Debug, Clone)]
pub enum Request {
    Search {
        generation: u64,
        text: String,
    },
    PartySearch {
        generation: u64,
        text: String,
    },
    Recording(RecordingId),
    Isrc(String),
    Iswc(String),
    Party(PartyId),
    PartyNamed(String),
    Work(WorkId),
    History(EntityId),
    Outbox,
    /// The sync status; `counts` adds the mirror's entity counts (a scan: for the status
    /// screen, not for every tick).
    Status {
        counts: bool,
    },
    Enqueue {
        entity: EntityId,
        base_version: u64,
        patch: Value,
        reason: String,
        actor: String,
    },
    Revise {
        seq: i64,
        base_version: u64,
        patch: Value,
        reason: String,
    },
    Discard(i64),
}

/// One search result as the list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    pub id: EntityId,
    /// Recording title, or party name.
    pub title: String,
    /// Display artist, or the party's disambiguation.
    pub artist: String,
    pub release: String,
    pub isrc: String,
    pub popularity: f32,
    /// What tells a party apart from others of its name (parties only).
    pub party: Option<PartyFacts>,
}

/// A party as a list of candidates shows it: what tells same-name parties apart.
#[derive(Debug, Clone, PartialEq)]
pub struct PartyFacts {
    /// person, group or organisation.
    pub kind: &'static str,
    pub disambiguation: String,
    /// ISNI and IPI, as stored.
    pub codes: String,
    /// Recordings that credit the party.
    pub credits: u64,
}

/// Who added a credit or last changed it, when, from where and why.
pub use liner::model::Provenance;

/// An edit of this entity that the mirror does not reflect yet.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalEdit {
    pub entry: OutboxEntry,
    /// The credits as the edit would leave them, with party names (for a credits edit).
    pub credits: Option<Vec<CreditView>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DetailData {
    pub detail: RecordingDetail,
    /// Per credit of `detail.credits`.
    pub provenance: Vec<Option<Provenance>>,
    /// Local edits not yet in the mirror, oldest first.
    pub edits: Vec<LocalEdit>,
    /// Names of the parties the edits' patches and conflicts mention.
    pub names: HashMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct OutboxCounts {
    pub pending: i64,
    pub sent: i64,
    pub accepted: i64,
    pub rejected: i64,
    pub conflicted: i64,
}

/// Entities in the mirror, by kind (named, so `liner status --json` says what each number is).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct MirrorCounts {
    pub parties: i64,
    pub recordings: i64,
    pub works: i64,
    pub releases: i64,
}

/// What the header and the status screen show.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct StatusSnapshot {
    pub daemon: Option<Status>,
    /// Why there is no daemon status, in words.
    pub daemon_problem: Option<String>,
    pub daemon_running: bool,
    pub outbox: OutboxCounts,
    pub quarantined: i64,
    /// Journal entries the search index has not caught up with.
    pub index_lag: Option<i64>,
    /// The journal position the index's last commit covers: when it moves, results may too.
    pub index_position: Option<i64>,
    /// How many of each kind the mirror holds (a scan: only when asked).
    pub counts: Option<MirrorCounts>,
    /// Why the mirror cannot be read, in words.
    pub mirror_problem: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Reply {
    /// Recordings first, then parties, each ranked.
    Search {
        generation: u64,
        rows: Vec<ResultRow>,
        micros: u64,
        /// No entry matched every word: these match most of them.
        partial: bool,
    },
    /// A newer search came in before this one was answered.
    Superseded {
        generation: u64,
    },
    PartyMatches {
        generation: u64,
        rows: Vec<ResultRow>,
        /// No party has every word: these have most of them.
        partial: bool,
    },
    Recording(Box<DetailData>),
    /// Several things answer a lookup (an ISRC on two recordings, two parties of one name).
    Matches {
        title: String,
        rows: Vec<ResultRow>,
    },
    Party(Box<PartyView>),
    Work(Box<WorkView>),
    History {
        entity: EntityId,
        title: String,
        revisions: Vec<Revision>,
        names: HashMap<String, String>,
    },
    /// The outbox, with the names of the parties its conflicts mention.
    Outbox(Vec<OutboxEntry>, HashMap<String, String>),
    Status(Box<StatusSnapshot>),
    Saved(OutboxEntry),
    Discarded(i64),
    NotFound(String),
    Failed(String),
}
