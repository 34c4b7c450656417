//! Drop-in compatibility with the reference deployment (DECISIONS.md, Compatibility 1): a database
//! migrated the way goose migrates it is served by mfstack, one stopped part-way is finished by
//! mfstack's upgrade, and one migrated by mfstack ends with the same schema and version table.
//! Needs MFSTACK_TEST_POSTGRES_URL. Without it the tests say so and pass, except under CI (the `CI`
//! variable set), where a missing PostgreSQL fails them: CI must never skip in silence.

use std::path::PathBuf;

use mfstack_store::{NewRun, OpenOptions, RunKey};
use sqlx::{Connection, PgConnection, Row};

const GOOSE_TABLE: &str = "CREATE TABLE goose_db_version (id serial NOT NULL, version_id bigint NOT NULL, \
     is_applied boolean NOT NULL, tstamp timestamp NULL default now(), PRIMARY KEY(id))";

fn base_url() -> Option<String> {
    let url = std::env::var("MFSTACK_TEST_POSTGRES_URL").ok();
    if url.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but MFSTACK_TEST_POSTGRES_URL is not: scripts/test starts PostgreSQL and sets it"
        );
        eprintln!(
            "skipped: set MFSTACK_TEST_POSTGRES_URL to run the PostgreSQL compatibility tests"
        );
    }
    url
}

async fn fresh(base: &str, name: &str) -> String {
    let mut conn = PgConnection::connect(base).await.unwrap();
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

/// The migration files in goose order (their names start with the version).
fn migration_files() -> Vec<(i64, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut files: Vec<(i64, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let version = name.split('_').next().unwrap().parse().unwrap();
            (version, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// Apply migrations up to `until` as goose does: its version table with the 0 row, each file's Up
/// section (inside a transaction unless marked NO TRANSACTION), one applied row per file.
async fn goose_up(url: &str, until: i64) {
    let mut conn = PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(GOOSE_TABLE).execute(&mut conn).await.unwrap();
    sqlx::raw_sql("INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true)")
        .execute(&mut conn)
        .await
        .unwrap();
    for (version, text) in migration_files().into_iter().filter(|(v, _)| *v <= until) {
        let up = text.split("-- +goose Down").next().unwrap();
        let record = format!(
            "INSERT INTO goose_db_version (version_id, is_applied) VALUES ({version}, true)"
        );
        if text.contains("-- +goose NO TRANSACTION") {
            for stmt in up.split(";\n").filter(|s| {
                s.lines()
                    .any(|l| !l.trim().is_empty() && !l.trim().starts_with("--"))
            }) {
                sqlx::raw_sql(sqlx::AssertSqlSafe(stmt.to_owned()))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            sqlx::raw_sql(sqlx::AssertSqlSafe(record))
                .execute(&mut conn)
                .await
                .unwrap();
        } else {
            let mut tx = conn.begin().await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(up.to_owned()))
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(record))
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    }
}

/// Columns, constraints and index definitions, sorted, for comparing two databases.
async fn schema(url: &str) -> Vec<String> {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let mut out = Vec::new();
    for sql in [
        "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || \
         COALESCE(character_maximum_length::text, '') || ' ' || COALESCE(column_default, '') \
         FROM information_schema.columns WHERE table_schema = 'public'",
        "SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) \
         FROM pg_constraint WHERE connamespace = 'public'::regnamespace",
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'",
    ] {
        for row in sqlx::query(sql).fetch_all(&mut conn).await.unwrap() {
            out.push(row.get::<String, _>(0));
        }
    }
    out.sort();
    out
}

async fn versions(url: &str) -> Vec<(i64, bool)> {
    let mut conn = PgConnection::connect(url).await.unwrap();
    sqlx::query_as("SELECT version_id, is_applied FROM goose_db_version ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn goose_migrated_database_is_served_and_mfstack_migrated_one_matches_it() {
    let Some(base) = base_url() else { return };
    let by_goose = fresh(&base, "compat_goose").await;
    goose_up(&by_goose, i64::MAX).await;
    let store = mfstack_store::open(&by_goose, &OpenOptions::default())
        .await
        .unwrap();
    let status = store.schema_status().await.unwrap();
    assert!(status.is_up_to_date, "{status:?}");
    assert_eq!(status.current_version, "20261202000000");
    assert!(
        store.upgrade().await.unwrap().applied.is_empty(),
        "nothing to do on a goose-migrated database"
    );
    store.create_flow("F", Some("u"), None, None).await.unwrap();
    let run = store
        .create_run(NewRun {
            flow_id: "F".into(),
            run_id: Some("argo-1".into()),
            user_name: None,
            tags: Some(serde_json::json!(["a"])),
            system_tags: None,
            heartbeat: true,
        })
        .await
        .unwrap();
    let found = store
        .get_run("F", &RunKey::Number(run.run_number))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.run_id.as_deref(), Some("argo-1"));
    store.close().await;

    let by_mfstack = fresh(&base, "compat_mfstack").await;
    let store = mfstack_store::open(&by_mfstack, &OpenOptions::default())
        .await
        .unwrap();
    store.close().await;
    assert_eq!(schema(&by_mfstack).await, schema(&by_goose).await);
    assert_eq!(versions(&by_mfstack).await, versions(&by_goose).await);
}

#[tokio::test]
async fn a_database_stopped_part_way_is_reported_then_upgraded() {
    let Some(base) = base_url() else { return };
    let url = fresh(&base, "compat_partway").await;
    goose_up(&url, 20230118020300).await;
    let store = mfstack_store::open(&url, &OpenOptions::default())
        .await
        .unwrap();
    let status = store.schema_status().await.unwrap();
    assert!(!status.is_up_to_date);
    assert_eq!(status.current_version, "20230118020300");
    assert_eq!(status.unapplied_migrations.len(), 6);
    // Two upgrades at once: the advisory lock lets one do the work, the other finds nothing to do.
    let (a, b) = tokio::join!(store.upgrade(), store.upgrade());
    let mut applied = [a.unwrap().applied.len(), b.unwrap().applied.len()];
    applied.sort();
    assert_eq!(applied, [0, 6]);
    assert!(store.schema_status().await.unwrap().is_up_to_date);
    store.close().await;
}

#[tokio::test]
async fn a_database_ahead_of_this_build_is_refused() {
    let Some(base) = base_url() else { return };
    let url = fresh(&base, "compat_ahead").await;
    goose_up(&url, i64::MAX).await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(
        "INSERT INTO goose_db_version (version_id, is_applied) VALUES (20991231000000, true)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let err = match mfstack_store::open(&url, &OpenOptions::default()).await {
        Ok(_) => panic!("a newer schema must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("20991231000000") && err.contains("newer"),
        "{err}"
    );
}
