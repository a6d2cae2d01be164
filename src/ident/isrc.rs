//! ISRC (ISO 3901): `CC-XXX-YY-NNNNN`, country, registrant, year, designation; no check digit.

use std::fmt;

use super::{IdentifierError, Rule, compact, serde_via_str};

/// International Standard Recording Code, stored as its 12 compact characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Isrc(String);

impl Isrc {
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let err = |rule| IdentifierError::new("ISRC", input, rule);
        let code = compact(input, "ISRC", 12);
        if code.is_empty() {
            return Err(err(Rule::Empty));
        }
        if code.len() != 12 {
            return Err(err(Rule::Length {
                expected: "12",
                found: code.chars().count(),
            }));
        }
        let b = code.as_bytes();
        if !b[..2].iter().all(u8::is_ascii_uppercase) {
            return Err(err(Rule::Syntax(
                "the country code (characters 1-2) must be two letters",
            )));
        }
        if !b[2..5].iter().all(u8::is_ascii_alphanumeric) {
            return Err(err(Rule::Syntax(
                "the registrant code (characters 3-5) must be letters or digits",
            )));
        }
        if !b[5..].iter().all(u8::is_ascii_digit) {
            return Err(err(Rule::Syntax(
                "the year and designation (characters 6-12) must be digits",
            )));
        }
        Ok(Self(code))
    }

    /// The compact form: `USRC17607839`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The display form: `US-RC1-76-07839`.
impl fmt::Display for Isrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.0;
        write!(f, "{}-{}-{}-{}", &s[..2], &s[2..5], &s[5..7], &s[7..])
    }
}

impl fmt::Debug for Isrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Isrc({})", self.0)
    }
}

serde_via_str!(Isrc);
