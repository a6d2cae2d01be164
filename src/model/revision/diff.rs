//! The field diff a revision records: one entry per top-level field that differs.

use serde_json::{Map, Value};

use super::{FieldChange, RawJson};

/// Top-level field differences between two entity JSON objects (`None` for before a create
/// or after a delete), in field-name order.
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
            old: old.get(k).map(RawJson::from),
            new: new.get(k).map(RawJson::from),
        })
        .collect()
}

impl FieldChange {
    /// The top-level field this change is about (`credits` for `/credits`).
    pub fn field(&self) -> &str {
        self.path.trim_start_matches('/')
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_differing_fields_in_name_order() {
        let d = diff(
            Some(&json!({"title": "A", "genre": "pop", "isrc": "X"})),
            Some(&json!({"title": "B", "genre": "pop", "language": "is"})),
        );
        let fields: Vec<_> = d.iter().map(FieldChange::field).collect();
        assert_eq!(fields, ["isrc", "language", "title"]);
        assert_eq!(d[0].new, None);
        assert_eq!(d[1].old, None);
        assert_eq!(d[2].old, Some(RawJson::from(json!("A"))));
        assert!(diff(Some(&json!({"a": 1})), Some(&json!({"a": 1}))).is_empty());
        assert_eq!(diff(None, Some(&json!({"a": 1}))).len(), 1);
    }
}
