//! The accept loop: every connection the service holds is bounded, whatever the client does.
//!
//! axum's own `serve` holds a half-sent request forever and has no cap on connections, so a
//! slowloris client could hold every descriptor and a stopping service waited for it. Here:
//! - at most [`Limits::max_connections`] connections; the next is answered 503 with
//!   `Retry-After` and closed (a descriptor shortage pauses accepting instead of spinning);
//! - HTTP/1 only; a request's headers must arrive within [`Limits::header_read_timeout`]
//!   (on a kept-alive connection hyper counts it from the previous answer, so it is also
//!   how long such a connection may wait for its next request);
//! - a connection with no request being handled and no byte moving either way for
//!   [`Limits::idle_timeout`] is closed; if a response was being sent (a client that stopped
//!   reading) it is reset, so nothing queued for it stays behind;
//! - each request carries a [`Hangup`] for its connection, which a streaming response uses
//!   to close a connection whose client stopped reading (nothing else would notice: the
//!   connection is stuck writing);
//! - on shutdown, idle connections close, requests in flight get
//!   [`Limits::shutdown_grace`] to finish, and what is left is closed.
//!
//! [`Limits::max_connections`]: crate::Limits::max_connections
//! [`Limits::header_read_timeout`]: crate::Limits::header_read_timeout
//! [`Limits::idle_timeout`]: crate::Limits::idle_timeout
//! [`Limits::shutdown_grace`]: crate::Limits::shutdown_grace

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::http::State;

/// Closes the connection a request came on; in every request's extensions.
#[derive(Debug, Clone)]
pub struct Hangup(CancellationToken);

impl Hangup {
    pub fn hang_up(&self) {
        self.0.cancel();
    }
}

/// What one connection is doing: when a byte last moved, how many requests are being
/// handled (a long-poll waits here), and whether its last write found the socket full (a
/// response is being sent to a client that is not taking it).
#[derive(Debug)]
struct Activity {
    origin: Instant,
    /// Milliseconds from `origin`.
    last: AtomicU64,
    handling: AtomicUsize,
    blocked: AtomicBool,
}

impl Activity {
    fn new() -> Self {
        Activity {
            origin: Instant::now(),
            last: AtomicU64::new(0),
            handling: AtomicUsize::new(0),
            blocked: AtomicBool::new(false),
        }
    }

    fn touch(&self) {
        self.last
            .store(self.origin.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn wrote(&self, polled: &Poll<std::io::Result<usize>>) {
        match polled {
            Poll::Pending => self.blocked.store(true, Ordering::Relaxed),
            Poll::Ready(Ok(n)) if *n > 0 => {
                self.blocked.store(false, Ordering::Relaxed);
                self.touch();
            }
            Poll::Ready(_) => {}
        }
    }

    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.origin.elapsed().saturating_sub(last)
    }
}

/// Counts a request being handled until dropped.
struct Handling(Arc<Activity>);

impl Handling {
    fn new(activity: &Arc<Activity>) -> Self {
        activity.handling.fetch_add(1, Ordering::Relaxed);
        Handling(activity.clone())
    }
}

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.handling.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// The socket, noting every byte that moves.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
    hangup: Hangup,
}

impl Drop for Watched {
    /// A connection hung up on is reset, not closed: a close would leave what is queued for
    /// a client that stopped reading (megabytes of a snapshot) in the kernel until it reads it.
    fn drop(&mut self) {
        if self.hangup.0.is_cancelled() {
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.activity.wrote(&polled);
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.activity.wrote(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// What a connection past the cap is told before it is closed.
fn full() -> String {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "too many connections are open; try again shortly",
    })
    .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: {}\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        liner::protocol::PROBLEM_JSON,
        body.len()
    )
}

/// Serves `router` on `listener` until `stopping` turns true, then stops within the grace.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    app: State,
    mut stopping: watch::Receiver<bool>,
) {
    let limits = app.limits.clone();
    let places = Arc::new(Semaphore::new(limits.max_connections));
    // Turning a connection away takes a moment of its own; a flood of them is simply dropped.
    let turning_away = Arc::new(Semaphore::new(64));
    // HTTP/1 only: every client of this service speaks it over http://, and HTTP/2's own
    // frames (PING, SETTINGS) would keep a connection with no request alive for ever.
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // hyper queues up to ~400 KB of a response by default; a snapshot's chunk deadline
        // measures a client's pace only once that queue is full, which for a client reading a
        // kilobyte a second took minutes. 64 KB still writes a quarter-megabyte chunk at once.
        .max_buf_size(64 * 1024);
    let mut conns = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stopping.wait_for(|s| *s) => break,
        };
        while conns.try_join_next().is_some() {}
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors, most likely: accepting again at once would spin.
                tracing::warn!(error = %e, "accepting a connection failed; pausing");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(place) = places.clone().try_acquire_owned() else {
            app.metrics
                .refused
                .with_label_values(&["connections_full"])
                .inc();
            if let Ok(turn) = turning_away.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    let _turn = turn;
                    let _ = tokio::time::timeout(Duration::from_secs(1), turn_away(stream)).await;
                });
            }
            continue;
        };
        conns.spawn(connection(
            stream,
            builder.clone(),
            router.clone(),
            app.clone(),
            place,
            stopping.clone(),
        ));
    }
    drop(listener);
    let open = conns.len();
    if open > 0 {
        tracing::info!(open, "waiting for connections to finish");
    }
    let drained = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.shutdown_grace, drained)
        .await
        .is_err()
    {
        tracing::warn!(
            open = conns.len(),
            "closing connections still open after the grace period"
        );
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    }
}

async fn turn_away(mut stream: TcpStream) {
    use tokio::io::AsyncReadExt;
    // The request's head first: a client answered before it has sent its request takes the
    // answer for garbage, not for a 503.
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while head.len() < 16 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let _ = stream.write_all(full().as_bytes()).await;
    let _ = stream.shutdown().await;
    // Reading what else the client sent before closing keeps the kernel from resetting the
    // connection under the answer.
    let mut read = 0;
    while read < 64 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
    }
}

async fn connection(
    stream: TcpStream,
    builder: auto::Builder<TokioExecutor>,
    router: Router,
    app: State,
    _place: tokio::sync::OwnedSemaphorePermit,
    mut stopping: watch::Receiver<bool>,
) {
    let _open = Open::new(&app);
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let hangup = Hangup(CancellationToken::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
        hangup: hangup.clone(),
    });
    let service = {
        let activity = activity.clone();
        let hangup = hangup.clone();
        hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            let handling = Handling::new(&activity);
            req.extensions_mut().insert(hangup.clone());
            let router = router.clone();
            async move {
                let response = router.oneshot(req).await;
                drop(handling);
                response
            }
        })
    };
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let idle_timeout = app.limits.idle_timeout;
    let mut draining = false;
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    if e.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_timeout) {
                        app.metrics.refused.with_label_values(&["header_timeout"]).inc();
                    }
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                break;
            }
            _ = stopping.wait_for(|s| *s), if !draining => {
                conn.as_mut().graceful_shutdown();
                draining = true;
            }
            _ = hangup.0.cancelled() => break,
            quiet = idle(&activity, idle_timeout) => {
                let reason = match quiet {
                    Quiet::Idle => "idle",
                    // What is queued for a client that stopped reading is dropped with it.
                    Quiet::Stalled => {
                        hangup.hang_up();
                        "stalled"
                    }
                };
                app.metrics.refused.with_label_values(&[reason]).inc();
                break;
            }
        }
    }
}

/// Counts an open connection in the gauge until dropped (a panicking handler included).
struct Open(State);

impl Open {
    fn new(app: &State) -> Self {
        app.metrics.connections.inc();
        Open(app.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.metrics.connections.dec();
    }
}

/// Why a connection was found quiet.
enum Quiet {
    /// Nothing in progress.
    Idle,
    /// A response being sent that the client stopped taking.
    Stalled,
}

/// Resolves once the connection has had no request being handled and no byte moving for
/// `limit`: idle, or stalled if a response is being sent. A request being handled (a
/// long-poll) is bounded by its own time limit.
async fn idle(activity: &Activity, limit: Duration) -> Quiet {
    loop {
        let quiet = activity.quiet_for();
        let handling = activity.handling.load(Ordering::Relaxed) > 0;
        if !handling && quiet >= limit {
            return if activity.blocked.load(Ordering::Relaxed) {
                Quiet::Stalled
            } else {
                Quiet::Idle
            };
        }
        let nap = if handling {
            limit
        } else {
            limit.saturating_sub(quiet).max(Duration::from_millis(50))
        };
        tokio::time::sleep(nap).await;
    }
}

/// Raises this process's descriptor limit to its hard limit, and says how many connections
/// that leaves room for: some descriptors go to the database pools, connections being turned
/// away, logs, the listener and the runtime.
pub fn raise_descriptor_limit() -> Option<usize> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if let Some(max) = limit.maximum
        && limit.current != Some(max)
    {
        limit.current = Some(max);
        if let Err(e) = setrlimit(Resource::Nofile, limit) {
            tracing::warn!(error = %e, "could not raise the open-file limit");
        }
    }
    let now = getrlimit(Resource::Nofile).current?;
    Some(now.saturating_sub(256) as usize)
}
