//! Disputes: cases about an entity's credits, with notes, evidence and a proposed change.

use serde::{Deserialize, Serialize};

use super::change::EntityId;
use crate::ids::DisputeId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisputeStatus {
    Open,
    Investigating,
    Resolved,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeNote {
    pub author: String,
    pub at: jiff::Timestamp,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dispute {
    pub id: DisputeId,
    pub entity: EntityId,
    pub status: DisputeStatus,
    pub opened_by: String,
    pub opened_at: jiff::Timestamp,
    #[serde(default)]
    pub notes: Vec<DisputeNote>,
    /// Links or document references supporting the claim.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// The field-level patch the claimant asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_change: Option<serde_json::Value>,
}
