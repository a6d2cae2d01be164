//! Releases: albums, singles and EPs with their ordered track lists.

use serde::{Deserialize, Serialize};

use super::credit::ArtistCredit;
use super::unknown::Unknown;
use crate::ident::Gtin;
use crate::ids::{RecordingId, ReleaseId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseType {
    Album,
    Single,
    Ep,
    Compilation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Track {
    #[serde(default = "one")]
    pub disc: u16,
    pub position: u16,
    pub recording: RecordingId,
    /// Members this build does not know, kept as they came (see [`super::unknown`]).
    #[serde(flatten, skip_serializing_if = "Unknown::is_empty")]
    pub unknown: Unknown,
}

fn one() -> u16 {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub id: ReleaseId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upc: Option<Gtin>,
    pub title: String,
    pub release_type: ReleaseType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, as precise as the label knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_date: Option<String>,
    pub display_artist: Vec<ArtistCredit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tracks: Vec<Track>,
    /// Members this build does not know, kept as they came (see [`super::unknown`]).
    #[serde(flatten, skip_serializing_if = "Unknown::is_empty")]
    pub unknown: Unknown,
}
