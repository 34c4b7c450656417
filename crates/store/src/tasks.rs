//! Tasks (`tasks_v3`, spec 4.5): the row, the filter columns, and the queries.

use async_trait::async_trait;
use mfstack_api_types as api;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::binds::Statement;
use crate::coalesce::Insert;
use crate::filters::{Filter, filter_clauses};
use crate::sql_store::{SqlStore, now_ms, now_s};
use crate::{Page, PageRequest, Result, RunRow, RunStore, RunTags, TaskKey};

/// A row of `tasks_v3`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TaskRow {
    pub flow_id: String,
    pub run_number: i64,
    pub run_id: Option<String>,
    pub step_name: String,
    /// Server-assigned id.
    pub task_id: i64,
    /// Client-chosen id.
    pub task_name: Option<String>,
    pub user_name: Option<String>,
    /// Epoch milliseconds.
    pub ts_epoch: i64,
    /// Epoch seconds.
    pub last_heartbeat_ts: Option<i64>,
}

impl TaskRow {
    /// Whether the task is of this flow, run and step: a task read by id alone is checked so.
    pub fn is_of(&self, flow_id: &str, run_number: i64, step_name: &str) -> bool {
        self.flow_id == flow_id && self.run_number == run_number && self.step_name == step_name
    }

    /// The id clients see.
    pub fn exposed_id(&self) -> api::ExposedId {
        api::ExposedId::pick(self.task_name.as_deref(), self.task_id)
    }

    /// Wire form with the run's tags.
    pub fn into_wire(self, run: &RunTags) -> api::Task {
        api::Task {
            run_number: api::ExposedId::pick(self.run_id.as_deref(), self.run_number),
            task_id: self.exposed_id(),
            flow_id: self.flow_id,
            step_name: self.step_name,
            user_name: self.user_name,
            ts_epoch: self.ts_epoch,
            tags: run.tags.clone(),
            system_tags: run.system_tags.clone(),
            last_heartbeat_ts: self.last_heartbeat_ts,
        }
    }
}

/// A task to insert under a resolved run.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub step_name: String,
    /// Client-chosen id.
    pub task_name: Option<String>,
    pub user_name: Option<String>,
    pub tags: Option<Value>,
    pub system_tags: Option<Value>,
    /// Whether the client heartbeats (spec 6.1).
    pub heartbeat: bool,
}

/// Cursor of the tasks listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskCursor {
    pub ts_epoch: i64,
    /// Internal task id.
    pub task_id: i64,
}

/// Columns a tasks listing can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskField {
    /// The integer column.
    TaskId,
    TaskName,
    UserName,
    TsEpoch,
    LastHeartbeatTs,
}

/// A filtered, paginated tasks listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskQuery {
    pub filters: Vec<Filter<TaskField>>,
    pub page: PageRequest<TaskCursor>,
}

/// Statement text, shared with the benchmark.
pub mod sql {
    use crate::binds::values_list;

    /// Columns as [`super::TaskRow`] reads them.
    pub const COLUMNS: &str = "flow_id, CAST(run_number AS BIGINT) AS run_number, run_id, step_name, \
         task_id, task_name, user_name, ts_epoch, last_heartbeat_ts";

    /// Placeholders per inserted task.
    pub const INSERT_COLUMNS: usize = 10;

    /// `$1` flow, `$2` run number, `$3` run id, `$4` step, `$5` task name, `$6` user, `$7` ts_epoch,
    /// `$8` tags, `$9` system tags, `$10` heartbeat.
    pub fn insert() -> String {
        insert_many(1)
    }

    /// [`insert`] for `rows` tasks, their values one after another; ids are assigned in row order.
    pub fn insert_many(rows: usize) -> String {
        format!(
            "INSERT INTO tasks_v3 (flow_id, run_number, run_id, step_name, task_name, user_name, \
             ts_epoch, tags, system_tags, last_heartbeat_ts) VALUES {} RETURNING {COLUMNS}",
            values_list(rows, INSERT_COLUMNS)
        )
    }

    /// `$1` task id. By the primary key alone: with the step in the condition too, PostgreSQL
    /// without fresh statistics for a step that just grew (a large foreach) scans the step's
    /// rows through the (flow, run, step, name) index on every request. The caller checks that
    /// the row is of its step.
    pub fn get_by_id() -> String {
        format!("SELECT {COLUMNS} FROM tasks_v3 WHERE task_id = $1")
    }

    /// `$1` flow, `$2` run number, `$3` step, `$4` task name.
    pub fn get_by_name() -> String {
        format!(
            "SELECT {COLUMNS} FROM tasks_v3 WHERE flow_id = $1 AND run_number = $2 \
             AND step_name = $3 AND task_name = $4"
        )
    }

    /// Every task of a step: `$1` flow, `$2` run number, `$3` step.
    pub fn list() -> String {
        format!(
            "SELECT {COLUMNS} FROM tasks_v3 WHERE flow_id = $1 AND run_number = $2 AND step_name = $3"
        )
    }

    /// `$1` task id, `$2` now, `$3` the latest beat that is old enough to replace.
    pub const HEARTBEAT: &str = "UPDATE tasks_v3 SET last_heartbeat_ts = $2 WHERE task_id = $1 \
         AND (last_heartbeat_ts IS NULL OR last_heartbeat_ts <= $3)";

    /// [`HEARTBEAT`] for `ids` tasks: `$1` now, `$2` the latest beat old enough to replace, then
    /// the task ids. Returns the ids it beat.
    pub fn heartbeat_many(ids: usize) -> String {
        let ids: Vec<String> = (3..ids + 3).map(|p| format!("${p}")).collect();
        format!(
            "UPDATE tasks_v3 SET last_heartbeat_ts = $1 WHERE task_id IN ({}) \
             AND (last_heartbeat_ts IS NULL OR last_heartbeat_ts <= $2) RETURNING task_id",
            ids.join(", ")
        )
    }
}

fn column(field: TaskField) -> String {
    match field {
        TaskField::TaskId => "task_id",
        TaskField::TaskName => "task_name",
        TaskField::UserName => "user_name",
        TaskField::TsEpoch => "ts_epoch",
        TaskField::LastHeartbeatTs => "last_heartbeat_ts",
    }
    .to_owned()
}

/// What the service asks of tasks.
#[async_trait]
pub trait TaskStore: Send + Sync {
    /// Insert a task. `MissingParent` without the step, `Duplicate` for a taken task name.
    async fn create_task(&self, run: &RunRow, task: NewTask) -> Result<TaskRow>;
    /// One task by id or name.
    async fn get_task(
        &self,
        run: &RunRow,
        step_name: &str,
        key: &TaskKey,
    ) -> Result<Option<TaskRow>>;
    /// A task by its server-assigned id alone, whatever its step.
    async fn get_task_by_id(&self, task_id: i64) -> Result<Option<TaskRow>>;
    /// Every task of a step (`None`) or a filtered page.
    async fn list_tasks(
        &self,
        run: &RunRow,
        step_name: &str,
        query: Option<&TaskQuery>,
    ) -> Result<Page<TaskRow>>;
    /// Set the task's heartbeat to now unless it beat within the last 10 s; true when it was set.
    async fn heartbeat_task(&self, task_id: i64) -> Result<bool>;
    /// Tasks of a step with a metadata row matching the field name and regular expression, by id.
    async fn filtered_tasks(
        &self,
        run: &RunRow,
        step_name: &str,
        field_name: Option<&str>,
        pattern: Option<&str>,
    ) -> Result<Vec<TaskRow>>;
}

#[async_trait]
impl TaskStore for SqlStore {
    async fn create_task(&self, run: &RunRow, task: NewTask) -> Result<TaskRow> {
        let what = match &task.task_name {
            Some(name) => format!("task {name} of step {}", task.step_name),
            None => format!("a task of step {}", task.step_name),
        };
        let heartbeat = task.heartbeat;
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
            heartbeat.then(now_s).into(),
        ];
        let row = self.writes.tasks.submit(Insert { args, what }, 1).await?;
        if heartbeat {
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
        let name = match key {
            TaskKey::Number(n) => {
                let row = self.get_task_by_id(*n).await?;
                return Ok(row.filter(|t| t.is_of(&run.flow_id, run.run_number, step_name)));
            }
            TaskKey::Name(name) => name,
        };
        let statement = Statement {
            text: sql::get_by_name(),
            args: vec![
                run.flow_id.as_str().into(),
                run.run_number.into(),
                step_name.into(),
                name.as_str().into(),
            ],
        };
        self.one(&self.reader, statement, "task").await
    }

    async fn get_task_by_id(&self, task_id: i64) -> Result<Option<TaskRow>> {
        let statement = Statement {
            text: sql::get_by_id(),
            args: vec![task_id.into()],
        };
        self.one(&self.reader, statement, "task").await
    }

    async fn list_tasks(
        &self,
        run: &RunRow,
        step_name: &str,
        query: Option<&TaskQuery>,
    ) -> Result<Page<TaskRow>> {
        let mut s = Statement {
            text: sql::list(),
            args: vec![
                run.flow_id.as_str().into(),
                run.run_number.into(),
                step_name.into(),
            ],
        };
        let Some(query) = query else {
            return Ok(Page::complete(self.all(&self.reader, s, "tasks").await?));
        };
        let mut clauses = filter_clauses(self.dialect, &query.filters, column, &mut s);
        if let Some(c) = &query.page.after {
            clauses.push(format!(
                "(ts_epoch, task_id) < (${}, ${})",
                s.bind(c.ts_epoch),
                s.bind(c.task_id)
            ));
        }
        let limit = s.bind(query.page.fetch_limit());
        for clause in clauses {
            s.text += " AND ";
            s.text += &clause;
        }
        s.text += &format!(" ORDER BY ts_epoch DESC, task_id DESC LIMIT ${limit}");
        let rows = self.all(&self.reader, s, "tasks").await?;
        Ok(SqlStore::paged(rows, Some(query.page.limit)))
    }

    async fn heartbeat_task(&self, task_id: i64) -> Result<bool> {
        self.writes.task_beats.submit(task_id, 1).await
    }

    async fn filtered_tasks(
        &self,
        run: &RunRow,
        step_name: &str,
        field_name: Option<&str>,
        pattern: Option<&str>,
    ) -> Result<Vec<TaskRow>> {
        let mut s = Statement::default();
        let task = format!(
            "t.flow_id = ${} AND t.run_number = ${} AND t.step_name = ${}",
            s.bind(run.flow_id.as_str()),
            s.bind(run.run_number),
            s.bind(step_name)
        );
        let mut meta = vec![
            "m.flow_id = t.flow_id AND m.run_number = t.run_number AND m.step_name = t.step_name \
             AND m.task_id = t.task_id"
                .to_owned(),
        ];
        if let Some(f) = field_name {
            meta.push(format!("m.field_name = ${}", s.bind(f)));
        }
        if let Some(p) = pattern {
            meta.push(self.dialect.regex_match("m.value", s.bind(p)));
        }
        s.text = format!(
            "SELECT {} FROM tasks_v3 t WHERE {task} AND EXISTS \
             (SELECT 1 FROM metadata_v3 m WHERE {}) ORDER BY t.task_id",
            sql::COLUMNS,
            meta.join(" AND ")
        );
        self.all(&self.reader, s, "filtered tasks").await
    }
}
