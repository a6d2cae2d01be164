//! Works: compositions with their writers and royalty shares.

use serde::{Deserialize, Serialize};

use super::shares::{BasisPoints, ShareError, TOTAL_BP};
use crate::ident::Iswc;
use crate::ids::{PartyId, WorkId};
use crate::roles::WriterRole;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Writer {
    pub party: PartyId,
    pub role: WriterRole,
    /// Royalty share in basis points (1/100 of a percent).
    pub share: BasisPoints,
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
        let total: u32 = writers.iter().map(|w| u32::from(w.share.get())).sum();
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
        self.0.iter().map(|w| u32::from(w.share.get())).sum()
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
#[serde(deny_unknown_fields)]
pub struct Work {
    pub id: WorkId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iswc: Option<Iswc>,
    pub title: String,
    #[serde(default, skip_serializing_if = "Writers::is_empty")]
    pub writers: Writers,
}
