//! The merge's laws as property tests (see the module's declaration in `merge.rs`).

use proptest::prelude::*;
use serde_json::{Value, json};

use super::super::items::{ItemOp, ListField, ops};
use super::*;
use crate::model::{FieldChange, SourceKind};

const ROLES: [&str; 5] = ["producer", "vocalist", "performer", "remixer", "arranger"];

/// What one side does to one base credit.
#[derive(Debug, Clone)]
enum Touch {
    Keep,
    Remove,
    /// A new role, and perhaps a printed name with it.
    Role(usize, Option<u8>),
    Printed(u8),
}

fn touch() -> impl Strategy<Value = Touch> {
    prop_oneof![
        3 => Just(Touch::Keep),
        1 => Just(Touch::Remove),
        1 => (0..ROLES.len(), prop::option::of(0u8..3)).prop_map(|(r, p)| Touch::Role(r, p)),
        1 => (0u8..3).prop_map(Touch::Printed),
    ]
}

fn credit(party: usize, role: usize, printed: Option<u8>) -> Value {
    let mut c = json!({"party": format!("p{party}"), "role": ROLES[role]});
    if let Some(p) = printed {
        c["credited_as"] = json!(format!("as {p}"));
    }
    c
}

/// Base credits: one party each, so a role change never lands on another's identity.
fn base() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(0..ROLES.len(), 0..7).prop_map(|roles| {
        roles
            .into_iter()
            .enumerate()
            .map(|(i, r)| credit(i, r, None))
            .collect()
    })
}

/// A side's list: its touches applied to the base, then its additions appended.
fn side(base: &[Value], touches: &[Touch], adds: &[(usize, usize, Option<u8>)]) -> Vec<Value> {
    let mut out = Vec::new();
    for (c, t) in base
        .iter()
        .zip(touches.iter().chain(std::iter::repeat(&Touch::Keep)))
    {
        let mut c = c.clone();
        match t {
            Touch::Keep => {}
            Touch::Remove => continue,
            Touch::Role(r, printed) => {
                c["role"] = json!(ROLES[*r]);
                if let Some(p) = printed {
                    c["credited_as"] = json!(format!("as {p}"));
                }
            }
            Touch::Printed(p) => c["credited_as"] = json!(format!("as {p}")),
        }
        out.push(c);
    }
    for (party, role, printed) in adds {
        let c = credit(*party, *role, *printed);
        if !out
            .iter()
            .any(|o| ListField::Credits.key(o) == ListField::Credits.key(&c))
        {
            out.push(c);
        }
    }
    out
}

fn run(base: &[Value], mine: &[Value], theirs: &[Value]) -> Merge {
    let history = [Revision {
        version: 2,
        actor: "other desk".into(),
        source: Source {
            kind: SourceKind::Editor,
            reference: None,
        },
        reason: "theirs".into(),
        at: jiff::Timestamp::UNIX_EPOCH,
        diff: vec![FieldChange {
            path: "/credits".into(),
            old: Some(Value::Array(base.to_vec()).into()),
            new: Some(Value::Array(theirs.to_vec()).into()),
        }],
        unknown: Default::default(),
    }];
    let mut patch = Map::new();
    patch.insert("credits".into(), Value::Array(mine.to_vec()));
    merge(&patch, 1, 2, &json!({"credits": theirs}), &history).expect("no gap")
}

/// The merged list, whatever the outcome (theirs when every change was there already).
fn merged_list(m: &Merge, theirs: &[Value]) -> Vec<Value> {
    let list = |p: &Map<String, Value>| {
        p.get("credits")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    match m {
        Merge::AlreadyThere => theirs.to_vec(),
        Merge::Rebase(p) => list(p),
        Merge::Conflict { merged, .. } => list(merged),
    }
}

fn conflicts(m: &Merge) -> &[Conflict] {
    match m {
        Merge::Conflict { conflicts, .. } => conflicts,
        _ => &[],
    }
}

/// Whether one side's operation is in `merged`, or is a conflict about it.
fn kept(op: &ItemOp<'_>, merged: &[Value], found: &[Conflict], mine: bool) -> bool {
    let has = |v: &Value| merged.contains(v);
    let has_key = |k: &ItemKey| {
        merged.iter().any(|m| {
            ListField::Credits.key(m).party == k.party
                && ListField::Credits.key(m)
                    == ItemKey {
                        nth: 0,
                        ..k.clone()
                    }
        })
    };
    let about = |k: &ItemKey| {
        found.iter().any(|c| {
            c.item.as_ref() == Some(k)
                || c.theirs
                    .as_ref()
                    .is_some_and(|t| ListField::Credits.key(t) == *k)
                || (mine
                    && c.mine
                        .as_ref()
                        .is_some_and(|t| ListField::Credits.key(t) == *k))
        })
    };
    match op {
        ItemOp::Add(k, v) => has(v) || about(&k.owned()),
        ItemOp::Remove(k) => !has_key(&k.owned()) || about(&k.owned()),
        ItemOp::Change { from, key, to } => has(to) || about(&from.owned()) || about(&key.owned()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn disjoint_changes_both_survive(
        base in base(),
        touches in prop::collection::vec(touch(), 7),
        mine_adds in prop::collection::vec((10usize..15, 0..ROLES.len(), prop::option::of(0u8..3)), 0..3),
        their_adds in prop::collection::vec((20usize..25, 0..ROLES.len(), prop::option::of(0u8..3)), 0..3),
    ) {
        // Mine touches the even credits, theirs the odd ones; additions are new parties.
        let only = |parity: usize| -> Vec<Touch> {
            touches.iter().enumerate()
                .map(|(i, t)| if i % 2 == parity { t.clone() } else { Touch::Keep })
                .collect()
        };
        let mine = side(&base, &only(0), &mine_adds);
        let theirs = side(&base, &only(1), &their_adds);
        let m = run(&base, &mine, &theirs);
        prop_assert!(conflicts(&m).is_empty(), "{m:?}");
        let merged = merged_list(&m, &theirs);
        for op in ops(ListField::Credits, &base, &mine) {
            prop_assert!(kept(&op, &merged, &[], true), "mine {op:?} lost: {merged:?}");
        }
        for op in ops(ListField::Credits, &base, &theirs) {
            prop_assert!(kept(&op, &merged, &[], false), "theirs {op:?} lost: {merged:?}");
        }
        let changed = mine != base;
        prop_assert_eq!(matches!(m, Merge::AlreadyThere), !changed || merged == theirs);
    }

    #[test]
    fn identical_changes_are_accepted_once(
        base in base(),
        touches in prop::collection::vec(touch(), 7),
        adds in prop::collection::vec((10usize..15, 0..ROLES.len(), prop::option::of(0u8..3)), 0..3),
    ) {
        let edited = side(&base, &touches, &adds);
        let m = run(&base, &edited, &edited);
        prop_assert_eq!(m, Merge::AlreadyThere);
    }

    #[test]
    fn a_credit_changed_two_ways_is_never_resolved_silently(
        base in base().prop_filter("a credit to change", |b| !b.is_empty()),
        at in any::<prop::sample::Index>(),
        mine_role in 0..ROLES.len(),
        their_printed in 0u8..3,
    ) {
        let i = at.index(base.len());
        let mut mine = base.clone();
        mine[i]["role"] = json!(ROLES[mine_role]);
        let mut theirs = base.clone();
        theirs[i]["credited_as"] = json!(format!("as {their_printed}"));
        prop_assume!(mine[i] != base[i]);
        let m = run(&base, &mine, &theirs);
        let key = ListField::Credits.key(&base[i]);
        prop_assert!(
            conflicts(&m).iter().any(|c| c.item.as_ref() == Some(&key)
                && c.mine.as_ref() == Some(&mine[i])
                && c.theirs.as_ref() == Some(&theirs[i])
                && c.base.as_ref() == Some(&base[i])),
            "{m:?}"
        );
    }

    #[test]
    fn no_input_drops_a_change(
        base in base(),
        mine_touches in prop::collection::vec(touch(), 7),
        their_touches in prop::collection::vec(touch(), 7),
        mine_adds in prop::collection::vec((0usize..12, 0..ROLES.len(), prop::option::of(0u8..3)), 0..3),
        their_adds in prop::collection::vec((0usize..12, 0..ROLES.len(), prop::option::of(0u8..3)), 0..3),
    ) {
        let mine = side(&base, &mine_touches, &mine_adds);
        let theirs = side(&base, &their_touches, &their_adds);
        let m = run(&base, &mine, &theirs);
        let merged = merged_list(&m, &theirs);
        let found = conflicts(&m);
        for op in ops(ListField::Credits, &base, &mine) {
            prop_assert!(kept(&op, &merged, found, true), "mine {op:?} dropped: {m:?}");
        }
        for op in ops(ListField::Credits, &base, &theirs) {
            prop_assert!(kept(&op, &merged, found, false), "theirs {op:?} dropped: {m:?}");
        }
        // What a person picks is what they get, whichever side: each conflicted credit
        // is as that side had it (or gone, where that side had none), nothing else of the
        // merge moves, and no credit ends up in the list twice.
        if let Merge::Conflict { conflicts, merged } = &m {
            for pick in [Pick::Mine, Pick::Theirs, Pick::Base] {
                let picks: Vec<(&Conflict, Pick)> = conflicts.iter().map(|c| (c, pick)).collect();
                let resolved = resolve(merged, &picks);
                let list = resolved["credits"].as_array().cloned().unwrap_or_default();
                let mut keys: Vec<ItemKey> = list.iter().map(|c| ListField::Credits.key(c)).collect();
                let n = keys.len();
                keys.sort();
                keys.dedup();
                prop_assert_eq!(keys.len(), n, "{:?} made a credit twice: {:?}", pick, list);
                for c in conflicts.iter().filter(|c| c.item.is_some()) {
                    match c.value(pick) {
                        Some(v) => prop_assert!(list.contains(v), "{pick:?} {c:?} → {list:?}"),
                        None => prop_assert!(
                            c.theirs.as_ref().is_none_or(|t| !list.contains(t)),
                            "{pick:?} {c:?} → {list:?}"
                        ),
                    }
                }
                let untouched: Vec<&Value> = merged["credits"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|v| !conflicts.iter().any(|c| c.theirs.as_ref() == Some(*v)))
                    .collect();
                for v in untouched {
                    prop_assert!(list.contains(v), "{pick:?} dropped {v} (not in conflict)");
                }
                if pick == Pick::Theirs {
                    prop_assert_eq!(&resolved, merged);
                }
            }
        }
    }
}
