//! Redaction at the service: a token never receives what it may not see. Artist tokens see
//! writer shares only on works where one of their parties is a writer; everywhere else (entity
//! reads, history diffs, the feed and the snapshot) the `share` of each writer is removed.
//!
//! Whether a revision's shares are hidden depends on the writers at that revision's version,
//! not on today's: an artist removed from a work's writers later still sees the split of the
//! versions it wrote on, in the feed as in the history and a snapshot's earlier revisions.
//! Writers at each earlier version are read back from the revisions' `/writers` diffs.

use std::borrow::Cow;

use liner::ids::PartyId;
use liner::model::{EntityKind, Revision};
use liner::protocol::HistoryRevision;
use serde_json::Value;

use crate::auth::{Principal, Role};

fn writers(data: &Value) -> Vec<PartyId> {
    data.get("writers").map(writer_parties).unwrap_or_default()
}

fn writer_parties(list: &Value) -> Vec<PartyId> {
    list.as_array()
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

/// Whether anything of an entity of `kind` may be hidden from `p`.
pub fn applies(p: &Principal, kind: EntityKind) -> bool {
    p.role == Role::Artist && kind == EntityKind::Work
}

/// Redacts an entity's data in place.
pub fn entity(p: &Principal, kind: EntityKind, data: &mut Value) {
    if applies(p, kind) && p.hides_shares(&writers(data)) {
        strip_shares(data.get_mut("writers"));
    }
}

/// Removes shares from a revision's diff of `/writers`.
fn strip_revision(rev: &mut Revision) {
    for change in &mut rev.diff {
        if change.field() == "writers" {
            strip_shares(change.old.as_mut());
            strip_shares(change.new.as_mut());
        }
    }
}

/// Redacts revisions of one work, newest last, given the writers at the newest one's
/// version (`None` for a deleted work, whose every split is hidden): each revision is judged
/// by the writers its version had.
fn revisions<'a>(
    p: &Principal,
    mut now: Option<Vec<PartyId>>,
    newest_first: impl Iterator<Item = &'a mut Revision>,
) {
    for rev in newest_first {
        let before = rev
            .diff
            .iter()
            .find(|c| c.field() == "writers")
            .map(|c| c.old.as_ref().map(writer_parties).unwrap_or_default());
        if now.as_ref().is_none_or(|w| p.hides_shares(w)) {
            strip_revision(rev);
        }
        if let Some(before) = before {
            now = Some(before);
        }
    }
}

/// Redacts a work's history for `p`, from its current stored data.
pub fn history(p: &Principal, current: Option<&str>, history: &mut [HistoryRevision]) {
    let now = current
        .and_then(|d| serde_json::from_str::<Value>(d).ok())
        .map(|d| writers(&d));
    revisions(p, now, history.iter_mut().rev().map(|h| &mut h.revision));
}

/// Redacts one feed or snapshot line (ending in `\n`) for `p`: its data, its revision and
/// the earlier revisions a snapshot line may carry.
pub fn line<'a>(p: &Principal, line: &'a str) -> Cow<'a, str> {
    if p.role != Role::Artist || !line.starts_with("{\"entity\":\"work\"") {
        return Cow::Borrowed(line);
    }
    let Ok(mut record) = serde_json::from_str::<Value>(line) else {
        return Cow::Borrowed(line);
    };
    let now = record.get("data").map(writers);
    if now.as_ref().is_some_and(|w| !p.hides_shares(w)) && record.get("history").is_none() {
        return Cow::Borrowed(line);
    }
    if now.as_ref().is_none_or(|w| p.hides_shares(w)) {
        strip_shares(record.get_mut("data").and_then(|d| d.get_mut("writers")));
    }
    let mut revs: Vec<Revision> = Vec::new();
    if let Some(r) = record.get("revision") {
        revs.extend(serde_json::from_value::<Revision>(r.clone()).ok());
    }
    let earlier: Vec<Revision> = record
        .get("history")
        .and_then(|h| serde_json::from_value(h.clone()).ok())
        .unwrap_or_default();
    let has_revision = !revs.is_empty();
    let mut all: Vec<Revision> = earlier;
    all.extend(revs);
    revisions(p, now, all.iter_mut().rev());
    if let Some(o) = record.as_object_mut() {
        if has_revision && let Some(last) = all.pop() {
            o.insert(
                "revision".into(),
                serde_json::to_value(last).unwrap_or(Value::Null),
            );
        }
        if o.contains_key("history") {
            o.insert(
                "history".into(),
                serde_json::to_value(all).unwrap_or(Value::Null),
            );
        }
    }
    Cow::Owned(format!("{record}\n"))
}
