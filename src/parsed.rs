//! Deserializing a value that is parsed from a string (an id, an identifier) straight from the
//! input's text. serde's `Cow<str>` always deserializes the owned form, so reading one through
//! it cost a heap allocation and a copy per id; a snapshot record names about ten ids.

use std::borrow::Cow;
use std::fmt::{self, Display};
use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::{self, Visitor};

/// Deserializes a string and hands it to `parse` without copying it first.
pub(crate) fn parse_str<'de, D, T, E>(d: D, parse: fn(&str) -> Result<T, E>) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    E: Display,
{
    struct Parse<T, E>(fn(&str) -> Result<T, E>);

    impl<T, E: Display> Visitor<'_> for Parse<T, E> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }

        fn visit_str<Er: de::Error>(self, s: &str) -> Result<T, Er> {
            (self.0)(s).map_err(Er::custom)
        }
    }

    d.deserialize_str(Parse(parse))
}

/// A string borrowed from the input when it can be (no escapes), copied when it must be.
pub(crate) struct Str<'de>(pub Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Borrow<'de>(PhantomData<&'de ()>);

        impl<'de> Visitor<'de> for Borrow<'de> {
            type Value = Str<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(s)))
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(s.to_owned())))
            }

            fn visit_string<E: de::Error>(self, s: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(s)))
            }
        }

        d.deserialize_str(Borrow(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use crate::ident::Isrc;
    use crate::ids::RecordingId;

    /// Borrowed, escaped (so copied) and wrongly typed input all go through the one visitor.
    #[test]
    fn ids_parse_from_plain_and_escaped_strings_and_refuse_other_types() {
        let plain: RecordingId =
            serde_json::from_str(r#""rec_01ARZ3NDEKTSV4RRFFQ69G5FAV""#).expect("plain");
        let escaped: RecordingId =
            serde_json::from_str(r#""rec_01ARZ3NDEKTSV4RRFFQ69G5FA\u0056""#).expect("escaped");
        assert_eq!(plain, escaped);
        let from_value: RecordingId =
            serde_json::from_value(serde_json::json!("rec_01ARZ3NDEKTSV4RRFFQ69G5FAV"))
                .expect("owned string");
        assert_eq!(plain, from_value);

        let wrong = serde_json::from_str::<RecordingId>("5").expect_err("a number");
        assert!(wrong.to_string().contains("expected a string"), "{wrong}");
        let bad = serde_json::from_str::<RecordingId>(r#""wrk_01ARZ3NDEKTSV4RRFFQ69G5FAV""#)
            .expect_err("another kind's id");
        assert!(bad.to_string().contains("prefix"), "{bad}");
        let isrc = serde_json::from_str::<Isrc>(r#""not an isrc""#).expect_err("bad isrc");
        assert!(isrc.to_string().contains("not an isrc"), "{isrc}");
    }
}
