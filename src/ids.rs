//! Opaque, prefixed, sortable entity ids (`rec_…`, `pty_…`, `wrk_…`, `rel_…`, `dsp_…`).
//!
//! An id is a ULID behind a type prefix: it sorts by creation time, it says what it names when
//! it shows up in a log or a support ticket, and one kind of id can never be passed where
//! another is expected. Identity is always the id, never a name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ulid::Ulid;

/// Why a string is not an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("id {value:?} does not start with the prefix {expected:?}")]
    WrongPrefix {
        value: String,
        expected: &'static str,
    },
    #[error("id {value:?} is not a prefix followed by a 26-character ULID")]
    BadUlid { value: String },
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Ulid);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new id for the current time.
            pub fn new() -> Self {
                Self(Ulid::new())
            }

            /// An id from its parts; the generator uses this to be deterministic.
            pub fn from_parts(timestamp_ms: u64, random: u128) -> Self {
                Self(Ulid::from_parts(timestamp_ms, random))
            }

            pub fn ulid(&self) -> Ulid {
                self.0
            }

            pub fn from_ulid(ulid: Ulid) -> Self {
                Self(ulid)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, IdError> {
                let rest = s.strip_prefix($prefix).ok_or_else(|| IdError::WrongPrefix {
                    value: s.to_owned(),
                    expected: $prefix,
                })?;
                Ulid::from_string(rest)
                    .map(Self)
                    .map_err(|_| IdError::BadUlid { value: s.to_owned() })
            }
        }

        // JSON carries the prefixed text; compact binary formats (the mirror's stored
        // bodies) carry the 128-bit ULID.
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                if serializer.is_human_readable() {
                    serializer.collect_str(self)
                } else {
                    serializer.serialize_u128(u128::from(self.0))
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                if deserializer.is_human_readable() {
                    crate::parsed::parse_str(deserializer, str::parse)
                } else {
                    u128::deserialize(deserializer).map(|v| Self(Ulid::from(v)))
                }
            }
        }
    };
}

prefixed_id!(
    /// A recording: one piece of audio.
    RecordingId,
    "rec_"
);
prefixed_id!(
    /// A party: a person, group or organisation.
    PartyId,
    "pty_"
);
prefixed_id!(
    /// A work: a composition with writers and shares.
    WorkId,
    "wrk_"
);
prefixed_id!(
    /// A release: album, single or EP.
    ReleaseId,
    "rel_"
);
prefixed_id!(
    /// A dispute about an entity's credits.
    DisputeId,
    "dsp_"
);
prefixed_id!(
    /// One immutable revision in an entity's history.
    RevisionId,
    "rev_"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_refuse_the_wrong_kind() {
        let id = RecordingId::from_parts(1_700_000_000_000, 42);
        let text = id.to_string();
        assert!(text.starts_with("rec_"));
        assert_eq!(text.parse::<RecordingId>(), Ok(id));
        assert!(matches!(
            text.parse::<PartyId>(),
            Err(IdError::WrongPrefix { .. })
        ));
        assert!(matches!(
            "rec_nope".parse::<RecordingId>(),
            Err(IdError::BadUlid { .. })
        ));
    }

    #[test]
    fn ids_sort_by_time() {
        let a = PartyId::from_parts(1, u128::MAX);
        let b = PartyId::from_parts(2, 0);
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
    }
}
