//! How a revision's field diff is kept in the mirror: packed, with party keys in credit and
//! writer lists, as the recording and work rows keep their own (see [`super::body`]).
//!
//! A diff of a credits edit holds the whole list before and after, and as JSON with party ids
//! that was about 1.6 kB a revision: full history (every revision of every entity) made a 1M
//! mirror 1.5 GB instead of 0.6 GB when measured. Packed, a credit is a few bytes. Lists that
//! do not decode as the model's credits or writers, members this build does not know, and
//! every other field stay JSON, so nothing a revision said is lost. Diffs written before this
//! (TEXT) are read as they are; packed ones are BLOBs that start with a format byte.

use std::collections::HashMap;

use rusqlite::types::ValueRef;
use rusqlite::{OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use super::apply::key_for;
use super::body::{KeyedCredit, KeyedWriter};
use super::{Keys, Result, StoreError};
use crate::ids::PartyId;
use crate::model::{Credit, EntityId, FieldChange, RawJson, Writer};

/// The first byte of a packed diff: the format, so a later one can be told apart.
const PACKED_V1: u8 = 1;

#[derive(Serialize, Deserialize)]
struct PackedChange {
    path: String,
    old: Option<PackedValue>,
    new: Option<PackedValue>,
}

#[derive(Serialize, Deserialize)]
enum PackedValue {
    /// Any value, as JSON text.
    Json(String),
    Credits(Vec<KeyedCredit>),
    Writers(Vec<KeyedWriter>),
}

fn bad(what: &str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Body {
        what: what.to_owned(),
        reason: reason.to_string(),
    }
}

/// A diff as its revision row keeps it; `None` for an empty one.
pub(crate) fn pack(
    tx: &Transaction<'_>,
    keys: &mut Keys,
    diff: &[FieldChange],
) -> Result<Option<Vec<u8>>> {
    if diff.is_empty() {
        return Ok(None);
    }
    let mut changes = Vec::with_capacity(diff.len());
    for c in diff {
        let field = c.field();
        let mut value = |v: &Option<RawJson>| -> Result<Option<PackedValue>> {
            v.as_ref()
                .map(|v| pack_value(tx, keys, field, v))
                .transpose()
        };
        changes.push(PackedChange {
            path: c.path.clone(),
            old: value(&c.old)?,
            new: value(&c.new)?,
        });
    }
    let mut out = vec![PACKED_V1];
    postcard::to_io(&changes, &mut out).map_err(|e| bad("revision diff", e))?;
    Ok(Some(out))
}

fn pack_value(
    tx: &Transaction<'_>,
    keys: &mut Keys,
    field: &str,
    v: &RawJson,
) -> Result<PackedValue> {
    let json = || PackedValue::Json(v.get().to_owned());
    Ok(match field {
        // Decoded straight from the text (ids without copies), never through a `Value`.
        "credits" => match v.decode::<Vec<Credit>>() {
            Ok(list) if list.iter().all(|c| c.unknown.is_empty()) => {
                let mut out = Vec::with_capacity(list.len());
                for c in list {
                    out.push(KeyedCredit {
                        party: key_for(tx, keys, EntityId::Party(c.party))?,
                        role: c.role.code(),
                        instrument: c.instrument,
                        credited_as: c.credited_as,
                    });
                }
                PackedValue::Credits(out)
            }
            _ => json(),
        },
        "writers" => match v.decode::<Vec<Writer>>() {
            Ok(list) if list.iter().all(|w| w.unknown.is_empty()) => {
                let mut out = Vec::with_capacity(list.len());
                for w in list {
                    out.push(KeyedWriter {
                        party: key_for(tx, keys, EntityId::Party(w.party))?,
                        role: w.role.code(),
                        share_bp: w.share.map(|s| s.get()),
                    });
                }
                PackedValue::Writers(out)
            }
            _ => json(),
        },
        _ => json(),
    })
}

/// Party ids by key, looked up once each while a history is read.
pub(crate) struct PartyIds<'c> {
    conn: &'c rusqlite::Connection,
    known: HashMap<i64, PartyId>,
}

impl<'c> PartyIds<'c> {
    pub(crate) fn new(conn: &'c rusqlite::Connection) -> Self {
        PartyIds {
            conn,
            known: HashMap::new(),
        }
    }

    fn get(&mut self, key: i64) -> Result<PartyId> {
        if let Some(id) = self.known.get(&key) {
            return Ok(*id);
        }
        let id: PartyId = self
            .conn
            .prepare_cached("SELECT id FROM party WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?
            .ok_or_else(|| bad("revision diff", format!("no party with key {key}")))?;
        self.known.insert(key, id);
        Ok(id)
    }
}

/// A revision row's diff, as it was written or packed.
pub(crate) fn unpack(raw: ValueRef<'_>, parties: &mut PartyIds<'_>) -> Result<Vec<FieldChange>> {
    match raw {
        ValueRef::Null => Ok(Vec::new()),
        ValueRef::Text(t) => serde_json::from_slice(t).map_err(|e| StoreError::Corrupt {
            what: "revision diff".into(),
            source: e,
        }),
        ValueRef::Blob(b) => {
            let (format, rest) = b
                .split_first()
                .ok_or_else(|| bad("revision diff", "empty"))?;
            if *format != PACKED_V1 {
                return Err(bad("revision diff", format!("packed format {format}")));
            }
            let changes: Vec<PackedChange> =
                postcard::from_bytes(rest).map_err(|e| bad("revision diff", e))?;
            let mut out = Vec::with_capacity(changes.len());
            for c in changes {
                out.push(FieldChange {
                    path: c.path,
                    old: c.old.map(|v| unpack_value(v, parties)).transpose()?,
                    new: c.new.map(|v| unpack_value(v, parties)).transpose()?,
                });
            }
            Ok(out)
        }
        other => Err(bad(
            "revision diff",
            format!("stored as {:?}", other.data_type()),
        )),
    }
}

fn unpack_value(v: PackedValue, parties: &mut PartyIds<'_>) -> Result<RawJson> {
    fn json<T: Serialize>(v: T) -> Result<RawJson> {
        RawJson::of(&v).map_err(|e| bad("revision diff", e))
    }
    match v {
        PackedValue::Json(text) => serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
            what: "revision diff".into(),
            source: e,
        }),
        PackedValue::Credits(list) => {
            let mut out = Vec::with_capacity(list.len());
            for c in list {
                out.push(Credit {
                    party: parties.get(c.party)?,
                    role: c.role("revision diff")?,
                    instrument: c.instrument,
                    credited_as: c.credited_as,
                    unknown: Default::default(),
                });
            }
            json(out)
        }
        PackedValue::Writers(list) => {
            let mut out = Vec::with_capacity(list.len());
            for w in list {
                out.push(Writer {
                    party: parties.get(w.party)?,
                    role: w.role("revision diff")?,
                    share: w
                        .share_bp
                        .map(|bp| crate::model::BasisPoints::new(u32::from(bp)))
                        .transpose()
                        .map_err(|e| bad("revision diff", e))?,
                    unknown: Default::default(),
                });
            }
            json(out)
        }
    }
}
