//! Errors as `application/problem+json` (RFC 9457): a status, a title, a detail in words and,
//! for validation failures, one entry per failing field with its path and rule.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::catalog::FieldError;
use crate::store::StoreError;

/// An error response (boxed: it travels in every handler's `Err`).
#[derive(Debug)]
pub struct Problem(Box<Details>);

/// What a problem says.
#[derive(Debug)]
pub struct Details {
    pub status: StatusCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// More members of the problem object (e.g. the current record on 412).
    pub extra: Vec<(&'static str, Value)>,
    pub headers: HeaderMap,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Problem(Box::new(Details {
            status,
            detail: detail.into(),
            errors: Vec::new(),
            extra: Vec::new(),
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

    /// 422 with one entry per failing field.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.rule),
            many => format!("{} fields failed validation", many.len()),
        };
        let mut p = Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail);
        p.errors = errors;
        p
    }

    pub fn with(mut self, key: &'static str, value: Value) -> Self {
        self.extra.push((key, value));
        self
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
            detail,
            errors,
            extra,
            headers,
        } = *self.0;
        let mut body = json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": detail,
        });
        if let Some(obj) = body.as_object_mut() {
            if !errors.is_empty() {
                obj.insert("errors".into(), json!(errors));
            }
            for (k, v) in extra {
                obj.insert(k.into(), v);
            }
        }
        let mut response = (status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response.headers_mut().extend(headers);
        response
    }
}
