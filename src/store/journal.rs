//! The search journal and the documents the index builds from it.
//!
//! Every applied change to a recording or party adds a journal row in the same transaction
//! as the change, so the index can always tell what it has not seen yet: it reads the rows
//! past the position stored in its last commit and fetches the current state of each entity
//! in a few set-based queries per chunk (not one query per document), which keeps catching up
//! on a million rows in seconds.

use rusqlite::{Connection, params};

use super::apply::set_score;
use super::{Result, Store, body};
use crate::ids::RecordingId;
use crate::model::{EntityKind, Party};
use crate::roles::Role;

/// A credit on a recording as search sees it: who (by mirror key, so building a document
/// needs no party lookups) and in what role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditKey {
    pub party_key: i64,
    pub role: Role,
}

/// What the index needs of a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingSource {
    pub id: RecordingId,
    pub title: String,
    pub artist: String,
    pub isrc: Option<String>,
    pub popularity: f32,
    pub credits: Vec<CreditKey>,
}

/// What the index is to hold for one entity: its document's source, or nothing (deleted, or
/// only a placeholder so far).
#[derive(Debug, Clone, PartialEq)]
pub enum EntityDoc {
    Recording(RecordingSource),
    Party(Party),
    Gone,
}

/// One entity's current state for the index, named by its kind and mirror key: the index
/// deletes and replaces documents by key, whose terms cost far less to keep than ids.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    pub kind: EntityKind,
    pub key: i64,
    pub doc: EntityDoc,
}

const JOURNAL_KEYS: &str = "SELECT entity_key FROM search_journal
    WHERE position > ?1 AND position <= ?2 AND kind = ";
const RECORDING_KEYS: &str = "SELECT key FROM recording WHERE key > ?1 AND key <= ?2";
const PARTY_KEYS: &str = "SELECT key FROM party WHERE key > ?1 AND key <= ?2";

/// A read transaction on the store: every read through it sees one state of the mirror, and
/// the connection's page cache stays valid from one read to the next. Outside one, each read
/// starts afresh, and SQLite drops a reader's cache whenever the writer has committed since
/// its last read: following a bootstrap chunk by chunk re-read the same party pages from the
/// OS again and again. Dropping it ends the transaction.
pub struct ReadSnapshot<'a> {
    _tx: rusqlite::Transaction<'a>,
}

impl std::fmt::Debug for ReadSnapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadSnapshot")
    }
}

impl Store {
    /// Opens a [`ReadSnapshot`]. Hold it for a bounded stretch of reads: the writer's log
    /// cannot be checkpointed past it while it is open.
    pub fn read_snapshot(&self) -> Result<ReadSnapshot<'_>> {
        Ok(ReadSnapshot {
            _tx: self.conn().unchecked_transaction()?,
        })
    }

    /// The last journal position (0 when empty).
    pub fn journal_head(&self) -> Result<i64> {
        Ok(self.conn().query_row(
            "SELECT coalesce(max(position), 0) FROM search_journal",
            [],
            |r| r.get(0),
        )?)
    }

    /// The documents for up to `limit` journal rows after `after`, and the last position they
    /// cover. An entity journaled several times in the range appears once, as it is now.
    pub fn journal_entries(&self, after: i64, limit: usize) -> Result<(Vec<JournalEntry>, i64)> {
        let upto: Option<i64> = self.conn().query_row(
            "SELECT max(position) FROM
             (SELECT position FROM search_journal WHERE position > ?1 ORDER BY position LIMIT ?2)",
            params![after, limit as i64],
            |r| r.get(0),
        )?;
        match upto {
            Some(upto) => Ok((self.journal_entries_through(after, upto)?, upto)),
            None => Ok((Vec::new(), after)),
        }
    }

    /// The documents for the journal rows in `(after, upto]`, read from the mirror.
    pub(crate) fn journal_entries_through(
        &self,
        after: i64,
        upto: i64,
    ) -> Result<Vec<JournalEntry>> {
        let conn = self.conn();
        let mut out = load_parties(conn, &format!("{JOURNAL_KEYS}1"), after, upto)?;
        out.extend(load_recordings(
            conn,
            &format!("{JOURNAL_KEYS}2"),
            after,
            upto,
        )?);
        Ok(out)
    }

    /// Documents for every live entity of `kind` with a key in `(after_key, after_key +
    /// span]`, for rebuilding the index from the tables; `None` once past the last key.
    pub fn entries_by_key(
        &self,
        kind: EntityKind,
        after_key: i64,
        span: i64,
    ) -> Result<Option<Vec<JournalEntry>>> {
        let conn = self.conn();
        let t = super::table(kind);
        let max: i64 =
            conn.query_row(&format!("SELECT coalesce(max(key), 0) FROM {t}"), [], |r| {
                r.get(0)
            })?;
        if after_key >= max {
            return Ok(None);
        }
        let upto = after_key + span;
        let entries = match kind {
            EntityKind::Recording => load_recordings(conn, RECORDING_KEYS, after_key, upto)?,
            EntityKind::Party => load_parties(conn, PARTY_KEYS, after_key, upto)?,
            _ => Vec::new(),
        };
        Ok(Some(
            entries
                .into_iter()
                .filter(|e| !matches!(e.doc, EntityDoc::Gone))
                .collect(),
        ))
    }

    /// Sets popularity scores (from the event aggregates) and journals the recordings whose
    /// documents rank by them. A score for a recording not mirrored yet is kept for it.
    pub fn set_popularity(&mut self, scores: &[(RecordingId, f32)]) -> Result<()> {
        self.write(|tx, keys| {
            for (id, score) in scores {
                set_score(tx, keys, *id, *score)?;
            }
            Ok(())
        })
    }

    /// Drops journal rows the index has committed; they are no longer needed because a
    /// rebuild reads the tables, not the journal. The newest row always stays: new positions
    /// are one past the largest present, so deleting it could hand out old positions again.
    pub fn prune_journal(&mut self, upto: i64) -> Result<usize> {
        self.write(|tx, _| {
            Ok(tx.execute(
                "DELETE FROM search_journal
                 WHERE position <= ?1 AND position < (SELECT max(position) FROM search_journal)",
                [upto],
            )?)
        })
    }
}

fn load_recordings(conn: &Connection, keys: &str, a: i64, b: i64) -> Result<Vec<JournalEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT key, id, version, deleted, title, data, isrc, popularity, credits FROM recording
         WHERE key IN ({keys})"
    ))?;
    let mut rows = stmt.query(params![a, b])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let key: i64 = r.get(0)?;
        let version: u64 = r.get(2)?;
        let deleted: bool = r.get(3)?;
        let doc = if version == 0 || deleted {
            EntityDoc::Gone
        } else {
            let id: RecordingId = r.get(1)?;
            let keyed = body::credits(super::blob(r, 8)?, id)?;
            let mut credits = Vec::with_capacity(keyed.len());
            for c in &keyed {
                credits.push(CreditKey {
                    party_key: c.party,
                    role: c.role(id)?,
                });
            }
            EntityDoc::Recording(RecordingSource {
                id,
                title: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                artist: body::display_artist(super::blob(r, 5)?, id)?,
                isrc: r.get(6)?,
                popularity: r.get::<_, f64>(7)? as f32,
                credits,
            })
        };
        out.push(JournalEntry {
            kind: EntityKind::Recording,
            key,
            doc,
        });
    }
    Ok(out)
}

fn load_parties(conn: &Connection, keys: &str, a: i64, b: i64) -> Result<Vec<JournalEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT key, id, version, deleted, name, data FROM party WHERE key IN ({keys})"
    ))?;
    let mut rows = stmt.query(params![a, b])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let key: i64 = r.get(0)?;
        let version: u64 = r.get(2)?;
        let deleted: bool = r.get(3)?;
        let name: Option<String> = r.get(4)?;
        let doc = match (name, super::blob(r, 5)?) {
            (Some(name), Some(data)) if version > 0 && !deleted => {
                EntityDoc::Party(body::party(r.get(1)?, name, data)?)
            }
            _ => EntityDoc::Gone,
        };
        out.push(JournalEntry {
            kind: EntityKind::Party,
            key,
            doc,
        });
    }
    Ok(out)
}

impl Store {
    /// Empties everything mirrored from the upstream (entities, children, history, cursor)
    /// for a resync after the upstream's history was replaced, keeping what is local: the
    /// outbox of edits and the quarantine. Journal positions keep increasing (the newest row
    /// stays), and the search index is marked for a rebuild in the same transaction, so a
    /// crash between this and the rebuild cannot leave old documents searchable.
    pub fn reset_mirror(&mut self) -> Result<()> {
        self.write(|tx, keys| {
            tx.execute_batch(
                "DELETE FROM party_credit; DELETE FROM party_writer; DELETE FROM track;
                 DELETE FROM party_revision; DELETE FROM recording_revision;
                 DELETE FROM work_revision; DELETE FROM release_revision;
                 DELETE FROM party; DELETE FROM recording; DELETE FROM work; DELETE FROM release;
                 DELETE FROM search_journal
                   WHERE position < (SELECT max(position) FROM search_journal);
                 DELETE FROM meta WHERE key = 'cursor';
                 DELETE FROM meta WHERE key = 'note:history_backfill';
                 INSERT INTO meta (key, value) VALUES ('index_rebuild', '1')
                   ON CONFLICT (key) DO UPDATE SET value = excluded.value;",
            )?;
            keys.clear();
            Ok(())
        })
    }

    /// This mirror file's random name (see migration 5): an index built from another file,
    /// whose keys mean other rows, must not be taken for this one's.
    pub fn instance(&self) -> Result<String> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM meta WHERE key = 'instance'", [], |r| {
                r.get(0)
            })?)
    }

    /// Whether the search index must be rebuilt from the tables (after a reset).
    pub fn index_rebuild_needed(&self) -> Result<bool> {
        Ok(self.conn().query_row(
            "SELECT count(*) FROM meta WHERE key = 'index_rebuild'",
            [],
            |r| r.get::<_, i64>(0),
        )? > 0)
    }

    /// Records that the index was rebuilt.
    pub fn index_rebuilt(&mut self) -> Result<()> {
        self.write(|tx, _| {
            tx.execute("DELETE FROM meta WHERE key = 'index_rebuild'", [])?;
            Ok(())
        })
    }
}

impl Store {
    /// A note the daemon keeps with the mirror (e.g. how far a bootstrap got).
    pub fn note(&self, key: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension as _;
        Ok(self
            .conn()
            .query_row(
                "SELECT value FROM meta WHERE key = 'note:' || ?1",
                [key],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Sets (or with `None` removes) a note.
    pub fn set_note(&mut self, key: &str, value: Option<&str>) -> Result<()> {
        self.write(|tx, _| {
            match value {
                Some(v) => tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('note:' || ?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [key, v],
                )?,
                None => tx.execute("DELETE FROM meta WHERE key = 'note:' || ?1", [key])?,
            };
            Ok(())
        })
    }
}
