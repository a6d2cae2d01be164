//! The OpenAPI 3 document, generated from the handlers' annotations and the schemas below
//! (served at `/v1/openapi.json`). The schemas describe the wire shapes; entity `data` is the
//! foundation model's JSON, validated by the service and documented as an object here.

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// An `application/problem+json` error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemDoc {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong, in words.
    pub detail: String,
    /// One entry per failing field (validation failures).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub errors: Option<Vec<FieldErrorDoc>>,
    /// The current record (412).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Object)]
    pub current: Option<serde_json::Value>,
    /// Where to resync from (409 on a cursor).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub resync: Option<String>,
    /// The version of a deleted entity (410).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub version: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrorDoc {
    /// A path into the request, e.g. `patch.credits[2].role`.
    pub field: String,
    pub rule: String,
}

/// The collections under `/v1` (described for the document; handlers match the path text).
#[allow(dead_code)]
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Collection {
    Recordings,
    Works,
    Parties,
    Releases,
}

/// One entity at one version.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntityDoc {
    /// `party`, `recording`, `work` or `release`.
    pub entity: String,
    pub id: String,
    pub version: u64,
    /// The entity (absent after a delete).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Object)]
    pub data: Option<serde_json::Value>,
    /// True in the answer to a delete.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub deleted: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryDoc {
    pub entity: String,
    pub id: String,
    /// Revisions, oldest first: version, actor, source, reason, time, field diff, deleted.
    #[schema(value_type = Vec<Object>)]
    pub revisions: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeDoc {
    pub name: String,
    /// `admin`, `editor`, `support`, `artist` or `reader`.
    pub role: String,
    pub parties: Vec<String>,
    pub may_edit: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthDoc {
    pub status: String,
    pub epoch: String,
    pub head: u64,
}

/// `POST /v1/{collection}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreateDoc {
    /// Why the entity is added (required, non-blank).
    pub reason: String,
    /// The entity; an `id` of the collection's kind may be given, else one is assigned.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// `PATCH /v1/{collection}/{id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatchDoc {
    /// Why the change is made (required, non-blank).
    pub reason: String,
    /// Top-level fields to replace; `null` removes an optional field.
    #[schema(value_type = Object)]
    pub patch: serde_json::Value,
}

/// `DELETE /v1/{collection}/{id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeleteDoc {
    pub reason: String,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "liner upstream",
        description = "The reference catalog service: entities, history, snapshot, change feed and edits.",
        version = "1"
    ),
    paths(
        super::entities::read,
        super::entities::create,
        super::entities::patch,
        super::entities::delete,
        super::entities::history,
        super::entities::me,
        super::feed::snapshot,
        super::feed::changes,
        super::ops::healthz,
        super::ops::metrics,
    ),
    components(schemas(
        Collection, ProblemDoc, FieldErrorDoc, EntityDoc, HistoryDoc, MeDoc, HealthDoc, CreateDoc, PatchDoc,
        DeleteDoc
    )),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// The document as JSON.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".into())
}
