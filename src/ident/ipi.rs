//! IPI name number (CISAC): eleven digits, the last two a mod-101 check.

use std::fmt;

use super::{IdentifierError, Rule, compact, digit, serde_via_str};

/// Interested Party Information name number, stored as 11 digits with leading zeros.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipi(String);

impl Ipi {
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let err = |rule| IdentifierError::new("IPI name number", input, rule);
        let code = compact(input, "IPI", 11);
        if code.is_empty() {
            return Err(err(Rule::Empty));
        }
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(Rule::Syntax("it must be digits only")));
        }
        if code.len() > 11 {
            return Err(err(Rule::Length {
                expected: "at most 11",
                found: code.len(),
            }));
        }
        // Societies and split sheets drop the leading zeros; the number is the same.
        let code = format!("{code:0>11}");
        if code.bytes().all(|b| b == b'0') {
            return Err(err(Rule::Syntax("zero is not an IPI name number")));
        }
        let b = code.as_bytes();
        let expected = Self::check_digits_for(&b[..9]);
        let found = &code[9..];
        if format!("{expected:02}") != found {
            return Err(err(Rule::CheckDigit {
                algorithm: "IPI mod-101",
                expected: format!("{expected:02}"),
                found: found.to_owned(),
            }));
        }
        Ok(Self(code))
    }

    /// The two check digits for the first nine: weights 10..2, mod 101, complement.
    pub fn check_digits_for(nine: &[u8]) -> u32 {
        let sum: u32 = nine
            .iter()
            .zip((2..=10).rev())
            .map(|(d, w)| w * digit(*d))
            .sum();
        match sum % 101 {
            0 => 0,
            r => (101 - r) % 100,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ipi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Ipi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ipi({})", self.0)
    }
}

serde_via_str!(Ipi);
