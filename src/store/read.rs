//! The reads the console and CLI need: a recording with everything about it, every credit of
//! a party, keyset-paged browsing, an entity's history, and a canonical dump for comparing two
//! mirrors.
//!
//! Reads skip placeholders (`version = 0`) and tombstones. Every statement is prepared once
//! and cached, which is most of what keeps a detail lookup in tens of microseconds.

use rusqlite::{OptionalExtension, params};

use super::views::{
    BrowseRow, CreditView, PartyCreditRow, PartyCredits, PartyView, PartyWork, RecordingDetail,
    ReleaseAppearance, WorkView, WriterView,
};
use super::{Result, Store, StoreError, body, table};
use crate::ids::{PartyId, RecordingId, ReleaseId, WorkId};
use crate::model::unknown::Kept;
use crate::model::{
    Credit, EntityId, EntityKind, Party, Revision, Source, SourceKind, Writer, Writers,
};
use crate::roles::Role;

/// A stored share: basis points, or hidden (`None`).
fn share_of(
    stored: Option<u16>,
    what: impl std::fmt::Display,
) -> Result<Option<crate::model::BasisPoints>> {
    stored
        .map(|bp| {
            crate::model::BasisPoints::new(u32::from(bp)).map_err(|e| StoreError::Body {
                what: what.to_string(),
                reason: e.to_string(),
            })
        })
        .transpose()
}

/// A revision as history shows it.
pub type HistoryEntry = Revision;

/// A read transaction that ends when dropped.
pub(super) struct ReadTx<'a>(&'a rusqlite::Connection);

impl<'a> ReadTx<'a> {
    pub(super) fn begin(conn: &'a rusqlite::Connection) -> Result<Self> {
        conn.prepare_cached("BEGIN DEFERRED")?.execute([])?;
        Ok(ReadTx(conn))
    }
}

impl Drop for ReadTx<'_> {
    fn drop(&mut self) {
        if let Err(e) = self
            .0
            .prepare_cached("COMMIT")
            .and_then(|mut s| s.execute([]))
        {
            tracing::warn!(error = %e, "ending a read transaction");
        }
    }
}

fn corrupt(what: impl Into<String>, source: serde_json::Error) -> StoreError {
    StoreError::Corrupt {
        what: what.into(),
        source,
    }
}

fn parse_col<T: std::str::FromStr>(i: usize, s: &str) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    s.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn bad_col(i: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, what.into())
}

impl Store {
    /// A recording with everything the detail screen shows, or `None` if it is not mirrored.
    pub fn recording_detail(&self, id: RecordingId) -> Result<Option<RecordingDetail>> {
        // One read transaction for the five queries: one consistent view and one WAL lock
        // instead of five (the locks were a tenth of a lookup when measured).
        let conn = self.conn();
        let _snapshot = ReadTx::begin(conn)?;
        type Row = (
            i64,
            u64,
            f64,
            Option<String>,
            Option<String>,
            Vec<u8>,
            Option<Vec<u8>>,
            Option<String>,
        );
        let row: Option<Row> = conn
            .prepare_cached(
                "SELECT key, version, popularity, isrc, title, data, credits, extra FROM recording
                 WHERE id = ?1 AND version > 0 AND deleted = 0",
            )?
            .query_row([id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })
            .optional()?;
        let Some((key, version, popularity, isrc, title, data, packed, extra)) = row else {
            return Ok(None);
        };
        let mut recording = body::recording(id, isrc.as_deref(), title.unwrap_or_default(), &data)?;

        let mut party_stmt =
            conn.prepare_cached("SELECT id, name, data FROM party WHERE key = ?1")?;
        let mut credits = Vec::new();
        for c in body::credits(packed.as_deref(), id)? {
            let (party, name, data): (PartyId, Option<String>, Option<Vec<u8>>) =
                party_stmt.query_row([c.party], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            // A party known only by reference has no body yet.
            let disambiguation = match (&name, data) {
                (Some(n), Some(d)) => body::party(party, n.clone(), &d)?.disambiguation,
                _ => None,
            };
            credits.push(CreditView {
                credit: Credit {
                    unknown: Default::default(),
                    party,
                    role: c.role(id)?,
                    instrument: c.instrument,
                    credited_as: c.credited_as,
                },
                party_name: name.unwrap_or_default(),
                party_disambiguation: disambiguation,
            });
        }
        recording.credits = credits.iter().map(|c| c.credit.clone()).collect();
        // Members this build does not know go back where they came from, credits included,
        // so an edit sends them back unchanged.
        Kept::parse(extra.as_deref()).restore_recording(&mut recording);
        for (view, credit) in credits.iter_mut().zip(&recording.credits) {
            view.credit.unknown = credit.unknown.clone();
        }

        let mut works = Vec::with_capacity(recording.works.len());
        for work_id in &recording.works {
            works.extend(self.work_view(*work_id)?);
        }

        let mut stmt = conn.prepare_cached(
            "SELECT r.id, r.title, r.upc, r.data, t.disc, t.position
             FROM track t JOIN release r ON r.key = t.release_key
             WHERE t.recording_key = ?1 AND r.version > 0 AND r.deleted = 0
             ORDER BY r.id",
        )?;
        let releases = stmt
            .query_map([key], |r| {
                let id: ReleaseId = r.get(0)?;
                let upc: Option<String> = r.get(2)?;
                let data: Vec<u8> = r.get(3)?;
                Ok(ReleaseAppearance {
                    id,
                    title: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    upc: upc.map(|u| parse_col(2, &u)).transpose()?,
                    release_date: body::release_date(id, &data)
                        .map_err(|e| bad_col(3, e.to_string()))?,
                    disc: r.get(4)?,
                    position: r.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;

        Ok(Some(RecordingDetail {
            recording,
            version,
            popularity: popularity as f32,
            credits,
            works,
            releases,
        }))
    }

    fn writers(&self, packed: Option<&[u8]>, what: WorkId, kept: &Kept) -> Result<Vec<WriterView>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT id, name FROM party WHERE key = ?1")?;
        let mut out = Vec::new();
        for (i, w) in body::writers(packed, what)?.into_iter().enumerate() {
            let (party, name): (PartyId, Option<String>) =
                stmt.query_row([w.party], |r| Ok((r.get(0)?, r.get(1)?)))?;
            out.push(WriterView {
                writer: Writer {
                    unknown: kept.item("writers", i),
                    party,
                    role: w.role(what)?,
                    share: share_of(w.share_bp, what)?,
                },
                party_name: name.unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// Recordings carrying this ISRC (several recordings can share one by mistake).
    pub fn recordings_by_isrc(&self, isrc: &crate::ident::Isrc) -> Result<Vec<RecordingId>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT id FROM recording WHERE isrc = ?1 AND version > 0 AND deleted = 0 ORDER BY id",
        )?;
        let rows = stmt.query_map([isrc.as_str()], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Works carrying this ISWC.
    pub fn works_by_iswc(&self, iswc: &crate::ident::Iswc) -> Result<Vec<WorkId>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT id FROM work WHERE iswc = ?1 AND version > 0 AND deleted = 0 ORDER BY id",
        )?;
        let rows = stmt.query_map([iswc.as_str()], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A work with its writers and shares.
    pub fn work_view(&self, id: WorkId) -> Result<Option<WorkView>> {
        type Row = (
            u64,
            Option<String>,
            Option<String>,
            Option<Vec<u8>>,
            Option<String>,
        );
        let row: Option<Row> = self
            .conn()
            .prepare_cached(
                "SELECT version, iswc, title, writers, extra FROM work
                 WHERE id = ?1 AND version > 0 AND deleted = 0",
            )?
            .query_row([id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()?;
        let Some((version, iswc, title, packed, extra)) = row else {
            return Ok(None);
        };
        let kept = Kept::parse(extra.as_deref());
        let writers = self.writers(packed.as_deref(), id, &kept)?;
        let split = Writers::new(writers.iter().map(|w| w.writer.clone()).collect())
            .map_err(|e| corrupt(id.to_string(), serde::de::Error::custom(e)))?;
        let mut work = body::work(id, iswc.as_deref(), title.unwrap_or_default(), split)?;
        work.unknown = kept.own();
        Ok(Some(WorkView {
            work,
            version,
            writers,
        }))
    }

    /// Parties with exactly this name; same-name parties are normal and stay distinct.
    pub fn parties_named(&self, name: &str) -> Result<Vec<Party>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT id, data FROM party WHERE name = ?1 AND version > 0 AND deleted = 0 ORDER BY id",
        )?;
        let rows = stmt.query_map([name], |r| {
            Ok((r.get::<_, PartyId>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, data) = row?;
            out.push(body::party(id, name.to_owned(), &data)?);
        }
        Ok(out)
    }

    pub fn party(&self, id: PartyId) -> Result<Option<(Party, u64)>> {
        let row: Option<(String, Vec<u8>, u64, Option<String>)> = self
            .conn()
            .prepare_cached(
                "SELECT name, data, version, extra FROM party
                 WHERE id = ?1 AND version > 0 AND deleted = 0",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
        row.map(|(name, data, v, extra)| {
            body::party(id, name, &data).map(|mut p| {
                p.unknown = Kept::parse(extra.as_deref()).own();
                (p, v)
            })
        })
        .transpose()
    }

    /// The party's key in this mirror, as the search index's party filter takes it; `None`
    /// when the mirror has never heard of the party.
    pub fn party_key(&self, id: PartyId) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT key FROM party WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?)
    }

    /// Every credit of a party, grouped by role, and the works it writes on.
    pub fn party_view(&self, id: PartyId) -> Result<Option<PartyView>> {
        let Some((party, version)) = self.party(id)? else {
            return Ok(None);
        };
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT p.key, r.id, r.title, r.data, r.credits
             FROM party p JOIN party_credit l ON l.party_key = p.key
             JOIN recording r ON r.key = l.recording_key
             WHERE p.id = ?1 AND r.version > 0 AND r.deleted = 0",
        )?;
        let mut rows = stmt.query([id])?;
        let mut credits: Vec<(Role, PartyCreditRow)> = Vec::new();
        while let Some(r) = rows.next()? {
            let party_key: i64 = r.get(0)?;
            let recording: RecordingId = r.get(1)?;
            let title = r.get::<_, Option<String>>(2)?.unwrap_or_default();
            let artist = body::display_artist(super::blob(r, 3)?, recording)?;
            let packed = super::blob(r, 4)?;
            for c in body::credits(packed, recording)? {
                if c.party != party_key {
                    continue;
                }
                credits.push((
                    c.role(recording)?,
                    PartyCreditRow {
                        recording,
                        title: title.clone(),
                        artist: artist.clone(),
                        instrument: c.instrument,
                        credited_as: c.credited_as,
                    },
                ));
            }
        }
        credits.sort_by(|(ra, a), (rb, b)| {
            (ra, &a.title, a.recording).cmp(&(rb, &b.title, b.recording))
        });
        let mut by_role: Vec<PartyCredits> = Vec::new();
        for (role, credit) in credits {
            match by_role.last_mut() {
                Some(group) if group.role == role => group.credits.push(credit),
                _ => by_role.push(PartyCredits {
                    role,
                    credits: vec![credit],
                }),
            }
        }

        let mut stmt = conn.prepare_cached(
            "SELECT p.key, wk.id, wk.title, wk.writers
             FROM party p JOIN party_writer l ON l.party_key = p.key
             JOIN work wk ON wk.key = l.work_key
             WHERE p.id = ?1 AND wk.version > 0 AND wk.deleted = 0
             ORDER BY wk.title, wk.id",
        )?;
        let mut rows = stmt.query([id])?;
        let mut works = Vec::new();
        while let Some(r) = rows.next()? {
            let party_key: i64 = r.get(0)?;
            let work: WorkId = r.get(1)?;
            let title = r.get::<_, Option<String>>(2)?.unwrap_or_default();
            let packed = super::blob(r, 3)?;
            for w in body::writers(packed, work)? {
                if w.party == party_key {
                    works.push(PartyWork {
                        work,
                        title: title.clone(),
                        role: w.role(work)?,
                        share_bp: w.share_bp,
                    });
                }
            }
        }
        Ok(Some(PartyView {
            party,
            version,
            by_role,
            works,
        }))
    }

    /// A page of recordings in id order after `after` (keyset paging: each page costs the
    /// same however deep it is).
    pub fn browse_recordings(
        &self,
        after: Option<RecordingId>,
        limit: usize,
    ) -> Result<Vec<BrowseRow>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT id, title, data, isrc, popularity FROM recording
             WHERE id > ?1 AND version > 0 AND deleted = 0 ORDER BY id LIMIT ?2",
        )?;
        // Every id is after the empty BLOB.
        let after = after.map_or(Vec::new(), |a| a.ulid().to_bytes().to_vec());
        let mut rows = stmt.query(params![after, limit as i64])?;
        let mut out = Vec::with_capacity(limit);
        while let Some(r) = rows.next()? {
            let id: RecordingId = r.get(0)?;
            out.push(BrowseRow {
                id,
                title: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                artist: body::display_artist(super::blob(r, 2)?, id)?,
                isrc: r.get(3)?,
                popularity: r.get::<_, f64>(4)? as f32,
            });
        }
        Ok(out)
    }

    /// The current version of an entity, `None` if not mirrored or deleted.
    pub fn version_of(&self, id: EntityId) -> Result<Option<u64>> {
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT version FROM {} WHERE id = ?1 AND version > 0 AND deleted = 0",
                table(id.kind())
            ))?
            .query_row([id], |r| r.get(0))
            .optional()?)
    }

    /// An entity's revisions, oldest first.
    pub fn history(&self, id: EntityId) -> Result<Vec<HistoryEntry>> {
        let t = table(id.kind());
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT v.version, o.actor, o.source, o.source_ref, o.reason, v.at_ms, v.diff, v.extra
             FROM {t} e JOIN {t}_revision v ON v.entity_key = e.key
             JOIN revision_origin o ON o.id = v.origin
             WHERE e.id = ?1 ORDER BY v.version"
        ))?;
        let mut rows = stmt.query(params![id])?;
        let mut parties = super::diffs::PartyIds::new(self.conn());
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let version: u64 = r.get(0)?;
            let source: String = r.get(2)?;
            let reference: String = r.get(3)?;
            let at_ms: i64 = r.get(5)?;
            let extra: Option<String> = r.get(7)?;
            let kind = SourceKind::from_wire(&source).ok_or_else(|| {
                corrupt(
                    format!("revision source {source:?}"),
                    serde::de::Error::custom("unknown"),
                )
            })?;
            out.push(Revision {
                unknown: crate::model::Unknown::from_value(
                    extra
                        .map(|e| serde_json::from_str(&e))
                        .transpose()
                        .map_err(|e| corrupt("revision extra", e))?
                        .as_ref(),
                ),
                version,
                actor: r.get(1)?,
                source: Source {
                    kind,
                    reference: (!reference.is_empty()).then_some(reference),
                },
                reason: r.get(4)?,
                at: jiff::Timestamp::from_millisecond(at_ms)
                    .map_err(|e| corrupt("revision time", serde::de::Error::custom(e)))?,
                diff: super::diffs::unpack(r.get_ref(6)?, &mut parties)?,
            });
        }
        Ok(out)
    }

    /// Live entity counts: (parties, recordings, works, releases).
    pub fn counts(&self) -> Result<[i64; 4]> {
        let mut out = [0; 4];
        for (i, kind) in [
            EntityKind::Party,
            EntityKind::Recording,
            EntityKind::Work,
            EntityKind::Release,
        ]
        .into_iter()
        .enumerate()
        {
            out[i] = self.conn().query_row(
                &format!(
                    "SELECT count(*) FROM {} WHERE version > 0 AND deleted = 0",
                    table(kind)
                ),
                [],
                |r| r.get(0),
            )?;
        }
        Ok(out)
    }

    /// Every stored fact as sorted text lines with ids in place of local keys: two mirrors of
    /// the same catalog produce the same dump whatever order they received it in.
    pub fn canonical_dump(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        super::sql_ids::register_id_text(conn)?;
        let queries = [
            "SELECT 'party|' || id_text('pty_', id) || '|' || version || '|' || deleted || '|' || coalesce(name, '') || '|' || coalesce(hex(data), '') || '|' || coalesce(extra, '') FROM party",
            "SELECT 'recording|' || id_text('rec_', id) || '|' || version || '|' || deleted || '|' || coalesce(isrc, '') || '|' || coalesce(title, '') || '|' || popularity || '|' || coalesce(hex(data), '') || '|' || coalesce(extra, '') FROM recording",
            "SELECT 'work|' || id_text('wrk_', id) || '|' || version || '|' || deleted || '|' || coalesce(iswc, '') || '|' || coalesce(title, '') || '|' || coalesce(extra, '') FROM work",
            "SELECT 'release|' || id_text('rel_', id) || '|' || version || '|' || deleted || '|' || coalesce(upc, '') || '|' || coalesce(title, '') || '|' || coalesce(hex(data), '') || '|' || coalesce(extra, '') FROM release",
            "SELECT 'credit-link|' || id_text('pty_', p.id) || '|' || id_text('rec_', r.id)
             FROM party_credit l JOIN party p ON p.key = l.party_key JOIN recording r ON r.key = l.recording_key",
            "SELECT 'writer-link|' || id_text('pty_', p.id) || '|' || id_text('wrk_', w.id)
             FROM party_writer l JOIN party p ON p.key = l.party_key JOIN work w ON w.key = l.work_key",
            "SELECT 'track|' || id_text('rel_', rl.id) || '|' || t.disc || '|' || t.position || '|' || id_text('rec_', r.id)
             FROM track t JOIN release rl ON rl.key = t.release_key JOIN recording r ON r.key = t.recording_key",
        ];
        let mut out = Vec::new();
        for q in queries {
            let mut stmt = conn.prepare(q)?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            for row in rows {
                out.push(row?);
            }
        }
        out.extend(self.packed_dump()?);
        out.extend(self.revision_dump()?);
        out.sort_unstable();
        Ok(out)
    }

    /// The dump's revision lines, with diffs unpacked (packed ones name parties by key).
    fn revision_dump(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut parties = super::diffs::PartyIds::new(conn);
        let mut out = Vec::new();
        for (t, prefix) in [
            ("party", "pty_"),
            ("recording", "rec_"),
            ("work", "wrk_"),
            ("release", "rel_"),
        ] {
            let mut stmt = conn.prepare(&format!(
                "SELECT 'revision|' || id_text('{prefix}', e.id) || '|' || v.version || '|' || o.actor
                   || '|' || o.source || '|' || o.source_ref || '|' || o.reason || '|' || v.at_ms,
                   v.diff, coalesce(v.extra, '')
                 FROM {t}_revision v JOIN {t} e ON e.key = v.entity_key
                 JOIN revision_origin o ON o.id = v.origin"
            ))?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let head: String = r.get(0)?;
                let diff = super::diffs::unpack(r.get_ref(1)?, &mut parties)?;
                let diff = if diff.is_empty() {
                    String::new()
                } else {
                    serde_json::to_string(&diff).map_err(|e| corrupt("revision diff", e))?
                };
                let extra: String = r.get(2)?;
                out.push(format!("{head}|{diff}|{extra}"));
            }
        }
        Ok(out)
    }

    /// The dump's lines for packed credits and writers, with party ids in place of keys.
    fn packed_dump(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut party_ids = std::collections::HashMap::new();
        let mut stmt = conn.prepare("SELECT key, id_text('pty_', id) FROM party")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            party_ids.insert(r.get::<_, i64>(0)?, r.get::<_, String>(1)?);
        }
        let party = |key: i64| party_ids.get(&key).cloned().unwrap_or_default();
        let mut out = Vec::new();
        let mut stmt = conn.prepare(
            "SELECT id_text('rec_', id), credits FROM recording WHERE credits IS NOT NULL",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            for (seq, c) in body::credits(super::blob(r, 1)?, &id)?
                .into_iter()
                .enumerate()
            {
                out.push(format!(
                    "credit|{id}|{seq}|{}|{}|{}|{}",
                    party(c.party),
                    c.role,
                    c.instrument.unwrap_or_default(),
                    c.credited_as.unwrap_or_default()
                ));
            }
        }
        let mut stmt = conn
            .prepare("SELECT id_text('wrk_', id), writers FROM work WHERE writers IS NOT NULL")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            for (seq, w) in body::writers(super::blob(r, 1)?, &id)?
                .into_iter()
                .enumerate()
            {
                let share = w.share_bp.map_or("hidden".to_owned(), |s| s.to_string());
                out.push(format!(
                    "writer|{id}|{seq}|{}|{}|{share}",
                    party(w.party),
                    w.role
                ));
            }
        }
        Ok(out)
    }
}

impl Store {
    /// Number of credits on live recordings (for reports).
    pub fn credit_count(&self) -> Result<i64> {
        let mut stmt = self.conn().prepare(
            "SELECT key, credits FROM recording
             WHERE credits IS NOT NULL AND version > 0 AND deleted = 0",
        )?;
        let mut rows = stmt.query([])?;
        let mut n = 0;
        while let Some(r) = rows.next()? {
            let id = format!("recording {}", r.get::<_, i64>(0)?);
            n += body::credits(super::blob(r, 1)?, &id)?.len() as i64;
        }
        Ok(n)
    }

    /// Folds the write-ahead log back into the database file.
    pub fn checkpoint(&self) -> Result<()> {
        self.conn()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    }
}
