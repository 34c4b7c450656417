//! The UI scenarios' data, written through the metadata API as the Metaflow client writes it: runs
//! over a few flows, a run of finished tasks with their attempt metadata, and a task whose long log
//! sits in a local datastore that its `ds-root` metadata points to. Read back through the UI API
//! and counted before anything is measured.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use serde_json::Value;

use super::{
    BURST_STEP, HOME_PAGE, HOME_ROWS, LOG_PAGE, LOG_STEP, RUN_FLOWS, TASKS_FLOW, TASKS_STEP,
    UiFixture, run_flow,
};
use crate::bodies::{Flow, Metadata, Run, StepOrTask, now_ms};
use crate::client::{Http, int_field};
use crate::scenarios::{RUNNING_ONE_IN, UiSizes};
use crate::seed::bulk;

/// Seed `sizes` worth of UI data through `api`, with the log under `dir`; check it through `ui`.
pub async fn seed(api: &Http, ui: &Http, sizes: UiSizes, dir: &Path) -> anyhow::Result<UiFixture> {
    let started = Instant::now();
    let ds_root = dir.join(".metaflow");
    let flows = (0..RUN_FLOWS).map(run_flow).chain([TASKS_FLOW.to_owned()]);
    for flow in flows {
        let body = Flow {
            flow_id: &flow,
            ts_epoch: now_ms(),
        };
        api.post_ok(&format!("/flows/{flow}"), &body)
            .await
            .map_err(anyhow::Error::msg)?;
    }
    seed_runs(api, sizes.runs).await?;
    let writer = Writer {
        api: api.clone(),
        ds_root: ds_root.display().to_string(),
    };
    let tasks_run = writer.run_with_step(TASKS_STEP).await?;
    seed_tasks(&writer, tasks_run, sizes.tasks).await?;
    let log_run = writer.run_with_step(LOG_STEP).await?;
    let log_task = writer.finished_task(log_run, LOG_STEP).await?;
    let task_dir = ds_root
        .join(TASKS_FLOW)
        .join(log_run.to_string())
        .join(LOG_STEP)
        .join(log_task.to_string());
    let lines = sizes.log_lines;
    let log_files = tokio::task::spawn_blocking(move || write_log(&task_dir, lines))
        .await
        .context("writing the log panicked")??;
    let log_bytes = log_files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()))
        .sum::<std::io::Result<u64>>()
        .context("cannot read the log's size")?;
    let burst_run = writer.run_with_step(BURST_STEP).await?;
    let mut fx = UiFixture {
        sizes,
        tasks_run,
        log_run,
        log_task,
        log_files,
        log_bytes,
        burst_run,
        seeding: started.elapsed(),
        log_first_read: Duration::ZERO,
    };
    fx.log_first_read = check(ui, &fx).await?;
    Ok(fx)
}

/// `count` runs over [`RUN_FLOWS`] flows, one in [`RUNNING_ONE_IN`] from a heartbeating client.
async fn seed_runs(api: &Http, count: usize) -> anyhow::Result<()> {
    let api = api.clone();
    bulk("UI runs", count, move |i| {
        let api = api.clone();
        async move {
            let flow = run_flow(i);
            let body = Run::new(&flow, i % RUNNING_ONE_IN == 0);
            api.post_ok(&format!("/flows/{flow}/run"), &body)
                .await
                .map(drop)
        }
    })
    .await
}

/// `count` finished tasks in [`TASKS_STEP`] of `run`.
async fn seed_tasks(writer: &Writer, run: i64, count: usize) -> anyhow::Result<()> {
    let writer = writer.clone();
    bulk("UI tasks", count, move |_| {
        let writer = writer.clone();
        async move {
            writer
                .finished_task(run, TASKS_STEP)
                .await
                .map(drop)
                .map_err(|e| format!("{e:#}"))
        }
    })
    .await
}

/// Writes runs, steps and tasks of [`TASKS_FLOW`] whose datastore is `ds_root`.
#[derive(Clone)]
struct Writer {
    api: Http,
    ds_root: String,
}

impl Writer {
    /// A new run of [`TASKS_FLOW`] holding `step`; its number.
    async fn run_with_step(&self, step: &str) -> anyhow::Result<i64> {
        let v = self
            .api
            .post_json(
                &format!("/flows/{TASKS_FLOW}/run"),
                &Run::new(TASKS_FLOW, true),
            )
            .await?;
        let run = int_field(&v, "run_number")?;
        let path = format!("/flows/{TASKS_FLOW}/runs/{run}/steps/{step}/step");
        self.api
            .post_ok(&path, &StepOrTask::new(TASKS_FLOW, run, step))
            .await
            .map_err(anyhow::Error::msg)?;
        Ok(run)
    }

    /// A task that ran attempt 0 to success, with the metadata the client writes for it.
    async fn finished_task(&self, run: i64, step: &str) -> anyhow::Result<i64> {
        let path = format!("/flows/{TASKS_FLOW}/runs/{run}/steps/{step}/task");
        let v = self
            .api
            .post_json(&path, &StepOrTask::new(TASKS_FLOW, run, step))
            .await?;
        let task = int_field(&v, "task_id")?;
        let field = |name: &str, kind: &'static str, value: &str| {
            let mut m = Metadata::new(TASKS_FLOW, run, step, task, name.to_owned());
            m.type_ = kind;
            m.value = value.to_owned();
            m
        };
        let rows = [
            field("attempt", "attempt", "0"),
            field("ds-type", "ds-type", "local"),
            field("ds-root", "ds-root", &self.ds_root),
            field("attempt_ok", "internal_attempt_status", "True"),
        ];
        let path = format!("/flows/{TASKS_FLOW}/runs/{run}/steps/{step}/tasks/{task}/metadata");
        self.api
            .post_ok(&path, &rows)
            .await
            .map_err(anyhow::Error::msg)?;
        Ok(task)
    }
}

/// The task's stdout as Metaflow writes it: `lines` lines from the task, one a millisecond, and
/// the runtime's start and end lines around them. Returns both files.
fn write_log(task_dir: &Path, lines: usize) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(task_dir)
        .with_context(|| format!("cannot create {}", task_dir.display()))?;
    let stamp = |ms: usize| {
        let (h, m, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        format!("2026-01-01T{h:02}:{m:02}:{s:02}.{milli:03}000Z")
    };
    let task = task_dir.join("0.task_stdout.log");
    let runtime = task_dir.join("0.runtime_stdout.log");
    let create = |p: &Path| {
        std::fs::File::create(p)
            .map(std::io::BufWriter::new)
            .with_context(|| format!("cannot create {}", p.display()))
    };
    let mut out = create(&task)?;
    for i in 0..lines {
        writeln!(
            out,
            "[MFLOG|0|{}|task|7f3c9a]processing item {i} of {lines}: ok",
            stamp(i + 1)
        )?;
    }
    out.flush()?;
    let mut out = create(&runtime)?;
    writeln!(
        out,
        "[MFLOG|0|{}|runtime|7f3c9a]Task is starting.",
        stamp(0)
    )?;
    writeln!(
        out,
        "[MFLOG|0|{}|runtime|7f3c9a]Task finished successfully.",
        stamp(lines + 1)
    )?;
    out.flush()?;
    Ok(vec![runtime, task])
}

/// Rows in an envelope's `data`.
fn rows(v: &Value) -> usize {
    v["data"].as_array().map_or(0, Vec::len)
}

/// Read back what each scenario will read and count it; how long the log's first page took
/// the first time, before the service had counted the log.
async fn check(ui: &Http, fx: &UiFixture) -> anyhow::Result<Duration> {
    let home = ui.get_json(HOME_PAGE).await?;
    ensure!(
        rows(&home) == HOME_ROWS,
        "the home page lists {} runs, not {HOME_ROWS}",
        rows(&home)
    );
    let mut listed = 0;
    for page in 1..=fx.task_pages() + 1 {
        let n = rows(&ui.get_json(&fx.tasks_path(page)).await?);
        let want = fx
            .sizes
            .task_page
            .min(fx.sizes.tasks.saturating_sub(listed));
        ensure!(n == want, "task page {page} lists {n} rows, not {want}");
        listed += n;
    }
    let first_read = Instant::now();
    let log = ui.get_json(&fx.log_path()).await?;
    let first_read = first_read.elapsed();
    let total = fx.sizes.log_lines + 2;
    let newest = log["data"][0]["row"].as_u64();
    ensure!(
        rows(&log) == LOG_PAGE.min(total) && newest == Some(total as u64 - 1),
        "log page 1 holds {} rows from row {newest:?}; expected {} from row {}",
        rows(&log),
        LOG_PAGE.min(total),
        total - 1
    );
    let last = log["pages"]["last"].as_u64();
    ensure!(
        last == Some(total.div_ceil(LOG_PAGE) as u64),
        "the log counts {last:?} pages for {total} rows"
    );
    Ok(first_read)
}
