//! Coalesced writes on SQLite and (when MFSTACK_TEST_POSTGRES_URL is set; required under CI)
//! PostgreSQL: requests sent together are written together, yet each keeps its own answer (its id,
//! its duplicate, its missing parent, its count), and one request's failure fails no neighbour.

mod common;

use std::future::Future;
use std::sync::Arc;

use common::databases;
use mfstack_store::{
    ArtifactScope, MetadataScope, NewArtifactRow, NewMetadataRow, NewRun, NewStep, NewTask, RunRow,
    Store, StoreError, TaskRow,
};

/// Start every call before awaiting any, so they queue behind one another and share groups.
async fn together<T, F>(calls: Vec<F>) -> Vec<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let handles: Vec<_> = calls.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

fn new_run(run_id: Option<String>) -> NewRun {
    NewRun {
        flow_id: "F".into(),
        run_id,
        user_name: None,
        tags: None,
        system_tags: None,
        heartbeat: false,
    }
}

fn new_step(name: &str) -> NewStep {
    NewStep {
        step_name: name.into(),
        user_name: None,
        tags: None,
        system_tags: None,
    }
}

fn new_task(step: &str, name: Option<String>) -> NewTask {
    NewTask {
        step_name: step.into(),
        task_name: name,
        user_name: None,
        tags: None,
        system_tags: None,
        heartbeat: false,
    }
}

fn artifact(name: &str) -> NewArtifactRow {
    NewArtifactRow {
        name: name.into(),
        location: format!("/{name}"),
        ds_type: "local".into(),
        sha: None,
        type_: None,
        content_type: None,
        attempt_id: 0,
        user_name: None,
        tags: None,
        system_tags: None,
    }
}

fn metadata(value: &str) -> NewMetadataRow {
    NewMetadataRow {
        field_name: "f".into(),
        value: value.into(),
        type_: "t".into(),
        user_name: None,
        tags: None,
        system_tags: None,
    }
}

/// A flow, a run and its step `s`.
async fn run_with_step(store: &dyn Store) -> RunRow {
    store.create_flow("F", None, None, None).await.unwrap();
    let run = store.create_run(new_run(None)).await.unwrap();
    store.create_step(&run, new_step("s")).await.unwrap();
    run
}

async fn tasks(store: &Arc<dyn Store>, run: &RunRow, n: usize) -> Vec<TaskRow> {
    let calls = (0..n)
        .map(|_| {
            let (store, run) = (Arc::clone(store), run.clone());
            async move { store.create_task(&run, new_task("s", None)).await }
        })
        .collect();
    together(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn concurrent_task_creates_each_get_their_own_row() {
    for db in databases("coalesce_tasks").await {
        let run = run_with_step(db.store.as_ref()).await;
        let calls = (0..60)
            .map(|i| {
                let (store, run) = (Arc::clone(&db.store), run.clone());
                let name = (i % 2 == 0).then(|| format!("t{i}"));
                async move { (i, store.create_task(&run, new_task("s", name)).await) }
            })
            .collect();
        let mut ids = Vec::new();
        for (i, created) in together(calls).await {
            let row = created.unwrap();
            let expected = (i % 2 == 0).then(|| format!("t{i}"));
            assert_eq!(row.task_name, expected, "{}", db.engine);
            ids.push(row.task_id);
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 60, "{}", db.engine);
        let listed = db.store.list_tasks(&run, "s", None).await.unwrap();
        assert_eq!(listed.rows.len(), 60, "{}", db.engine);
    }
}

#[tokio::test]
async fn one_duplicate_or_orphan_among_concurrent_creates_fails_alone() {
    for db in databases("coalesce_dup").await {
        let store = db.store.as_ref();
        let run = run_with_step(store).await;
        store
            .create_task(&run, new_task("s", Some("taken".into())))
            .await
            .unwrap();
        let calls = (0..40)
            .map(|i| {
                let (store, run) = (Arc::clone(&db.store), run.clone());
                let task = match i {
                    7 => new_task("s", Some("taken".into())),
                    11 => new_task("no-such-step", None),
                    i => new_task("s", Some(format!("t{i}"))),
                };
                async move { (i, store.create_task(&run, task).await) }
            })
            .collect();
        for (i, created) in together(calls).await {
            match i {
                7 => assert!(
                    matches!(created, Err(StoreError::Duplicate(_))),
                    "{created:?}"
                ),
                11 => assert!(
                    matches!(created, Err(StoreError::MissingParent(_))),
                    "{created:?}"
                ),
                i => assert_eq!(created.unwrap().task_name, Some(format!("t{i}"))),
            }
        }
        let listed = store.list_tasks(&run, "s", None).await.unwrap();
        assert_eq!(listed.rows.len(), 39, "{}", db.engine);
    }
}

#[tokio::test]
async fn concurrent_run_and_step_creates_keep_their_answers() {
    for db in databases("coalesce_runs").await {
        let store = db.store.as_ref();
        let run = run_with_step(store).await;
        store
            .create_run(new_run(Some("taken".into())))
            .await
            .unwrap();
        let calls = (0..30)
            .map(|i| {
                let store = Arc::clone(&db.store);
                let id = match i {
                    3 => Some("taken".to_owned()),
                    i if i % 3 == 0 => None,
                    i => Some(format!("r{i}")),
                };
                async move { (id.clone(), store.create_run(new_run(id)).await) }
            })
            .collect();
        let mut numbers = Vec::new();
        for (id, created) in together(calls).await {
            match id.as_deref() {
                Some("taken") => assert!(matches!(created, Err(StoreError::Duplicate(_)))),
                _ => {
                    let row = created.unwrap();
                    assert_eq!(row.run_id, id, "{}", db.engine);
                    numbers.push(row.run_number);
                }
            }
        }
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), 29, "{}", db.engine);

        let calls = ["a", "b", "s", "c", "a"]
            .into_iter()
            .map(|name| {
                let (store, run) = (Arc::clone(&db.store), run.clone());
                async move { (name, store.create_step(&run, new_step(name)).await) }
            })
            .collect();
        let answers = together(calls).await;
        let ok: Vec<_> = answers
            .iter()
            .filter_map(|(name, r)| r.as_ref().ok().map(|row| (*name, row.step_name.clone())))
            .collect();
        assert!(ok.iter().all(|(asked, got)| asked == got), "{ok:?}");
        // "s" existed and "a" was asked twice: two duplicates, three new steps.
        assert_eq!(ok.len(), 3, "{} {answers:?}", db.engine);
        assert_eq!(store.list_steps(&run).await.unwrap().len(), 4);
    }
}

#[tokio::test]
async fn concurrent_heartbeats_each_record_their_own_task() {
    for db in databases("coalesce_beats").await {
        let run = run_with_step(db.store.as_ref()).await;
        let created = tasks(&db.store, &run, 20).await;
        // Every task once, and the first task a second time: only one of its beats is recorded.
        let ids: Vec<i64> = created
            .iter()
            .map(|t| t.task_id)
            .chain([created[0].task_id])
            .collect();
        let calls = ids
            .iter()
            .map(|&id| {
                let store = Arc::clone(&db.store);
                async move { (id, store.heartbeat_task(id).await.unwrap()) }
            })
            .collect();
        let answers = together(calls).await;
        let recorded = answers.iter().filter(|(_, beat)| *beat).count();
        assert_eq!(recorded, 20, "{} {answers:?}", db.engine);
        let listed = db.store.list_tasks(&run, "s", None).await.unwrap();
        assert!(listed.rows.iter().all(|t| t.last_heartbeat_ts.is_some()));
        assert!(!db.store.heartbeat_task(created[1].task_id).await.unwrap());

        let beats = (0..5)
            .map(|_| {
                let (store, run) = (Arc::clone(&db.store), run.clone());
                async move { store.heartbeat_run(&run.flow_id, run.run_number).await }
            })
            .collect();
        let run_beats: Vec<bool> = together(beats)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(run_beats.iter().filter(|b| **b).count(), 1, "{run_beats:?}");
    }
}

#[tokio::test]
async fn concurrent_batches_share_a_transaction_and_keep_their_counts() {
    for db in databases("coalesce_batches").await {
        let run = run_with_step(db.store.as_ref()).await;
        let created = tasks(&db.store, &run, 10).await;
        // Requests 0 and 1 send the same task's rows: the second only adds its one new name.
        let calls = (0..10)
            .map(|i| {
                let store = Arc::clone(&db.store);
                let task = created[i.max(1) - 1].clone();
                let rows: Vec<_> = match i {
                    1 => vec![artifact("x"), artifact("y"), artifact("z")],
                    _ => vec![artifact("x"), artifact("y")],
                };
                async move { (i, store.create_artifacts(&task, &rows).await.unwrap()) }
            })
            .collect();
        for (i, count) in together(calls).await {
            assert_eq!(
                count,
                if i == 1 { 1 } else { 2 },
                "request {i} {}",
                db.engine
            );
        }
        let listed = db
            .store
            .list_artifacts(ArtifactScope::Run(&run), None)
            .await
            .unwrap();
        assert_eq!(listed.rows.len(), 19, "{}", db.engine);
        let x = listed.rows.iter().find(|a| a.name == "x").unwrap();
        assert_eq!(
            (
                x.location.as_str(),
                x.ds_type.as_str(),
                x.attempt_id,
                x.sha.as_deref()
            ),
            ("/x", "local", 0, None),
            "{}",
            db.engine
        );
        assert_eq!((x.flow_id.as_str(), x.run_number), ("F", run.run_number));

        let calls = (0..10)
            .map(|i| {
                let (store, task) = (Arc::clone(&db.store), created[i].clone());
                // PostgreSQL refuses a NUL in text, so request 4's batch fails there, alone.
                let bad = i == 4 && db.engine == "postgres";
                let value = if bad { "bad\0" } else { "ok" };
                let rows = vec![metadata(value), metadata("ok")];
                async move { (bad, store.create_metadata(&task, &rows).await) }
            })
            .collect();
        let mut stored = 0;
        for (bad, answer) in together(calls).await {
            match (bad, answer) {
                (true, answer) => assert!(answer.is_err()),
                (false, answer) => stored += answer.unwrap(),
            }
        }
        let listed = db
            .store
            .list_metadata(MetadataScope::Run(&run), None)
            .await
            .unwrap();
        assert_eq!(listed.rows.len() as u64, stored, "{}", db.engine);
    }
}
