//! liner-upstream: the reference catalog service every workstation mirrors and every
//! correction lands in.
//!
//! - [`store`]: the [`CatalogStore`](store::CatalogStore) contract and its SQLite and
//!   PostgreSQL backends;
//! - [`catalog`]: what a create, patch or delete means (validation, diffs, revisions),
//!   shared by both backends;
//! - [`auth`]: tokens and roles;
//! - [`http`]: the `/v1` API on axum;
//! - [`seed`]: loading a generated catalog as an import.
//!
//! [`run`] is the whole service on a listener until `shutdown` resolves, so tests start it
//! in-process on port 0.

pub mod auth;
pub mod budget;
pub mod catalog;
pub mod http;
pub mod metrics;
pub mod seed;
pub mod serve;
pub mod store;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

pub use http::Limits;
use store::CatalogStore;

/// What the service runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `sqlite:PATH` or `postgres://…`.
    pub db: String,
    pub limits: Limits,
}

/// Opens the store named by `settings.db` and serves until `shutdown` resolves.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = store::open(&settings.db).await?;
    serve(store, settings.limits, listener, shutdown).await
}

/// Serves `store` until `shutdown` resolves; in-flight requests get
/// [`Limits::shutdown_grace`] to finish, waiting long-polls are answered at once with what
/// they have, and snapshots in progress are cut off (see [`serve`] for every bound).
pub async fn serve(
    store: Arc<dyn CatalogStore>,
    limits: Limits,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let epoch = store.epoch().await?;
    let head = store.head().await?;
    let metrics = metrics::Metrics::new().context("registering metrics")?;
    metrics.feed_head.set(head as i64);
    let (stopping, _) = tokio::sync::watch::channel(false);
    let app = Arc::new(http::App {
        store,
        epoch,
        limits: limits.clone(),
        metrics,
        head: tokio::sync::watch::channel(head).0,
        stopping: stopping.clone(),
        tokens: http::TokenCache::default(),
        snapshots: Arc::new(tokio::sync::Semaphore::new(limits.snapshot_streams)),
        snapshots_by_token: Default::default(),
    });
    let addr = listener.local_addr()?;
    tracing::info!(%addr, epoch = %app.epoch, head, "liner-upstream serving");
    let stopped = stopping.subscribe();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: finishing requests in flight");
        let _ = stopping.send(true);
    });
    serve::serve(listener, http::router(app.clone()), app, stopped).await;
    tracing::info!("stopped");
    Ok(())
}
