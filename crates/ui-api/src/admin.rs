//! Admin routes the front end calls at start (§8): each answers even when nothing is configured.
//! Like upstream, they answer bare JSON, not the envelope.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::UiState;
use crate::envelope::Request;

/// What the admin routes serve, read from upstream's variables once at start.
#[derive(Debug, Clone, Default)]
pub struct AdminConfig {
    /// `CUSTOM_QUICKLINKS` (JSON), else Documentation and Help.
    pub links: Vec<Value>,
    /// `NOTIFICATIONS` (JSON list).
    pub notifications: Vec<Value>,
    /// Every `FEATURE_*` variable.
    pub features: Map<String, Value>,
    /// `GA_TRACKING_ID`.
    pub ga_tracking_id: Option<String>,
}

#[derive(Serialize)]
struct Link {
    href: &'static str,
    label: &'static str,
}

impl AdminConfig {
    /// From variables looked up by `lookup` (the process environment in production).
    pub fn from_lookup(
        vars: impl IntoIterator<Item = (String, String)>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let json_list = |name: &str| -> Option<Vec<Value>> {
            let text = lookup(name)?;
            match serde_json::from_str(&text) {
                Ok(Value::Array(items)) => Some(items),
                _ => {
                    tracing::warn!(variable = name, "not a JSON list; ignored");
                    None
                }
            }
        };
        let links = json_list("CUSTOM_QUICKLINKS").unwrap_or_else(|| {
            [
                Link {
                    href: "https://docs.metaflow.org/",
                    label: "Documentation",
                },
                Link {
                    href: "http://chat.metaflow.org/",
                    label: "Help",
                },
            ]
            .iter()
            .filter_map(|l| serde_json::to_value(l).ok())
            .collect()
        });
        let features = vars
            .into_iter()
            .filter(|(k, _)| k.starts_with("FEATURE_"))
            .map(|(k, v)| {
                let on = !matches!(v.trim().to_ascii_lowercase().as_str(), "0" | "false" | "f");
                (k, Value::Bool(on))
            })
            .collect();
        AdminConfig {
            links,
            notifications: json_list("NOTIFICATIONS").unwrap_or_default(),
            features,
            ga_tracking_id: lookup("GA_TRACKING_ID").filter(|v| !v.is_empty()),
        }
    }

    /// From the process environment.
    pub fn from_env() -> Self {
        AdminConfig::from_lookup(std::env::vars(), |k| std::env::var(k).ok())
    }
}

pub fn router() -> Router<UiState> {
    Router::new()
        .route("/ping", get(|| async { "pong" }))
        .route("/version", get(|| async { crate::VERSION }))
        .route("/links", get(links))
        .route("/notifications", get(notifications))
        .route("/features", get(features))
        .route("/config", get(config))
        .route("/plugin", get(no_plugins))
        .route("/plugin/{name}", get(no_plugin))
        .route("/plugin/{name}/{*file}", get(no_plugin))
}

async fn links(State(state): State<UiState>) -> Response {
    axum::Json(&state.settings.admin.links).into_response()
}

async fn features(State(state): State<UiState>) -> Response {
    axum::Json(&state.settings.admin.features).into_response()
}

#[derive(Serialize)]
struct Config<'a> {
    #[serde(rename = "GA_TRACKING_ID", skip_serializing_if = "Option::is_none")]
    ga_tracking_id: Option<&'a str>,
}

async fn config(State(state): State<UiState>) -> Response {
    let ga_tracking_id = state.settings.admin.ga_tracking_id.as_deref();
    axum::Json(Config { ga_tracking_id }).into_response()
}

async fn no_plugins() -> Response {
    axum::Json(Vec::<Value>::new()).into_response()
}

async fn no_plugin() -> crate::error::UiError {
    crate::error::UiError::NotFound
}

/// Upstream's shape: notifications without a message or a creation time are dropped; filters
/// `field:op=value` compare numbers as numbers and anything else as text.
async fn notifications(State(state): State<UiState>, request: Request) -> Response {
    let shown: Vec<Map<String, Value>> = state
        .settings
        .admin
        .notifications
        .iter()
        .filter_map(normalise)
        .filter(|n| request.pairs.iter().all(|(k, v)| keeps(n, k, v)))
        .collect();
    axum::Json(shown).into_response()
}

fn normalise(raw: &Value) -> Option<Map<String, Value>> {
    let raw = raw.as_object()?;
    let message = raw.get("message")?.clone();
    let created = raw
        .get("created")
        .or_else(|| raw.get("start"))
        .filter(|v| !v.is_null())?
        .clone();
    let field = |name: &str, default: Value| raw.get(name).cloned().unwrap_or(default);
    let id = field("id", Value::String(format!("{:x}", fingerprint(raw))));
    let mut out = Map::new();
    out.insert("id".into(), id);
    out.insert("type".into(), field("type", Value::String("info".into())));
    out.insert(
        "contentType".into(),
        field("contentType", Value::String("text".into())),
    );
    out.insert("message".into(), message);
    out.insert("url".into(), field("url", Value::Null));
    out.insert("urlText".into(), field("urlText", Value::Null));
    out.insert("created".into(), created);
    out.insert("start".into(), field("start", Value::Null));
    out.insert("end".into(), field("end", Value::Null));
    Some(out)
}

/// A stable id for a notification configured without one.
fn fingerprint(raw: &Map<String, Value>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    Value::Object(raw.clone()).to_string().hash(&mut h);
    h.finish()
}

fn keeps(n: &Map<String, Value>, key: &str, value: &str) -> bool {
    let (field, op) = key.split_once(':').unwrap_or((key, "eq"));
    let Some(have) = n.get(field).filter(|v| !v.is_null()) else {
        return true;
    };
    let ord = match (have.as_f64(), value.parse::<f64>()) {
        (Some(a), Ok(b)) => a.partial_cmp(&b),
        (None, _) => have.as_str().map(|a| a.cmp(value)),
        _ => return true,
    };
    let Some(ord) = ord else { return true };
    use std::cmp::Ordering::*;
    match op {
        "eq" => ord == Equal,
        "ne" => ord != Equal,
        "lt" => ord == Less,
        "le" => ord != Greater,
        "gt" => ord == Greater,
        "ge" => ord != Less,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_links_and_notifications_come_from_the_environment() {
        let vars = [
            ("FEATURE_RUN_GROUPS", "0"),
            ("FEATURE_DEBUG_VIEW", "true"),
            ("OTHER", "1"),
            (
                "NOTIFICATIONS",
                r#"[{"message":"hi","start":100,"end":200},{"start":5}]"#,
            ),
        ];
        let env: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let admin = AdminConfig::from_lookup(env.clone(), lookup);
        assert_eq!(
            admin.features.get("FEATURE_RUN_GROUPS"),
            Some(&Value::Bool(false))
        );
        assert_eq!(
            admin.features.get("FEATURE_DEBUG_VIEW"),
            Some(&Value::Bool(true))
        );
        assert_eq!(admin.features.len(), 2);
        assert_eq!(admin.links.len(), 2);
        let shown: Vec<_> = admin.notifications.iter().filter_map(normalise).collect();
        assert_eq!(shown.len(), 1);
        assert!(keeps(&shown[0], "start:le", "150") && keeps(&shown[0], "end:ge", "150"));
        assert!(!keeps(&shown[0], "end:ge", "250"));
    }
}
