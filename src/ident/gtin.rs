//! GTIN (UPC-A = GTIN-12, EAN-13 = GTIN-13, GTIN-14): digits with a mod-10 check, weights 3,1
//! from the right.

use std::fmt;

use super::{IdentifierError, Rule, compact, digit, serde_via_str};

/// A release's product code. Kept at the length it was issued with: a UPC stays 12 digits,
/// because that is what labels and stores print and search for.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gtin(String);

impl Gtin {
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let err = |rule| IdentifierError::new("UPC/EAN", input, rule);
        let code = compact(input, "GTIN", 14);
        if code.is_empty() {
            return Err(err(Rule::Empty));
        }
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(Rule::Syntax("it must be digits only")));
        }
        if !matches!(code.len(), 12..=14) {
            return Err(err(Rule::Length {
                expected: "12 (UPC), 13 (EAN) or 14 (GTIN-14)",
                found: code.len(),
            }));
        }
        let b = code.as_bytes();
        let (body, last) = b.split_at(b.len() - 1);
        let expected = Self::check_digit_for(body);
        let found = digit(last[0]);
        if expected != found {
            return Err(err(Rule::CheckDigit {
                algorithm: "GTIN mod-10",
                expected: expected.to_string(),
                found: found.to_string(),
            }));
        }
        Ok(Self(code))
    }

    /// The check digit for the digits before it.
    pub fn check_digit_for(body: &[u8]) -> u32 {
        let sum: u32 = body
            .iter()
            .rev()
            .zip([3, 1].into_iter().cycle())
            .map(|(d, w)| w * digit(*d))
            .sum();
        (10 - sum % 10) % 10
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 14-digit form, for comparing codes issued at different lengths.
    pub fn gtin14(&self) -> String {
        format!("{:0>14}", self.0)
    }
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gtin({})", self.0)
    }
}

serde_via_str!(Gtin);
