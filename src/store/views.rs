//! What the mirror's reads answer with: a recording with everything about it, a party with
//! its credits and works, a browsing row. Names are as they are now, shares as stored
//! (hidden for an artist who is not a writer).

use serde::Serialize;

use crate::ident::Gtin;
use crate::ids::{RecordingId, ReleaseId, WorkId};
use crate::model::{Credit, Party, Recording, Work, Writer};
use crate::roles::{Role, WriterRole};

/// A credit with the party's name as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditView {
    #[serde(flatten)]
    pub credit: Credit,
    pub party_name: String,
    pub party_disambiguation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriterView {
    #[serde(flatten)]
    pub writer: Writer,
    pub party_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkView {
    pub work: Work,
    pub version: u64,
    pub writers: Vec<WriterView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseAppearance {
    pub id: ReleaseId,
    pub title: String,
    pub upc: Option<Gtin>,
    pub release_date: Option<String>,
    pub disc: u16,
    pub position: u16,
}

/// A recording with its credits, works (with writers and shares) and releases.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordingDetail {
    pub recording: Recording,
    pub version: u64,
    pub popularity: f32,
    pub credits: Vec<CreditView>,
    pub works: Vec<WorkView>,
    pub releases: Vec<ReleaseAppearance>,
}

/// One recording a party is credited on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyCreditRow {
    pub recording: RecordingId,
    pub title: String,
    pub artist: String,
    pub instrument: Option<String>,
    pub credited_as: Option<String>,
}

/// One role's credits of a party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyCredits {
    pub role: Role,
    pub credits: Vec<PartyCreditRow>,
}

/// A work a party writes on, with the share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyWork {
    pub work: WorkId,
    pub title: String,
    pub role: WriterRole,
    /// `None` when the share is hidden from this mirror's token.
    pub share_bp: Option<u16>,
}

/// Every credit of a party grouped by role: what an artist checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyView {
    pub party: Party,
    pub version: u64,
    pub by_role: Vec<PartyCredits>,
    pub works: Vec<PartyWork>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrowseRow {
    pub id: RecordingId,
    pub title: String,
    pub artist: String,
    pub isrc: Option<String>,
    pub popularity: f32,
}

/// A recording as a list of search results shows it: a row of its own table and the title of
/// its first release, without the credits, works and shares a detail reads.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultSummary {
    pub row: BrowseRow,
    pub release: Option<String>,
}
