//! A run as wide as real foreach fan-outs get: 5,000 tasks in one step, some retried. The UI's task
//! listing must answer it whole, with each attempt's derived status, on both engines.

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::{databases, run_with_step};
use mfstack_store::{NewArtifactRow, NewMetadataRow, NewTask, RunRow, Store, TaskScope, UiQuery};
use serde_json::json;

const TASKS: usize = 5_000;
/// Every this-many-th task failed once and succeeded on its retry.
const RETRIED_EVERY: usize = 50;

fn meta(field: &str, value: &str, attempt: i64) -> NewMetadataRow {
    NewMetadataRow {
        field_name: field.into(),
        value: value.into(),
        type_: field.into(),
        user_name: None,
        tags: Some(json!([format!("attempt_id:{attempt}")])),
        system_tags: None,
    }
}

fn task_ok(attempt: i64) -> NewArtifactRow {
    NewArtifactRow {
        name: "_task_ok".into(),
        location: format!("/_task_ok/{attempt}"),
        ds_type: "local".into(),
        sha: Some(format!("sha{attempt}")),
        type_: None,
        content_type: None,
        attempt_id: attempt,
        user_name: None,
        tags: None,
        system_tags: None,
    }
}

/// What the Metaflow client writes for one finished attempt.
fn attempt_rows(attempt: i64, ok: bool) -> Vec<NewMetadataRow> {
    let ok = if ok { "True" } else { "False" };
    vec![
        meta("attempt", &attempt.to_string(), attempt),
        meta("attempt_ok", ok, attempt),
        meta("attempt-done", "True", attempt),
    ]
}

async fn add_task(store: &dyn Store, run: &RunRow, retried: bool) {
    let new = NewTask {
        step_name: "fan".into(),
        task_name: None,
        user_name: None,
        tags: None,
        system_tags: None,
        heartbeat: false,
    };
    let task = store.create_task(run, new).await.unwrap();
    let (rows, last) = if retried {
        let mut rows = attempt_rows(0, false);
        rows.extend(attempt_rows(1, true));
        (rows, 1)
    } else {
        (attempt_rows(0, true), 0)
    };
    store.create_metadata(&task, &rows).await.unwrap();
    store
        .create_artifacts(&task, &[task_ok(last)])
        .await
        .unwrap();
}

async fn wide_run(store: &Arc<dyn Store>) -> RunRow {
    let run = run_with_step(store.as_ref(), "Wide", "fan").await;
    // Twenty writers, as a foreach's workers would be.
    let writers: Vec<_> = (0..20)
        .map(|w| {
            let (store, run) = (Arc::clone(store), run.clone());
            tokio::spawn(async move {
                for i in (w..TASKS).step_by(20) {
                    add_task(store.as_ref(), &run, i % RETRIED_EVERY == 0).await;
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    run
}

#[tokio::test]
async fn a_run_of_5000_tasks_lists_every_attempt_with_its_status() {
    for db in databases("ui_wide").await {
        let run = wide_run(&db.store).await;
        let store = db.store.as_ref();
        let started = Instant::now();
        let rows = store
            .ui_tasks(&run, TaskScope::default(), &UiQuery::first(10_000))
            .await
            .unwrap();
        // Printed for the record; the bench measures it.
        eprintln!(
            "{}: {} attempts in {:?}",
            db.engine,
            rows.len(),
            started.elapsed()
        );
        let retried = TASKS.div_ceil(RETRIED_EVERY);
        assert_eq!(rows.len(), TASKS + retried, "{}", db.engine);
        let failed: Vec<_> = rows.iter().filter(|r| r.status == "failed").collect();
        assert_eq!(failed.len(), retried, "{}", db.engine);
        assert!(failed.iter().all(|r| r.attempt_id == 0), "{}", db.engine);
        assert!(
            rows.iter()
                .filter(|r| r.status != "failed")
                .all(|r| r.status == "completed" && r.finished_at.is_some()),
            "{}",
            db.engine
        );
    }
}
