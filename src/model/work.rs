//! Works: compositions with their writers and royalty shares.

use serde::{Deserialize, Serialize};

use super::shares::{BasisPoints, ShareError, TOTAL_BP};
use super::unknown::Unknown;
use crate::ident::Iswc;
use crate::ids::{PartyId, WorkId};
use crate::roles::WriterRole;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Writer {
    pub party: PartyId,
    pub role: WriterRole,
    /// Royalty share in basis points (1/100 of a percent). `None` only in a copy redacted for
    /// an artist token that is not a writer of the work: the upstream never stores a writer
    /// without a share, and its write path refuses one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<BasisPoints>,
    /// Members this build does not know, kept as they came (see [`super::unknown`]).
    #[serde(flatten, skip_serializing_if = "Unknown::is_empty")]
    pub unknown: Unknown,
}

/// A work's writers, whose shares total exactly 10,000 basis points. Only
/// [`Writers::new`] builds one, and deserialising goes through it, so a [`Work`] can never
/// hold a split that does not add up. An empty list is allowed: a work whose writers are not
/// known yet has no split to check.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<Writer>", into = "Vec<Writer>")]
pub struct Writers(Vec<Writer>);

impl Writers {
    pub fn new(writers: Vec<Writer>) -> Result<Self, ShareError> {
        if writers.is_empty() {
            return Ok(Self(writers));
        }
        match writers.iter().filter(|w| w.share.is_none()).count() {
            0 => {}
            n if n == writers.len() => return Ok(Self(writers)),
            _ => return Err(ShareError::PartlyHidden),
        }
        let total: u32 = writers
            .iter()
            .filter_map(|w| w.share)
            .map(|s| u32::from(s.get()))
            .sum();
        if total != u32::from(TOTAL_BP) {
            return Err(ShareError::Total { total });
        }
        Ok(Self(writers))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[Writer] {
        &self.0
    }

    pub fn total(&self) -> u32 {
        self.0
            .iter()
            .filter_map(|w| w.share)
            .map(|s| u32::from(s.get()))
            .sum()
    }

    /// Sets each writer's unknown members (by position), as a mirror row kept them.
    pub(crate) fn restore_unknown(&mut self, kept: impl Fn(usize) -> Unknown) {
        for (i, w) in self.0.iter_mut().enumerate() {
            w.unknown = kept(i);
        }
    }

    /// Whether the shares were redacted (every one of them: a split is hidden whole or not at
    /// all).
    pub fn shares_hidden(&self) -> bool {
        self.0.first().is_some_and(|w| w.share.is_none())
    }
}

impl TryFrom<Vec<Writer>> for Writers {
    type Error = ShareError;
    fn try_from(v: Vec<Writer>) -> Result<Self, ShareError> {
        Writers::new(v)
    }
}

impl From<Writers> for Vec<Writer> {
    fn from(w: Writers) -> Self {
        w.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Work {
    pub id: WorkId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iswc: Option<Iswc>,
    pub title: String,
    #[serde(default, skip_serializing_if = "Writers::is_empty")]
    pub writers: Writers,
    /// Members this build does not know, kept as they came (see [`super::unknown`]).
    #[serde(flatten, skip_serializing_if = "Unknown::is_empty")]
    pub unknown: Unknown,
}
