//! Revisions: the immutable, attributable record of every change to an entity.

use serde::{Deserialize, Serialize};

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub kind: SourceKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// One field's change: a JSON pointer-like path with the old and new values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldChange {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<serde_json::Value>,
}

/// One immutable change: who, from where, why, when, and what changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revision {
    /// The entity version this revision produced.
    pub version: u64,
    pub actor: String,
    pub source: Source,
    pub reason: String,
    /// When the upstream accepted it, RFC 3339.
    pub at: jiff::Timestamp,
    /// Empty for a creation recorded without a diff (the data is the new state).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<FieldChange>,
}
