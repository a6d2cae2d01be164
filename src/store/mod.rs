//! The local mirror: one SQLite database per workstation that the daemon keeps in step with
//! the upstream and the console reads.
//!
//! [`Store`] is one concrete struct over rusqlite (no trait: there is one implementation).
//! The database runs in WAL mode so the console reads while the daemon writes; every write
//! takes the lock up front (`BEGIN IMMEDIATE`) so two writers queue instead of failing
//! half-way. Submodules split it by concern: [`apply`](Store::apply) for change batches,
//! reads for the console, the outbox of local edits, the quarantine of refused records, and
//! the search journal the index replays.

mod apply;
mod batched;
mod body;
mod decoded;
mod diffs;
mod handoff;
mod journal;
mod links;
mod outbox;
mod pair_runs;
mod quarantine;
mod read;
mod result_rows;
mod schema;
mod sql_ids;
mod views;

use std::collections::HashMap;

use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::model::{Cursor, EntityId, EntityKind};

pub use apply::ApplyReport;
pub use decoded::DecodedPage;
pub use handoff::Handoff;
pub use journal::{CreditKey, EntityDoc, JournalEntry, ReadSnapshot, RecordingSource};
pub use outbox::{OutboxEntry, OutboxState};
pub use quarantine::QuarantineEntry;
pub use read::HistoryEntry;
pub use result_rows::CREDIT_COUNT_CAP;
pub use schema::HISTORY_BACKFILL;
pub use views::{
    BrowseRow, CreditView, PartyCreditRow, PartyCredits, PartyView, PartyWork, RecordingDetail,
    ReleaseAppearance, ResultSummary, WorkView, WriterView,
};

/// What can go wrong in the store. Invalid records are not errors: they are quarantined.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("mirror database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("mirror database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("mirror database holds data that no longer parses ({what}): {source}")]
    Corrupt {
        what: String,
        source: serde_json::Error,
    },
    #[error("mirror database is at schema version {found}, newer than this build knows ({known})")]
    TooNew { found: i64, known: i64 },
    #[error("mirror database holds a stored body that does not decode ({what}): {reason}")]
    Body { what: String, reason: String },
    #[error("outbox entry {seq}: cannot move from {from} to {to}")]
    Transition {
        seq: i64,
        from: &'static str,
        to: &'static str,
    },
    #[error("outbox entry {0} does not exist")]
    NoSuchOutboxEntry(i64),
    #[error("invalid edit: {0}")]
    InvalidEdit(String),
    #[error("mirror database {0} is not there yet (linerd creates it on its first start)")]
    Missing(PathBuf),
    #[error(
        "mirror database is at schema version {found}, older than this build ({known}); start linerd to migrate it"
    )]
    TooOld { found: i64, known: i64 },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// Another connection held the write lock for longer than the busy timeout (a bulk load
    /// ending holds it for seconds): worth trying again later, not a failure.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
                if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }
}

/// The mirror database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// What this writer has looked up or written. Cleared whenever a transaction fails, so it
    /// never names a row that was rolled back.
    keys: Keys,
    /// Where committed batches' new documents go, if an index maintainer takes them.
    handoff: Option<handoff::HandoffSender>,
}

/// The writer's cache: entity id → integer key, and revision origin → id.
///
/// Each kind has a map of its own, bounded on its own: millions of credits and writers name a
/// few hundred thousand parties, so their keys are the ones worth keeping, and a shared map was
/// cleared by the recordings and works streaming past (looking party keys up again cost a 1M
/// apply 24.3 s instead of 18.6 s, measured). Maps are keyed by the id's 128 bits as two
/// `u64`s: an `EntityId` key took 48 bytes a slot and the maps 38 MB of linerd's 1M
/// bootstrap (heaptrack), where these take 24.
#[derive(Debug, Default)]
pub(crate) struct Keys {
    by_kind: [FxHashMap<(u64, u64), i64>; 4],
    pub(crate) origins: HashMap<Origin, i64>,
    pub(crate) last_origin: Option<(Origin, i64)>,
    /// A bulk load is in progress: the party links are derived at its end, not kept row by
    /// row (see [`links`]). Not a cache entry: [`Keys::clear`] leaves it.
    pub(crate) links_deferred: bool,
    /// The links this bulk load's inserts will need, when it can gather them (see
    /// [`links::Gathered`]); dropped by anything that makes them incomplete or wrong.
    pub(crate) gathered: Option<links::Gathered>,
}

/// A revision's (actor, source, reference, reason).
pub(crate) type Origin = (String, &'static str, String, String);

impl Keys {
    /// Entries kept per kind before that kind's map is cleared: all of a large catalog's
    /// parties, and enough recent recordings for the releases that follow them to find their
    /// tracks' keys (works and releases are rarely referenced after they arrive).
    const MAX: [usize; 4] = [1_000_000, 200_000, 50_000, 50_000];

    fn slot(id: &EntityId) -> (usize, (u64, u64)) {
        let bits = match id {
            EntityId::Party(i) => u128::from(i.ulid()),
            EntityId::Recording(i) => u128::from(i.ulid()),
            EntityId::Work(i) => u128::from(i.ulid()),
            EntityId::Release(i) => u128::from(i.ulid()),
        };
        let kind = kind_code(id.kind()) as usize - 1;
        (kind, ((bits >> 64) as u64, bits as u64))
    }
    pub(crate) fn get(&self, id: &EntityId) -> Option<&i64> {
        let (kind, k) = Self::slot(id);
        self.by_kind[kind].get(&k)
    }
    pub(crate) fn contains_key(&self, id: &EntityId) -> bool {
        self.get(id).is_some()
    }
    pub(crate) fn insert(&mut self, id: EntityId, key: i64) {
        // Bounded: every id of a whole catalog would cost hundreds of MB, and recent ones
        // are the useful ones.
        let (kind, k) = Self::slot(&id);
        let map = &mut self.by_kind[kind];
        if map.len() >= Self::MAX[kind] {
            map.clear();
        }
        map.insert(k, key);
    }
    pub(crate) fn remove(&mut self, id: &EntityId) {
        let (kind, k) = Self::slot(id);
        self.by_kind[kind].remove(&k);
    }
    pub(crate) fn clear(&mut self) {
        for map in &mut self.by_kind {
            map.clear();
        }
        self.origins.clear();
        self.last_origin = None;
    }
}

/// A BLOB column of a row without copying it, `None` when NULL.
pub(crate) fn blob<'r>(row: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<&'r [u8]>> {
    row.get_ref(i)?.as_blob_or_null().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Blob, Box::new(e))
    })
}

/// The kind codes used in `search_journal.kind`.
pub(crate) fn kind_code(kind: EntityKind) -> i64 {
    match kind {
        EntityKind::Party => 1,
        EntityKind::Recording => 2,
        EntityKind::Work => 3,
        EntityKind::Release => 4,
    }
}

pub(crate) fn table(kind: EntityKind) -> &'static str {
    kind.as_str()
}

impl Store {
    /// Opens (creating if needed) the mirror database at `path` and brings its schema up to
    /// date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let conn = Connection::open(&path).map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        let mut store = Store {
            conn,
            path,
            keys: Keys::default(),
            handoff: None,
        };
        store.configure()?;
        store.migrate()?;
        store.ensure_indexes()?;
        Ok(store)
    }

    /// Opens a mirror the daemon made, for reading and queuing edits (the console): never
    /// migrates and never rebuilds indexes, so it cannot slow down a bootstrap in progress.
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if !path.exists() {
            return Err(StoreError::Missing(path));
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        let store = Store {
            conn,
            path,
            keys: Keys::default(),
            handoff: None,
        };
        store.configure()?;
        let known = schema::MIGRATIONS.len() as i64;
        let found: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > known {
            return Err(StoreError::TooNew { found, known });
        }
        if found < known {
            return Err(StoreError::TooOld { found, known });
        }
        Ok(store)
    }

    /// Opens the database for reading only (the console): never migrates, never writes.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(128);
        Ok(Store {
            conn,
            path,
            keys: Keys::default(),
            handoff: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets this connection's page cache (128 MiB by default). Connections that only look
    /// things up (a pusher, an index follower) need far less than the writer.
    pub fn set_cache_mib(&self, mib: u32) -> Result<()> {
        self.conn
            .pragma_update(None, "cache_size", -(i64::from(mib) * 1024))?;
        Ok(())
    }

    fn configure(&self) -> Result<()> {
        // rusqlite caches 16 statements by default; apply alone uses more, and re-preparing
        // on every row costs more than the row.
        self.conn.set_prepared_statement_cache_capacity(128);
        self.conn.busy_timeout(Duration::from_secs(5))?;
        // WAL: readers never block the writer. NORMAL: a crash loses at most the last
        // transaction, never consistency, and the cursor lives in the same transaction.
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.pragma_update(None, "cache_size", -131_072)?;
        // Lets CREATE INDEX sort with a helper thread after a bulk load.
        self.conn.pragma_update(None, "threads", 2)?;
        self.conn.pragma_update(None, "temp_store", "MEMORY")?;
        self.conn.pragma_update(None, "foreign_keys", false)?;
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        let known = schema::MIGRATIONS.len() as i64;
        let current: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if current > known {
            return Err(StoreError::TooNew {
                found: current,
                known,
            });
        }
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(current as usize) {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            match sql {
                schema::Migration::Sql(sql) => tx.execute_batch(sql)?,
                schema::Migration::Code(step) => step(&tx)?,
            }
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Builds what a bulk load left out: the secondary indexes, and the party links if a
    /// load was cut short (a killed process).
    fn ensure_indexes(&mut self) -> Result<()> {
        if !self.keys.links_deferred && links::stale(&self.conn)? {
            let t = std::time::Instant::now();
            self.write(|tx, _| links::rebuild(tx, None))?;
            tracing::debug!(elapsed = ?t.elapsed(), "party links rebuilt");
        }
        for (name, on) in schema::SECONDARY_INDEXES {
            let t = std::time::Instant::now();
            self.conn
                .execute_batch(&format!("CREATE INDEX IF NOT EXISTS {name} ON {on};"))?;
            tracing::debug!(index = name, elapsed = ?t.elapsed(), "secondary index ready");
        }
        Ok(())
    }

    /// Drops the secondary indexes before loading into an empty mirror; [`Store::end_bulk_load`]
    /// (or the next open) builds them again by sorting, which is several times faster than
    /// keeping them up to date row by row.
    pub fn begin_bulk_load(&mut self) -> Result<()> {
        self.write(|tx, _| links::mark_stale(tx))?;
        self.keys.links_deferred = true;
        self.keys.gathered = (!links::any_linked(&self.conn)?).then(links::Gathered::default);
        for (name, _) in schema::SECONDARY_INDEXES {
            self.conn
                .execute_batch(&format!("DROP INDEX IF EXISTS {name};"))?;
        }
        Ok(())
    }

    pub fn end_bulk_load(&mut self) -> Result<()> {
        // No ANALYZE: with STAT4 statistics SQLite re-prepares statements whose plan could
        // depend on a bound value, which made every detail lookup ~5x slower when measured.
        // Sorting spills to temporary files beyond the page cache instead of holding the
        // whole sort in memory (+220 MB for 5M credits, measured in the daemon).
        self.conn.pragma_update(None, "temp_store", "FILE")?;
        // A small page cache makes the sorter write many small sorted runs, which its helper
        // thread sorts while this one reads, and which fit the CPU caches: building the
        // 5M-entry credit index took 2.0 s instead of 6.4 s with the usual 128 MiB, measured.
        let cache: i64 = self
            .conn
            .pragma_query_value(None, "cache_size", |r| r.get(0))?;
        self.conn.pragma_update(None, "cache_size", -2048)?;
        self.keys.links_deferred = false;
        let gathered = self.keys.gathered.take();
        let built = self
            .write(|tx, _| {
                links::rebuild(tx, gathered)?;
                links::clear_stale(tx)
            })
            .and_then(|()| self.ensure_indexes());
        self.conn.pragma_update(None, "cache_size", cache)?;
        self.conn.pragma_update(None, "temp_store", "MEMORY")?;
        built?;
        // Fold the load's log back and shrink it; a reader still inside it makes this a
        // partial checkpoint, which the next autocheckpoint finishes.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// The cursor of the last applied batch.
    pub fn cursor(&self) -> Result<Option<Cursor>> {
        let value: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'cursor'", [], |r| {
                r.get(0)
            })
            .optional()?;
        value
            .map(|v| {
                serde_json::from_str(&v).map_err(|source| StoreError::Corrupt {
                    what: "cursor".into(),
                    source,
                })
            })
            .transpose()
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}
