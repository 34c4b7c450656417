//! The §4 query grammar: pages, order, groups, tags and field operators, parsed into the store's
//! [`UiQuery`]. Which fields exist is the store's business; unknown ones are dropped there.

use mfstack_store::{TagFilter, UiFilter, UiOp, UiOrder, UiQuery};

use crate::envelope::Request;
use crate::error::UiError;

/// Largest `_limit` of ordinary listings.
pub const MAX_LIMIT: u32 = 1000;
/// Most filters one request may carry, and most values one filter may OR together.
const MAX_FILTERS: usize = 64;
const MAX_VALUES: usize = 256;

/// Parameters that are not filters.
const NOT_FILTERS: &[&str] = &["postprocess", "invalidate"];

/// Limits of a listing: default and largest `_limit`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub default: u32,
    pub max: u32,
}

impl Limits {
    pub const LIST: Limits = Limits {
        default: 10,
        max: MAX_LIMIT,
    };
}

/// `_limit`, clamped to the route's range; anything but an integer is a 400.
pub fn limit(request: &Request, limits: Limits) -> Result<u32, UiError> {
    Ok(match request.get("_limit") {
        None | Some("") => limits.default,
        Some(v) => int(v, "_limit")?.clamp(1, i64::from(limits.max)) as u32,
    })
}

/// `_page`, from 1.
pub fn page(request: &Request) -> Result<u32, UiError> {
    Ok(match request.get("_page") {
        None | Some("") => 1,
        Some(v) => int(v, "_page")?.clamp(1, i64::from(u32::MAX / MAX_LIMIT)) as u32,
    })
}

fn int(value: &str, name: &str) -> Result<i64, UiError> {
    value
        .trim()
        .parse()
        .map_err(|_| UiError::BadRequest(format!("{name} must be an integer, not {value:?}")))
}

/// Whether `name=true` was asked for.
pub fn flag(request: &Request, name: &str) -> bool {
    matches!(request.get(name), Some(v) if v.eq_ignore_ascii_case("true") || v == "1")
}

/// The whole listing request; `skip` names parameters the route reads itself.
pub fn query(request: &Request, limits: Limits, skip: &[&str]) -> Result<UiQuery, UiError> {
    let mut q = UiQuery {
        limit: limit(request, limits)?,
        page: page(request)?,
        ..UiQuery::default()
    };
    if let Some(v) = request.get("_group_limit").filter(|v| !v.is_empty()) {
        q.group_limit = int(v, "_group_limit")?.clamp(1, i64::from(MAX_LIMIT)) as u32;
    }
    if let Some(order) = request.get("_order") {
        q.order = order.split(',').filter_map(order_term).collect();
    }
    if let Some(group) = request.get("_group") {
        q.group = group
            .split(',')
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect();
    }
    for (key, value) in &request.pairs {
        let (field, op) = key.split_once(':').unwrap_or((key, ""));
        if field == "_tags" {
            q.tags.push(tags(op, value)?);
        } else if !field.starts_with('_') && !NOT_FILTERS.contains(&field) && !skip.contains(&field)
        {
            q.filters.push(filter(field, op, value)?);
        }
    }
    if q.filters.len() + q.tags.len() > MAX_FILTERS {
        return Err(UiError::BadRequest(format!(
            "at most {MAX_FILTERS} filters per request"
        )));
    }
    Ok(q)
}

fn order_term(term: &str) -> Option<UiOrder> {
    let (column, ascending) = match term.as_bytes().first()? {
        b'+' => (&term[1..], true),
        b'-' => (&term[1..], false),
        // A `+` that was not percent-encoded arrives as a space.
        b' ' => (&term[1..], true),
        _ => (term, false),
    };
    (!column.is_empty()).then(|| UiOrder {
        column: column.to_owned(),
        ascending,
    })
}

fn values(raw: &str) -> Result<Vec<String>, UiError> {
    let values: Vec<String> = raw.split(',').map(str::to_owned).collect();
    if values.len() > MAX_VALUES {
        return Err(UiError::BadRequest(format!(
            "at most {MAX_VALUES} values per filter"
        )));
    }
    Ok(values)
}

fn tags(op: &str, raw: &str) -> Result<TagFilter, UiError> {
    let v = values(raw)?;
    Ok(match op {
        "" | "all" => TagFilter::All(v),
        "any" => TagFilter::Any(v),
        "likeall" => TagFilter::LikeAll(v),
        "likeany" => TagFilter::LikeAny(v),
        other => {
            return Err(UiError::BadRequest(format!(
                "unknown tag operator {other:?}: use all, any, likeall or likeany"
            )));
        }
    })
}

fn filter(field: &str, op: &str, raw: &str) -> Result<UiFilter, UiError> {
    let op = if op.is_empty() { "eq" } else { op };
    let op = UiOp::parse(op).ok_or_else(|| {
        UiError::BadRequest(format!(
            "unknown operator {op:?}: use eq, ne, lt, le, gt, ge, co, sw, ew, is, li or re"
        ))
    })?;
    let values = values(raw)?;
    if op == UiOp::Regex {
        for v in &values {
            regex::RegexBuilder::new(v)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| UiError::BadRequest(format!("bad regular expression: {e}")))?;
        }
    }
    Ok(UiFilter {
        field: field.to_owned(),
        op,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str) -> Request {
        Request {
            base: "http://h/api/runs".into(),
            pairs: query
                .split('&')
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap();
                    (k.to_owned(), v.to_owned())
                })
                .collect(),
        }
    }

    #[test]
    fn the_home_page_query_parses() {
        let q = query(
            &request("_order=-ts_epoch&_limit=30&_group_limit=31&_page=1&status=running,failed"),
            Limits::LIST,
            &[],
        )
        .unwrap();
        assert_eq!((q.limit, q.group_limit, q.page), (30, 31, 1));
        assert_eq!(q.order[0].column, "ts_epoch");
        assert!(!q.order[0].ascending);
        assert_eq!(q.filters[0].values, ["running", "failed"]);
    }

    #[test]
    fn bad_values_are_rejected_and_big_ones_clamped() {
        assert!(query(&request("_limit=ten"), Limits::LIST, &[]).is_err());
        assert!(query(&request("flow_id:zz=a"), Limits::LIST, &[]).is_err());
        assert!(query(&request("_tags:most=a"), Limits::LIST, &[]).is_err());
        assert!(query(&request("tag:re=(("), Limits::LIST, &[]).is_err());
        let q = query(&request("_limit=99999&_page=-3"), Limits::LIST, &[]).unwrap();
        assert_eq!((q.limit, q.page), (1000, 1));
    }
}
