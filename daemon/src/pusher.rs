//! The outbox pusher: sends local edits upstream in order, exactly once, and records what the
//! upstream said as a typed [`EditOutcome`] in the outbox.
//!
//! Each edit is marked `sent` before it goes out and resent with the same idempotency key
//! (derived from the row's key and base version) after a crash or a network error, so the
//! upstream applies it once. A stale base (412) is merged three-way against the upstream's
//! history with the model's own merge ([`liner::model::merge`]): credits and writers item by
//! item, other fields whole. What merges cleanly is rebased onto the current version and sent
//! again, as merged; what is upstream already is done; what clashes becomes `conflicted` with
//! base, mine and theirs per conflict and who made theirs, for a person. A history with a gap,
//! or any answer that does not decode, leaves the edit `sent` and is retried: nothing is ever
//! rebased onto a state the pusher has not seen. A 422, 403 or 409 (an identifier another
//! entity holds) makes it `rejected` with the upstream's words. Later edits of an entity wait
//! while an earlier one is conflicted or rejected.
//!
//! The mirror is SQLite: the pusher reaches it on a blocking thread, never on the runtime's.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use liner::model::{EntityId, Merge, merge};
use liner::protocol::EditOutcome;
use liner::store::{OutboxEntry, OutboxState, Store, StoreError};
use rand::SeedableRng as _;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::client::{FetchError, PatchOutcome, Upstream};
use crate::status::StatusFile;

#[derive(Debug, thiserror::Error)]
enum PushError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("the local mirror failed: {0}")]
    Store(#[from] StoreError),
}

pub struct Pusher {
    pub store: Arc<Mutex<Store>>,
    pub upstream: Upstream,
    pub status: std::sync::Arc<StatusFile>,
    pub max_backoff: Duration,
}

impl std::fmt::Debug for Pusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pusher").finish_non_exhaustive()
    }
}

impl Pusher {
    /// Runs `f` on the mirror on a blocking thread.
    async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut s = store.lock().map_err(|_| {
                StoreError::InvalidEdit("the pusher's mirror lock was poisoned by a panic".into())
            })?;
            f(&mut s)
        })
        .await
        .map_err(|e| StoreError::InvalidEdit(format!("a blocking mirror task failed: {e}")))?
    }

    /// Records an answered state.
    async fn record(
        &self,
        seq: i64,
        state: OutboxState,
        outcome: EditOutcome,
    ) -> Result<Option<OutboxState>, StoreError> {
        self.with_store(move |s| s.set_outbox_state(seq, state, Some(&outcome)))
            .await?;
        Ok(Some(state))
    }

    /// Pushes until cancelled. The outbox is checked when another process committed to the
    /// mirror (SQLite's data_version), at most twice a second, so an idle daemon stays idle.
    pub async fn run(self, cancel: CancellationToken) -> anyhow::Result<()> {
        let mut backoff = Backoff::new(Duration::from_millis(500), self.max_backoff);
        let mut rng = rand::rngs::SmallRng::from_os_rng();
        let mut seen_version = None;
        let mut work_left = true;
        loop {
            if !work_left {
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
                let v = self.with_store(|s| s.data_version()).await?;
                if seen_version == Some(v) {
                    continue;
                }
                seen_version = Some(v);
            }
            if cancel.is_cancelled() {
                return Ok(());
            }
            match self.push_all(&cancel).await {
                Ok(()) => {
                    backoff.reset();
                    work_left = false;
                }
                Err(PushError::Store(e)) => return Err(e.into()),
                Err(PushError::Fetch(e)) => {
                    // A wait the upstream asked for is kept as asked, not guessed at: it is
                    // a budget, not an outage.
                    let delay = e
                        .retry_after()
                        .unwrap_or_else(|| backoff.next_delay(&mut rng));
                    tracing::warn!(error = %e, retry_in = ?delay, "pushing edits failed");
                    self.status
                        .update(|s| s.last_error = Some(format!("pushing edits: {e}")));
                    work_left = true;
                    tokio::select! {
                        _ = cancel.cancelled() => return Ok(()),
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }

    /// Pushes every sendable edit in queue order. An edit of an entity waits while an earlier
    /// one of it is conflicted, rejected or not answered yet; an edit the upstream could not
    /// answer properly holds back its entity only, and the first such error is returned (for a
    /// retry with backoff) once every other entity's edits had their turn.
    async fn push_all(&self, cancel: &CancellationToken) -> Result<(), PushError> {
        let entries = self.with_store(|s| s.outbox(None)).await?;
        let mut blocked: HashSet<EntityId> = HashSet::new();
        let mut failed: Option<FetchError> = None;
        for entry in entries {
            if cancel.is_cancelled() {
                break;
            }
            match entry.state {
                OutboxState::Conflicted | OutboxState::Rejected => {
                    blocked.insert(entry.entity);
                }
                OutboxState::Pending | OutboxState::Sent if !blocked.contains(&entry.entity) => {
                    let entity = entry.entity;
                    match self.push_one(entry).await {
                        Ok(Some(OutboxState::Accepted)) => {}
                        Ok(_) => {
                            blocked.insert(entity);
                        }
                        Err(PushError::Fetch(e)) if e.retry_after().is_some() => {
                            // The token's budget is spent: every further edit would be
                            // refused alike. All of them wait the time asked.
                            tracing::info!(error = %e, "the upstream asked to slow down");
                            return Err(e.into());
                        }
                        Err(PushError::Fetch(e)) => {
                            tracing::warn!(%entity, error = %e, "an edit could not be sent; later ones of it wait");
                            blocked.insert(entity);
                            failed.get_or_insert(e);
                        }
                        Err(store) => return Err(store),
                    }
                }
                _ => {}
            }
        }
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// Sends one edit (rebasing it as often as the merge allows) and records the outcome.
    async fn push_one(&self, mut entry: OutboxEntry) -> Result<Option<OutboxState>, PushError> {
        let seq = entry.seq;
        if entry.state == OutboxState::Pending {
            match self
                .with_store(move |s| s.set_outbox_state(seq, OutboxState::Sent, None))
                .await
            {
                // Discarded in the console since the queue was read: nothing to send.
                Err(StoreError::NoSuchOutboxEntry(_)) => return Ok(None),
                other => other?,
            }
        }
        let Some(mut patch) = entry.patch.as_object().cloned() else {
            let outcome = EditOutcome::Rejected {
                status: 0,
                detail: "the edit is not a field patch (an object of fields)".into(),
                errors: Vec::new(),
            };
            return Ok(self.record(seq, OutboxState::Rejected, outcome).await?);
        };
        // A few rebases at most: each needs someone else to have written in between.
        for _ in 0..5 {
            let key = format!("{}-{}", entry.idempotency_key, entry.base_version);
            let outcome = self
                .upstream
                .patch(
                    &entry.entity,
                    entry.base_version,
                    &key,
                    &entry.reason,
                    &patch,
                )
                .await?;
            let stale = match outcome {
                PatchOutcome::Accepted { version } => {
                    let outcome = EditOutcome::Accepted { version };
                    return Ok(self.record(seq, OutboxState::Accepted, outcome).await?);
                }
                PatchOutcome::Rejected(problem) => {
                    let outcome = EditOutcome::Rejected {
                        status: problem.status,
                        detail: problem.detail,
                        errors: problem.errors,
                    };
                    return Ok(self.record(seq, OutboxState::Rejected, outcome).await?);
                }
                PatchOutcome::Gone { detail, version } => {
                    let outcome = EditOutcome::Gone { detail, version };
                    return Ok(self.record(seq, OutboxState::Conflicted, outcome).await?);
                }
                PatchOutcome::Stale { version, data } => (version, data),
            };
            let (version, current) = stale;
            let history = self.upstream.history(&entry.entity).await?;
            let merged = merge(&patch, entry.base_version, version, &current, &history)
                .map_err(|e| FetchError::Garbled(format!("merging edit {seq}: {e}")))?;
            match merged {
                Merge::Rebase(rebased) => {
                    tracing::info!(
                        seq,
                        from = entry.base_version,
                        to = version,
                        "rebasing an edit onto the current version"
                    );
                    let stored = rebased.clone();
                    self.with_store(move |s| s.rebase_outbox_edit(seq, version, &stored))
                        .await?;
                    entry.base_version = version;
                    entry.patch = Value::Object(rebased.clone());
                    patch = rebased;
                }
                Merge::AlreadyThere => {
                    let outcome = EditOutcome::AlreadyThere { version };
                    return Ok(self.record(seq, OutboxState::Accepted, outcome).await?);
                }
                Merge::Conflict { conflicts, merged } => {
                    let outcome = EditOutcome::Conflicted {
                        base_version: entry.base_version,
                        their_version: version,
                        conflicts,
                        merged,
                    };
                    return Ok(self.record(seq, OutboxState::Conflicted, outcome).await?);
                }
            }
        }
        // Still moving under us: leave it sent; the next round tries again.
        Ok(None)
    }
}
