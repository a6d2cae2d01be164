//! Decoding a change record line in one pass: the envelope and, when `entity` comes before
//! `data` (as every producer writes it), the entity itself, instead of copying `data` out as
//! raw JSON and parsing it a second time.
//!
//! Anything the one pass does not take (another field order, an unknown or repeated field, a
//! record that does not validate) goes the two-pass way ([`ChangeRecord::parse_line`], then
//! [`ChangeRecord::decode`]), which stays the reference for what is accepted and for what each
//! refusal says. Decoding was what a 1M bootstrap waited on most (10.0 of 16.1 s).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::change::{
    Change, ChangeOp, ChangeRecord, DecodeError, Entity, EntityId, EntityKind, Op,
};
use super::{Party, Recording, Release, Revision, Work};
use crate::parsed::Str;

impl ChangeRecord {
    /// Parses and validates one NDJSON line of the feed or a snapshot; the same as
    /// `parse_line` then `decode`, in one pass when it can be.
    pub fn decode_line(line: &str, line_no: usize) -> Result<Change, DecodeError> {
        if let Some(change) = one_pass(line) {
            return Ok(change);
        }
        ChangeRecord::parse_line(line, line_no).and_then(|r| r.decode())
    }
}

/// The change, if the line is a valid record with `entity` before `data`.
fn one_pass(line: &str) -> Option<Change> {
    let mut de = serde_json::Deserializer::from_str(line);
    let record = de.deserialize_map(RecordVisitor).ok()?;
    de.end().ok()?;
    let id = EntityId::parse_as(record.entity, &record.id).ok()?;
    if record.version == 0 {
        return None;
    }
    let op = match record.op {
        Op::Delete => ChangeOp::Delete,
        Op::Upsert => {
            let entity = record.data?;
            if entity.id() != id {
                return None;
            }
            ChangeOp::Upsert(entity)
        }
    };
    Some(Change {
        id,
        version: record.version,
        op,
        revision: record.revision,
        history: record.history,
    })
}

struct Record<'de> {
    entity: EntityKind,
    id: Cow<'de, str>,
    op: Op,
    version: u64,
    data: Option<Entity>,
    revision: Option<Revision>,
    history: Vec<Revision>,
}

struct RecordVisitor;

impl<'de> Visitor<'de> for RecordVisitor {
    type Value = Record<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a change record with its entity before its data")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record<'de>, A::Error> {
        let mut entity = None;
        let mut id = None;
        let mut op = None;
        let mut version = None;
        let mut data = None;
        let mut revision: Option<Option<Revision>> = None;
        let mut history: Option<Vec<Revision>> = None;
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            match key.as_ref() {
                "entity" if entity.is_none() => entity = Some(map.next_value::<EntityKind>()?),
                "id" if id.is_none() => id = Some(map.next_value::<Str<'de>>()?.0),
                "op" if op.is_none() => op = Some(map.next_value::<Op>()?),
                "version" if version.is_none() => version = Some(map.next_value::<u64>()?),
                "data" if data.is_none() => {
                    let kind = entity.ok_or_else(|| de::Error::custom("data before entity"))?;
                    data = Some(map.next_value_seed(EntitySeed(kind))?);
                }
                "revision" if revision.is_none() => revision = Some(map.next_value()?),
                "history" if history.is_none() => history = Some(map.next_value()?),
                "entity" | "id" | "op" | "version" | "data" | "revision" | "history" => {
                    // Repeated: the two-pass way says what is wrong.
                    return Err(de::Error::custom("left to the two-pass decoding"));
                }
                // A member of a newer protocol: ignored, as the two-pass way ignores it.
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let missing = |field| de::Error::missing_field(field);
        Ok(Record {
            entity: entity.ok_or_else(|| missing("entity"))?,
            id: id.ok_or_else(|| missing("id"))?,
            op: op.ok_or_else(|| missing("op"))?,
            version: version.ok_or_else(|| missing("version"))?,
            data,
            revision: revision.flatten(),
            history: history.unwrap_or_default(),
        })
    }
}

/// Deserializes `data` as the entity its record's `entity` names.
struct EntitySeed(EntityKind);

impl<'de> DeserializeSeed<'de> for EntitySeed {
    type Value = Entity;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Entity, D::Error> {
        Ok(match self.0 {
            EntityKind::Party => Entity::Party(Party::deserialize(d)?),
            EntityKind::Recording => Entity::Recording(Recording::deserialize(d)?),
            EntityKind::Work => Entity::Work(Work::deserialize(d)?),
            EntityKind::Release => Entity::Release(Release::deserialize(d)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::generate::{CatalogSpec, Generator};
    use crate::model::ChangeRecord;

    /// What the two-pass way makes of a line: the reference.
    fn two_pass(line: &str) -> Result<crate::model::Change, crate::model::DecodeError> {
        ChangeRecord::parse_line(line, 7).and_then(|r| r.decode())
    }

    /// Every record of a generated catalog, and every kind of odd or bad line, decodes to
    /// exactly what the two-pass way makes of it: the same change, or the same refusal.
    #[test]
    fn one_pass_decoding_equals_the_two_pass_way() {
        let mut lines = Vec::new();
        for batch in Generator::new(CatalogSpec::new(300, 3), 500) {
            for c in batch.changes {
                let record = c.to_record().expect("record");
                lines.push(serde_json::to_string(&record).expect("json"));
            }
        }
        let first = lines[0].clone();
        let recording = lines
            .iter()
            .find(|l| l.starts_with(r#"{"entity":"recording""#))
            .expect("a recording")
            .clone();
        let value: serde_json::Value = serde_json::from_str(&recording).expect("value");
        // A record's fields written in `order` (others after), as a producer might.
        let ordered = |v: &serde_json::Value, order: &[&str]| {
            let map = v.as_object().expect("object");
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by_key(|k| order.iter().position(|o| o == k).unwrap_or(order.len()));
            let body: Vec<String> = keys
                .iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        serde_json::Value::from(k.as_str()),
                        map[k.as_str()]
                    )
                })
                .collect();
            format!("{{{}}}", body.join(","))
        };
        const USUAL: &[&str] = &["entity", "id", "op", "version", "data", "revision"];
        let with = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut v = value.clone();
            edit(&mut v);
            ordered(&v, USUAL)
        };
        // The producer's envelope order, so these lines take the one pass where they can.
        assert!(with(&|_| {}).starts_with(r#"{"entity":"recording","id":"#));
        assert_eq!(
            ChangeRecord::decode_line(&with(&|_| {}), 7),
            two_pass(&recording)
        );
        let odd = [
            // Data before entity: only the two-pass way takes it, with the same result.
            ordered(&value, &["data"]),
            with(&|v| v["version"] = 0.into()),
            with(&|v| v["op"] = "delete".into()),
            with(&|v| v["op"] = "upsert".into()),
            with(&|v| v["data"] = serde_json::Value::Null),
            with(&|v| v["revision"] = serde_json::Value::Null),
            with(&|v| v["data"]["title"] = 5.into()),
            with(&|v| v["data"]["id"] = "rec_01ARZ3NDEKTSV4RRFFQ69G5FAV".into()),
            with(&|v| v["id"] = "not an id".into()),
            with(&|v| v["entity"] = "work".into()),
            with(&|v| v["extra"] = true.into()),
            with(&|v| {
                v.as_object_mut().expect("object").remove("data");
            }),
            with(&|v| {
                v.as_object_mut().expect("object").remove("version");
            }),
            recording.replacen(r#""entity""#, r#""entity":"party","entity""#, 1),
            recording.replacen(r#""entity""#, r#""\u0065ntity""#, 1),
            format!("{recording} trailing"),
            recording[..recording.len() / 2].to_owned(),
            "null".to_owned(),
            "[]".to_owned(),
            first.replacen(r#""op":"upsert""#, r#""op":"delete""#, 1),
        ];
        for line in lines.iter().chain(&odd) {
            assert_eq!(ChangeRecord::decode_line(line, 7), two_pass(line), "{line}");
        }
        // The odd lines are odd: most are refused, so the comparison covers refusals.
        let refused = odd
            .iter()
            .filter(|l| ChangeRecord::decode_line(l, 7).is_err())
            .count();
        assert!(refused >= 12, "{refused} of the odd lines refused");
    }
}
