//! A small keep-alive HTTP/1 client for the service on loopback.

use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;

/// A request that takes longer than this counts as an error instead of stalling a level.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Requests to one service, over pooled connections (one per request in flight).
#[derive(Clone)]
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

impl Http {
    /// A client for the service at `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: String) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Http { client, base }
    }

    /// Send a request and read the whole answer.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Bytes), String> {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| e.to_string())?;
        let exchange = async {
            let resp = self.client.request(req).await.map_err(|e| e.to_string())?;
            let status = resp.status();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok((status, bytes))
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("{path}: no answer within {REQUEST_TIMEOUT:?}"))?
    }

    /// GET `path`; an error unless the answer is 200.
    pub async fn get_ok(&self, path: &str) -> Result<Bytes, String> {
        let (status, body) = self.send(Method::GET, path, None).await?;
        ok(path, status, body)
    }

    /// POST `body` as JSON to `path`; an error unless the answer is 200.
    pub async fn post_ok<T: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &T,
    ) -> Result<Bytes, String> {
        let json = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let (status, body) = self.send(Method::POST, path, Some(json)).await?;
        ok(path, status, body)
    }

    /// [`Http::post_ok`], decoding the JSON answer.
    pub async fn post_json<T: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &T,
    ) -> anyhow::Result<serde_json::Value> {
        let bytes = self.post_ok(path, body).await.map_err(anyhow::Error::msg)?;
        serde_json::from_slice(&bytes).with_context(|| format!("POST {path} answered with no JSON"))
    }

    /// [`Http::get_ok`], decoding the JSON answer.
    pub async fn get_json(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let bytes = self.get_ok(path).await.map_err(anyhow::Error::msg)?;
        serde_json::from_slice(&bytes).with_context(|| format!("GET {path} answered with no JSON"))
    }

    /// Whether `GET /ping` answers 200 now.
    pub async fn ping(&self) -> bool {
        matches!(
            self.send(Method::GET, "/ping", None).await,
            Ok((StatusCode::OK, _))
        )
    }
}

fn ok(path: &str, status: StatusCode, body: Bytes) -> Result<Bytes, String> {
    if status == StatusCode::OK {
        Ok(body)
    } else {
        let text = String::from_utf8_lossy(&body);
        Err(format!(
            "{path}: {status}: {}",
            text.chars().take(200).collect::<String>()
        ))
    }
}

/// The integer field `key` of a JSON object.
pub fn int_field(value: &serde_json::Value, key: &str) -> anyhow::Result<i64> {
    match value.get(key).and_then(serde_json::Value::as_i64) {
        Some(n) => Ok(n),
        None => bail!("expected an integer {key} in {value}"),
    }
}
