//! The benchmarked requests, each in two forms: the HTTP request the Metaflow client sends, and the
//! statements the service runs for it, sent straight to the database.

use std::time::Duration;

use hyper::Method;
use serde_json::Value;

use crate::bodies::{self, Artifact, Metadata, Run, StepOrTask, now_ms};
use crate::client::Http;
use crate::direct::{Bind, Fetch, Pools, Side};
use crate::load::Limits;
use crate::statements::Statements;

/// Rows per artifact or metadata post.
pub const BATCH: usize = 10;
/// The flow most scenarios work in.
pub const FLOW: &str = "BenchFlow";
/// The flow whose runs the status-filtered listing reads.
pub const RUNS_FLOW: &str = "BenchRunsFlow";
/// The step of the main run holding the listed tasks; heartbeats and batch posts target them.
pub const LIST_STEP: &str = "list";
/// The step of the artifact run.
pub const ARTIFACT_STEP: &str = "start";
/// A run counts as recently heartbeating, hence "running", one time in this many (spec 6.3).
pub const RUNNING_ONE_IN: usize = 10;
/// The runs listing's default page (spec 4.3.3).
pub const RUNS_PAGE: usize = 50;

/// One benchmarked request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    RunCreate,
    TaskCreate,
    Heartbeat,
    ArtifactPost,
    MetadataPost,
    ListTasks,
    ListArtifacts,
    ListRuns,
}

impl Scenario {
    /// Every scenario, in the order they run.
    pub const ALL: [Scenario; 8] = [
        Scenario::RunCreate,
        Scenario::TaskCreate,
        Scenario::Heartbeat,
        Scenario::ArtifactPost,
        Scenario::MetadataPost,
        Scenario::ListTasks,
        Scenario::ListArtifacts,
        Scenario::ListRuns,
    ];

    /// Row label in the tables.
    pub fn label(self) -> &'static str {
        match self {
            Scenario::RunCreate => "run create",
            Scenario::TaskCreate => "task create",
            Scenario::Heartbeat => "task heartbeat",
            Scenario::ArtifactPost => "artifact post x10",
            Scenario::MetadataPost => "metadata post x10",
            Scenario::ListTasks => "list step tasks",
            Scenario::ListArtifacts => "list run artifacts",
            Scenario::ListRuns => "list runs ?status=running",
        }
    }
}

/// Data volumes and per-level bounds.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Runs in [`RUNS_FLOW`].
    pub runs: usize,
    /// Tasks in [`LIST_STEP`] of the main run.
    pub tasks: usize,
    /// Tasks of the artifact run.
    pub artifact_tasks: usize,
    /// Artifacts per task of the artifact run.
    pub artifacts_per_task: usize,
    /// Run, heartbeat, artifact and metadata writes.
    pub write: Limits,
    /// Task creation; each level fills a step of its own.
    pub task_create: Limits,
    /// Listing the tasks of a step.
    pub list_tasks: Limits,
    /// Listing a run's artifacts.
    pub list_artifacts: Limits,
    /// The status-filtered runs listing.
    pub list_runs: Limits,
}

const fn limits(count: usize, secs: u64) -> Limits {
    Limits {
        count,
        time: Duration::from_secs(secs),
    }
}

impl Sizes {
    /// The volumes.
    pub const FULL: Sizes = Sizes {
        runs: 10_000,
        tasks: 5_000,
        artifact_tasks: 500,
        artifacts_per_task: 100,
        write: limits(5_000, 5),
        task_create: limits(5_000, 10),
        list_tasks: limits(400, 8),
        list_artifacts: limits(200, 15),
        list_runs: limits(2_000, 5),
    };

    /// Tiny volumes that check the benchmark works.
    pub const SMOKE: Sizes = Sizes {
        runs: 20,
        tasks: 20,
        artifact_tasks: 5,
        artifacts_per_task: 10,
        write: limits(100, 2),
        task_create: limits(20, 2),
        list_tasks: limits(20, 2),
        list_artifacts: limits(10, 2),
        list_runs: limits(20, 2),
    };

    /// Artifacts in the artifact run.
    pub fn artifacts(&self) -> usize {
        self.artifact_tasks * self.artifacts_per_task
    }

    /// Bounds of one level of `s`.
    pub fn limits(&self, s: Scenario) -> Limits {
        match s {
            Scenario::RunCreate | Scenario::ArtifactPost | Scenario::MetadataPost => self.write,
            // Each heartbeat of a level goes to a different task, so each one is a real update.
            Scenario::Heartbeat => Limits {
                count: self.write.count.min(self.tasks),
                ..self.write
            },
            Scenario::TaskCreate => self.task_create,
            Scenario::ListTasks => self.list_tasks,
            Scenario::ListArtifacts => self.list_artifacts,
            Scenario::ListRuns => self.list_runs,
        }
    }
}

/// The seeded ids every scenario works on.
pub struct Fixture {
    /// Run number of the main run in [`FLOW`].
    pub run: i64,
    /// Task ids of [`LIST_STEP`] in the main run.
    pub tasks: Vec<i64>,
    /// Run number of the run holding the listed artifacts.
    pub artifact_run: i64,
    /// The statements of the database-only side.
    pub statements: Statements,
}

/// Step of the main run that task creation fills at one level (`tag` names the level and side).
pub fn create_step(tag: &str) -> String {
    format!("create_{tag}")
}

impl Fixture {
    fn task(&self, i: usize) -> i64 {
        self.tasks[i % self.tasks.len()]
    }

    fn task_path(&self, i: usize) -> String {
        format!(
            "/flows/{FLOW}/runs/{}/steps/{LIST_STEP}/tasks/{}",
            self.run,
            self.task(i)
        )
    }
}

fn expect_count(body: &[u8], key: &str, want: usize) -> Result<(), String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("answer is not JSON: {e}"))?;
    match v.get(key).and_then(Value::as_u64) {
        Some(n) if n == want as u64 => Ok(()),
        _ => Err(format!("expected {key} {want}, got {v}")),
    }
}

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
        Scenario::Heartbeat => {
            let path = format!("{}/heartbeat", fx.task_path(i));
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
        Scenario::ArtifactPost => {
            let items: Vec<Artifact> = (0..BATCH)
                .map(|k| {
                    Artifact::new(
                        FLOW,
                        fx.run,
                        LIST_STEP,
                        fx.task(i),
                        format!("{tag}_{i}_{k}"),
                    )
                })
                .collect();
            let body = http
                .post_ok(&format!("{}/artifact", fx.task_path(i)), &items)
                .await?;
            expect_count(&body, "artifacts_created", BATCH)
        }
        Scenario::MetadataPost => {
            let items: Vec<Metadata> = (0..BATCH)
                .map(|k| {
                    Metadata::new(
                        FLOW,
                        fx.run,
                        LIST_STEP,
                        fx.task(i),
                        format!("{tag}_{i}_{k}"),
                    )
                })
                .collect();
            let body = http
                .post_ok(&format!("{}/metadata", fx.task_path(i)), &items)
                .await?;
            expect_count(&body, "metadata_created", BATCH)
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

fn now_s() -> i64 {
    now_ms() / 1000
}

fn json(v: impl serde::Serialize) -> Bind {
    Bind::Json(serde_json::to_value(v).ok())
}

fn some(s: &str) -> Bind {
    Bind::OptText(Some(s.to_owned()))
}

/// The heartbeat spacing of the store (`HEARTBEAT_WAIT_SECONDS`).
const HEARTBEAT_WAIT_SECONDS: i64 = 10;

/// The statements the service runs for one request of `s`, in the same order and pools.
pub async fn direct_call(
    s: Scenario,
    fx: &Fixture,
    db: &Pools,
    tag: &str,
    i: usize,
) -> Result<(), String> {
    let st = &fx.statements;
    let get_run = || {
        db.run(
            Side::Reader,
            Fetch::Optional,
            &st.get_run,
            vec![FLOW.into(), fx.run.into()],
        )
    };
    let get_task = || {
        db.run(
            Side::Reader,
            Fetch::Optional,
            &st.get_task,
            vec![
                FLOW.into(),
                fx.run.into(),
                LIST_STEP.into(),
                fx.task(i).into(),
            ],
        )
    };
    let heartbeat_run = || {
        let now = now_s();
        db.run(
            Side::Writer,
            Fetch::Execute,
            st.heartbeat_run,
            vec![
                FLOW.into(),
                fx.run.into(),
                now.into(),
                (now - HEARTBEAT_WAIT_SECONDS).into(),
            ],
        )
    };
    let found = |n: u64, what: &str| {
        if n == 1 {
            Ok(())
        } else {
            Err(format!("{what}: {n} rows"))
        }
    };
    match s {
        Scenario::RunCreate => {
            let args = vec![
                FLOW.into(),
                Bind::OptText(None),
                some("bench"),
                now_ms().into(),
                json(Vec::<String>::new()),
                json(bodies::system_tags(true)),
                Bind::OptI64(Some(now_s())),
            ];
            found(
                db.run(Side::Writer, Fetch::Optional, &st.insert_run, args)
                    .await?,
                "insert run",
            )
        }
        Scenario::TaskCreate => {
            found(get_run().await?, "run")?;
            let args = vec![
                FLOW.into(),
                fx.run.into(),
                Bind::OptText(None),
                create_step(tag).into(),
                Bind::OptText(None),
                some("bench"),
                now_ms().into(),
                json(Vec::<String>::new()),
                json(bodies::system_tags(true)),
                Bind::OptI64(Some(now_s())),
            ];
            found(
                db.run(Side::Writer, Fetch::Optional, &st.insert_task, args)
                    .await?,
                "insert task",
            )?;
            heartbeat_run().await.map(drop)
        }
        Scenario::Heartbeat => {
            found(get_run().await?, "run")?;
            found(get_task().await?, "task")?;
            heartbeat_run().await?;
            let now = now_s();
            let args = vec![
                fx.task(i).into(),
                now.into(),
                (now - HEARTBEAT_WAIT_SECONDS).into(),
            ];
            db.run(Side::Writer, Fetch::Execute, st.heartbeat_task, args)
                .await
                .map(drop)
        }
        Scenario::ArtifactPost => {
            found(get_run().await?, "run")?;
            found(get_task().await?, "task")?;
            let ts = now_ms();
            let mut args = Vec::with_capacity(BATCH * 17);
            for k in 0..BATCH {
                let a = Artifact::new(
                    FLOW,
                    fx.run,
                    LIST_STEP,
                    fx.task(i),
                    format!("{tag}_{i}_{k}"),
                );
                args.extend([
                    FLOW.into(),
                    fx.run.into(),
                    Bind::OptText(None),
                    LIST_STEP.into(),
                    fx.task(i).into(),
                    Bind::OptText(None),
                    a.name.into(),
                    a.location.into(),
                    a.ds_type.into(),
                    Bind::OptText(Some(a.sha)),
                    some(a.type_),
                    some(a.content_type),
                    some(a.user_name),
                    a.attempt_id.into(),
                    ts.into(),
                    json(a.tags),
                    json(a.system_tags),
                ]);
            }
            let n = db
                .run(Side::Writer, Fetch::Execute, &st.insert_artifacts, args)
                .await?;
            if n == BATCH as u64 {
                Ok(())
            } else {
                Err(format!("{n} artifacts inserted"))
            }
        }
        Scenario::MetadataPost => {
            found(get_run().await?, "run")?;
            found(get_task().await?, "task")?;
            let ts = now_ms();
            let mut args = Vec::with_capacity(BATCH * 13);
            for k in 0..BATCH {
                let m = Metadata::new(
                    FLOW,
                    fx.run,
                    LIST_STEP,
                    fx.task(i),
                    format!("{tag}_{i}_{k}"),
                );
                args.extend([
                    FLOW.into(),
                    fx.run.into(),
                    Bind::OptText(None),
                    LIST_STEP.into(),
                    fx.task(i).into(),
                    Bind::OptText(None),
                    m.field_name.into(),
                    m.value.into(),
                    m.type_.into(),
                    some(m.user_name),
                    ts.into(),
                    json(m.tags),
                    Bind::Json(None),
                ]);
            }
            let n = db
                .run(Side::Writer, Fetch::Execute, &st.insert_metadata, args)
                .await?;
            if n == BATCH as u64 {
                Ok(())
            } else {
                Err(format!("{n} metadata rows inserted"))
            }
        }
        Scenario::ListTasks => {
            found(get_run().await?, "run")?;
            let args = vec![FLOW.into(), fx.run.into(), LIST_STEP.into()];
            db.run(Side::Reader, Fetch::All, &st.list_tasks, args)
                .await
                .map(drop)
        }
        Scenario::ListArtifacts => {
            let args = vec![FLOW.into(), fx.artifact_run.into()];
            found(
                db.run(Side::Reader, Fetch::Optional, &st.get_run, args.clone())
                    .await?,
                "run",
            )?;
            db.run(Side::Reader, Fetch::All, &st.list_run_artifacts, args)
                .await
                .map(drop)
        }
        Scenario::ListRuns => {
            let args = vec![
                RUNS_FLOW.into(),
                now_s().into(),
                "running".into(),
                (RUNS_PAGE as i64 + 1).into(),
            ];
            db.run(Side::Reader, Fetch::All, &st.list_runs_by_status, args)
                .await
                .map(drop)
        }
    }
}

/// Make every heartbeat of the next level a real update, as a client's beat every 10 s is.
pub async fn reset_heartbeats(fx: &Fixture, db: &Pools) -> Result<(), String> {
    let sql = "UPDATE tasks_v3 SET last_heartbeat_ts = NULL WHERE flow_id = $1 AND run_number = $2 AND step_name = $3";
    let args = vec![FLOW.into(), fx.run.into(), LIST_STEP.into()];
    db.run(Side::Writer, Fetch::Execute, sql, args)
        .await
        .map(drop)
}
