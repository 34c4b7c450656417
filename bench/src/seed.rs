//! Seeding through the service: the flows, runs, steps, tasks and artifacts the scenarios work on,
//! read back and counted before anything is measured.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, ensure};

use crate::bodies::{Artifact, Flow, Run, StepOrTask, now_ms};
use crate::client::{Http, int_field};
use crate::load::{Limits, drive};
use crate::scenarios::{
    ARTIFACT_STEP, BEAT_STEP, FLOW, Fixture, LIST_STEP, RUNNING_ONE_IN, RUNS_FLOW, RUNS_PAGE,
    Sizes, WIDE_STEP, create_step,
};

/// Requests in flight while seeding.
const SEED_CONCURRENCY: usize = 32;
/// Seeding is not measured, only bounded.
const SEED_TIME: Duration = Duration::from_secs(900);

/// Seed `sizes` worth of data, with a task-creation step for each of `levels` on each side.
pub async fn seed(http: &Http, sizes: Sizes, levels: &[usize]) -> anyhow::Result<Fixture> {
    for flow in [FLOW, RUNS_FLOW] {
        let body = Flow {
            flow_id: flow,
            ts_epoch: now_ms(),
        };
        http.post_ok(&format!("/flows/{flow}"), &body)
            .await
            .map_err(anyhow::Error::msg)?;
    }
    let new_run = || async {
        let v = http
            .post_json(&format!("/flows/{FLOW}/run"), &Run::new(FLOW, true))
            .await?;
        int_field(&v, "run_number")
    };
    let run = new_run().await?;
    let artifact_run = new_run().await?;
    seed_steps(http, run, artifact_run, levels).await?;
    let tasks = seed_tasks(http, run, LIST_STEP, sizes.tasks).await?;
    let beat_tasks = seed_tasks(http, run, BEAT_STEP, sizes.beat_tasks).await?;
    let wide_tasks = seed_tasks(http, run, WIDE_STEP, sizes.wide_tasks).await?;
    seed_artifacts(http, artifact_run, sizes).await?;
    seed_runs(http, sizes.runs).await?;
    let fx = Fixture {
        run,
        tasks,
        artifact_run,
        beat_tasks,
        wide_tasks,
        levels: levels.to_vec(),
    };
    check(http, &fx, sizes).await?;
    Ok(fx)
}

/// The listed and artifact steps, and one step per level and side for task creation to fill.
async fn seed_steps(
    http: &Http,
    run: i64,
    artifact_run: i64,
    levels: &[usize],
) -> anyhow::Result<()> {
    let mut steps: Vec<(i64, String)> = vec![
        (run, LIST_STEP.to_owned()),
        (run, BEAT_STEP.to_owned()),
        (run, WIDE_STEP.to_owned()),
        (artifact_run, ARTIFACT_STEP.to_owned()),
    ];
    for c in levels {
        for side in ["s", "d"] {
            steps.push((run, create_step(&format!("{side}{c}"))));
        }
    }
    for (r, step) in &steps {
        let path = format!("/flows/{FLOW}/runs/{r}/steps/{step}/step");
        http.post_ok(&path, &StepOrTask::new(FLOW, *r, step))
            .await
            .map_err(anyhow::Error::msg)?;
    }
    Ok(())
}

/// Create `count` objects through the service at seeding concurrency; fail on any error.
pub async fn bulk<F, Fut>(what: &str, count: usize, op: F) -> anyhow::Result<()>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let limits = Limits {
        count,
        time: SEED_TIME,
    };
    let stats = drive(SEED_CONCURRENCY, limits, op).await;
    if stats.errors > 0 || stats.ops != count {
        bail!(
            "seeding {what}: {} of {count} done, {} failed; first error: {}",
            stats.ops,
            stats.errors,
            stats.first_error.unwrap_or_default()
        );
    }
    Ok(())
}

/// Tasks of `step` in run `run`, created concurrently; returns their ids in order.
async fn seed_tasks(
    http: &Http,
    run: i64,
    step: &'static str,
    count: usize,
) -> anyhow::Result<Vec<i64>> {
    let ids = Arc::new(Mutex::new(Vec::with_capacity(count)));
    let (h, out) = (http.clone(), ids.clone());
    bulk(&format!("tasks of {step}"), count, move |_| {
        let (http, out) = (h.clone(), out.clone());
        async move {
            let path = format!("/flows/{FLOW}/runs/{run}/steps/{step}/task");
            let body = http
                .post_ok(&path, &StepOrTask::new(FLOW, run, step))
                .await?;
            let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
            let id = int_field(&v, "task_id").map_err(|e| e.to_string())?;
            out.lock().map_err(|e| e.to_string())?.push(id);
            Ok(())
        }
    })
    .await?;
    let mut ids = std::mem::take(&mut *ids.lock().map_err(|e| anyhow::anyhow!("{e}"))?);
    ids.sort_unstable();
    Ok(ids)
}

/// The artifact run's tasks, each with [`Sizes::artifacts_per_task`] artifacts.
async fn seed_artifacts(http: &Http, artifact_run: i64, sizes: Sizes) -> anyhow::Result<()> {
    let ids = Arc::new(seed_tasks(http, artifact_run, ARTIFACT_STEP, sizes.artifact_tasks).await?);
    let h = http.clone();
    bulk("artifacts", sizes.artifact_tasks, move |i| {
        let (http, ids) = (h.clone(), ids.clone());
        async move {
            let task = ids[i];
            let items: Vec<Artifact> = (0..sizes.artifacts_per_task)
                .map(|k| {
                    Artifact::new(
                        FLOW,
                        artifact_run,
                        ARTIFACT_STEP,
                        task,
                        format!("artifact_{k}"),
                    )
                })
                .collect();
            let path = format!(
                "/flows/{FLOW}/runs/{artifact_run}/steps/{ARTIFACT_STEP}/tasks/{task}/artifact"
            );
            http.post_ok(&path, &items).await.map(drop)
        }
    })
    .await
}

/// `count` runs in [`RUNS_FLOW`], one in [`RUNNING_ONE_IN`] from a heartbeating client.
async fn seed_runs(http: &Http, count: usize) -> anyhow::Result<()> {
    let h = http.clone();
    bulk("runs", count, move |i| {
        let http = h.clone();
        async move {
            let body = Run::new(RUNS_FLOW, i % RUNNING_ONE_IN == 0);
            http.post_ok(&format!("/flows/{RUNS_FLOW}/run"), &body)
                .await
                .map(drop)
        }
    })
    .await
}

/// Read back what the listings will return and count it.
async fn check(http: &Http, fx: &Fixture, sizes: Sizes) -> anyhow::Result<()> {
    let count = |v: serde_json::Value| v.as_array().map_or(0, Vec::len);
    let listed = count(
        http.get_json(&format!(
            "/flows/{FLOW}/runs/{}/steps/{LIST_STEP}/tasks",
            fx.run
        ))
        .await?,
    );
    ensure!(
        listed == sizes.tasks,
        "the step lists {listed} tasks, {} were created",
        sizes.tasks
    );
    let listed = count(
        http.get_json(&format!("/flows/{FLOW}/runs/{}/artifacts", fx.artifact_run))
            .await?,
    );
    ensure!(
        listed == sizes.artifacts(),
        "the run lists {listed} artifacts, {} were created",
        sizes.artifacts()
    );
    let running = http
        .get_json(&format!("/flows/{RUNS_FLOW}/runs?status=running"))
        .await?;
    let want = sizes.runs.div_ceil(RUNNING_ONE_IN).min(RUNS_PAGE);
    let rows = running.as_array().cloned().unwrap_or_default();
    ensure!(
        rows.len() == want && rows.iter().all(|r| r["status"] == "running"),
        "?status=running listed {} runs, expected {want} running ones",
        rows.len()
    );
    Ok(())
}
