//! The outbox: local edits waiting for, or answered by, the upstream.
//!
//! The console writes rows here and nothing else; the daemon's pusher moves them through
//! their states. States are durable and only move along the allowed edges, so a crash at any
//! point leaves every edit in a state that says what to do next, and the idempotency key
//! assigned at creation is the one every resend uses.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Result, Store, StoreError};
use crate::model::EntityId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Saved locally, not yet sent (or to be resent).
    Pending,
    /// Sent; the answer has not been recorded yet. Resending uses the same key.
    Sent,
    /// Upstream accepted it.
    Accepted,
    /// Upstream refused it (validation); `detail` holds its reasons.
    Rejected,
    /// Someone else changed the same field; a person has to choose.
    Conflicted,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sent => "sent",
            OutboxState::Accepted => "accepted",
            OutboxState::Rejected => "rejected",
            OutboxState::Conflicted => "conflicted",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => OutboxState::Pending,
            "sent" => OutboxState::Sent,
            "accepted" => OutboxState::Accepted,
            "rejected" => OutboxState::Rejected,
            "conflicted" => OutboxState::Conflicted,
            _ => return None,
        })
    }

    /// The edges an edit may move along. Accepted is final; a rejected or conflicted edit
    /// goes back to pending only when a person revised it.
    pub fn can_move_to(self, to: OutboxState) -> bool {
        use OutboxState::*;
        matches!(
            (self, to),
            (Pending, Sent)
                | (Sent, Pending)
                | (Sent, Accepted)
                | (Sent, Rejected)
                | (Sent, Conflicted)
                | (Pending, Conflicted)
                | (Conflicted, Pending)
                | (Rejected, Pending)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub seq: i64,
    pub idempotency_key: String,
    pub entity: EntityId,
    pub base_version: u64,
    /// The field-level patch, as the upstream's PATCH takes it.
    pub patch: serde_json::Value,
    pub reason: String,
    pub actor: String,
    pub state: OutboxState,
    /// Upstream's reasons for a rejection, or the conflict's description.
    pub detail: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Store {
    /// Queues a local edit. The reason is mandatory: every change to a credit says why.
    pub fn enqueue_edit(
        &mut self,
        entity: EntityId,
        base_version: u64,
        patch: serde_json::Value,
        reason: &str,
        actor: &str,
    ) -> Result<OutboxEntry> {
        check_edit(&patch, reason)?;
        let key = ulid::Ulid::new().to_string();
        let now = jiff::Timestamp::now().to_string();
        let seq = self.write(|tx, _| {
            tx.execute(
                "INSERT INTO outbox (idempotency_key, entity_id, base_version, patch, reason, actor,
                 state, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7)",
                params![key, entity.to_string(), base_version, patch.to_string(), reason, actor, now],
            )?;
            Ok(tx.last_insert_rowid())
        })?;
        self.outbox_entry(seq)?
            .ok_or(StoreError::NoSuchOutboxEntry(seq))
    }

    /// Moves an edit to `to`, refusing edges the state machine does not have.
    pub fn set_outbox_state(
        &mut self,
        seq: i64,
        to: OutboxState,
        detail: Option<&str>,
    ) -> Result<()> {
        self.write(|tx, _| {
            let from = state_of(tx, seq)?;
            if !from.can_move_to(to) {
                return Err(StoreError::Transition {
                    seq,
                    from: from.as_str(),
                    to: to.as_str(),
                });
            }
            tx.execute(
                "UPDATE outbox SET state = ?2, detail = ?3, updated_at = ?4 WHERE seq = ?1",
                params![seq, to.as_str(), detail, jiff::Timestamp::now().to_string()],
            )?;
            Ok(())
        })
    }

    pub fn outbox_entry(&self, seq: i64) -> Result<Option<OutboxEntry>> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!("{SELECT_OUTBOX} WHERE seq = ?1"))?;
        Ok(stmt.query_row([seq], row_to_entry).optional()?)
    }

    /// Outbox entries in queue order, optionally only those in `state`.
    pub fn outbox(&self, state: Option<OutboxState>) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "{SELECT_OUTBOX} WHERE ?1 IS NULL OR state = ?1 ORDER BY seq"
        ))?;
        let rows = stmt.query_map([state.map(OutboxState::as_str)], row_to_entry)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The edits of one entity in queue order (what the detail overlays on the mirror's copy).
    pub fn outbox_for(&self, entity: EntityId) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "{SELECT_OUTBOX} WHERE entity_id = ?1 ORDER BY seq"
        ))?;
        let rows = stmt.query_map([entity.to_string()], row_to_entry)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A person's answer to a conflicted or rejected edit: the resolved patch against the
    /// version they resolved it on, queued again. It gets a new idempotency key, because it is
    /// a different request from the one the upstream already answered.
    pub fn revise_outbox_edit(
        &mut self,
        seq: i64,
        patch: serde_json::Value,
        base_version: u64,
        reason: &str,
    ) -> Result<OutboxEntry> {
        check_edit(&patch, reason)?;
        self.write(|tx, _| {
            let from = state_of(tx, seq)?;
            if !from.can_move_to(OutboxState::Pending) || from == OutboxState::Sent {
                return Err(StoreError::Transition {
                    seq,
                    from: from.as_str(),
                    to: OutboxState::Pending.as_str(),
                });
            }
            tx.execute(
                "UPDATE outbox SET idempotency_key = ?2, base_version = ?3, patch = ?4, reason = ?5,
                 state = 'pending', detail = NULL, updated_at = ?6 WHERE seq = ?1",
                params![
                    seq,
                    ulid::Ulid::new().to_string(),
                    base_version,
                    patch.to_string(),
                    reason,
                    jiff::Timestamp::now().to_string()
                ],
            )?;
            Ok(())
        })?;
        self.outbox_entry(seq)?
            .ok_or(StoreError::NoSuchOutboxEntry(seq))
    }

    /// Drops an edit that has not gone out, or that the upstream refused or that conflicted.
    /// An edit that is out (sent) or accepted cannot be discarded.
    pub fn discard_outbox_edit(&mut self, seq: i64) -> Result<()> {
        self.write(|tx, _| {
            let n = tx.execute(
                "DELETE FROM outbox WHERE seq = ?1 AND state IN ('pending', 'rejected', 'conflicted')",
                [seq],
            )?;
            if n == 0 {
                let state: Option<String> = tx
                    .query_row("SELECT state FROM outbox WHERE seq = ?1", [seq], |r| {
                        r.get(0)
                    })
                    .optional()?;
                return Err(match state {
                    None => StoreError::NoSuchOutboxEntry(seq),
                    Some(s) => StoreError::InvalidEdit(format!(
                        "edit {seq} is {s}; only pending, rejected or conflicted edits can be discarded"
                    )),
                });
            }
            Ok(())
        })
    }

    /// Counts per state, for the status line.
    pub fn outbox_counts(&self) -> Result<Vec<(OutboxState, i64)>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT state, count(*) FROM outbox GROUP BY state")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (s, n) = row?;
            if let Some(state) = OutboxState::parse(&s) {
                out.push((state, n));
            }
        }
        Ok(out)
    }
}

/// An edit's current state, inside the transaction that is about to move it.
fn state_of(tx: &rusqlite::Transaction<'_>, seq: i64) -> Result<OutboxState> {
    let state: Option<String> = tx
        .query_row("SELECT state FROM outbox WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .optional()?;
    state
        .as_deref()
        .and_then(OutboxState::parse)
        .ok_or(StoreError::NoSuchOutboxEntry(seq))
}

/// What every queued edit needs: a reason, and a patch of fields.
fn check_edit(patch: &serde_json::Value, reason: &str) -> Result<()> {
    if reason.trim().is_empty() {
        return Err(StoreError::InvalidEdit("an edit needs a reason".into()));
    }
    if !patch.is_object() {
        return Err(StoreError::InvalidEdit(
            "the patch must be a JSON object of fields".into(),
        ));
    }
    Ok(())
}

const SELECT_OUTBOX: &str = "SELECT seq, idempotency_key, entity_id, base_version, patch, reason,
    actor, state, detail, created_at, updated_at FROM outbox";

fn row_to_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxEntry> {
    let bad = |i: usize, e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e)
    };
    let entity: String = r.get(2)?;
    let patch: String = r.get(4)?;
    let state: String = r.get(7)?;
    Ok(OutboxEntry {
        seq: r.get(0)?,
        idempotency_key: r.get(1)?,
        entity: entity.parse().map_err(|e| bad(2, Box::new(e)))?,
        base_version: r.get(3)?,
        patch: serde_json::from_str(&patch).map_err(|e| bad(4, Box::new(e)))?,
        reason: r.get(5)?,
        actor: r.get(6)?,
        state: OutboxState::parse(&state)
            .ok_or_else(|| bad(7, format!("state {state:?}").into()))?,
        detail: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

impl Store {
    /// Moves a sent edit onto a newer base version after a three-way merge found no field
    /// that both sides changed: it is resent against `base_version` (with a key derived from
    /// it, so a crash and resend cannot apply it twice).
    pub fn rebase_outbox_edit(&mut self, seq: i64, base_version: u64) -> Result<()> {
        self.write(|tx, _| {
            let n = tx.execute(
                "UPDATE outbox SET base_version = ?2, updated_at = ?3 WHERE seq = ?1 AND state = 'sent'",
                params![seq, base_version, jiff::Timestamp::now().to_string()],
            )?;
            if n == 0 {
                return Err(StoreError::NoSuchOutboxEntry(seq));
            }
            Ok(())
        })
    }

    /// Whether another connection (the console) committed something since the last call:
    /// a cheap check that lets the pusher sleep instead of polling the outbox.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn()
            .pragma_query_value(None, "data_version", |r| r.get(0))?)
    }
}
