//! Request bodies whose every object names each key once. serde_json keeps the last of a
//! repeated key without a word, so `{"title": "A", "title": "B"}` would store "B" and drop
//! "A" silently; this pass walks a body once, before it is decoded, and names the first
//! repeated key with its path (`patch.credits[2].role`).

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// A key that appears twice in one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Duplicate {
    /// Where the object is (empty for the body itself).
    pub object: String,
    pub key: String,
}

impl Duplicate {
    /// The field path of the repeated member.
    pub fn path(&self) -> String {
        join(&self.object, &self.key)
    }
}

/// The first repeated key in `body`, if any. A body that is not JSON has none: decoding it
/// says what is wrong with it.
pub(crate) fn first_duplicate(body: &[u8]) -> Option<Duplicate> {
    let found = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(body);
    let _ = Walk {
        path: String::new(),
        found: &found,
    }
    .deserialize(&mut de);
    // A repeated key in a body that is not JSON after all is not what to tell the client.
    found
        .into_inner()
        .filter(|_| serde_json::from_slice::<de::IgnoredAny>(body).is_ok())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Walks one JSON value at `path`, noting the first repeated key in `found`.
struct Walk<'a> {
    path: String,
    found: &'a RefCell<Option<Duplicate>>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = join(&self.path, &key);
            if !seen.insert(key.clone()) {
                *self.found.borrow_mut() = Some(Duplicate {
                    object: self.path,
                    key,
                });
                return Err(de::Error::custom("repeated key"));
            }
            map.next_value_seed(Walk {
                path,
                found: self.found,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while seq
            .next_element_seed(Walk {
                path: format!("{}[{i}]", self.path),
                found: self.found,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(body: &str) -> Option<String> {
        first_duplicate(body.as_bytes()).map(|d| d.path())
    }

    #[test]
    fn a_repeated_key_is_named_with_its_path_at_any_depth() {
        assert_eq!(
            path(r#"{"reason":"r","reason":"s"}"#).as_deref(),
            Some("reason")
        );
        assert_eq!(
            path(r#"{"patch":{"credits":[{"party":"a"},{"role":"x","role":"y"}]}}"#).as_deref(),
            Some("patch.credits[1].role")
        );
        // The same key written with an escape is the same key.
        assert_eq!(
            path(r#"{"patch":{"title":"A","\u0074itle":"B"}}"#).as_deref(),
            Some("patch.title")
        );
    }

    #[test]
    fn keys_repeated_only_across_objects_are_fine() {
        for body in [
            r#"{"a":{"x":1},"b":{"x":2}}"#,
            r#"[{"x":1},{"x":2}]"#,
            r#"{"patch":{"credits":[{"party":"a","role":"x"},{"party":"a","role":"y"}]}}"#,
            "{}",
            "null",
            "not json",
            r#"{"a":1,"a""#,
        ] {
            assert_eq!(path(body), None, "{body}");
        }
    }
}
