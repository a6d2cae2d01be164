//! Items of the lists an edit replaces whole, with an identity of their own, so that a merge
//! and a provenance can follow one credit through edits of its list.
//!
//! A credit is identified by (party, role, instrument), a writer by (party, role); the rest of
//! an item (a credit's printed name, a writer's share) is its value. Comparing two versions of
//! a list gives item operations: an addition, a removal, or a change of one item. Within one
//! side's edit, a removed and an added item of the same party (exactly one of each) are one
//! change of that item: an editor who corrects a credit's role changed that credit, rather
//! than removing one credit and adding another.

use std::collections::HashMap;

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

    /// The identity of `item` in this list; `nth` is filled in by [`keyed`].
    pub fn key(self, item: &Value) -> ItemKey {
        let text = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_owned);
        ItemKey {
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

/// Each item of `list` with its key, duplicates numbered in order.
pub(crate) fn keyed(field: ListField, list: &[Value]) -> Vec<(ItemKey, &Value)> {
    let mut seen: HashMap<ItemKey, u32> = HashMap::new();
    list.iter()
        .map(|item| {
            let mut key = field.key(item);
            let n = seen.entry(key.clone()).or_insert(0);
            key.nth = *n;
            *n += 1;
            (key, item)
        })
        .collect()
}

/// One thing an edit did to a list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ItemOp<'a> {
    /// A new item (its key is not in the old list).
    Add(ItemKey, &'a Value),
    /// The old list's item of this key is gone.
    Remove(ItemKey),
    /// The old list's item `from` became `to` (of key `key`, which may differ from `from`).
    Change {
        from: ItemKey,
        key: ItemKey,
        to: &'a Value,
    },
}

impl ItemOp<'_> {
    /// The old list's key this operation concerns, if any.
    pub(crate) fn from(&self) -> Option<&ItemKey> {
        match self {
            ItemOp::Add(..) => None,
            ItemOp::Remove(k) => Some(k),
            ItemOp::Change { from, .. } => Some(from),
        }
    }

    /// The new list's key this operation leaves, if any.
    pub(crate) fn to_key(&self) -> Option<&ItemKey> {
        match self {
            ItemOp::Add(k, _) => Some(k),
            ItemOp::Remove(_) => None,
            ItemOp::Change { key, .. } => Some(key),
        }
    }

    /// Whether the operation touches the item known as `k` before or after it.
    pub(crate) fn concerns(&self, k: &ItemKey) -> bool {
        self.from() == Some(k) || self.to_key() == Some(k)
    }
}

/// What an edit did to a list, from `old` to `new`: changes first in the old list's order,
/// then removals, then additions in the new list's order.
pub(crate) fn ops<'a>(field: ListField, old: &[Value], new: &'a [Value]) -> Vec<ItemOp<'a>> {
    let old = keyed(field, old);
    let new = keyed(field, new);
    let old_map: HashMap<&ItemKey, &Value> = old.iter().map(|(k, v)| (k, *v)).collect();
    let new_map: HashMap<&ItemKey, &Value> = new.iter().map(|(k, v)| (k, *v)).collect();
    let mut changes = Vec::new();
    let mut removed: Vec<&ItemKey> = Vec::new();
    for (k, v) in &old {
        match new_map.get(k) {
            Some(n) if *n != *v => changes.push(ItemOp::Change {
                from: k.clone(),
                key: k.clone(),
                to: *n,
            }),
            Some(_) => {}
            None => removed.push(k),
        }
    }
    let added: Vec<(&ItemKey, &'a Value)> = new
        .iter()
        .filter(|(k, _)| !old_map.contains_key(k))
        .map(|(k, v)| (k, *v))
        .collect();
    // A party with exactly one item removed and one added had that item changed.
    let mut per_party: HashMap<&str, (u32, u32)> = HashMap::new();
    for k in &removed {
        per_party.entry(k.party.as_str()).or_default().0 += 1;
    }
    for (k, _) in &added {
        per_party.entry(k.party.as_str()).or_default().1 += 1;
    }
    let mut paired_adds: Vec<&ItemKey> = Vec::new();
    let mut rest_removed = Vec::new();
    for k in removed {
        let partner = (per_party.get(k.party.as_str()) == Some(&(1, 1)))
            .then(|| added.iter().find(|(a, _)| a.party == k.party))
            .flatten();
        match partner {
            Some((a, v)) => {
                paired_adds.push(a);
                changes.push(ItemOp::Change {
                    from: k.clone(),
                    key: (*a).clone(),
                    to: v,
                });
            }
            None => rest_removed.push(ItemOp::Remove(k.clone())),
        }
    }
    let mut out = changes;
    out.extend(rest_removed);
    out.extend(
        added
            .into_iter()
            .filter(|(k, _)| !paired_adds.contains(k))
            .map(|(k, v)| ItemOp::Add(k.clone(), v)),
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
