//! `liner generate`: a mirror directory filled from the catalog generator, applied through the
//! same store and index code the daemon uses.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use liner::generate::{CatalogSpec, Generator};
use liner::model::Cursor;
use liner::search::{SearchIndex, WriterOptions};
use liner::store::Store;

use crate::cli::GenerateArgs;

pub const DB_FILE: &str = "mirror.sqlite";
pub const INDEX_DIR: &str = "index";

pub fn run(args: GenerateArgs, data: &Path) -> Result<()> {
    let dir = data;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let db = dir.join(DB_FILE);
    if db.exists() {
        if !args.force {
            bail!(
                "{} already holds a mirror; pass --force to replace it, or choose another --data",
                dir.display()
            );
        }
        remove_mirror(dir)?;
    }
    let started = Instant::now();
    let mut store = Store::open(&db).with_context(|| format!("opening {}", db.display()))?;
    store.begin_bulk_load()?;
    let spec = CatalogSpec::new(args.recordings, args.seed).with_history();
    let epoch = format!("generated-{}", args.seed);
    let mut position = 0u64;
    let mut last_report = Instant::now();
    for batch in Generator::new(spec, 5_000) {
        position += batch.changes.len() as u64;
        store
            .apply_with_popularity(
                &batch.changes,
                &batch.popularity,
                Some(&Cursor::new(&epoch, position)),
            )
            .context("applying a generated batch")?;
        if last_report.elapsed().as_secs() >= 2 {
            eprintln!("liner: applied {position} changes…");
            last_report = Instant::now();
        }
    }
    store.end_bulk_load()?;
    let applied = started.elapsed();
    let index_dir = dir.join(INDEX_DIR);
    let index = SearchIndex::rebuild(&index_dir, &store, WriterOptions::default())
        .with_context(|| format!("building the search index in {}", index_dir.display()))?;
    store.prune_journal(index.position())?;
    store.checkpoint()?;
    let [parties, recordings, works, releases] = store.counts()?;
    eprintln!(
        "liner: {recordings} recordings, {parties} parties, {works} works, {releases} releases in {} \
         (store {:.1} s, index {:.1} s)",
        dir.display(),
        applied.as_secs_f64(),
        (started.elapsed() - applied).as_secs_f64()
    );
    Ok(())
}

fn remove_mirror(dir: &Path) -> Result<()> {
    for name in [DB_FILE, "mirror.sqlite-wal", "mirror.sqlite-shm"] {
        let p = dir.join(name);
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
        }
    }
    let index = dir.join(INDEX_DIR);
    if index.exists() {
        std::fs::remove_dir_all(&index).with_context(|| format!("removing {}", index.display()))?;
    }
    Ok(())
}
