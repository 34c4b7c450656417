//! Tag lists in request bodies (spec 2.7, 4.3.5, 10.5). The client always sends lists of strings, so
//! that is all a body may hold; each list is read straight from the JSON text with a bounded length,
//! never through a `serde_json::Value` tree.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// Most tags one list may hold. The Metaflow client allows 50 user tags and sends a handful of system
/// tags, so this only stops bodies built to exhaust memory.
pub const MAX_TAGS: usize = 1_000;

/// `tags` or `system_tags` of a create body: a list of at most [`MAX_TAGS`] strings. Kept as its JSON
/// text, so a batch of thousands of rows costs about the bytes it arrived in.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct TagList {
    json: Vec<u8>,
    len: usize,
}

impl TagList {
    /// A list of these tags.
    pub fn new<S: AsRef<str>>(tags: impl IntoIterator<Item = S>) -> Self {
        let mut list = TagList::default();
        for tag in tags {
            list.push(tag.as_ref());
        }
        list
    }

    fn push(&mut self, tag: &str) {
        self.json.push(if self.len == 0 { b'[' } else { b',' });
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.json, tag);
        self.len += 1;
    }

    /// How many tags the list holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for `[]`.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The tags, in order.
    pub fn strings(&self) -> Vec<String> {
        if self.len == 0 {
            return Vec::new();
        }
        let mut text = self.json.clone();
        text.push(b']');
        serde_json::from_slice(&text).unwrap_or_default()
    }

    /// The list as the JSON the store keeps.
    pub fn to_value(&self) -> Value {
        Value::from(self.strings())
    }
}

impl fmt::Debug for TagList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.strings()).finish()
    }
}

impl Serialize for TagList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.strings().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for TagList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(TagListVisitor)
    }
}

struct TagListVisitor;

impl<'de> Visitor<'de> for TagListVisitor {
    type Value = TagList;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list of at most {MAX_TAGS} tag strings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TagList, A::Error> {
        let mut list = TagList::default();
        while seq.next_element_seed(TagInto(&mut list))?.is_some() {}
        Ok(list)
    }
}

/// Appends one tag string to a list, refusing the one past [`MAX_TAGS`].
struct TagInto<'a>(&'a mut TagList);

impl<'de> DeserializeSeed<'de> for TagInto<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for TagInto<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tag string")
    }

    fn visit_str<E: de::Error>(self, tag: &str) -> Result<(), E> {
        if self.0.len == MAX_TAGS {
            return Err(E::custom(format!(
                "a tag list holds at most {MAX_TAGS} tags"
            )));
        }
        self.0.push(tag);
        Ok(())
    }
}

/// `tags_to_add` or `tags_to_remove` of a tag mutation as sent, so the handler can answer a wrong shape
/// with the reference's own message (spec 4.3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagArgument {
    /// A list of strings.
    List(Vec<String>),
    /// Not a list: null, an object, a string, a number.
    NotAList,
    /// A list with an element that is not a string.
    NotAllStrings,
}

impl TagArgument {
    /// The tags, or `None` when the argument had the wrong shape.
    pub fn as_list(&self) -> Option<&[String]> {
        match self {
            TagArgument::List(tags) => Some(tags),
            _ => None,
        }
    }
}

impl Serialize for TagArgument {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            TagArgument::List(tags) => tags.serialize(serializer),
            _ => serializer.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for TagArgument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ArgumentVisitor)
    }
}

/// Keeps an explicit `null` apart from an absent key: only absence means "no tags".
pub(crate) fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TagArgument>, D::Error> {
    TagArgument::deserialize(d).map(Some)
}

struct ArgumentVisitor;

impl<'de> Visitor<'de> for ArgumentVisitor {
    type Value = TagArgument;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of tag strings")
    }

    fn visit_bool<E>(self, _: bool) -> Result<TagArgument, E> {
        Ok(TagArgument::NotAList)
    }

    fn visit_i64<E>(self, _: i64) -> Result<TagArgument, E> {
        Ok(TagArgument::NotAList)
    }

    fn visit_u64<E>(self, _: u64) -> Result<TagArgument, E> {
        Ok(TagArgument::NotAList)
    }

    fn visit_f64<E>(self, _: f64) -> Result<TagArgument, E> {
        Ok(TagArgument::NotAList)
    }

    fn visit_str<E>(self, _: &str) -> Result<TagArgument, E> {
        Ok(TagArgument::NotAList)
    }

    fn visit_unit<E>(self) -> Result<TagArgument, E> {
        Ok(TagArgument::NotAList)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<TagArgument, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(TagArgument::NotAList)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TagArgument, A::Error> {
        let mut tags = Vec::new();
        let mut all_strings = true;
        while let Some(element) = seq.next_element::<MaybeString>()? {
            if tags.len() == MAX_TAGS {
                return Err(de::Error::custom(format!(
                    "a tag list holds at most {MAX_TAGS} tags"
                )));
            }
            match element.0 {
                Some(tag) if all_strings => tags.push(tag),
                Some(_) => {}
                None => all_strings = false,
            }
        }
        Ok(if all_strings {
            TagArgument::List(tags)
        } else {
            TagArgument::NotAllStrings
        })
    }
}

/// A list element: the string, or `None` for anything else (skipped without building it).
struct MaybeString(Option<String>);

impl<'de> Deserialize<'de> for MaybeString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MaybeStringVisitor)
    }
}

struct MaybeStringVisitor;

impl<'de> Visitor<'de> for MaybeStringVisitor {
    type Value = MaybeString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E>(self, s: &str) -> Result<MaybeString, E> {
        Ok(MaybeString(Some(s.to_owned())))
    }

    fn visit_bool<E>(self, _: bool) -> Result<MaybeString, E> {
        Ok(MaybeString(None))
    }

    fn visit_i64<E>(self, _: i64) -> Result<MaybeString, E> {
        Ok(MaybeString(None))
    }

    fn visit_u64<E>(self, _: u64) -> Result<MaybeString, E> {
        Ok(MaybeString(None))
    }

    fn visit_f64<E>(self, _: f64) -> Result<MaybeString, E> {
        Ok(MaybeString(None))
    }

    fn visit_unit<E>(self) -> Result<MaybeString, E> {
        Ok(MaybeString(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MaybeString, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(MaybeString(None))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<MaybeString, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(MaybeString(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_lists_keep_strings_and_refuse_other_shapes() {
        let list: TagList = serde_json::from_str(r#"["a","b\"c",""]"#).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list.strings(), ["a", "b\"c", ""]);
        assert_eq!(list.to_value(), serde_json::json!(["a", "b\"c", ""]));
        assert!(serde_json::from_str::<TagList>("[]").unwrap().is_empty());
        for bad in ["[1]", r#""a""#, "{}", r#"[["a"]]"#] {
            assert!(serde_json::from_str::<TagList>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tag_lists_stop_at_the_limit() {
        let at = serde_json::to_string(&vec!["t"; MAX_TAGS]).unwrap();
        assert_eq!(
            serde_json::from_str::<TagList>(&at).unwrap().len(),
            MAX_TAGS
        );
        let over = serde_json::to_string(&vec!["t"; MAX_TAGS + 1]).unwrap();
        let err = serde_json::from_str::<TagList>(&over).unwrap_err();
        assert!(err.to_string().contains("at most 1000 tags"), "{err}");
    }

    #[test]
    fn tag_arguments_tell_wrong_shapes_apart() {
        let arg = |s: &str| serde_json::from_str::<TagArgument>(s).unwrap();
        assert_eq!(arg(r#"["x"]"#), TagArgument::List(vec!["x".into()]));
        for not_list in ["null", "{}", r#"{"a":[1]}"#, r#""x""#, "1", "true"] {
            assert_eq!(arg(not_list), TagArgument::NotAList, "{not_list}");
        }
        assert_eq!(arg(r#"["x",1,[2]]"#), TagArgument::NotAllStrings);
    }
}
