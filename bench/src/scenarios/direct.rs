//! Each scenario as the statements the service runs for it, with the store's own text and binds in
//! the store's order, sent straight to the store's pools: the database-only baseline.

use mfstack_store::statements::{artifacts, metadata, runs, tasks};
use mfstack_store::{
    Arg, ArtifactScope, Dialect, DirectPools, Fetch, Filter, FilterOp, FilterValue, NewArtifactRow,
    NewMetadataRow, PageRequest, RunField, RunQuery, RunRow, Side, Statement, TaskRow,
};
use serde::Serialize;

use super::{
    BATCH, BEAT_STEP, FLOW, Fixture, LIST_STEP, RUNS_FLOW, RUNS_PAGE, Scenario, create_step,
    item_name,
};
use crate::bodies::{self, Artifact, Metadata, now_ms};

/// The service's heartbeat spacing (`HEARTBEAT_WAIT_SECONDS`): a beat replaces one at least this
/// old.
const HEARTBEAT_WAIT_SECONDS: i64 = 10;

/// The statements the service runs for one request of `s`, in the same order and pools.
pub async fn direct_call(
    s: Scenario,
    fx: &Fixture,
    db: &DirectPools,
    tag: &str,
    i: usize,
) -> Result<(), String> {
    let call = Call { fx, db, tag, i };
    match s {
        Scenario::RunCreate => call.create_run().await,
        Scenario::TaskCreate => call.create_task().await,
        Scenario::Heartbeat | Scenario::HeartbeatWide => {
            let (_, task) = fx.beat_target(s, tag, i);
            call.heartbeat(task).await
        }
        Scenario::ArtifactPost => call.post_artifacts().await,
        Scenario::MetadataPost => call.post_metadata().await,
        Scenario::ListTasks => call.list_tasks().await,
        Scenario::ListArtifacts => call.list_artifacts().await,
        Scenario::ListRuns => call.list_runs().await,
    }
}

/// Make every heartbeat of the next narrow level a real update, as a client's beat every 10 s is.
pub async fn reset_heartbeats(fx: &Fixture, db: &DirectPools) -> Result<(), String> {
    let reset = statement(
        "UPDATE tasks_v3 SET last_heartbeat_ts = NULL \
         WHERE flow_id = $1 AND run_number = $2 AND step_name = $3",
        vec![FLOW.into(), fx.run.into(), BEAT_STEP.into()],
    );
    run(db, Side::Writer, Fetch::Execute, reset).await.map(drop)
}

fn statement(text: impl Into<String>, args: Vec<Arg>) -> Statement {
    Statement {
        text: text.into(),
        args,
    }
}

async fn run(db: &DirectPools, side: Side, fetch: Fetch, s: Statement) -> Result<u64, String> {
    db.run(side, fetch, s).await.map_err(|e| e.to_string())
}

fn now_s() -> i64 {
    now_ms() / 1000
}

fn json(v: impl Serialize) -> Arg {
    Arg::Json(serde_json::to_value(v).ok())
}

/// `Ok` when a statement touched or read exactly one row.
fn found(n: u64, what: &str) -> Result<(), String> {
    if n == 1 {
        Ok(())
    } else {
        Err(format!("{what}: {n} rows"))
    }
}

/// A run of `flow` as the service holds it once read; only the key columns reach a statement.
fn run_row(flow: &str, run_number: i64) -> RunRow {
    RunRow {
        flow_id: flow.to_owned(),
        run_number,
        run_id: None,
        user_name: None,
        ts_epoch: 0,
        tags: None,
        system_tags: None,
        last_heartbeat_ts: None,
        status: None,
    }
}

/// The task request `i` targets, as the service holds it once read; only the key columns reach a
/// statement.
fn task_row(fx: &Fixture, i: usize) -> TaskRow {
    TaskRow {
        flow_id: FLOW.to_owned(),
        run_number: fx.run,
        run_id: None,
        step_name: LIST_STEP.to_owned(),
        task_id: fx.task(i),
        task_name: None,
        user_name: None,
        ts_epoch: 0,
        last_heartbeat_ts: None,
    }
}

/// The binds of request `i`'s artifact batch, as the store makes them from the client's body.
fn artifact_args(fx: &Fixture, tag: &str, i: usize) -> Vec<Arg> {
    let task = task_row(fx, i);
    let mut args = Vec::with_capacity(BATCH * artifacts::INSERT_COLUMNS);
    for k in 0..BATCH {
        let a = Artifact::new(FLOW, fx.run, LIST_STEP, task.task_id, item_name(tag, i, k));
        let row = NewArtifactRow {
            name: a.name,
            location: a.location,
            ds_type: a.ds_type.to_owned(),
            sha: Some(a.sha),
            type_: Some(a.type_.to_owned()),
            content_type: Some(a.content_type.to_owned()),
            attempt_id: a.attempt_id,
            user_name: Some(a.user_name.to_owned()),
            tags: serde_json::to_value(a.tags).ok(),
            system_tags: serde_json::to_value(a.system_tags).ok(),
        };
        artifacts::bind_row(&task, &row, &mut args);
    }
    args
}

/// The binds of request `i`'s metadata batch, as the store makes them from the client's body.
fn metadata_args(fx: &Fixture, tag: &str, i: usize) -> Vec<Arg> {
    let task = task_row(fx, i);
    let mut args = Vec::with_capacity(BATCH * metadata::INSERT_COLUMNS);
    for k in 0..BATCH {
        let m = Metadata::new(FLOW, fx.run, LIST_STEP, task.task_id, item_name(tag, i, k));
        let row = NewMetadataRow {
            field_name: m.field_name,
            value: m.value,
            type_: m.type_.to_owned(),
            user_name: Some(m.user_name.to_owned()),
            tags: serde_json::to_value(m.tags).ok(),
            // The client sends no system tags with metadata.
            system_tags: None,
        };
        metadata::bind_row(&task, &row, &mut args);
    }
    args
}

/// One request: the fixture it works on, the pools, and the names that keep it unique.
struct Call<'a> {
    fx: &'a Fixture,
    db: &'a DirectPools,
    tag: &'a str,
    i: usize,
}

impl Call<'_> {
    async fn run(&self, side: Side, fetch: Fetch, s: Statement) -> Result<u64, String> {
        run(self.db, side, fetch, s).await
    }

    /// Every request under a run path first reads the run.
    async fn get_run(&self, run_number: i64) -> Result<(), String> {
        let get = statement(runs::get_by_number(), vec![FLOW.into(), run_number.into()]);
        found(self.run(Side::Reader, Fetch::Optional, get).await?, "run")
    }

    /// Heartbeats and batch posts read their task by id alone; the row carries its flow and run,
    /// which the service checks against the path.
    async fn get_task(&self, task: i64) -> Result<(), String> {
        let get = statement(tasks::get_by_id(), vec![task.into()]);
        found(self.run(Side::Reader, Fetch::Optional, get).await?, "task")
    }

    async fn heartbeat_run(&self) -> Result<u64, String> {
        let now = now_s();
        let beat = statement(
            runs::HEARTBEAT,
            vec![
                FLOW.into(),
                self.fx.run.into(),
                now.into(),
                (now - HEARTBEAT_WAIT_SECONDS).into(),
            ],
        );
        self.run(Side::Writer, Fetch::Execute, beat).await
    }

    async fn create_run(&self) -> Result<(), String> {
        let insert = statement(
            runs::insert(),
            vec![
                FLOW.into(),
                Arg::OptText(None),
                Some("bench").into(),
                now_ms().into(),
                json(Vec::<String>::new()),
                json(bodies::system_tags(true)),
                Some(now_s()).into(),
            ],
        );
        let n = self.run(Side::Writer, Fetch::Optional, insert).await?;
        found(n, "insert run")
    }

    async fn create_task(&self) -> Result<(), String> {
        self.get_run(self.fx.run).await?;
        let insert = statement(
            tasks::insert(),
            vec![
                FLOW.into(),
                self.fx.run.into(),
                Arg::OptText(None),
                create_step(self.tag).into(),
                Arg::OptText(None),
                Some("bench").into(),
                now_ms().into(),
                json(Vec::<String>::new()),
                json(bodies::system_tags(true)),
                Some(now_s()).into(),
            ],
        );
        let n = self.run(Side::Writer, Fetch::Optional, insert).await?;
        found(n, "insert task")?;
        self.heartbeat_run().await.map(drop)
    }

    async fn heartbeat(&self, task: i64) -> Result<(), String> {
        self.get_task(task).await?;
        self.heartbeat_run().await?;
        let now = now_s();
        let beat = statement(
            tasks::HEARTBEAT,
            vec![
                task.into(),
                now.into(),
                (now - HEARTBEAT_WAIT_SECONDS).into(),
            ],
        );
        self.run(Side::Writer, Fetch::Execute, beat).await.map(drop)
    }

    async fn post_artifacts(&self) -> Result<(), String> {
        self.get_task(self.fx.task(self.i)).await?;
        let args = artifact_args(self.fx, self.tag, self.i);
        let insert = statement(artifacts::insert(BATCH), args);
        let n = self.run(Side::Writer, Fetch::Execute, insert).await?;
        all_stored(n, "artifacts")
    }

    async fn post_metadata(&self) -> Result<(), String> {
        self.get_task(self.fx.task(self.i)).await?;
        let args = metadata_args(self.fx, self.tag, self.i);
        let insert = statement(metadata::insert(BATCH), args);
        let n = self.run(Side::Writer, Fetch::Execute, insert).await?;
        all_stored(n, "metadata rows")
    }

    async fn list_tasks(&self) -> Result<(), String> {
        self.get_run(self.fx.run).await?;
        let list = statement(
            tasks::list(),
            vec![FLOW.into(), self.fx.run.into(), LIST_STEP.into()],
        );
        self.run(Side::Reader, Fetch::All, list).await.map(drop)
    }

    async fn list_artifacts(&self) -> Result<(), String> {
        self.get_run(self.fx.artifact_run).await?;
        let run = run_row(FLOW, self.fx.artifact_run);
        let scope = ArtifactScope::Run(&run);
        // The store asks SQLite for the listing as one JSON value, PostgreSQL for rows.
        match self.db.dialect() {
            Dialect::Sqlite => {
                let list = artifacts::list_json(scope);
                self.run(Side::Reader, Fetch::Optional, list)
                    .await
                    .map(drop)
            }
            Dialect::Postgres => {
                let list = artifacts::list(scope);
                self.run(Side::Reader, Fetch::All, list).await.map(drop)
            }
        }
    }

    async fn list_runs(&self) -> Result<(), String> {
        let running = RunQuery {
            filters: vec![Filter {
                field: RunField::Status,
                op: FilterOp::Eq,
                values: vec![FilterValue::Text("running".to_owned())],
            }],
            tags: vec![],
            page: PageRequest {
                limit: RUNS_PAGE as u32,
                after: None,
            },
        };
        let list = runs::list_page(self.db.dialect(), RUNS_FLOW, &running, now_s());
        self.run(Side::Reader, Fetch::All, list).await.map(drop)
    }
}

fn all_stored(n: u64, what: &str) -> Result<(), String> {
    if n == BATCH as u64 {
        Ok(())
    } else {
        Err(format!("{n} {what} inserted"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The batch binds fill exactly the placeholders of the store's multi-row insert.
    #[test]
    fn batch_binds_fill_every_placeholder() {
        let fx = Fixture {
            run: 1,
            tasks: vec![7, 8],
            artifact_run: 2,
            beat_tasks: vec![],
            wide_tasks: vec![],
            levels: vec![],
        };
        let cases = [
            (artifacts::insert(BATCH), artifact_args(&fx, "d1", 3)),
            (metadata::insert(BATCH), metadata_args(&fx, "d1", 3)),
        ];
        for (text, args) in cases {
            let n = args.len();
            assert!(text.contains(&format!("${n})")), "no ${n} in {text}");
            assert!(
                !text.contains(&format!("${}", n + 1)),
                "${} in {text}",
                n + 1
            );
        }
    }
}
