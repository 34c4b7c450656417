//! A metadata element's `value` (spec 4.7.1), reduced while it is read to the text it is stored as,
//! so even a huge nested array costs about its own size and never a `serde_json::Value` tree.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// The text a metadata value is stored as, or `None` when the reference's database driver would reject
/// it and the element is skipped: strings verbatim, numbers and booleans as their text, arrays as a
/// PostgreSQL array literal (the client sends `foreach-stack` that way), objects and null skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataValue(pub Option<String>);

impl MetadataValue {
    /// The value of an element that has none: one space, as in the reference.
    pub fn blank() -> Self {
        MetadataValue(Some(" ".to_owned()))
    }
}

impl Serialize for MetadataValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for MetadataValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

fn float_text(v: f64) -> Option<String> {
    serde_json::Number::from_f64(v).map(|n| n.to_string())
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = MetadataValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E>(self, s: &str) -> Result<MetadataValue, E> {
        Ok(MetadataValue(Some(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<MetadataValue, E> {
        Ok(MetadataValue(Some(s)))
    }

    fn visit_bool<E>(self, b: bool) -> Result<MetadataValue, E> {
        Ok(MetadataValue(Some(b.to_string())))
    }

    fn visit_i64<E>(self, n: i64) -> Result<MetadataValue, E> {
        Ok(MetadataValue(Some(n.to_string())))
    }

    fn visit_u64<E>(self, n: u64) -> Result<MetadataValue, E> {
        Ok(MetadataValue(Some(n.to_string())))
    }

    fn visit_f64<E>(self, n: f64) -> Result<MetadataValue, E> {
        Ok(MetadataValue(float_text(n)))
    }

    fn visit_unit<E>(self) -> Result<MetadataValue, E> {
        Ok(MetadataValue(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MetadataValue, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(MetadataValue(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<MetadataValue, A::Error> {
        let mut literal = ArrayLiteral {
            out: String::new(),
            valid: true,
        };
        literal.visit_array(seq)?;
        Ok(MetadataValue(literal.valid.then_some(literal.out)))
    }
}

/// A PostgreSQL array literal being written; `valid` turns false at the first object, which the
/// driver cannot convert.
struct ArrayLiteral {
    out: String,
    valid: bool,
}

impl ArrayLiteral {
    fn visit_array<'de, A: SeqAccess<'de>>(&mut self, mut seq: A) -> Result<(), A::Error> {
        self.out.push('{');
        let mut first = true;
        while let Some(()) = seq.next_element_seed(Element {
            literal: self,
            first,
        })? {
            first = false;
        }
        self.out.push('}');
        Ok(())
    }
}

/// One element of an array literal, written in place.
struct Element<'a> {
    literal: &'a mut ArrayLiteral,
    first: bool,
}

impl<'de> DeserializeSeed<'de> for Element<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if !self.first {
            self.literal.out.push(',');
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Element<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E>(self, s: &str) -> Result<(), E> {
        push_array_element(&mut self.literal.out, s);
        Ok(())
    }

    fn visit_bool<E>(self, b: bool) -> Result<(), E> {
        self.literal.out.push(if b { 't' } else { 'f' });
        Ok(())
    }

    fn visit_i64<E>(self, n: i64) -> Result<(), E> {
        self.literal.out.push_str(&n.to_string());
        Ok(())
    }

    fn visit_u64<E>(self, n: u64) -> Result<(), E> {
        self.literal.out.push_str(&n.to_string());
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<(), E> {
        match float_text(n) {
            Some(text) => self.literal.out.push_str(&text),
            None => self.literal.valid = false,
        }
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.literal.out.push_str("NULL");
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.literal.visit_array(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.literal.valid = false;
        Ok(())
    }
}

/// PostgreSQL quotes an array element when it is empty, spells NULL, or holds a delimiter, brace,
/// quote, backslash or white space.
fn push_array_element(out: &mut String, s: &str) {
    let needs_quotes = s.is_empty()
        || s.eq_ignore_ascii_case("null")
        || s.chars()
            .any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_whitespace());
    if !needs_quotes {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(json: &str) -> Option<String> {
        serde_json::from_str::<MetadataValue>(json).unwrap().0
    }

    #[test]
    fn metadata_values_are_stored_as_postgres_would() {
        assert_eq!(text(r#""x y""#).as_deref(), Some("x y"));
        assert_eq!(text("5").as_deref(), Some("5"));
        assert_eq!(text("-5").as_deref(), Some("-5"));
        assert_eq!(text("1.5").as_deref(), Some("1.5"));
        assert_eq!(text("true").as_deref(), Some("true"));
        // spec 4.7.1's example.
        assert_eq!(
            text(r#"["i=0", "j=a b"]"#).as_deref(),
            Some(r#"{i=0,"j=a b"}"#)
        );
        assert_eq!(
            text(r#"["", "NULL", "a\"b", "c\\d", "{x}"]"#).as_deref(),
            Some(r#"{"","NULL","a\"b","c\\d","{x}"}"#)
        );
        assert_eq!(
            text(r#"[[1, 2.5], [true, null], []]"#).as_deref(),
            Some("{{1,2.5},{t,NULL},{}}")
        );
        assert_eq!(text(r#"{"a": 1}"#), None);
        assert_eq!(text(r#"[1, {"a": [2]}, 3]"#), None);
        assert_eq!(text("null"), None);
    }
}
