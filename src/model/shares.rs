//! Royalty shares as integer basis points, and parsing of the ways split sheets write them.
//!
//! Floats never hold money splits: 33.33% + 33.33% + 33.34% must total exactly 10,000 bp.
//! Split sheets write shares as `100%`, `33.33%`, `0.6667` (a fraction) or `50`; all are parsed
//! as exact decimals and refused when they carry more precision than a basis point.

use std::fmt;

use serde::{Deserialize, Serialize};

/// 100% in basis points.
pub const TOTAL_BP: u16 = 10_000;

/// A share between 0 and 100%, in hundredths of a percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct BasisPoints(u16);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    #[error("a share of {0} bp is more than 10000 bp (100%)")]
    OverHundred(u32),
    #[error(
        "writer shares total {total} bp ({}.{:02}%), they must total exactly 10000 bp (100%)",
        total / 100, total % 100
    )]
    Total { total: u32 },
    #[error("some writers have a share and some do not; a split is hidden whole or not at all")]
    PartlyHidden,
    #[error("share {input:?} is not a number like 50%, 33.33% or 0.5")]
    Syntax { input: String },
    #[error("share {input:?} is finer than a basis point (0.01%)")]
    TooPrecise { input: String },
}

impl BasisPoints {
    pub fn new(bp: u32) -> Result<Self, ShareError> {
        u16::try_from(bp)
            .ok()
            .filter(|v| *v <= TOTAL_BP)
            .map(Self)
            .ok_or(ShareError::OverHundred(bp))
    }

    pub fn get(self) -> u16 {
        self.0
    }

    /// Parses a share as split sheets write it. With `%` it is a percentage; without, a value
    /// of at most 1 is a fraction (`0.6667`) and anything larger a percentage (`50`).
    pub fn parse_share(input: &str) -> Result<Self, ShareError> {
        let syntax = || ShareError::Syntax {
            input: input.to_owned(),
        };
        let s = input.trim();
        let (number, percent) = match s.strip_suffix('%') {
            Some(n) => (n.trim(), true),
            None => (s, false),
        };
        let (int, frac) = number.split_once('.').unwrap_or((number, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || int.len() > 5
        {
            return Err(syntax());
        }
        let int_value: u32 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| syntax())?
        };
        let is_fraction = !percent && (int_value == 0 || (int_value == 1 && frac_is_zero(frac)));
        // Basis points = value × 100 for a percentage, × 10,000 for a fraction.
        let scale_digits = if is_fraction { 4 } else { 2 };
        let (kept, dropped) = frac.split_at(frac.len().min(scale_digits));
        if !frac_is_zero(dropped) {
            return Err(ShareError::TooPrecise {
                input: input.to_owned(),
            });
        }
        let mut bp = int_value * 10u32.pow(scale_digits as u32);
        if !kept.is_empty() {
            let k: u32 = kept.parse().map_err(|_| syntax())?;
            bp += k * 10u32.pow((scale_digits - kept.len()) as u32);
        }
        Self::new(bp)
    }
}

fn frac_is_zero(s: &str) -> bool {
    s.bytes().all(|b| b == b'0')
}

impl TryFrom<u32> for BasisPoints {
    type Error = ShareError;
    fn try_from(v: u32) -> Result<Self, ShareError> {
        Self::new(v)
    }
}

impl From<BasisPoints> for u32 {
    fn from(b: BasisPoints) -> u32 {
        u32::from(b.0)
    }
}

/// As a percentage: `33.33%`.
impl fmt::Display for BasisPoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}%", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_sheet_notations_parse_exactly() {
        let bp = |s| BasisPoints::parse_share(s).map(BasisPoints::get);
        assert_eq!(bp("100%"), Ok(10_000));
        assert_eq!(bp("33.33%"), Ok(3_333));
        assert_eq!(bp("0.6667"), Ok(6_667));
        assert_eq!(bp("0.5"), Ok(5_000));
        assert_eq!(bp("1"), Ok(10_000));
        assert_eq!(bp("50"), Ok(5_000));
        assert_eq!(bp(".1"), Ok(1_000));
        assert!(matches!(bp("33.333%"), Err(ShareError::TooPrecise { .. })));
        assert!(matches!(bp("101%"), Err(ShareError::OverHundred(10_100))));
        assert!(matches!(bp("abc"), Err(ShareError::Syntax { .. })));
        assert!(matches!(bp("-5%"), Err(ShareError::Syntax { .. })));
    }

    #[test]
    fn display_is_a_percentage() {
        assert_eq!(
            BasisPoints::new(3_333).map(|b| b.to_string()),
            Ok("33.33%".into())
        );
    }
}
