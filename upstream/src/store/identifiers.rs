//! Identifiers one live entity holds at a time: an ISRC names one recording, an ISWC one work,
//! an ISNI or an IPI one party. Both backends keep an index of them (scheme, canonical value,
//! entity) in the same transaction as every write, as they keep reverse references, and the
//! [`plan`](super::plan) refuses a write whose data holds a value another live entity holds.
//!
//! The index is deliberately not unique in the database: values two entities held before the
//! rule existed must survive the migration that builds it, untouched. The migration logs them
//! and [`CatalogStore::identifier_duplicates`](super::CatalogStore::identifier_duplicates)
//! lists them, so an operator can fix them; until then each holder stays editable (the plan
//! only refuses a value an entity does not already hold).

use std::fmt;

use liner::model::{Entity, EntityId, EntityKind};

use super::{Result, StoreError};

/// An identifier scheme kept to one holder. Its name is also the entity's field that holds
/// it (`isrc`, `iswc`, `isni`, `ipi`), and each belongs to one kind of entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    Isrc,
    Iswc,
    Isni,
    Ipi,
}

impl Scheme {
    pub const ALL: [Scheme; 4] = [Scheme::Isrc, Scheme::Iswc, Scheme::Isni, Scheme::Ipi];

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Isrc => "isrc",
            Scheme::Iswc => "iswc",
            Scheme::Isni => "isni",
            Scheme::Ipi => "ipi",
        }
    }

    pub fn parse(s: &str) -> Option<Scheme> {
        Scheme::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The kind of entity that holds identifiers of this scheme.
    pub fn kind(self) -> EntityKind {
        match self {
            Scheme::Isrc => EntityKind::Recording,
            Scheme::Iswc => EntityKind::Work,
            Scheme::Isni | Scheme::Ipi => EntityKind::Party,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One identifier as an entity holds it: the scheme and the canonical (compact) value the
/// model normalised it to on parse, so `gb-ayc-17-00598` and `GBAYC1700598` are one value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Held {
    pub scheme: Scheme,
    pub value: String,
}

impl Held {
    pub fn new(scheme: Scheme, value: impl Into<String>) -> Held {
        Held {
            scheme,
            value: value.into(),
        }
    }
}

impl fmt::Display for Held {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.scheme, self.value)
    }
}

/// The identifiers `entity` holds, in scheme order.
pub fn held(entity: &Entity) -> Vec<Held> {
    let mut out = Vec::new();
    match entity {
        Entity::Recording(r) => {
            out.extend(r.isrc.as_ref().map(|i| Held::new(Scheme::Isrc, i.as_str())));
        }
        Entity::Work(w) => {
            out.extend(w.iswc.as_ref().map(|i| Held::new(Scheme::Iswc, i.as_str())));
        }
        Entity::Party(p) => {
            out.extend(p.isni.as_ref().map(|i| Held::new(Scheme::Isni, i.as_str())));
            out.extend(p.ipi.as_ref().map(|i| Held::new(Scheme::Ipi, i.as_str())));
        }
        Entity::Release(_) => {}
    }
    out
}

/// A value more than one live entity holds: stored before the rule existed. Holders in id
/// order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub held: Held,
    pub holders: Vec<EntityId>,
}

/// The identifiers a stored entity holds (for filling the index).
pub(crate) fn stored_identifiers(kind: &str, id: &str, data: Option<&str>) -> Result<Vec<Held>> {
    Ok(super::stored_entity(kind, id, data)?
        .as_ref()
        .map(held)
        .unwrap_or_default())
}

/// The index rows of every value more than one entity holds, in the order [`group`] needs;
/// the same SQL on both backends.
pub(crate) const DUPLICATE_ROWS: &str = "SELECT scheme, value, entity_id FROM identifier
     WHERE (scheme, value) IN
        (SELECT scheme, value FROM identifier GROUP BY scheme, value HAVING count(*) > 1)
     ORDER BY scheme, value, entity_id";

/// Index rows `(scheme, value, entity)` ordered by scheme and value, grouped into duplicates.
pub(crate) fn group(
    rows: impl IntoIterator<Item = (String, String, String)>,
) -> Result<Vec<Duplicate>> {
    let mut out: Vec<Duplicate> = Vec::new();
    for (scheme, value, entity) in rows {
        let scheme = Scheme::parse(&scheme).ok_or_else(|| StoreError::Corrupt {
            what: format!("identifier index row for {entity}"),
            reason: format!("unknown scheme {scheme:?}"),
        })?;
        let holder = super::parse_id(&entity)?;
        match out.last_mut() {
            Some(d) if d.held.scheme == scheme && d.held.value == value => d.holders.push(holder),
            _ => out.push(Duplicate {
                held: Held { scheme, value },
                holders: vec![holder],
            }),
        }
    }
    Ok(out)
}

/// Says in the log which values the migration found held more than once: nothing is dropped,
/// so someone has to decide which holder is wrong.
pub(crate) fn report(duplicates: &[Duplicate]) {
    for d in duplicates {
        let ids: Vec<String> = d.holders.iter().map(ToString::to_string).collect();
        tracing::warn!(
            scheme = %d.held.scheme,
            value = %d.held.value,
            entities = %ids.join(","),
            "{} is held by {} live entities; all are kept, fix them by hand \
             (liner-upstream identifiers duplicates lists every such value)",
            d.held,
            ids.len()
        );
    }
    if !duplicates.is_empty() {
        tracing::warn!(
            values = duplicates.len(),
            "identifiers held by more than one live entity were found while building the index"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_held_in_their_canonical_form() {
        let recording = Entity::from_json(
            EntityKind::Recording,
            &serde_json::json!({
                "id": liner::generate::recording_id(1, 1),
                "title": "T",
                "isrc": "gb-ayc-17-00598",
                "display_artist": [],
            })
            .to_string(),
        )
        .expect("a recording");
        assert_eq!(held(&recording), [Held::new(Scheme::Isrc, "GBAYC1700598")]);
        for scheme in Scheme::ALL {
            assert_eq!(Scheme::parse(scheme.as_str()), Some(scheme));
        }
    }

    #[test]
    fn rows_in_order_group_by_value() {
        let a = liner::generate::recording_id(1, 1).to_string();
        let b = liner::generate::recording_id(1, 2).to_string();
        let rows = [
            ("isrc".to_owned(), "X".to_owned(), a.clone()),
            ("isrc".to_owned(), "X".to_owned(), b.clone()),
            ("isrc".to_owned(), "Y".to_owned(), a.clone()),
        ];
        let groups = group(rows).expect("group");
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].holders.len(), 2);
        assert_eq!(groups[1].held, Held::new(Scheme::Isrc, "Y"));
    }
}
