//! Each scenario as the Metaflow client sends it, through the service.

use hyper::Method;
use serde::Serialize;
use serde_json::Value;

use super::{BATCH, FLOW, Fixture, LIST_STEP, RUNS_FLOW, Scenario, create_step, item_name};
use crate::bodies::{Artifact, Metadata, Run, StepOrTask};
use crate::client::Http;

/// One request of `s` through the service; `tag` keeps names unique per level and side.
pub async fn service_call(
    s: Scenario,
    fx: &Fixture,
    http: &Http,
    tag: &str,
    i: usize,
) -> Result<(), String> {
    match s {
        Scenario::RunCreate => http
            .post_ok(&format!("/flows/{FLOW}/run"), &Run::new(FLOW, true))
            .await
            .map(drop),
        Scenario::TaskCreate => {
            let step = create_step(tag);
            let path = format!("/flows/{FLOW}/runs/{}/steps/{step}/task", fx.run);
            http.post_ok(&path, &StepOrTask::new(FLOW, fx.run, &step))
                .await
                .map(drop)
        }
        Scenario::Heartbeat | Scenario::HeartbeatWide => {
            let (step, task) = fx.beat_target(s, tag, i);
            heartbeat(fx, http, step, task).await
        }
        Scenario::ArtifactPost => {
            let items = batch(tag, i, |name| {
                Artifact::new(FLOW, fx.run, LIST_STEP, fx.task(i), name)
            });
            let path = format!("{}/artifact", task_path(fx, i));
            post_batch(http, &path, &items, "artifacts_created").await
        }
        Scenario::MetadataPost => {
            let items = batch(tag, i, |name| {
                Metadata::new(FLOW, fx.run, LIST_STEP, fx.task(i), name)
            });
            let path = format!("{}/metadata", task_path(fx, i));
            post_batch(http, &path, &items, "metadata_created").await
        }
        Scenario::ListTasks => http
            .get_ok(&format!(
                "/flows/{FLOW}/runs/{}/steps/{LIST_STEP}/tasks",
                fx.run
            ))
            .await
            .map(drop),
        Scenario::ListArtifacts => http
            .get_ok(&format!("/flows/{FLOW}/runs/{}/artifacts", fx.artifact_run))
            .await
            .map(drop),
        Scenario::ListRuns => http
            .get_ok(&format!("/flows/{RUNS_FLOW}/runs?status=running"))
            .await
            .map(drop),
    }
}

fn task_path(fx: &Fixture, i: usize) -> String {
    format!(
        "/flows/{FLOW}/runs/{}/steps/{LIST_STEP}/tasks/{}",
        fx.run,
        fx.task(i)
    )
}

/// A heartbeat has no body, and any success status counts.
async fn heartbeat(fx: &Fixture, http: &Http, step: &str, task: i64) -> Result<(), String> {
    let path = format!(
        "/flows/{FLOW}/runs/{}/steps/{step}/tasks/{task}/heartbeat",
        fx.run
    );
    let (status, body) = http.send(Method::POST, &path, None).await?;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!(
            "{path}: {status}: {}",
            String::from_utf8_lossy(&body)
        ))
    }
}

/// The [`BATCH`] items of request `i`, named by [`item_name`].
fn batch<T>(tag: &str, i: usize, item: impl Fn(String) -> T) -> Vec<T> {
    (0..BATCH).map(|k| item(item_name(tag, i, k))).collect()
}

/// POST `items` and check from the answer's `count_key` that every one was stored.
async fn post_batch<T: Serialize>(
    http: &Http,
    path: &str,
    items: &[T],
    count_key: &str,
) -> Result<(), String> {
    let body = http.post_ok(path, items).await?;
    expect_count(&body, count_key, BATCH)
}

fn expect_count(body: &[u8], key: &str, want: usize) -> Result<(), String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("answer is not JSON: {e}"))?;
    match v.get(key).and_then(Value::as_u64) {
        Some(n) if n == want as u64 => Ok(()),
        _ => Err(format!("expected {key} {want}, got {v}")),
    }
}
