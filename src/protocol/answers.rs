//! What the service answers: an entity at a version, its history, who a token belongs to,
//! and health.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::ids::PartyId;
use crate::model::{Entity, EntityId, EntityKind, Revision};

/// One entity at one version: the answer to a read, a create, a patch (`data` as stored) and a
/// delete (`deleted`, no `data`); also the `current` record of a 412.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EntityAnswer {
    pub entity: EntityKind,
    #[schema(value_type = String, example = "rec_01J9Z3Q8V4W5X6Y7Z8A9B0C1D2")]
    pub id: EntityId,
    pub version: u64,
    /// The entity, as the model's JSON (absent when deleted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object, nullable = false)]
    pub data: Option<Box<RawValue>>,
    /// True when the entity is deleted at this version.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// What an answer's data holds that a client cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("{kind} {id} at version {version} came without its data")]
    NoData {
        kind: EntityKind,
        id: EntityId,
        version: u64,
    },
    #[error("{kind} {id}: {field}: {rule}")]
    Invalid {
        kind: EntityKind,
        id: EntityId,
        field: String,
        rule: String,
    },
}

impl EntityAnswer {
    /// An answer for `id` at `version` with stored JSON `data` (already the model's canonical
    /// JSON: copied in, not parsed again beyond a syntax check).
    pub fn new(id: EntityId, version: u64, data: Option<Box<RawValue>>) -> EntityAnswer {
        EntityAnswer {
            entity: id.kind(),
            id,
            version,
            deleted: data.is_none(),
            data,
        }
    }

    /// The data as a JSON value; a live entity without data is a broken answer.
    pub fn value(&self) -> Result<serde_json::Value, AnswerError> {
        let raw = self.data.as_ref().ok_or(AnswerError::NoData {
            kind: self.entity,
            id: self.id,
            version: self.version,
        })?;
        serde_json::from_str(raw.get()).map_err(|e| AnswerError::Invalid {
            kind: self.entity,
            id: self.id,
            field: "data".into(),
            rule: e.to_string(),
        })
    }

    /// The data as a typed entity.
    pub fn decode(&self) -> Result<Entity, AnswerError> {
        let raw = self.data.as_ref().ok_or(AnswerError::NoData {
            kind: self.entity,
            id: self.id,
            version: self.version,
        })?;
        Entity::from_json(self.entity, raw.get()).map_err(|(field, rule)| AnswerError::Invalid {
            kind: self.entity,
            id: self.id,
            field,
            rule,
        })
    }
}

/// One revision as history shows it: the revision's members and whether it deleted the entity.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HistoryRevision {
    #[serde(flatten)]
    pub revision: Revision,
    pub deleted: bool,
}

impl<'de> Deserialize<'de> for HistoryRevision {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Not `flatten` on the way in: serde buffers the members of a flattened struct, and a
        // diff's values are raw JSON, which only the JSON reader itself can hand over.
        #[derive(Deserialize)]
        struct Flat {
            version: u64,
            actor: String,
            source: crate::model::Source,
            reason: String,
            at: jiff::Timestamp,
            #[serde(default)]
            diff: Vec<crate::model::FieldChange>,
            deleted: bool,
            #[serde(flatten)]
            unknown: crate::model::Unknown,
        }
        let f = Flat::deserialize(d)?;
        Ok(HistoryRevision {
            revision: Revision {
                version: f.version,
                actor: f.actor,
                source: f.source,
                reason: f.reason,
                at: f.at,
                diff: f.diff,
                unknown: f.unknown,
            },
            deleted: f.deleted,
        })
    }
}

/// `GET /v1/{collection}/{id}/history`: every revision, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HistoryAnswer {
    pub entity: EntityKind,
    #[schema(value_type = String)]
    pub id: EntityId,
    pub revisions: Vec<HistoryRevision>,
}

/// What a token may do: one vocabulary for the service, linerd and the console.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including tokens.
    Admin,
    /// Reads and edits the catalog.
    Editor,
    /// Reads everything, including history, to investigate disputes; does not edit.
    Support,
    /// Bound to party ids: reads the catalog, sees shares only on its own works, proposes
    /// corrections instead of editing.
    Artist,
    /// Reads the catalog.
    Reader,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Editor,
        Role::Support,
        Role::Artist,
        Role::Reader,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Support => "support",
            Role::Artist => "artist",
            Role::Reader => "reader",
        }
    }

    /// Whether tokens of this role may change catalog data.
    pub fn may_edit(self) -> bool {
        matches!(self, Role::Admin | Role::Editor)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown role {s:?}; expected one of admin, editor, support, artist, reader"
                )
            })
    }
}

/// `GET /v1/me`: whom the token belongs to. linerd records it in its status so the console
/// knows what it may offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub name: String,
    pub role: Role,
    /// The parties an artist token speaks for (empty for other roles).
    #[schema(value_type = Vec<String>)]
    pub parties: Vec<PartyId>,
    pub may_edit: bool,
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// The epoch of the catalog's history; cursors of another epoch are refused.
    pub epoch: String,
    /// The position of the last committed change.
    pub head: u64,
}
