//! Recordings: the audio, its display credit, credits and linked works.

use serde::{Deserialize, Serialize};

use super::credit::{ArtistCredit, Credit};
use super::unknown::Unknown;
use crate::ident::Isrc;
use crate::ids::{RecordingId, WorkId};

/// What audio analysis found. Values are integers so records compare and hash exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcousticFeatures {
    /// Beats per minute × 10.
    pub tempo_deci_bpm: u16,
    /// Pitch class 0–11 (C = 0).
    pub key: u8,
    pub minor: bool,
    /// 0–1000.
    pub energy: u16,
    /// 0–1000.
    pub danceability: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    pub id: RecordingId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isrc: Option<Isrc>,
    pub title: String,
    /// "Live", "2011 Remaster", "Radio Edit".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u32>,
    pub display_artist: Vec<ArtistCredit>,
    #[serde(default)]
    pub explicit: bool,
    /// ISO 639 language code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genre: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<AcousticFeatures>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub works: Vec<WorkId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credits: Vec<Credit>,
    /// Members this build does not know, kept as they came (see [`super::unknown`]).
    #[serde(flatten, skip_serializing_if = "Unknown::is_empty")]
    pub unknown: Unknown,
}

impl Recording {
    pub fn display_artist(&self) -> String {
        super::credit::display_artist(&self.display_artist)
    }
}
