//! What a write means, decided once for both backends: turning a create, a field-level patch
//! or a delete into a validated [`Write`] with its revision and field diff.
//!
//! Validation is the foundation model's own: an entity is accepted only if it decodes into the
//! typed model (identifiers with their check digits, the role vocabulary, writer shares that
//! total exactly 10,000 bp) and carries no member this service does not know (readers keep
//! such members; the service that defines the protocol refuses them). Stored data is the
//! canonical re-encoding of that typed value, so identifiers are kept normalised whatever
//! form they arrived in. The field diff of each revision is the model's own
//! ([`liner::model::diff`]), the one the daemon merges and the console reads.

use liner::model::{Entity, EntityId, EntityKind, FieldChange, Revision, Source, SourceKind, diff};
pub use liner::protocol::FieldError;
use serde_json::{Map, Value};

use crate::auth::Principal;
use crate::store::{Expect, Stored, Write, WriteOp, identifiers};

/// Checks a reason (mandatory on every write, with something to read in it).
pub fn check_reason(reason: Option<&str>) -> Result<String, FieldError> {
    match reason.map(str::trim) {
        Some(r) if !r.is_empty() => {
            liner::text::clean_reason(r).map_err(|e| FieldError::new("reason", e.to_string()))
        }
        _ => Err(FieldError::new(
            "reason",
            "every change needs a reason saying why it is made",
        )),
    }
}

/// Every string in `value` as it is stored ([`liner::text::clean`]: no control, bidi or
/// invisible format characters, NFC, at most [`liner::text::MAX_TEXT_CHARS`]), or the path of
/// the first that cannot be.
fn clean_text(value: &mut Value, path: &str) -> Result<(), FieldError> {
    match value {
        Value::String(s) => {
            let cleaned = liner::text::clean(s, liner::text::MAX_TEXT_CHARS)
                .map_err(|e| FieldError::new(path, e.to_string()))?;
            if let std::borrow::Cow::Owned(c) = cleaned {
                *s = c;
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .enumerate()
            .try_for_each(|(i, v)| clean_text(v, &format!("{path}[{i}]"))),
        Value::Object(map) => map
            .iter_mut()
            .try_for_each(|(k, v)| clean_text(v, &format!("{path}.{k}"))),
        _ => Ok(()),
    }
}

/// Decodes `data` as an entity of `kind`, naming the path under `prefix` on failure.
pub fn validate(kind: EntityKind, data: &Value, prefix: &str) -> Result<Entity, FieldError> {
    let json = data.to_string();
    let entity = decode(kind, &json, prefix)?;
    // The model reads a split redacted for an artist (no shares at all); the canonical store
    // never holds one.
    if let Entity::Work(w) = &entity
        && w.writers.shares_hidden()
    {
        return Err(FieldError::new(
            format!("{prefix}.writers[0].share"),
            "every writer needs a share; shares must total exactly 10000 bp (100%)",
        ));
    }
    Ok(entity)
}

/// A credit is one party's role (on one instrument) and a writer one party's role: the merge
/// tells them apart by exactly that, so a list holding one twice is refused where the second
/// is. A performer on guitar and on vocals, or a writer as composer and as lyricist, are two.
fn twice(entity: &Entity, prefix: &str) -> Result<(), FieldError> {
    let same_instrument = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => a.trim().to_lowercase() == b.trim().to_lowercase(),
        (a, b) => a.is_none() && b.is_none(),
    };
    match entity {
        Entity::Recording(r) => {
            for (i, c) in r.credits.iter().enumerate() {
                if let Some(first) = r.credits[..i].iter().position(|o| {
                    o.party == c.party
                        && o.role == c.role
                        && same_instrument(&o.instrument, &c.instrument)
                }) {
                    return Err(FieldError::new(
                        format!("{prefix}.credits[{i}]"),
                        format!(
                            "credits[{first}] already credits this party in this role{}: \
                             say each credit once",
                            if c.instrument.is_some() {
                                " on this instrument"
                            } else {
                                ""
                            }
                        ),
                    ));
                }
            }
        }
        Entity::Work(w) => {
            let writers = w.writers.as_slice();
            for (i, wr) in writers.iter().enumerate() {
                if let Some(first) = writers[..i]
                    .iter()
                    .position(|o| o.party == wr.party && o.role == wr.role)
                {
                    return Err(FieldError::new(
                        format!("{prefix}.writers[{i}]"),
                        format!(
                            "writers[{first}] already names this party in this role: give \
                             them one entry with their whole share"
                        ),
                    ));
                }
            }
        }
        Entity::Party(_) | Entity::Release(_) => {}
    }
    Ok(())
}

fn decode(kind: EntityKind, json: &str, prefix: &str) -> Result<Entity, FieldError> {
    let entity = Entity::from_json(kind, json).map_err(|(path, mut rule)| {
        // serde_json points into our re-encoding of the body, which the client never saw.
        if let Some(at) = rule.rfind(" at line ") {
            rule.truncate(at);
        }
        let path = if path == "." || path.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}.{path}")
        };
        FieldError::new(path, rule)
    })?;
    // Members the model keeps for readers, and members of nested values it ignores.
    let mut unknown: Vec<String> = liner::model::unknown::unknown_paths(&entity);
    let mut de = serde_json::Deserializer::from_str(json);
    let _ = strict(kind, &mut de, &mut |path| {
        unknown.push(json_path(&path.to_string()))
    });
    if let Some(path) = unknown.first() {
        return Err(FieldError::new(
            format!("{prefix}.{path}"),
            format!(
                "unknown field {:?}: this service (protocol {}) does not know it",
                path.rsplit('.').next().unwrap_or(path),
                liner::protocol::PROTOCOL_VERSION
            ),
        ));
    }
    Ok(entity)
}

/// serde_ignored's `features.?.valence` (`?` for inside an `Option`, bare numbers for list
/// items) as the request's own path: `features.valence`, `credits[2].x`.
fn json_path(ignored: &str) -> String {
    let mut out = String::new();
    for seg in ignored.split('.').filter(|s| *s != "?") {
        if seg.bytes().all(|b| b.is_ascii_digit()) && !out.is_empty() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out
}

/// Decodes `kind` once more, reporting every member serde ignored.
fn strict<'de>(
    kind: EntityKind,
    de: &mut serde_json::Deserializer<serde_json::de::StrRead<'de>>,
    ignored: &mut dyn FnMut(serde_ignored::Path<'_>),
) -> Result<(), serde_json::Error> {
    use liner::model::{Party, Recording, Release, Work};
    match kind {
        EntityKind::Party => serde_ignored::deserialize::<_, _, Party>(de, ignored).map(drop),
        EntityKind::Recording => {
            serde_ignored::deserialize::<_, _, Recording>(de, ignored).map(drop)
        }
        EntityKind::Work => serde_ignored::deserialize::<_, _, Work>(de, ignored).map(drop),
        EntityKind::Release => serde_ignored::deserialize::<_, _, Release>(de, ignored).map(drop),
    }
}

fn canonical(entity: &Entity) -> Result<(Value, String), FieldError> {
    let value = entity
        .to_json()
        .map_err(|e| FieldError::new("data", e.to_string()))?;
    let text = value.to_string();
    Ok((value, text))
}

fn revision(
    principal: &Principal,
    source: Source,
    reason: String,
    diff: Vec<FieldChange>,
) -> Revision {
    Revision {
        version: 0,
        actor: principal.name.clone(),
        source,
        reason,
        at: jiff::Timestamp::now(),
        diff,
        unknown: Default::default(),
    }
}

/// The source of an edit made through the API.
pub fn editor_source() -> Source {
    Source {
        kind: SourceKind::Editor,
        reference: None,
    }
}

/// A create: `data` without an id gets a fresh one.
pub fn create(
    principal: &Principal,
    kind: EntityKind,
    mut data: Value,
    reason: String,
    source: Source,
) -> Result<(Write, Value), FieldError> {
    let Some(obj) = data.as_object_mut() else {
        return Err(FieldError::new("data", "must be a JSON object"));
    };
    if !obj.contains_key("id") {
        let id = match kind {
            EntityKind::Party => liner::ids::PartyId::new().to_string(),
            EntityKind::Recording => liner::ids::RecordingId::new().to_string(),
            EntityKind::Work => liner::ids::WorkId::new().to_string(),
            EntityKind::Release => liner::ids::ReleaseId::new().to_string(),
        };
        obj.insert("id".into(), Value::String(id));
    }
    clean_text(&mut data, "data")?;
    let entity = validate(kind, &data, "data")?;
    twice(&entity, "data")?;
    let (value, text) = canonical(&entity)?;
    let diff = diff(None, Some(&value));
    Ok((
        Write {
            id: entity.id(),
            expect: Expect::Absent,
            op: WriteOp::Upsert(text),
            references: entity.references(),
            identifiers: identifiers::held(&entity),
            revision: revision(principal, source, reason, diff),
        },
        value,
    ))
}

/// A field-level patch: every top-level field in `patch` replaces the stored one (`null`
/// removes an optional field); the result must validate as a whole.
pub fn patch(
    principal: &Principal,
    current: &Stored,
    patch: &Map<String, Value>,
    reason: String,
) -> Result<(Write, Value), Vec<FieldError>> {
    let kind = current.id.kind();
    let old: Value = current
        .data
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Value::Null);
    let Some(mut merged) = old.as_object().cloned() else {
        return Err(vec![FieldError::new(
            "-",
            "the stored entity is not an object",
        )]);
    };
    let mut errors = Vec::new();
    for (field, value) in patch {
        if field == "id" {
            if value.as_str() != Some(&current.id.to_string()) {
                errors.push(FieldError::new("patch.id", "an entity's id never changes"));
            }
            continue;
        }
        if value.is_null() {
            merged.remove(field);
        } else {
            // Only what the patch brings is checked: text stored before these rules stays
            // readable and editable around it.
            let mut value = value.clone();
            match clean_text(&mut value, &format!("patch.{field}")) {
                Ok(()) => {
                    merged.insert(field.clone(), value);
                }
                Err(e) => errors.push(e),
            }
        }
    }
    if patch.is_empty() {
        errors.push(FieldError::new(
            "patch",
            "a patch must change at least one field",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let entity = validate(kind, &Value::Object(merged), "patch").map_err(|e| vec![e])?;
    // Only a patch that brings a list answers for it: one stored before this rule stays
    // editable in its other fields.
    if patch.contains_key("credits") || patch.contains_key("writers") {
        twice(&entity, "patch").map_err(|e| vec![e])?;
    }
    let (value, text) = canonical(&entity).map_err(|e| vec![e])?;
    let diff = diff(Some(&old), Some(&value));
    if diff.is_empty() {
        return Err(vec![FieldError::new(
            "patch",
            "the patch changes nothing: every field already has that value",
        )]);
    }
    Ok((
        Write {
            id: current.id,
            expect: Expect::Version(current.version),
            op: WriteOp::Upsert(text),
            references: entity.references(),
            identifiers: identifiers::held(&entity),
            revision: revision(principal, editor_source(), reason, diff),
        },
        value,
    ))
}

/// A delete of a live entity at its current version.
pub fn delete(principal: &Principal, current: &Stored, reason: String) -> Write {
    let old: Option<Value> = current
        .data
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok());
    Write {
        id: current.id,
        expect: Expect::Version(current.version),
        op: WriteOp::Delete,
        references: Vec::new(),
        identifiers: Vec::new(),
        revision: revision(principal, editor_source(), reason, diff(old.as_ref(), None)),
    }
}

/// A write for an import (the seed): the generator's entity as version 1.
pub fn import(entity: &Entity, revision: Revision) -> Result<Write, FieldError> {
    let (_, text) = canonical(entity)?;
    Ok(Write {
        id: entity.id(),
        expect: Expect::Absent,
        op: WriteOp::Upsert(text),
        references: entity.references(),
        identifiers: identifiers::held(entity),
        revision,
    })
}

/// Parses an entity id that must be of `kind`, as a field error on `field`.
pub fn parse_id(kind: EntityKind, s: &str, field: &str) -> Result<EntityId, FieldError> {
    EntityId::parse_as(kind, s).map_err(|e| FieldError::new(field, e.to_string()))
}
