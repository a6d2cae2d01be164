//! Loading the foundation's generated catalog into a store as an import: every entity becomes
//! version 1 with a revision whose source is `import`, written in batches (one transaction
//! each) in the generator's order, which creates what is referenced before what references it.

use std::time::{Duration, Instant};

use liner::generate::{CatalogSpec, Generator};
use liner::model::ChangeOp;

use crate::catalog;
use crate::store::{CatalogStore, WriteOutcome};

/// What a seed did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub entities: u64,
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
}

/// Seeds `recordings` generated recordings (with their parties, works and releases).
pub async fn seed(
    store: &dyn CatalogStore,
    recordings: u64,
    seed: u64,
    mut progress: impl FnMut(u64),
) -> Result<SeedReport, SeedError> {
    let started = Instant::now();
    let mut entities = 0;
    let mut head = 0;
    for batch in Generator::new(CatalogSpec::new(recordings, seed), 2_000) {
        let mut writes = Vec::with_capacity(batch.changes.len());
        for change in &batch.changes {
            let ChangeOp::Upsert(entity) = &change.op else {
                continue;
            };
            let revision = change
                .revision
                .clone()
                .unwrap_or_else(|| liner::model::Revision {
                    version: 1,
                    actor: "import".into(),
                    source: liner::model::Source {
                        kind: liner::model::SourceKind::Import,
                        reference: None,
                    },
                    reason: "seed".into(),
                    at: jiff::Timestamp::now(),
                    diff: Vec::new(),
                });
            writes.push(
                catalog::import(entity, revision).map_err(|e| SeedError::Invalid {
                    id: change.id.to_string(),
                    field: e.field,
                    rule: e.rule,
                })?,
            );
        }
        let n = writes.len() as u64;
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
            WriteOutcome::Replay(_) => {}
        }
        entities += n;
        progress(entities);
    }
    Ok(SeedReport {
        entities,
        head,
        elapsed: started.elapsed(),
    })
}
