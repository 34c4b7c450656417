//! The stack's migration function, invoked by hand: it reports the schema status, upgrades, and
//! reports again.

use aws_sdk_lambda::primitives::Blob;
use serde_json::Value;

use crate::aws::Aws;
use crate::error::Error;

/// The metadata service's schema status, as `GET /db_schema_status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// `is_up_to_date`.
    pub up_to_date: Option<bool>,
    /// `current_version`.
    pub version: Option<String>,
    /// `unapplied_migrations`.
    pub unapplied: Vec<String>,
}

/// What the migration function reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Before the upgrade; `None` from a function that reports only where it ended (mfstack's).
    pub before: Option<SchemaStatus>,
    /// The upgrade call's answer, verbatim; empty when the function does not pass it on.
    pub upgrade: String,
    pub after: SchemaStatus,
}

/// Invoke the stack's migration function, which upgrades the schema when it is behind, and read
/// its report.
pub async fn invoke(aws: &Aws, function: &str) -> Result<MigrationReport, Error> {
    let out = aws
        .lambda()
        .invoke()
        .function_name(function)
        .payload(Blob::new(b"{}".to_vec()))
        .send()
        .await
        .map_err(|e| Error::from_sdk("Invoke", e))?;
    let payload = out.payload().map(|b| b.as_ref()).unwrap_or_default();
    parse_answer(payload, out.function_error())
}

/// Read the migration function's answer. The reference template's function answers
/// `{"init-status": {...}, "upgrade-result": "...", "final-status": {...}}`; mfstack's answers with
/// the final status alone.
pub fn parse_answer(
    payload: &[u8],
    function_error: Option<&str>,
) -> Result<MigrationReport, Error> {
    let text = String::from_utf8_lossy(payload);
    if let Some(kind) = function_error {
        let msg = serde_json::from_slice::<Value>(payload)
            .ok()
            .and_then(|v| {
                v.get("errorMessage")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| text.to_string());
        return Err(Error::Migration(format!("{kind}: {msg}")));
    }
    let unexpected = || {
        Error::Migration(format!(
            "unexpected answer: {}",
            text.chars().take(200).collect::<String>()
        ))
    };
    let v: Value = serde_json::from_slice(payload).map_err(|_| unexpected())?;
    if v.get("is_up_to_date").is_some() {
        return Ok(MigrationReport {
            before: None,
            upgrade: String::new(),
            after: schema_status(&v),
        });
    }
    let (Some(before), Some(after)) = (v.get("init-status"), v.get("final-status")) else {
        return Err(unexpected());
    };
    Ok(MigrationReport {
        before: Some(schema_status(before)),
        upgrade: match v.get("upgrade-result") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        },
        after: schema_status(after),
    })
}

/// A status given as an object or as its JSON text.
fn schema_status(value: &Value) -> SchemaStatus {
    let parsed;
    let s = match value {
        Value::String(t) => {
            parsed = serde_json::from_str(t).unwrap_or(Value::Null);
            &parsed
        }
        other => other,
    };
    let text = |v: &Value| {
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string())
    };
    SchemaStatus {
        up_to_date: s.get("is_up_to_date").and_then(Value::as_bool),
        version: s.get("current_version").map(text),
        unapplied: s
            .get("unapplied_migrations")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(text).collect())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_answer_is_read_before_and_after() {
        let payload = br#"{"init-status": {"is_up_to_date": false, "current_version": "1", "unapplied_migrations": ["2_add_tags.sql"]},
                           "upgrade-result": "upgraded", "final-status": "{\"is_up_to_date\": true, \"current_version\": \"2\", \"unapplied_migrations\": []}"}"#;
        let r = parse_answer(payload, None).unwrap();
        assert_eq!(
            r.before,
            Some(SchemaStatus {
                up_to_date: Some(false),
                version: Some("1".into()),
                unapplied: vec!["2_add_tags.sql".into()]
            })
        );
        assert_eq!(r.after.up_to_date, Some(true));
        assert_eq!(r.after.version.as_deref(), Some("2"));
        assert_eq!(r.upgrade, "upgraded");
    }

    #[test]
    fn migration_errors_carry_the_function_message() {
        let e = parse_answer(
            br#"{"errorMessage": "connection refused", "errorType": "URLError"}"#,
            Some("Unhandled"),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the migration function failed: Unhandled: connection refused"
        );
        assert!(matches!(
            parse_answer(b"Simple Lambda happy path OK", None),
            Err(Error::Migration(_))
        ));
    }

    #[test]
    fn mfstack_function_answers_with_the_final_status_alone() {
        let r = parse_answer(
            br#"{"is_up_to_date": true, "current_version": 5, "unapplied_migrations": []}"#,
            None,
        )
        .unwrap();
        assert_eq!(r.before, None);
        assert_eq!(r.after.version.as_deref(), Some("5"));
        assert_eq!(r.after.up_to_date, Some(true));
    }
}
