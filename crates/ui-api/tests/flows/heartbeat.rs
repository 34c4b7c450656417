//! Status transitions a flow run cannot stage on demand: running → completed, a run dying in a
//! middle step (failed within 30 s of its last heartbeat, where upstream waits 6 minutes), a task
//! failed by its heartbeat, and a retried attempt.

use axum::Router;
use mfstack_store::{NewMetadataRow, NewRun, NewStep, NewTask, Store, TaskRow};
use serde_json::Value;

fn meta(field: &str, value: &str, attempt: u32) -> NewMetadataRow {
    NewMetadataRow {
        field_name: field.into(),
        value: value.into(),
        type_: field.into(),
        user_name: Some("tester".into()),
        tags: Some(serde_json::json!([format!("attempt_id:{attempt}")])),
        system_tags: None,
    }
}

/// Move every heartbeat of the flow `seconds` into the past.
pub async fn age(url: &str, flow: &str, seconds: i64) {
    use sqlx::Connection;
    for table in ["runs_v3", "tasks_v3"] {
        let sql = format!(
            "UPDATE {table} SET last_heartbeat_ts = last_heartbeat_ts - {seconds} \
             WHERE flow_id = '{flow}'"
        );
        if url.starts_with("sqlite") {
            let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut c)
                .await
                .unwrap();
        } else {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut c)
                .await
                .unwrap();
        }
    }
}

async fn start_task(store: &dyn Store, flow: &str, step: &str) -> (mfstack_store::RunRow, TaskRow) {
    let _ = store.create_flow(flow, Some("tester"), None, None).await;
    let run = store
        .create_run(NewRun {
            flow_id: flow.into(),
            run_id: None,
            user_name: Some("tester".into()),
            tags: None,
            system_tags: Some(serde_json::json!(["user:tester"])),
            heartbeat: true,
        })
        .await
        .unwrap();
    for name in ["start", step] {
        let _ = store
            .create_step(
                &run,
                NewStep {
                    step_name: name.into(),
                    user_name: Some("tester".into()),
                    tags: None,
                    system_tags: None,
                },
            )
            .await;
    }
    let task = store
        .create_task(
            &run,
            NewTask {
                step_name: step.into(),
                task_name: None,
                user_name: Some("tester".into()),
                tags: None,
                system_tags: None,
                heartbeat: true,
            },
        )
        .await
        .unwrap();
    store
        .create_metadata(&task, &[meta("attempt", "0", 0)])
        .await
        .unwrap();
    (run, task)
}

async fn run_status(ui: &Router, flow: &str, run: i64) -> Value {
    let v = super::json(ui, &format!("/api/flows/{flow}/runs/{run}")).await;
    v["data"].clone()
}

async fn task_status(ui: &Router, flow: &str, run: i64, step: &str) -> Vec<Value> {
    let v = super::json(
        ui,
        &format!("/api/flows/{flow}/runs/{run}/steps/{step}/tasks"),
    )
    .await;
    v["data"].as_array().unwrap().clone()
}

pub async fn check_transitions(store: &std::sync::Arc<dyn Store>, url: &str, ui: &Router) {
    // Running, then completed when `end` reports success.
    let (run, end) = start_task(store.as_ref(), "LiveFlow", "end").await;
    let n = run.run_number;
    assert_eq!(run_status(ui, "LiveFlow", n).await["status"], "running");
    assert_eq!(
        task_status(ui, "LiveFlow", n, "end").await[0]["status"],
        "running"
    );
    store
        .create_metadata(&end, &[meta("attempt_ok", "True", 0)])
        .await
        .unwrap();
    let done = run_status(ui, "LiveFlow", n).await;
    assert_eq!(done["status"], "completed");
    assert!(done["finished_at"].is_i64());

    // Dies in a middle step: a failed final attempt and a heartbeat 40 s old is `failed` now.
    let (run, middle) = start_task(store.as_ref(), "DyingFlow", "middle").await;
    let n = run.run_number;
    store
        .create_metadata(&middle, &[meta("attempt_ok", "False", 0)])
        .await
        .unwrap();
    assert_eq!(run_status(ui, "DyingFlow", n).await["status"], "running");
    age(url, "DyingFlow", 40).await;
    let dead = run_status(ui, "DyingFlow", n).await;
    assert_eq!(dead["status"], "failed", "{dead}");
    assert!(dead["finished_at"].is_i64());

    // A retried attempt: the first fails, the second runs; a stale heartbeat fails the task.
    let (run, retried) = start_task(store.as_ref(), "RetryFlow", "work").await;
    let n = run.run_number;
    store
        .create_metadata(&retried, &[meta("attempt", "1", 1)])
        .await
        .unwrap();
    let rows = task_status(ui, "RetryFlow", n, "work").await;
    let by = |a: i64| rows.iter().find(|r| r["attempt_id"] == a).unwrap()["status"].clone();
    assert_eq!((by(0), by(1)), ("failed".into(), "running".into()));
    age(url, "RetryFlow", 120).await;
    let rows = task_status(ui, "RetryFlow", n, "work").await;
    let latest = rows.iter().find(|r| r["attempt_id"] == 1).unwrap();
    assert_eq!(latest["status"], "failed", "{latest}");
    assert!(latest["finished_at"].is_i64());
}
