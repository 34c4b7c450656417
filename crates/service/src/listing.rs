//! Listings: legacy (complete, unpaginated) or keyset pages with `X-Limit`/`X-Next-Cursor` (spec
//! 2.8), and the run/task filter grammar (spec 2.9).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mfstack_store::{
    Filter, FilterOp, FilterValue, PageRequest, RunField, RunQuery, TagFilter, TaskField, TaskQuery,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ServiceError;

/// Page size when `_limit` is absent or empty.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page served.
pub const MAX_LIMIT: u32 = 500;
/// Most filter and tag values one listing may name. Each becomes a bound parameter, and the engines
/// refuse statements with too many (SQLite nests the OR-ed values past its expression depth of 1,000).
pub const MAX_FILTER_VALUES: usize = 500;

/// A query string as ordered key/value pairs (keys may repeat).
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// Parse a raw query string.
    pub fn parse(raw: Option<&str>) -> Self {
        Params(
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `_limit` or `_cursor` asks for a page.
    pub fn wants_page(&self) -> bool {
        self.get("_limit").is_some() || self.get("_cursor").is_some()
    }

    /// The page asked for, with its cursor decoded.
    pub fn page<C: DeserializeOwned>(&self) -> Result<PageRequest<C>, ServiceError> {
        let limit = match self.get("_limit").map(str::trim) {
            None | Some("") => DEFAULT_LIMIT,
            Some(v) => v
                .parse::<u32>()
                .map_err(|_| {
                    ServiceError::BadRequest(format!(
                        "_limit must be a whole number from 0 to {MAX_LIMIT}, got '{v}'"
                    ))
                })?
                .min(MAX_LIMIT),
        };
        let after = match self.get("_cursor") {
            None | Some("") => None,
            Some(token) => Some(decode_cursor(token)?),
        };
        Ok(PageRequest { limit, after })
    }
}

/// Cursor tokens are base64 of a JSON object of the last row's sort key (spec 2.8).
pub fn encode_cursor<C: Serialize>(cursor: &C) -> String {
    STANDARD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

fn decode_cursor<C: DeserializeOwned>(token: &str) -> Result<C, ServiceError> {
    let invalid = || ServiceError::Invalid("Invalid cursor".into());
    let bytes = STANDARD.decode(token.trim()).map_err(|_| invalid())?;
    serde_json::from_slice(&bytes).map_err(|_| invalid())
}

/// A JSON response with `Content-Type: application/json`.
pub fn json<T: Serialize>(value: &T) -> Response {
    sized_json(value, 128)
}

/// A JSON body written into a buffer of about the expected size, so big listings do not regrow it.
fn sized_json<T: Serialize + ?Sized>(value: &T, capacity: usize) -> Response {
    let mut body = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(e) => ServiceError::Internal(format!("cannot serialise response: {e}")).into_response(),
    }
}

/// What a page response says beyond its rows.
#[derive(Debug, Clone)]
pub struct PageInfo {
    /// Effective page size, sent as `X-Limit`.
    pub limit: u32,
    /// Token for the next page, sent as `X-Next-Cursor`.
    pub next: Option<String>,
}

impl PageInfo {
    /// Page info for `rows` as stored; `key` gives a row's cursor.
    pub fn of<R, C: Serialize>(
        limit: u32,
        has_more: bool,
        rows: &[R],
        key: impl Fn(&R) -> C,
    ) -> Self {
        let next = if has_more {
            rows.last().map(|r| encode_cursor(&key(r)))
        } else {
            None
        };
        PageInfo { limit, next }
    }
}

/// A JSON array, with the page headers when it is a page.
pub fn listing<T: Serialize>(rows: &[T], page: Option<PageInfo>) -> Response {
    // About 400 bytes a row for artifacts and tasks, the big listings.
    let mut response = sized_json(rows, 64 + rows.len() * 400);
    if let Some(page) = page {
        let headers = response.headers_mut();
        headers.insert("X-Limit", HeaderValue::from(page.limit));
        if let Some(v) = page.next.and_then(|n| HeaderValue::from_str(&n).ok()) {
            headers.insert("X-Next-Cursor", v);
        }
    }
    response
}

fn split_key(key: &str) -> (&str, &str) {
    key.split_once(':').unwrap_or((key, "eq"))
}

fn values(raw: &str, numeric_field: Option<&str>) -> Result<Vec<FilterValue>, ServiceError> {
    raw.split(',')
        .map(|v| {
            if v == "null" {
                return Ok(FilterValue::Null);
            }
            match numeric_field {
                Some(field) => v.trim().parse().map(FilterValue::Int).map_err(|_| {
                    ServiceError::Invalid(format!(
                        "invalid {field}: expected integer epoch milliseconds, got '{v}'"
                    ))
                }),
                None => Ok(FilterValue::Text(v.to_owned())),
            }
        })
        .collect()
}

/// Count a key's values against [`MAX_FILTER_VALUES`].
fn count_values(total: &mut usize, more: usize) -> Result<(), ServiceError> {
    *total += more;
    if *total > MAX_FILTER_VALUES {
        return Err(ServiceError::BadRequest(format!(
            "a listing takes at most {MAX_FILTER_VALUES} filter and tag values in all"
        )));
    }
    Ok(())
}

fn operator(op: &str, field: &str) -> Result<FilterOp, ServiceError> {
    FilterOp::parse(op).ok_or_else(|| {
        ServiceError::Invalid(format!("unsupported operator '{op}' for field '{field}'"))
    })
}

/// The runs listing's query (spec 4.3.3): `None` for the legacy listing.
pub fn run_query(params: &Params) -> Result<Option<RunQuery>, ServiceError> {
    let mut filters = Vec::new();
    let mut tags = Vec::new();
    let mut total = 0;
    for (key, raw) in &params.0 {
        let (name, op) = split_key(key);
        if name == "_tags" {
            count_values(&mut total, raw.split(',').count())?;
            let list: Vec<String> = raw.split(',').map(str::to_owned).collect();
            tags.push(match op {
                "any" => TagFilter::Any(list),
                "likeany" => TagFilter::LikeAny(list),
                "likeall" => TagFilter::LikeAll(list),
                _ => TagFilter::All(list),
            });
            continue;
        }
        let field = match name {
            "flow_id" => RunField::FlowId,
            "run_number" => RunField::RunNumber,
            "run_id" => RunField::RunId,
            "user_name" => RunField::UserName,
            "ts_epoch" => RunField::TsEpoch,
            "last_heartbeat_ts" => RunField::LastHeartbeatTs,
            "tags" => RunField::Tags,
            "system_tags" => RunField::SystemTags,
            "user" => RunField::User,
            "status" => RunField::Status,
            _ => continue,
        };
        let op = operator(op, name)?;
        count_values(&mut total, raw.split(',').count())?;
        let numeric = matches!(
            field,
            RunField::TsEpoch | RunField::LastHeartbeatTs | RunField::RunNumber
        );
        let vals = values(raw, numeric.then_some(name))?;
        if field == RunField::Status {
            for v in &vals {
                if let FilterValue::Text(s) = v
                    && !matches!(s.as_str(), "running" | "completed" | "failed")
                {
                    return Err(ServiceError::Invalid(format!(
                        "unsupported status filter: {s}"
                    )));
                }
            }
        }
        filters.push(Filter {
            field,
            op,
            values: vals,
        });
    }
    if filters.is_empty() && tags.is_empty() && !params.wants_page() {
        return Ok(None);
    }
    Ok(Some(RunQuery {
        filters,
        tags,
        page: params.page()?,
    }))
}

/// The tasks listing's query (spec 4.5.2): `None` for the legacy listing.
pub fn task_query(params: &Params) -> Result<Option<TaskQuery>, ServiceError> {
    let mut filters = Vec::new();
    let mut total = 0;
    for (key, raw) in &params.0 {
        let (name, op) = split_key(key);
        let field = match name {
            "task_id" => TaskField::TaskId,
            "task_name" => TaskField::TaskName,
            "user_name" => TaskField::UserName,
            "ts_epoch" => TaskField::TsEpoch,
            "last_heartbeat_ts" => TaskField::LastHeartbeatTs,
            _ => continue,
        };
        let op = operator(op, name)?;
        count_values(&mut total, raw.split(',').count())?;
        let numeric = matches!(
            field,
            TaskField::TsEpoch | TaskField::LastHeartbeatTs | TaskField::TaskId
        );
        filters.push(Filter {
            field,
            op,
            values: values(raw, numeric.then_some(name))?,
        });
    }
    if filters.is_empty() && !params.wants_page() {
        return Ok(None);
    }
    Ok(Some(TaskQuery {
        filters,
        page: params.page()?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mfstack_store::FlowCursor;

    #[test]
    fn legacy_unless_limit_cursor_or_a_known_filter() {
        assert!(
            run_query(&Params::parse(Some("foo=1&_x=2")))
                .unwrap()
                .is_none()
        );
        let q = run_query(&Params::parse(Some("user_name=ana")))
            .unwrap()
            .unwrap();
        assert_eq!(q.page.limit, DEFAULT_LIMIT);
        assert!(
            task_query(&Params::parse(Some("_limit=5")))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn reference_messages_for_bad_filters() {
        let msg = |q: &str| run_query(&Params::parse(Some(q))).unwrap_err().to_string();
        assert_eq!(
            msg("user_name:zz=a"),
            "unsupported operator 'zz' for field 'user_name'"
        );
        assert_eq!(
            msg("ts_epoch:ge=abc"),
            "invalid ts_epoch: expected integer epoch milliseconds, got 'abc'"
        );
        assert_eq!(msg("status=done"), "unsupported status filter: done");
        assert_eq!(msg("_cursor=%%%"), "Invalid cursor");
    }

    #[test]
    fn limits_are_capped_and_validated() {
        let page = |q: &str| Params::parse(Some(q)).page::<FlowCursor>();
        assert_eq!(page("_limit=9999").unwrap().limit, MAX_LIMIT);
        assert_eq!(page("_limit=").unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(page("_limit=0").unwrap().limit, 0);
        assert!(page("_limit=-1").is_err());
        assert!(page("_limit=ten").is_err());
    }

    #[test]
    fn cursors_round_trip_and_reject_missing_keys() {
        let c = FlowCursor {
            ts_epoch: 5,
            flow_id: "F".into(),
        };
        let token = encode_cursor(&c);
        let q = format!(
            "_cursor={}",
            url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
        );
        assert_eq!(
            Params::parse(Some(&q)).page::<FlowCursor>().unwrap().after,
            Some(c)
        );
        let bad = STANDARD.encode(br#"{"ts_epoch": 1}"#);
        assert!(decode_cursor::<FlowCursor>(&bad).is_err());
    }

    #[test]
    fn filter_values_are_capped_per_request() {
        let values = |n: usize| vec!["a"; n].join(",");
        let at = format!("user_name={}&_tags={}", values(250), values(250));
        assert!(run_query(&Params::parse(Some(&at))).is_ok());
        let over = format!("{at}&run_id=b");
        let err = run_query(&Params::parse(Some(&over))).unwrap_err();
        assert!(matches!(err, ServiceError::BadRequest(_)), "{err}");
        assert!(err.to_string().contains("at most 500"));
        let tasks = format!("task_name={}", values(501));
        assert!(task_query(&Params::parse(Some(&tasks))).is_err());
    }

    #[test]
    fn tag_filters_and_null_values() {
        let q = run_query(&Params::parse(Some("_tags:any=a,b&run_id=null")))
            .unwrap()
            .unwrap();
        assert_eq!(q.tags, vec![TagFilter::Any(vec!["a".into(), "b".into()])]);
        assert_eq!(q.filters[0].values, vec![FilterValue::Null]);
    }
}
