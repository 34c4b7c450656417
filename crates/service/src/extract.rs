//! Request extractors shared by every handler: JSON bodies that fail as 400/413 with a message, and
//! path names checked against the schema's limits.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ServiceError;

/// Longest name the reference schema stores (`VARCHAR(255)`); enforced on both engines alike.
pub const MAX_NAME_CHARS: usize = 255;

/// A JSON body. Malformed JSON, wrong types and NUL characters (which PostgreSQL cannot store) are
/// 400s; a body over the limit is a 413.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
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
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ServiceError::BadRequest(format!("request body is not valid JSON: {e}"))
        })?;
        if has_nul(&value) {
            return Err(ServiceError::BadRequest(
                "request body contains a NUL character, which cannot be stored".into(),
            ));
        }
        serde_json::from_value(value)
            .map(JsonBody)
            .map_err(|e| ServiceError::BadRequest(format!("invalid request body: {e}")))
    }
}

fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
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

    #[test]
    fn nul_is_found_anywhere_in_a_body() {
        assert!(has_nul(&serde_json::json!([{"a": ["x\u{0}"]}])));
        assert!(has_nul(&serde_json::json!({"a\u{0}": 1})));
        assert!(!has_nul(&serde_json::json!({"a": ["ok", 1, null]})));
    }

    #[test]
    fn names_over_the_column_width_are_refused() {
        assert!(check_name("flow", &"a".repeat(255)).is_ok());
        assert!(check_name("flow", &"a".repeat(256)).is_err());
        assert!(check_name("flow", &"é".repeat(255)).is_ok());
        assert!(fits(&[Some("x"), None]) && !fits(&[Some(&"x".repeat(256))]));
    }
}
