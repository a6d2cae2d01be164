//! Operations endpoints (`/healthz`, `/metrics`) and the middleware that counts requests.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use liner::protocol::{Health, Problem as ProblemDoc};

use super::State;
use super::problem::Problem;

/// Healthy when the store answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()),
    responses((status = 200, description = "the store answers", body = Health), (status = 503, description = "store unavailable or request timed out", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn healthz(AxState(app): AxState<State>) -> Result<Response, Problem> {
    let head = app.store.head().await?;
    app.metrics.feed_head.set(head as i64);
    Ok(axum::Json(Health {
        status: "ok".into(),
        epoch: app.epoch.clone(),
        head,
    })
    .into_response())
}

#[utoipa::path(get, path = "/metrics", tag = "operations", security(()),
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain", body = String)))]
pub async fn metrics(AxState(app): AxState<State>) -> Response {
    let mut response = (StatusCode::OK, app.metrics.render()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

/// The method as a metrics label: the methods HTTP defines, and `other` for anything a client
/// invents, so no request can add a series.
pub(crate) fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// The status as a metrics label: the code for those the API documents (a 412 or a 429 is
/// worth telling apart), its class for any other.
fn status_label(status: &StatusCode) -> &str {
    const DOCUMENTED: &[u16] = &[
        200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 410, 412, 413, 415, 422, 428, 429, 500,
        503,
    ];
    let code = status.as_u16();
    if DOCUMENTED.contains(&code) {
        return status.as_str();
    }
    match code {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Counts every request by its route template (never the raw path, so ids do not explode
/// the label set), its method and status class (never what a client invents), and times it.
pub async fn track(AxState(app): AxState<State>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let method = method_label(req.method());
    let started = Instant::now();
    // Decremented on drop, so a request whose client went away is not counted for ever.
    struct InFlight(prometheus::IntGauge);
    impl Drop for InFlight {
        fn drop(&mut self) {
            self.0.dec();
        }
    }
    app.metrics.in_flight.inc();
    let guard = InFlight(app.metrics.in_flight.clone());
    let response = next.run(req).await;
    drop(guard);
    let status = response.status();
    app.metrics
        .requests
        .with_label_values(&[route.as_str(), method, status_label(&status)])
        .inc();
    app.metrics
        .latency
        .with_label_values(&[route.as_str(), method])
        .observe(started.elapsed().as_secs_f64());
    response
}
