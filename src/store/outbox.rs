//! The outbox: local edits waiting for, or answered by, the upstream.
//!
//! The console writes rows here and nothing else; the daemon's pusher moves them through
//! their states. States are durable and only move along the allowed edges, so a crash at any
//! point leaves every edit in a state that says what to do next, and the idempotency key
//! assigned at creation is the one every resend uses. How the upstream answered is one typed
//! [`EditOutcome`] in its versioned encoding; an answered state always has one, and its kind
//! always matches the state.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Result, Store, StoreError};
use crate::model::{Conflict, EntityId};
use crate::protocol::{EditOutcome, FieldError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Saved locally, not yet sent (or to be resent).
    Pending,
    /// Sent; the answer has not been recorded yet. Resending uses the same key.
    Sent,
    /// Upstream accepted it.
    Accepted,
    /// Upstream refused it (validation, permission); its outcome holds the reasons.
    Rejected,
    /// Someone else changed the same thing (or the entity is gone); a person has to choose.
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

    /// Whether `outcome` is what an edit in this state holds: none while it waits or is out,
    /// and one of the state's own kind once answered.
    pub fn holds(self, outcome: Option<&EditOutcome>) -> bool {
        use OutboxState::*;
        matches!(
            (self, outcome),
            (Pending | Sent, None)
                | (
                    Accepted,
                    Some(EditOutcome::Accepted { .. } | EditOutcome::AlreadyThere { .. })
                )
                | (Rejected, Some(EditOutcome::Rejected { .. }))
                | (
                    Conflicted,
                    Some(EditOutcome::Conflicted { .. } | EditOutcome::Gone { .. })
                )
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
    /// How the upstream answered, once it has.
    pub outcome: Option<EditOutcome>,
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

    /// Moves an edit to `to` with the outcome that state holds, refusing edges the state
    /// machine does not have and outcomes of another kind.
    pub fn set_outbox_state(
        &mut self,
        seq: i64,
        to: OutboxState,
        outcome: Option<&EditOutcome>,
    ) -> Result<()> {
        if !to.holds(outcome) {
            return Err(StoreError::InvalidEdit(format!(
                "edit {seq}: a {} edit cannot hold {outcome:?}",
                to.as_str()
            )));
        }
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
                "UPDATE outbox SET state = ?2, outcome = ?3, updated_at = ?4 WHERE seq = ?1",
                params![
                    seq,
                    to.as_str(),
                    outcome.map(EditOutcome::encode),
                    jiff::Timestamp::now().to_string()
                ],
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
                 state = 'pending', outcome = NULL, updated_at = ?6 WHERE seq = ?1",
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
    actor, state, outcome, created_at, updated_at FROM outbox";

fn row_to_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxEntry> {
    let bad = |i: usize, e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e)
    };
    let entity: String = r.get(2)?;
    let patch: String = r.get(4)?;
    let state: String = r.get(7)?;
    let outcome: Option<String> = r.get(8)?;
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
        outcome: outcome
            .map(|o| EditOutcome::decode(&o))
            .transpose()
            .map_err(|e| bad(8, Box::new(e)))?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

impl Store {
    /// Moves a sent edit onto a newer base version after a three-way merge found nothing
    /// that both sides changed differently: `patch` is the edit merged with what changed
    /// upstream, resent against `base_version` (with a key derived from it, so a crash and
    /// resend cannot apply it twice).
    pub fn rebase_outbox_edit(
        &mut self,
        seq: i64,
        base_version: u64,
        patch: &Map<String, Value>,
    ) -> Result<()> {
        let patch = Value::Object(patch.clone()).to_string();
        self.write(|tx, _| {
            let n = tx.execute(
                "UPDATE outbox SET base_version = ?2, patch = ?3, updated_at = ?4
                 WHERE seq = ?1 AND state = 'sent'",
                params![seq, base_version, patch, jiff::Timestamp::now().to_string()],
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

/// Rewrites the outcomes an outbox kept as text before they were typed (migration 6): the
/// prose of an accepted edit, a 422's field errors as JSON or its raw body, a 403's words, a
/// `{"gone"}` object and a conflict object with base, mine and theirs per field.
pub(crate) fn type_legacy_outcomes(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    let rows: Vec<(i64, String, Option<String>, String, u64)> = {
        let mut stmt =
            tx.prepare("SELECT seq, state, outcome, patch, base_version FROM outbox ORDER BY seq")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    for (seq, state, text, patch, base_version) in rows {
        let state = OutboxState::parse(&state).ok_or_else(|| StoreError::Body {
            what: format!("outbox entry {seq}"),
            reason: format!("state {state:?}"),
        })?;
        let patch: Map<String, Value> = serde_json::from_str(&patch).unwrap_or_default();
        let outcome = legacy_outcome(state, text.as_deref(), &patch, base_version);
        tx.execute(
            "UPDATE outbox SET outcome = ?2 WHERE seq = ?1",
            params![seq, outcome.as_ref().map(EditOutcome::encode)],
        )?;
    }
    Ok(())
}

/// What a legacy `detail` text said, typed.
pub(crate) fn legacy_outcome(
    state: OutboxState,
    text: Option<&str>,
    patch: &Map<String, Value>,
    base_version: u64,
) -> Option<EditOutcome> {
    let text = text.unwrap_or("");
    let number_after = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    match state {
        OutboxState::Pending | OutboxState::Sent => None,
        OutboxState::Accepted => Some(
            match (
                number_after("accepted as version "),
                number_after("upstream already had these values at version "),
            ) {
                (Some(version), _) => EditOutcome::Accepted { version },
                (None, Some(version)) => EditOutcome::AlreadyThere { version },
                // The version is unknown: nothing for the mirror to wait for.
                (None, None) => EditOutcome::AlreadyThere { version: 0 },
            },
        ),
        OutboxState::Rejected => {
            let errors: Option<Vec<FieldError>> = serde_json::from_str(text).ok();
            Some(match errors {
                Some(errors) => EditOutcome::Rejected {
                    status: 422,
                    detail: match errors.as_slice() {
                        [one] => one.to_string(),
                        many => format!("{} fields failed validation", many.len()),
                    },
                    errors,
                },
                None => EditOutcome::Rejected {
                    status: 0,
                    detail: if text.is_empty() {
                        "refused by the upstream".into()
                    } else {
                        text.to_owned()
                    },
                    errors: Vec::new(),
                },
            })
        }
        OutboxState::Conflicted => {
            let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            if let Some(gone) = v.get("gone").and_then(Value::as_str) {
                return Some(EditOutcome::Gone {
                    detail: gone.to_owned(),
                    version: None,
                });
            }
            let mut merged = patch.clone();
            let conflicts: Vec<Conflict> = v
                .get("fields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|f| {
                    let field = f.get("field").and_then(Value::as_str).unwrap_or("?");
                    let side = |k: &str| f.get(k).filter(|v| !v.is_null()).cloned();
                    merged.insert(field.to_owned(), side("theirs").unwrap_or(Value::Null));
                    Conflict {
                        field: field.to_owned(),
                        item: None,
                        base: side("base"),
                        mine: side("mine"),
                        theirs: side("theirs"),
                        theirs_by: None,
                    }
                })
                .collect();
            Some(EditOutcome::Conflicted {
                base_version: v
                    .get("base_version")
                    .and_then(Value::as_u64)
                    .unwrap_or(base_version),
                their_version: v
                    .get("their_version")
                    .and_then(Value::as_u64)
                    .unwrap_or(base_version),
                conflicts,
                merged,
            })
        }
    }
}
