//! A JSON value kept as its text: what a revision's diff holds.
//!
//! A mirror receives every revision of every entity, and a diff of a credits edit holds the
//! whole list before and after. Decoded into `serde_json::Value` trees, those lists were
//! thousands of small allocations per page of a bootstrap; kept as text, each value is one
//! copy, checked for syntax, and parsed only by what reads it (a merge, a provenance, the
//! history screen) or packed straight from the text by the store.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// Valid JSON, as text.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// The value's JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The value, parsed.
    pub fn value(&self) -> Value {
        // Valid JSON by construction; only a nesting deeper than serde_json's limit fails.
        serde_json::from_str(self.get()).unwrap_or(Value::Null)
    }

    /// The value as a `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.get())
    }

    /// A value's JSON.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Result<RawJson, serde_json::Error> {
        serde_json::value::to_raw_value(value).map(RawJson)
    }
}

impl From<&Value> for RawJson {
    fn from(v: &Value) -> RawJson {
        // A `Value` always serialises.
        RawJson::of(v).unwrap_or_else(|_| RawJson(RawValue::NULL.to_owned()))
    }
}

impl From<Value> for RawJson {
    fn from(v: Value) -> RawJson {
        RawJson::from(&v)
    }
}

/// Equal when they are the same JSON, however written (member order, spacing).
impl PartialEq for RawJson {
    fn eq(&self, other: &RawJson) -> bool {
        self.get() == other.get() || self.value() == other.value()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_same_json_however_written_is_equal() {
        let a: RawJson = serde_json::from_str(r#"{"party": "p", "role": "r"}"#).expect("raw");
        let b = RawJson::from(json!({"role": "r", "party": "p"}));
        assert_eq!(a, b);
        assert_ne!(a, RawJson::from(json!({"role": "x", "party": "p"})));
        assert_eq!(a.value()["role"], "r");
    }
}
