//! Checks shared by the local and S3 stories: what the crate reads equals what Metaflow reads.

use mfstack_datastore::{ArtifactErrorKind, Datastore, LogOrder, LogPageRequest, LogStream};
use serde_json::{Value, json};

use crate::common::{artifact, task_path, tasks};

const FLOW: &str = "DatastoreFlow";

pub async fn artifacts_render_like_python(ds: &Datastore, dump: &Value) {
    let mut checked = 0;
    for task in dump["tasks"].as_array().unwrap() {
        for entry in task["artifacts"].as_array().unwrap() {
            let content = ds.artifact_content(&artifact(FLOW, entry)).await;
            let name = entry["name"].as_str().unwrap();
            if name == "large" {
                assert_eq!(content.unwrap_err().id, ArtifactErrorKind::ArtifactTooLarge);
                continue;
            }
            let Some(expected) = entry["str"].as_str() else {
                continue;
            };
            if entry["size"].as_u64().unwrap() >= 4096 || name == "shapes" {
                continue;
            }
            assert_eq!(content.as_deref(), Ok(expected), "artifact {name}");
            checked += 1;
        }
    }
    assert!(checked > 40, "checked {checked} artifacts");
    let start = tasks(dump, "start")[0];
    let shapes = start["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "shapes")
        .unwrap();
    assert_eq!(
        ds.artifact_content(&artifact(FLOW, shapes)).await.unwrap(),
        "(set(), frozenset({3}), {'k': {'nested': ('a', 'b')}})"
    );
}

pub async fn parameters_and_dag(ds: &Datastore, dump: &Value) {
    let params: Vec<_> = dump["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| artifact(FLOW, a))
        .collect();
    let values = ds.parameters(&params).await;
    assert_eq!(
        Value::Object(values),
        json!({"alpha": 0.25, "label": "hello"})
    );

    let dag = ds.dag(&artifact(FLOW, &dump["graph_info"])).await.unwrap();
    assert_eq!(dag["steps"]["start"]["type"], "split-foreach");
    assert_eq!(dag["steps"]["work"]["next"], json!(["join"]));
    assert_eq!(dag["steps"]["join"]["type"], "join");
    assert!(dag["file"].as_str().unwrap().ends_with("datastore_flow.py"));
    assert_eq!(
        dag["graph_structure"],
        json!(["start", [["work"]], "join", "end"])
    );
}

pub async fn logs_match_the_client(ds: &Datastore, dump: &Value) {
    let all = LogPageRequest {
        page: 1,
        limit: 0,
        order: LogOrder::Ascending,
    };
    for task in dump["tasks"].as_array().unwrap() {
        let root = ds
            .root_for(task["ds_type"].as_str(), task["ds_root"].as_str())
            .unwrap();
        let path = task_path(FLOW, dump, task);
        for (attempt, expected) in task["attempts"].as_array().unwrap().iter().enumerate() {
            for (stream, key) in [(LogStream::Stdout, "stdout"), (LogStream::Stderr, "stderr")] {
                let want: Vec<&str> = expected[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l.as_str().unwrap())
                    .collect();
                let page = ds
                    .log_page(&root, &path, attempt as u32, stream, all)
                    .await
                    .unwrap();
                let got: Vec<&str> = page.lines.iter().map(|l| l.line.as_str()).collect();
                assert_eq!(got, want, "{path:?} attempt {attempt} {key}");
                assert_eq!(page.total_rows, want.len() as u64);
                assert!(page.lines.iter().all(|l| l.timestamp.is_some()));
            }
        }
    }
    let end = tasks(dump, "end")[0];
    let root = ds
        .root_for(end["ds_type"].as_str(), end["ds_root"].as_str())
        .unwrap();
    let path = task_path(FLOW, dump, end);
    let desc = |page| LogPageRequest {
        page,
        limit: 2,
        order: LogOrder::Descending,
    };
    let page1 = ds
        .log_page(&root, &path, 0, LogStream::Stderr, desc(1))
        .await
        .unwrap();
    let rows: Vec<(u64, &str)> = page1
        .lines
        .iter()
        .map(|l| (l.row, l.line.as_str()))
        .collect();
    assert_eq!(rows, [(4, "err 4"), (3, "err 3")]);
    assert_eq!(page1.total_rows, 5);
    let page3 = ds
        .log_page(&root, &path, 0, LogStream::Stderr, desc(3))
        .await
        .unwrap();
    assert_eq!(page3.lines.iter().map(|l| l.row).collect::<Vec<_>>(), [0]);
    let asc2 = LogPageRequest {
        page: 2,
        limit: 2,
        order: LogOrder::Ascending,
    };
    let page = ds
        .log_page(&root, &path, 0, LogStream::Stdout, asc2)
        .await
        .unwrap();
    assert_eq!(
        page.lines
            .iter()
            .map(|l| l.line.as_str())
            .collect::<Vec<_>>(),
        ["line 2", "line 3"]
    );

    use futures::TryStreamExt;
    let chunks: Vec<bytes::Bytes> = ds
        .log_download(&root, &path, 0, LogStream::Stdout)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let text: Vec<u8> = chunks.concat();
    assert_eq!(
        String::from_utf8(text).unwrap(),
        "line 0\nline 1\nline 2\nline 3\nline 4\n"
    );

    // The retried task: attempt 0 failed, attempt 1 succeeded, each with its own logs.
    let retried = tasks(dump, "work")
        .into_iter()
        .find(|t| t["attempts"].as_array().unwrap().len() == 2)
        .unwrap();
    let path = task_path(FLOW, dump, retried);
    let err0 = ds
        .log_page(&root, &path, 0, LogStream::Stderr, all)
        .await
        .unwrap();
    assert!(
        err0.lines
            .iter()
            .any(|l| l.line.contains("first attempt fails"))
    );
    let out1 = ds
        .log_page(&root, &path, 1, LogStream::Stdout, all)
        .await
        .unwrap();
    assert_eq!(out1.lines.last().unwrap().line, "work item 2");
}

pub async fn cards_match_the_client(ds: &Datastore, dump: &Value) {
    let start = tasks(dump, "start")[0];
    let root = ds
        .root_for(start["ds_type"].as_str(), start["ds_root"].as_str())
        .unwrap();
    let path = task_path(FLOW, dump, start);
    let cards = ds.cards(&root, &path).await.unwrap();
    assert_eq!(serde_json::to_value(&cards).unwrap(), start["cards"]);
    let hash = &cards[0].hash;
    let html = ds.card_html(&root, &path, hash).await.unwrap().unwrap();
    assert!(
        html.contains("<html") || html.contains("<!DOCTYPE"),
        "{}",
        &html[..100.min(html.len())]
    );
    let data = ds.card_data(&root, &path, hash).await.unwrap().unwrap();
    assert_eq!(data.card_type, "default");
    assert!(ds.card_html(&root, &path, "nope").await.unwrap().is_none());
    let end = tasks(dump, "end")[0];
    assert!(
        ds.cards(&root, &task_path(FLOW, dump, end))
            .await
            .unwrap()
            .is_empty()
    );
}

/// Each task's innermost foreach index is the one Metaflow's `Task.index` gives, and `None`
/// outside the foreach (issue 11).
pub async fn foreach_indices_match_the_client(ds: &Datastore, dump: &Value) {
    let mut indices = Vec::new();
    for task in dump["tasks"].as_array().unwrap() {
        let index = ds
            .foreach_index(&artifact(FLOW, &task["foreach_stack"]))
            .await;
        assert_eq!(
            serde_json::to_value(index).unwrap(),
            task["index"],
            "task {}",
            task["task"]
        );
        if task["step"] == "work" {
            indices.push(index.unwrap());
        }
    }
    indices.sort();
    assert_eq!(indices, [0, 1, 2]);
}
