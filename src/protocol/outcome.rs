//! How the upstream answered a local edit, as the mirror's outbox keeps it: one typed value in
//! one versioned encoding, which the pusher writes and the console and the CLI read and tell
//! in words.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::FieldError;
use crate::model::Conflict;

/// The encoding version [`EditOutcome::encode`] writes.
pub const OUTCOME_ENCODING: u32 = 1;

/// The answer to one edit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum EditOutcome {
    /// The upstream took it: the entity is at `version` now.
    Accepted { version: u64 },
    /// Every change of the edit was upstream already, at `version` (someone made the same
    /// change).
    AlreadyThere { version: u64 },
    /// Refused, for a person to fix: the upstream's status, its words, and one entry per
    /// failing field.
    Rejected {
        status: u16,
        detail: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        errors: Vec<FieldError>,
    },
    /// Someone else changed the same thing since the edit's base: each conflict with base,
    /// mine and theirs and who made theirs. `merged` is the edit with everything else merged
    /// in and theirs in place of each conflict, against `their_version`.
    Conflicted {
        base_version: u64,
        their_version: u64,
        conflicts: Vec<Conflict>,
        merged: Map<String, Value>,
    },
    /// The entity is deleted upstream (at `version`, when known) or does not exist there.
    Gone {
        detail: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<u64>,
    },
}

/// A stored outcome that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutcomeError {
    #[error("outcome encoding {0} is newer than this build's ({OUTCOME_ENCODING})")]
    TooNew(u32),
    #[error("the stored outcome does not parse: {0}")]
    Garbled(String),
}

#[derive(Serialize, Deserialize)]
struct Stored<T> {
    v: u32,
    #[serde(flatten)]
    outcome: T,
}

impl EditOutcome {
    /// The stored form: `{"v": 1, "outcome": "accepted", …}`.
    pub fn encode(&self) -> String {
        serde_json::to_string(&Stored {
            v: OUTCOME_ENCODING,
            outcome: self,
        })
        .unwrap_or_default()
    }

    pub fn decode(text: &str) -> Result<EditOutcome, OutcomeError> {
        #[derive(Deserialize)]
        struct Version {
            v: u32,
        }
        let v = serde_json::from_str::<Version>(text)
            .map_err(|e| OutcomeError::Garbled(e.to_string()))?
            .v;
        if v > OUTCOME_ENCODING {
            return Err(OutcomeError::TooNew(v));
        }
        serde_json::from_str::<Stored<EditOutcome>>(text)
            .map(|s| s.outcome)
            .map_err(|e| OutcomeError::Garbled(e.to_string()))
    }

    /// The version the mirror must reach before the edit shows there, for an accepted edit.
    pub fn accepted_version(&self) -> Option<u64> {
        match self {
            EditOutcome::Accepted { version } | EditOutcome::AlreadyThere { version } => {
                Some(*version)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_and_a_newer_encoding_is_refused() {
        let all = [
            EditOutcome::Accepted { version: 3 },
            EditOutcome::AlreadyThere { version: 4 },
            EditOutcome::Rejected {
                status: 422,
                detail: "1 field failed".into(),
                errors: vec![FieldError::new("patch.title", "blank")],
            },
            EditOutcome::Gone {
                detail: "deleted".into(),
                version: Some(5),
            },
        ];
        for o in all {
            assert_eq!(EditOutcome::decode(&o.encode()), Ok(o));
        }
        assert_eq!(
            EditOutcome::decode(r#"{"v":2,"outcome":"accepted","version":1}"#),
            Err(OutcomeError::TooNew(2))
        );
        assert!(matches!(
            EditOutcome::decode(r#"{"v":1,"outcome":"accepted"}"#),
            Err(OutcomeError::Garbled(_))
        ));
    }
}
