//! What bounds the store's work, on SQLite and (when MFSTACK_TEST_POSTGRES_URL is set; required
//! under CI) PostgreSQL: batches are all or nothing, paginated artifact listings keep the rows the
//! legacy listing keeps, a statement with more values than the engine can bind is refused before it
//! reaches the driver, and a statement past the statement timeout is cancelled as `Unavailable`.

mod common;

use common::{databases, run_with_step};
use mfstack_store::{
    ArtifactCursor, ArtifactScope, Filter, FilterOp, FilterValue, NewArtifactRow, NewMetadataRow,
    NewTask, OpenOptions, PageRequest, RunField, RunQuery, RunRow, Store, StoreError, TaskRow,
};

async fn task(store: &dyn Store) -> (RunRow, TaskRow) {
    let run = run_with_step(store, "F", "s").await;
    let new_task = NewTask {
        step_name: "s".into(),
        task_name: None,
        user_name: None,
        tags: None,
        system_tags: None,
        heartbeat: false,
    };
    let task = store.create_task(&run, new_task).await.unwrap();
    (run, task)
}

fn artifact(name: &str, attempt: i64) -> NewArtifactRow {
    NewArtifactRow {
        name: name.into(),
        location: format!("/{name}/{attempt}"),
        ds_type: "local".into(),
        sha: None,
        type_: None,
        content_type: None,
        attempt_id: attempt,
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

#[tokio::test]
async fn large_batches_are_stored_whole_and_retries_add_no_duplicates() {
    for db in databases("whole").await {
        let store = db.store.as_ref();
        let (_, task) = task(store).await;
        // More rows than one multi-row statement takes, so the batch spans several chunks.
        let rows: Vec<_> = (0..2500).map(|i| artifact(&format!("a{i}"), 0)).collect();
        assert_eq!(store.create_artifacts(&task, &rows).await.unwrap(), 2500);
        assert_eq!(store.create_artifacts(&task, &rows).await.unwrap(), 0);
        let listed = store
            .list_artifacts(ArtifactScope::Task(&task), None)
            .await
            .unwrap();
        assert_eq!(listed.rows.len(), 2500, "{}", db.engine);
    }
}

#[tokio::test]
async fn a_failing_batch_leaves_no_rows_behind() {
    for db in databases("atomic").await {
        if db.engine != "postgres" {
            // SQLite stores any text, so nothing in a row can make its chunk fail there.
            continue;
        }
        let store = db.store.as_ref();
        let (run, task) = task(store).await;
        let mut rows: Vec<_> = (0..2500).map(|i| metadata(&i.to_string())).collect();
        // PostgreSQL refuses a NUL in text: the third chunk fails after two went in.
        rows[2400] = metadata("bad\0value");
        let err = store.create_metadata(&task, &rows).await.unwrap_err();
        assert!(!matches!(err, StoreError::Unavailable(_)), "{err}");
        let left = store
            .list_metadata(mfstack_store::MetadataScope::Run(&run), None)
            .await
            .unwrap();
        assert!(left.rows.is_empty(), "{} rows survived", left.rows.len());
    }
}

#[tokio::test]
async fn artifact_pages_keep_each_tasks_latest_attempt_like_the_legacy_listing() {
    for db in databases("latest").await {
        let store = db.store.as_ref();
        let (run, task) = task(store).await;
        let first = [artifact("name", 0), artifact("a", 0), artifact("only0", 0)];
        store.create_artifacts(&task, &first).await.unwrap();
        let second = [artifact("name", 1), artifact("a", 1)];
        store.create_artifacts(&task, &second).await.unwrap();

        for scope in [
            ArtifactScope::Task(&task),
            ArtifactScope::Step(&run, "s"),
            ArtifactScope::Run(&run),
        ] {
            let mut seen = Vec::new();
            let mut after: Option<ArtifactCursor> = None;
            loop {
                let page = PageRequest { limit: 1, after };
                let got = store.list_artifacts(scope, Some(&page)).await.unwrap();
                let last = got.rows.last().map(|r| ArtifactCursor {
                    ts_epoch: r.ts_epoch,
                    task_id: r.task_id,
                    name: r.name.clone(),
                });
                seen.extend(got.rows.into_iter().map(|r| (r.name, r.attempt_id)));
                if !got.has_more {
                    break;
                }
                after = last;
            }
            seen.sort();
            assert_eq!(
                seen,
                vec![("a".to_owned(), 1), ("name".to_owned(), 1)],
                "{} {scope:?}",
                db.engine
            );
        }
    }
}

#[tokio::test]
async fn more_filter_values_than_the_engine_binds_is_the_callers_error() {
    for db in databases("binds").await {
        let store = db.store.as_ref();
        store.create_flow("F", None, None, None).await.unwrap();
        let query = RunQuery {
            filters: vec![Filter {
                field: RunField::UserName,
                op: FilterOp::Eq,
                values: (0..70_000)
                    .map(|i| FilterValue::Text(i.to_string()))
                    .collect(),
            }],
            tags: vec![],
            page: PageRequest {
                limit: 10,
                after: None,
            },
        };
        let err = store.list_runs("F", Some(&query)).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid(m) if m.contains("narrow the filters")),
            "{}: {err}",
            db.engine
        );
    }
}

#[tokio::test]
async fn a_statement_past_the_timeout_is_cancelled_and_the_connection_serves_again() {
    for db in databases("timeout").await {
        let (run, task) = task(db.store.as_ref()).await;
        let rows: Vec<_> = (0..50_000).map(|i| artifact(&format!("a{i}"), 0)).collect();
        db.store.create_artifacts(&task, &rows).await.unwrap();

        let options = OpenOptions {
            statement_timeout: Some(std::time::Duration::from_millis(5)),
            ..OpenOptions::default()
        };
        let hasty = mfstack_store::open(&db.url, &options).await.unwrap();
        let page = PageRequest::<ArtifactCursor> {
            limit: 10,
            after: None,
        };
        let err = hasty
            .list_artifacts(ArtifactScope::Run(&run), Some(&page))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Unavailable(m) if m.contains("statement timeout")),
            "{}: {err}",
            db.engine
        );
        // The pool hands the connection out again with a fresh deadline.
        hasty.healthcheck().await.unwrap();
        hasty.close().await;
    }
}
