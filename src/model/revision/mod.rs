//! Revisions: the immutable, attributable record of every change to an entity, and the logic
//! every part of liner applies to them, written once here: the field diff a revision records
//! ([`diff`]), the three-way merge of an edit made against an older version ([`merge`]), and
//! which revision made each credit what it is ([`provenance`]). The service writes diffs with
//! it, the daemon merges with it, the console and the CLI show provenance with it.

mod diff;
mod items;
mod merge;
mod provenance;
mod raw;

use serde::{Deserialize, Serialize};

use super::unknown::Unknown;

pub use diff::diff;
pub use items::{ItemKey, ListField};
pub use merge::{Author, Conflict, Merge, MergeError, Pick, merge, resolve};
pub use provenance::{Provenance, provenance};
pub use raw::RawJson;

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A person using the console or API.
    Editor,
    /// A label delivery (DDEX ERN, CSV); `reference` is the delivery id.
    Delivery,
    /// A bulk import or seed.
    Import,
    /// An artist's correction request; `reference` is the request id.
    ArtistRequest,
    /// A derived update such as audio analysis.
    Enrichment,
}

impl SourceKind {
    pub const ALL: [SourceKind; 5] = [
        SourceKind::Editor,
        SourceKind::Delivery,
        SourceKind::Import,
        SourceKind::ArtistRequest,
        SourceKind::Enrichment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Editor => "editor",
            SourceKind::Delivery => "delivery",
            SourceKind::Import => "import",
            SourceKind::ArtistRequest => "artist_request",
            SourceKind::Enrichment => "enrichment",
        }
    }

    pub fn from_wire(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Source {
    pub kind: SourceKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reference: Option<String>,
}

/// One field's change: a JSON pointer-like path with the old and new values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldChange {
    pub path: String,
    /// The value before (absent when the field was not set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = serde_json::Value)]
    pub old: Option<RawJson>,
    /// The value after (absent when the field was removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = serde_json::Value)]
    pub new: Option<RawJson>,
}

/// One immutable change: who, from where, why, when, and what changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Revision {
    /// The entity version this revision produced.
    pub version: u64,
    pub actor: String,
    pub source: Source,
    pub reason: String,
    /// When the upstream accepted it, RFC 3339.
    #[schema(value_type = String, format = DateTime)]
    pub at: jiff::Timestamp,
    /// Empty for a creation recorded without a diff (the data is the new state).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<FieldChange>,
    /// Members this build does not know, kept as they came (see [`super::unknown`]).
    #[serde(flatten, skip_serializing_if = "Unknown::is_empty")]
    #[schema(ignore)]
    pub unknown: Unknown,
}
