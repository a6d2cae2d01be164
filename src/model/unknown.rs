//! Fields a reader does not know, kept rather than dropped.
//!
//! The protocol evolves by adding fields (see [`crate::protocol`]). A reader built before a
//! field existed must neither refuse the record that carries it (an older linerd would
//! quarantine every record of a newer service) nor lose it: a credit list is sent back whole
//! by an edit, so a credit's unknown field dropped on the way in would be deleted upstream by
//! the next edit of an older console. Every entity and every item of a list an edit replaces
//! whole (credits, writers, display artists, tracks) therefore carries an [`Unknown`]: the
//! members it did not recognise, re-emitted as they came. Acoustic features are the one
//! nested object without one: they are stored in the mirror's binary body and no desk edits
//! them. The service, which knows every field
//! of its own version, refuses any ([`unknown_paths`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::{Entity, Recording, Release, Work};

/// The members of a JSON object that its type does not know, in key order; empty (and no
/// allocation: an empty `BTreeMap` holds none) in the usual case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unknown(BTreeMap<String, Value>);

impl Unknown {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The member names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    pub fn insert(&mut self, name: impl Into<String>, value: Value) {
        self.0.insert(name.into(), value);
    }

    /// As a JSON object (for storing beside a row), `None` when empty.
    pub fn to_value(&self) -> Option<Value> {
        (!self.0.is_empty())
            .then(|| Value::Object(self.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
    }

    /// From a JSON object stored with [`Unknown::to_value`]; anything else is empty.
    pub fn from_value(v: Option<&Value>) -> Unknown {
        Unknown(
            v.and_then(Value::as_object)
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        )
    }
}

// Flattened into its owner: serde hands over the members the owner did not claim.
impl<'de> Deserialize<'de> for Unknown {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BTreeMap::<String, Value>::deserialize(d).map(Unknown)
    }
}

impl Serialize for Unknown {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// Where an entity carries fields this build does not know, as paths like
/// `credits[2].share`: what a service refuses in what it is sent.
pub fn unknown_paths(entity: &Entity) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = |prefix: String, u: &Unknown| {
        for name in u.names() {
            out.push(if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}.{name}")
            });
        }
    };
    match entity {
        Entity::Party(p) => at(String::new(), &p.unknown),
        Entity::Recording(r) => {
            at(String::new(), &r.unknown);
            for (i, c) in r.credits.iter().enumerate() {
                at(format!("credits[{i}]"), &c.unknown);
            }
            for (i, a) in r.display_artist.iter().enumerate() {
                at(format!("display_artist[{i}]"), &a.unknown);
            }
        }
        Entity::Work(w) => {
            at(String::new(), &w.unknown);
            for (i, wr) in w.writers.as_slice().iter().enumerate() {
                at(format!("writers[{i}]"), &wr.unknown);
            }
        }
        Entity::Release(r) => {
            at(String::new(), &r.unknown);
            for (i, a) in r.display_artist.iter().enumerate() {
                at(format!("display_artist[{i}]"), &a.unknown);
            }
            for (i, t) in r.tracks.iter().enumerate() {
                at(format!("tracks[{i}]"), &t.unknown);
            }
        }
    }
    out
}

/// Every unknown member of an entity, at any depth, as one JSON object for a mirror row to
/// keep beside its columns: `{"": {…}, "credits": {"2": {…}}}`. `None` when there are none,
/// which is nearly always.
pub fn gather(entity: &Entity) -> Option<String> {
    let mut out = serde_json::Map::new();
    let mut own = |u: &Unknown| {
        if let Some(v) = u.to_value() {
            out.insert(String::new(), v);
        }
    };
    match entity {
        Entity::Party(p) => own(&p.unknown),
        Entity::Recording(r) => {
            own(&r.unknown);
            list(&mut out, "credits", r.credits.iter().map(|c| &c.unknown));
            list(
                &mut out,
                "display_artist",
                r.display_artist.iter().map(|a| &a.unknown),
            );
        }
        Entity::Work(w) => {
            own(&w.unknown);
            list(
                &mut out,
                "writers",
                w.writers.as_slice().iter().map(|w| &w.unknown),
            );
        }
        Entity::Release(r) => {
            own(&r.unknown);
            list(
                &mut out,
                "display_artist",
                r.display_artist.iter().map(|a| &a.unknown),
            );
            list(&mut out, "tracks", r.tracks.iter().map(|t| &t.unknown));
        }
    }
    (!out.is_empty()).then(|| Value::Object(out).to_string())
}

fn list<'a>(
    out: &mut serde_json::Map<String, Value>,
    name: &str,
    items: impl Iterator<Item = &'a Unknown>,
) {
    let found: serde_json::Map<String, Value> = items
        .enumerate()
        .filter_map(|(i, u)| u.to_value().map(|v| (i.to_string(), v)))
        .collect();
    if !found.is_empty() {
        out.insert(name.to_owned(), Value::Object(found));
    }
}

/// The unknown members [`gather`] kept, by where they belong.
#[derive(Debug, Default)]
pub struct Kept(serde_json::Map<String, Value>);

impl Kept {
    /// From what [`gather`] wrote; `None` or text that is not an object keeps nothing.
    pub fn parse(text: Option<&str>) -> Kept {
        match text.map(serde_json::from_str::<Value>) {
            Some(Ok(Value::Object(m))) => Kept(m),
            _ => Kept::default(),
        }
    }

    /// The entity's own.
    pub fn own(&self) -> Unknown {
        Unknown::from_value(self.0.get(""))
    }

    /// Those of item `i` of the list `name`.
    pub fn item(&self, name: &str, i: usize) -> Unknown {
        Unknown::from_value(self.0.get(name).and_then(|l| l.get(i.to_string())))
    }

    /// Puts them back into a recording read from its columns (credits included).
    pub fn restore_recording(&self, r: &mut Recording) {
        r.unknown = self.own();
        for (i, c) in r.credits.iter_mut().enumerate() {
            c.unknown = self.item("credits", i);
        }
        for (i, a) in r.display_artist.iter_mut().enumerate() {
            a.unknown = self.item("display_artist", i);
        }
    }

    pub fn restore_work(&self, w: &mut Work) {
        w.unknown = self.own();
        w.writers.restore_unknown(|i| self.item("writers", i));
    }

    pub fn restore_release(&self, r: &mut Release) {
        r.unknown = self.own();
        for (i, a) in r.display_artist.iter_mut().enumerate() {
            a.unknown = self.item("display_artist", i);
        }
        for (i, t) in r.tracks.iter_mut().enumerate() {
            t.unknown = self.item("tracks", i);
        }
    }
}
