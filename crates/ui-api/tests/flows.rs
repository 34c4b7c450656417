//! The UI API over data real Metaflow flows wrote: a foreach with a parameter, a `@card` step, a
//! failing step, `@retry` attempts, and logs on stdout and stderr. Each engine gets its own
//! database and datastore; the flows run once per engine against an in-process metadata service.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use mfstack_datastore::{Datastore, DatastoreConfig};
use mfstack_store::{OpenOptions, Store};
use mfstack_ui_api::{UiSettings, UiState};
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

struct Stack {
    ui: Router,
    store: Arc<dyn Store>,
    url: String,
    engine: &'static str,
    _dir: tempfile::TempDir,
}

fn python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::var_os("MFSTACK_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/python"))
}

fn postgres_url() -> Option<String> {
    let url = std::env::var("MFSTACK_TEST_POSTGRES_URL").ok();
    assert!(
        url.is_some() || std::env::var_os("CI").is_none(),
        "CI is set but MFSTACK_TEST_POSTGRES_URL is not: the PostgreSQL half would be skipped"
    );
    url
}

async fn fresh_postgres(base: &str, name: &str) -> String {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(base).await.unwrap();
    for sql in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let mut url = url::Url::parse(base).unwrap();
    url.set_path(name);
    url.to_string()
}

/// Run `flow` with Metaflow pointed at `service` and a local datastore under `dir`.
async fn run_flow(flow: &str, service: &str, dir: &Path, expect_ok: bool) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/flows")
        .join(flow);
    let out = tokio::process::Command::new(python())
        .arg(script)
        .args(["--metadata=service", "--datastore=local", "run"])
        .env("METAFLOW_SERVICE_URL", service)
        .env("METAFLOW_DEFAULT_METADATA", "service")
        .env("METAFLOW_DATASTORE_SYSROOT_LOCAL", dir)
        .env("METAFLOW_HOME", dir)
        .env("USERNAME", "tester")
        .env("METAFLOW_USER", "tester")
        .current_dir(dir)
        .output()
        .await
        .expect("run python");
    assert_eq!(
        out.status.success(),
        expect_ok,
        "{flow}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn stack(engine: &'static str, url: String, dir: tempfile::TempDir) -> Stack {
    let store = mfstack_store::open(&url, &OpenOptions::default())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service = format!("http://{}", listener.local_addr().unwrap());
    let state = mfstack_service::AppState::new(store.clone(), Default::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(mfstack_service::serve(state, listener, None, async {
        let _ = stopped.await;
    }));
    run_flow("ui_flow.py", &service, dir.path(), true).await;
    run_flow("fail_flow.py", &service, dir.path(), false).await;
    let _ = stop.send(());
    let _ = server.await;
    let store = mfstack_store::open(&url, &OpenOptions::default())
        .await
        .unwrap();
    let root = dir.path().join(".metaflow");
    let config = DatastoreConfig::from_lookup(|k| {
        (k == "METAFLOW_DATASTORE_SYSROOT_LOCAL").then(|| root.display().to_string())
    });
    let datastore = Datastore::new(config).unwrap();
    let state = UiState::new(store.clone(), Some(datastore), UiSettings::default());
    Stack {
        ui: mfstack_ui_api::router(state),
        store,
        url,
        engine,
        _dir: dir,
    }
}

async fn stacks() -> Vec<Stack> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ui.db").display());
    out.push(stack("sqlite", url, dir).await);
    if let Some(base) = postgres_url() {
        let url = fresh_postgres(&base, "mft_ui_flows").await;
        out.push(stack("postgres", url, tempfile::tempdir().unwrap()).await);
    }
    out
}

async fn get(ui: &Router, path: &str) -> (StatusCode, Vec<u8>) {
    let req = Request::get(path)
        .header("host", "ui.test")
        .body(Body::empty())
        .unwrap();
    let res = ui.clone().oneshot(req).await.unwrap();
    let status = res.status();
    (
        status,
        res.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

async fn json(ui: &Router, path: &str) -> Value {
    let (status, body) = get(ui, path).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{path}: {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).unwrap()
}

fn rows<'a>(v: &'a Value, path: &str) -> &'a Vec<Value> {
    v["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{path}: {v}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn real_flows_read_back_through_every_route() {
    for s in stacks().await {
        check_runs(&s).await;
        check_tasks_and_datastore(&s).await;
        check_foreach_labels(&s).await;
        check_grammar_and_hostile_input(&s).await;
        check_admin(&s).await;
        heartbeat::check_transitions(&s.store, &s.url, &s.ui).await;
    }
}

async fn check_runs(s: &Stack) {
    // The failed run's runtime stopped beating when it exited; 40 s later it reads `failed`.
    heartbeat::age(&s.url, "FailFlow", 40).await;
    let home = "/api/runs?_order=-ts_epoch&_limit=30&_group_limit=31&_page=1";
    let v = json(&s.ui, home).await;
    let runs = rows(&v, home);
    assert_eq!(runs.len(), 2, "{}", s.engine);
    assert_eq!(v["links"]["self"], format!("http://ui.test{home}"));
    assert_eq!(v["pages"]["next"], Value::Null);
    let by_flow = |f: &str| runs.iter().find(|r| r["flow_id"] == f).unwrap().clone();
    let ok = by_flow("UiTestFlow");
    assert_eq!(ok["status"], "completed", "{ok}");
    assert_eq!(ok["user"], "tester");
    assert!(ok["finished_at"].as_i64().unwrap() >= ok["ts_epoch"].as_i64().unwrap());
    assert!(ok["duration"].as_i64().unwrap() > 0);
    assert_eq!(by_flow("FailFlow")["status"], "failed");
    let n = ok["run_number"].as_i64().unwrap();
    let one = json(&s.ui, &format!("/api/flows/UiTestFlow/runs/{n}")).await;
    assert_eq!(one["data"]["run"], n.to_string());
    assert!(one.get("pages").is_none());
    let steps_path = format!("/api/flows/UiTestFlow/runs/{n}/steps?_order=%2Bts_epoch&_limit=1000");
    let steps = json(&s.ui, &steps_path).await;
    let names: Vec<&str> = rows(&steps, &steps_path)
        .iter()
        .map(|r| r["step_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["_parameters", "start", "fan", "join", "flaky", "end"],
        "{}",
        s.engine
    );
    assert!(rows(&steps, "").iter().all(|r| r["duration"].is_i64()));
    let status = json(&s.ui, "/api/runs?status=failed").await;
    assert_eq!(rows(&status, "")[0]["flow_id"], "FailFlow");
    let grouped = json(&s.ui, "/api/runs?_group=flow_id&_group_limit=1&_limit=1").await;
    assert_eq!(rows(&grouped, "").len(), 1);
    assert_eq!(grouped["data"][0]["flow_id"], "FailFlow");
    assert!(
        grouped["links"]["next"]
            .as_str()
            .unwrap()
            .contains("_page=2")
    );
    let tagged = json(&s.ui, "/api/runs?_tags=user:tester").await;
    assert_eq!(rows(&tagged, "").len(), 2);
    let none = json(&s.ui, "/api/runs?_tags:any=nope,also-no").await;
    assert!(rows(&none, "").is_empty());
    let auto = json(
        &s.ui,
        &format!("/api/flows/UiTestFlow/runs/autocomplete?_limit=5&run%3Aco={n}"),
    )
    .await;
    assert_eq!(auto["data"][0], n.to_string());
    let flows = json(&s.ui, "/api/flows/autocomplete?flow_id:co=fail").await;
    assert_eq!(flows["data"], serde_json::json!(["FailFlow"]));
    let tags = json(&s.ui, "/api/tags/autocomplete?tag:re=^user:").await;
    assert_eq!(tags["data"], serde_json::json!(["user:tester"]));
}

async fn latest(s: &Stack, flow: &str) -> i64 {
    let v = json(&s.ui, &format!("/api/flows/{flow}/runs?_limit=1")).await;
    v["data"][0]["run_number"].as_i64().unwrap()
}

async fn check_tasks_and_datastore(s: &Stack) {
    let n = latest(s, "UiTestFlow").await;
    let run = format!("/api/flows/UiTestFlow/runs/{n}");
    let tasks_path = format!("{run}/tasks?_order=%2Bts_epoch&_limit=1000&postprocess=false");
    let tasks = json(&s.ui, &tasks_path).await;
    let tasks = rows(&tasks, &tasks_path);
    let flaky: Vec<&Value> = tasks.iter().filter(|t| t["step_name"] == "flaky").collect();
    assert_eq!(flaky.len(), 2, "{}: one row per attempt", s.engine);
    let status = |a: i64| flaky.iter().find(|t| t["attempt_id"] == a).unwrap()["status"].clone();
    assert_eq!(
        (status(0), status(1)),
        ("failed".into(), "completed".into())
    );
    assert_eq!(tasks.iter().filter(|t| t["step_name"] == "fan").count(), 3);
    let flaky_id = flaky[0]["task_id"].as_i64().unwrap();
    let attempts = json(
        &s.ui,
        &format!("{run}/steps/flaky/tasks/{flaky_id}/attempts?postprocess=true"),
    )
    .await;
    let ids: Vec<i64> = rows(&attempts, "")
        .iter()
        .map(|a| a["attempt_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 0]);
    assert_eq!(attempts["data"][1]["attempt_ok"], false);
    let meta = json(
        &s.ui,
        &format!("{run}/steps/flaky/tasks/{flaky_id}/metadata?_limit=100&attempt_id=0"),
    )
    .await;
    assert!(
        rows(&meta, "")
            .iter()
            .any(|m| m["field_name"] == "attempt_ok" && m["value"] == "False")
    );
    let start_id = tasks.iter().find(|t| t["step_name"] == "start").unwrap()["task_id"]
        .as_i64()
        .unwrap();
    let task = format!("{run}/steps/start/tasks/{start_id}");
    let out = json(
        &s.ui,
        &format!("{task}/logs/out?attempt_id=0&_limit=1000&_page=1&_order=-row"),
    )
    .await;
    assert!(
        rows(&out, "").iter().any(|l| l["line"] == "hello out"),
        "{out}"
    );
    assert_eq!(out["pages"]["last"], 1);
    let err = json(&s.ui, &format!("{task}/logs/err?attempt_id=0")).await;
    assert!(
        rows(&err, "").iter().any(|l| l["line"] == "hello err"),
        "{err}"
    );
    let (code, _) = get(&s.ui, &format!("{task}/logs/out?attempt_id=-1&_limit=x")).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let (code, text) = get(&s.ui, &format!("{task}/logs/out/download?attempt_id=0")).await;
    assert_eq!(code, StatusCode::OK);
    assert!(String::from_utf8_lossy(&text).contains("hello out"));
    let params = json(&s.ui, &format!("{run}/parameters")).await;
    assert_eq!(params["data"]["alpha"]["value"], 3, "{params}");
    let dag = json(&s.ui, &format!("{run}/dag")).await;
    assert!(dag["data"]["steps"]["fan"].is_object(), "{dag}");
    let fan_id = tasks.iter().find(|t| t["step_name"] == "fan").unwrap()["task_id"]
        .as_i64()
        .unwrap();
    let fan = format!("{run}/steps/fan/tasks/{fan_id}");
    let arts = json(
        &s.ui,
        &format!("{fan}/artifacts?attempt_id=0&postprocess=true&_limit=50"),
    )
    .await;
    let value = rows(&arts, "")
        .iter()
        .find(|a| a["name"] == "value")
        .unwrap();
    assert!(
        ["3", "6", "9"].contains(&value["content"].as_str().unwrap_or("")),
        "{value}"
    );
    let cards = json(&s.ui, &format!("{fan}/cards")).await;
    let hash = cards["data"][0]["hash"]
        .as_str()
        .expect("a card")
        .to_owned();
    // A card list knows its page count, as upstream's does.
    assert_eq!(cards["pages"]["last"], 1, "{cards}");
    assert!(cards["links"]["last"].is_string(), "{cards}");
    // The front end's card iframe adds `embed` and `invalidate`; the plain URL is its link.
    for query in ["", "?embed=true&invalidate=true"] {
        let (code, html) = get(&s.ui, &format!("{fan}/cards/{hash}{query}")).await;
        assert_eq!(code, StatusCode::OK, "{query}");
        assert!(String::from_utf8_lossy(&html).contains("<html"));
    }
    // The run header asks for the run's metadata with no filter too (beyond spec section 10).
    assert!(!rows(&json(&s.ui, &format!("{run}/metadata")).await, "").is_empty());
    let local = json(&s.ui, &format!("{run}/artifacts?ds_type=local&_limit=1")).await;
    assert_eq!(rows(&local, "").len(), 1);
    assert!(local["links"]["next"].is_string());
    let names = json(&s.ui, &format!("{run}/steps/autocomplete?step_name:co=fl")).await;
    assert_eq!(names["data"], serde_json::json!(["flaky"]));
}

/// Issue 11: with `postprocess=true` a task inside the foreach gets `<task_id>[<index>]`, others
/// get no label, and without postprocessing nobody does.
async fn check_foreach_labels(s: &Stack) {
    let n = latest(s, "UiTestFlow").await;
    let run = format!("/api/flows/UiTestFlow/runs/{n}");
    let path = format!("{run}/tasks?_order=%2Bts_epoch&_limit=1000&postprocess=true");
    let tasks = json(&s.ui, &path).await;
    let mut indices = Vec::new();
    for task in rows(&tasks, &path) {
        if task["step_name"] != "fan" {
            assert!(task.get("foreach_label").is_none(), "{}: {task}", s.engine);
            continue;
        }
        let label = task["foreach_label"]
            .as_str()
            .unwrap_or_else(|| panic!("{task}"));
        let prefix = format!("{}[", task["task_id"]);
        let index = label
            .strip_prefix(&prefix)
            .and_then(|l| l.strip_suffix(']'));
        indices.push(index.unwrap_or_else(|| panic!("{label}")).to_owned());
    }
    indices.sort();
    assert_eq!(indices, ["0", "1", "2"], "{}", s.engine);

    let fan = json(&s.ui, &format!("{run}/steps/fan/tasks?postprocess=true")).await;
    let fan = &rows(&fan, "")[0];
    let task = format!("{run}/steps/fan/tasks/{}", fan["task_id"]);
    let one = json(&s.ui, &format!("{task}?postprocess=true")).await;
    assert_eq!(one["data"]["foreach_label"], fan["foreach_label"], "{one}");
    let plain = json(&s.ui, &task).await;
    assert!(plain["data"].get("foreach_label").is_none(), "{plain}");
    let end = json(&s.ui, &format!("{run}/steps/end/tasks")).await;
    let end = format!("{run}/steps/end/tasks/{}", rows(&end, "")[0]["task_id"]);
    let attempts = json(&s.ui, &format!("{end}/attempts?postprocess=true")).await;
    assert!(rows(&attempts, "")[0].get("foreach_label").is_none());
}

async fn check_grammar_and_hostile_input(s: &Stack) {
    let long = "a".repeat(20_000);
    for (path, want) in [
        ("/api/runs?_limit=abc".to_owned(), 400),
        ("/api/runs?flow_id:zz=1".to_owned(), 400),
        ("/api/runs?ts_epoch:gt=soon".to_owned(), 400),
        ("/api/runs?_tags:most=x".to_owned(), 400),
        ("/api/tags?tag:re=((".to_owned(), 400),
        (format!("/api/runs?flow_id={long}"), 400),
        (format!("/api/runs?flow_id={}", "x,".repeat(1000)), 400),
        ("/api/flows/NoFlow/runs/1".to_owned(), 404),
        (
            "/api/flows/NoFlow/runs/99999999999999999999999/steps".to_owned(),
            404,
        ),
        (
            "/api/runs?_page=99999999999&_limit=1000&_order=nope,-,+,".to_owned(),
            200,
        ),
        (
            "/api/runs?unknown_field=1&run_number:lt=1'%20OR%201=1".to_owned(),
            400,
        ),
        ("/api/flows/%00/runs".to_owned(), 400),
        ("/api/runs?flow_id=%00".to_owned(), 400),
    ] {
        let (code, body) = get(&s.ui, &path).await;
        assert_eq!(
            code.as_u16(),
            want,
            "{} {path}: {}",
            s.engine,
            String::from_utf8_lossy(&body)
        );
        if want == 400 {
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert!(v["id"].is_string() && v["traceback"].is_null() && v["status"] == 400);
        }
    }
    let paged = json(&s.ui, "/api/runs?_limit=1&_order=%2Bts_epoch").await;
    assert_eq!(paged["data"][0]["flow_id"], "UiTestFlow");
    assert_eq!(paged["pages"]["next"], 2);
    let page2 = json(&s.ui, "/api/runs?_limit=1&_order=%2Bts_epoch&_page=2").await;
    assert_eq!(page2["data"][0]["flow_id"], "FailFlow");
    let nulls = json(&s.ui, "/api/runs?user=null").await;
    assert!(rows(&nulls, "").is_empty());
}

async fn check_admin(s: &Stack) {
    for path in ["/api/features", "/api/links", "/api/plugin", "/api/config"] {
        json(&s.ui, path).await;
    }
    let (code, body) = get(&s.ui, "/api/version").await;
    assert_eq!(code, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).starts_with("mfstack-"));
    let n = json(&s.ui, "/api/notifications?start:le=1&end:ge=1").await;
    assert!(n.as_array().unwrap().is_empty());
}

#[path = "flows/heartbeat.rs"]
mod heartbeat;
