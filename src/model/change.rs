//! Change records: the unit of the snapshot and the change feed, and the cursor that orders
//! them.
//!
//! On the wire a record is `{entity, id, op, version, data, revision}`. [`ChangeRecord`] is
//! that envelope with `data` still raw; [`ChangeRecord::decode`] checks the id, the version and
//! the entity body and yields a typed [`Change`], or a [`DecodeError`] naming the record, the
//! field path and the rule, which is what the mirror quarantines.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use super::{Party, Recording, Release, Revision, Work};
use crate::ids::{IdError, PartyId, RecordingId, ReleaseId, WorkId};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Party,
    Recording,
    Work,
    Release,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Party => "party",
            EntityKind::Recording => "recording",
            EntityKind::Work => "work",
            EntityKind::Release => "release",
        }
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The id of any catalog entity; the prefix says which kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityId {
    Party(PartyId),
    Recording(RecordingId),
    Work(WorkId),
    Release(ReleaseId),
}

impl EntityId {
    pub fn kind(&self) -> EntityKind {
        match self {
            EntityId::Party(_) => EntityKind::Party,
            EntityId::Recording(_) => EntityKind::Recording,
            EntityId::Work(_) => EntityKind::Work,
            EntityId::Release(_) => EntityKind::Release,
        }
    }

    /// Parses an id that must be of `kind`.
    pub fn parse_as(kind: EntityKind, s: &str) -> Result<Self, IdError> {
        Ok(match kind {
            EntityKind::Party => EntityId::Party(s.parse()?),
            EntityKind::Recording => EntityId::Recording(s.parse()?),
            EntityKind::Work => EntityId::Work(s.parse()?),
            EntityKind::Release => EntityId::Release(s.parse()?),
        })
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntityId::Party(id) => id.fmt(f),
            EntityId::Recording(id) => id.fmt(f),
            EntityId::Work(id) => id.fmt(f),
            EntityId::Release(id) => id.fmt(f),
        }
    }
}

impl FromStr for EntityId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let kind = match s.get(..4) {
            Some(PartyId::PREFIX) => EntityKind::Party,
            Some(WorkId::PREFIX) => EntityKind::Work,
            Some(ReleaseId::PREFIX) => EntityKind::Release,
            _ => EntityKind::Recording,
        };
        EntityId::parse_as(kind, s)
    }
}

impl Serialize for EntityId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EntityId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::parsed::parse_str(d, str::parse)
    }
}

/// A catalog entity's current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entity {
    Party(Party),
    Recording(Recording),
    Work(Work),
    Release(Release),
}

impl Entity {
    pub fn id(&self) -> EntityId {
        match self {
            Entity::Party(e) => EntityId::Party(e.id),
            Entity::Recording(e) => EntityId::Recording(e.id),
            Entity::Work(e) => EntityId::Work(e.id),
            Entity::Release(e) => EntityId::Release(e.id),
        }
    }

    /// Every other entity this one names: credited and displayed parties, linked works,
    /// writers, tracks. A service refuses an entity whose references do not exist.
    pub fn references(&self) -> Vec<EntityId> {
        let mut out = Vec::new();
        match self {
            Entity::Party(_) => {}
            Entity::Recording(r) => {
                out.extend(r.display_artist.iter().map(|a| EntityId::Party(a.party)));
                out.extend(r.credits.iter().map(|c| EntityId::Party(c.party)));
                out.extend(r.works.iter().map(|w| EntityId::Work(*w)));
            }
            Entity::Work(w) => out.extend(
                w.writers
                    .as_slice()
                    .iter()
                    .map(|w| EntityId::Party(w.party)),
            ),
            Entity::Release(r) => {
                out.extend(r.display_artist.iter().map(|a| EntityId::Party(a.party)));
                out.extend(r.tracks.iter().map(|t| EntityId::Recording(t.recording)));
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The entity as a JSON value, in its canonical (normalised) form.
    pub fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        match self {
            Entity::Party(e) => serde_json::to_value(e),
            Entity::Recording(e) => serde_json::to_value(e),
            Entity::Work(e) => serde_json::to_value(e),
            Entity::Release(e) => serde_json::to_value(e),
        }
    }

    /// Decodes an entity of `kind` from JSON, naming the field path and rule on failure.
    pub fn from_json(kind: EntityKind, json: &str) -> Result<Entity, (String, String)> {
        decode_entity(kind, json)
    }

    fn to_raw(&self) -> Result<Box<RawValue>, serde_json::Error> {
        match self {
            Entity::Party(e) => serde_json::value::to_raw_value(e),
            Entity::Recording(e) => serde_json::value::to_raw_value(e),
            Entity::Work(e) => serde_json::value::to_raw_value(e),
            Entity::Release(e) => serde_json::value::to_raw_value(e),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Upsert,
    Delete,
}

/// A change record as it travels: envelope checked, `data` still raw. Members this build does
/// not know are ignored (see [`crate::protocol`]): the entity and revision keep theirs.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChangeRecord {
    pub entity: EntityKind,
    pub id: String,
    pub op: Op,
    pub version: u64,
    /// The entity at `version` (absent for a delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object, nullable = false)]
    pub data: Option<Box<RawValue>>,
    /// The revision that made `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub revision: Option<Revision>,
    /// The entity's earlier revisions, oldest first: in a snapshot asked for with
    /// `history=all`, so a new mirror holds every revision (protocol 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Revision>,
}

/// What a change does. Upserts are the common case, so the entity stays inline rather than
/// boxed.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeOp {
    Upsert(Entity),
    Delete,
}

/// A validated change: this entity is at `version` now, with this state or deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub id: EntityId,
    pub version: u64,
    pub op: ChangeOp,
    pub revision: Option<Revision>,
    /// Earlier revisions that came with it (a snapshot's `history`), oldest first.
    pub history: Vec<Revision>,
}

/// Why a change record was refused: which record, which field, which rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{record}: field {field}: {rule}")]
pub struct DecodeError {
    /// The entity id as given, or `line N` when even the envelope did not parse.
    pub record: String,
    /// A path such as `data.credits[2].role`, or `-` for the whole line.
    pub field: String,
    pub rule: String,
}

impl ChangeRecord {
    /// Parses one NDJSON line of the feed or snapshot envelope.
    pub fn parse_line(line: &str, line_no: usize) -> Result<Self, DecodeError> {
        if let Ok(record) = serde_json::from_str(line) {
            return Ok(record);
        }
        // Parsed again only to say where it failed: tracking the path on every record slows
        // the good ones down.
        let de = &mut serde_json::Deserializer::from_str(line);
        let record = serde_path_to_error::deserialize(&mut *de).map_err(|e| DecodeError {
            record: format!("line {line_no}"),
            field: path_or_dash(e.path().to_string()),
            rule: e.into_inner().to_string(),
        })?;
        // What the record was followed by, if that is all that is wrong with it.
        de.end().map_err(|e| DecodeError {
            record: format!("line {line_no}"),
            field: "-".into(),
            rule: e.to_string(),
        })?;
        Ok(record)
    }

    /// Checks the record and turns it into a typed [`Change`].
    pub fn decode(&self) -> Result<Change, DecodeError> {
        let fail = |field: &str, rule: String| DecodeError {
            record: format!("{} {}", self.entity, self.id),
            field: field.to_owned(),
            rule,
        };
        let id =
            EntityId::parse_as(self.entity, &self.id).map_err(|e| fail("id", e.to_string()))?;
        if self.version == 0 {
            return Err(fail("version", "versions start at 1".into()));
        }
        let op = match self.op {
            Op::Delete => ChangeOp::Delete,
            Op::Upsert => {
                let raw = self
                    .data
                    .as_ref()
                    .ok_or_else(|| fail("data", "an upsert must carry data".into()))?;
                let entity = decode_entity(self.entity, raw.get())
                    .map_err(|(path, rule)| fail(&format!("data.{}", path_or_dash(path)), rule))?;
                if entity.id() != id {
                    return Err(fail(
                        "data.id",
                        format!("the data is for {}, the record for {}", entity.id(), id),
                    ));
                }
                ChangeOp::Upsert(entity)
            }
        };
        Ok(Change {
            id,
            version: self.version,
            op,
            revision: self.revision.clone(),
            history: self.history.clone(),
        })
    }
}

fn path_or_dash(p: String) -> String {
    if p == "." || p.is_empty() {
        "-".into()
    } else {
        p
    }
}

fn decode_entity(kind: EntityKind, json: &str) -> Result<Entity, (String, String)> {
    fn typed<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, (String, String)> {
        if let Ok(value) = serde_json::from_str(json) {
            return Ok(value);
        }
        let de = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(de)
            .map_err(|e| (e.path().to_string(), e.into_inner().to_string()))
    }
    Ok(match kind {
        EntityKind::Party => Entity::Party(typed(json)?),
        EntityKind::Recording => Entity::Recording(typed(json)?),
        EntityKind::Work => Entity::Work(typed(json)?),
        EntityKind::Release => Entity::Release(typed(json)?),
    })
}

impl Change {
    pub fn upsert(entity: Entity, version: u64, revision: Option<Revision>) -> Self {
        Change {
            id: entity.id(),
            version,
            op: ChangeOp::Upsert(entity),
            revision,
            history: Vec::new(),
        }
    }

    /// The wire form of this change.
    pub fn to_record(&self) -> Result<ChangeRecord, serde_json::Error> {
        let (op, data) = match &self.op {
            ChangeOp::Upsert(e) => (Op::Upsert, Some(e.to_raw()?)),
            ChangeOp::Delete => (Op::Delete, None),
        };
        Ok(ChangeRecord {
            entity: self.id.kind(),
            id: self.id.to_string(),
            op,
            version: self.version,
            data,
            revision: self.revision.clone(),
            history: self.history.clone(),
        })
    }
}

/// A position in the upstream's change feed. `epoch` changes when the upstream's history is
/// replaced (a restore), which makes every older cursor meaningless.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cursor {
    pub epoch: String,
    pub position: u64,
}

impl Cursor {
    pub fn new(epoch: impl Into<String>, position: u64) -> Self {
        Cursor {
            epoch: epoch.into(),
            position,
        }
    }

    /// The opaque token clients pass back as `since=`: clients must not take it apart.
    pub fn token(&self) -> String {
        format!("{}.{}", self.epoch, self.position)
    }

    /// Reads a token made by [`Cursor::token`]; `None` when it is not one.
    pub fn parse_token(token: &str) -> Option<Cursor> {
        let (epoch, position) = token.rsplit_once('.')?;
        if epoch.is_empty()
            || !epoch
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return None;
        }
        Some(Cursor::new(epoch, position.parse().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_names_the_field_that_broke() {
        let line = r#"{"entity":"recording","id":"rec_01HZZZZZZZZZZZZZZZZZZZZZZZ","op":"upsert","version":2,
            "data":{"id":"rec_01HZZZZZZZZZZZZZZZZZZZZZZZ","title":"x","display_artist":[],
            "credits":[{"party":"pty_01HZZZZZZZZZZZZZZZZZZZZZZZ","role":"caterer"}]}}"#
            .replace('\n', "");
        let rec = ChangeRecord::parse_line(&line, 1).expect("envelope parses");
        let err = rec.decode().expect_err("unknown role");
        assert_eq!(err.record, "recording rec_01HZZZZZZZZZZZZZZZZZZZZZZZ");
        assert_eq!(err.field, "data.credits[0].role");
        assert!(
            err.rule.contains("unknown variant `caterer`"),
            "{}",
            err.rule
        );
    }

    #[test]
    fn garbage_lines_name_the_line() {
        let err = ChangeRecord::parse_line("{\"entity\":", 7).expect_err("truncated");
        assert_eq!(err.record, "line 7");
    }

    #[test]
    fn a_record_followed_by_more_on_its_line_is_refused() {
        let change = Change::upsert(Entity::Party(crate::generate::party(1, 1)), 1, None);
        let line = serde_json::to_string(&change.to_record().expect("record")).expect("json");
        ChangeRecord::parse_line(&line, 1).expect("the record alone parses");
        let err = ChangeRecord::parse_line(&format!("{line} {{\"op\":"), 3)
            .expect_err("two records glued together");
        assert_eq!(err.record, "line 3");
        assert!(err.rule.contains("trailing characters"), "{}", err.rule);
    }
}
