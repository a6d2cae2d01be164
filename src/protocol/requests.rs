//! What clients send to change the catalog. Every change states its reason; the service
//! refuses members it does not know (these types deny them).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// `POST /v1/{collection}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// Why the entity is added (required, non-blank).
    #[schema(required = true)]
    pub reason: Option<String>,
    /// The entity; an `id` of the collection's kind may be given, else one is assigned.
    #[schema(value_type = Object)]
    pub data: Value,
}

/// `PATCH /v1/{collection}/{id}`, with `If-Match: "<version>"`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchRequest {
    /// Why the change is made (required, non-blank).
    #[schema(required = true)]
    pub reason: Option<String>,
    /// Top-level fields to replace; `null` removes an optional field.
    #[schema(value_type = Object)]
    pub patch: Map<String, Value>,
}

/// `DELETE /v1/{collection}/{id}`, with `If-Match: "<version>"`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteRequest {
    /// Why the entity is deleted (required, non-blank).
    #[schema(required = true)]
    pub reason: Option<String>,
}
