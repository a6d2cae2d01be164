//! The OpenAPI 3 document, generated from the handlers' annotations and the protocol's own
//! types ([`liner::protocol`]), served at `/v1/openapi.json`: the document cannot drift from
//! what the service sends, because both come from the same types. Entity `data` is the
//! foundation model's JSON, validated by the service and documented as an object here.

use liner::model::{ChangeRecord, EntityKind, FieldChange, Op, Revision, Source, SourceKind};
use liner::protocol::{
    Collection, CreateRequest, DeleteRequest, EntityAnswer, FeedTrailer, FieldError, Health,
    HistoryAnswer, HistoryRevision, Me, PatchRequest, Problem, Role, SnapshotTrailer,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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
        description = "The reference catalog service: entities, history, snapshot, change feed and edits. The snapshot and the feed are NDJSON: ChangeRecord lines, then a SnapshotTrailer or FeedTrailer line. Protocol evolution: see liner::protocol.",
        version = "1"
    ),
    paths(
        super::entities::read,
        super::entities::create,
        super::entities::patch,
        super::entities::delete,
        super::entities::history,
        super::entities::me,
        super::snapshot::snapshot,
        super::feed::changes,
        super::ops::healthz,
        super::ops::metrics,
    ),
    components(schemas(
        Collection, Problem, FieldError, EntityAnswer, EntityKind, HistoryAnswer, HistoryRevision,
        Revision, Source, SourceKind, FieldChange, Me, Role, Health, CreateRequest, PatchRequest,
        DeleteRequest, ChangeRecord, Op, FeedTrailer, SnapshotTrailer
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

/// `GET /v1/openapi.json`: the document, generated from the code.
pub async fn serve() -> axum::response::Response {
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::IntoResponse as _;
    let mut response = (StatusCode::OK, document()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
