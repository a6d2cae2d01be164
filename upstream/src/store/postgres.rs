//! The production backend: PostgreSQL through tokio-postgres and a deadpool pool.
//!
//! **Feed order.** Rows from concurrent transactions commit in any order, so a feed paged by a
//! sequence alone can skip a row that commits after a reader has moved past its number. Here
//! every writing transaction takes its feed positions last, by updating the single
//! `feed_head` row (`position = position + n`), and holds that row lock until it commits: the
//! next writer can only get later positions once this one is visible, so positions are dense
//! and committed in order, aborted transactions leave no gap, and a reader paging by position
//! never misses anything. The lock is held only from the head update to the commit (a few
//! statements), and it needs nothing distributed engines lack (no LISTEN/NOTIFY, no session
//! advisory locks).
//!
//! Writes are set-based (`UNNEST` arrays), so a batch of thousands costs a handful of round
//! trips. A write locks every row its [`plan`](super::plan) reads (what it writes and what it
//! names) in one statement, in id order, so concurrent batches cannot deadlock each other and
//! an entity cannot be deleted while a write that names it commits. The reverse-reference and
//! identifier indexes, and how two writers of one identifier take turns, are in [`indexes`].

use std::collections::HashMap;

use async_trait::async_trait;
use bytes::Bytes;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use liner::model::{EntityId, EntityKind};
use tokio_postgres::{IsolationLevel, NoTls};

use super::identifiers::Duplicate;
use super::plan::{Current, Found, Lookup, plan};
use super::{
    CatalogStore, FeedPage, HistoryEntry, Idempotency, NewToken, Replay, Result, SnapshotChunk,
    SnapshotStart, StoreError, Stored, Write, WriteOp, WriteOutcome, parse_id, parse_revision,
    record_line, revision_json, snapshot_line,
};
use crate::auth::{Role, TokenInfo};
use crate::budget::{Budget, Decision};
use schema::{MIGRATIONS, Migration, backfill_identifiers, backfill_references};

mod indexes;
mod schema;

/// The PostgreSQL catalog store.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// The snapshot readers' own connections, so snapshots never take an ordinary request's.
    readers: Pool,
    epoch: String,
}

/// Rows fetched at a time while reading a snapshot chunk.
const BATCH: i32 = 100;

/// Snapshot chunks read at once; each holds its connection for one short read transaction.
const SNAPSHOT_READERS: usize = 2;

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl PgStore {
    /// Connects, migrates (one migrator at a time) and reads the epoch.
    pub async fn connect(url: &str) -> Result<Self> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| StoreError::Unavailable(e.to_string()))?;
        let pool = |size: usize| {
            let manager = Manager::from_config(
                config.clone(),
                NoTls,
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            );
            Pool::builder(manager)
                .max_size(size)
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .create_timeout(Some(std::time::Duration::from_secs(5)))
                .wait_timeout(Some(std::time::Duration::from_secs(10)))
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))
        };
        let readers = pool(SNAPSHOT_READERS)?;
        let pool = pool(16)?;
        let mut client = pool.get().await?;
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS liner_migrations (version integer PRIMARY KEY)",
            )
            .await?;
        let tx = client.transaction().await?;
        // Two instances starting together must not both migrate.
        tx.batch_execute("LOCK TABLE liner_migrations IN EXCLUSIVE MODE")
            .await?;
        let current: i32 = tx
            .query_one(
                "SELECT coalesce(max(version), 0) FROM liner_migrations",
                &[],
            )
            .await?
            .get(0);
        for (i, step) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            match step {
                Migration::Sql(sql) => tx.batch_execute(sql).await?,
                Migration::BackfillReferences => backfill_references(&tx).await?,
                Migration::BackfillIdentifiers => backfill_identifiers(&tx).await?,
            }
            tx.execute(
                "INSERT INTO liner_migrations (version) VALUES ($1)",
                &[&(i as i32 + 1)],
            )
            .await?;
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('epoch', $1) ON CONFLICT (key) DO NOTHING",
            &[&ulid::Ulid::new().to_string()],
        )
        .await?;
        let epoch: String = tx
            .query_one("SELECT value FROM meta WHERE key = 'epoch'", &[])
            .await?
            .get(0);
        tx.commit().await?;
        drop(client);
        Ok(PgStore {
            pool,
            readers,
            epoch,
        })
    }
}

fn stored(id: EntityId, row: &tokio_postgres::Row) -> Stored {
    Stored {
        id,
        version: row.get::<_, i64>("version") as u64,
        deleted: row.get("deleted"),
        data: row.get("data"),
    }
}

async fn read_replay(
    client: &impl deadpool_postgres::GenericClient,
    key: &str,
) -> Result<Option<Replay>> {
    let row = client
        .query_opt(
            "SELECT request_hash, status, body FROM idempotency WHERE key = $1",
            &[&key],
        )
        .await?;
    Ok(row.map(|r| Replay {
        request_hash: r.get(0),
        status: r.get::<_, i32>(1) as u16,
        body: r.get(2),
    }))
}

fn token_info(r: &tokio_postgres::Row) -> Result<TokenInfo> {
    let id: i64 = r.get("id");
    let corrupt = |reason: String| StoreError::Corrupt {
        what: format!("token {id}"),
        reason,
    };
    Ok(TokenInfo {
        id,
        name: r.get("name"),
        role: r
            .get::<_, String>("role")
            .parse::<Role>()
            .map_err(corrupt)?,
        parties: serde_json::from_str(r.get("parties")).map_err(|e| corrupt(e.to_string()))?,
        created_at: r.get("created_at"),
        revoked_at: r.get("revoked_at"),
    })
}

const TOKEN_COLUMNS: &str = "id, name, role, parties, created_at, revoked_at";

#[async_trait]
impl CatalogStore for PgStore {
    async fn epoch(&self) -> Result<String> {
        Ok(self.epoch.clone())
    }

    async fn head(&self) -> Result<u64> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached("SELECT position FROM feed_head")
            .await?;
        let row = client.query_one(&stmt, &[]).await?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    async fn get(&self, id: EntityId) -> Result<Option<Stored>> {
        let client = self.pool.get().await?;
        // Prepared once per connection: a plain query would cost a second round trip.
        let stmt = client
            .prepare_cached("SELECT version, deleted, data FROM entity WHERE id = $1")
            .await?;
        let row = client.query_opt(&stmt, &[&id.to_string()]).await?;
        Ok(row.map(|r| stored(id, &r)))
    }

    async fn history(&self, id: EntityId) -> Result<Vec<HistoryEntry>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT deleted, revision FROM revision WHERE entity_id = $1 ORDER BY version",
                &[&id.to_string()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(HistoryEntry {
                    deleted: r.get(0),
                    revision: parse_revision(r.get(1))?,
                })
            })
            .collect()
    }

    async fn write(
        &self,
        writes: Vec<Write>,
        idempotency: Option<Idempotency>,
    ) -> Result<WriteOutcome> {
        let mut client = self.pool.get().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .await?;
        if let Some(idem) = &idempotency
            && let Some(replay) = read_replay(&tx, &idem.key).await?
        {
            return Ok(WriteOutcome::Replay(replay));
        }

        // Every row the plan reads, locked in id order.
        let lookup = Lookup::of(&writes);
        let ids: Vec<String> = lookup.rows.iter().map(ToString::to_string).collect();
        let rows = tx
            .query(
                "SELECT id, version, deleted FROM entity WHERE id = ANY($1)
                 ORDER BY id FOR UPDATE",
                &[&ids],
            )
            .await?;
        let mut found = Found::default();
        for r in &rows {
            found.rows.insert(
                parse_id(r.get(0))?,
                Current {
                    version: r.get::<_, i64>(1) as u64,
                    deleted: r.get(2),
                },
            );
        }
        indexes::read(&tx, &lookup, &mut found).await?;
        let planned = match plan(&writes, &found) {
            Ok(p) => p,
            Err(refusal) => {
                let index = match refusal.outcome() {
                    Ok(outcome) => return Ok(outcome),
                    Err(index) => index,
                };
                // The same request's first attempt may have committed while this one waited
                // for its locks: its answer stands, not a 412 against its own change.
                if let Some(idem) = &idempotency
                    && let Some(replay) = read_replay(&tx, &idem.key).await?
                {
                    return Ok(WriteOutcome::Replay(replay));
                }
                drop(tx);
                let current = self.get(writes[index].id).await?;
                return Ok(WriteOutcome::Stale { index, current });
            }
        };

        let mut inserts: Vec<usize> = Vec::new();
        let mut updates: Vec<usize> = Vec::new();
        let mut versions = vec![0; writes.len()];
        let mut revisions = vec![String::new(); writes.len()];
        let mut records = Vec::with_capacity(writes.len());
        for p in &planned {
            let w = &writes[p.index];
            let revision = revision_json(&w.revision, p.version)?;
            let data = match &w.op {
                WriteOp::Upsert(d) => Some(d.as_str()),
                WriteOp::Delete => None,
            };
            records.push(record_line(w.id, p.version, data, &revision));
            if p.insert {
                inserts.push(p.index);
            } else {
                updates.push(p.index);
            }
            versions[p.index] = p.version;
            revisions[p.index] = revision;
        }

        let column = |set: &[usize]| {
            let kinds: Vec<&str> = set.iter().map(|&i| writes[i].id.kind().as_str()).collect();
            let ids: Vec<String> = set.iter().map(|&i| writes[i].id.to_string()).collect();
            let versions_: Vec<i64> = set.iter().map(|&i| to_i64(versions[i])).collect();
            let deleted: Vec<bool> = set
                .iter()
                .map(|&i| matches!(writes[i].op, WriteOp::Delete))
                .collect();
            let data: Vec<Option<&str>> = set
                .iter()
                .map(|&i| match &writes[i].op {
                    WriteOp::Upsert(d) => Some(d.as_str()),
                    WriteOp::Delete => None,
                })
                .collect();
            let revs: Vec<&str> = set.iter().map(|&i| revisions[i].as_str()).collect();
            (kinds, ids, versions_, deleted, data, revs)
        };
        if !inserts.is_empty() {
            let (kinds, ids, v, deleted, data, revs) = column(&inserts);
            let n = tx
                .execute(
                    "INSERT INTO entity (kind, id, version, deleted, data, revision)
                     SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::boolean[],
                                          $5::text[], $6::text[])
                     ON CONFLICT (id) DO NOTHING",
                    &[&kinds, &ids, &v, &deleted, &data, &revs],
                )
                .await?;
            if n as usize != inserts.len() {
                // Someone created one of these ids after we looked: report it as stale.
                let index = inserts[0];
                drop(tx);
                let current = self.get(writes[index].id).await?;
                return Ok(WriteOutcome::Stale { index, current });
            }
        }
        // Later writes to the same id in one batch overwrite earlier ones in order.
        for &i in &updates {
            let (_, ids, v, deleted, data, revs) = column(&[i]);
            tx.execute(
                "UPDATE entity SET version = $2, deleted = $3, data = $4, revision = $5
                 WHERE id = $1",
                &[&ids[0], &v[0], &deleted[0], &data[0], &revs[0]],
            )
            .await?;
        }
        let all: Vec<usize> = planned.iter().map(|p| p.index).collect();
        let (_, ids, v, deleted, _, revs) = column(&all);
        tx.execute(
            "INSERT INTO revision (entity_id, version, deleted, revision)
             SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::boolean[], $4::text[])",
            &[&ids, &v, &deleted, &revs],
        )
        .await?;
        indexes::replace(&tx, &planned).await?;

        // Positions last: from here to the commit this transaction holds the head.
        let n = to_i64(records.len() as u64);
        let head: i64 = tx
            .query_one(
                "UPDATE feed_head SET position = position + $1 RETURNING position",
                &[&n],
            )
            .await?
            .get(0);
        let positions: Vec<i64> = (head - n + 1..=head).collect();
        tx.execute(
            "INSERT INTO change (position, record) SELECT * FROM UNNEST($1::bigint[], $2::text[])",
            &[&positions, &records],
        )
        .await?;
        if let Some(idem) = &idempotency {
            let inserted = tx
                .execute(
                    "INSERT INTO idempotency (key, request_hash, status, body)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING",
                    &[
                        &idem.key,
                        &idem.request_hash,
                        &i32::from(idem.status),
                        &idem.body,
                    ],
                )
                .await?;
            if inserted == 0 {
                // The same key committed concurrently: its answer stands, ours is undone.
                drop(tx);
                let client = self.pool.get().await?;
                if let Some(replay) = read_replay(&client, &idem.key).await? {
                    return Ok(WriteOutcome::Replay(replay));
                }
                return Err(StoreError::Database(
                    "idempotency key vanished during a concurrent write".into(),
                ));
            }
        }
        tx.commit().await?;
        Ok(WriteOutcome::Committed {
            versions,
            head: head as u64,
        })
    }

    async fn spend(&self, key: &str, budget: Budget, now: i64) -> Result<Decision> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // The row exists before it is locked, so two first requests of a pair cannot both
        // read nothing.
        tx.execute(
            "INSERT INTO budget (key, tat) VALUES ($1, 0) ON CONFLICT (key) DO NOTHING",
            &[&key],
        )
        .await?;
        let stored: i64 = tx
            .query_one("SELECT tat FROM budget WHERE key = $1 FOR UPDATE", &[&key])
            .await?
            .get(0);
        let decision = crate::budget::decide(budget, (stored > 0).then_some(stored), now);
        if let Decision::Allow { tat } = decision {
            tx.execute("UPDATE budget SET tat = $2 WHERE key = $1", &[&key, &tat])
                .await?;
        }
        tx.commit().await?;
        Ok(decision)
    }

    async fn replay(&self, key: &str) -> Result<Option<Replay>> {
        let client = self.pool.get().await?;
        read_replay(&client, key).await
    }

    async fn changes(&self, since: u64, limit: usize) -> Result<FeedPage> {
        let client = self.pool.get().await?;
        let page_stmt = client
            .prepare_cached(
                "SELECT position, record FROM change WHERE position > $1 ORDER BY position LIMIT $2",
            )
            .await?;
        let head_stmt = client
            .prepare_cached("SELECT position FROM feed_head")
            .await?;
        let rows = client
            .query(&page_stmt, &[&to_i64(since), &to_i64(limit as u64)])
            .await?;
        // Read after the page, so the head is never behind what the page holds.
        let head: i64 = client.query_one(&head_stmt, &[]).await?.get(0);
        let mut page = FeedPage {
            body: String::with_capacity(rows.len() * 800),
            count: rows.len(),
            last: since,
            head: head as u64,
        };
        for r in rows {
            page.last = r.get::<_, i64>(0) as u64;
            page.body.push_str(r.get::<_, &str>(1));
        }
        Ok(page)
    }

    async fn snapshot_start(&self, after: Option<EntityId>) -> Result<Option<SnapshotStart>> {
        let mut client = self.readers.get().await?;
        let read = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let from: i64 = match after {
            None => 0,
            Some(id) => match read
                .query_opt("SELECT key FROM entity WHERE id = $1", &[&id.to_string()])
                .await?
            {
                Some(r) => r.get(0),
                None => return Ok(None),
            },
        };
        let head: i64 = read
            .query_one("SELECT position FROM feed_head", &[])
            .await?
            .get(0);
        let count: i64 = read
            .query_one("SELECT count(*) FROM entity WHERE key > $1", &[&from])
            .await?
            .get(0);
        read.commit().await?;
        Ok(Some(SnapshotStart {
            from,
            count: count as u64,
            head: head as u64,
        }))
    }

    async fn snapshot_chunk(
        &self,
        from: i64,
        history: bool,
        bytes: usize,
    ) -> Result<SnapshotChunk> {
        let mut client = self.readers.get().await?;
        let read = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let head: i64 = read
            .query_one("SELECT position FROM feed_head", &[])
            .await?
            .get(0);
        let portal = read
            .bind(
                "SELECT kind, id, version, data, revision, key FROM entity WHERE key > $1 ORDER BY key",
                &[&from],
            )
            .await?;
        let mut chunk = SnapshotChunk {
            last: from,
            head: head as u64,
            end: false,
            ..SnapshotChunk::default()
        };
        let mut buf = Vec::with_capacity(bytes + 16 * 1024);
        // At least one batch a chunk, however small `bytes` is; small batches, so a chunk
        // with long histories does not run far past `bytes`.
        while chunk.lines == 0 || buf.len() < bytes {
            let rows = read.query_portal(&portal, BATCH).await?;
            if rows.is_empty() {
                chunk.end = true;
                break;
            }
            // Earlier revisions of these entities past their first version.
            let mut earlier: HashMap<String, Vec<(i64, String)>> = HashMap::new();
            if history {
                let edited: Vec<&str> = rows
                    .iter()
                    .filter(|r| r.get::<_, i64>(2) > 1)
                    .map(|r| r.get::<_, &str>(1))
                    .collect();
                if !edited.is_empty() {
                    for r in read
                        .query(
                            "SELECT entity_id, version, revision FROM revision
                             WHERE entity_id = ANY($1) ORDER BY entity_id, version",
                            &[&edited],
                        )
                        .await?
                    {
                        earlier
                            .entry(r.get(0))
                            .or_default()
                            .push((r.get(1), r.get(2)));
                    }
                }
            }
            for r in &rows {
                let version = r.get::<_, i64>(2);
                let older: Vec<&[u8]> = earlier
                    .get(r.get::<_, &str>(1))
                    .into_iter()
                    .flatten()
                    .filter(|(v, _)| *v < version)
                    .map(|(_, rev)| rev.as_bytes())
                    .collect();
                snapshot_line(
                    r.get(0),
                    r.get(1),
                    version as u64,
                    r.get::<_, Option<&str>>(3).map(str::as_bytes),
                    r.get::<_, &str>(4).as_bytes(),
                    &older,
                    &mut buf,
                );
                chunk.last = r.get(5);
                chunk.lines += 1;
            }
            if rows.len() < BATCH as usize {
                chunk.end = true;
                break;
            }
        }
        read.commit().await?;
        chunk.body = Bytes::from(buf);
        Ok(chunk)
    }

    async fn counts(&self) -> Result<Vec<(EntityKind, u64)>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT kind, count(*) FROM entity WHERE NOT deleted GROUP BY kind ORDER BY kind",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| super::kind_from_str(r.get(0)).map(|k| (k, r.get::<_, i64>(1) as u64)))
            .collect())
    }

    async fn identifier_duplicates(&self) -> Result<Vec<Duplicate>> {
        let client = self.pool.get().await?;
        indexes::duplicates(&client).await
    }

    async fn create_token(&self, token: NewToken) -> Result<i64> {
        let client = self.pool.get().await?;
        let parties = serde_json::to_string(&token.parties).map_err(|e| StoreError::Corrupt {
            what: "token parties".into(),
            reason: e.to_string(),
        })?;
        let row = client
            .query_one(
                "INSERT INTO token (name, role, parties, hash, created_at)
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[
                    &token.name,
                    &token.role.as_str(),
                    &parties,
                    &token.hash,
                    &now(),
                ],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenInfo>> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM token WHERE hash = $1 AND revoked_at IS NULL"
            ))
            .await?;
        let row = client.query_opt(&stmt, &[&hash]).await?;
        row.as_ref().map(token_info).transpose()
    }

    async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!("SELECT {TOKEN_COLUMNS} FROM token ORDER BY id"),
                &[],
            )
            .await?;
        rows.iter().map(token_info).collect()
    }

    async fn revoke_token(&self, id: i64) -> Result<bool> {
        let client = self.pool.get().await?;
        let n = client
            .execute(
                "UPDATE token SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&id, &now()],
            )
            .await?;
        Ok(n == 1)
    }
}
