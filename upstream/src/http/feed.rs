//! The change feed, NDJSON (the snapshot is in [`super::snapshot`]).
//!
//! `GET /v1/changes` pages change records
//! after `since` in commit order, long-polls up to `wait` when there are none, and ends every
//! page with a [`FeedTrailer`] (with the changes past this page at the time it was read).
//! Both say their protocol version in a header and in the trailer. Cursors are opaque; one
//! from another epoch gets 409 and the client must resync from the snapshot.

use std::time::Duration;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use liner::model::Cursor;
use liner::protocol::{
    FeedTrailer, NDJSON, PROTOCOL_HEADER, PROTOCOL_VERSION, Problem as ProblemDoc,
};
use serde::Deserialize;

use super::problem::Problem;
use super::redact;
use super::{Auth, State};

pub fn routes() -> Router<State> {
    Router::new()
        .route("/v1/snapshot", get(super::snapshot::snapshot))
        .route("/v1/changes", get(changes))
}

/// A trailer as its line.
fn trailer_line(trailer: &impl serde::Serialize) -> String {
    let mut line = serde_json::to_string(trailer).unwrap_or_default();
    line.push('\n');
    line
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangesQuery {
    since: Option<String>,
    limit: Option<String>,
    wait: Option<String>,
}

/// `30s`, `500ms`, `2m` or a bare number of seconds.
fn parse_wait(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n.checked_mul(60)?)),
        _ => None,
    }
}

#[utoipa::path(get, path = "/v1/changes", tag = "feed",
    params(("since" = Option<String>, Query, description = "a cursor from a trailer; absent for the start"),
           ("limit" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "records per page (default 1000)"),
           ("wait" = Option<String>, Query, description = "long-poll up to this long when caught up, e.g. 30s (at most 60s)")),
    responses((status = 200, description = "change records as NDJSON, then a trailer {next, up_to_date}", content_type = "application/x-ndjson", body = String), (status = 400, description = "malformed request", body = ProblemDoc, content_type = "application/problem+json"), (status = 401, description = "no valid token", body = ProblemDoc, content_type = "application/problem+json"), (status = 409, description = "conflict", body = ProblemDoc, content_type = "application/problem+json"), (status = 503, description = "store unavailable or request timed out", body = ProblemDoc, content_type = "application/problem+json")))]
pub(crate) async fn changes(
    AxState(app): AxState<State>,
    Auth(p): Auth,
    query: Result<Query<ChangesQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(q) =
        query.map_err(|e| Problem::bad_request(format!("bad query: {}", e.body_text())))?;
    let since = match q.since.as_deref() {
        None | Some("") => 0,
        Some(token) => {
            let cursor = Cursor::parse_token(token).ok_or_else(|| {
                Problem::bad_request(format!(
                    "since={token:?} is not a cursor from this service; start from /v1/snapshot"
                ))
            })?;
            // Positions are the stores' 64-bit signed integers: anything past them was never
            // a position of this service.
            if i64::try_from(cursor.position).is_err() {
                return Err(Problem::bad_request(format!(
                    "since={token:?}: the position is out of range; start from /v1/snapshot"
                )));
            }
            if cursor.epoch != app.epoch {
                return Err(Problem::new(
                    StatusCode::CONFLICT,
                    format!(
                        "the cursor belongs to epoch {} but this catalog's history is epoch {}; \
                         resync from /v1/snapshot",
                        cursor.epoch, app.epoch
                    ),
                )
                .with_resync("/v1/snapshot"));
            }
            cursor.position
        }
    };
    let limit = match q.limit.as_deref() {
        None => 1_000.min(app.limits.max_page),
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=app.limits.max_page).contains(n))
            .ok_or_else(|| {
                Problem::bad_request(format!(
                    "limit={l:?}: must be a whole number from 1 to {}",
                    app.limits.max_page
                ))
            })?,
    };
    let wait = match q.wait.as_deref() {
        None => Duration::ZERO,
        Some(w) => parse_wait(w)
            .filter(|d| *d <= app.limits.max_wait)
            .ok_or_else(|| {
                Problem::bad_request(format!(
                    "wait={w:?}: must be a duration such as 30s or 500ms, at most {}s",
                    app.limits.max_wait.as_secs()
                ))
            })?,
    };

    let deadline = tokio::time::Instant::now() + wait;
    let mut woken = app.head.subscribe();
    let mut stopping = app.stopping.subscribe();
    let page = loop {
        let page = app.store.changes(since, limit).await?;
        if since > page.head {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                format!(
                    "the cursor is at position {since}, past this catalog's head {}; resync from /v1/snapshot",
                    page.head
                ),
            )
            .with_resync("/v1/snapshot"));
        }
        let now = tokio::time::Instant::now();
        if page.count > 0 || now >= deadline || *stopping.borrow() {
            break page;
        }
        // Woken by a commit on this instance; the timer catches commits by other instances.
        let nap = (deadline - now).min(Duration::from_secs(1));
        tokio::select! {
            _ = woken.changed() => {}
            _ = stopping.changed() => {}
            _ = tokio::time::sleep(nap) => {}
        }
    };
    let up_to_date = page.last >= page.head;
    let mut out = if redact::applies(&p, liner::model::EntityKind::Work) {
        let mut redacted = String::with_capacity(page.body.len() + 128);
        for line in page.body.split_inclusive('\n') {
            redacted.extend(redact::line(&p, line));
        }
        redacted
    } else {
        page.body
    };
    out.push_str(&trailer_line(&FeedTrailer {
        next: Cursor::new(app.epoch.clone(), page.last).token(),
        up_to_date,
        behind: page.head.saturating_sub(page.last),
        protocol: PROTOCOL_VERSION,
    }));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(NDJSON)),
            (
                header::HeaderName::from_static(PROTOCOL_HEADER),
                HeaderValue::from(PROTOCOL_VERSION),
            ),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_parse_with_units() {
        assert_eq!(parse_wait("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_wait("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_wait("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_wait("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_wait("soon"), None);
        assert_eq!(parse_wait("5h"), None);
    }
}
