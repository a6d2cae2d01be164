//! `GET /v1/snapshot`: every entity (tombstones included) as NDJSON change records, then a
//! [`SnapshotTrailer`]; a stream that stops without its trailer was cut short and must not be
//! trusted. With `history=all` each record also carries the entity's earlier revisions, so a
//! new mirror holds the whole history.
//!
//! **Bounded.** A snapshot is served in chunks, each read in one short read transaction and
//! consistent at its own head; the cursor in the `X-Liner-Cursor` header and in the trailer is
//! the earliest of them, the head when the snapshot started. A client that tails the feed
//! from there sees again every change a later chunk already holds, and the mirror's
//! version-gated apply makes the result exact. So no client, however slow, holds a database
//! connection or a read transaction between chunks, and the WAL can always be checkpointed.
//! What a slow client does hold is one of [`Limits::snapshot_streams`] places; one that
//! finds them all taken gets 503 with `Retry-After`. Each chunk must be taken within its
//! deadline (its size at [`Limits::snapshot_min_rate`], never less than
//! [`Limits::snapshot_chunk_floor`]), or the connection is closed; shutdown closes every
//! snapshot's connection at once.
//!
//! [`Limits::snapshot_streams`]: super::Limits::snapshot_streams
//! [`Limits::snapshot_min_rate`]: super::Limits::snapshot_min_rate
//! [`Limits::snapshot_chunk_floor`]: super::Limits::snapshot_chunk_floor

use std::time::Duration;

use axum::Extension;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State as AxState};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use liner::model::{Cursor, EntityId};
use liner::protocol::{
    CURSOR_HEADER, NDJSON, PROTOCOL_HEADER, PROTOCOL_VERSION, Problem as ProblemDoc,
    SNAPSHOT_COUNT_HEADER, SnapshotTrailer,
};
use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, mpsc};

use super::problem::Problem;
use super::{Auth, State, redact};
use crate::auth::Principal;
use crate::serve::Hangup;
use crate::store::SnapshotStart;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SnapshotQuery {
    after: Option<String>,
    history: Option<String>,
}

#[utoipa::path(get, path = "/v1/snapshot", tag = "feed",
    params(("after" = Option<String>, Query, description = "resume after this entity id (the last one a cut-off client applied)"),
           ("history" = Option<String>, Query, description = "`all`: each record also carries the entity's earlier revisions (protocol 2); `latest` (the default): only the revision that made its version")),
    responses((status = 200, description = "every entity as NDJSON change records, then a trailer line with the cursor to tail the feed from; X-Liner-Snapshot-Count says how many records there were when it started. Served in chunks each consistent at its own head, no earlier than the cursor; a client that takes a chunk slower than the minimum rate is cut off (the trailer never comes)", content_type = "application/x-ndjson", body = String), (status = 400, description = "malformed request", body = ProblemDoc, content_type = "application/problem+json"), (status = 401, description = "no valid token", body = ProblemDoc, content_type = "application/problem+json"), (status = 503, description = "every snapshot place is taken, or the store is unavailable: try again after Retry-After", body = ProblemDoc, content_type = "application/problem+json")))]
pub(crate) async fn snapshot(
    AxState(app): AxState<State>,
    Auth(p): Auth,
    hangup: Option<Extension<Hangup>>,
    query: Result<Query<SnapshotQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(q) =
        query.map_err(|e| Problem::bad_request(format!("bad query: {}", e.body_text())))?;
    let after =
        match q.after.as_deref() {
            None | Some("") => None,
            Some(id) => Some(id.parse::<EntityId>().map_err(|e| {
                Problem::bad_request(format!("after={id:?} is not an entity id: {e}"))
            })?),
        };
    let history = match q.history.as_deref() {
        None | Some("latest") => false,
        Some("all") => true,
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "history={other:?}: must be `all` or `latest`"
            )));
        }
    };
    let Some(mine) = TokenPlace::take(&app, p.token_id) else {
        app.metrics
            .refused
            .with_label_values(&["snapshot_busy"])
            .inc();
        return Err(Problem::busy(
            format!(
                "this token already has {} snapshots streaming; finish one first",
                app.limits.snapshot_streams_per_token
            ),
            Duration::from_secs(5),
        ));
    };
    let Ok(place) = app.snapshots.clone().try_acquire_owned() else {
        app.metrics
            .refused
            .with_label_values(&["snapshot_busy"])
            .inc();
        return Err(Problem::busy(
            format!(
                "all {} snapshot places are taken; try again shortly",
                app.limits.snapshot_streams
            ),
            Duration::from_secs(5),
        ));
    };
    let start = app.store.snapshot_start(after).await?.ok_or_else(|| {
        Problem::bad_request(
            "after= names no entity of this catalog; start the snapshot again without it",
        )
    })?;
    let cursor = Cursor::new(app.epoch.clone(), start.head);
    // Two chunks wait while the connection writes a third: reading runs ahead of a fast
    // client without holding more than that for a slow one.
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    tokio::spawn(produce(Producer {
        app: app.clone(),
        principal: p,
        history,
        start,
        cursor: cursor.clone(),
        hangup: hangup.map(|Extension(h)| h),
        _place: place,
        _mine: mine,
        tx,
    }));
    let mut response = Response::new(Body::from_stream(
        tokio_stream::wrappers::ReceiverStream::new(rx),
    ));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
    h.insert(SNAPSHOT_COUNT_HEADER, HeaderValue::from(start.count));
    if let Ok(v) = HeaderValue::from_str(&cursor.token()) {
        h.insert(CURSOR_HEADER, v);
    }
    h.insert(PROTOCOL_HEADER, HeaderValue::from(PROTOCOL_VERSION));
    Ok(response)
}

/// One snapshot being served.
struct Producer {
    app: State,
    principal: Principal,
    history: bool,
    start: SnapshotStart,
    cursor: Cursor,
    hangup: Option<Hangup>,
    /// Held until the trailer is handed to the connection or the client is cut off; what
    /// is left to send after that is bounded by the connection's stall timeout.
    _place: OwnedSemaphorePermit,
    _mine: TokenPlace,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
}

/// One of a token's snapshot places, given back when dropped.
struct TokenPlace {
    app: State,
    token: i64,
}

impl TokenPlace {
    fn take(app: &State, token: i64) -> Option<Self> {
        let mut held = app.snapshots_by_token.lock().ok()?;
        let n = held.entry(token).or_default();
        if *n >= app.limits.snapshot_streams_per_token {
            return None;
        }
        *n += 1;
        Some(TokenPlace {
            app: app.clone(),
            token,
        })
    }
}

impl Drop for TokenPlace {
    fn drop(&mut self) {
        if let Ok(mut held) = self.app.snapshots_by_token.lock()
            && let Some(n) = held.get_mut(&self.token)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.remove(&self.token);
            }
        }
    }
}

/// How a snapshot ended early.
enum Cut {
    /// The client went away.
    Gone,
    /// The client took a chunk slower than the minimum rate.
    Slow { waited: Duration, bytes: usize },
    /// The service is stopping.
    Stopping,
}

async fn produce(p: Producer) {
    let app = p.app.clone();
    let outcome = stream(&p).await;
    let cut = match outcome {
        Ok(()) => return,
        Err(Ok(cut)) => cut,
        Err(Err(e)) => {
            // A store failure after the headers went out: the stream ends without its
            // trailer, which the client reads as cut short.
            tracing::error!(error = %e, "snapshot failed");
            if p.tx
                .try_send(Err(std::io::Error::other(e.to_string())))
                .is_err()
                && let Some(h) = &p.hangup
            {
                // The chunks before it still fill the queue: close the connection rather
                // than leave the client waiting on a stream that will never go on.
                h.hang_up();
            }
            return;
        }
    };
    match cut {
        Cut::Gone => return,
        Cut::Slow { waited, bytes } => {
            app.metrics
                .refused
                .with_label_values(&["snapshot_slow"])
                .inc();
            tracing::warn!(
                token_id = p.principal.token_id,
                waited_ms = waited.as_millis() as u64,
                bytes,
                "snapshot client too slow; closing its connection"
            );
        }
        Cut::Stopping => {}
    }
    // The connection may be stuck writing to a client that reads nothing, where ending the
    // body would never be noticed: close it.
    if let Some(h) = &p.hangup {
        h.hang_up();
    }
}

/// Sends every chunk, then the trailer. `Err(Ok(cut))` when it ended early for `cut`,
/// `Err(Err(e))` when the store failed.
async fn stream(p: &Producer) -> Result<(), Result<Cut, crate::store::StoreError>> {
    let limits = &p.app.limits;
    let artist = redact::applies(&p.principal, liner::model::EntityKind::Work);
    let mut stopping = p.app.stopping.subscribe();
    let mut from = p.start.from;
    let mut count = 0u64;
    loop {
        let chunk = tokio::select! {
            c = p.app.store.snapshot_chunk(from, p.history, limits.snapshot_chunk_bytes) => c.map_err(Err)?,
            _ = stopping.wait_for(|s| *s) => return Err(Ok(Cut::Stopping)),
        };
        if !chunk.end && chunk.lines == 0 {
            // A chunk that moved nothing would be read again for ever.
            return Err(Err(crate::store::StoreError::Database(format!(
                "a snapshot chunk after key {from} held no record and was not the last"
            ))));
        }
        from = chunk.last;
        count += chunk.lines;
        let body = if artist {
            redacted(&p.principal, &chunk.body)
        } else {
            chunk.body
        };
        if !body.is_empty() {
            send(p, body, &mut stopping).await?;
        }
        if chunk.end {
            break;
        }
    }
    let mut tail = serde_json::to_vec(&SnapshotTrailer {
        next: p.cursor.token(),
        up_to_date: true,
        count,
        protocol: PROTOCOL_VERSION,
    })
    .unwrap_or_default();
    tail.push(b'\n');
    send(p, Bytes::from(tail), &mut stopping).await
}

/// Hands one chunk to the connection within its deadline.
async fn send(
    p: &Producer,
    body: Bytes,
    stopping: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<(), Result<Cut, crate::store::StoreError>> {
    let limits = &p.app.limits;
    let bytes = body.len();
    let deadline = limits.snapshot_chunk_floor.max(Duration::from_secs_f64(
        bytes as f64 / limits.snapshot_min_rate.max(1) as f64,
    ));
    let started = tokio::time::Instant::now();
    tokio::select! {
        sent = tokio::time::timeout(deadline, p.tx.send(Ok(body))) => match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Ok(Cut::Gone)),
            Err(_) => Err(Ok(Cut::Slow { waited: started.elapsed(), bytes })),
        },
        _ = stopping.wait_for(|s| *s) => Err(Ok(Cut::Stopping)),
    }
}

/// A chunk with what an artist token may not see removed, line by line.
fn redacted(p: &Principal, chunk: &[u8]) -> Bytes {
    let text = String::from_utf8_lossy(chunk);
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        out.extend(redact::line(p, line));
    }
    Bytes::from(out)
}
