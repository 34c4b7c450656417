//! Request extractors shared by every handler: JSON bodies read straight into the wire types (no
//! `serde_json::Value` in between), batches with a row limit, and path names checked against the
//! schema's limits. Every failure is a 400 or 413 with a message.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::{self, DeserializeOwned, DeserializeSeed, SeqAccess, Visitor};

use mfstack_api_types::TagList;

use crate::AppState;
use crate::error::ServiceError;

/// Longest name the reference schema stores (`VARCHAR(255)`); enforced on both engines alike.
pub const MAX_NAME_CHARS: usize = 255;

/// Most tags, over all rows, that one batch may carry. Each tag becomes a JSON value of about 100
/// bytes on its way to the database, while a short tag takes 3 bytes of body; this keeps the worst
/// body within a small multiple of its size. A task's 10,000 artifacts with 50 tags each still fit.
pub const MAX_BATCH_TAGS: usize = 500_000;

/// A JSON object body. Malformed JSON, another top-level type, wrong field types and NUL characters
/// (which PostgreSQL cannot store) are 400s; a body over the limit is a 413.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = T::deserialize(ObjectOnly(&mut de))
            .and_then(|v| de.end().map(|()| v))
            .map_err(invalid_body)?;
        Ok(JsonBody(value))
    }
}

/// A JSON array body of objects, for the batch routes: read element by element, and refused with 413
/// as soon as it holds more than `Settings::max_batch_rows` elements.
pub struct Batch<T>(pub Vec<T>);

impl<T: DeserializeOwned> FromRequest<AppState> for Batch<T> {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let max_rows = state.settings.max_batch_rows;
        let bytes = body_bytes(req, state).await?;
        let over_limit = Cell::new(false);
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let seed = BatchSeed {
            max_rows,
            over_limit: &over_limit,
            element: PhantomData,
        };
        match seed
            .deserialize(&mut de)
            .and_then(|rows| de.end().map(|()| rows))
        {
            Ok(rows) => Ok(Batch(rows)),
            Err(_) if over_limit.get() => Err(ServiceError::TooLarge(format!(
                "a batch holds at most {max_rows} rows; split it into smaller posts, or raise the \
                 limit with --max-batch-rows (MFSTACK_MAX_BATCH_ROWS)"
            ))),
            Err(e) => Err(invalid_body(e)),
        }
    }
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ServiceError> {
    let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ServiceError::TooLarge(format!(
                "request body too large: {}; split the batch into smaller posts",
                rejection.body_text()
            ))
        } else {
            ServiceError::BadRequest(format!(
                "cannot read request body: {}",
                rejection.body_text()
            ))
        }
    })?;
    if has_escaped_nul(&bytes) {
        return Err(ServiceError::BadRequest(
            "request body contains a NUL character, which cannot be stored".into(),
        ));
    }
    Ok(bytes)
}

fn invalid_body(e: serde_json::Error) -> ServiceError {
    if e.is_syntax() || e.is_eof() {
        ServiceError::BadRequest(format!("request body is not valid JSON: {e}"))
    } else {
        ServiceError::BadRequest(format!("invalid request body: {e}"))
    }
}

/// True when a JSON text holds `\u0000`. JSON strings cannot hold a raw NUL, so the escape is the
/// only way one arrives; an escaped backslash is skipped so `\\u0000` does not count.
fn has_escaped_nul(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        if json[i] == b'\\' {
            if json[i + 1..].starts_with(b"u0000") {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// Reads a struct only from a JSON object. serde's derived structs also accept an array of their
/// fields in order, which would let `[]` create a row of nulls.
struct ObjectOnly<D>(D);

impl<'de, D: de::Deserializer<'de>> de::Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// Counts batch elements as they are read and stops at the first one past the limit.
struct BatchSeed<'a, T> {
    max_rows: usize,
    over_limit: &'a Cell<bool>,
    element: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for BatchSeed<'_, T> {
    type Value = Vec<T>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Vec<T>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for BatchSeed<'_, T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut rows = Vec::new();
        while let Some(row) = seq.next_element_seed(ObjectSeed(PhantomData))? {
            if rows.len() == self.max_rows {
                self.over_limit.set(true);
                return Err(de::Error::custom("too many rows"));
            }
            rows.push(row);
        }
        Ok(rows)
    }
}

struct ObjectSeed<T>(PhantomData<T>);

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for ObjectSeed<T> {
    type Value = T;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::deserialize(ObjectOnly(deserializer))
    }
}

/// Refuse a batch whose rows carry more than [`MAX_BATCH_TAGS`] tags in all, before any is expanded.
pub fn check_tag_budget<'a>(
    lists: impl Iterator<Item = &'a Option<TagList>>,
) -> Result<(), ServiceError> {
    let total: usize = lists.flatten().map(TagList::len).sum();
    if total > MAX_BATCH_TAGS {
        return Err(ServiceError::TooLarge(format!(
            "a batch carries at most {MAX_BATCH_TAGS} tags in all, this one {total}; split it \
             into smaller posts"
        )));
    }
    Ok(())
}

/// Check a name from the path or body fits the schema.
pub fn check_name(kind: &str, name: &str) -> Result<(), ServiceError> {
    if name.contains('\0') {
        return Err(ServiceError::BadRequest(format!(
            "{kind} contains a NUL character"
        )));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ServiceError::BadRequest(format!(
            "{kind} is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(())
}

/// True when every text field fits the schema's columns, so the row can be stored on either engine.
pub fn fits(fields: &[Option<&str>]) -> bool {
    fields
        .iter()
        .flatten()
        .all(|s| s.chars().count() <= MAX_NAME_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mfstack_api_types::{CreateFlow, NewArtifact};

    #[test]
    fn nul_is_found_anywhere_in_a_body() {
        assert!(has_escaped_nul(br#"[{"a": ["x\u0000"]}]"#));
        assert!(has_escaped_nul(br#"{"a\u0000": 1}"#));
        assert!(has_escaped_nul(br#"["ok\\u0000", "\u00001"]"#));
        assert!(!has_escaped_nul(br#"{"a": ["ok\\u0000", 1, null]}"#));
        assert!(!has_escaped_nul(br#"{"a": "\\"}"#));
        assert!(!has_escaped_nul(br"\"));
    }

    fn object<T: DeserializeOwned>(json: &str) -> Result<T, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(json);
        T::deserialize(ObjectOnly(&mut de))
    }

    #[test]
    fn structs_come_only_from_objects() {
        assert!(object::<CreateFlow>(r#"{"user_name":"u"}"#).is_ok());
        for bad in ["[]", r#"["u"]"#, "null", "1", r#""x""#] {
            assert!(object::<CreateFlow>(bad).is_err(), "{bad}");
        }
    }

    fn batch(json: &str, max_rows: usize) -> (Result<Vec<NewArtifact>, serde_json::Error>, bool) {
        let over_limit = Cell::new(false);
        let seed = BatchSeed {
            max_rows,
            over_limit: &over_limit,
            element: PhantomData,
        };
        let rows = seed.deserialize(&mut serde_json::Deserializer::from_str(json));
        (rows, over_limit.get())
    }

    #[test]
    fn batches_stop_at_the_row_limit() {
        assert_eq!(batch("[{},{}]", 2).0.unwrap().len(), 2);
        let (rows, over) = batch("[{},{},{}", 2);
        assert!(
            rows.is_err() && over,
            "stops before reading the truncated end"
        );
        let (rows, over) = batch("[{},[]]", 2);
        assert!(rows.is_err() && !over, "elements must be objects");
        assert!(batch("{}", 2).0.is_err());
    }

    #[test]
    fn names_over_the_column_width_are_refused() {
        assert!(check_name("flow", &"a".repeat(255)).is_ok());
        assert!(check_name("flow", &"a".repeat(256)).is_err());
        assert!(check_name("flow", &"é".repeat(255)).is_ok());
        assert!(fits(&[Some("x"), None]) && !fits(&[Some(&"x".repeat(256))]));
    }
}
