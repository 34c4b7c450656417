//! The §2 envelope: `data`, `status`, absolute `links` that survive proxies and path prefixes,
//! `pages`, and the query as received.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;

use crate::UiState;
use crate::error::UiError;

/// Longest query string accepted; the UI's longest is a few hundred bytes.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;

/// Characters kept as-is in links, as upstream's `urlencode(safe=':,')` keeps them.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b':')
    .remove(b',');

/// What every handler needs of its request: the absolute URL without query, and the query pairs.
#[derive(Debug, Clone)]
pub struct Request {
    /// `scheme://host/prefix/path`.
    pub base: String,
    /// Query pairs, decoded, in order.
    pub pairs: Vec<(String, String)>,
}

impl FromRequestParts<UiState> for Request {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &UiState) -> Result<Self, UiError> {
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map(|o| o.0.clone())
            .unwrap_or_else(|| parts.uri.clone());
        let query = uri.query().unwrap_or("");
        if query.len() > MAX_QUERY_BYTES {
            return Err(UiError::BadRequest(format!(
                "the query string is longer than {MAX_QUERY_BYTES} bytes"
            )));
        }
        let pairs = parse_pairs(query);
        // Neither engine stores NUL in text; refuse it the same way on both.
        if uri.path().contains("%00")
            || pairs
                .iter()
                .any(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            return Err(UiError::BadRequest(
                "NUL characters are not accepted".into(),
            ));
        }
        let origin = origin(&parts.headers, state.settings.base_url.as_deref());
        let prefix = header_text(&parts.headers, "x-forwarded-prefix")
            .map(|p| p.trim_end_matches('/').to_owned())
            .unwrap_or_default();
        Ok(Request {
            base: format!("{origin}{prefix}{}", uri.path()),
            pairs,
        })
    }
}

fn parse_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(',').next().unwrap_or(v).trim())
        .filter(|v| !v.is_empty())
}

/// `X-Forwarded-Proto`/`X-Forwarded-Host` when present, else `MF_BASEURL`, else the request.
fn origin(headers: &HeaderMap, base_url: Option<&str>) -> String {
    let proto = header_text(headers, "x-forwarded-proto");
    let host = header_text(headers, "x-forwarded-host");
    if proto.is_some() || host.is_some() {
        let host = host.or_else(|| header_text(headers, header::HOST.as_str()));
        return format!(
            "{}://{}",
            proto.unwrap_or("http"),
            host.unwrap_or("localhost")
        );
    }
    if let Some(base) = base_url {
        return base.trim_end_matches('/').to_owned();
    }
    let host = header_text(headers, header::HOST.as_str()).unwrap_or("localhost");
    format!("http://{host}")
}

impl Request {
    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Each key once, with its first value, as upstream echoes them.
    fn query(&self) -> Vec<(&str, &str)> {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for (k, v) in &self.pairs {
            if !seen.iter().any(|(s, _)| s == k) {
                seen.push((k, v));
            }
        }
        seen
    }

    /// This URL with `_page` set to `page` (or unchanged when `None`).
    fn link(&self, page: Option<u64>) -> String {
        let mut query: Vec<(String, String)> = self
            .query()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        if let Some(page) = page {
            match query.iter_mut().find(|(k, _)| k == "_page") {
                Some(entry) => entry.1 = page.to_string(),
                None => query.push(("_page".into(), page.to_string())),
            }
        }
        if query.is_empty() {
            return self.base.clone();
        }
        let qs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        format!("{}?{}", self.base, qs.join("&"))
    }
}

fn encode(s: &str) -> String {
    utf8_percent_encode(s, ENCODE)
        .to_string()
        .replace("%20", "+")
}

#[derive(Serialize)]
struct Links {
    #[serde(rename = "self")]
    this: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    first: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last: Option<Option<String>>,
}

#[derive(Serialize)]
struct Pages {
    #[serde(rename = "self")]
    this: u64,
    first: u64,
    prev: u64,
    next: Option<u64>,
    last: Option<u64>,
}

#[derive(Serialize)]
struct Envelope<T: Serialize> {
    data: T,
    status: u16,
    links: Links,
    #[serde(skip_serializing_if = "Option::is_none")]
    pages: Option<Pages>,
    query: serde_json::Map<String, serde_json::Value>,
}

fn query_map(request: &Request) -> serde_json::Map<String, serde_json::Value> {
    request
        .query()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.to_owned())))
        .collect()
}

/// A page of a listing. `full` says the page came back full, so a next one may exist; `last` is
/// the page count when known (logs).
pub struct Listing<T> {
    pub data: T,
    pub page: u64,
    pub full: bool,
    pub last: Option<u64>,
}

/// A list answer in the envelope.
pub fn list<T: Serialize>(request: &Request, listing: Listing<T>) -> Response {
    let page = listing.page.max(1);
    let prev = page.saturating_sub(1).max(1);
    let next = listing.full.then_some(page + 1);
    let body = Envelope {
        data: listing.data,
        status: 200,
        links: Links {
            this: request.link(None),
            first: Some(request.link(Some(1))),
            prev: Some(request.link(Some(prev))),
            next: Some(next.map(|n| request.link(Some(n)))),
            last: Some(listing.last.map(|n| request.link(Some(n)))),
        },
        pages: Some(Pages {
            this: page,
            first: 1,
            prev,
            next,
            last: listing.last,
        }),
        query: query_map(request),
    };
    axum::Json(body).into_response()
}

/// A single resource in the envelope: only `links.self`.
pub fn single<T: Serialize>(request: &Request, data: T) -> Response {
    let body = Envelope {
        data,
        status: 200,
        links: Links {
            this: request.link(None),
            first: None,
            prev: None,
            next: None,
            last: None,
        },
        pages: None,
        query: query_map(request),
    };
    axum::Json(body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_colons_and_commas_and_replace_the_page() {
        let request = Request {
            base: "http://h/api/runs".into(),
            pairs: parse_pairs("_order=%2Bts_epoch,flow_id&status%3Aco=run&_page=2&_page=9"),
        };
        assert_eq!(
            request.link(Some(3)),
            "http://h/api/runs?_order=%2Bts_epoch,flow_id&status:co=run&_page=3"
        );
        assert_eq!(request.get("_page"), Some("2"));
    }

    #[test]
    fn forwarded_headers_win_over_the_base_url() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "10.0.0.1:8083".parse().unwrap());
        assert_eq!(origin(&headers, None), "http://10.0.0.1:8083");
        assert_eq!(
            origin(&headers, Some("https://ui.example/")),
            "https://ui.example"
        );
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        headers.insert("x-forwarded-host", "mf.example".parse().unwrap());
        assert_eq!(
            origin(&headers, Some("https://ui.example")),
            "https://mf.example"
        );
    }
}
