//! Redaction at the service: a token never receives what it may not see. Artist tokens see a
//! split of writer shares only where one of their parties is among that split's writers;
//! everywhere else (entity reads, history diffs, the feed and the snapshot with its earlier
//! revisions) each writer's `share` is removed.
//!
//! Every split is judged by its own writers: the work's current data by today's writers, and
//! each side of a revision's `/writers` diff by the writers on that side. So the revision that
//! made an artist a writer shows the artist the new split but not the one before it, and a
//! revision that removed them hides the split after. The rule is applied to the JSON as it
//! goes out, never to a typed copy that might not parse: what cannot be read is withheld, not
//! passed on unredacted.

use liner::ids::PartyId;
use liner::model::EntityKind;
use liner::protocol::HistoryRevision;
use serde_json::Value;

use crate::auth::{Principal, Role};

/// Removes the shares of a split `p` may not see.
fn redact_split(p: &Principal, split: Option<&mut Value>) {
    let Some(Value::Array(ws)) = split else {
        return;
    };
    let parties: Vec<PartyId> = ws
        .iter()
        .filter_map(|w| w.get("party")?.as_str()?.parse().ok())
        .collect();
    if p.hides_shares(&parties) {
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
    if applies(p, kind) {
        redact_split(p, data.get_mut("writers"));
    }
}

/// Redacts a revision (as JSON): both sides of its `/writers` change, each by its own writers.
fn revision(p: &Principal, rev: &mut Value) {
    let Some(Value::Array(diff)) = rev.get_mut("diff") else {
        return;
    };
    for change in diff {
        if change.get("path").and_then(Value::as_str) == Some("/writers") {
            redact_split(p, change.get_mut("old"));
            redact_split(p, change.get_mut("new"));
        }
    }
}

/// Redacts a work's history for `p`.
pub fn history(p: &Principal, history: &mut [HistoryRevision]) {
    for h in history {
        for change in &mut h.revision.diff {
            if change.field() == "writers" {
                for raw in [&mut change.old, &mut change.new].into_iter().flatten() {
                    let mut split = raw.value();
                    redact_split(p, Some(&mut split));
                    *raw = split.into();
                }
            }
        }
    }
}

/// Redacts one feed or snapshot line (ending in `\n`) for `p`: its data, its revision and the
/// earlier revisions a snapshot line may carry. A work line that does not parse is withheld
/// (`None`), never sent unredacted; the service writes every line itself, so that is a store
/// fault, and it is logged.
pub fn line(p: &Principal, line: &str) -> Option<String> {
    if !(applies(p, EntityKind::Work) && line.starts_with("{\"entity\":\"work\"")) {
        return Some(line.to_owned());
    }
    let mut record: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e, "a work's feed line does not parse; withheld from an artist token");
            return None;
        }
    };
    if let Some(data) = record.get_mut("data") {
        redact_split(p, data.get_mut("writers"));
    }
    if let Some(rev) = record.get_mut("revision") {
        revision(p, rev);
    }
    if let Some(Value::Array(earlier)) = record.get_mut("history") {
        for rev in earlier {
            revision(p, rev);
        }
    }
    Some(format!("{record}\n"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn artist(party: PartyId) -> Principal {
        Principal {
            token_id: 1,
            name: "artist".into(),
            role: Role::Artist,
            parties: vec![party],
        }
    }

    #[test]
    fn each_side_of_a_split_change_is_judged_by_its_own_writers() {
        let me = liner::generate::party_id(1, 1);
        let other = liner::generate::party_id(1, 2);
        let p = artist(me);
        let before = json!([{"party": other.to_string(), "role": "composer", "share": 10000}]);
        let after = json!([
            {"party": me.to_string(), "role": "lyricist", "share": 2500},
            {"party": other.to_string(), "role": "composer", "share": 7500}
        ]);
        // As the service writes a line: the envelope's members first.
        let text = format!(
            r#"{{"entity":"work","id":"wrk_x","op":"upsert","version":2,"data":{},"revision":{}}}"#,
            json!({"writers": after}),
            json!({"diff": [{"path": "/writers", "old": before, "new": after}]}),
        );
        let out: Value = serde_json::from_str(&line(&p, &text).expect("kept")).expect("json");
        let change = &out["revision"]["diff"][0];
        assert_eq!(
            change["old"][0].get("share"),
            None,
            "the split before hides"
        );
        assert_eq!(
            change["new"][0]["share"], 2500,
            "the artist's own split shows"
        );
        assert_eq!(out["data"]["writers"][1]["share"], 7500);
        assert_eq!(
            line(&p, "{\"entity\":\"work\",\"id\":"),
            None,
            "withheld, not leaked"
        );
    }
}
