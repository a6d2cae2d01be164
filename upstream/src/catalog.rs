//! What a write means, decided once for both backends: turning a create, a field-level patch
//! or a delete into a validated [`Write`] with its revision and field diff.
//!
//! Validation is the foundation model's own: an entity is accepted only if it decodes into the
//! typed model (identifiers with their check digits, the role vocabulary, writer shares that
//! total exactly 10,000 bp, no unknown fields). Stored data is the canonical re-encoding of
//! that typed value, so identifiers are kept normalised whatever form they arrived in.

use liner::model::{Entity, EntityId, EntityKind, FieldChange, Revision, Source, SourceKind};
use serde_json::{Map, Value};

use crate::auth::Principal;
use crate::store::{Expect, Stored, Write, WriteOp};

/// One validation failure: where (a JSON path in the request body) and which rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub rule: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            rule: rule.into(),
        }
    }
}

/// Checks a reason (mandatory on every write).
pub fn check_reason(reason: Option<&str>) -> Result<String, FieldError> {
    match reason.map(str::trim) {
        Some(r) if !r.is_empty() => {
            if r.len() > 2_000 {
                Err(FieldError::new("reason", "a reason is at most 2,000 bytes"))
            } else {
                Ok(r.to_owned())
            }
        }
        _ => Err(FieldError::new(
            "reason",
            "every change needs a reason saying why it is made",
        )),
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

fn decode(kind: EntityKind, json: &str, prefix: &str) -> Result<Entity, FieldError> {
    Entity::from_json(kind, json).map_err(|(path, mut rule)| {
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
    })
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
    }
}

/// The source of an edit made through the API.
pub fn editor_source() -> Source {
    Source {
        kind: SourceKind::Editor,
        reference: None,
    }
}

/// Top-level field differences between two entity JSON objects.
pub fn diff(old: Option<&Value>, new: Option<&Value>) -> Vec<FieldChange> {
    let empty = Map::new();
    let old = old.and_then(Value::as_object).unwrap_or(&empty);
    let new = new.and_then(Value::as_object).unwrap_or(&empty);
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| FieldChange {
            path: format!("/{k}"),
            old: old.get(k).cloned(),
            new: new.get(k).cloned(),
        })
        .collect()
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
    let entity = validate(kind, &data, "data")?;
    let (value, text) = canonical(&entity)?;
    let diff = diff(None, Some(&value));
    Ok((
        Write {
            id: entity.id(),
            expect: Expect::Absent,
            op: WriteOp::Upsert(text),
            references: entity.references(),
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
            merged.insert(field.clone(), value.clone());
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
        revision,
    })
}

/// Parses an entity id that must be of `kind`, as a field error on `field`.
pub fn parse_id(kind: EntityKind, s: &str, field: &str) -> Result<EntityId, FieldError> {
    EntityId::parse_as(kind, s).map_err(|e| FieldError::new(field, e.to_string()))
}
