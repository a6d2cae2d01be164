//! Errors as `application/problem+json` (RFC 9457): a status, a title, a detail in words, and
//! what the status needs: one entry per failing field (422, and the field of an identifier
//! another entity holds on a 409), the current record (412), where to resync from (409 on a
//! cursor), the version of a deleted entity (410), and who still references an entity whose
//! delete was refused (409).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::EntityAnswer;
use crate::model::EntityId;

/// One validation failure: where (a path into the request, e.g. `patch.credits[2].role`) and
/// which rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct FieldError {
    pub field: String,
    pub rule: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            rule: rule.into(),
        }
    }
}

/// An error answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong, in words.
    pub detail: String,
    /// One entry per failing field (422), or the field holding an identifier another entity
    /// holds (409).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The record as it is now (412).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub current: Option<EntityAnswer>,
    /// Where to resync from (409 on a cursor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub resync: Option<String>,
    /// The version of a deleted entity (410).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub version: Option<u64>,
    /// The entities that still name one whose delete was refused (409).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>)]
    pub referenced_by: Vec<EntityId>,
}

impl Problem {
    pub fn new(status: u16, title: impl Into<String>, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "about:blank".into(),
            title: title.into(),
            status,
            detail: detail.into(),
            errors: Vec::new(),
            current: None,
            resync: None,
            version: None,
            referenced_by: Vec::new(),
        }
    }

    /// The detail, with each field error after it: what a person reads.
    pub fn words(&self) -> String {
        let mut out = self.detail.clone();
        for e in &self.errors {
            if !out.contains(&e.to_string()) {
                out.push_str("; ");
                out.push_str(&e.to_string());
            }
        }
        out
    }
}
