//! linerd: keeps a workstation's mirror (SQLite + tantivy) in step with the upstream catalog.
//!
//! Components, each in its module, talking through [`Event`]s and stopped by one
//! cancellation token:
//!
//! - [`mirror`]: bootstrap from the snapshot, then the live tail of the change feed;
//! - [`indexer`]: a thread that owns the search index writer and follows the store's journal;
//! - [`pusher`]: sends local edits upstream exactly once, merging three-way on a stale base;
//! - [`status`]: what the daemon is doing, for `linerd status` and the console;
//! - [`config`]: defaults, `liner.toml`, `LINER_*` variables.
//!
//! Not built yet: the live reload of the config file.

pub mod backoff;
pub mod client;
pub mod config;
pub mod indexer;
pub mod mirror;
pub mod pusher;
pub mod status;

use std::sync::{Arc, Mutex};

use anyhow::Context;
use liner::store::Store;
use tokio_util::sync::CancellationToken;

pub use config::Config;

/// What the components tell each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The mirror committed a batch. `tailing`: it is at the upstream head, so the index should
    /// commit now rather than wait for more.
    Applied { tailing: bool },
    /// The mirror was emptied for a resync: the index must be rebuilt.
    Reset,
}

/// Runs the daemon until `cancel` fires; the batch in hand is finished and committed first.
pub async fn run(config: Config, token: String, cancel: CancellationToken) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let mirror_path = config.mirror_path();
    let store = Store::open(&mirror_path)
        .with_context(|| format!("opening the mirror {}", mirror_path.display()))?;
    let status = Arc::new(status::StatusFile::new(
        config.status_path(),
        &config.upstream.url,
    ));
    status.update(|s| s.cursor = store.cursor().ok().flatten().map(|c| c.token()));
    let upstream = client::Upstream::new(&config.upstream.url, token)?;
    let pusher = pusher::Pusher {
        store: Store::open(&mirror_path)
            .with_context(|| format!("opening the mirror {}", mirror_path.display()))?,
        upstream: upstream.clone(),
        status: status.clone(),
        max_backoff: config.sync.max_backoff(),
    };
    let pushing = tokio::spawn(pusher.run(cancel.clone()));

    let (events, inbox) = std::sync::mpsc::channel();
    let index_dir = config.index_dir();
    let indexer = std::thread::Builder::new()
        .name("liner-indexer".into())
        .spawn(move || indexer::run(mirror_path, index_dir, inbox))
        .context("starting the index maintainer")?;

    let mirror = mirror::Mirror {
        config,
        store: Arc::new(Mutex::new(store)),
        upstream,
        status: status.clone(),
        events,
    };
    let result = mirror.run(cancel.clone()).await;
    // Whatever ended the mirror ends the pusher too.
    cancel.cancel();
    let pushed = pushing.await.context("waiting for the pusher")?;
    // The mirror dropped its sender: the indexer commits what it has and stops.
    let indexed = tokio::task::spawn_blocking(move || indexer.join())
        .await
        .context("waiting for the index maintainer")?;
    match indexed {
        Ok(r) => r.context("the index maintainer failed")?,
        Err(_) => anyhow::bail!("the index maintainer panicked"),
    }
    pushed.context("the pusher failed")?;
    result
}
