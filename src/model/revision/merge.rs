//! The three-way merge of an edit made against an older version: what the editor changed
//! (mine, the patch), what happened upstream since (theirs, the revisions after the edit's
//! base), and the base itself (read back from those revisions' diffs).
//!
//! Scalar fields merge as wholes: a field only one side changed takes that side's value; the
//! same value on both sides is accepted once; two different values are a conflict for a
//! person. Credits and writers merge item by item (see [`super::items`]): two editors adding
//! different credits both land; both changing one credit two ways, or one removing a credit
//! the other changed, is one conflict on that credit, naming who made theirs, when and why.
//! The merged list keeps the current upstream order with additions appended. A writer's share
//! is a value of the writer; a merged split that no longer totals 100% is a conflict too.

use memchr::memmem::Finder;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::items::{Indexed, ItemKey, ItemOp, Key, ListField, ops_indexed};
use super::{RawJson, Revision, Source};

/// Who made a revision, when, from where and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    pub version: u64,
    pub actor: String,
    pub source: Source,
    pub reason: String,
    pub at: jiff::Timestamp,
}

impl Author {
    pub fn of(rev: &Revision) -> Author {
        Author {
            version: rev.version,
            actor: rev.actor.clone(),
            source: rev.source.clone(),
            reason: rev.reason.clone(),
            at: rev.at,
        }
    }
}

/// One thing both sides changed differently. `None` is "absent": a field removed, or a credit
/// not (or no longer) in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// The top-level field: `title`, `credits`, `writers`…
    pub field: String,
    /// For one item of a list, which: its identity in the base (or in mine, for an addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<ItemKey>,
    pub base: Option<Value>,
    pub mine: Option<Value>,
    pub theirs: Option<Value>,
    /// The revision that made theirs, when the history names one.
    pub theirs_by: Option<Author>,
}

/// Which side a person keeps for a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pick {
    Mine,
    Theirs,
    Base,
}

impl Conflict {
    pub fn value(&self, pick: Pick) -> Option<&Value> {
        match pick {
            Pick::Mine => self.mine.as_ref(),
            Pick::Theirs => self.theirs.as_ref(),
            Pick::Base => self.base.as_ref(),
        }
    }
}

/// What a three-way merge concluded.
#[derive(Debug, Clone, PartialEq)]
pub enum Merge {
    /// Every change of the edit is upstream already.
    AlreadyThere,
    /// Nothing clashes: send this patch against the current version.
    Rebase(Map<String, Value>),
    /// Some changes clash. `merged` is the patch with everything else merged and theirs in
    /// place of each conflict; [`resolve`] applies a person's picks to it.
    Conflict {
        conflicts: Vec<Conflict>,
        merged: Map<String, Value>,
    },
}

/// Why a merge cannot be done safely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error(
        "the history lacks revision {0}: what changed upstream since the edit's base is unknown"
    )]
    Gap(u64),
    #[error(
        "the entity is at version {current}, not past the edit's base {base}: nothing to merge"
    )]
    NotNewer { base: u64, current: u64 },
}

/// Merges `patch`, made against `base_version`, with the entity as it is now (`current`, at
/// `current_version`) and the `history` that led there (every revision after the base must be
/// in it: a merge over a gap could overwrite a change it never saw).
pub fn merge(
    patch: &Map<String, Value>,
    base_version: u64,
    current_version: u64,
    current: &Value,
    history: &[Revision],
) -> Result<Merge, MergeError> {
    if current_version <= base_version {
        return Err(MergeError::NotNewer {
            base: base_version,
            current: current_version,
        });
    }
    let mut later: Vec<&Revision> = history
        .iter()
        .filter(|r| r.version > base_version && r.version <= current_version)
        .collect();
    later.sort_by_key(|r| r.version);
    later.dedup_by_key(|r| r.version);
    for (i, v) in (base_version + 1..=current_version).enumerate() {
        if later.get(i).map(|r| r.version) != Some(v) {
            return Err(MergeError::Gap(v));
        }
    }
    let mut merged = Map::new();
    let mut conflicts = Vec::new();
    for (field, mine) in patch {
        let theirs = present(current.get(field));
        let mine = present(Some(mine));
        let Some(base) = base_of(field, &later) else {
            // Untouched upstream since the base: the edit's value stands.
            merged.insert(field.clone(), mine.cloned().unwrap_or(Value::Null));
            continue;
        };
        let base = present(base.as_ref());
        if let Some(list) = ListField::of(field)
            && let (Some(b), Some(m), Some(t)) = (array(base), array(mine), array(theirs))
        {
            let (items, found) = merge_list(list, b, m, t, &later);
            merged.insert(field.clone(), Value::Array(items));
            conflicts.extend(found);
            continue;
        }
        if mine == theirs || mine == base {
            // The same change made twice, or no change of this field on the editor's side.
            merged.insert(field.clone(), theirs.cloned().unwrap_or(Value::Null));
        } else {
            conflicts.push(Conflict {
                field: field.clone(),
                item: None,
                base: base.cloned(),
                mine: mine.cloned(),
                theirs: theirs.cloned(),
                theirs_by: last_touching(field, &later),
            });
            merged.insert(field.clone(), theirs.cloned().unwrap_or(Value::Null));
        }
    }
    if !conflicts.is_empty() {
        return Ok(Merge::Conflict { conflicts, merged });
    }
    let already = merged
        .iter()
        .all(|(f, v)| present(Some(v)) == present(current.get(f)));
    Ok(if already {
        Merge::AlreadyThere
    } else {
        Merge::Rebase(merged)
    })
}

/// A value, with JSON `null` (which a patch uses to remove a field) as absent.
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

/// A list value, with an absent list as empty.
fn array(v: Option<&Value>) -> Option<&[Value]> {
    match v {
        None => Some(&[]),
        Some(Value::Array(a)) => Some(a),
        Some(_) => None,
    }
}

/// The field's value at the base, if a later revision changed it: the first such revision's
/// old value (`Some(None)` when it was absent then). `None` when nothing changed it.
fn base_of(field: &str, later: &[&Revision]) -> Option<Option<Value>> {
    later
        .iter()
        .flat_map(|r| r.diff.iter())
        .find(|c| c.field() == field)
        .map(|c| c.old.as_ref().map(RawJson::value))
}

fn last_touching(field: &str, later: &[&Revision]) -> Option<Author> {
    later
        .iter()
        .rev()
        .find(|r| r.diff.iter().any(|c| c.field() == field))
        .map(|r| Author::of(r))
}

/// The newest revision whose change of `list` touched the item known as any of `keys`.
fn item_author(list: ListField, keys: &[Key<'_>], later: &[&Revision]) -> Option<Author> {
    let keys: Vec<Needle> = keys.iter().map(|k| Needle::new(list, k)).collect();
    later
        .iter()
        .rev()
        .find(|r| {
            r.diff
                .iter()
                .filter(|c| c.field() == list.name())
                .any(|c| touches(c.old.as_ref(), c.new.as_ref(), &keys))
        })
        .map(|r| Author::of(r))
        .or_else(|| last_touching(list.name(), later))
}

/// Who made theirs, found by the items' own text: the newest revision whose list gained the
/// item as theirs has it, or lost it as the base had it. Items are flat JSON objects in the
/// service's canonical member order, so an item's text is found only where that very item
/// stands; two searches of each revision's text, no parsing. `None` when it cannot tell
/// (an item that does not re-encode canonically): the caller looks by identity instead.
fn exact_author(
    list: ListField,
    base: Option<&Value>,
    theirs: Option<&Value>,
    later: &[&Revision],
) -> Option<Option<Author>> {
    let canonical = |v: Option<&Value>| -> Option<Option<Finder<'static>>> {
        let Some(v) = v else {
            return Some(None);
        };
        let text = match list {
            ListField::Credits => crate::model::Credit::deserialize(v)
                .ok()
                .and_then(|c| serde_json::to_string(&c).ok()),
            ListField::Writers => crate::model::Writer::deserialize(v)
                .ok()
                .and_then(|w| serde_json::to_string(&w).ok()),
        }?;
        Some(Some(Finder::new(text.as_bytes()).into_owned()))
    };
    let (base, theirs) = (canonical(base)?, canonical(theirs)?);
    let has = |f: &Option<Finder<'_>>, raw: &Option<RawJson>| match (f, raw) {
        (Some(f), Some(raw)) => f.find(raw.get().as_bytes()).is_some(),
        _ => false,
    };
    for r in later.iter().rev() {
        for c in r.diff.iter().filter(|c| c.field() == list.name()) {
            let gained = theirs.is_some() && has(&theirs, &c.new) && !has(&theirs, &c.old);
            let lost = base.is_some() && has(&base, &c.old) && !has(&base, &c.new);
            if gained || lost {
                return Some(Some(Author::of(r)));
            }
        }
    }
    None
}

/// An item's identity as the members its JSON text holds: `"party":"pty_…"`, `"role":"…"`
/// and the instrument (or none). Who made theirs is asked of every revision since the base,
/// and reading those revisions' whole lists into values was most of a merge's time.
struct Needle {
    party: Finder<'static>,
    role: Finder<'static>,
    /// The instrument member, or for an item without one, any instrument member.
    instrument: Finder<'static>,
    has_instrument: bool,
}

impl Needle {
    fn new(list: ListField, k: &Key<'_>) -> Needle {
        let member = |name: &str, v: &str| {
            Finder::new(format!("\"{name}\":{}", Value::String(v.to_owned())).as_bytes())
                .into_owned()
        };
        let instrument = match list {
            ListField::Credits => k.instrument,
            ListField::Writers => None,
        };
        Needle {
            party: member("party", k.party),
            role: member("role", k.role),
            instrument: match instrument {
                Some(i) => member("instrument", i),
                None => Finder::new(b"\"instrument\":").into_owned(),
            },
            has_instrument: instrument.is_some(),
        }
    }

    /// Whether an item's JSON is this one. Quotes inside strings are escaped, so a member's
    /// text cannot be matched inside another member's value.
    fn is(&self, item: &str) -> bool {
        let item = item.as_bytes();
        self.party.find(item).is_some()
            && self.role.find(item).is_some()
            && self.instrument.find(item).is_some() == self.has_instrument
    }
}

/// Whether going from `old` to `new` (lists as JSON text) added, removed or changed the item
/// any of `keys` names.
fn touches(old: Option<&RawJson>, new: Option<&RawJson>, keys: &[Needle]) -> bool {
    fn items(raw: Option<&RawJson>) -> Vec<&str> {
        raw.and_then(|r| serde_json::from_str::<Vec<&serde_json::value::RawValue>>(r.get()).ok())
            .map(|v| v.into_iter().map(|i| i.get()).collect())
            .unwrap_or_default()
    }
    fn find<'t>(list: &[&'t str], k: &Needle) -> Option<&'t str> {
        list.iter().find(|i| k.is(i)).copied()
    }
    let (old, new) = (items(old), items(new));
    keys.iter().any(|k| find(&old, k) != find(&new, k))
}

fn merge_list<'a>(
    list: ListField,
    base: &'a [Value],
    mine: &'a [Value],
    theirs: &'a [Value],
    later: &[&Revision],
) -> (Vec<Value>, Vec<Conflict>) {
    let base_index = Indexed::new(list, base);
    let theirs_index = Indexed::new(list, theirs);
    let ops_t = ops_indexed(&base_index, &theirs_index);
    let by_from: FxHashMap<Key<'a>, &ItemOp<'a>> = ops_t
        .iter()
        .filter_map(|op| op.from().map(|k| (k, op)))
        .collect();
    let base_items = &base_index.by_key;
    // Theirs as it is, by reference: values are cloned once, at the end.
    let mut result: Vec<(Key<'a>, &'a Value)> = theirs_index.items.clone();
    let mut conflicts = Vec::new();
    let mut conflict = |item: Key<'a>, mine: Option<&Value>, theirs: Option<&Value>| {
        let base = base_items.get(&item).copied();
        let theirs_by = exact_author(list, base, theirs, later).unwrap_or_else(|| {
            let mut keys = vec![item];
            keys.extend(theirs.map(|t| list.key_ref(t)));
            item_author(list, &keys, later)
        });
        conflicts.push(Conflict {
            field: list.name().to_owned(),
            item: Some(item.owned()),
            base: base.cloned(),
            mine: mine.cloned(),
            theirs: theirs.cloned(),
            theirs_by,
        });
    };
    let position =
        |result: &[(Key<'a>, &'a Value)], k: Key<'a>| result.iter().position(|(r, _)| *r == k);
    for op in ops_indexed(&base_index, &Indexed::new(list, mine)) {
        match op {
            ItemOp::Add(k, item) => match position(&result, k) {
                Some(i) if result[i].1 == item => {}
                Some(i) => conflict(k, Some(item), Some(result[i].1)),
                None => result.push((k, item)),
            },
            ItemOp::Remove(k) => match by_from.get(&k) {
                None => {
                    if let Some(i) = position(&result, k) {
                        result.remove(i);
                    }
                }
                Some(ItemOp::Remove(_)) | Some(ItemOp::Add(..)) => {}
                Some(ItemOp::Change { to, .. }) => conflict(k, None, Some(to)),
            },
            ItemOp::Change { from, key, to } => match by_from.get(&from) {
                None => {
                    let at = position(&result, from);
                    match position(&result, key).filter(|_| key != from) {
                        // Theirs added the item this change arrives at. The old item is gone
                        // either way (theirs left it alone); the arrival is the same addition
                        // made twice, or two additions of one credit to choose between.
                        Some(j) => {
                            let theirs = result[j].1;
                            if let Some(i) = at {
                                result.remove(i);
                            }
                            if theirs != to {
                                conflict(key, Some(to), Some(theirs));
                            }
                        }
                        None => match at {
                            Some(i) => result[i] = (key, to),
                            None => result.push((key, to)),
                        },
                    }
                }
                Some(their_op) => {
                    // Theirs removed or changed the same credit: the same change made twice
                    // lands once; anything else is a conflict on that credit.
                    let (their_key, their_value) = match their_op {
                        ItemOp::Change { key, to, .. } => (Some(*key), Some(*to)),
                        _ => (None, None),
                    };
                    if their_value != Some(to) {
                        conflict(from, Some(to), their_value);
                    }
                    // Theirs may also hold a credit where this change arrives: a second
                    // choice, so that no pick can leave that credit twice.
                    if their_key != Some(key)
                        && let Some(j) = position(&result, key).filter(|_| key != from)
                        && result[j].1 != to
                    {
                        conflict(key, Some(to), Some(result[j].1));
                    }
                }
            },
        }
    }
    let items: Vec<Value> = result.into_iter().map(|(_, v)| v.clone()).collect();
    if conflicts.is_empty() && list == ListField::Writers && !split_adds_up(&items) {
        // Each side's split added up; together they do not. A person decides.
        conflicts.push(Conflict {
            field: list.name().to_owned(),
            item: None,
            base: Some(Value::Array(base.to_vec())),
            mine: Some(Value::Array(mine.to_vec())),
            theirs: Some(Value::Array(theirs.to_vec())),
            theirs_by: last_touching(list.name(), later),
        });
        return (theirs.to_vec(), conflicts);
    }
    (items, conflicts)
}

/// Whether a merged split is one the model takes (the shares total exactly 100%): the rule of
/// [`crate::model::Writers::new`] itself.
fn split_adds_up(writers: &[Value]) -> bool {
    Vec::<crate::model::Writer>::deserialize(&Value::Array(writers.to_vec()))
        .is_ok_and(|w| crate::model::Writers::new(w).is_ok())
}

/// The patch a person's picks make of a conflicted merge: `merged` with each conflict set to
/// the picked side.
pub fn resolve(merged: &Map<String, Value>, picks: &[(&Conflict, Pick)]) -> Map<String, Value> {
    let mut out = merged.clone();
    for (c, pick) in picks {
        let chosen = c.value(*pick).cloned();
        match (&c.item, ListField::of(&c.field)) {
            (Some(_), Some(list)) => {
                let entry = out
                    .entry(c.field.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if !entry.is_array() {
                    *entry = Value::Array(Vec::new());
                }
                let Value::Array(items) = entry else { continue };
                let at = c
                    .theirs
                    .as_ref()
                    .and_then(|t| items.iter().position(|x| x == t));
                match (at, chosen) {
                    (Some(i), Some(v)) => {
                        // The picked credit is the only one of its identity.
                        let key = list.key(&v);
                        items[i] = v;
                        let mut n = 0;
                        items.retain(|x| {
                            n += 1;
                            n - 1 == i || list.key(x) != key
                        });
                    }
                    (Some(i), None) => {
                        items.remove(i);
                    }
                    (None, Some(v)) => {
                        let key = list.key(&v);
                        items.retain(|x| list.key(x) != key);
                        items.push(v);
                    }
                    (None, None) => {}
                }
            }
            _ => {
                out.insert(c.field.clone(), chosen.unwrap_or(Value::Null));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;

/// The merge's laws, over generated credit lists and edits: disjoint changes both survive,
/// identical changes are accepted once, a true conflict is never resolved silently, and no
/// input drops a change.
#[cfg(test)]
mod laws;
