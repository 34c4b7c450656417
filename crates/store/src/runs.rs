//! Runs (`runs_v3`, spec 4.3): the row, the filter columns, the derived status, and the queries.

use async_trait::async_trait;
use mfstack_api_types as api;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;

use crate::binds::Statement;
use crate::coalesce::Insert;
use crate::dialect::Dialect;
use crate::filters::{Filter, TagFilter, filter_clauses, tag_clause};
use crate::sql_store::{SqlStore, now_ms, now_s};
use crate::{Page, PageRequest, Result, json};

/// A row of `runs_v3`, plus the derived status when a listing asked for it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRow {
    pub flow_id: String,
    /// Server-assigned number.
    pub run_number: i64,
    /// Client-chosen id.
    pub run_id: Option<String>,
    pub user_name: Option<String>,
    /// Epoch milliseconds.
    pub ts_epoch: i64,
    pub tags: Option<Json<Value>>,
    pub system_tags: Option<Json<Value>>,
    /// Epoch seconds.
    pub last_heartbeat_ts: Option<i64>,
    /// Derived status (spec 6.3), only selected by a status-filtered listing.
    #[sqlx(default)]
    pub status: Option<String>,
}

impl RunRow {
    /// The id clients see.
    pub fn exposed_id(&self) -> api::ExposedId {
        api::ExposedId::pick(self.run_id.as_deref(), self.run_number)
    }

    /// `user_name` when the system tags hold `user:<user_name>` (spec 3.2).
    pub fn verified_user(&self) -> Option<String> {
        let name = self.user_name.as_deref()?;
        let Json(Value::Array(tags)) = self.system_tags.as_ref()? else {
            return None;
        };
        let wanted = format!("user:{name}");
        tags.iter()
            .any(|t| t.as_str() == Some(wanted.as_str()))
            .then(|| name.to_owned())
    }

    /// Wire form; `with_user` is false only for the create response (spec 4.3.1).
    pub fn into_wire(self, with_user: bool) -> api::Run {
        let user = if with_user {
            self.verified_user()
        } else {
            None
        };
        api::Run {
            run_number: self.exposed_id(),
            flow_id: self.flow_id,
            user_name: self.user_name,
            ts_epoch: self.ts_epoch,
            tags: json(self.tags),
            system_tags: json(self.system_tags),
            last_heartbeat_ts: self.last_heartbeat_ts,
            user,
            status: self.status,
        }
    }

    /// The run's tags, which its steps, tasks and artifacts show as their own (spec 2.7).
    pub fn inherited_tags(&self) -> RunTags {
        RunTags {
            tags: json(self.tags.clone()),
            system_tags: json(self.system_tags.clone()),
        }
    }
}

/// A run's tags, copied onto its children's wire form (spec 2.7, run-tag grafting).
#[derive(Debug, Clone)]
pub struct RunTags {
    pub tags: Option<Value>,
    pub system_tags: Option<Value>,
}

/// A run to insert.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub flow_id: String,
    /// Client-chosen id.
    pub run_id: Option<String>,
    pub user_name: Option<String>,
    pub tags: Option<Value>,
    pub system_tags: Option<Value>,
    /// Whether the client heartbeats, so the row starts alive (spec 6.1).
    pub heartbeat: bool,
}

/// Cursor of the runs listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCursor {
    pub ts_epoch: i64,
    /// Internal run number.
    pub run_number: i64,
}

/// Columns a runs listing can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunField {
    FlowId,
    /// The integer column.
    RunNumber,
    RunId,
    UserName,
    TsEpoch,
    LastHeartbeatTs,
    /// Compared as text.
    Tags,
    /// Compared as text.
    SystemTags,
    /// Verified owner (spec 3.2).
    User,
    /// Derived status (spec 6.3).
    Status,
}

/// A filtered, paginated runs listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunQuery {
    pub filters: Vec<Filter<RunField>>,
    pub tags: Vec<TagFilter>,
    pub page: PageRequest<RunCursor>,
}

impl RunQuery {
    /// Status is derived (and returned) only when a filter asks for it (spec 4.3.3).
    pub fn wants_status(&self) -> bool {
        self.filters.iter().any(|f| f.field == RunField::Status)
    }
}

/// Statement text, shared with the benchmark.
pub mod sql {
    use super::*;
    use crate::binds::values_list;

    /// Columns of alias `r`, as [`RunRow`] reads them.
    pub const COLUMNS: &str = "r.flow_id, CAST(r.run_number AS BIGINT) AS run_number, r.run_id, \
         r.user_name, r.ts_epoch, r.tags, r.system_tags, r.last_heartbeat_ts";
    /// The same columns for RETURNING, which on SQLite takes no table-qualified names.
    pub const RETURNING: &str = "flow_id, CAST(run_number AS BIGINT) AS run_number, run_id, \
         user_name, ts_epoch, tags, system_tags, last_heartbeat_ts";

    /// Seconds after the last heartbeat that a run without an end result still counts as running
    /// (`RUN_INACTIVE_CUTOFF_TIME`, spec 6.3).
    pub const INACTIVE_CUTOFF_SECONDS: i64 = 360;

    /// Placeholders per inserted run.
    pub const INSERT_COLUMNS: usize = 7;

    /// `$1` flow, `$2` run id, `$3` user, `$4` ts_epoch, `$5` tags, `$6` system tags, `$7` heartbeat.
    pub fn insert() -> String {
        insert_many(1)
    }

    /// [`insert`] for `rows` runs, their values one after another; numbers are assigned in row order.
    pub fn insert_many(rows: usize) -> String {
        format!(
            "INSERT INTO runs_v3 (flow_id, run_id, user_name, ts_epoch, tags, system_tags, \
             last_heartbeat_ts) VALUES {} RETURNING {RETURNING}",
            values_list(rows, INSERT_COLUMNS)
        )
    }

    /// `$1` flow, `$2` run number.
    pub fn get_by_number() -> String {
        format!("SELECT {COLUMNS} FROM runs_v3 r WHERE r.flow_id = $1 AND r.run_number = $2")
    }

    /// `$1` flow, `$2` run id.
    pub fn get_by_id() -> String {
        format!("SELECT {COLUMNS} FROM runs_v3 r WHERE r.flow_id = $1 AND r.run_id = $2")
    }

    /// `$1` flow, `$2` run number, `$3` now, `$4` the latest beat that is old enough to replace.
    pub const HEARTBEAT: &str = "UPDATE runs_v3 SET last_heartbeat_ts = $3 \
         WHERE flow_id = $1 AND run_number = $2 \
         AND (last_heartbeat_ts IS NULL OR last_heartbeat_ts <= $4)";

    /// [`HEARTBEAT`] for `runs` runs: `$1` now, `$2` the latest beat old enough to replace, then a
    /// flow and a run number per run. Returns the runs it beat.
    pub fn heartbeat_many(runs: usize) -> String {
        let keys: Vec<String> = (0..runs)
            .map(|i| format!("(${}, ${})", 2 * i + 3, 2 * i + 4))
            .collect();
        format!(
            "UPDATE runs_v3 SET last_heartbeat_ts = $1 WHERE (flow_id, run_number) IN ({}) \
             AND (last_heartbeat_ts IS NULL OR last_heartbeat_ts <= $2) \
             RETURNING flow_id, CAST(run_number AS BIGINT) AS run_number",
            keys.join(", ")
        )
    }

    /// Derived run status (spec 6.3) for run `r`; `$now` is epoch seconds.
    pub fn status(now: usize) -> String {
        let latest = |field: &str, col: &str| {
            format!(
                "(SELECT m.{col} FROM metadata_v3 m WHERE m.flow_id = r.flow_id \
                 AND m.run_number = r.run_number AND m.step_name = 'end' AND m.field_name = '{field}' \
                 ORDER BY m.ts_epoch DESC, m.id DESC LIMIT 1)"
            )
        };
        let ok_value = format!("LOWER({})", latest("attempt_ok", "value"));
        let truthy = "('true', 't', '1', 'yes', 'y', 'on')";
        let falsy = "('false', 'f', '0', 'no', 'n', 'off')";
        format!(
            "CASE \
             WHEN {ok} IN {falsy} AND {attempt_ts} > {ok_ts} THEN 'running' \
             WHEN {ok} IN {truthy} THEN 'completed' \
             WHEN {ok} IN {falsy} THEN 'failed' \
             WHEN r.last_heartbeat_ts IS NOT NULL AND ABS(${now} - r.last_heartbeat_ts) <= {cutoff} \
             THEN 'running' ELSE 'failed' END",
            ok = ok_value,
            ok_ts = latest("attempt_ok", "ts_epoch"),
            attempt_ts = latest("attempt", "ts_epoch"),
            cutoff = INACTIVE_CUTOFF_SECONDS,
        )
    }

    fn column(dialect: Dialect, field: RunField) -> String {
        match field {
            RunField::FlowId => "r.flow_id".into(),
            RunField::RunNumber => "r.run_number".into(),
            RunField::RunId => "r.run_id".into(),
            RunField::UserName => "r.user_name".into(),
            RunField::TsEpoch => "r.ts_epoch".into(),
            RunField::LastHeartbeatTs => "r.last_heartbeat_ts".into(),
            RunField::Tags => dialect.json_text("r.tags"),
            RunField::SystemTags => dialect.json_text("r.system_tags"),
            RunField::User => dialect.verified_user().into(),
            RunField::Status => "r.status".into(),
        }
    }

    /// One page of a flow's runs, newest first; `now` (epoch seconds) dates the derived status.
    pub fn list_page(dialect: Dialect, flow_id: &str, query: &RunQuery, now: i64) -> Statement {
        let mut s = Statement::default();
        let flow = s.bind(flow_id);
        // With a status filter the status is derived in an inner query so filters can name it.
        let (source, status_col) = if query.wants_status() {
            let now = s.bind(now);
            let inner = format!(
                "(SELECT r.*, {} AS status FROM runs_v3 r WHERE r.flow_id = ${flow})",
                status(now)
            );
            (inner, ", r.status")
        } else {
            ("runs_v3".to_owned(), "")
        };
        let mut clauses = vec![format!("r.flow_id = ${flow}")];
        clauses.extend(filter_clauses(
            dialect,
            &query.filters,
            |f| column(dialect, f),
            &mut s,
        ));
        for t in &query.tags {
            clauses.push(tag_clause(dialect, t, &mut s));
        }
        if let Some(c) = &query.page.after {
            clauses.push(format!(
                "(r.ts_epoch, r.run_number) < (${}, ${})",
                s.bind(c.ts_epoch),
                s.bind(c.run_number)
            ));
        }
        let limit = s.bind(query.page.fetch_limit());
        s.text = format!(
            "SELECT {COLUMNS}{status_col} FROM {source} r WHERE {} \
             ORDER BY r.ts_epoch DESC, r.run_number DESC LIMIT ${limit}",
            clauses.join(" AND "),
        );
        s
    }
}

/// What the service asks of runs.
#[async_trait]
pub trait RunStore: Send + Sync {
    /// Insert a run. `MissingParent` without the flow, `Duplicate` for a taken run id.
    async fn create_run(&self, run: NewRun) -> Result<RunRow>;
    /// One run by number or id.
    async fn get_run(&self, flow_id: &str, key: &crate::RunKey) -> Result<Option<RunRow>>;
    /// Every run of a flow (`None`) or a filtered page.
    async fn list_runs(&self, flow_id: &str, query: Option<&RunQuery>) -> Result<Page<RunRow>>;
    /// Set the run's heartbeat to now unless it beat within the last 10 s; true when it was set.
    async fn heartbeat_run(&self, flow_id: &str, run_number: i64) -> Result<bool>;
    /// Replace the run's user tags if they still equal `expected`; false when they changed meanwhile.
    async fn replace_run_tags(
        &self,
        run: &RunRow,
        expected: Option<&Value>,
        tags: &Value,
    ) -> Result<bool>;
}

#[async_trait]
impl RunStore for SqlStore {
    async fn create_run(&self, run: NewRun) -> Result<RunRow> {
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
        let row = self.writes.runs.submit(Insert { args, what }, 1).await?;
        if let Some(at) = heartbeat {
            let key = (row.flow_id.clone(), row.run_number);
            self.writes.recent_runs.record(key, at);
        }
        Ok(row)
    }

    async fn get_run(&self, flow_id: &str, key: &crate::RunKey) -> Result<Option<RunRow>> {
        let statement = match key {
            crate::RunKey::Number(n) => Statement {
                text: sql::get_by_number(),
                args: vec![flow_id.into(), (*n).into()],
            },
            crate::RunKey::Id(id) => Statement {
                text: sql::get_by_id(),
                args: vec![flow_id.into(), id.as_str().into()],
            },
        };
        self.one(&self.reader, statement, "run").await
    }

    async fn list_runs(&self, flow_id: &str, query: Option<&RunQuery>) -> Result<Page<RunRow>> {
        let Some(query) = query else {
            let statement = Statement {
                text: format!(
                    "SELECT {} FROM runs_v3 r WHERE r.flow_id = $1",
                    sql::COLUMNS
                ),
                args: vec![flow_id.into()],
            };
            let rows = self.all(&self.reader, statement, "runs").await?;
            return Ok(Page::complete(rows));
        };
        let statement = sql::list_page(self.dialect, flow_id, query, now_s());
        let rows = self.all(&self.reader, statement, "runs").await?;
        Ok(SqlStore::paged(rows, Some(query.page.limit)))
    }

    async fn heartbeat_run(&self, flow_id: &str, run_number: i64) -> Result<bool> {
        let now = now_s();
        let key = (flow_id.to_owned(), run_number);
        if self.writes.recent_runs.within_spacing(&key, now) {
            return Ok(false);
        }
        let beaten = self.writes.run_beats.submit(key.clone(), 1).await?;
        if beaten {
            self.writes.recent_runs.record(key, now);
        }
        Ok(beaten)
    }

    async fn replace_run_tags(
        &self,
        run: &RunRow,
        expected: Option<&Value>,
        tags: &Value,
    ) -> Result<bool> {
        let mut s = Statement::default();
        let (new, flow, number) = (
            s.bind(Some(tags)),
            s.bind(run.flow_id.as_str()),
            s.bind(run.run_number),
        );
        let guard = match expected {
            Some(v) => self.dialect.json_eq("tags", s.bind(Some(v))),
            None => "tags IS NULL".to_owned(),
        };
        s.text = format!(
            "UPDATE runs_v3 SET tags = ${new} WHERE flow_id = ${flow} AND run_number = ${number} \
             AND {guard}"
        );
        Ok(self.execute(s, "run tags").await? > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_user_needs_the_exact_system_tag() {
        let mut run = RunRow {
            flow_id: "F".into(),
            run_number: 1,
            run_id: None,
            user_name: Some("ana".into()),
            ts_epoch: 0,
            tags: None,
            system_tags: Some(Json(serde_json::json!(["user:ana", "runtime:dev"]))),
            last_heartbeat_ts: None,
            status: None,
        };
        assert_eq!(run.verified_user().as_deref(), Some("ana"));
        run.system_tags = Some(Json(serde_json::json!(["user:bob"])));
        assert_eq!(run.verified_user(), None);
    }
}
