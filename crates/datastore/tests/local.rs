//! The local datastore, as real flows wrote it.

mod common;

use std::sync::OnceLock;

use mfstack_datastore::{Datastore, DatastoreConfig, LogOrder, LogPageRequest, LogStream};
use serde_json::Value;

#[path = "common/checks.rs"]
mod checks;

struct Fixture {
    _dir: tempfile::TempDir,
    dump: Value,
    failing: Value,
}

fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let python = common::python()?;
            let dir = tempfile::tempdir().unwrap();
            // Cards go to `<the .metaflow found from the working directory>/mf.cards`, so the
            // flows run where the datastore root is.
            let env = [(
                "METAFLOW_DATASTORE_SYSROOT_LOCAL",
                dir.path().display().to_string(),
            )];
            let args = [
                "--datastore=local",
                "--metadata=local",
                "run",
                "--alpha",
                "0.25",
            ];
            let dump =
                common::run_flow(&python, dir.path(), &env, "datastore_flow.py", &args, true);
            let args = ["--datastore=local", "--metadata=local", "run"];
            let failing =
                common::run_flow(&python, dir.path(), &env, "failing_flow.py", &args, false);
            Some(Fixture {
                _dir: dir,
                dump,
                failing,
            })
        })
        .as_ref()
}

fn datastore() -> Datastore {
    Datastore::new(DatastoreConfig::default()).unwrap()
}

#[tokio::test]
async fn artifacts() {
    let Some(f) = fixture() else { return };
    checks::artifacts_render_like_python(&datastore(), &f.dump).await;
}

#[tokio::test]
async fn parameters_and_dag() {
    let Some(f) = fixture() else { return };
    checks::parameters_and_dag(&datastore(), &f.dump).await;
}

#[tokio::test]
async fn logs() {
    let Some(f) = fixture() else { return };
    checks::logs_match_the_client(&datastore(), &f.dump).await;
}

#[tokio::test]
async fn cards() {
    let Some(f) = fixture() else { return };
    checks::cards_match_the_client(&datastore(), &f.dump).await;
}

#[tokio::test]
async fn foreach_indices() {
    let Some(f) = fixture() else { return };
    checks::foreach_indices_match_the_client(&datastore(), &f.dump).await;
}

#[tokio::test]
async fn failing_step_logs_its_traceback() {
    let Some(f) = fixture() else { return };
    let ds = datastore();
    let end = common::tasks(&f.failing, "end")[0];
    let root = ds
        .root_for(end["ds_type"].as_str(), end["ds_root"].as_str())
        .unwrap();
    let mut path = common::task_path("FailingFlow", &f.failing, end);
    path.flow = "FailingFlow".into();
    let all = LogPageRequest {
        page: 1,
        limit: 0,
        order: LogOrder::Ascending,
    };
    let err = ds
        .log_page(&root, &path, 0, LogStream::Stderr, all)
        .await
        .unwrap();
    let want: Vec<&str> = end["attempts"][0]["stderr"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        err.lines
            .iter()
            .map(|l| l.line.as_str())
            .collect::<Vec<_>>(),
        want
    );
    assert!(want.iter().any(|l| l.contains("this step fails")));
    let out = ds
        .log_page(&root, &path, 0, LogStream::Stdout, all)
        .await
        .unwrap();
    assert!(out.lines.iter().any(|l| l.line == "about to fail"));
}
