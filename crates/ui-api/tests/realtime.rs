//! `/ws` (spec `ui-api.md` §9) end to end: writes go through the metadata router, events come out
//! of the UI API's socket. On SQLite the two share a process and a broadcast channel; on
//! PostgreSQL they have separate stores and meet only through `NOTIFY`/`LISTEN`.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use mfstack_service::events::{ChangeNotifier, ChangeSink};
use mfstack_store::OpenOptions;
use mfstack_ui_api::{RealtimeSettings, UiSettings, UiState};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tower::ServiceExt;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const FLOW: &str = "RtFlow";
const WAIT: Duration = Duration::from_secs(15);

struct Stack {
    metadata: Router,
    ui: Router,
    ws_url: String,
    url: String,
    _dir: tempfile::TempDir,
}

fn settings() -> UiSettings {
    UiSettings {
        realtime: RealtimeSettings {
            queue_ttl: Duration::from_secs(300),
            heartbeat_check: Duration::from_millis(100),
            stale_after: Duration::ZERO,
        },
        ..UiSettings::default()
    }
}

async fn serve_ui(state: UiState) -> (Router, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = mfstack_ui_api::router(state);
    tokio::spawn(axum::serve(listener, router.clone()).into_future());
    (router, format!("ws://{addr}/api/ws"))
}

async fn sqlite_stack() -> Stack {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rt.db").display());
    let store = mfstack_store::open(&url, &OpenOptions::default())
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::broadcast::channel(1024);
    let state = mfstack_service::AppState::new(store.clone(), Default::default())
        .with_changes(ChangeSink::InProcess(tx));
    let ui_state = UiState::new(store.clone(), None, settings()).with_changes(rx);
    let (ui, ws_url) = serve_ui(ui_state).await;
    Stack {
        metadata: mfstack_service::router(state),
        ui,
        ws_url,
        url,
        _dir: dir,
    }
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

/// Metadata and UI on separate stores, as the stack's two tasks.
async fn postgres_stack(base: &str) -> Stack {
    let url = fresh_postgres(base, "mfstack_ui_realtime").await;
    let writer = mfstack_store::open(&url, &OpenOptions::default())
        .await
        .unwrap();
    let state = mfstack_service::AppState::new(writer, Default::default())
        .with_changes(ChangeSink::Notify(ChangeNotifier::connect(&url).unwrap()));
    let reader = mfstack_store::open(&url, &OpenOptions::default())
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::broadcast::channel(1024);
    mfstack_store::listen_changes(&url, tx).await.unwrap();
    let ui_state = UiState::new(reader, None, settings()).with_changes(rx);
    let (ui, ws_url) = serve_ui(ui_state).await;
    Stack {
        metadata: mfstack_service::router(state),
        ui,
        ws_url,
        url,
        _dir: tempfile::tempdir().unwrap(),
    }
}

async fn call(router: &Router, method: Method, path: &str, body: Option<Value>) -> Value {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert!(status.is_success(), "{path}: {status} {bytes:?}");
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

async fn post(stack: &Stack, path: &str, body: Value) -> Value {
    call(&stack.metadata, Method::POST, path, Some(body)).await
}

async fn get_ui(stack: &Stack, path: &str) -> Value {
    call(&stack.ui, Method::GET, &format!("/api{path}"), None).await["data"].clone()
}

fn who() -> Value {
    json!({"user_name": "ana", "tags": ["rt"], "system_tags": ["user:ana", "metaflow_version:2.12.0"]})
}

fn metadata(field: &str, value: &str, attempt: i64) -> Value {
    json!([{"field_name": field, "value": value, "type": field, "user_name": "ana",
            "tags": [format!("attempt_id:{attempt}")], "system_tags": []}])
}

async fn connect(stack: &Stack) -> Socket {
    tokio_tungstenite::connect_async(&stack.ws_url)
        .await
        .unwrap()
        .0
}

async fn send(ws: &mut Socket, text: impl Into<String>) {
    ws.send(Message::Text(text.into().into())).await.unwrap();
}

async fn subscribe(ws: &mut Socket, uuid: &str, resource: &str, since: Option<i64>) {
    let mut m = json!({"type": "SUBSCRIBE", "uuid": uuid, "resource": resource});
    if let Some(s) = since {
        m["since"] = json!(s);
    }
    send(ws, m.to_string()).await;
}

async fn next_text(ws: &mut Socket) -> String {
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time")
            .expect("an open socket")
            .unwrap();
        if let Message::Text(t) = frame {
            return t.to_string();
        }
    }
}

/// The next event, which must be `kind` for subscription `uuid`; its row.
async fn expect(ws: &mut Socket, uuid: &str, kind: &str) -> Value {
    let text = next_text(ws).await;
    let event: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{text}"));
    assert_eq!(
        (event["uuid"].as_str(), event["type"].as_str()),
        (Some(uuid), Some(kind)),
        "{event}"
    );
    event["data"].clone()
}

async fn ping(ws: &mut Socket) {
    send(ws, "__ping__").await;
    assert_eq!(next_text(ws).await, "__pong__");
}

/// The row as the GET returns it, but for `duration`, which counts on while work is live.
fn same_row(event: &Value, get: &Value) {
    let strip = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("duration");
        v
    };
    assert_eq!(strip(event), strip(get));
}

async fn age_heartbeats(stack: &Stack, run_number: i64) {
    let old = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - 1000;
    let sql = [
        format!(
            "UPDATE runs_v3 SET last_heartbeat_ts = {old} WHERE flow_id = '{FLOW}' AND run_number = {run_number}"
        ),
        format!(
            "UPDATE tasks_v3 SET last_heartbeat_ts = {old} WHERE flow_id = '{FLOW}' AND run_number = {run_number}"
        ),
    ];
    if stack.url.starts_with("sqlite:") {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&stack.url).await.unwrap();
        for s in sql {
            sqlx::raw_sql(sqlx::AssertSqlSafe(s))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    } else {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&stack.url).await.unwrap();
        for s in sql {
            sqlx::raw_sql(sqlx::AssertSqlSafe(s))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
}

/// A task of `step` in run `run` with attempt 0 started; its id.
async fn started_task(stack: &Stack, run: i64, step: &str) -> i64 {
    let base = format!("/flows/{FLOW}/runs/{run}/steps/{step}");
    post(stack, &format!("{base}/step"), who()).await;
    let task = post(stack, &format!("{base}/task"), who()).await;
    let id = task["task_id"].as_i64().unwrap();
    post(
        stack,
        &format!("{base}/tasks/{id}/metadata"),
        metadata("attempt", "0", 0),
    )
    .await;
    id
}

/// Runs, steps, tasks and attempts as they are written; filters; unsubscribe; ping.
async fn lifecycle(stack: &Stack, ws: &mut Socket) {
    subscribe(ws, "all", "/runs", None).await;
    subscribe(ws, "done", "/runs?status=completed", None).await;
    subscribe(
        ws,
        "ana",
        &format!("/flows/{FLOW}/runs?_tags=user:ana&user:co=AN"),
        None,
    )
    .await;
    subscribe(ws, "steps", &format!("/flows/{FLOW}/runs/1/steps"), None).await;
    subscribe(ws, "tasks", &format!("/flows/{FLOW}/runs/1/tasks"), None).await;
    ping(ws).await;

    post(stack, &format!("/flows/{FLOW}"), who()).await;
    let run = post(stack, &format!("/flows/{FLOW}/run"), who()).await;
    assert_eq!(run["run_number"], 1);
    let inserted = expect(ws, "all", "INSERT").await;
    same_row(
        &inserted,
        &get_ui(stack, &format!("/flows/{FLOW}/runs/1")).await,
    );
    assert_eq!(inserted["status"], "running");
    assert_eq!(expect(ws, "ana", "INSERT").await, inserted);

    let base = format!("/flows/{FLOW}/runs/1/steps/start");
    post(stack, &format!("{base}/step"), who()).await;
    let step = expect(ws, "steps", "INSERT").await;
    same_row(
        &step,
        &get_ui(stack, &format!("/flows/{FLOW}/runs/1/steps/start")).await,
    );

    let task = post(stack, &format!("{base}/task"), who()).await;
    let id = task["task_id"].as_i64().unwrap();
    let row = expect(ws, "tasks", "INSERT").await;
    same_row(&row, &get_ui(stack, &format!("{base}/tasks/{id}")).await);
    post(
        stack,
        &format!("{base}/tasks/{id}/metadata"),
        metadata("attempt", "0", 0),
    )
    .await;
    let first = expect(ws, "tasks", "UPDATE").await;
    assert_eq!(
        (first["attempt_id"].as_i64(), first["status"].as_str()),
        (Some(0), Some("running"))
    );
    post(
        stack,
        &format!("{base}/tasks/{id}/metadata"),
        metadata("attempt_ok", "False", 0),
    )
    .await;
    let failed = expect(ws, "tasks", "UPDATE").await;
    assert_eq!(
        (failed["attempt_id"].as_i64(), failed["status"].as_str()),
        (Some(0), Some("failed"))
    );
    post(
        stack,
        &format!("{base}/tasks/{id}/metadata"),
        metadata("attempt", "1", 1),
    )
    .await;
    let retry = expect(ws, "tasks", "INSERT").await;
    assert_eq!(retry["attempt_id"], 1);
    post(
        stack,
        &format!("{base}/tasks/{id}/metadata"),
        metadata("attempt_ok", "True", 1),
    )
    .await;
    let ok = expect(ws, "tasks", "UPDATE").await;
    let attempts = get_ui(stack, &format!("{base}/tasks/{id}/attempts")).await;
    same_row(&ok, &attempts[0]);
    assert_eq!(ok["status"], "completed");

    finish_and_unsubscribe(stack, ws).await;
}

/// The end task finishing completes the run; an unsubscribed uuid hears nothing more.
async fn finish_and_unsubscribe(stack: &Stack, ws: &mut Socket) {
    let end = started_task(stack, 1, "end").await;
    expect(ws, "steps", "INSERT").await;
    expect(ws, "tasks", "INSERT").await;
    expect(ws, "tasks", "UPDATE").await;
    let end_path = format!("/flows/{FLOW}/runs/1/steps/end/tasks/{end}/metadata");
    post(stack, &end_path, metadata("attempt_ok", "True", 0)).await;
    assert_eq!(expect(ws, "tasks", "UPDATE").await["status"], "completed");
    let done = expect(ws, "all", "UPDATE").await;
    same_row(
        &done,
        &get_ui(stack, &format!("/flows/{FLOW}/runs/1")).await,
    );
    assert_eq!(done["status"], "completed");
    assert_eq!(expect(ws, "done", "UPDATE").await, done);
    assert_eq!(expect(ws, "ana", "UPDATE").await, done);

    send(
        ws,
        json!({"type": "UNSUBSCRIBE", "uuid": "all"}).to_string(),
    )
    .await;
    ping(ws).await;
    post(stack, &format!("/flows/{FLOW}/run"), who()).await;
    assert_eq!(expect(ws, "ana", "INSERT").await["run_number"], 2);
}

/// A run and a task whose heartbeats stop turn `failed` without any write.
async fn stale_heartbeats(stack: &Stack, ws: &mut Socket) {
    post(stack, &format!("/flows/{FLOW}/run"), who()).await;
    expect(ws, "ana", "INSERT").await;
    subscribe(ws, "t3", &format!("/flows/{FLOW}/runs/3/tasks"), None).await;
    ping(ws).await;
    started_task(stack, 3, "start").await;
    // Age the heartbeats only once the writes have been seen, so that no write's event is the
    // one that reports the failure.
    expect(ws, "t3", "INSERT").await;
    assert_eq!(expect(ws, "t3", "UPDATE").await["status"], "running");
    age_heartbeats(stack, 3).await;
    let mut failed = Vec::new();
    for _ in 0..2 {
        let event: Value = serde_json::from_str(&next_text(ws).await).unwrap();
        assert_eq!(event["type"], "UPDATE", "{event}");
        assert_eq!(event["data"]["status"], "failed", "{event}");
        failed.push(event["uuid"].as_str().unwrap().to_owned());
    }
    failed.sort();
    assert_eq!(failed, ["ana", "t3"]);
}

/// A late subscriber replays what it missed; `since` in the future replays nothing.
async fn replay(stack: &Stack, since: i64) {
    let mut late = connect(stack).await;
    subscribe(&mut late, "late", "/runs", Some(since)).await;
    assert_eq!(expect(&mut late, "late", "INSERT").await["run_number"], 1);
    assert_eq!(
        expect(&mut late, "late", "UPDATE").await["status"],
        "completed"
    );
    subscribe(&mut late, "future", "/runs", Some(since + 100_000)).await;
    send(
        &mut late,
        json!({"type": "UNSUBSCRIBE", "uuid": "late"}).to_string(),
    )
    .await;
    // Drain the rest of the replay, then nothing else may follow the pong.
    send(&mut late, "__ping__").await;
    while next_text(&mut late).await != "__pong__" {}
    assert!(
        tokio::time::timeout(Duration::from_millis(300), late.next())
            .await
            .is_err()
    );
}

/// Junk, oversized frames and a flood of subscriptions are bounded and never take the server down.
async fn hostile(stack: &Stack) {
    let mut ws = connect(stack).await;
    for i in 0..300 {
        subscribe(&mut ws, &format!("s{i}"), "/runs", None).await;
    }
    for junk in [
        "{",
        "[1,2]",
        "null",
        "{\"type\":\"SUBSCRIBE\",\"uuid\":{}}",
        "{\"type\":\"SUBSCRIBE\",\"uuid\":\"x\",\"resource\":\"/runs?a:zz=1\"}",
    ] {
        send(&mut ws, junk).await;
    }
    ws.send(Message::Binary(vec![0u8; 100].into()))
        .await
        .unwrap();
    ping(&mut ws).await;
    post(stack, &format!("/flows/{FLOW}/run"), who()).await;
    let mut count = 0;
    while count < 256 {
        let event: Value = serde_json::from_str(&next_text(&mut ws).await).unwrap();
        assert_eq!(event["type"], "INSERT");
        count += 1;
    }
    ping(&mut ws).await;
    let _ = ws.send(Message::Text("x".repeat(200_000).into())).await;
    let closed = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "an oversized frame closes the socket");
    let mut fresh = connect(stack).await;
    ping(&mut fresh).await;
}

async fn story(stack: Stack) {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - 1;
    let mut ws = connect(&stack).await;
    lifecycle(&stack, &mut ws).await;
    stale_heartbeats(&stack, &mut ws).await;
    replay(&stack, since).await;
    hostile(&stack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_on_sqlite_in_process() {
    story(sqlite_stack().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_on_postgres_through_notify() {
    let Some(base) = postgres_url() else {
        eprintln!("MFSTACK_TEST_POSTGRES_URL unset: skipping the PostgreSQL half");
        return;
    };
    story(postgres_stack(&base).await).await;
}
