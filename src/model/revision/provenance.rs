//! Which revision made each credit what it is: what support staff read when a credit is
//! disputed. Credits are followed by identity through their list's edits (a role corrected is
//! the same credit, changed), so a credit's provenance is the newest revision that added or
//! changed it; a credit no revision's diff mentions came with the first revision.

use rustc_hash::FxHashMap;
use serde_json::Value;

use super::items::{ItemOp, Key, ListField, keyed, ops};
use super::merge::Author;
use super::{RawJson, Revision};

/// Who added or last changed a credit, when, from where and why.
pub type Provenance = Author;

/// For each item of `current` (a recording's credits, or a work's writers, as their list
/// field), the revision that made it as it is, from the entity's `history` (oldest first).
pub fn provenance(
    list: ListField,
    current: &[Value],
    history: &[Revision],
) -> Vec<Option<Provenance>> {
    let mut sorted: Vec<&Revision> = history.iter().collect();
    sorted.sort_by_key(|r| r.version);
    // Each edit of the list, parsed once: the keys below borrow from these.
    let list_of = |v: &Option<RawJson>| match v.as_ref().map(RawJson::value) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let edits: Vec<(&Revision, Vec<Value>, Vec<Value>)> = sorted
        .iter()
        .flat_map(|rev| {
            rev.diff
                .iter()
                .filter(|c| c.field() == list.name())
                .map(|c| (*rev, list_of(&c.old), list_of(&c.new)))
        })
        .collect();
    let mut made: FxHashMap<Key<'_>, &Revision> = FxHashMap::default();
    for (rev, old, new) in &edits {
        for op in ops(list, old, new) {
            match op {
                ItemOp::Add(k, _) => {
                    made.insert(k, rev);
                }
                ItemOp::Remove(k) => {
                    made.remove(&k);
                }
                ItemOp::Change { from, key, .. } => {
                    made.remove(&from);
                    made.insert(key, rev);
                }
            }
        }
    }
    let first = sorted.first();
    keyed(list, current)
        .into_iter()
        .map(|(k, _)| made.get(&k).or(first).map(|r| Author::of(r)))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::{FieldChange, Source, SourceKind};

    fn rev(version: u64, actor: &str, old: Value, new: Value) -> Revision {
        Revision {
            version,
            actor: actor.into(),
            source: Source {
                kind: SourceKind::Editor,
                reference: None,
            },
            reason: "why".into(),
            at: jiff::Timestamp::UNIX_EPOCH,
            diff: if version == 1 {
                Vec::new()
            } else {
                vec![FieldChange {
                    path: "/credits".into(),
                    old: Some(old.into()),
                    new: Some(new.into()),
                }]
            },
            unknown: Default::default(),
        }
    }

    #[test]
    fn each_credit_names_the_revision_that_made_it() {
        let c = |p: &str, r: &str| json!({"party": p, "role": r});
        let v1 = json!([c("a", "producer"), c("b", "vocalist")]);
        let v2 = json!([c("a", "producer"), c("b", "vocalist"), c("d", "performer")]);
        let v3 = json!([
            c("a", "mixing_engineer"),
            c("b", "vocalist"),
            c("d", "performer")
        ]);
        let history = [
            rev(1, "import", Value::Null, Value::Null),
            rev(2, "ann", v1, v2.clone()),
            rev(3, "bo", v2, v3.clone()),
        ];
        let current = v3.as_array().cloned().unwrap_or_default();
        let by: Vec<_> = provenance(ListField::Credits, &current, &history)
            .into_iter()
            .map(|p| p.map(|a| (a.version, a.actor)))
            .collect();
        assert_eq!(
            by,
            [
                Some((3, "bo".to_owned())),
                Some((1, "import".to_owned())),
                Some((2, "ann".to_owned()))
            ]
        );
    }
}
