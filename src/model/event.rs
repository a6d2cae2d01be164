//! Listening events from players: the input of popularity.

use serde::{Deserialize, Serialize};

use crate::ids::RecordingId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Play,
    Like,
    Skip,
    Save,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub recording: RecordingId,
    pub kind: EventKind,
    /// A salted hash of the listener: enough to count listeners, never to name one.
    pub listener: String,
    pub at: jiff::Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u32>,
    /// ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}
