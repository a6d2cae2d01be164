//! How the upstream answered an edit, in words with party names: what the outbox, the
//! recording's detail, the conflict resolver and `liner show` say. Never raw JSON, never a
//! bare id where the mirror knows the name.

use std::collections::HashMap;

use liner::model::{Author, Conflict, ListField};
use liner::protocol::EditOutcome;
use serde_json::Value;

use super::edit::percent;

/// Party ids and the names the mirror has for them.
pub type Names = HashMap<String, String>;

fn name<'a>(names: &'a Names, id: &'a str) -> &'a str {
    names.get(id).map_or(id, String::as_str)
}

/// One line about an answered edit.
pub fn outcome_words(outcome: &EditOutcome, names: &Names) -> String {
    match outcome {
        EditOutcome::Accepted { version } => format!("accepted as version {version}"),
        EditOutcome::AlreadyThere { version: 0 } => {
            "already upstream: someone made the same change".into()
        }
        EditOutcome::AlreadyThere { version } => {
            format!("already upstream at version {version}: someone made the same change")
        }
        EditOutcome::Rejected { detail, errors, .. } => {
            let mut out = "refused by the upstream".to_owned();
            if errors.is_empty() {
                // Only words: an answer that was not a problem (an old outbox kept a proxy's
                // page as its text) is not shown as it came.
                if detail.trim_start().starts_with('<') {
                    out.push_str(" with an answer that was not a problem report");
                } else {
                    out.push_str(&format!(": {}", named(detail, names)));
                }
            }
            for e in errors {
                out.push_str(&format!(
                    "; {}: {}",
                    field_words(&e.field),
                    named(&e.rule, names)
                ));
            }
            out
        }
        EditOutcome::Conflicted { conflicts, .. } => {
            let mut who: Vec<&str> = conflicts
                .iter()
                .filter_map(|c| c.theirs_by.as_ref().map(|a| a.actor.as_str()))
                .collect();
            who.sort_unstable();
            who.dedup();
            let n = conflicts.len();
            format!(
                "{n} {} with {} upstream",
                if n == 1 { "conflict" } else { "conflicts" },
                if who.is_empty() {
                    "a change".to_owned()
                } else {
                    format!("changes by {}", who.join(", "))
                }
            )
        }
        EditOutcome::Gone { detail, .. } => format!("gone upstream: {}", named(detail, names)),
    }
}

/// Text with each party id the mirror can name replaced by the name.
fn named(text: &str, names: &Names) -> String {
    let mut out = text.to_owned();
    for (id, n) in names {
        if id != n && out.contains(id.as_str()) {
            out = out.replace(id.as_str(), n);
        }
    }
    out
}

/// One credit or writer in words: "Ann Lindqvist — producer (guitar) as “A. L.”", or a
/// writer's "… — composer 33.33%"; a display artist's "Ann Lindqvist (as “Ann L.”) feat.".
pub fn item_words(item: &Value, names: &Names) -> String {
    let party = item.get("party").and_then(Value::as_str).unwrap_or("?");
    let Some(role) = item.get("role").and_then(Value::as_str) else {
        let mut s = name(names, party).to_owned();
        if let Some(shown) = item.get("name").and_then(Value::as_str)
            && shown != s
        {
            s.push_str(&format!(" (as “{shown}”)"));
        }
        if let Some(join) = item.get("join_phrase").and_then(Value::as_str) {
            s.push_str(join.trim_end());
        }
        return s;
    };
    let mut s = format!("{} — {}", name(names, party), role.replace('_', " "));
    if let Some(inst) = item.get("instrument").and_then(Value::as_str) {
        s.push_str(&format!(" ({inst})"));
    }
    if let Some(share) = item.get("share").and_then(Value::as_u64) {
        s.push_str(&format!(" {}", percent(share as u32)));
    }
    if let Some(a) = item.get("credited_as").and_then(Value::as_str) {
        s.push_str(&format!(" as “{a}”"));
    }
    s
}

/// A field's value, or an item, in words; "(none)" for absent. Ids are named where the mirror
/// knows them, and no value is shown as raw JSON.
pub fn value_words(v: Option<&Value>, names: &Names) -> String {
    match v {
        None | Some(Value::Null) => "(none)".into(),
        Some(Value::String(s)) => name(names, s).to_owned(),
        Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.into(),
        Some(Value::Number(n)) => n.to_string(),
        Some(item @ Value::Object(o)) if o.contains_key("party") => item_words(item, names),
        Some(Value::Object(o)) => o
            .iter()
            .map(|(k, v)| format!("{} {}", k.replace('_', " "), value_words(Some(v), names)))
            .collect::<Vec<_>>()
            .join(", "),
        Some(Value::Array(items)) if items.is_empty() => "(none)".into(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| value_words(Some(i), names))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Where in an edit a refusal points, in words: `patch.credits[2].role` is "credit 3, role".
pub fn field_words(path: &str) -> String {
    let path = path
        .strip_prefix("patch.")
        .or_else(|| path.strip_prefix("data."))
        .unwrap_or(path);
    path.split('.')
        .map(|seg| match seg.split_once('[') {
            Some((list, rest)) => {
                let n: usize = rest.trim_end_matches(']').parse().unwrap_or(0);
                let one = match list {
                    "credits" => "credit",
                    "writers" => "writer",
                    "display_artist" => "display artist",
                    "tracks" => "track",
                    other => other,
                };
                format!("{} {}", one.replace('_', " "), n + 1)
            }
            None => seg.replace('_', " "),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a conflict is about: a field, or one credit or writer of a list.
pub fn conflict_title(c: &Conflict, names: &Names) -> String {
    match (&c.item, ListField::of(&c.field)) {
        (Some(item), Some(list)) => {
            let what = match list {
                ListField::Credits => "credit",
                ListField::Writers => "writer",
            };
            let mut s = format!(
                "{what} {} — {}",
                name(names, &item.party),
                item.role.replace('_', " ")
            );
            if let Some(i) = &item.instrument {
                s.push_str(&format!(" ({i})"));
            }
            s
        }
        _ => c.field.replace('_', " "),
    }
}

/// Who made a change, when, from where and why.
pub fn author_words(a: &Author) -> String {
    format!(
        "version {} by {} ({}) on {}: “{}”",
        a.version,
        a.actor,
        a.source.kind.as_str().replace('_', " "),
        a.at.strftime("%Y-%m-%d %H:%M UTC"),
        a.reason
    )
}

#[cfg(test)]
mod tests {
    use liner::protocol::FieldError;
    use serde_json::json;

    use super::*;

    #[test]
    fn outcomes_read_as_words_with_names() {
        let mut names = Names::new();
        names.insert("pty_1".into(), "Ann".into());
        let rejected = EditOutcome::Rejected {
            status: 422,
            detail: "patch.credits[0].party: party pty_1 does not exist or is deleted".into(),
            errors: vec![FieldError::new(
                "patch.credits[0].party",
                "party pty_1 does not exist or is deleted",
            )],
        };
        let words = outcome_words(&rejected, &names);
        assert_eq!(
            words,
            "refused by the upstream; credit 1, party: party Ann does not exist or is deleted"
        );
        assert!(!words.contains('{'), "{words}");
        assert_eq!(
            item_words(
                &json!({"party": "pty_1", "role": "mixing_engineer", "credited_as": "A."}),
                &names
            ),
            "Ann — mixing engineer as “A.”"
        );
    }
}
