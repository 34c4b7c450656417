//! The databases every store test runs against: a fresh SQLite file, and a fresh PostgreSQL database
//! when `MFSTACK_TEST_POSTGRES_URL` is set (required under CI, where `scripts/test` starts one).

use std::sync::Arc;

use mfstack_store::{NewRun, NewStep, OpenOptions, RunRow, Store};
use sqlx::Connection;

// Each test binary compiles this module on its own and uses a different part of it.
#[allow(dead_code)]
pub struct Db {
    pub store: Arc<dyn Store>,
    pub engine: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// `name` keeps the PostgreSQL databases of concurrently running tests apart.
pub async fn databases(name: &str) -> Vec<Db> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let mut out = vec![Db {
        store: mfstack_store::open(&url, &OpenOptions::default())
            .await
            .unwrap(),
        engine: "sqlite",
        url,
        _dir: Some(dir),
    }];
    match std::env::var("MFSTACK_TEST_POSTGRES_URL") {
        Ok(base) => {
            let mut conn = sqlx::PgConnection::connect(&base).await.unwrap();
            for sql in [
                format!("DROP DATABASE IF EXISTS store_{name} WITH (FORCE)"),
                format!("CREATE DATABASE store_{name}"),
            ] {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            let mut url = url::Url::parse(&base).unwrap();
            url.set_path(&format!("store_{name}"));
            out.push(Db {
                store: mfstack_store::open(url.as_str(), &OpenOptions::default())
                    .await
                    .unwrap(),
                engine: "postgres",
                url: url.to_string(),
                _dir: None,
            });
        }
        Err(_) => assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but MFSTACK_TEST_POSTGRES_URL is not: scripts/test starts PostgreSQL and sets it"
        ),
    }
    out
}

/// A new flow `flow` with one run and one step `step` in it.
#[allow(dead_code)]
pub async fn run_with_step(store: &dyn Store, flow: &str, step: &str) -> RunRow {
    store.create_flow(flow, None, None, None).await.unwrap();
    let run = store
        .create_run(NewRun {
            flow_id: flow.into(),
            run_id: None,
            user_name: None,
            tags: None,
            system_tags: None,
            heartbeat: false,
        })
        .await
        .unwrap();
    let new_step = NewStep {
        step_name: step.into(),
        user_name: None,
        tags: None,
        system_tags: None,
    };
    store.create_step(&run, new_step).await.unwrap();
    run
}
