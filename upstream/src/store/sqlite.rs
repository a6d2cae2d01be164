//! The embedded backend: one SQLite file in WAL mode behind an r2d2 pool, reached from async
//! code through `spawn_blocking`.
//!
//! SQLite has one writer at a time and every write takes the lock up front (`BEGIN
//! IMMEDIATE`), so feed positions are simply `max(position) + 1` inside the write: commit order
//! and position order cannot differ. A snapshot is read in chunks, each one short read
//! transaction on connections of its own (WAL gives each a stable view while writes go on): a
//! slow client holds no connection and no read transaction, so the WAL can always be
//! checkpointed. Writes read what [`plan`](super::plan) needs, plan, and execute the plan; the
//! one writer at a time is also why two writes cannot both take a free identifier.

use std::path::Path;

use async_trait::async_trait;
use bytes::Bytes;
use liner::model::{EntityId, EntityKind};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::identifiers::{self, Duplicate};
use super::plan::{Current, Found, Lookup, plan};
use super::{
    CatalogStore, FeedPage, HistoryEntry, Idempotency, NewToken, Replay, Result, SnapshotChunk,
    SnapshotStart, StoreError, Stored, Write, WriteOp, WriteOutcome, parse_revision, record_line,
    revision_json, snapshot_line,
};
use crate::auth::{Role, TokenInfo};
use crate::budget::{Budget, Decision};
use schema::migrate;

mod schema;

/// The SQLite catalog store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: r2d2::Pool<SqliteConnectionManager>,
    /// The snapshot readers' own connections, so snapshots never take an ordinary request's.
    readers: r2d2::Pool<SqliteConnectionManager>,
    epoch: String,
}

/// Snapshot chunks read at once; each holds its connection for one short read transaction.
const SNAPSHOT_READERS: u32 = 2;

fn configure(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "cache_size", -65_536)?;
    // A WAL that grew while something held it (a burst of writes) is cut back to this after
    // its next checkpoint, rather than keeping its largest size for good.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the catalog at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let manager = || SqliteConnectionManager::file(path.as_ref()).with_init(configure);
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .build(manager())
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let mut conn = pool.get()?;
        migrate(&mut conn)?;
        let epoch: String =
            conn.query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| {
                r.get(0)
            })?;
        drop(conn);
        let readers = r2d2::Pool::builder()
            .max_size(SNAPSHOT_READERS)
            .min_idle(Some(0))
            .connection_timeout(std::time::Duration::from_secs(10))
            .build(manager())
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(SqliteStore {
            pool,
            readers,
            epoch,
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Database(format!("store task failed: {e}")))?
    }
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

fn head(conn: &Connection) -> Result<u64> {
    Ok(
        conn.query_row("SELECT coalesce(max(position), 0) FROM change", [], |r| {
            r.get(0)
        })?,
    )
}

fn read_entity(conn: &Connection, id: EntityId) -> Result<Option<Stored>> {
    conn.prepare_cached("SELECT version, deleted, data FROM entity WHERE id = ?1")?
        .query_row([id.to_string()], |r| {
            Ok(Stored {
                id,
                version: r.get(0)?,
                deleted: r.get(1)?,
                data: r.get(2)?,
            })
        })
        .optional()
        .map_err(Into::into)
}

fn read_replay(conn: &Connection, key: &str) -> Result<Option<Replay>> {
    conn.prepare_cached("SELECT request_hash, status, body FROM idempotency WHERE key = ?1")?
        .query_row([key], |r| {
            Ok(Replay {
                request_hash: r.get(0)?,
                status: r.get(1)?,
                body: r.get(2)?,
            })
        })
        .optional()
        .map_err(Into::into)
}

fn write_batch(
    conn: &mut Connection,
    writes: &[Write],
    idempotency: Option<&Idempotency>,
) -> Result<WriteOutcome> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(idem) = idempotency
        && let Some(replay) = read_replay(&tx, &idem.key)?
    {
        return Ok(WriteOutcome::Replay(replay));
    }
    let lookup = Lookup::of(writes);
    let mut found = Found::default();
    {
        let mut row = tx.prepare_cached("SELECT version, deleted FROM entity WHERE id = ?1")?;
        for id in &lookup.rows {
            if let Some(current) = row
                .query_row([id.to_string()], |r| {
                    Ok(Current {
                        version: r.get(0)?,
                        deleted: r.get(1)?,
                    })
                })
                .optional()?
            {
                found.rows.insert(*id, current);
            }
        }
        let mut by = tx.prepare_cached("SELECT source FROM reference WHERE target = ?1")?;
        for id in &lookup.referrers {
            let sources = by
                .query_map([id.to_string()], |r| r.get::<_, String>(0))?
                .map(|s| super::parse_id(&s?))
                .collect::<Result<Vec<_>>>()?;
            found.referrers.insert(*id, sources);
        }
        let mut holders =
            tx.prepare_cached("SELECT entity_id FROM identifier WHERE scheme = ?1 AND value = ?2")?;
        for held in &lookup.identifiers {
            let ids = holders
                .query_map(params![held.scheme.as_str(), held.value], |r| {
                    r.get::<_, String>(0)
                })?
                .map(|s| super::parse_id(&s?))
                .collect::<Result<Vec<_>>>()?;
            if !ids.is_empty() {
                found.holders.insert(held.clone(), ids);
            }
        }
    }
    let planned = match plan(writes, &found) {
        Ok(p) => p,
        Err(refusal) => {
            return Ok(match refusal.outcome() {
                Ok(outcome) => outcome,
                Err(index) => WriteOutcome::Stale {
                    index,
                    current: read_entity(&tx, writes[index].id)?,
                },
            });
        }
    };
    let mut position = head(&tx)?;
    let mut versions = Vec::with_capacity(planned.len());
    for p in &planned {
        let w = &writes[p.index];
        let revision = revision_json(&w.revision, p.version)?;
        let data = match &w.op {
            WriteOp::Upsert(d) => Some(d.as_str()),
            WriteOp::Delete => None,
        };
        let id = w.id.to_string();
        tx.prepare_cached(
            "INSERT INTO entity (kind, id, version, deleted, data, revision)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version,
                deleted = excluded.deleted, data = excluded.data, revision = excluded.revision",
        )?
        .execute(params![
            w.id.kind().as_str(),
            id,
            p.version,
            p.deleted,
            data,
            revision
        ])?;
        tx.prepare_cached(
            "INSERT INTO revision (entity_id, version, deleted, revision) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![id, p.version, p.deleted, revision])?;
        position += 1;
        tx.prepare_cached("INSERT INTO change (position, record) VALUES (?1, ?2)")?
            .execute(params![
                position,
                record_line(w.id, p.version, data, &revision)
            ])?;
        if !p.insert {
            tx.prepare_cached("DELETE FROM reference WHERE source = ?1")?
                .execute([&id])?;
        }
        let mut refer =
            tx.prepare_cached("INSERT OR IGNORE INTO reference (target, source) VALUES (?1, ?2)")?;
        for target in &p.references {
            refer.execute(params![target.to_string(), id])?;
        }
        if !p.insert {
            tx.prepare_cached("DELETE FROM identifier WHERE entity_id = ?1")?
                .execute([&id])?;
        }
        let mut hold = tx.prepare_cached(
            "INSERT INTO identifier (scheme, value, entity_id) VALUES (?1, ?2, ?3)",
        )?;
        for held in &p.identifiers {
            hold.execute(params![held.scheme.as_str(), held.value, id])?;
        }
        versions.push(p.version);
    }
    if let Some(idem) = idempotency {
        tx.prepare_cached(
            "INSERT INTO idempotency (key, request_hash, status, body, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            idem.key,
            idem.request_hash,
            idem.status,
            idem.body,
            now()
        ])?;
    }
    tx.commit()?;
    Ok(WriteOutcome::Committed {
        versions,
        head: position,
    })
}

/// Values more than one live entity holds, from the identifier index.
fn duplicates(conn: &Connection) -> Result<Vec<Duplicate>> {
    let mut stmt = conn.prepare(identifiers::DUPLICATE_ROWS)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    identifiers::group(rows)
}

fn token_row(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<(i64, String, String, String, String, Option<String>)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn token_info(
    (id, name, role, parties, created_at, revoked_at): (
        i64,
        String,
        String,
        String,
        String,
        Option<String>,
    ),
) -> Result<TokenInfo> {
    let corrupt = |reason: String| StoreError::Corrupt {
        what: format!("token {id}"),
        reason,
    };
    Ok(TokenInfo {
        id,
        name,
        role: role.parse::<Role>().map_err(corrupt)?,
        parties: serde_json::from_str(&parties).map_err(|e| corrupt(e.to_string()))?,
        created_at,
        revoked_at,
    })
}

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn epoch(&self) -> Result<String> {
        Ok(self.epoch.clone())
    }

    async fn head(&self) -> Result<u64> {
        self.run(|c| head(c)).await
    }

    async fn get(&self, id: EntityId) -> Result<Option<Stored>> {
        self.run(move |c| read_entity(c, id)).await
    }

    async fn history(&self, id: EntityId) -> Result<Vec<HistoryEntry>> {
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT deleted, revision FROM revision WHERE entity_id = ?1 ORDER BY version",
            )?;
            let rows = stmt.query_map([id.to_string()], |r| {
                Ok((r.get::<_, bool>(0)?, r.get::<_, String>(1)?))
            })?;
            rows.map(|row| {
                let (deleted, json) = row?;
                Ok(HistoryEntry {
                    revision: parse_revision(&json)?,
                    deleted,
                })
            })
            .collect()
        })
        .await
    }

    async fn write(
        &self,
        writes: Vec<Write>,
        idempotency: Option<Idempotency>,
    ) -> Result<WriteOutcome> {
        self.run(move |c| write_batch(c, &writes, idempotency.as_ref()))
            .await
    }

    async fn spend(&self, key: &str, budget: Budget, now: i64) -> Result<Decision> {
        let key = key.to_owned();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let stored: Option<i64> = tx
                .prepare_cached("SELECT tat FROM budget WHERE key = ?1")?
                .query_row([&key], |r| r.get(0))
                .optional()?;
            let decision = crate::budget::decide(budget, stored, now);
            if let Decision::Allow { tat } = decision {
                tx.prepare_cached(
                    "INSERT INTO budget (key, tat) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET tat = excluded.tat",
                )?
                .execute(params![key, tat])?;
                tx.commit()?;
            }
            Ok(decision)
        })
        .await
    }

    async fn replay(&self, key: &str) -> Result<Option<Replay>> {
        let key = key.to_owned();
        self.run(move |c| read_replay(c, &key)).await
    }

    async fn changes(&self, since: u64, limit: usize) -> Result<FeedPage> {
        self.run(move |c| {
            let tx = c.transaction()?;
            let head = head(&tx)?;
            let mut page = FeedPage {
                body: String::with_capacity(limit.min(10_000) * 800),
                count: 0,
                last: since,
                head,
            };
            {
                let mut stmt = tx.prepare_cached(
                    "SELECT position, record FROM change WHERE position > ?1
                     ORDER BY position LIMIT ?2",
                )?;
                let mut rows = stmt.query(params![since, limit as i64])?;
                while let Some(r) = rows.next()? {
                    page.last = r.get(0)?;
                    page.body
                        .push_str(r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?);
                    page.count += 1;
                }
            }
            tx.commit()?;
            Ok(page)
        })
        .await
    }

    async fn snapshot_start(&self, after: Option<EntityId>) -> Result<Option<SnapshotStart>> {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = readers.get()?;
            let read = conn.transaction()?;
            let from: i64 = match after {
                None => 0,
                Some(id) => {
                    let key = read
                        .query_row(
                            "SELECT key FROM entity WHERE id = ?1",
                            [id.to_string()],
                            |r| r.get(0),
                        )
                        .optional()?;
                    match key {
                        Some(k) => k,
                        None => return Ok(None),
                    }
                }
            };
            // Counting from the start walks the small id index; a key range walks the table
            // itself, which at 1M recordings kept a client waiting 0.5 s for its first byte.
            let count: u64 = if from == 0 {
                read.query_row("SELECT count(*) FROM entity", [], |r| r.get(0))?
            } else {
                read.query_row("SELECT count(*) FROM entity WHERE key > ?1", [from], |r| {
                    r.get(0)
                })?
            };
            let head = head(&read)?;
            Ok(Some(SnapshotStart { from, count, head }))
        })
        .await
        .map_err(|e| StoreError::Database(format!("store task failed: {e}")))?
    }

    async fn snapshot_chunk(
        &self,
        from: i64,
        history: bool,
        bytes: usize,
    ) -> Result<SnapshotChunk> {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = readers.get()?;
            let read = conn.transaction()?;
            let head = head(&read)?;
            let mut stmt = read.prepare_cached(
                "SELECT key, kind, id, version, data, revision FROM entity WHERE key > ?1 ORDER BY key",
            )?;
            let mut rows = stmt.query([from])?;
            let mut earlier = read.prepare_cached(
                "SELECT revision FROM revision WHERE entity_id = ?1 AND version < ?2
                 ORDER BY version",
            )?;
            let mut older: Vec<Vec<u8>> = Vec::new();
            let mut buf = Vec::with_capacity(bytes + 16 * 1024);
            let mut chunk = SnapshotChunk {
                last: from,
                head,
                end: true,
                ..SnapshotChunk::default()
            };
            while let Some(r) = rows.next()? {
                // At least one record a chunk, however small `bytes` is.
                if buf.len() >= bytes && chunk.lines > 0 {
                    chunk.end = false;
                    break;
                }
                chunk.last = r.get(0)?;
                let kind = r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
                let id = r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?;
                let version: u64 = r.get(3)?;
                let data = r
                    .get_ref(4)?
                    .as_bytes_or_null()
                    .map_err(rusqlite::Error::from)?;
                let revision = r.get_ref(5)?.as_bytes().map_err(rusqlite::Error::from)?;
                older.clear();
                // Only entities past their first version have earlier revisions to bring.
                if history && version > 1 {
                    let mut revs = earlier.query(params![id, version])?;
                    while let Some(rev) = revs.next()? {
                        older.push(
                            rev.get_ref(0)?
                                .as_bytes()
                                .map_err(rusqlite::Error::from)?
                                .to_vec(),
                        );
                    }
                }
                let earlier_revisions: Vec<&[u8]> = older.iter().map(Vec::as_slice).collect();
                snapshot_line(
                    kind,
                    id,
                    version,
                    data,
                    revision,
                    &earlier_revisions,
                    &mut buf,
                );
                chunk.lines += 1;
            }
            chunk.body = Bytes::from(buf);
            Ok(chunk)
        })
        .await
        .map_err(|e| StoreError::Database(format!("store task failed: {e}")))?
    }

    async fn counts(&self) -> Result<Vec<(EntityKind, u64)>> {
        self.run(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT kind, count(*) FROM entity WHERE deleted = 0 GROUP BY kind ORDER BY kind",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (kind, n) = row?;
                if let Some(k) = super::kind_from_str(&kind) {
                    out.push((k, n));
                }
            }
            Ok(out)
        })
        .await
    }

    async fn identifier_duplicates(&self) -> Result<Vec<Duplicate>> {
        self.run(|c| duplicates(c)).await
    }

    async fn create_token(&self, token: NewToken) -> Result<i64> {
        self.run(move |c| {
            let parties = serde_json::to_string(&token.parties).map_err(|e| {
                StoreError::Corrupt {
                    what: "token parties".into(),
                    reason: e.to_string(),
                }
            })?;
            c.execute(
                "INSERT INTO token (name, role, parties, hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![token.name, token.role.as_str(), parties, token.hash, now()],
            )?;
            Ok(c.last_insert_rowid())
        })
        .await
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenInfo>> {
        let hash = hash.to_owned();
        self.run(move |c| {
            c.prepare_cached(
                "SELECT id, name, role, parties, created_at, revoked_at FROM token
                 WHERE hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row([hash], token_row)
            .optional()?
            .map(token_info)
            .transpose()
        })
        .await
    }

    async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        self.run(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, name, role, parties, created_at, revoked_at FROM token ORDER BY id",
            )?;
            let rows = stmt.query_map([], token_row)?;
            rows.map(|r| token_info(r?)).collect()
        })
        .await
    }

    async fn revoke_token(&self, id: i64) -> Result<bool> {
        self.run(move |c| {
            let n = c.execute(
                "UPDATE token SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, now()],
            )?;
            Ok(n == 1)
        })
        .await
    }
}
