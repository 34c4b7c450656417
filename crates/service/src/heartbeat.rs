//! Heartbeats (spec 6): who heartbeats, and the double-encoded answer the client needs.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mfstack_api_types::heartbeat_body;

/// Whether a client with these system tags sends heartbeats, so new rows start alive (spec 6.1).
/// Missing or null system tags count as capable, as in the reference.
pub fn heartbeat_capable(system_tags: Option<&[String]>) -> bool {
    let Some(tags) = system_tags else {
        return true;
    };
    let Some(version) = tags
        .iter()
        .find_map(|t| t.strip_prefix("metaflow_version:"))
    else {
        return false;
    };
    let Some(parts) = leading_version(version) else {
        return true;
    };
    let at_least = |min: &[u64]| {
        let mut v = parts.clone();
        v.resize(min.len().max(v.len()), 0);
        v.as_slice() >= min
    };
    if parts[0] == 1 {
        at_least(&[1, 14, 0])
    } else {
        at_least(&[2, 2, 12])
    }
}

/// The longest leading `digits(.digits)*` of `s`, as numbers.
fn leading_version(s: &str) -> Option<Vec<u64>> {
    let mut parts = Vec::new();
    for piece in s.split('.') {
        let digits: String = piece.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            break;
        }
        parts.push(digits.parse().ok()?);
        if digits.len() != piece.len() {
            break;
        }
    }
    (!parts.is_empty()).then_some(parts)
}

/// 200 when the heartbeat was recorded, 200 too when it came within the spacing (DECISIONS.md:
/// "too soon" answers 200), 404 when the object does not exist; the body is always the
/// double-encoded wait time.
pub fn response(exists: bool) -> Response {
    let status = if exists {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        heartbeat_body(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_matches_the_reference_unit_test() {
        let cap = |v: &str| heartbeat_capable(Some(&[format!("metaflow_version:{v}")]));
        for (v, want) in [
            ("2.2.11", false),
            ("2.2.12", true),
            ("2.2.12+ab1234", true),
            ("2.3", true),
            ("2", false),
            ("2.0.5", false),
            ("1.14.0", true),
            ("1.13", false),
            ("0.5", false),
            ("3", true),
            ("2.12.24.post9-git2a5367b+ob(v1)", true),
            ("custom-1", true),
        ] {
            assert_eq!(cap(v), want, "metaflow_version:{v}");
        }
        assert!(!heartbeat_capable(Some(&[])));
        assert!(!heartbeat_capable(Some(&["2.2.12".to_owned()])));
        assert!(heartbeat_capable(None));
    }
}
