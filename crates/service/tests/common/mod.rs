//! Test harness: the router over a fresh database of each available engine.

#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use mfstack_service::{AppState, Settings, router};
use mfstack_store::{OpenOptions, Store};
use serde_json::Value;
use tower::ServiceExt;

/// A router over one database, kept alive with its temp dir.
pub struct App {
    pub router: Router,
    pub store: Arc<dyn Store>,
    pub engine: &'static str,
    _dir: Option<tempfile::TempDir>,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

static PG_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The PostgreSQL server to test against. Under CI (`CI` set) one is required, so a missing server
/// fails the suite instead of letting it pass on SQLite alone.
pub fn postgres_url() -> Option<String> {
    let url = std::env::var("MFSTACK_TEST_POSTGRES_URL").ok();
    assert!(
        url.is_some() || std::env::var_os("CI").is_none(),
        "CI is set but MFSTACK_TEST_POSTGRES_URL is not: the PostgreSQL half of the suite would be skipped"
    );
    url
}

/// Fresh databases: SQLite always; PostgreSQL when MFSTACK_TEST_POSTGRES_URL names a server (each
/// test gets its own database, dropped first if it exists).
pub async fn apps(name: &str) -> Vec<App> {
    apps_with(name, Settings::default()).await
}

pub async fn apps_with(name: &str, settings: Settings) -> Vec<App> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = mfstack_store::open(&url, &OpenOptions::default())
        .await
        .unwrap();
    out.push(App {
        router: router(AppState::new(store.clone(), settings.clone())),
        store,
        engine: "sqlite",
        _dir: Some(dir),
    });
    if let Some(base) = postgres_url() {
        let url = fresh_postgres(&base, name).await;
        let store = mfstack_store::open(&url, &OpenOptions::default())
            .await
            .unwrap();
        out.push(App {
            router: router(AppState::new(store.clone(), settings)),
            store,
            engine: "postgres",
            _dir: None,
        });
    }
    out
}

/// Create (or recreate) database `name` on the server of `base` and return its URL.
pub async fn fresh_postgres(base: &str, name: &str) -> String {
    use sqlx::Connection;
    let _guard = PG_LOCK.lock().await;
    let db = format!(
        "mft_{}",
        name.to_ascii_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    );
    let mut conn = sqlx::PgConnection::connect(base)
        .await
        .expect("connect to MFSTACK_TEST_POSTGRES_URL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let mut url = url::Url::parse(base).unwrap();
    url.set_path(&db);
    url.to_string()
}

/// One request through `router`.
pub async fn send(router: Router, method: Method, path: String, body: String) -> Answer {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::from(body))
        .unwrap();
    answer(router, req).await
}

async fn answer(router: Router, req: Request<Body>) -> Answer {
    let resp = router.oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

impl App {
    /// A router over a store opened elsewhere.
    pub fn over(store: Arc<dyn Store>, engine: &'static str) -> Self {
        App {
            router: router(AppState::new(store.clone(), Settings::default())),
            store,
            engine,
            _dir: None,
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<&str>) -> Answer {
        self.call_with(method, path, body, &[]).await
    }

    /// A request with a body of any bytes, valid UTF-8 or not.
    pub async fn call_bytes(&self, method: Method, path: &str, body: Vec<u8>) -> Answer {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::from(body))
            .unwrap();
        answer(self.router.clone(), req).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(
                body.map(|b| Body::from(b.to_owned()))
                    .unwrap_or_else(Body::empty),
            )
            .unwrap();
        answer(self.router.clone(), req).await
    }

    /// How many items a listing returns.
    pub async fn count(&self, path: &str) -> usize {
        self.get(path)
            .await
            .json()
            .as_array()
            .expect("a JSON array")
            .len()
    }

    /// Send a request from a task of its own, for concurrency tests.
    pub fn spawn(
        &self,
        method: Method,
        path: String,
        body: String,
    ) -> tokio::task::JoinHandle<Answer> {
        tokio::spawn(send(self.router.clone(), method, path, body))
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &str) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Flow F, run, step `start` and one task; returns (run number, task id).
    pub async fn seed(&self, flow: &str) -> (i64, i64) {
        assert_eq!(
            self.post(&format!("/flows/{flow}"), "{}").await.status,
            StatusCode::OK
        );
        let run = self
            .post(
                &format!("/flows/{flow}/run"),
                r#"{"user_name":"ana","tags":["t1"],"system_tags":["user:ana","metaflow_version:2.19.0"]}"#,
            )
            .await
            .json();
        let r = run["run_number"].as_i64().unwrap();
        let s = self
            .post(
                &format!("/flows/{flow}/runs/{r}/steps/start/step"),
                r#"{"user_name":"ana"}"#,
            )
            .await;
        assert_eq!(s.status, StatusCode::OK, "{}", s.body);
        let t = self
            .post(
                &format!("/flows/{flow}/runs/{r}/steps/start/task"),
                r#"{"user_name":"ana"}"#,
            )
            .await
            .json();
        (r, t["task_id"].as_i64().unwrap())
    }

    /// Every listing under every flow, rows sorted, to show a request changed nothing stored.
    pub async fn snapshot(&self) -> Vec<String> {
        let mut out = Vec::new();
        for flow in self.rows("/flows", &mut out).await {
            let f = path_segment(&flow["flow_id"]);
            for run in self.rows(&format!("/flows/{f}/runs"), &mut out).await {
                let r = path_segment(&run["run_number"]);
                let base = format!("/flows/{f}/runs/{r}");
                self.rows(&format!("{base}/metadata"), &mut out).await;
                self.rows(&format!("{base}/artifacts"), &mut out).await;
                self.rows(&format!("{base}/artifacts?_limit=500"), &mut out)
                    .await;
                for step in self.rows(&format!("{base}/steps"), &mut out).await {
                    let s = path_segment(&step["step_name"]);
                    self.rows(&format!("{base}/steps/{s}/tasks"), &mut out)
                        .await;
                }
            }
        }
        out
    }

    async fn rows(&self, path: &str, out: &mut Vec<String>) -> Vec<Value> {
        let a = self.get(path).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        let rows = a.json().as_array().cloned().unwrap_or_default();
        let mut texts: Vec<String> = rows.iter().map(Value::to_string).collect();
        texts.sort();
        out.push(format!("{path} {}", texts.join("\n")));
        rows
    }
}

/// An id as a path segment, percent-encoded.
pub fn path_segment(id: &Value) -> String {
    let text = match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
