//! Rows an apply writes once per batch rather than once per change: revisions and search
//! journal rows are appended with multi-row statements when the batch's changes are done.
//! Nothing reads them back within the batch, and at two rows for every change, one
//! statement each was a large share of a bulk load (statement overhead, not row work).

use rusqlite::{Transaction, params};

use super::apply::insert_rows;
use super::journal::{EntityDoc, JournalEntry};
use super::{Keys, Result, kind_code};
use crate::model::{EntityKind, Revision};

/// A revision row waiting for the end of its batch.
struct RevisionRow {
    key: i64,
    version: u64,
    origin: i64,
    at_ms: i64,
    /// Packed (see [`super::diffs`]).
    diff: Option<Vec<u8>>,
    /// Members this build does not know (see [`crate::model::unknown`]).
    extra: Option<String>,
}

/// What a batch has left to write, in the order it arose.
#[derive(Default)]
pub(crate) struct Batched {
    /// By kind code − 1: party, recording, work, release (each has its own history table).
    revisions: [Vec<RevisionRow>; 4],
    /// (kind code, entity key).
    journal: Vec<(i64, i64)>,
    /// Whether documents are wanted for a [`Handoff`](super::Handoff).
    pub(crate) collect: bool,
    /// Documents by index into `journal`.
    docs: Vec<(usize, JournalEntry)>,
}

/// By kind code ([`kind_code`] − 1).
const REVISION_TABLES: [&str; 4] = [
    "INSERT OR IGNORE INTO party_revision (entity_key, version, origin, at_ms, diff, extra)",
    "INSERT OR IGNORE INTO recording_revision (entity_key, version, origin, at_ms, diff, extra)",
    "INSERT OR IGNORE INTO work_revision (entity_key, version, origin, at_ms, diff, extra)",
    "INSERT OR IGNORE INTO release_revision (entity_key, version, origin, at_ms, diff, extra)",
];

impl Batched {
    /// An empty batch; `collect` says whether documents are wanted for a handoff.
    pub(crate) fn new(collect: bool) -> Self {
        Batched {
            collect,
            ..Batched::default()
        }
    }

    /// Queues an entity's revision at `version` (kept even when the change itself was stale,
    /// so history does not depend on arrival order); the origin is interned now.
    pub(crate) fn revision(
        &mut self,
        tx: &Transaction<'_>,
        keys: &mut Keys,
        kind: EntityKind,
        key: i64,
        version: u64,
        rev: &Revision,
    ) -> Result<()> {
        let origin = origin_id(tx, keys, rev)?;
        let diff = super::diffs::pack(tx, keys, &rev.diff)?;
        self.revisions[kind_code(kind) as usize - 1].push(RevisionRow {
            key,
            version,
            origin,
            at_ms: rev.at.as_millisecond(),
            diff,
            extra: rev.unknown.to_value().map(|v| v.to_string()),
        });
        Ok(())
    }

    /// Queues a search journal row for an entity the index must look at again, with the
    /// document it will find when the caller knows it (see [`Batched::collect`]).
    pub(crate) fn journal(&mut self, kind: EntityKind, key: i64, doc: Option<EntityDoc>) {
        if let Some(doc) = doc {
            self.docs
                .push((self.journal.len(), JournalEntry { kind, key, doc }));
        }
        self.journal.push((kind_code(kind), key));
    }

    /// Writes everything queued, in the transaction the batch runs in, and returns the
    /// documents with the journal positions they got.
    pub(crate) fn flush(&mut self, tx: &Transaction<'_>) -> Result<Vec<(i64, JournalEntry)>> {
        for (rows, into) in self.revisions.iter_mut().zip(REVISION_TABLES) {
            let mut params: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(rows.len() * 6);
            for r in rows.iter() {
                params.extend([
                    &r.key as &dyn rusqlite::ToSql,
                    &r.version,
                    &r.origin,
                    &r.at_ms,
                    &r.diff,
                    &r.extra,
                ]);
            }
            insert_rows(tx, into, 6, &params)?;
            drop(params);
            rows.clear();
        }
        let mut params: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(self.journal.len() * 2);
        for (kind, key) in &self.journal {
            params.extend([kind as &dyn rusqlite::ToSql, key]);
        }
        insert_rows(
            tx,
            "INSERT INTO search_journal (kind, entity_key)",
            2,
            &params,
        )?;
        drop(params);
        // Rows without a position of their own take one past the largest, one after another,
        // and this transaction is the only writer: the last row's position dates them all.
        let first = tx.last_insert_rowid() - self.journal.len() as i64 + 1;
        self.journal.clear();
        Ok(self
            .docs
            .drain(..)
            .map(|(i, entry)| (first + i as i64, entry))
            .collect())
    }
}

/// The interned (actor, source, reference, reason) of a revision.
fn origin_id(tx: &Transaction<'_>, keys: &mut Keys, rev: &Revision) -> Result<i64> {
    let source = rev.source.kind.as_str();
    let reference = rev.source.reference.as_deref().unwrap_or("");
    // Runs of revisions share one origin (an import, a delivery): check the last one first
    // instead of building a key.
    if let Some(((a, s, r, why), id)) = &keys.last_origin
        && a == &rev.actor
        && *s == source
        && r == reference
        && why == &rev.reason
    {
        return Ok(*id);
    }
    let origin = (
        rev.actor.clone(),
        source,
        reference.to_owned(),
        rev.reason.clone(),
    );
    if let Some(id) = keys.origins.get(&origin).copied() {
        keys.last_origin = Some((origin, id));
        return Ok(id);
    }
    tx.prepare_cached(
        "INSERT INTO revision_origin (actor, source, source_ref, reason) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![rev.actor, source, reference, rev.reason])?;
    let id: i64 = tx
        .prepare_cached(
            "SELECT id FROM revision_origin
             WHERE actor = ?1 AND source = ?2 AND source_ref = ?3 AND reason = ?4",
        )?
        .query_row(params![rev.actor, source, reference, rev.reason], |r| {
            r.get(0)
        })?;
    if keys.origins.len() > 10_000 {
        keys.origins.clear();
    }
    keys.origins.insert(origin.clone(), id);
    keys.last_origin = Some((origin, id));
    Ok(id)
}
