//! The snapshot and the change feed: NDJSON change records ([`ChangeRecord`]), then one
//! trailer line. A stream that ends without its trailer was cut short and is not trusted.
//!
//! [`ChangeRecord`]: crate::model::ChangeRecord

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::Cursor;

fn version_one() -> u32 {
    1
}

/// The last line of a feed page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FeedTrailer {
    /// The cursor to continue from (opaque).
    pub next: String,
    /// Whether `next` is the feed's head.
    pub up_to_date: bool,
    /// Changes past this page when it was read.
    pub behind: u64,
    /// The protocol version of the page (absent from version 1 services).
    #[serde(default = "version_one")]
    pub protocol: u32,
}

/// The last line of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SnapshotTrailer {
    /// The cursor to tail the feed from: the head when the snapshot started. A snapshot is
    /// served in chunks each consistent at its own head, none earlier than this; tailing from
    /// here replays what later chunks already hold, which a version-gated apply skips, so
    /// the mirror is exact once it has tailed past the last chunk.
    pub next: String,
    /// Always true: nothing is missing once the feed is tailed from `next`.
    pub up_to_date: bool,
    /// How many records the snapshot held.
    pub count: u64,
    /// The protocol version of the snapshot (absent from version 1 services).
    #[serde(default = "version_one")]
    pub protocol: u32,
}

/// Why a trailer line is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {why}")]
pub struct TrailerError {
    pub what: &'static str,
    pub why: String,
}

/// Reading a trailer line.
pub trait Trailer: Sized + serde::de::DeserializeOwned {
    const WHAT: &'static str;

    /// The cursor it names.
    fn next(&self) -> &str;

    /// The line as this trailer; `None` when it is a change record (it names an entity).
    fn parse(line: &str) -> Option<Result<Self, TrailerError>> {
        let line = line.trim_end();
        if line.starts_with("{\"entity\"") {
            return None;
        }
        Some(serde_json::from_str(line).map_err(|e| TrailerError {
            what: Self::WHAT,
            why: e.to_string(),
        }))
    }

    fn cursor(&self) -> Result<Cursor, TrailerError> {
        Cursor::parse_token(self.next()).ok_or_else(|| TrailerError {
            what: Self::WHAT,
            why: format!("its cursor {:?} does not parse", self.next()),
        })
    }
}

impl Trailer for FeedTrailer {
    const WHAT: &'static str = "the feed page's trailer";
    fn next(&self) -> &str {
        &self.next
    }
}

impl Trailer for SnapshotTrailer {
    const WHAT: &'static str = "the snapshot's trailer";
    fn next(&self) -> &str {
        &self.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailer_without_a_required_member_is_refused_not_defaulted() {
        let ok = FeedTrailer::parse(r#"{"next":"E.2","up_to_date":true,"behind":0}"#);
        assert!(
            matches!(ok, Some(Ok(FeedTrailer { protocol: 1, .. }))),
            "{ok:?}"
        );
        let bad = FeedTrailer::parse(r#"{"next":"E.2","up_to_date":true}"#);
        assert!(matches!(bad, Some(Err(_))), "{bad:?}");
        assert!(FeedTrailer::parse(r#"{"entity":"party"}"#).is_none());
        let newer = SnapshotTrailer::parse(
            r#"{"next":"E.2","up_to_date":true,"count":3,"protocol":9,"more":1}"#,
        );
        assert!(matches!(
            newer,
            Some(Ok(SnapshotTrailer { protocol: 9, .. }))
        ));
    }
}
