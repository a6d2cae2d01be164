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

/// Counts every request by its route template (never the raw path, so ids do not explode
/// the label set) and status, and times it.
pub async fn track(AxState(app): AxState<State>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let method = req.method().as_str().to_owned();
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
    app.metrics
        .requests
        .with_label_values(&[route.as_str(), method.as_str(), response.status().as_str()])
        .inc();
    app.metrics
        .latency
        .with_label_values(&[route.as_str(), method.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}
