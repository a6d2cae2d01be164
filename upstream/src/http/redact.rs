//! Redaction at the service: a token never receives what it may not see. Artist tokens see
//! writer shares only on works where one of their parties is a writer; everywhere else (entity
//! reads, history diffs, the feed and the snapshot) the `share` of each writer is removed.

use std::borrow::Cow;

use liner::ids::PartyId;
use liner::model::EntityKind;
use serde_json::Value;

use crate::auth::{Principal, Role};

fn writers(data: &Value) -> Vec<PartyId> {
    data.get("writers")
        .and_then(Value::as_array)
        .map(|ws| {
            ws.iter()
                .filter_map(|w| w.get("party")?.as_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn strip_shares(writers: Option<&mut Value>) {
    if let Some(Value::Array(ws)) = writers {
        for w in ws {
            if let Some(o) = w.as_object_mut() {
                o.remove("share");
            }
        }
    }
}

/// Whether `p` must not see the shares of the work stored as `data`.
pub fn hides_work(p: &Principal, data: Option<&str>) -> bool {
    if p.role != Role::Artist {
        return false;
    }
    let parsed: Option<Value> = data.and_then(|d| serde_json::from_str(d).ok());
    p.hides_shares(&parsed.as_ref().map(writers).unwrap_or_default())
}

/// Redacts an entity's data in place.
pub fn entity(p: &Principal, kind: EntityKind, data: &mut Value) {
    if kind == EntityKind::Work && p.role == Role::Artist && p.hides_shares(&writers(data)) {
        strip_shares(data.get_mut("writers"));
    }
}

/// Removes shares from a revision's diff of `/writers`.
pub fn revision(rev: &mut Value) {
    if let Some(Value::Array(diff)) = rev.get_mut("diff") {
        for change in diff {
            if change.get("path").and_then(Value::as_str) == Some("/writers") {
                strip_shares(change.get_mut("old"));
                strip_shares(change.get_mut("new"));
            }
        }
    }
}

/// Redacts one feed or snapshot line (ending in `\n`) for `p`.
pub fn line<'a>(p: &Principal, line: &'a str) -> Cow<'a, str> {
    if p.role != Role::Artist || !line.starts_with("{\"entity\":\"work\"") {
        return Cow::Borrowed(line);
    }
    let Ok(mut record) = serde_json::from_str::<Value>(line) else {
        return Cow::Borrowed(line);
    };
    let hide = match record.get("data") {
        Some(d) => p.hides_shares(&writers(d)),
        None => true,
    };
    if !hide {
        return Cow::Borrowed(line);
    }
    strip_shares(record.get_mut("data").and_then(|d| d.get_mut("writers")));
    if let Some(rev) = record.get_mut("revision") {
        revision(rev);
    }
    Cow::Owned(format!("{record}\n"))
}
