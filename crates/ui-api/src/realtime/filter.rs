//! A subscription's `resource`: the path events are matched against, and its query string as a
//! filter on each event's row (the §4 grammar, plus `re`), evaluated here rather than in SQL.

use mfstack_store::{FilterOp, TagFilter, UiOp};
use regex::{Regex, RegexBuilder};
use serde_json::Value;

use crate::envelope::Request;
use crate::error::UiError;
use crate::grammar::{self, Limits};

/// Longest `resource` accepted, as for a GET's query string.
pub const MAX_RESOURCE_BYTES: usize = crate::MAX_QUERY_BYTES;

/// How one filter value is compared with a row's field.
#[derive(Debug)]
enum Test {
    Null { negate: bool },
    Compare { op: FilterOp, value: String },
    Pattern(Regex),
}

#[derive(Debug)]
struct FieldTest {
    field: String,
    /// OR-ed.
    tests: Vec<Test>,
}

/// What a subscription listens to.
#[derive(Debug)]
pub struct Resource {
    /// The path without query, as events name their resources.
    pub path: String,
    fields: Vec<FieldTest>,
    tags: Vec<TagFilter>,
}

impl Resource {
    /// Parse `/runs?status=running&_tags=user:x`; a bad operator or pattern is an error.
    pub fn parse(resource: &str) -> Result<Self, UiError> {
        if resource.len() > MAX_RESOURCE_BYTES {
            return Err(UiError::BadRequest("resource too long".into()));
        }
        let (path, query) = resource.split_once('?').unwrap_or((resource, ""));
        let request = Request {
            base: String::new(),
            pairs: pairs(query),
        };
        let query = grammar::query(&request, Limits::LIST, &[])?;
        let fields = query
            .filters
            .into_iter()
            .map(|f| {
                let tests = f
                    .values
                    .iter()
                    .map(|v| test(f.op, v))
                    .collect::<Result<_, _>>()?;
                Ok(FieldTest {
                    field: f.field,
                    tests,
                })
            })
            .collect::<Result<_, UiError>>()?;
        Ok(Resource {
            path: normalise(path),
            fields,
            tags: query.tags,
        })
    }

    /// Whether `row` passes every filter; fields the row lacks are ignored, as a GET ignores
    /// unknown fields.
    pub fn matches(&self, row: &Value) -> bool {
        let fields_pass = self.fields.iter().all(|f| match row.get(&f.field) {
            Some(value) => f.tests.iter().any(|t| passes(t, value)),
            None => true,
        });
        fields_pass && self.tags.iter().all(|t| tags_pass(t, row))
    }
}

fn normalise(path: &str) -> String {
    let decoded = decode(path);
    let trimmed = decoded.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        trimmed.to_owned()
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

fn pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn pattern(source: &str, case_insensitive: bool) -> Result<Regex, UiError> {
    RegexBuilder::new(source)
        .case_insensitive(case_insensitive)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| UiError::BadRequest(format!("bad pattern: {e}")))
}

/// SQL `LIKE` as a regular expression: `%` any run, `_` any one character.
fn like(value: &str) -> String {
    let mut out = String::from("^");
    for c in value.chars() {
        match c {
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push('$');
    out
}

fn test(op: UiOp, value: &str) -> Result<Test, UiError> {
    Ok(match op {
        UiOp::Regex => Test::Pattern(pattern(value, false)?),
        UiOp::Op(op) if value == "null" => match op {
            FilterOp::Eq | FilterOp::Is => Test::Null { negate: false },
            FilterOp::Ne => Test::Null { negate: true },
            op => Test::Compare {
                op,
                value: value.into(),
            },
        },
        UiOp::Op(FilterOp::Co) => Test::Pattern(pattern(&regex::escape(value), true)?),
        UiOp::Op(FilterOp::Sw) => {
            Test::Pattern(pattern(&format!("^{}", regex::escape(value)), true)?)
        }
        UiOp::Op(FilterOp::Ew) => {
            Test::Pattern(pattern(&format!("{}$", regex::escape(value)), true)?)
        }
        UiOp::Op(FilterOp::Li) => Test::Pattern(pattern(&like(value), true)?),
        UiOp::Op(op) => Test::Compare {
            op,
            value: value.into(),
        },
    })
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn passes(test: &Test, value: &Value) -> bool {
    match test {
        Test::Null { negate } => value.is_null() != *negate,
        Test::Pattern(re) => text(value).is_some_and(|t| re.is_match(&t)),
        Test::Compare { op, value: wanted } => {
            let Some(have) = text(value) else {
                return false;
            };
            let order = match (have.parse::<f64>(), wanted.parse::<f64>()) {
                (Ok(a), Ok(b)) => a.partial_cmp(&b),
                _ if value.is_boolean() => Some(have.cmp(&wanted.to_ascii_lowercase())),
                _ => Some(have.as_str().cmp(wanted.as_str())),
            };
            let Some(order) = order else {
                return false;
            };
            match op {
                FilterOp::Eq | FilterOp::Is => order.is_eq(),
                FilterOp::Ne => order.is_ne(),
                FilterOp::Lt => order.is_lt(),
                FilterOp::Le => order.is_le(),
                FilterOp::Gt => order.is_gt(),
                FilterOp::Ge => order.is_ge(),
                // Handled as patterns.
                FilterOp::Co | FilterOp::Sw | FilterOp::Ew | FilterOp::Li => false,
            }
        }
    }
}

fn tags_pass(filter: &TagFilter, row: &Value) -> bool {
    let tags: Vec<&str> = ["tags", "system_tags"]
        .iter()
        .filter_map(|k| row.get(k)?.as_array())
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let has = |t: &String| tags.contains(&t.as_str());
    let like = |t: &String| tags.iter().any(|have| have.contains(t.as_str()));
    match filter {
        TagFilter::All(v) => v.iter().all(has),
        TagFilter::Any(v) => v.iter().any(has),
        TagFilter::LikeAll(v) => v.iter().all(like),
        TagFilter::LikeAny(v) => v.iter().any(like),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run() -> Value {
        json!({"flow_id": "HelloFlow", "run_number": 12, "status": "running", "user": null,
               "attempt_ok": true, "tags": ["project:x"], "system_tags": ["user:ana"]})
    }

    fn ok(resource: &str) -> bool {
        Resource::parse(resource).unwrap().matches(&run())
    }

    #[test]
    fn field_operators_follow_the_grammar() {
        assert!(ok("/runs"));
        assert!(ok("/runs?status=completed,running"));
        assert!(!ok("/runs?status=completed"));
        assert!(ok("/runs?run_number:ge=12&run_number:lt=100"));
        assert!(!ok("/runs?run_number:gt=12"));
        assert!(ok("/runs?flow_id:co=LOFL&flow_id:sw=hel&flow_id:ew=FLOW"));
        assert!(ok("/runs?flow_id:li=h%25flo_"));
        assert!(ok("/runs?flow_id:re=^Hel%2Bo"));
        assert!(!ok("/runs?flow_id:re=^ello"));
        assert!(ok("/runs?user=null") && !ok("/runs?user:ne=null"));
        assert!(ok("/runs?attempt_ok=true") && !ok("/runs?attempt_ok=false"));
        assert!(ok("/runs?no_such_field=1"));
    }

    #[test]
    fn tags_span_user_and_system_tags() {
        assert!(ok("/runs?_tags=project:x,user:ana"));
        assert!(!ok("/runs?_tags:all=project:x,user:bob"));
        assert!(ok("/runs?_tags:any=project:y,user:ana"));
        assert!(ok("/runs?_tags:likeall=proj,ana"));
        assert!(!ok("/runs?_tags:likeany=zzz"));
    }

    #[test]
    fn paths_are_normalised_and_bad_filters_refused() {
        assert_eq!(
            Resource::parse("/flows/A%20B/runs/?x=1").unwrap().path,
            "/flows/A B/runs"
        );
        assert!(Resource::parse("/runs?status:zz=1").is_err());
        assert!(Resource::parse("/runs?flow_id:re=((").is_err());
        assert!(Resource::parse(&"x".repeat(MAX_RESOURCE_BYTES + 1)).is_err());
    }
}
