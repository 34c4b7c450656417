//! The [`Store`] implementation shared by both engines: one statement per query, placeholders `$N`,
//! engine differences taken from [`Dialect`].

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use mfstack_api_types::{HEARTBEAT_WAIT_SECONDS, SchemaStatus};
use serde_json::Value;
use sqlx::AssertSqlSafe;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use crate::dialect::Dialect;
use crate::migrate::{self, UpgradeOutcome};
use crate::pool::{Arg, DbPool, bind_args, with_pool};
use crate::query::*;
use crate::statements::*;
use crate::*;

/// Rows per multi-row INSERT: 500 rows of 17 columns stays under SQLite's bound-variable limit.
const INSERT_CHUNK: usize = 500;

/// Epoch milliseconds now.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn now_s() -> i64 {
    now_ms() / 1000
}

/// A store over a writer pool and a reader pool, which may be the same.
#[derive(Debug)]
pub(crate) struct SqlStore {
    pub(crate) writer: DbPool,
    pub(crate) reader: DbPool,
    pub(crate) dialect: Dialect,
    pub(crate) description: String,
}

/// The parent-task columns every artifact and metadata row starts with.
fn task_key_args(task: &TaskRow) -> Vec<Arg> {
    vec![
        task.flow_id.as_str().into(),
        task.run_number.into(),
        task.run_id.clone().into(),
        task.step_name.as_str().into(),
        task.task_id.into(),
        task.task_name.clone().into(),
    ]
}

/// Placeholder numbering for statements built at run time.
#[derive(Default)]
struct Args(Vec<Arg>);

impl Args {
    fn push(&mut self, arg: impl Into<Arg>) -> usize {
        self.0.push(arg.into());
        self.0.len()
    }
}

trait Rows:
    for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> Rows for T where
    T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin
{
}

impl SqlStore {
    async fn all<T: Rows>(
        &self,
        pool: &DbPool,
        sql: &str,
        args: Vec<Arg>,
        what: &str,
    ) -> Result<Vec<T>> {
        with_pool!(pool, p => bind_args!(sqlx::query_as::<_, T>(AssertSqlSafe(sql)), args)
            .fetch_all(p)
            .await)
        .map_err(|e| StoreError::from_sqlx(e, what))
    }

    async fn one<T: Rows>(
        &self,
        pool: &DbPool,
        sql: &str,
        args: Vec<Arg>,
        what: &str,
    ) -> Result<Option<T>> {
        with_pool!(pool, p => bind_args!(sqlx::query_as::<_, T>(AssertSqlSafe(sql)), args)
            .fetch_optional(p)
            .await)
        .map_err(|e| StoreError::from_sqlx(e, what))
    }

    async fn inserted<T: Rows>(&self, sql: &str, args: Vec<Arg>, what: &str) -> Result<T> {
        self.one(&self.writer, sql, args, what)
            .await?
            .ok_or_else(|| StoreError::Other(format!("insert of {what} returned no row")))
    }

    async fn execute(&self, sql: &str, args: Vec<Arg>, what: &str) -> Result<u64> {
        with_pool!(&self.writer, p => bind_args!(sqlx::query(AssertSqlSafe(sql)), args)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| StoreError::from_sqlx(e, what))
    }

    /// Fetch `limit + 1` rows to learn whether another page follows.
    fn paged<T>(mut rows: Vec<T>, limit: Option<u32>) -> Page<T> {
        match limit {
            Some(limit) if rows.len() > limit as usize => {
                rows.truncate(limit as usize);
                Page {
                    rows,
                    has_more: true,
                }
            }
            _ => Page {
                rows,
                has_more: false,
            },
        }
    }

    fn filter_sql<F: Copy>(
        &self,
        filters: &[Filter<F>],
        column: impl Fn(F) -> String,
        args: &mut Args,
    ) -> Vec<String> {
        let mut clauses = Vec::new();
        for f in filters {
            let col = column(f.field);
            let mut alternatives = Vec::new();
            for value in &f.values {
                let text = match value {
                    FilterValue::Null => {
                        alternatives.push(format!("{col} IS NULL"));
                        continue;
                    }
                    FilterValue::Int(n) => n.to_string(),
                    FilterValue::Text(s) => s.clone(),
                };
                let bound = |args: &mut Args| match value {
                    FilterValue::Int(n) => args.push(*n),
                    _ => args.push(text.clone()),
                };
                let like = |args: &mut Args, pattern: String| {
                    let p = args.push(pattern);
                    format!("LOWER(CAST({col} AS TEXT)) LIKE LOWER(${p})")
                };
                alternatives.push(match f.op {
                    FilterOp::Eq => format!("{col} = ${}", bound(args)),
                    FilterOp::Ne => format!("{col} <> ${}", bound(args)),
                    FilterOp::Lt => format!("{col} < ${}", bound(args)),
                    FilterOp::Le => format!("{col} <= ${}", bound(args)),
                    FilterOp::Gt => format!("{col} > ${}", bound(args)),
                    FilterOp::Ge => format!("{col} >= ${}", bound(args)),
                    FilterOp::Is => {
                        format!("{col} {} ${}", self.dialect.null_safe_eq(), bound(args))
                    }
                    FilterOp::Co => like(args, format!("%{text}%")),
                    FilterOp::Sw => like(args, format!("{text}%")),
                    FilterOp::Ew => like(args, format!("%{text}")),
                    FilterOp::Li => like(args, text.clone()),
                });
            }
            if !alternatives.is_empty() {
                clauses.push(format!("({})", alternatives.join(" OR ")));
            }
        }
        clauses
    }

    fn run_column(&self, field: RunField) -> String {
        match field {
            RunField::FlowId => "r.flow_id".into(),
            RunField::RunNumber => "r.run_number".into(),
            RunField::RunId => "r.run_id".into(),
            RunField::UserName => "r.user_name".into(),
            RunField::TsEpoch => "r.ts_epoch".into(),
            RunField::LastHeartbeatTs => "r.last_heartbeat_ts".into(),
            RunField::Tags => self.dialect.json_text("r.tags"),
            RunField::SystemTags => self.dialect.json_text("r.system_tags"),
            RunField::User => self.dialect.verified_user().into(),
            RunField::Status => "r.status".into(),
        }
    }

    fn tag_sql(&self, filter: &TagFilter, args: &mut Args) -> String {
        let (values, like, join) = match filter {
            TagFilter::Any(v) => (v, false, " OR "),
            TagFilter::All(v) => (v, false, " AND "),
            TagFilter::LikeAny(v) => (v, true, " OR "),
            TagFilter::LikeAll(v) => (v, true, " AND "),
        };
        let parts: Vec<String> = values
            .iter()
            .map(|v| {
                if like {
                    let p = args.push(format!("%{v}%"));
                    format!("{} LIKE ${p}", self.dialect.tags_text())
                } else {
                    self.dialect.has_tag(args.push(v.as_str()))
                }
            })
            .collect();
        if parts.is_empty() {
            "1 = 1".into()
        } else {
            format!("({})", parts.join(join))
        }
    }

    fn artifact_scope(scope: ArtifactScope<'_>, args: &mut Args) -> String {
        match scope {
            ArtifactScope::Run(run) => format!(
                "flow_id = ${} AND run_number = ${}",
                args.push(run.flow_id.as_str()),
                args.push(run.run_number)
            ),
            ArtifactScope::Step(run, step) => format!(
                "flow_id = ${} AND run_number = ${} AND step_name = ${}",
                args.push(run.flow_id.as_str()),
                args.push(run.run_number),
                args.push(step)
            ),
            ArtifactScope::Task(task) => Self::task_scope(task, args),
            ArtifactScope::TaskAttempt(task, attempt) => format!(
                "{} AND attempt_id = ${}",
                Self::task_scope(task, args),
                args.push(attempt)
            ),
        }
    }

    fn task_scope(task: &TaskRow, args: &mut Args) -> String {
        format!(
            "flow_id = ${} AND run_number = ${} AND step_name = ${} AND task_id = ${}",
            args.push(task.flow_id.as_str()),
            args.push(task.run_number),
            args.push(task.step_name.as_str()),
            args.push(task.task_id)
        )
    }

    /// Multi-row INSERTs of `rows` into `target` (table and column list), in chunks that stay under
    /// SQLite's bound-variable limit; the number of rows inserted.
    async fn insert_rows(
        &self,
        target: &str,
        tail: &str,
        rows: impl Iterator<Item = Vec<Arg>>,
        what: &str,
    ) -> Result<u64> {
        let rows: Vec<Vec<Arg>> = rows.collect();
        let mut created = 0;
        for chunk in rows.chunks(INSERT_CHUNK) {
            let mut args = Args::default();
            let values: Vec<String> = chunk
                .iter()
                .map(|row| {
                    let p: Vec<String> = row
                        .iter()
                        .map(|a| format!("${}", args.push(a.clone())))
                        .collect();
                    format!("({})", p.join(", "))
                })
                .collect();
            let sql = format!("INSERT INTO {target} VALUES {} {tail}", values.join(", "));
            created += self.execute(&sql, args.0, what).await?;
        }
        Ok(created)
    }

    /// Open-time work: initialise an empty database and refuse one newer than this build.
    pub(crate) async fn prepare(&self) -> Result<()> {
        migrate::prepare(self).await
    }
}

#[async_trait]
impl Store for SqlStore {
    fn describe(&self) -> String {
        self.description.clone()
    }

    async fn healthcheck(&self) -> Result<()> {
        let _: Option<(i64,)> = self
            .one(
                &self.writer,
                "SELECT CAST(1 AS BIGINT)",
                vec![],
                "healthcheck",
            )
            .await?;
        Ok(())
    }

    async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    async fn create_flow(
        &self,
        flow_id: &str,
        user_name: Option<&str>,
        tags: Option<&Value>,
        system_tags: Option<&Value>,
    ) -> Result<FlowRow> {
        let sql = format!(
            "INSERT INTO flows_v3 (flow_id, user_name, ts_epoch, tags, system_tags) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {FLOW_COLS}"
        );
        let args = vec![
            flow_id.into(),
            user_name.into(),
            now_ms().into(),
            tags.into(),
            system_tags.into(),
        ];
        self.inserted(&sql, args, &format!("flow {flow_id}")).await
    }

    async fn get_flow(&self, flow_id: &str) -> Result<Option<FlowRow>> {
        let sql = format!("SELECT {FLOW_COLS} FROM flows_v3 WHERE flow_id = $1");
        self.one(&self.reader, &sql, vec![flow_id.into()], "flow")
            .await
    }

    async fn list_flows(&self, page: Option<&PageRequest<FlowCursor>>) -> Result<Page<FlowRow>> {
        let mut args = Args::default();
        let mut sql = format!("SELECT {FLOW_COLS} FROM flows_v3");
        if let Some(page) = page {
            if let Some(c) = &page.after {
                sql += &format!(
                    " WHERE (ts_epoch, flow_id) < (${}, ${})",
                    args.push(c.ts_epoch),
                    args.push(c.flow_id.as_str())
                );
            }
            sql += &format!(
                " ORDER BY ts_epoch DESC, flow_id DESC LIMIT ${}",
                args.push(i64::from(page.limit) + 1)
            );
        }
        let rows = self.all(&self.reader, &sql, args.0, "flows").await?;
        Ok(Self::paged(rows, page.map(|p| p.limit)))
    }

    async fn create_run(&self, run: NewRun) -> Result<RunRow> {
        let sql = format!(
            "INSERT INTO runs_v3 (flow_id, run_id, user_name, ts_epoch, tags, system_tags, last_heartbeat_ts) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {RUN_RETURNING}"
        );
        let what = match &run.run_id {
            Some(id) => format!("run {id} of flow {}", run.flow_id),
            None => format!("a run of flow {}", run.flow_id),
        };
        let heartbeat = run.heartbeat.then(now_s);
        let args = vec![
            run.flow_id.into(),
            run.run_id.into(),
            run.user_name.into(),
            now_ms().into(),
            run.tags.as_ref().into(),
            run.system_tags.as_ref().into(),
            heartbeat.into(),
        ];
        self.inserted(&sql, args, &what).await
    }

    async fn get_run(&self, flow_id: &str, key: &RunKey) -> Result<Option<RunRow>> {
        let (cond, arg): (&str, Arg) = match key {
            RunKey::Number(n) => ("r.run_number = $2", (*n).into()),
            RunKey::Id(id) => ("r.run_id = $2", id.as_str().into()),
        };
        let sql = format!("SELECT {RUN_COLS} FROM runs_v3 r WHERE r.flow_id = $1 AND {cond}");
        self.one(&self.reader, &sql, vec![flow_id.into(), arg], "run")
            .await
    }

    async fn list_runs(&self, flow_id: &str, query: Option<&RunQuery>) -> Result<Page<RunRow>> {
        let mut args = Args::default();
        let flow = args.push(flow_id);
        let Some(query) = query else {
            let sql = format!("SELECT {RUN_COLS} FROM runs_v3 r WHERE r.flow_id = ${flow}");
            let rows = self.all(&self.reader, &sql, args.0, "runs").await?;
            return Ok(Page {
                rows,
                has_more: false,
            });
        };
        // With a status filter the status is derived in an inner query so filters can name it.
        let source = if query.wants_status() {
            let now = args.push(now_s());
            format!(
                "(SELECT r.*, {} AS status FROM runs_v3 r WHERE r.flow_id = ${flow})",
                status_sql(now)
            )
        } else {
            "runs_v3".to_owned()
        };
        let mut clauses = vec![format!("r.flow_id = ${flow}")];
        clauses.extend(self.filter_sql(&query.filters, |f| self.run_column(f), &mut args));
        for t in &query.tags {
            clauses.push(self.tag_sql(t, &mut args));
        }
        if let Some(c) = &query.page.after {
            clauses.push(format!(
                "(r.ts_epoch, r.run_number) < (${}, ${})",
                args.push(c.ts_epoch),
                args.push(c.run_number)
            ));
        }
        let status_col = if query.wants_status() {
            ", r.status"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {RUN_COLS}{status_col} FROM {source} r WHERE {} \
             ORDER BY r.ts_epoch DESC, r.run_number DESC LIMIT ${}",
            clauses.join(" AND "),
            args.push(i64::from(query.page.limit) + 1)
        );
        let rows = self.all(&self.reader, &sql, args.0, "runs").await?;
        Ok(Self::paged(rows, Some(query.page.limit)))
    }

    async fn heartbeat_run(&self, flow_id: &str, run_number: i64) -> Result<bool> {
        let now = now_s();
        let sql = "UPDATE runs_v3 SET last_heartbeat_ts = $3 WHERE flow_id = $1 AND run_number = $2 \
                   AND (last_heartbeat_ts IS NULL OR last_heartbeat_ts <= $4)";
        let args = vec![
            flow_id.into(),
            run_number.into(),
            now.into(),
            (now - HEARTBEAT_WAIT_SECONDS).into(),
        ];
        Ok(self.execute(sql, args, "run heartbeat").await? > 0)
    }

    async fn replace_run_tags(
        &self,
        run: &RunRow,
        expected: Option<&Value>,
        tags: &Value,
    ) -> Result<bool> {
        let mut args = vec![
            Some(tags).into(),
            run.flow_id.as_str().into(),
            run.run_number.into(),
        ];
        let guard = match expected {
            Some(v) => {
                args.push(Some(v).into());
                self.dialect.json_eq("tags", 4)
            }
            None => "tags IS NULL".to_owned(),
        };
        let sql = format!(
            "UPDATE runs_v3 SET tags = $1 WHERE flow_id = $2 AND run_number = $3 AND {guard}"
        );
        Ok(self.execute(&sql, args, "run tags").await? > 0)
    }

    async fn create_step(&self, run: &RunRow, step: NewStep) -> Result<StepRow> {
        let sql = format!(
            "INSERT INTO steps_v3 (flow_id, run_number, run_id, step_name, user_name, ts_epoch, tags, system_tags) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {STEP_COLS}"
        );
        // Integer-only runs store the number as text here (spec 2.5, steps quirk).
        let run_id = run
            .run_id
            .clone()
            .unwrap_or_else(|| run.run_number.to_string());
        let what = format!("step {}", step.step_name);
        let args = vec![
            run.flow_id.as_str().into(),
            run.run_number.into(),
            run_id.into(),
            step.step_name.into(),
            step.user_name.unwrap_or_default().into(),
            now_ms().into(),
            step.tags.as_ref().into(),
            step.system_tags.as_ref().into(),
        ];
        self.inserted(&sql, args, &what).await
    }

    async fn get_step(&self, run: &RunRow, step_name: &str) -> Result<Option<StepRow>> {
        let sql = format!(
            "SELECT {STEP_COLS} FROM steps_v3 WHERE flow_id = $1 AND run_number = $2 AND step_name = $3"
        );
        let args = vec![
            run.flow_id.as_str().into(),
            run.run_number.into(),
            step_name.into(),
        ];
        self.one(&self.reader, &sql, args, "step").await
    }

    async fn list_steps(&self, run: &RunRow) -> Result<Vec<StepRow>> {
        let sql =
            format!("SELECT {STEP_COLS} FROM steps_v3 WHERE flow_id = $1 AND run_number = $2");
        let args = vec![run.flow_id.as_str().into(), run.run_number.into()];
        self.all(&self.reader, &sql, args, "steps").await
    }

    async fn create_task(&self, run: &RunRow, task: NewTask) -> Result<TaskRow> {
        let sql = format!(
            "INSERT INTO tasks_v3 (flow_id, run_number, run_id, step_name, task_name, user_name, ts_epoch, \
             tags, system_tags, last_heartbeat_ts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             RETURNING {TASK_COLS}"
        );
        let what = match &task.task_name {
            Some(name) => format!("task {name} of step {}", task.step_name),
            None => format!("a task of step {}", task.step_name),
        };
        let args = vec![
            run.flow_id.as_str().into(),
            run.run_number.into(),
            run.run_id.clone().into(),
            task.step_name.into(),
            task.task_name.into(),
            task.user_name.into(),
            now_ms().into(),
            task.tags.as_ref().into(),
            task.system_tags.as_ref().into(),
            task.heartbeat.then(now_s).into(),
        ];
        let row: TaskRow = self.inserted(&sql, args, &what).await?;
        if task.heartbeat {
            self.heartbeat_run(&run.flow_id, run.run_number).await?;
        }
        Ok(row)
    }

    async fn get_task(
        &self,
        run: &RunRow,
        step_name: &str,
        key: &TaskKey,
    ) -> Result<Option<TaskRow>> {
        let (cond, arg): (&str, Arg) = match key {
            TaskKey::Number(n) => ("task_id = $4", (*n).into()),
            TaskKey::Name(name) => ("task_name = $4", name.as_str().into()),
        };
        let sql = format!(
            "SELECT {TASK_COLS} FROM tasks_v3 WHERE flow_id = $1 AND run_number = $2 AND step_name = $3 AND {cond}"
        );
        let args = vec![
            run.flow_id.as_str().into(),
            run.run_number.into(),
            step_name.into(),
            arg,
        ];
        self.one(&self.reader, &sql, args, "task").await
    }

    async fn list_tasks(
        &self,
        run: &RunRow,
        step_name: &str,
        query: Option<&TaskQuery>,
    ) -> Result<Page<TaskRow>> {
        let mut args = Args::default();
        let mut clauses = vec![format!(
            "flow_id = ${} AND run_number = ${} AND step_name = ${}",
            args.push(run.flow_id.as_str()),
            args.push(run.run_number),
            args.push(step_name)
        )];
        let mut tail = String::new();
        if let Some(query) = query {
            let column = |f: TaskField| {
                match f {
                    TaskField::TaskId => "task_id",
                    TaskField::TaskName => "task_name",
                    TaskField::UserName => "user_name",
                    TaskField::TsEpoch => "ts_epoch",
                    TaskField::LastHeartbeatTs => "last_heartbeat_ts",
                }
                .to_owned()
            };
            clauses.extend(self.filter_sql(&query.filters, column, &mut args));
            if let Some(c) = &query.page.after {
                clauses.push(format!(
                    "(ts_epoch, task_id) < (${}, ${})",
                    args.push(c.ts_epoch),
                    args.push(c.task_id)
                ));
            }
            tail = format!(
                " ORDER BY ts_epoch DESC, task_id DESC LIMIT ${}",
                args.push(i64::from(query.page.limit) + 1)
            );
        }
        let sql = format!(
            "SELECT {TASK_COLS} FROM tasks_v3 WHERE {}{tail}",
            clauses.join(" AND ")
        );
        let rows = self.all(&self.reader, &sql, args.0, "tasks").await?;
        Ok(Self::paged(rows, query.map(|q| q.page.limit)))
    }

    async fn heartbeat_task(&self, task_id: i64) -> Result<bool> {
        let now = now_s();
        let sql = "UPDATE tasks_v3 SET last_heartbeat_ts = $2 WHERE task_id = $1 \
                   AND (last_heartbeat_ts IS NULL OR last_heartbeat_ts <= $3)";
        let args = vec![
            task_id.into(),
            now.into(),
            (now - HEARTBEAT_WAIT_SECONDS).into(),
        ];
        Ok(self.execute(sql, args, "task heartbeat").await? > 0)
    }

    async fn filtered_tasks(
        &self,
        run: &RunRow,
        step_name: &str,
        field_name: Option<&str>,
        pattern: Option<&str>,
    ) -> Result<Vec<TaskRow>> {
        let mut args = Args::default();
        let mut conds = vec![format!(
            "t.flow_id = ${} AND t.run_number = ${} AND t.step_name = ${}",
            args.push(run.flow_id.as_str()),
            args.push(run.run_number),
            args.push(step_name)
        )];
        let mut meta = vec![
            "m.flow_id = t.flow_id AND m.run_number = t.run_number AND m.step_name = t.step_name \
             AND m.task_id = t.task_id"
                .to_owned(),
        ];
        if let Some(f) = field_name {
            meta.push(format!("m.field_name = ${}", args.push(f)));
        }
        if let Some(p) = pattern {
            meta.push(self.dialect.regex_match("m.value", args.push(p)));
        }
        conds.push(format!(
            "EXISTS (SELECT 1 FROM metadata_v3 m WHERE {})",
            meta.join(" AND ")
        ));
        let sql = format!(
            "SELECT {TASK_COLS} FROM tasks_v3 t WHERE {} ORDER BY t.task_id",
            conds.join(" AND ")
        );
        self.all(&self.reader, &sql, args.0, "filtered tasks").await
    }

    async fn create_artifacts(&self, task: &TaskRow, items: &[NewArtifactRow]) -> Result<u64> {
        let rows = items.iter().map(|a| {
            let mut row = task_key_args(task);
            row.extend([
                a.name.as_str().into(),
                a.location.as_str().into(),
                a.ds_type.as_str().into(),
                a.sha.clone().into(),
                a.type_.clone().into(),
                a.content_type.clone().into(),
                a.user_name.clone().into(),
                a.attempt_id.into(),
                now_ms().into(),
                a.tags.as_ref().into(),
                a.system_tags.as_ref().into(),
            ]);
            row
        });
        self.insert_rows(
            "artifact_v3 (flow_id, run_number, run_id, step_name, task_id, task_name, name, location, \
             ds_type, sha, type, content_type, user_name, attempt_id, ts_epoch, tags, system_tags)",
            "ON CONFLICT DO NOTHING",
            rows,
            "artifacts",
        )
        .await
    }

    async fn list_artifacts(
        &self,
        scope: ArtifactScope<'_>,
        page: Option<&PageRequest<ArtifactCursor>>,
    ) -> Result<Page<ArtifactRow>> {
        let mut args = Args::default();
        let cond = Self::artifact_scope(scope, &mut args);
        let Some(page) = page else {
            let sql = format!("SELECT {ARTIFACT_COLS} FROM artifact_v3 WHERE {cond}");
            let rows = self.all(&self.reader, &sql, args.0, "artifacts").await?;
            return Ok(Page {
                rows,
                has_more: false,
            });
        };
        let mut outer = vec!["rn = 1".to_owned()];
        if let Some(c) = &page.after {
            outer.push(format!(
                "(ts_epoch, task_id, name) < (${}, ${}, ${})",
                args.push(c.ts_epoch),
                args.push(c.task_id),
                args.push(c.name.as_str())
            ));
        }
        let sql = format!(
            "SELECT {ARTIFACT_COLS} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY task_id, name \
             ORDER BY ts_epoch DESC, attempt_id DESC) AS rn FROM artifact_v3 WHERE {cond}) a \
             WHERE {} ORDER BY ts_epoch DESC, task_id DESC, name DESC LIMIT ${}",
            outer.join(" AND "),
            args.push(i64::from(page.limit) + 1)
        );
        let rows = self.all(&self.reader, &sql, args.0, "artifacts").await?;
        Ok(Self::paged(rows, Some(page.limit)))
    }

    async fn get_artifact(
        &self,
        task: &TaskRow,
        name: &str,
        attempt_id: i64,
    ) -> Result<Option<ArtifactRow>> {
        let mut args = Args::default();
        let cond = Self::task_scope(task, &mut args);
        let sql = format!(
            "SELECT {ARTIFACT_COLS} FROM artifact_v3 WHERE {cond} AND name = ${} AND attempt_id = ${}",
            args.push(name),
            args.push(attempt_id)
        );
        self.one(&self.reader, &sql, args.0, "artifact").await
    }

    async fn latest_attempt(&self, task: &TaskRow) -> Result<Option<i64>> {
        let mut args = Args::default();
        let cond = Self::task_scope(task, &mut args);
        let sql = format!(
            "SELECT CAST(MAX(attempt_id) AS BIGINT) FROM artifact_v3 WHERE {cond} AND name = 'name'"
        );
        let row: Option<(Option<i64>,)> = self.one(&self.reader, &sql, args.0, "artifact").await?;
        Ok(row.and_then(|(a,)| a))
    }

    async fn create_metadata(&self, task: &TaskRow, items: &[NewMetadataRow]) -> Result<u64> {
        let rows = items.iter().map(|m| {
            let mut row = task_key_args(task);
            row.extend([
                m.field_name.as_str().into(),
                m.value.as_str().into(),
                m.type_.as_str().into(),
                m.user_name.clone().into(),
                now_ms().into(),
                m.tags.as_ref().into(),
                m.system_tags.as_ref().into(),
            ]);
            row
        });
        self.insert_rows(
            "metadata_v3 (flow_id, run_number, run_id, step_name, task_id, task_name, field_name, value, \
             type, user_name, ts_epoch, tags, system_tags)",
            "",
            rows,
            "metadata",
        )
        .await
    }

    async fn list_metadata(
        &self,
        scope: MetadataScope<'_>,
        page: Option<&PageRequest<MetadataCursor>>,
    ) -> Result<Page<MetadataRow>> {
        let mut args = Args::default();
        let mut clauses = vec![match scope {
            MetadataScope::Run(run) => format!(
                "flow_id = ${} AND run_number = ${}",
                args.push(run.flow_id.as_str()),
                args.push(run.run_number)
            ),
            MetadataScope::Task(task) => Self::task_scope(task, &mut args),
        }];
        let mut limit = String::new();
        if let Some(page) = page {
            if let Some(c) = &page.after {
                clauses.push(format!(
                    "(ts_epoch, id) < (${}, ${})",
                    args.push(c.ts_epoch),
                    args.push(c.id)
                ));
            }
            limit = format!(" LIMIT ${}", args.push(i64::from(page.limit) + 1));
        }
        let sql = format!(
            "SELECT {METADATA_COLS} FROM metadata_v3 WHERE {} ORDER BY ts_epoch DESC, id DESC{limit}",
            clauses.join(" AND ")
        );
        let rows = self.all(&self.reader, &sql, args.0, "metadata").await?;
        Ok(Self::paged(rows, page.map(|p| p.limit)))
    }

    async fn schema_status(&self) -> Result<SchemaStatus> {
        migrate::status(self).await
    }

    async fn upgrade(&self) -> Result<UpgradeOutcome> {
        migrate::upgrade(self).await
    }
}
