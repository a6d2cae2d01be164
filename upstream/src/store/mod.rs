//! The canonical store behind the service: one [`CatalogStore`] contract, two backends.
//!
//! The contract is deliberately small and transactional: reads of one entity, its history, a
//! page of the change feed, a snapshot in chunks each consistent at its own head, and [`CatalogStore::write`], which
//! applies a batch of already validated writes atomically: compare-and-swap on versions,
//! reference checks, revision, feed record and idempotency record in the same transaction.
//! Everything a write needs to decide happens outside the backends, once: patching,
//! validation and diffs above the store in [`crate::catalog`], and what a batch does to the
//! rows it finds (versions, reference checks) in [`plan`], which both backends execute; they
//! differ only in SQL. Both keep a reverse-reference index (who names whom) in the same
//! transaction as each write, so a delete of an entity still named is refused with the
//! names, and later work (party merges, one-call metadata) can ask it; and an index of the
//! identifiers each live entity holds ([`identifiers`]), so an ISRC, ISWC, ISNI or IPI another
//! entity holds is refused with the holder.
//!
//! Feed positions are dense and assigned in commit order by both backends (see each backend
//! for how), so a reader paging by position never skips a change that commits late.

pub mod identifiers;
pub mod plan;
pub mod postgres;
pub mod sqlite;

use async_trait::async_trait;
use bytes::Bytes;
use liner::model::{EntityId, EntityKind, Revision};

use crate::auth::{Role, TokenInfo};
use identifiers::{Duplicate, Held, Scheme};

/// What a backend can fail with. Handlers turn these into 500s (or 503 when unavailable);
/// expected outcomes such as a stale version are not errors but [`WriteOutcome`]s.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(String),
    #[error("stored data does not parse ({what}): {reason}")]
    Corrupt { what: String, reason: String },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        if e.is_closed() {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Database(e.to_string())
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// One entity as stored: its current version, and its data unless it is deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub id: EntityId,
    pub version: u64,
    pub deleted: bool,
    /// Canonical JSON of the entity; `None` for a tombstone.
    pub data: Option<String>,
}

impl Stored {
    /// The row as a write plan reads it.
    pub fn current(&self) -> plan::Current {
        plan::Current {
            version: self.version,
            deleted: self.deleted,
        }
    }
}

/// What a write expects to find (see [`plan`] for the rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The id must not exist yet (create).
    Absent,
    /// The entity must be live at exactly this version (`If-Match`).
    Version(u64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    /// New canonical JSON for the entity.
    Upsert(String),
    Delete,
}

/// A validated write. The plan gives it its version ([`Expect::next_version`]) and the store
/// its feed position.
#[derive(Debug, Clone)]
pub struct Write {
    pub id: EntityId,
    pub expect: Expect,
    pub op: WriteOp,
    /// Entities that must exist (and not be deleted) for the write to be accepted.
    pub references: Vec<EntityId>,
    /// The identifiers the new data holds (none for a delete), which no other live entity may
    /// hold unless this one already did.
    pub identifiers: Vec<Held>,
    /// The revision without its version, which the store fills in.
    pub revision: Revision,
}

/// An idempotency record written in the same transaction as the write it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub key: String,
    /// A hash of who asked and what, so a key reused for another request is refused.
    pub request_hash: String,
    pub status: u16,
    /// The response body to give again.
    pub body: String,
}

/// A stored response for an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

/// How a batch of writes ended. Anything but `Committed` means nothing was written.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOutcome {
    /// Every write landed; versions in order, and the feed head after the commit.
    Committed { versions: Vec<u64>, head: u64 },
    /// The idempotency key was already used: its first answer.
    Replay(Replay),
    /// A write expected a version (or absence) and found something else.
    Stale {
        index: usize,
        current: Option<Stored>,
    },
    /// A write names entities that do not exist or are deleted.
    MissingReferences { index: usize, ids: Vec<EntityId> },
    /// A delete of an entity that these live entities still name.
    StillReferenced { index: usize, by: Vec<EntityId> },
    /// A write's data holds an identifier that another live entity (`holder`, the first by
    /// id when several do) already holds.
    IdentifierTaken {
        index: usize,
        scheme: Scheme,
        value: String,
        holder: EntityId,
    },
}

/// One revision of an entity, as history shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub revision: Revision,
    /// Whether this revision deleted the entity.
    pub deleted: bool,
}

/// A page of the change feed: NDJSON lines (each ending in `\n`), built into one buffer
/// because pages of 10,000 records are the common case, and the last position.
#[derive(Debug, Clone, Default)]
pub struct FeedPage {
    pub body: String,
    /// How many lines `body` holds.
    pub count: usize,
    /// The position of the last line, or the requested `since` when the page is empty.
    pub last: u64,
    /// The feed head when the page was read.
    pub head: u64,
}

/// Where a snapshot starts (see [`CatalogStore::snapshot_start`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotStart {
    /// The creation key to read after.
    pub from: i64,
    /// How many records the catalog held past `from` at `head`.
    pub count: u64,
    /// The feed head when the snapshot started: every chunk is consistent at this head or a
    /// later one, so a client tails the feed from here.
    pub head: u64,
}

/// Part of a snapshot, read in one short read transaction.
#[derive(Debug, Clone, Default)]
pub struct SnapshotChunk {
    /// NDJSON record lines.
    pub body: Bytes,
    pub lines: u64,
    /// The creation key of the last record in `body` (the `from` asked for when empty).
    pub last: i64,
    /// The feed head this chunk is consistent at.
    pub head: u64,
    /// No records past this chunk.
    pub end: bool,
}

/// A token as stored: never the token itself, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    pub parties: Vec<liner::ids::PartyId>,
    pub hash: String,
}

/// What the service needs from a canonical store.
#[async_trait]
pub trait CatalogStore: Send + Sync + 'static {
    /// The epoch of this store's history; cursors from another epoch are meaningless.
    async fn epoch(&self) -> Result<String>;
    /// The position of the last committed change.
    async fn head(&self) -> Result<u64>;
    async fn get(&self, id: EntityId) -> Result<Option<Stored>>;
    async fn history(&self, id: EntityId) -> Result<Vec<HistoryEntry>>;
    /// Applies every write or none, with the idempotency record when given.
    async fn write(
        &self,
        writes: Vec<Write>,
        idempotency: Option<Idempotency>,
    ) -> Result<WriteOutcome>;
    /// The stored answer for an idempotency key, if any.
    async fn replay(&self, key: &str) -> Result<Option<Replay>>;
    /// Change records after `since`, at most `limit`, in position order.
    async fn changes(&self, since: u64, limit: usize) -> Result<FeedPage>;
    /// Where a snapshot of every entity (tombstones included, in creation order) starts: after
    /// `after` when given, so a client cut off half-way resumes instead of starting again.
    /// `None` when `after` names no entity.
    async fn snapshot_start(&self, after: Option<EntityId>) -> Result<Option<SnapshotStart>>;
    /// The records after creation key `from` until about `bytes` of lines, as change records
    /// consistent at one head, read in one short read transaction on connections of the
    /// snapshot readers' own (so slow clients never hold a read transaction or an ordinary
    /// request's connection); with `history`, each record carries the entity's earlier
    /// revisions.
    async fn snapshot_chunk(&self, from: i64, history: bool, bytes: usize)
    -> Result<SnapshotChunk>;
    async fn counts(&self) -> Result<Vec<(EntityKind, u64)>>;
    /// Spends one request of the budget kept under `key` at `now` (microseconds), deciding by
    /// [`crate::budget::decide`] in one transaction, so instances sharing the store share it.
    async fn spend(
        &self,
        key: &str,
        budget: crate::budget::Budget,
        now: i64,
    ) -> Result<crate::budget::Decision>;
    /// Identifier values more than one live entity holds (stored before they were refused),
    /// by scheme and value: what an operator has to fix. Nothing is changed.
    async fn identifier_duplicates(&self) -> Result<Vec<Duplicate>>;

    async fn create_token(&self, token: NewToken) -> Result<i64>;
    /// The live (not revoked) token with this hash.
    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenInfo>>;
    async fn list_tokens(&self) -> Result<Vec<TokenInfo>>;
    /// Revokes a token by id; false when there is no such live token.
    async fn revoke_token(&self, id: i64) -> Result<bool>;
}

/// The feed record line for one write, as both backends store it.
pub(crate) fn record_line(
    id: EntityId,
    version: u64,
    data: Option<&str>,
    revision: &str,
) -> String {
    let mut out = Vec::with_capacity(data.map_or(0, str::len) + revision.len() + 96);
    snapshot_line(
        id.kind().as_str(),
        &id.to_string(),
        version,
        data.map(str::as_bytes),
        revision.as_bytes(),
        &[],
        &mut out,
    );
    // Only &str pieces went in, so the bytes are UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// A snapshot line for a stored entity (with the revision that made its current version, and
/// the earlier ones in `history` when asked for). `data` and the revisions are stored JSON,
/// copied as they are: checking them again as UTF-8 took a twentieth of serving a snapshot,
/// and the reader parses them anyway.
pub(crate) fn snapshot_line(
    kind: &str,
    id: &str,
    version: u64,
    data: Option<&[u8]>,
    revision: &[u8],
    history: &[&[u8]],
    out: &mut Vec<u8>,
) {
    let op = if data.is_some() { "upsert" } else { "delete" };
    for piece in [
        "{\"entity\":\"",
        kind,
        "\",\"id\":\"",
        id,
        "\",\"op\":\"",
        op,
        "\",\"version\":",
        itoa::Buffer::new().format(version),
    ] {
        out.extend_from_slice(piece.as_bytes());
    }
    if let Some(d) = data {
        out.extend_from_slice(b",\"data\":");
        out.extend_from_slice(d);
    }
    out.extend_from_slice(b",\"revision\":");
    out.extend_from_slice(revision);
    if !history.is_empty() {
        out.extend_from_slice(b",\"history\":[");
        for (i, r) in history.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(r);
        }
        out.push(b']');
    }
    out.extend_from_slice(b"}\n");
}

/// The revision JSON for a write that got `version`.
pub(crate) fn revision_json(revision: &Revision, version: u64) -> Result<String> {
    let mut r = revision.clone();
    r.version = version;
    serde_json::to_string(&r).map_err(|e| StoreError::Corrupt {
        what: "revision".into(),
        reason: e.to_string(),
    })
}

pub(crate) fn parse_revision(json: &str) -> Result<Revision> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        what: "revision".into(),
        reason: e.to_string(),
    })
}

pub(crate) fn parse_id(s: &str) -> Result<EntityId> {
    s.parse()
        .map_err(|e: liner::ids::IdError| StoreError::Corrupt {
            what: format!("id {s}"),
            reason: e.to_string(),
        })
}

/// The ids a stored entity names (for filling the reverse-reference index).
pub(crate) fn stored_references(kind: &str, id: &str, data: Option<&str>) -> Result<Vec<EntityId>> {
    Ok(stored_entity(kind, id, data)?
        .map(|e| e.references())
        .unwrap_or_default())
}

/// A stored entity decoded (`None` for a tombstone), for backfilling the indexes.
pub(crate) fn stored_entity(
    kind: &str,
    id: &str,
    data: Option<&str>,
) -> Result<Option<liner::model::Entity>> {
    let Some(data) = data else {
        return Ok(None);
    };
    let kind = kind_from_str(kind).ok_or_else(|| StoreError::Corrupt {
        what: format!("entity {id}"),
        reason: format!("unknown kind {kind:?}"),
    })?;
    let entity = liner::model::Entity::from_json(kind, data).map_err(|(field, rule)| {
        StoreError::Corrupt {
            what: format!("entity {id}"),
            reason: format!("{field}: {rule}"),
        }
    })?;
    Ok(Some(entity))
}

pub(crate) fn kind_from_str(s: &str) -> Option<EntityKind> {
    [
        EntityKind::Party,
        EntityKind::Recording,
        EntityKind::Work,
        EntityKind::Release,
    ]
    .into_iter()
    .find(|k| k.as_str() == s)
}

/// Picks a backend from a `--db` URL: `sqlite:PATH` or `postgres://…`.
pub async fn open(url: &str) -> anyhow::Result<std::sync::Arc<dyn CatalogStore>> {
    use anyhow::Context as _;
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            anyhow::bail!("--db {url}: a sqlite URL needs a path, e.g. sqlite:./catalog.db");
        }
        let store = sqlite::SqliteStore::open(path)
            .with_context(|| format!("opening the SQLite catalog at {path}"))?;
        Ok(std::sync::Arc::new(store))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = postgres::PgStore::connect(url)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {}", redact_url(url)))?;
        Ok(std::sync::Arc::new(store))
    } else {
        anyhow::bail!(
            "--db {}: unsupported database URL; use sqlite:PATH (embedded) or postgres://USER@HOST/DB",
            redact_url(url)
        )
    }
}

/// A URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
