//! Loading the foundation's generated catalog into a store: every entity is created as version
//! 1 by its import revision, and a recording the generator edited afterwards is then written
//! once per edit, each version with the revision that made it, so the service's history and
//! feed hold what a real desk's would. Batches (one transaction each) follow the generator's
//! order, which creates what is referenced before what references it.

use std::time::{Duration, Instant};

use liner::generate::{CatalogSpec, Generator};
use liner::model::{ChangeOp, Entity, Revision, Source, SourceKind};
use serde_json::Value;

use crate::catalog;
use crate::store::{CatalogStore, Expect, WriteOutcome};

/// What a seed did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub entities: u64,
    /// Revisions written: one per entity, and one more per edit of an edited recording.
    pub revisions: u64,
    pub head: u64,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("generated {id} does not validate: {field}: {rule}")]
    Invalid {
        id: String,
        field: String,
        rule: String,
    },
    #[error("the catalog already holds {id}: seed into an empty catalog")]
    NotEmpty { id: String },
    #[error("generated {id} names {missing}, which does not exist")]
    Missing { id: String, missing: String },
    #[error("generated {id} holds {held}, which {holder} already holds")]
    IdentifierTaken {
        id: String,
        held: String,
        holder: String,
    },
}

/// Seeds the generated catalog `spec` describes (recordings with their parties, works and
/// releases, and with [`CatalogSpec::with_history`] their edits).
pub async fn seed(
    store: &dyn CatalogStore,
    spec: CatalogSpec,
    mut progress: impl FnMut(u64),
) -> Result<SeedReport, SeedError> {
    let started = Instant::now();
    let mut entities = 0;
    let mut revisions = 0;
    let mut head = 0;
    for batch in Generator::new(spec, 2_000) {
        let mut writes = Vec::with_capacity(batch.changes.len());
        let mut batch_entities = 0;
        for change in &batch.changes {
            let ChangeOp::Upsert(entity) = &change.op else {
                continue;
            };
            let invalid = |e: catalog::FieldError| SeedError::Invalid {
                id: change.id.to_string(),
                field: e.field,
                rule: e.rule,
            };
            let mut revisions: Vec<Revision> = change.history.clone();
            revisions.extend(change.revision.clone());
            if revisions.is_empty() {
                revisions.push(Revision {
                    version: 1,
                    actor: "import".into(),
                    source: Source {
                        kind: SourceKind::Import,
                        reference: None,
                    },
                    reason: "seed".into(),
                    at: jiff::Timestamp::now(),
                    diff: Vec::new(),
                    unknown: Default::default(),
                });
            }
            batch_entities += 1;
            let states = states_before(entity, &revisions).map_err(invalid)?;
            for (k, (state, revision)) in states.iter().zip(revisions).enumerate() {
                let mut write = catalog::import(state, revision).map_err(invalid)?;
                if k > 0 {
                    write.expect = Expect::Version(k as u64);
                }
                writes.push(write);
            }
        }
        let n = writes.len() as u64;
        revisions += n;
        let ids: Vec<String> = writes.iter().map(|w| w.id.to_string()).collect();
        match store.write(writes, None).await? {
            WriteOutcome::Committed { head: h, .. } => head = h,
            WriteOutcome::Stale { index, .. } => {
                return Err(SeedError::NotEmpty {
                    id: ids[index].clone(),
                });
            }
            WriteOutcome::MissingReferences {
                index,
                ids: missing,
            } => {
                return Err(SeedError::Missing {
                    id: ids[index].clone(),
                    missing: missing
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            // A seed deletes nothing, so nothing it writes can be refused for being named.
            WriteOutcome::StillReferenced { index, .. } => {
                return Err(SeedError::NotEmpty {
                    id: ids[index].clone(),
                });
            }
            // The generator gives every identifier one holder; a catalog seeded into one that
            // is not empty can meet its own values again.
            WriteOutcome::IdentifierTaken {
                index,
                scheme,
                value,
                holder,
            } => {
                return Err(SeedError::IdentifierTaken {
                    id: ids[index].clone(),
                    held: format!("{scheme} {value}"),
                    holder: holder.to_string(),
                });
            }
            WriteOutcome::Replay(_) => {}
        }
        entities += batch_entities;
        progress(entities);
    }
    Ok(SeedReport {
        entities,
        revisions,
        head,
        elapsed: started.elapsed(),
    })
}

/// The entity at each revision's version, from its final state and the revisions' diffs:
/// each diff's old values, put back newest first, give the state before it.
fn states_before(
    last: &Entity,
    revisions: &[Revision],
) -> Result<Vec<Entity>, catalog::FieldError> {
    let bad = |e: String| catalog::FieldError::new("data", e);
    let mut value = last.to_json().map_err(|e| bad(e.to_string()))?;
    let mut states = vec![last.clone()];
    for rev in revisions.iter().skip(1).rev() {
        if let Some(fields) = value.as_object_mut() {
            for change in &rev.diff {
                match &change.old {
                    Some(old) => {
                        fields.insert(change.field().to_owned(), old.value());
                    }
                    None => {
                        fields.remove(change.field());
                    }
                }
            }
        }
        let state = Entity::from_json(last.id().kind(), &value.to_string())
            .map_err(|(field, rule)| catalog::FieldError::new(field, rule))?;
        states.push(state);
        value = states
            .last()
            .map_or(Value::Null, |e| e.to_json().unwrap_or(Value::Null));
    }
    states.reverse();
    Ok(states)
}
