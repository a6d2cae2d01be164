//! External identifiers: ISRC, ISWC, IPI name number, ISNI and GTIN (UPC/EAN).
//!
//! Each type can only be built by parsing, so a value in hand has passed its real check
//! algorithm. Parsing first normalises what people and label systems actually send (hyphens,
//! dots, spaces, lower case, the `ISRC`/`ISNI` label in front, IPIs without leading zeros) and
//! then validates; errors name the identifier, the input and the rule that failed. Values are
//! stored and sent on the wire in compact form and shown to people in their canonical display
//! form; both parse back to the same value.

mod gtin;
mod ipi;
mod isni;
mod isrc;
mod iswc;

pub use gtin::Gtin;
pub use ipi::Ipi;
pub use isni::Isni;
pub use isrc::Isrc;
pub use iswc::Iswc;

use std::fmt;

/// The rule an identifier broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Nothing left after normalising.
    Empty,
    /// Wrong number of characters after normalising.
    Length {
        expected: &'static str,
        found: usize,
    },
    /// A character or group in the wrong place.
    Syntax(&'static str),
    /// The check character does not match the algorithm.
    CheckDigit {
        algorithm: &'static str,
        expected: String,
        found: String,
    },
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Empty => f.write_str("it is empty"),
            Rule::Length { expected, found } => {
                write!(f, "it must have {expected} characters, found {found}")
            }
            Rule::Syntax(what) => f.write_str(what),
            Rule::CheckDigit {
                algorithm,
                expected,
                found,
            } => {
                write!(
                    f,
                    "the {algorithm} check gives {expected}, but it ends in {found}"
                )
            }
        }
    }
}

/// An identifier that failed to parse: which kind, what was given, which rule failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {input:?}: {rule}")]
pub struct IdentifierError {
    pub kind: &'static str,
    pub input: String,
    pub rule: Rule,
}

impl IdentifierError {
    fn new(kind: &'static str, input: &str, rule: Rule) -> Self {
        Self {
            kind,
            input: input.to_owned(),
            rule,
        }
    }
}

/// Removes what people put between the characters of an identifier and upper-cases the rest.
/// A leading label such as `ISRC` or `ISNI` is dropped too, because label systems send it.
pub(crate) fn compact(input: &str, label: &str, full_len: usize) -> String {
    let mut out: String = input
        .chars()
        .filter(|c| !matches!(c, '-' | '.' | ' ' | '\u{a0}' | '\t' | '_' | '/'))
        .flat_map(char::to_uppercase)
        .collect();
    // Only strip when the code is too long without it: "ISRC" is also a valid ISRC prefix.
    if out.len() > full_len && out.starts_with(label) {
        out.drain(..label.len());
        if out.starts_with(':') {
            out.remove(0);
        }
    }
    out
}

/// Serde support shared by all identifier types: compact string on the wire, validated on the
/// way in, so a record carrying an invalid identifier fails to deserialise with the rule.
macro_rules! serde_via_str {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::parsed::parse_str(d, <$ty>::parse)
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::ident::IdentifierError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$ty>::parse(s)
            }
        }
    };
}
pub(crate) use serde_via_str;

fn digit(c: u8) -> u32 {
    u32::from(c - b'0')
}
