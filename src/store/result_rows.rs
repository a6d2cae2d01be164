//! The reads behind a list of search results: a recording's row and first release, and how
//! many recordings credit a party. Each runs once per row on every keystroke, so each is one or
//! two indexed reads, where a detail decodes credits, works and writers.

use rusqlite::{OptionalExtension, params};

use super::read::ReadTx;
use super::views::{BrowseRow, ResultSummary};
use super::{Result, Store, body};
use crate::ids::{PartyId, RecordingId};

/// Where [`Store::party_credit_count`] stops counting.
pub const CREDIT_COUNT_CAP: u64 = 10_000;

impl Store {
    /// What a search result shows of a recording (see [`ResultSummary`]): two indexed reads,
    /// where a detail decodes credits, works and writers too (a twentieth of the time for a
    /// page of results when measured).
    pub fn result_summary(&self, id: RecordingId) -> Result<Option<ResultSummary>> {
        let conn = self.conn();
        let _snapshot = ReadTx::begin(conn)?;
        let row = conn
            .prepare_cached(
                "SELECT key, title, data, isrc, popularity FROM recording
                 WHERE id = ?1 AND version > 0 AND deleted = 0",
            )?
            .query_row([id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<Vec<u8>>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, f64>(4)?,
                ))
            })
            .optional()?;
        let Some((key, title, data, isrc, popularity)) = row else {
            return Ok(None);
        };
        let release = conn
            .prepare_cached(
                "SELECT r.title FROM track t JOIN release r ON r.key = t.release_key
                 WHERE t.recording_key = ?1 AND r.version > 0 AND r.deleted = 0
                 ORDER BY r.id LIMIT 1",
            )?
            .query_row([key], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten();
        Ok(Some(ResultSummary {
            row: BrowseRow {
                id,
                title: title.unwrap_or_default(),
                artist: body::display_artist(data.as_deref(), id)?,
                isrc,
                popularity: popularity as f32,
            },
            release,
        }))
    }

    /// How many recordings credit the party, counted up to [`CREDIT_COUNT_CAP`] + 1 (that
    /// number means "more"): its links, counted on their primary key, no recording read
    /// (applying keeps the links in step with the credits). Lists count a row per party on
    /// every keystroke, and a party on a hundred thousand recordings must not slow them.
    pub fn party_credit_count(&self, id: PartyId) -> Result<u64> {
        let n: i64 = self
            .conn()
            .prepare_cached(
                "SELECT count(*) FROM (SELECT 1 FROM party_credit
                 WHERE party_key = (SELECT key FROM party WHERE id = ?1) LIMIT ?2)",
            )?
            .query_row(params![id, CREDIT_COUNT_CAP as i64 + 1], |r| r.get(0))?;
        Ok(n as u64)
    }
}
