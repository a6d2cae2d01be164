//! The write plan: what a batch of writes does, decided once, as a pure function, over what a
//! backend looked up. Both backends ask [`Lookup::of`] which rows to read, read them in their
//! transaction, and execute the [`Planned`] writes [`plan`] returns (or answer its
//! [`Refusal`]); neither decides anything itself. So the expected-version check, the reference
//! checks (what a write names must exist; what is still named must not be deleted), the
//! identifier check (an ISRC, ISWC, ISNI or IPI another live entity holds is refused, one the
//! entity already holds is kept even when an old duplicate shares it) and the new version are
//! one rule, not one per backend.

use std::collections::{BTreeSet, HashMap, HashSet};

use liner::model::EntityId;

use super::identifiers::Held;
use super::{Expect, Write, WriteOp};

/// An entity's row as a plan needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Current {
    pub version: u64,
    pub deleted: bool,
}

impl Expect {
    /// Whether `current` (the stored row, tombstone included) is what this write expects.
    pub fn holds(self, current: Option<Current>) -> bool {
        match self {
            Expect::Absent => current.is_none(),
            Expect::Version(v) => current.is_some_and(|c| !c.deleted && c.version == v),
        }
    }

    /// The version a write that expects this gets: the one place a new version is computed.
    pub fn next_version(self) -> u64 {
        match self {
            Expect::Absent => 1,
            Expect::Version(v) => v + 1,
        }
    }
}

/// What a backend must read before planning a batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// Rows to read: every id written and every id a write names.
    pub rows: Vec<EntityId>,
    /// Ids whose referrers to read from the reverse-reference index: every id deleted.
    pub referrers: Vec<EntityId>,
    /// Identifiers whose holders to read from the identifier index: every one a write holds,
    /// in order (PostgreSQL locks them in this order).
    pub identifiers: Vec<Held>,
}

impl Lookup {
    pub fn of(writes: &[Write]) -> Lookup {
        let mut rows: Vec<EntityId> = writes
            .iter()
            .flat_map(|w| std::iter::once(w.id).chain(w.references.iter().copied()))
            .collect();
        rows.sort_unstable();
        rows.dedup();
        let mut referrers: Vec<EntityId> = writes
            .iter()
            .filter(|w| matches!(w.op, WriteOp::Delete))
            .map(|w| w.id)
            .collect();
        referrers.sort_unstable();
        referrers.dedup();
        let mut identifiers: Vec<Held> = writes
            .iter()
            .flat_map(|w| w.identifiers.iter().cloned())
            .collect();
        identifiers.sort_unstable();
        identifiers.dedup();
        Lookup {
            rows,
            referrers,
            identifiers,
        }
    }
}

/// What the backend found for a [`Lookup`].
#[derive(Debug, Default, Clone)]
pub struct Found {
    /// The rows that exist (tombstones included); an id missing here has no row.
    pub rows: HashMap<EntityId, Current>,
    /// For each id asked, the live entities whose references name it.
    pub referrers: HashMap<EntityId, Vec<EntityId>>,
    /// For each identifier asked, the live entities the index says hold it; one missing here
    /// has none.
    pub holders: HashMap<Held, Vec<EntityId>>,
}

/// One write as it will be executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Its place in the batch.
    pub index: usize,
    pub id: EntityId,
    pub version: u64,
    /// Whether the row is new (an insert) rather than an update of an existing row.
    pub insert: bool,
    /// Whether the write leaves the entity deleted.
    pub deleted: bool,
    /// The reverse-reference rows to replace: the ids this entity names from now on (none
    /// when deleted), replacing whatever it named before.
    pub references: Vec<EntityId>,
    /// The identifier index rows to replace: what this entity holds from now on (none when
    /// deleted, which frees them).
    pub identifiers: Vec<Held>,
}

/// Why a batch is refused whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A write expected another version (or absence) than the row it found.
    Stale { index: usize },
    /// A write names entities that do not exist or are deleted.
    MissingReferences { index: usize, ids: Vec<EntityId> },
    /// A delete of an entity others still name.
    StillReferenced { index: usize, by: Vec<EntityId> },
    /// A write holds an identifier another live entity holds (the first by id, if several).
    IdentifierTaken {
        index: usize,
        held: Held,
        holder: EntityId,
    },
}

impl Refusal {
    /// The batch's answer for this refusal, or, for a stale write, its index: that answer
    /// carries the entity's current row, which each backend reads its own way.
    pub fn outcome(self) -> Result<super::WriteOutcome, usize> {
        use super::WriteOutcome;
        Ok(match self {
            Refusal::Stale { index } => return Err(index),
            Refusal::MissingReferences { index, ids } => {
                WriteOutcome::MissingReferences { index, ids }
            }
            Refusal::StillReferenced { index, by } => WriteOutcome::StillReferenced { index, by },
            Refusal::IdentifierTaken {
                index,
                held,
                holder,
            } => WriteOutcome::IdentifierTaken {
                index,
                scheme: held.scheme,
                value: held.value,
                holder,
            },
        })
    }
}

/// Plans `writes` in order over what was `found`: each write sees the ones before it in the
/// batch (a batch may create a party and then a recording that credits it).
pub fn plan(writes: &[Write], found: &Found) -> Result<Vec<Planned>, Refusal> {
    let mut rows = found.rows.clone();
    // Entities written in this batch, with what they name now (empty when deleted).
    let mut names: HashMap<EntityId, &[EntityId]> = HashMap::new();
    // The same for identifiers: what each entity written so far holds now, and by value.
    let mut holds: HashMap<EntityId, &[Held]> = HashMap::new();
    let mut batch_holders: HashMap<&Held, BTreeSet<EntityId>> = HashMap::new();
    let mut out = Vec::with_capacity(writes.len());
    for (index, w) in writes.iter().enumerate() {
        let current = rows.get(&w.id).copied();
        if !w.expect.holds(current) {
            return Err(Refusal::Stale { index });
        }
        let deleted = matches!(w.op, WriteOp::Delete);
        if !deleted {
            let missing: Vec<EntityId> = w
                .references
                .iter()
                .filter(|r| rows.get(r).is_none_or(|c| c.deleted))
                .copied()
                .collect();
            if !missing.is_empty() {
                return Err(Refusal::MissingReferences {
                    index,
                    ids: missing,
                });
            }
            if let Some((held, holder)) = taken(w, found, &holds, &batch_holders) {
                return Err(Refusal::IdentifierTaken {
                    index,
                    held: held.clone(),
                    holder,
                });
            }
        } else {
            let by = live_referrers(w.id, found, &names, &rows);
            if !by.is_empty() {
                return Err(Refusal::StillReferenced { index, by });
            }
        }
        let version = w.expect.next_version();
        rows.insert(w.id, Current { version, deleted });
        names.insert(
            w.id,
            if deleted {
                &[]
            } else {
                w.references.as_slice()
            },
        );
        let now_holds: &[Held] = if deleted { &[] } else { &w.identifiers };
        for before in holds.insert(w.id, now_holds).unwrap_or_default() {
            if let Some(set) = batch_holders.get_mut(before) {
                set.remove(&w.id);
            }
        }
        for held in now_holds {
            batch_holders.entry(held).or_default().insert(w.id);
        }
        out.push(Planned {
            index,
            id: w.id,
            version,
            // `rows` already holds what earlier writes of the batch did: a second write of one
            // id finds the first.
            insert: current.is_none(),
            deleted,
            references: if deleted {
                Vec::new()
            } else {
                w.references.clone()
            },
            identifiers: now_holds.to_vec(),
        });
    }
    Ok(out)
}

/// The first identifier `w` holds that another live entity holds now, with that holder (the
/// first by id). Holders now are the stored ones this batch has not rewritten, and the
/// entities this batch wrote that hold it. A value the entity itself holds now is kept, even
/// when an old duplicate shares it: refusing it would stop every edit of both holders.
fn taken<'w>(
    w: &'w Write,
    found: &Found,
    holds: &HashMap<EntityId, &[Held]>,
    batch_holders: &HashMap<&Held, BTreeSet<EntityId>>,
) -> Option<(&'w Held, EntityId)> {
    w.identifiers.iter().find_map(|held| {
        let stored = found
            .holders
            .get(held)
            .into_iter()
            .flatten()
            .filter(|h| !holds.contains_key(h));
        let now: BTreeSet<EntityId> = stored
            .chain(batch_holders.get(held).into_iter().flatten())
            .copied()
            .collect();
        if now.contains(&w.id) {
            return None;
        }
        now.first().map(|holder| (held, *holder))
    })
}

/// Who names `target` now: the stored referrers this batch has not rewritten, and the
/// entities this batch wrote that name it.
fn live_referrers(
    target: EntityId,
    found: &Found,
    names: &HashMap<EntityId, &[EntityId]>,
    rows: &HashMap<EntityId, Current>,
) -> Vec<EntityId> {
    let mut by: HashSet<EntityId> = found
        .referrers
        .get(&target)
        .into_iter()
        .flatten()
        .filter(|s| !names.contains_key(s))
        .copied()
        .collect();
    for (source, named) in names {
        if named.contains(&target) && rows.get(source).is_some_and(|c| !c.deleted) {
            by.insert(*source);
        }
    }
    let mut by: Vec<EntityId> = by.into_iter().collect();
    by.sort_unstable();
    by
}

#[cfg(test)]
mod tests {
    use liner::model::{Revision, Source, SourceKind};

    use super::*;

    fn write(id: EntityId, expect: Expect, op: WriteOp, references: Vec<EntityId>) -> Write {
        Write {
            id,
            expect,
            op,
            references,
            identifiers: Vec::new(),
            revision: Revision {
                version: 0,
                actor: "t".into(),
                source: Source {
                    kind: SourceKind::Editor,
                    reference: None,
                },
                reason: "r".into(),
                at: jiff::Timestamp::UNIX_EPOCH,
                diff: Vec::new(),
                unknown: Default::default(),
            },
        }
    }

    fn party(i: u64) -> EntityId {
        EntityId::Party(liner::generate::party_id(1, i))
    }

    fn recording(i: u64) -> EntityId {
        EntityId::Recording(liner::generate::recording_id(1, i))
    }

    fn isrc(value: &str) -> Held {
        Held::new(super::super::identifiers::Scheme::Isrc, value)
    }

    /// A recording upsert holding `ids`.
    fn holding(id: EntityId, expect: Expect, ids: &[&str]) -> Write {
        let mut w = write(id, expect, WriteOp::Upsert("{}".into()), vec![]);
        w.identifiers = ids.iter().map(|v| isrc(v)).collect();
        w
    }

    fn live(version: u64) -> Current {
        Current {
            version,
            deleted: false,
        }
    }

    #[test]
    fn a_batch_sees_its_own_earlier_writes() {
        let writes = [
            write(
                party(1),
                Expect::Absent,
                WriteOp::Upsert("{}".into()),
                vec![],
            ),
            write(
                recording(1),
                Expect::Absent,
                WriteOp::Upsert("{}".into()),
                vec![party(1)],
            ),
            write(recording(1), Expect::Version(1), WriteOp::Delete, vec![]),
            write(party(1), Expect::Version(1), WriteOp::Delete, vec![]),
        ];
        let planned = plan(&writes, &Found::default()).expect("plan");
        let versions: Vec<_> = planned.iter().map(|p| (p.version, p.insert)).collect();
        assert_eq!(versions, [(1, true), (1, true), (2, false), (2, false)]);
    }

    #[test]
    fn stale_missing_and_still_referenced_are_refused() {
        let mut found = Found::default();
        found.rows.insert(
            party(1),
            Current {
                version: 3,
                deleted: false,
            },
        );
        found.referrers.insert(party(1), vec![recording(9)]);
        let stale = [write(party(1), Expect::Version(2), WriteOp::Delete, vec![])];
        assert_eq!(plan(&stale, &found), Err(Refusal::Stale { index: 0 }));
        let missing = [write(
            recording(1),
            Expect::Absent,
            WriteOp::Upsert("{}".into()),
            vec![party(1), party(2)],
        )];
        assert_eq!(
            plan(&missing, &found),
            Err(Refusal::MissingReferences {
                index: 0,
                ids: vec![party(2)]
            })
        );
        let referenced = [write(party(1), Expect::Version(3), WriteOp::Delete, vec![])];
        assert_eq!(
            plan(&referenced, &found),
            Err(Refusal::StillReferenced {
                index: 0,
                by: vec![recording(9)]
            })
        );
    }

    #[test]
    fn an_identifier_another_entity_holds_is_refused_with_the_holder() {
        let mut found = Found::default();
        found.rows.insert(recording(1), live(1));
        found.holders.insert(isrc("A"), vec![recording(1)]);
        let second = [holding(recording(2), Expect::Absent, &["A"])];
        assert_eq!(
            plan(&second, &found),
            Err(Refusal::IdentifierTaken {
                index: 0,
                held: isrc("A"),
                holder: recording(1)
            })
        );
        // The holder keeps its own value; once it is deleted, the value is free again.
        let own = [holding(recording(1), Expect::Version(1), &["A"])];
        assert!(plan(&own, &found).is_ok());
        let freed = [
            write(recording(1), Expect::Version(1), WriteOp::Delete, vec![]),
            holding(recording(2), Expect::Absent, &["A"]),
        ];
        let planned = plan(&freed, &found).expect("freed");
        assert_eq!(planned[0].identifiers, []);
        assert_eq!(planned[1].identifiers, [isrc("A")]);
    }

    #[test]
    fn two_writes_of_one_batch_cannot_take_one_value() {
        let batch = [
            holding(recording(1), Expect::Absent, &["A"]),
            holding(recording(2), Expect::Absent, &["A"]),
        ];
        assert_eq!(
            plan(&batch, &Found::default()),
            Err(Refusal::IdentifierTaken {
                index: 1,
                held: isrc("A"),
                holder: recording(1)
            })
        );
        // The first gives it up later in the batch: then the second may take it.
        let handed_over = [
            holding(recording(1), Expect::Absent, &["A"]),
            holding(recording(1), Expect::Version(1), &["B"]),
            holding(recording(2), Expect::Absent, &["A"]),
        ];
        assert!(plan(&handed_over, &Found::default()).is_ok());
    }

    #[test]
    fn an_old_duplicate_stays_editable_but_cannot_spread() {
        let mut found = Found::default();
        for i in 1..=3 {
            found.rows.insert(recording(i), live(1));
        }
        found
            .holders
            .insert(isrc("A"), vec![recording(2), recording(1)]);
        for holder in [recording(1), recording(2)] {
            let edit = [holding(holder, Expect::Version(1), &["A"])];
            assert!(plan(&edit, &found).is_ok(), "{holder}");
        }
        let third = [holding(recording(3), Expect::Version(1), &["A"])];
        assert_eq!(
            plan(&third, &found),
            Err(Refusal::IdentifierTaken {
                index: 0,
                held: isrc("A"),
                holder: recording(1).min(recording(2))
            })
        );
    }
}
