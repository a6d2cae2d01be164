//! Documents handed from the applier to the index maintainer, so a bulk load is not read back.
//!
//! The index follows the search journal and reads each journaled entity's current state from
//! the mirror. During a bootstrap that is the whole catalog written and then read again (the
//! maintainer's reads were a fifth of a 1M load's CPU, measured). An applier that inserts a
//! new party or recording already holds exactly what the read would return, so it hands that
//! over with the journal position it got, after its transaction commits.
//!
//! The journal stays the source of truth: a chunk is served from handed documents only when
//! every entity in it has one at its last position in the chunk (the state as of then; a later
//! change has a later position, replayed later), and is read from the mirror otherwise.
//! Nothing here can be lost or stale in a way that matters: a handoff whose queue is full
//! drops the batch (the maintainer reads it instead), and a maintainer that restarts starts
//! with an empty one.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

use super::journal::JournalEntry;
use super::{Result, Store};

/// Committed batches a handoff queues before it drops further ones: a few, since the
/// maintainer takes them after every batch, and each holds thousands of documents in memory.
const QUEUED_BATCHES: usize = 16;

/// The applier's side.
pub(crate) type HandoffSender = SyncSender<Vec<(i64, JournalEntry)>>;

/// The index maintainer's side: documents by journal position.
#[derive(Debug)]
pub struct Handoff {
    queue: Receiver<Vec<(i64, JournalEntry)>>,
    held: BTreeMap<i64, JournalEntry>,
}

impl Handoff {
    /// Documents received and not yet taken by a catch-up.
    pub fn waiting(&mut self) -> usize {
        self.receive();
        self.held.len()
    }

    /// Moves what the applier has sent since into `held`.
    fn receive(&mut self) {
        while let Ok(batch) = self.queue.try_recv() {
            self.held.extend(batch);
        }
    }
}

impl Store {
    /// Starts handing this writer's new documents to the returned [`Handoff`] (replacing any
    /// earlier one).
    pub fn hand_off_documents(&mut self) -> Handoff {
        let (tx, queue) = std::sync::mpsc::sync_channel(QUEUED_BATCHES);
        self.handoff = Some(tx);
        Handoff {
            queue,
            held: BTreeMap::new(),
        }
    }

    /// Sends a committed batch's documents; a full queue drops them (they are read back).
    pub(crate) fn hand_off(&mut self, docs: Vec<(i64, JournalEntry)>) {
        if docs.is_empty() {
            return;
        }
        if let Some(tx) = &self.handoff {
            match tx.try_send(docs) {
                Ok(()) | Err(TrySendError::Full(_)) => {}
                Err(TrySendError::Disconnected(_)) => self.handoff = None,
            }
        }
    }

    /// Like [`Store::journal_entries`], served from `handoff` when it holds every entity of
    /// the chunk.
    pub fn journal_entries_handed(
        &self,
        after: i64,
        limit: usize,
        handoff: &mut Handoff,
    ) -> Result<(Vec<JournalEntry>, i64)> {
        handoff.receive();
        // Positions this catch-up is past can never be asked for again.
        handoff.held = handoff.held.split_off(&(after + 1));
        if handoff.held.is_empty() {
            return self.journal_entries(after, limit);
        }
        let rows: Vec<(i64, i64, i64)> = self
            .conn()
            .prepare_cached(
                "SELECT position, kind, entity_key FROM search_journal
                 WHERE position > ?1 ORDER BY position LIMIT ?2",
            )?
            .query_map(rusqlite::params![after, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let Some(&(upto, _, _)) = rows.last() else {
            return Ok((Vec::new(), after));
        };
        let mut last: HashMap<(i64, i64), i64> = HashMap::with_capacity(rows.len());
        for (position, kind, key) in rows {
            last.insert((kind, key), position);
        }
        if !last.values().all(|p| handoff.held.contains_key(p)) {
            // The chunk's extent is known: read just its documents.
            return Ok((self.journal_entries_through(after, upto)?, upto));
        }
        let mut positions: Vec<i64> = last.into_values().collect();
        positions.sort_unstable();
        let entries = positions
            .iter()
            .filter_map(|p| handoff.held.remove(p))
            .collect();
        Ok((entries, upto))
    }
}
