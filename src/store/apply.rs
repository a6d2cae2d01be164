//! Applying change batches: entities, revisions, search-journal rows and the cursor in one
//! transaction, idempotently.
//!
//! A change takes effect only when its version is higher than the stored one, so a batch
//! replayed any number of times, or in any order, ends in the same state; its revision is kept
//! even when the change itself is stale, so history does not depend on arrival order either.
//! Records are fully validated before anything is written (decoding builds validated types),
//! so a record is either written whole or quarantined whole.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;

use super::batched::Batched;
use super::decoded::DecodedPage;
use super::journal::{CreditKey, EntityDoc, RecordingSource};
use super::{Keys, Result, Store, StoreError, body, kind_code, links, quarantine, table};
use crate::ids::RecordingId;
use crate::model::{Change, ChangeOp, Cursor, DecodeError, Entity, EntityId, EntityKind};

/// What one apply did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// Changes that took effect.
    pub applied: usize,
    /// Changes ignored because the stored version was the same or newer.
    pub stale: usize,
    /// Records refused and kept in the quarantine with their reason.
    pub quarantined: usize,
}

impl std::ops::AddAssign for ApplyReport {
    fn add_assign(&mut self, o: Self) {
        self.applied += o.applied;
        self.stale += o.stale;
        self.quarantined += o.quarantined;
    }
}

/// Popularity scores that arrive with a batch, by recording.
pub(crate) type Scores = HashMap<RecordingId, f32>;

impl Store {
    /// Applies validated changes and moves the cursor, all in one transaction.
    pub fn apply(&mut self, batch: &[Change], cursor: Option<&Cursor>) -> Result<ApplyReport> {
        self.apply_with_popularity(batch, &[], cursor)
    }

    /// Like [`Store::apply`], with popularity scores written in the same transaction: a
    /// recording that arrives with its score is indexed once, not once for the change and
    /// again for the score.
    pub fn apply_with_popularity(
        &mut self,
        batch: &[Change],
        popularity: &[(RecordingId, f32)],
        cursor: Option<&Cursor>,
    ) -> Result<ApplyReport> {
        self.apply_batch(&[], batch, popularity, cursor)
    }

    /// Applies a page of NDJSON change records as the feed delivers them: lines that do not
    /// parse or validate are quarantined with their reason, the rest are applied, and the
    /// cursor moves, all in one transaction.
    pub fn apply_ndjson(&mut self, ndjson: &str, cursor: Option<&Cursor>) -> Result<ApplyReport> {
        self.apply_page(&DecodedPage::parse(ndjson), cursor)
    }

    /// Applies a page decoded beforehand (see [`DecodedPage`]), as [`Store::apply_ndjson`].
    pub fn apply_page(
        &mut self,
        page: &DecodedPage,
        cursor: Option<&Cursor>,
    ) -> Result<ApplyReport> {
        self.apply_batch(&page.refused, &page.changes, &[], cursor)
    }

    /// The one transaction every apply is: quarantine the refused records, apply the changes,
    /// write the scores that came without a change, move the cursor.
    fn apply_batch(
        &mut self,
        refused: &[(DecodeError, String)],
        changes: &[Change],
        popularity: &[(RecordingId, f32)],
        cursor: Option<&Cursor>,
    ) -> Result<ApplyReport> {
        let mut scores: Scores = popularity.iter().copied().collect();
        let collect = self.handoff.is_some();
        let (report, docs) = self.write(|tx, keys| {
            let mut report = ApplyReport::default();
            for (err, raw) in refused {
                tracing::warn!(record = %err.record, field = %err.field, rule = %err.rule, "quarantined");
                quarantine::insert(tx, err, raw)?;
                report.quarantined += 1;
            }
            let mut batched = Batched::new(collect);
            for change in changes {
                apply_one(tx, keys, change, &mut scores, &mut batched, &mut report)?;
            }
            let docs = batched.flush(tx)?;
            // Scores for recordings this batch did not write.
            for (id, score) in scores.drain() {
                set_score(tx, keys, id, score)?;
            }
            set_cursor(tx, cursor)?;
            Ok((report, docs))
        })?;
        self.hand_off(docs);
        Ok(report)
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction; on any failure nothing is kept, including
    /// the id→key cache entries the failed transaction added.
    pub(crate) fn write<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>, &mut Keys) -> Result<T>,
    ) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx, &mut self.keys).and_then(|v| tx.commit().map(|_| v).map_err(Into::into));
        if out.is_err() {
            self.keys.clear();
            // Its inserts were rolled back, but their links were gathered.
            self.keys.gathered = None;
        }
        out
    }
}

fn set_cursor(tx: &Transaction<'_>, cursor: Option<&Cursor>) -> Result<()> {
    if let Some(c) = cursor {
        let json = serde_json::to_string(c).map_err(|source| StoreError::Corrupt {
            what: "cursor".into(),
            source,
        })?;
        tx.prepare_cached(
            "INSERT INTO meta (key, value) VALUES ('cursor', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )?
        .execute([json])?;
    }
    Ok(())
}

fn apply_one(
    tx: &Transaction<'_>,
    keys: &mut Keys,
    change: &Change,
    scores: &mut Scores,
    batched: &mut Batched,
    report: &mut ApplyReport,
) -> Result<()> {
    let kind = change.id.kind();
    // Fast path: an entity this mirror has never seen is inserted without a lookup first
    // (the insert itself says whether the id was new).
    let inserted = match (&change.op, keys.contains_key(&change.id)) {
        (ChangeOp::Upsert(entity), false) => insert_new(tx, keys, entity, change.version, scores)?,
        _ => None,
    };
    // The parties of a new row, as it was packed: what its handed-over document names.
    let (key, parties) = match inserted {
        Some((key, parties)) => (key, Some(parties)),
        None => {
            let existing = lookup(tx, keys, change.id)?;
            if let Some((key, stored)) = existing
                && stored >= change.version
            {
                revisions(tx, keys, batched, change, key)?;
                report.stale += 1;
                return Ok(());
            }
            let key = match &change.op {
                ChangeOp::Upsert(entity) => {
                    update_existing(tx, keys, entity, change.version, existing, scores)?
                }
                ChangeOp::Delete => tombstone(tx, keys, change.id, change.version, existing)?,
            };
            (key, None)
        }
    };
    revisions(tx, keys, batched, change, key)?;
    if matches!(kind, EntityKind::Party | EntityKind::Recording) {
        let doc = match (&change.op, parties) {
            (ChangeOp::Upsert(entity), Some(parties)) if batched.collect => {
                Some(new_doc(entity, parties, scores))
            }
            _ => None,
        };
        batched.journal(kind, key, doc);
    }
    if let ChangeOp::Upsert(Entity::Recording(r)) = &change.op {
        // Written with the row; not again at the end of the batch.
        scores.remove(&r.id);
    }
    report.applied += 1;
    Ok(())
}

/// Queues a change's revisions: the one that made its version and the earlier ones it brought
/// (kept even when the change itself is stale, so history does not depend on arrival order).
fn revisions(
    tx: &Transaction<'_>,
    keys: &mut Keys,
    batched: &mut Batched,
    change: &Change,
    key: i64,
) -> Result<()> {
    let kind = change.id.kind();
    for rev in &change.history {
        batched.revision(tx, keys, kind, key, rev.version, rev)?;
    }
    if let Some(rev) = &change.revision {
        batched.revision(tx, keys, kind, key, change.version, rev)?;
    }
    Ok(())
}

/// The document the index would read back for an entity just inserted as a new row, given
/// the party keys its credits were packed with (in credit order): its popularity is the
/// batch's score or 0, as the insert wrote it.
fn new_doc(entity: &Entity, parties: Vec<i64>, scores: &Scores) -> EntityDoc {
    match entity {
        Entity::Recording(r) => EntityDoc::Recording(RecordingSource {
            id: r.id,
            title: r.title.clone(),
            artist: r.display_artist(),
            isrc: r.isrc.as_ref().map(|i| i.as_str().to_owned()),
            popularity: scores.get(&r.id).copied().unwrap_or(0.0),
            credits: r
                .credits
                .iter()
                .zip(parties)
                .map(|(c, party_key)| CreditKey {
                    party_key,
                    role: c.role,
                })
                .collect(),
        }),
        Entity::Party(p) => EntityDoc::Party(p.clone()),
        // Not indexed (never journaled).
        Entity::Work(_) | Entity::Release(_) => EntityDoc::Gone,
    }
}

/// The stored key and version of an entity, if any row exists (placeholders have version 0).
fn lookup(tx: &Transaction<'_>, keys: &mut Keys, id: EntityId) -> Result<Option<(i64, u64)>> {
    let t = table(id.kind());
    if let Some(&key) = keys.get(&id) {
        let version: Option<u64> = tx
            .prepare_cached(&format!("SELECT version FROM {t} WHERE key = ?1"))?
            .query_row([key], |r| r.get(0))
            .optional()?;
        if let Some(v) = version {
            return Ok(Some((key, v)));
        }
        keys.remove(&id);
    }
    let found: Option<(i64, u64)> = tx
        .prepare_cached(&format!("SELECT key, version FROM {t} WHERE id = ?1"))?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((key, _)) = found {
        keys.insert(id, key);
    }
    Ok(found)
}

/// The key of a referenced entity, creating a placeholder row (version 0) when the reference
/// arrives before the entity itself.
pub(crate) fn key_for(tx: &Transaction<'_>, keys: &mut Keys, id: EntityId) -> Result<i64> {
    if let Some(&key) = keys.get(&id) {
        return Ok(key);
    }
    let t = table(id.kind());
    let found: Option<i64> = tx
        .prepare_cached(&format!("SELECT key FROM {t} WHERE id = ?1"))?
        .query_row([id], |r| r.get(0))
        .optional()?;
    let key = match found {
        Some(k) => k,
        None => {
            tx.prepare_cached(&format!("INSERT INTO {t} (id, version) VALUES (?1, 0)"))?
                .execute([id])?;
            tx.last_insert_rowid()
        }
    };
    keys.insert(id, key);
    Ok(key)
}

const INSERT_PARTY: &str =
    "INSERT INTO party (id, version, name, data, extra) VALUES (?1, ?2, ?3, ?4, ?5)";
const UPDATE_PARTY: &str =
    "UPDATE party SET version = ?2, deleted = 0, name = ?3, data = ?4, extra = ?5 WHERE key = ?1";
const INSERT_RECORDING: &str = "INSERT INTO recording (id, version, isrc, title, data,
    popularity, credits, extra) VALUES (?1, ?2, ?3, ?4, ?5, coalesce(?6, 0), ?7, ?8)";
const UPDATE_RECORDING: &str = "UPDATE recording SET version = ?2, deleted = 0, isrc = ?3,
    title = ?4, data = ?5, popularity = coalesce(?6, popularity), credits = ?7, extra = ?8
    WHERE key = ?1";
const INSERT_WORK: &str = "INSERT INTO work (id, version, iswc, title, writers, extra)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const UPDATE_WORK: &str = "UPDATE work SET version = ?2, deleted = 0, iswc = ?3, title = ?4,
    writers = ?5, extra = ?6 WHERE key = ?1";
const INSERT_RELEASE: &str =
    "INSERT INTO release (id, version, upc, title, data, extra) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const UPDATE_RELEASE: &str = "UPDATE release SET version = ?2, deleted = 0, upc = ?3, title = ?4,
    data = ?5, extra = ?6 WHERE key = ?1";

/// Which row an entity write targets: a new one by id, or an existing one by key.
enum Target {
    Insert(EntityId),
    Update(i64),
}

/// A recording's credits or a work's writers as its row keeps them, and the parties they
/// name.
#[derive(Default)]
struct Packed {
    bytes: Option<Vec<u8>>,
    parties: Vec<i64>,
}

fn pack(tx: &Transaction<'_>, keys: &mut Keys, entity: &Entity) -> Result<Packed> {
    Ok(match entity {
        Entity::Recording(r) => {
            let mut credits = Vec::with_capacity(r.credits.len());
            for c in &r.credits {
                credits.push(body::KeyedCredit {
                    party: key_for(tx, keys, EntityId::Party(c.party))?,
                    role: c.role.code(),
                    instrument: c.instrument.clone(),
                    credited_as: c.credited_as.clone(),
                });
            }
            Packed {
                bytes: Some(body::credits_packed(&credits)?),
                parties: credits.iter().map(|c| c.party).collect(),
            }
        }
        Entity::Work(w) => {
            let mut writers = Vec::with_capacity(w.writers.as_slice().len());
            for wr in w.writers.as_slice() {
                writers.push(body::KeyedWriter {
                    party: key_for(tx, keys, EntityId::Party(wr.party))?,
                    role: wr.role.code(),
                    share_bp: wr.share.map(|s| s.get()),
                });
            }
            Packed {
                bytes: Some(body::writers_packed(&writers)?),
                parties: writers.iter().map(|w| w.party).collect(),
            }
        }
        Entity::Party(_) | Entity::Release(_) => Packed::default(),
    })
}

/// Writes an entity's own row (with its packed credits or writers, not its tracks) with static
/// SQL per kind: building SQL or boxing values per row showed up in profiles of bulk applies.
fn write_row(
    tx: &Transaction<'_>,
    entity: &Entity,
    version: u64,
    scores: &Scores,
    target: Target,
    packed: &Packed,
) -> Result<(), WriteRowError> {
    let (insert, first): (bool, &dyn rusqlite::ToSql) = match &target {
        Target::Insert(id) => (true, id),
        Target::Update(key) => (false, key),
    };
    let sql = |i: &'static str, u: &'static str| if insert { i } else { u };
    // Members this build does not know, kept beside the row (NULL nearly always).
    let extra = crate::model::unknown::gather(entity);
    match entity {
        Entity::Party(p) => {
            let data = body::party_body(p)?;
            tx.prepare_cached(sql(INSERT_PARTY, UPDATE_PARTY))?
                .execute(params![first, version, p.name, data, extra])?;
        }
        Entity::Recording(r) => {
            let data = body::recording_body(r)?;
            let score = scores.get(&r.id).map(|s| f64::from(*s));
            tx.prepare_cached(sql(INSERT_RECORDING, UPDATE_RECORDING))?
                .execute(params![
                    first,
                    version,
                    r.isrc.as_ref().map(|i| i.as_str()),
                    r.title,
                    data,
                    score,
                    packed.bytes,
                    extra
                ])?;
        }
        Entity::Work(w) => {
            tx.prepare_cached(sql(INSERT_WORK, UPDATE_WORK))?
                .execute(params![
                    first,
                    version,
                    w.iswc.as_ref().map(|i| i.as_str()),
                    w.title,
                    packed.bytes,
                    extra
                ])?;
        }
        Entity::Release(r) => {
            let data = body::release_body(r)?;
            tx.prepare_cached(sql(INSERT_RELEASE, UPDATE_RELEASE))?
                .execute(params![
                    first,
                    version,
                    r.upc.as_ref().map(|u| u.as_str()),
                    r.title,
                    data,
                    extra
                ])?;
        }
    }
    Ok(())
}

/// A row write fails because the id exists (the caller falls back to an update), or for real.
enum WriteRowError {
    Exists,
    Other(StoreError),
}

impl From<rusqlite::Error> for WriteRowError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                WriteRowError::Exists
            }
            _ => WriteRowError::Other(e.into()),
        }
    }
}

impl From<StoreError> for WriteRowError {
    fn from(e: StoreError) -> Self {
        WriteRowError::Other(e)
    }
}

/// Inserts an entity whose id the table does not have yet, returning its key and the party
/// keys its credits or writers were packed with; `None` if the table has the id after all.
fn insert_new(
    tx: &Transaction<'_>,
    keys: &mut Keys,
    entity: &Entity,
    version: u64,
    scores: &Scores,
) -> Result<Option<(i64, Vec<i64>)>> {
    let id = entity.id();
    let packed = pack(tx, keys, entity)?;
    match write_row(tx, entity, version, scores, Target::Insert(id), &packed) {
        Ok(()) => {}
        Err(WriteRowError::Exists) => return Ok(None),
        Err(WriteRowError::Other(e)) => return Err(e),
    }
    let key = tx.last_insert_rowid();
    keys.insert(id, key);
    insert_children(tx, keys, entity, key, &packed)?;
    Ok(Some((key, packed.parties)))
}

/// Overwrites an existing row (a placeholder, a tombstone or an older version) and its
/// children.
fn update_existing(
    tx: &Transaction<'_>,
    keys: &mut Keys,
    entity: &Entity,
    version: u64,
    existing: Option<(i64, u64)>,
    scores: &Scores,
) -> Result<i64> {
    let Some((key, old_version)) = existing else {
        // Not there at all (the fast path was skipped because the key was cached and then
        // vanished): insert it.
        let key = insert_new(tx, keys, entity, version, scores)?.map(|(key, _)| key);
        return key.ok_or_else(|| StoreError::Corrupt {
            what: entity.id().to_string(),
            source: serde::de::Error::custom("row appeared and vanished during one transaction"),
        });
    };
    let packed = pack(tx, keys, entity)?;
    // Before the row is overwritten: the links to remove are the ones it names now.
    remove_children(tx, keys, entity.id().kind(), key, old_version)?;
    match write_row(tx, entity, version, scores, Target::Update(key), &packed) {
        Ok(()) => {}
        Err(WriteRowError::Exists) => {
            return Err(StoreError::Corrupt {
                what: entity.id().to_string(),
                source: serde::de::Error::custom("an update hit a unique constraint"),
            });
        }
        Err(WriteRowError::Other(e)) => return Err(e),
    }
    insert_children(tx, keys, entity, key, &packed)?;
    Ok(key)
}

/// Inserts `rows` rows of `cols` columns each with one multi-row statement per 32 rows:
/// per-statement overhead, not per-row work, dominated applying when measured.
pub(crate) fn insert_rows(
    tx: &Transaction<'_>,
    into: &'static str,
    cols: usize,
    params: &[&dyn rusqlite::ToSql],
) -> Result<()> {
    thread_local! {
        static SQL: std::cell::RefCell<HashMap<(&'static str, usize), std::rc::Rc<str>>> =
            std::cell::RefCell::new(HashMap::new());
    }
    for chunk in params.chunks(cols * 32) {
        let n = chunk.len() / cols;
        let sql = SQL.with(|cache| {
            cache
                .borrow_mut()
                .entry((into, n))
                .or_insert_with(|| {
                    let one = format!("({})", vec!["?"; cols].join(", "));
                    format!("{into} VALUES {}", vec![one; n].join(", ")).into()
                })
                .clone()
        });
        tx.prepare_cached(&sql)?.execute(chunk)?;
    }
    Ok(())
}

fn insert_children(
    tx: &Transaction<'_>,
    keys: &mut Keys,
    entity: &Entity,
    key: i64,
    packed: &Packed,
) -> Result<()> {
    match entity {
        Entity::Party(_) => {}
        Entity::Recording(_) | Entity::Work(_) => {
            if !keys.links_deferred {
                links::link(tx, entity.id().kind(), key, &packed.parties)?;
            } else if let Some(gathered) = &mut keys.gathered {
                gathered.add(entity.id().kind(), key, &packed.parties)?;
            }
        }
        Entity::Release(r) => {
            let mut values: Vec<(i64, i64, i64)> = Vec::new();
            for t in &r.tracks {
                let rec = key_for(tx, keys, EntityId::Recording(t.recording))?;
                values.push((i64::from(t.disc), i64::from(t.position), rec));
            }
            let mut params: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(values.len() * 4);
            for v in &values {
                params.extend([&key as &dyn rusqlite::ToSql, &v.0, &v.1, &v.2]);
            }
            // A delivery listing two tracks at one position keeps the last, as the release
            // JSON would read.
            insert_rows(
                tx,
                "INSERT OR REPLACE INTO track (release_key, disc, position, recording_key)",
                4,
                &params,
            )?;
        }
    }
    Ok(())
}

/// Sets one recording's popularity outside a change to it, journaling it for the index.
pub(crate) fn set_score(
    tx: &Transaction<'_>,
    keys: &mut Keys,
    id: RecordingId,
    score: f32,
) -> Result<()> {
    let key = key_for(tx, keys, EntityId::Recording(id))?;
    let version: u64 = tx
        .prepare_cached("UPDATE recording SET popularity = ?2 WHERE key = ?1 RETURNING version")?
        .query_row(params![key, f64::from(score)], |r| r.get(0))?;
    if version > 0 {
        journal(tx, EntityKind::Recording, key)?;
    }
    Ok(())
}

/// Removes what hangs off an entity's row before it is overwritten or deleted. `version` is
/// the row's: a placeholder (version 0) has nothing hanging off it.
fn remove_children(
    tx: &Transaction<'_>,
    keys: &mut Keys,
    kind: EntityKind,
    key: i64,
    version: u64,
) -> Result<()> {
    if version == 0 {
        return Ok(());
    }
    match kind {
        EntityKind::Recording | EntityKind::Work if !keys.links_deferred => {
            links::unlink(tx, kind, key)?;
        }
        EntityKind::Recording | EntityKind::Work => {
            // This bulk load may have gathered links the row will no longer name: its end
            // scans the packed columns instead.
            keys.gathered = None;
        }
        EntityKind::Release => {
            tx.prepare_cached("DELETE FROM track WHERE release_key = ?1")?
                .execute([key])?;
        }
        _ => {}
    }
    Ok(())
}

/// Marks an entity deleted at `version`. The row stays (without data) so that an older upsert
/// arriving later is recognised as stale instead of bringing the entity back.
fn tombstone(
    tx: &Transaction<'_>,
    keys: &mut Keys,
    id: EntityId,
    version: u64,
    existing: Option<(i64, u64)>,
) -> Result<i64> {
    let t = table(id.kind());
    match existing {
        Some((key, old_version)) => {
            // A tombstone holds nothing but its version, whichever order the delete and the
            // older upserts arrived in: clear every descriptive column.
            let cleared = match id.kind() {
                EntityKind::Party => "name = NULL",
                EntityKind::Recording => "isrc = NULL, title = NULL, credits = NULL",
                EntityKind::Work => "iswc = NULL, title = NULL, writers = NULL",
                EntityKind::Release => "upc = NULL, title = NULL",
            };
            remove_children(tx, keys, id.kind(), key, old_version)?;
            tx.prepare_cached(&format!(
                "UPDATE {t} SET version = ?2, deleted = 1, data = NULL, extra = NULL, {cleared}
                 WHERE key = ?1"
            ))?
            .execute(params![key, version])?;
            Ok(key)
        }
        None => {
            tx.prepare_cached(&format!(
                "INSERT INTO {t} (id, version, deleted) VALUES (?1, ?2, 1)"
            ))?
            .execute(params![id, version])?;
            let key = tx.last_insert_rowid();
            keys.insert(id, key);
            Ok(key)
        }
    }
}

pub(crate) fn journal(tx: &Transaction<'_>, kind: EntityKind, key: i64) -> Result<()> {
    tx.prepare_cached("INSERT INTO search_journal (kind, entity_key) VALUES (?1, ?2)")?
        .execute(params![kind_code(kind), key])?;
    Ok(())
}
