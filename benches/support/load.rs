//! The foundation's apply + index of a generated catalog, as one routine: the foundation bench
//! reports it, and the daemon bench compares linerd's cold mirror with it in the same run
//! (included there with `#[path]`), so the two cannot drift apart.
//!
//! It applies every batch in bulk mode while an index maintainer thread follows the store, as
//! linerd does: new documents handed over rather than read back, the journal pruned after each
//! catch-up, one commit at the end.

use std::path::Path;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use anyhow::Result;
use liner::generate::Batch;
use liner::model::Cursor;
use liner::search::{SearchIndex, WriterOptions};
use liner::store::Store;

/// The timings of one load, and what it built.
pub struct Load {
    pub store: Store,
    pub index: SearchIndex,
    /// Until the last batch was applied, before the secondary indexes are rebuilt.
    pub apply_only: Duration,
    /// Until the store was complete, secondary indexes included.
    pub apply: Duration,
    /// Until the index had caught up and committed (it runs alongside the apply).
    pub index_caught_up: Duration,
    /// Both done: the foundation's apply + index.
    pub total: Duration,
}

/// Applies `batches` into a new store at `db` and indexes them into `index_root`.
pub fn apply_and_index(batches: &[Batch], db: &Path, index_root: &Path) -> Result<Load> {
    let mut store = Store::open(db)?;
    let mut reader_store = Store::open(db)?;
    let mut handoff = store.hand_off_documents();
    let mut index = SearchIndex::open_writer(index_root, &reader_store, WriterOptions::default())?;
    let (committed, batches_done) = std::sync::mpsc::channel::<()>();
    let t = Instant::now();
    // Named, so a profile can tell its work from the applier's.
    let indexer = std::thread::Builder::new().name("indexer".into()).spawn(
        move || -> Result<(SearchIndex, Duration)> {
            index.set_loading(true);
            while batches_done.recv().is_ok() {
                // Several batches may have landed meanwhile; one catch-up covers them all.
                while batches_done.try_recv().is_ok() {}
                index.catch_up_handed(&reader_store, &mut handoff)?;
                index.prune_journal(&mut reader_store)?;
            }
            index.catch_up_handed(&reader_store, &mut handoff)?;
            index.commit()?;
            Ok((index, t.elapsed()))
        },
    )?;
    apply_all(&mut store, batches, Some(&committed))?;
    let apply_only = t.elapsed();
    store.end_bulk_load()?;
    let apply = t.elapsed();
    drop(committed);
    let (index, index_caught_up) = indexer
        .join()
        .map_err(|_| anyhow::anyhow!("indexer panicked"))??;
    Ok(Load {
        store,
        index,
        apply_only,
        apply,
        index_caught_up,
        total: t.elapsed(),
    })
}

/// Applies every batch in bulk mode with its cursor; tells `committed` after each one. Returns
/// the time spent inside the apply calls.
pub fn apply_all(
    store: &mut Store,
    batches: &[Batch],
    committed: Option<&Sender<()>>,
) -> Result<Duration> {
    store.begin_bulk_load()?;
    let mut position = 0;
    let mut in_calls = Duration::ZERO;
    for batch in batches {
        position += batch.changes.len() as u64;
        let t = Instant::now();
        store.apply_with_popularity(
            &batch.changes,
            &batch.popularity,
            Some(&Cursor::new("bench", position)),
        )?;
        in_calls += t.elapsed();
        if let Some(tx) = committed {
            // The indexer only stops early on an error, which join() reports.
            let _ = tx.send(());
        }
    }
    Ok(in_calls)
}
