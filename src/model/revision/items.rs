//! Items of the lists an edit replaces whole, with an identity of their own, so that a merge
//! and a provenance can follow one credit through edits of its list.
//!
//! A credit is identified by (party, role, instrument), a writer by (party, role); the rest of
//! an item (a credit's printed name, a writer's share) is its value. Comparing two versions of
//! a list gives item operations: an addition, a removal, or a change of one item. Within one
//! side's edit, a removed and an added item of the same party (exactly one of each) are one
//! change of that item: an editor who corrects a credit's role changed that credit, rather
//! than removing one credit and adding another.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The lists whose items merge one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListField {
    /// A recording's `credits`.
    Credits,
    /// A work's `writers`.
    Writers,
}

impl ListField {
    /// The list a top-level field holds, if it merges by item.
    pub fn of(field: &str) -> Option<ListField> {
        match field {
            "credits" => Some(ListField::Credits),
            "writers" => Some(ListField::Writers),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ListField::Credits => "credits",
            ListField::Writers => "writers",
        }
    }

    /// The identity of `item` in this list (as its first occurrence).
    pub fn key(self, item: &Value) -> ItemKey {
        self.key_ref(item).owned()
    }
}

/// Which item of a list: its party, role and (for a credit) instrument. `nth` tells apart the
/// rare list that holds the same identity twice (0 for the first).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ItemKey {
    pub party: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instrument: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub nth: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// An item's identity borrowed from its JSON: merging and provenance compare thousands of
/// them, and owned, SipHashed keys were most of a merge's time (perf).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key<'a> {
    pub(crate) party: &'a str,
    pub(crate) role: &'a str,
    pub(crate) instrument: Option<&'a str>,
    pub(crate) nth: u32,
}

impl Key<'_> {
    pub(crate) fn owned(self) -> ItemKey {
        ItemKey {
            party: self.party.to_owned(),
            role: self.role.to_owned(),
            instrument: self.instrument.map(str::to_owned),
            nth: self.nth,
        }
    }
}

impl ListField {
    /// The borrowed identity of `item`; `nth` is filled in by [`keyed`].
    pub(crate) fn key_ref(self, item: &Value) -> Key<'_> {
        let text = |k: &str| item.get(k).and_then(Value::as_str);
        Key {
            party: text("party").unwrap_or_default(),
            role: text("role").unwrap_or_default(),
            instrument: match self {
                ListField::Credits => text("instrument"),
                ListField::Writers => None,
            },
            nth: 0,
        }
    }
}

type Map<'a, V> = FxHashMap<Key<'a>, V>;

/// A list's items with their keys, in order and by key.
#[derive(Debug)]
pub(crate) struct Indexed<'a> {
    pub(crate) items: Vec<(Key<'a>, &'a Value)>,
    pub(crate) by_key: Map<'a, &'a Value>,
}

impl<'a> Indexed<'a> {
    /// Each item of `list` with its key, duplicates numbered in order.
    pub(crate) fn new(field: ListField, list: &'a [Value]) -> Indexed<'a> {
        let mut by_key: Map<'a, &'a Value> =
            FxHashMap::with_capacity_and_hasher(list.len(), Default::default());
        let mut items = Vec::with_capacity(list.len());
        for item in list {
            let mut key = field.key_ref(item);
            while by_key.contains_key(&key) {
                key.nth += 1;
            }
            by_key.insert(key, item);
            items.push((key, item));
        }
        Indexed { items, by_key }
    }
}

/// Each item of `list` with its key, duplicates numbered in order.
pub(crate) fn keyed(field: ListField, list: &[Value]) -> Vec<(Key<'_>, &Value)> {
    Indexed::new(field, list).items
}

/// One thing an edit did to a list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ItemOp<'a> {
    /// A new item (its key is not in the old list).
    Add(Key<'a>, &'a Value),
    /// The old list's item of this key is gone.
    Remove(Key<'a>),
    /// The old list's item `from` became `to` (of key `key`, which may differ from `from`).
    Change {
        from: Key<'a>,
        key: Key<'a>,
        to: &'a Value,
    },
}

impl<'a> ItemOp<'a> {
    /// The old list's key this operation concerns, if any.
    pub(crate) fn from(&self) -> Option<Key<'a>> {
        match self {
            ItemOp::Add(..) => None,
            ItemOp::Remove(k) => Some(*k),
            ItemOp::Change { from, .. } => Some(*from),
        }
    }
}

/// What an edit did to a list, from `old` to `new`: changes first in the old list's order,
/// then removals, then additions in the new list's order.
pub(crate) fn ops<'a>(field: ListField, old: &'a [Value], new: &'a [Value]) -> Vec<ItemOp<'a>> {
    ops_indexed(&Indexed::new(field, old), &Indexed::new(field, new))
}

/// [`ops`] over lists indexed once by the caller.
pub(crate) fn ops_indexed<'a>(old: &Indexed<'a>, new: &Indexed<'a>) -> Vec<ItemOp<'a>> {
    let mut changes = Vec::new();
    let mut removed: Vec<Key<'a>> = Vec::new();
    for (k, v) in &old.items {
        match new.by_key.get(k) {
            Some(n) if *n != *v => changes.push(ItemOp::Change {
                from: *k,
                key: *k,
                to: n,
            }),
            Some(_) => {}
            None => removed.push(*k),
        }
    }
    let added: Vec<(Key<'a>, &'a Value)> = new
        .items
        .iter()
        .filter(|(k, _)| !old.by_key.contains_key(k))
        .copied()
        .collect();
    if removed.is_empty() || added.is_empty() {
        changes.extend(removed.into_iter().map(ItemOp::Remove));
        changes.extend(added.into_iter().map(|(k, v)| ItemOp::Add(k, v)));
        return changes;
    }
    // A party with exactly one item removed and one added had that item changed.
    let mut per_party: FxHashMap<&str, (u32, u32)> = FxHashMap::default();
    for k in &removed {
        per_party.entry(k.party).or_default().0 += 1;
    }
    for (k, _) in &added {
        per_party.entry(k.party).or_default().1 += 1;
    }
    let mut paired_adds: Vec<Key<'a>> = Vec::new();
    let mut rest_removed = Vec::new();
    for k in removed {
        let partner = (per_party.get(k.party) == Some(&(1, 1)))
            .then(|| added.iter().find(|(a, _)| a.party == k.party))
            .flatten();
        match partner {
            Some((a, v)) => {
                paired_adds.push(*a);
                changes.push(ItemOp::Change {
                    from: k,
                    key: *a,
                    to: v,
                });
            }
            None => rest_removed.push(ItemOp::Remove(k)),
        }
    }
    let mut out = changes;
    out.extend(rest_removed);
    out.extend(
        added
            .into_iter()
            .filter(|(k, _)| !paired_adds.contains(k))
            .map(|(k, v)| ItemOp::Add(k, v)),
    );
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn credit(party: &str, role: &str) -> Value {
        json!({"party": party, "role": role})
    }

    #[test]
    fn a_removed_and_an_added_credit_of_one_party_are_a_change() {
        let old = [credit("p1", "producer"), credit("p2", "vocalist")];
        let new = [credit("p1", "mixing_engineer"), credit("p2", "vocalist")];
        let ops = ops(ListField::Credits, &old, &new);
        assert_eq!(ops.len(), 1);
        let ItemOp::Change { from, key, .. } = &ops[0] else {
            panic!("{ops:?}")
        };
        assert_eq!(from.role, "producer");
        assert_eq!(key.role, "mixing_engineer");
    }

    #[test]
    fn two_new_credits_of_a_party_that_lost_one_are_not_paired() {
        let old = [credit("p1", "producer")];
        let new = [credit("p1", "vocalist"), credit("p1", "performer")];
        let ops = ops(ListField::Credits, &old, &new);
        assert!(matches!(ops[0], ItemOp::Remove(_)), "{ops:?}");
        assert_eq!(ops.len(), 3);
    }

    #[test]
    fn a_changed_printed_name_is_a_change_of_the_same_credit() {
        let old = [json!({"party": "p1", "role": "vocalist"})];
        let new = [json!({"party": "p1", "role": "vocalist", "credited_as": "Frida"})];
        let ops = ops(ListField::Credits, &old, &new);
        assert!(
            matches!(&ops[..], [ItemOp::Change { from, key, .. }] if from == key),
            "{ops:?}"
        );
    }

    #[test]
    fn writers_are_keyed_without_instrument_and_duplicates_are_numbered() {
        let list = [
            json!({"party": "p", "role": "composer", "share": 5000}),
            json!({"party": "p", "role": "composer", "share": 5000}),
        ];
        let keys: Vec<_> = keyed(ListField::Writers, &list)
            .into_iter()
            .map(|(k, _)| k.nth)
            .collect();
        assert_eq!(keys, [0, 1]);
    }
}
