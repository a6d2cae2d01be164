//! ISWC (ISO 15707): `T-DDD.DDD.DDD-C`, a `T`, nine digits and a mod-10 check digit.

use std::fmt;

use super::{IdentifierError, Rule, compact, digit, serde_via_str};

/// International Standard Musical Work Code, stored as `T` + 10 digits.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Iswc(String);

impl Iswc {
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let err = |rule| IdentifierError::new("ISWC", input, rule);
        let code = compact(input, "ISWC", 11);
        if code.is_empty() {
            return Err(err(Rule::Empty));
        }
        if !code.starts_with('T') {
            return Err(err(Rule::Syntax("it must start with the letter T")));
        }
        if code.len() != 11 {
            return Err(err(Rule::Length {
                expected: "11 (T and 10 digits)",
                found: code.len(),
            }));
        }
        let digits = &code.as_bytes()[1..];
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(err(Rule::Syntax(
                "the ten characters after T must be digits",
            )));
        }
        let check = check_digit(&digits[..9]);
        let found = digit(digits[9]);
        if check != found {
            return Err(err(Rule::CheckDigit {
                algorithm: "ISWC mod-10",
                expected: check.to_string(),
                found: found.to_string(),
            }));
        }
        Ok(Self(code))
    }

    /// The check digit for nine work digits: `(10 - (1 + Σ i·dᵢ) mod 10) mod 10`.
    pub fn check_digit_for(nine_digits: &[u8; 9]) -> u32 {
        check_digit(nine_digits)
    }

    /// The compact form: `T0345246801`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_digit(digits: &[u8]) -> u32 {
    let sum: u32 = 1 + digits
        .iter()
        .zip(1..)
        .map(|(d, i)| i * digit(*d))
        .sum::<u32>();
    (10 - sum % 10) % 10
}

/// The display form: `T-034.524.680-1`.
impl fmt::Display for Iswc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.0;
        write!(f, "T-{}.{}.{}-{}", &s[1..4], &s[4..7], &s[7..10], &s[10..])
    }
}

impl fmt::Debug for Iswc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iswc({})", self.0)
    }
}

serde_via_str!(Iswc);
