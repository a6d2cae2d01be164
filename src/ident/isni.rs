//! ISNI (ISO 27729): sixteen characters, the last an ISO 7064 MOD 11-2 check (`X` for 10).

use std::fmt;

use super::{IdentifierError, Rule, compact, digit, serde_via_str};

/// International Standard Name Identifier, stored as 16 compact characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Isni(String);

impl Isni {
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let err = |rule| IdentifierError::new("ISNI", input, rule);
        let code = compact(input, "ISNI", 16);
        if code.is_empty() {
            return Err(err(Rule::Empty));
        }
        if code.len() != 16 {
            return Err(err(Rule::Length {
                expected: "16",
                found: code.chars().count(),
            }));
        }
        let b = code.as_bytes();
        if !b[..15].iter().all(u8::is_ascii_digit) {
            return Err(err(Rule::Syntax("the first 15 characters must be digits")));
        }
        if !(b[15].is_ascii_digit() || b[15] == b'X') {
            return Err(err(Rule::Syntax("the last character must be a digit or X")));
        }
        let expected = Self::check_char_for(&b[..15]);
        if expected != char::from(b[15]) {
            return Err(err(Rule::CheckDigit {
                algorithm: "ISO 7064 MOD 11-2",
                expected: expected.to_string(),
                found: char::from(b[15]).to_string(),
            }));
        }
        Ok(Self(code))
    }

    /// The check character for fifteen digits.
    pub fn check_char_for(digits: &[u8]) -> char {
        let sum = digits.iter().fold(0, |acc, d| (acc + digit(*d)) * 2 % 11);
        match (12 - sum % 11) % 11 {
            10 => 'X',
            n => char::from(b'0' + n as u8),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The display form: `0000 0001 2146 438X`.
impl fmt::Display for Isni {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.0;
        write!(f, "{} {} {} {}", &s[..4], &s[4..8], &s[8..12], &s[12..])
    }
}

impl fmt::Debug for Isni {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Isni({})", self.0)
    }
}

serde_via_str!(Isni);
