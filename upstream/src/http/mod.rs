//! The HTTP API (`/v1`) on axum: routing, shared state, the bearer-token extractor and the
//! layers every route gets (body limit, compression, metrics, request timeout).
//!
//! Handlers see only [`CatalogStore`](crate::store::CatalogStore) and its error; they never
//! know which database is behind it.

mod entities;
mod feed;
mod openapi;
mod ops;
pub mod problem;
mod redact;
mod snapshot;
mod strict_json;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::routing::get;
use tower_http::LatencyUnit;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};

use crate::auth::{Principal, hash_token};
use crate::budget::{Class, Decision};
use crate::metrics::Metrics;
use crate::store::CatalogStore;
use problem::Problem;

/// Limits the service enforces.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Largest feed page a client may ask for.
    pub max_page: usize,
    /// Longest long-poll wait a client may ask for.
    pub max_wait: Duration,
    /// Time limit for ordinary (non-streaming) requests.
    pub request_timeout: Duration,
    /// How long a checked token is trusted without asking the store again: a token revoked
    /// from the command line stops working within this time. Zero checks every request.
    pub token_cache_ttl: Duration,
    /// Snapshots served at once; one more gets 503 with `Retry-After`.
    pub snapshot_streams: usize,
    /// Snapshots one token may have at once, so one client cannot take every place.
    pub snapshot_streams_per_token: usize,
    /// About how much of a snapshot is read in one read transaction and sent as one chunk.
    pub snapshot_chunk_bytes: usize,
    /// The slowest a snapshot client may take its chunks, in bytes per second: a chunk not
    /// taken within its size at this rate (and [`Limits::snapshot_chunk_floor`]) closes
    /// the connection.
    pub snapshot_min_rate: usize,
    /// The least time any chunk gets, however small.
    pub snapshot_chunk_floor: Duration,
    /// Client connections open at once; one more gets a 503 and is closed.
    pub max_connections: usize,
    /// How long a client has to send a request's headers, from its first byte.
    pub header_read_timeout: Duration,
    /// How long a connection may sit with no request in progress and nothing sent either way.
    pub idle_timeout: Duration,
    /// How long a stopping service lets requests in flight finish before closing them.
    pub shutdown_grace: Duration,
    /// Each token's budget for edits (creates, patches, deletes): a sustained rate per
    /// second and a burst. Kept in the store, so it holds across instances.
    pub edit_budget: crate::budget::Budget,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1 << 20,
            max_page: 10_000,
            max_wait: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            token_cache_ttl: Duration::from_secs(10),
            snapshot_streams: 8,
            snapshot_streams_per_token: 2,
            snapshot_chunk_bytes: 256 * 1024,
            snapshot_min_rate: 32 * 1024,
            snapshot_chunk_floor: Duration::from_secs(10),
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(3),
            edit_budget: crate::budget::Budget::default(),
        }
    }
}

/// What every handler shares.
pub struct App {
    pub store: Arc<dyn CatalogStore>,
    pub epoch: String,
    pub limits: Limits,
    pub metrics: Metrics,
    /// The newest feed head this instance committed; long-polls wake on it.
    pub head: tokio::sync::watch::Sender<u64>,
    /// Set when the service is stopping, so long-polls answer at once.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// Recently checked tokens by hash: saves a store round trip on every request.
    pub tokens: TokenCache,
    /// Places for snapshots being served ([`Limits::snapshot_streams`]).
    pub snapshots: Arc<tokio::sync::Semaphore>,
    /// Snapshots being served, by token ([`Limits::snapshot_streams_per_token`]).
    pub snapshots_by_token: std::sync::Mutex<std::collections::HashMap<i64, usize>>,
}

/// Tokens checked within the TTL, by hash. Bounded: when full it is emptied, which only costs
/// the next requests a store lookup each.
#[derive(Debug, Default)]
pub struct TokenCache(
    std::sync::Mutex<std::collections::HashMap<String, (Principal, std::time::Instant)>>,
);

impl TokenCache {
    const MAX: usize = 10_000;

    fn get(&self, hash: &str, ttl: Duration) -> Option<Principal> {
        let map = self.0.lock().ok()?;
        map.get(hash)
            .filter(|(_, at)| at.elapsed() < ttl)
            .map(|(p, _)| p.clone())
    }

    fn put(&self, hash: String, principal: Principal) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= Self::MAX {
                map.clear();
            }
            map.insert(hash, (principal, std::time::Instant::now()));
        }
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("epoch", &self.epoch)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

pub type State = Arc<App>;

impl App {
    pub(crate) fn committed(&self, head: u64) {
        self.head.send_if_modified(|h| {
            let newer = head > *h;
            if newer {
                *h = head;
            }
            newer
        });
        self.metrics.feed_head.set(head as i64);
    }
}

/// The caller, from `Authorization: Bearer <token>`.
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

impl FromRequestParts<State> for Auth {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &State) -> Result<Self, Problem> {
        let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            return Err(Problem::unauthorized(
                "this endpoint needs a token: send Authorization: Bearer <token> \
                 (create one with `liner-upstream token create`)",
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Problem::unauthorized("the Authorization header must be `Bearer <token>`")
            })?;
        let hash = hash_token(token);
        let principal = Self::resolve(app, hash).await?;
        tracing::Span::current().record("token_id", principal.0.token_id);
        Ok(principal)
    }
}

impl Auth {
    async fn resolve(app: &State, hash: String) -> Result<Self, Problem> {
        let ttl = app.limits.token_cache_ttl;
        if let Some(p) = app.tokens.get(&hash, ttl) {
            return Ok(Auth(p));
        }
        match app.store.token_by_hash(&hash).await? {
            Some(info) => {
                let principal: Principal = info.into();
                if !ttl.is_zero() {
                    app.tokens.put(hash, principal.clone());
                }
                Ok(Auth(principal))
            }
            None => Err(Problem::unauthorized("the token is unknown or was revoked")),
        }
    }
}

/// Spends one request of `p`'s budget for `class`, or refuses with 429 and when to retry.
pub(crate) async fn spend(app: &State, p: &Principal, class: Class) -> Result<(), Problem> {
    let budget = match class {
        Class::Edits => app.limits.edit_budget,
    };
    let key = crate::budget::key(p.token_id, class);
    match app
        .store
        .spend(&key, budget, crate::budget::now_micros())
        .await?
    {
        Decision::Allow { .. } => Ok(()),
        Decision::Refuse { retry_after } => {
            app.metrics
                .refused
                .with_label_values(&["rate_limited"])
                .inc();
            Err(Problem::too_many(
                format!(
                    "this token has made more {} than its budget ({} a second, bursts of {}); \
                     try again after Retry-After",
                    class.as_str(),
                    budget.per_second,
                    budget.burst
                ),
                retry_after,
            ))
        }
    }
}

/// The whole service.
pub fn router(app: State) -> Router {
    let limits = app.limits.clone();
    // Ordinary requests get a time limit; the feed's long-poll and the snapshot stream do not
    // (the long-poll bounds itself by `max_wait`).
    let bounded = Router::new()
        .merge(entities::routes())
        .route("/v1/me", get(entities::me))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/v1/openapi.json", get(openapi::serve))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            limits.request_timeout,
        ));
    let streaming = feed::routes();
    Router::new()
        .merge(bounded)
        .merge(streaming)
        .fallback(|| async { Problem::not_found("no such endpoint; the API lives under /v1") })
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            ops::track,
        ))
        // One line per request at debug level (`RUST_LOG=info,tower_http=debug`): method,
        // route template, status, latency and the token's id, which the bearer extractor
        // records in this span once it knows it (never the token).
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<axum::body::Body>| {
                    let route = req
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map_or("unmatched", |m| m.as_str());
                    // tower-http's own target, so `tower_http=debug` turns span and line on
                    // together.
                    tracing::debug_span!(
                        target: "tower_http::trace::make_span",
                        "request",
                        method = %ops::method_label(req.method()),
                        route = %route,
                        token_id = tracing::field::Empty,
                    )
                })
                .on_request(())
                .on_eos(())
                .on_response(
                    DefaultOnResponse::new()
                        .level(tracing::Level::DEBUG)
                        .latency_unit(LatencyUnit::Micros),
                )
                .on_failure(
                    DefaultOnFailure::new()
                        .level(tracing::Level::DEBUG)
                        .latency_unit(LatencyUnit::Micros),
                ),
        )
        // The fastest level: catalog JSON compresses well at any level, and zstd at the
        // default level was most of the upstream's CPU while serving a 1M snapshot (perf).
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .zstd(true)
                .quality(tower_http::CompressionLevel::Fastest),
        )
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .with_state(app)
}
