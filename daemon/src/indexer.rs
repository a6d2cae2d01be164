//! The index maintainer: a thread that owns the tantivy writer and follows the store's search
//! journal. It catches up when the mirror says a batch landed, commits at once when the mirror
//! is tailing small pages (so an edit is searchable within a second) and every ten seconds or
//! 200k documents while loading a snapshot, and rebuilds the index from the tables after a reset.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use liner::search::{SearchIndex, WriterOptions};
use liner::store::{Handoff, Store};

use crate::Event;

/// Runs until the sender hangs up; then catches up and commits a last time.
/// `handoff` carries the documents the mirror's writer inserts, so a bootstrap is not read
/// back from the mirror.
pub fn run(
    mirror: PathBuf,
    index_dir: PathBuf,
    events: Receiver<Event>,
    mut handoff: Handoff,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let mut store =
        Store::open(&mirror).with_context(|| format!("opening {}", mirror.display()))?;
    // It reads journal rows and the parties they name; the 128 MiB default cache was resident
    // next to the mirror writer's own during a bootstrap. Since a catch-up keeps its cache
    // warm across chunks, 32 MiB stayed full and put the 1M peak at 390 MB.
    store.set_cache_mib(16)?;
    let mut index = open(&index_dir, &mut store)?;
    loop {
        match events.recv_timeout(Duration::from_secs(1)) {
            Ok(Event::Applied { tailing }) => {
                // Batches that landed meanwhile are covered by one catch-up.
                let mut tailing = tailing;
                let mut reset = false;
                while let Ok(e) = events.try_recv() {
                    match e {
                        Event::Applied { tailing: t } => tailing = t,
                        Event::Reset => reset = true,
                    }
                }
                if reset {
                    index = rebuild(&index_dir, &mut store, index)?;
                }
                index.set_loading(!tailing);
                index.catch_up_handed(&store, &mut handoff)?;
                if tailing {
                    index.commit()?;
                }
                index.prune_journal(&mut store)?;
            }
            Ok(Event::Reset) => index = rebuild(&index_dir, &mut store, index)?,
            Err(RecvTimeoutError::Timeout) => {
                // Commits only when something has waited long enough: an idle daemon writes
                // nothing.
                index.catch_up_handed(&store, &mut handoff)?;
                index.prune_journal(&mut store)?;
            }
            Err(RecvTimeoutError::Disconnected) => {
                index.catch_up_handed(&store, &mut handoff)?;
                index.commit()?;
                index.prune_journal(&mut store)?;
                return Ok(());
            }
        }
    }
}

fn open(dir: &PathBuf, store: &mut Store) -> anyhow::Result<SearchIndex> {
    if store.index_rebuild_needed()? {
        let index = SearchIndex::rebuild(dir, store, WriterOptions::default())?;
        store.index_rebuilt()?;
        return Ok(index);
    }
    Ok(SearchIndex::open_writer(
        dir,
        store,
        WriterOptions::default(),
    )?)
}

fn rebuild(dir: &PathBuf, store: &mut Store, old: SearchIndex) -> anyhow::Result<SearchIndex> {
    drop(old);
    tracing::info!("rebuilding the search index after a resync");
    let index = SearchIndex::rebuild(dir, store, WriterOptions::default())?;
    store.index_rebuilt()?;
    Ok(index)
}
