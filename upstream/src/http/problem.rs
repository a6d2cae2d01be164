//! Errors as `application/problem+json` (RFC 9457), built from the protocol's one
//! [`Problem`](liner::protocol::Problem) type: a status, a title, a detail in words and what
//! the status needs (field errors, the current record, a resync path, a version, who still
//! names an entity), plus the headers that go with it.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use liner::model::EntityId;
use liner::protocol::{self, EntityAnswer, FieldError};

use crate::store::StoreError;

/// An error response (boxed: it travels in every handler's `Err`).
#[derive(Debug)]
pub struct Problem(Box<Details>);

/// What a problem says, and the headers it goes with.
#[derive(Debug)]
pub struct Details {
    pub status: StatusCode,
    pub body: protocol::Problem,
    pub headers: HeaderMap,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Problem(Box::new(Details {
            status,
            body: protocol::Problem::new(
                status.as_u16(),
                status.canonical_reason().unwrap_or("Error"),
                detail,
            ),
            headers: HeaderMap::new(),
        }))
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let mut p = Self::new(StatusCode::UNAUTHORIZED, detail);
        p.headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"liner\""),
        );
        p
    }

    /// Payload too large, and the connection closes after it: the rest of the body was never
    /// read, so a client that sent its next request on the same connection got it cut short
    /// (seen as an intermittent `IncompleteMessage` in the HTTP tests).
    pub fn too_large(detail: impl Into<String>) -> Self {
        let mut p = Self::new(StatusCode::PAYLOAD_TOO_LARGE, detail);
        p.headers
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        p
    }

    /// 503 for a client to retry after `after`: a place it needs is taken for now.
    pub fn busy(detail: impl Into<String>, after: std::time::Duration) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, detail).with_retry_after(after)
    }

    /// 429: the token spent its budget for this kind of request; it may go on after `after`.
    pub fn too_many(detail: impl Into<String>, after: std::time::Duration) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, detail).with_retry_after(after)
    }

    /// With `Retry-After` in whole seconds (rounded up, at least one).
    pub fn with_retry_after(mut self, after: std::time::Duration) -> Self {
        let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        self.headers
            .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        self
    }

    /// 422 with one entry per failing field.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => one.to_string(),
            many => format!("{} fields failed validation", many.len()),
        };
        let mut p = Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail);
        p.body.errors = errors;
        p
    }

    /// With the record as it is now (412).
    pub fn with_current(mut self, current: EntityAnswer) -> Self {
        self.body.current = Some(current);
        self
    }

    /// With where to resync from (409 on a cursor).
    pub fn with_resync(mut self, path: &str) -> Self {
        self.body.resync = Some(path.to_owned());
        self
    }

    /// With the version of a deleted entity (410).
    pub fn with_version(mut self, version: u64) -> Self {
        self.body.version = Some(version);
        self
    }

    /// With the entities that still name one whose delete was refused (409).
    pub fn with_referenced_by(mut self, by: Vec<EntityId>) -> Self {
        self.body.referenced_by = by;
        self
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }
}

impl std::ops::Deref for Problem {
    type Target = Details;
    fn deref(&self) -> &Details {
        &self.0
    }
}

impl std::ops::DerefMut for Problem {
    fn deref_mut(&mut self) -> &mut Details {
        &mut self.0
    }
}

impl From<FieldError> for Problem {
    fn from(e: FieldError) -> Self {
        Problem::invalid(vec![e])
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failed");
        match e {
            StoreError::Unavailable(_) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the catalog database is unavailable; try again shortly",
            ),
            _ => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the catalog store failed; the error is in the service log",
            ),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let Details {
            status,
            body,
            headers,
        } = *self.0;
        let text = serde_json::to_string(&body).unwrap_or_default();
        let mut response = (status, text).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(protocol::PROBLEM_JSON),
        );
        response.headers_mut().extend(headers);
        response
    }
}
