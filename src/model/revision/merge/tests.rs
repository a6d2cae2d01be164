//! The merge's cases, one behaviour each.

use serde_json::json;

use super::*;
use crate::model::{FieldChange, SourceKind};

fn rev(version: u64, actor: &str, changes: &[(&str, Value, Value)]) -> Revision {
    Revision {
        version,
        actor: actor.into(),
        source: Source {
            kind: SourceKind::Editor,
            reference: None,
        },
        reason: format!("{actor}'s reason"),
        at: jiff::Timestamp::UNIX_EPOCH,
        diff: changes
            .iter()
            .map(|(f, old, new)| FieldChange {
                path: format!("/{f}"),
                old: Some(old.into()),
                new: Some(new.into()),
            })
            .collect(),
        unknown: Default::default(),
    }
}

fn patch(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn c(party: &str, role: &str) -> Value {
    json!({"party": party, "role": role})
}

#[test]
fn two_editors_adding_different_credits_both_land() {
    let base = json!([c("a", "producer")]);
    let theirs = json!([c("a", "producer"), c("b", "vocalist")]);
    let history = [rev(2, "bo", &[("credits", base.clone(), theirs.clone())])];
    let mine = patch(json!({"credits": [c("a", "producer"), c("c", "performer")]}));
    let m = merge(&mine, 1, 2, &json!({"credits": theirs}), &history).expect("merge");
    assert_eq!(
        m,
        Merge::Rebase(patch(json!({"credits": [
            c("a", "producer"), c("b", "vocalist"), c("c", "performer")
        ]})))
    );
}

#[test]
fn one_credit_changed_two_ways_is_one_conflict_naming_who_made_theirs() {
    let base = json!([c("a", "producer"), c("b", "vocalist")]);
    let theirs = json!([c("a", "mixing_engineer"), c("b", "vocalist")]);
    let history = [rev(2, "bo", &[("credits", base.clone(), theirs.clone())])];
    let mine = patch(json!({"credits": [c("a", "remixer"), c("b", "vocalist")]}));
    let Merge::Conflict { conflicts, merged } =
        merge(&mine, 1, 2, &json!({"credits": theirs}), &history).expect("merge")
    else {
        panic!("expected a conflict")
    };
    assert_eq!(conflicts.len(), 1);
    let k = &conflicts[0];
    assert_eq!(k.base, Some(c("a", "producer")));
    assert_eq!(k.mine, Some(c("a", "remixer")));
    assert_eq!(k.theirs, Some(c("a", "mixing_engineer")));
    assert_eq!(k.theirs_by.as_ref().map(|a| a.actor.as_str()), Some("bo"));
    let mine_picked = resolve(&merged, &[(k, Pick::Mine)]);
    assert_eq!(
        mine_picked["credits"],
        json!([c("a", "remixer"), c("b", "vocalist")])
    );
    let base_picked = resolve(&merged, &[(k, Pick::Base)]);
    assert_eq!(
        base_picked["credits"],
        json!([c("a", "producer"), c("b", "vocalist")])
    );
}

#[test]
fn removing_a_credit_the_other_side_changed_is_a_conflict() {
    let base = json!([c("a", "producer"), c("b", "vocalist")]);
    let theirs = json!([c("a", "mixing_engineer"), c("b", "vocalist")]);
    let history = [rev(2, "bo", &[("credits", base.clone(), theirs.clone())])];
    let mine = patch(json!({"credits": [c("b", "vocalist")]}));
    let Merge::Conflict { conflicts, merged } =
        merge(&mine, 1, 2, &json!({"credits": theirs}), &history).expect("merge")
    else {
        panic!("expected a conflict")
    };
    assert_eq!(conflicts[0].mine, None);
    let picked = resolve(&merged, &[(&conflicts[0], Pick::Mine)]);
    assert_eq!(picked["credits"], json!([c("b", "vocalist")]));
}

#[test]
fn scalars_merge_by_field() {
    let history = [rev(2, "bo", &[("genre", json!("pop"), json!("rock"))])];
    let current = json!({"title": "Base", "genre": "rock"});
    let m = merge(&patch(json!({"title": "Mine"})), 1, 2, &current, &history);
    assert_eq!(m, Ok(Merge::Rebase(patch(json!({"title": "Mine"})))));
    let m = merge(&patch(json!({"genre": "rock"})), 1, 2, &current, &history);
    assert_eq!(m, Ok(Merge::AlreadyThere));
    let m = merge(&patch(json!({"genre": "jazz"})), 1, 2, &current, &history);
    assert!(matches!(m, Ok(Merge::Conflict { .. })), "{m:?}");
}

#[test]
fn a_gap_in_the_history_refuses_to_merge() {
    let history = [rev(3, "bo", &[("genre", json!("pop"), json!("rock"))])];
    let m = merge(&patch(json!({"genre": "x"})), 1, 3, &json!({}), &history);
    assert_eq!(m, Err(MergeError::Gap(2)));
}

#[test]
fn shares_both_sides_changed_that_no_longer_total_100_percent_conflict() {
    let w = |p: &str, s: u64| json!({"party": p, "role": "composer", "share": s});
    let base = json!([w("a", 5000), w("b", 5000)]);
    let theirs = json!([w("a", 5000), w("b", 4000), w("c", 1000)]);
    let history = [rev(2, "bo", &[("writers", base.clone(), theirs.clone())])];
    let mine = patch(json!({"writers": [w("a", 6000), w("b", 4000)]}));
    let Ok(Merge::Conflict { conflicts, .. }) =
        merge(&mine, 1, 2, &json!({"writers": theirs}), &history)
    else {
        panic!("expected a conflict");
    };
    assert_eq!(conflicts[0].item, None);
}
