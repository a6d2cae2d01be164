//! Records the mirror refused, each with the exact reason (record, field, rule) and the raw
//! line, so a person can see what upstream sent and nothing is silently dropped.

use rusqlite::{Transaction, params};
use serde::Serialize;

use super::{Result, Store};
use crate::model::DecodeError;

/// Raw lines are kept up to this size; a hostile record cannot fill the disk through here.
const MAX_RAW: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantineEntry {
    pub seq: i64,
    pub received_at: String,
    pub record: String,
    pub field: String,
    pub rule: String,
    pub raw: String,
}

pub(crate) fn insert(tx: &Transaction<'_>, err: &DecodeError, raw: &str) -> Result<()> {
    let mut cut = raw.len().min(MAX_RAW);
    while !raw.is_char_boundary(cut) {
        cut -= 1;
    }
    tx.prepare_cached(
        "INSERT INTO quarantine (received_at, record, field, rule, raw)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        jiff::Timestamp::now().to_string(),
        err.record,
        err.field,
        err.rule,
        &raw[..cut]
    ])?;
    Ok(())
}

impl Store {
    /// Quarantined records, newest first.
    pub fn quarantine(&self, limit: usize) -> Result<Vec<QuarantineEntry>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT seq, received_at, record, field, rule, raw FROM quarantine
             ORDER BY seq DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(QuarantineEntry {
                seq: r.get(0)?,
                received_at: r.get(1)?,
                record: r.get(2)?,
                field: r.get(3)?,
                rule: r.get(4)?,
                raw: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn quarantine_count(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM quarantine", [], |r| r.get(0))?)
    }
}
