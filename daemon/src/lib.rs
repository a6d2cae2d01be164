//! linerd: keeps a workstation's mirror (SQLite + tantivy) in step with the upstream catalog.
//!
//! Components, each in its module, talking through [`Event`]s and stopped by one
//! cancellation token:
//!
//! - [`mirror`]: bootstrap from the snapshot, then the live tail of the change feed;
//! - [`indexer`]: a thread that owns the search index writer and follows the store's journal;
//! - [`pusher`]: sends local edits upstream exactly once, merging three-way on a stale base;
//! - [`status`]: what the daemon is doing, for `linerd status` and the console;
//! - [`config`]: defaults, `liner.toml`, `LINER_*` variables (the format is the protocol's, as
//!   the console reads the same file);
//! - [`watcher`]: notices edits of `liner.toml`; [`run_watching`] then restarts the
//!   components with the new settings (an invalid file is reported and ignored).

pub mod backoff;
pub mod batcher;
pub mod client;
pub mod indexer;
pub mod mirror;
pub mod pusher;
pub mod status;
pub mod watcher;

use std::sync::{Arc, Mutex};

use anyhow::Context;
use liner::store::Store;
use tokio_util::sync::CancellationToken;

pub use liner::protocol::config::{self, Config};

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
    let status = Arc::new(status::StatusFile::new(
        config.data().status(),
        &config.upstream.url,
    ));
    run_with(config, token, status, cancel).await
}

/// [`run`] reporting into `status`, which the config watcher shares.
async fn run_with(
    config: Config,
    token: String,
    status: Arc<status::StatusFile>,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let mirror_path = config.data().mirror();
    // Opening migrates and rebuilds what a cut-off bulk load left out (seconds on a large
    // mirror): on a blocking thread, like every other use of SQLite here.
    let (store, pusher_store, cursor) = tokio::task::spawn_blocking({
        let path = mirror_path.clone();
        move || -> anyhow::Result<(Store, Store, Option<String>)> {
            let open = || {
                Store::open(&path).with_context(|| format!("opening the mirror {}", path.display()))
            };
            let store = open()?;
            let cursor = store.cursor().ok().flatten().map(|c| c.token());
            // The writer gets a bigger page cache than the pusher, which only reads its outbox.
            store.set_cache_mib(32)?;
            let pusher_store = open()?;
            pusher_store.set_cache_mib(4)?;
            Ok((store, pusher_store, cursor))
        }
    })
    .await
    .context("opening the mirror")??;
    let mut store = store;
    status.update(|s| s.cursor = cursor);
    // A long-poll answers within its wait; ten seconds more and the connection is dead.
    let stall_after = config.sync.wait() + std::time::Duration::from_secs(10);
    let upstream = client::Upstream::new(&config.upstream.url, token, stall_after)?;
    let pusher = pusher::Pusher {
        store: Arc::new(Mutex::new(pusher_store)),
        upstream: upstream.clone(),
        status: status.clone(),
        max_backoff: config.sync.max_backoff(),
    };
    let pushing = tokio::spawn(pusher.run(cancel.clone()));
    tokio::spawn(learn_who(upstream.clone(), status.clone(), cancel.clone()));

    let (events, inbox) = std::sync::mpsc::channel();
    let index_dir = config.data().index();
    let handoff = store.hand_off_documents();
    // An index maintainer that fails stops the daemon (which exits with its error, for the
    // supervisor to restart) rather than leaving a mirror whose search silently stopped
    // following it.
    let stop = cancel.clone();
    let indexer = std::thread::Builder::new()
        .name("liner-indexer".into())
        .spawn(move || {
            let result = indexer::run(mirror_path, index_dir, inbox, handoff);
            if let Err(e) = &result {
                tracing::error!(error = %format!("{e:#}"), "the index maintainer failed; stopping");
                stop.cancel();
            }
            result
        })
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

/// Asks the upstream whom the token belongs to, until it answers, and records it in the
/// status: the console decides from it whether to offer editing.
async fn learn_who(
    upstream: client::Upstream,
    status: Arc<status::StatusFile>,
    cancel: CancellationToken,
) {
    use rand::SeedableRng as _;
    let mut backoff = backoff::Backoff::new(
        std::time::Duration::from_millis(500),
        std::time::Duration::from_secs(30),
    );
    let mut rng = rand::rngs::SmallRng::from_os_rng();
    loop {
        match upstream.me().await {
            Ok(who) => {
                status.update(|s| s.who = Some(who));
                return;
            }
            Err(e) => tracing::debug!(error = %e, "asking the upstream who this token is"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(backoff.next_delay(&mut rng)) => {}
        }
    }
}

/// Runs the daemon with the config file at `file`, picking up changes to it while running:
/// the components stop (finishing their batch) and start again with the new settings. A file
/// that no longer parses is reported in the status and the running settings stay.
pub async fn run_watching(
    file: std::path::PathBuf,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let (tx, mut changed) = tokio::sync::mpsc::unbounded_channel();
    let _watcher = watcher::watch(&file, tx)?;
    let mut config = Config::load(Some(&file))?;
    let mut token = config::read_token(&config.upstream.token_file)?;
    loop {
        let round = cancel.child_token();
        let status = Arc::new(status::StatusFile::new(
            config.data().status(),
            &config.upstream.url,
        ));
        let mut task = tokio::spawn(run_with(
            config.clone(),
            token.clone(),
            status.clone(),
            round.clone(),
        ));
        let next = loop {
            tokio::select! {
                _ = cancel.cancelled() => break None,
                done = &mut task => {
                    // The components ended by themselves: a store failure.
                    return done.context("the daemon task")?;
                }
                Some(()) = changed.recv() => match settled_load(&file).await {
                    Ok((new, new_token)) if new != config || new_token != token => {
                        break Some((new, new_token));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "the changed config file is invalid; keeping the running settings");
                        status.update(|s| s.last_error = Some(format!("config not reloaded: {e:#}")));
                    }
                },
            }
        };
        round.cancel();
        task.await.context("the daemon task")??;
        match next {
            None => return Ok(()),
            Some((new, new_token)) => {
                tracing::info!(upstream = %new.upstream.url, "config changed: restarting with the new settings");
                config = new;
                token = new_token;
            }
        }
    }
}

/// Loads the config file once it has stopped changing (an editor or `>` may be caught
/// half-way through a write), together with the token it names: a reload that would leave
/// the daemon without a usable token is refused like a file that does not parse.
async fn settled_load(file: &std::path::Path) -> anyhow::Result<(Config, String)> {
    let mut last = std::fs::read(file).ok();
    for _ in 0..20 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let now = std::fs::read(file).ok();
        if now == last {
            break;
        }
        last = now;
    }
    let config = Config::load(Some(file))?;
    let token = config::read_token(&config.upstream.token_file)?;
    Ok((config, token))
}
