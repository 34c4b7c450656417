//! Artifacts (`artifact_v3`, spec 4.6): the row, batch inserts, and the listings with the
//! latest-attempt rule.

use async_trait::async_trait;
use mfstack_api_types as api;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::binds::{Arg, Statement, values_list};
use crate::dialect::Dialect;
use crate::sql_store::{SqlStore, bind_task_key, now_ms, task_scope};
use crate::{Page, PageRequest, Result, RunRow, RunTags, StoreError, TaskRow};

/// A row of `artifact_v3`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ArtifactRow {
    pub flow_id: String,
    pub run_number: i64,
    pub run_id: Option<String>,
    pub step_name: String,
    /// Internal id of the parent task.
    pub task_id: i64,
    pub task_name: Option<String>,
    pub name: String,
    /// Where the datastore keeps the content.
    pub location: String,
    pub ds_type: String,
    /// Content hash.
    pub sha: Option<String>,
    #[sqlx(rename = "type")]
    pub type_: Option<String>,
    /// Serialisation encoding.
    pub content_type: Option<String>,
    pub user_name: Option<String>,
    pub attempt_id: i64,
    /// Epoch milliseconds.
    pub ts_epoch: i64,
}

impl ArtifactRow {
    /// Borrowed wire form with the run's tags, so big listings copy no strings.
    pub fn as_wire<'a>(&'a self, run: &'a RunTags) -> api::ArtifactRef<'a> {
        api::ArtifactRef {
            flow_id: &self.flow_id,
            run_number: api::ExposedIdRef::pick(self.run_id.as_deref(), self.run_number),
            step_name: &self.step_name,
            task_id: api::ExposedIdRef::pick(self.task_name.as_deref(), self.task_id),
            name: &self.name,
            location: &self.location,
            ds_type: &self.ds_type,
            sha: self.sha.as_deref(),
            type_: self.type_.as_deref(),
            content_type: self.content_type.as_deref(),
            user_name: self.user_name.as_deref(),
            attempt_id: self.attempt_id,
            ts_epoch: self.ts_epoch,
            tags: run.tags.as_ref(),
            system_tags: run.system_tags.as_ref(),
        }
    }

    /// Wire form with the run's tags.
    pub fn into_wire(self, run: &RunTags) -> api::Artifact {
        api::Artifact {
            run_number: api::ExposedId::pick(self.run_id.as_deref(), self.run_number),
            task_id: api::ExposedId::pick(self.task_name.as_deref(), self.task_id),
            flow_id: self.flow_id,
            step_name: self.step_name,
            name: self.name,
            location: self.location,
            ds_type: self.ds_type,
            sha: self.sha,
            type_: self.type_,
            content_type: self.content_type,
            user_name: self.user_name,
            attempt_id: self.attempt_id,
            ts_epoch: self.ts_epoch,
            tags: run.tags.clone(),
            system_tags: run.system_tags.clone(),
        }
    }
}

/// An artifact to insert under a resolved task.
#[derive(Debug, Clone)]
pub struct NewArtifactRow {
    pub name: String,
    pub location: String,
    pub ds_type: String,
    pub sha: Option<String>,
    pub type_: Option<String>,
    pub content_type: Option<String>,
    pub attempt_id: i64,
    pub user_name: Option<String>,
    pub tags: Option<Value>,
    pub system_tags: Option<Value>,
}

/// Cursor of the artifact listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactCursor {
    pub ts_epoch: i64,
    /// Internal task id.
    pub task_id: i64,
    pub name: String,
}

/// Which artifacts a listing covers.
#[derive(Debug, Clone, Copy)]
pub enum ArtifactScope<'a> {
    /// Every artifact of a run (`GET /flows/{f}/runs/{r}/artifacts`).
    Run(&'a RunRow),
    /// Every artifact of a step.
    Step(&'a RunRow, &'a str),
    /// Every artifact of a task.
    Task(&'a TaskRow),
    /// A task's artifacts of one attempt.
    TaskAttempt(&'a TaskRow, i64),
}

/// Statement text, shared with the benchmark.
pub mod sql {
    use super::*;

    /// Columns as [`ArtifactRow`] reads them.
    pub const COLUMNS: &str = "flow_id, CAST(run_number AS BIGINT) AS run_number, run_id, step_name, \
         task_id, task_name, name, location, ds_type, sha, type, content_type, user_name, \
         CAST(attempt_id AS BIGINT) AS attempt_id, ts_epoch";

    /// Placeholders per inserted row.
    pub const INSERT_COLUMNS: usize = 17;

    /// A multi-row insert of `rows` artifacts; duplicates (same task, attempt and name) are skipped.
    pub fn insert(rows: usize) -> String {
        insert_from(&format!("VALUES {}", values_list(rows, INSERT_COLUMNS)))
    }

    /// The insert of [`insert`], its rows from `source` (a `VALUES` list or a `SELECT`).
    pub fn insert_from(source: &str) -> String {
        format!(
            "INSERT INTO artifact_v3 (flow_id, run_number, run_id, step_name, task_id, task_name, \
             name, location, ds_type, sha, type, content_type, user_name, attempt_id, ts_epoch, tags, \
             system_tags) {source} ON CONFLICT DO NOTHING"
        )
    }

    /// The values of one inserted row, in the order of [`insert`]'s columns.
    pub fn bind_row(task: &TaskRow, a: &NewArtifactRow, args: &mut Vec<Arg>) {
        bind_task_key(task, args);
        args.extend([
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
    }

    /// The WHERE condition selecting `scope`.
    pub fn scope(scope: ArtifactScope<'_>, s: &mut Statement) -> String {
        match scope {
            ArtifactScope::Run(run) => format!(
                "flow_id = ${} AND run_number = ${}",
                s.bind(run.flow_id.as_str()),
                s.bind(run.run_number)
            ),
            ArtifactScope::Step(run, step) => format!(
                "flow_id = ${} AND run_number = ${} AND step_name = ${}",
                s.bind(run.flow_id.as_str()),
                s.bind(run.run_number),
                s.bind(step)
            ),
            ArtifactScope::Task(task) => task_scope(task, s),
            ArtifactScope::TaskAttempt(task, attempt) => {
                let task = task_scope(task, s);
                format!("{task} AND attempt_id = ${}", s.bind(attempt))
            }
        }
    }

    /// Every artifact of a scope (the legacy listing; the caller applies the latest-attempt rule).
    pub fn list(scope: ArtifactScope<'_>) -> Statement {
        let mut s = Statement::default();
        let cond = self::scope(scope, &mut s);
        s.text = format!("SELECT {COLUMNS} FROM artifact_v3 WHERE {cond}");
        s
    }

    /// [`list`] as one JSON array of [`COLUMNS`]-ordered arrays, for SQLite: its driver hands rows
    /// over one at a time at a few microseconds each, which a run's 50,000 artifacts multiply
    /// past everything else, while SQLite builds the same array in C.
    pub fn list_json(scope: ArtifactScope<'_>) -> Statement {
        let mut s = Statement::default();
        let cond = self::scope(scope, &mut s);
        s.text = format!(
            "SELECT json_group_array(json_array(flow_id, run_number, run_id, step_name, task_id, \
             task_name, name, location, ds_type, sha, type, content_type, user_name, attempt_id, \
             ts_epoch)) FROM artifact_v3 WHERE {cond}"
        );
        s
    }

    /// One page of a scope under the latest-attempt rule (spec 4.6.0): a task's artifacts of its
    /// highest attempt only, so a page holds the rows the legacy listing would. Ordered by
    /// `ts_epoch`, task and name, all descending, the keyset cursor's order (spec 4.6.6).
    pub fn list_page(scope: ArtifactScope<'_>, page: &PageRequest<ArtifactCursor>) -> Statement {
        let mut s = Statement::default();
        let cond = self::scope(scope, &mut s);
        let mut outer = vec!["attempt_id = latest_attempt".to_owned()];
        if let Some(c) = &page.after {
            outer.push(format!(
                "(ts_epoch, task_id, name) < (${}, ${}, ${})",
                s.bind(c.ts_epoch),
                s.bind(c.task_id),
                s.bind(c.name.as_str())
            ));
        }
        let limit = s.bind(page.fetch_limit());
        s.text = format!(
            "SELECT {COLUMNS} FROM (SELECT *, MAX(attempt_id) OVER (PARTITION BY task_id) \
             AS latest_attempt FROM artifact_v3 WHERE {cond}) a \
             WHERE {} ORDER BY ts_epoch DESC, task_id DESC, name DESC LIMIT ${limit}",
            outer.join(" AND "),
        );
        s
    }
}

/// What the service asks of artifacts.
#[async_trait]
pub trait ArtifactStore: Send + Sync {
    /// Insert a batch in one transaction, skipping duplicates; the number inserted.
    async fn create_artifacts(&self, task: &TaskRow, items: &[NewArtifactRow]) -> Result<u64>;
    /// Artifacts of a scope. Without a page: every row. With one: a keyset page of the rows the
    /// latest-attempt rule keeps.
    async fn list_artifacts(
        &self,
        scope: ArtifactScope<'_>,
        page: Option<&PageRequest<ArtifactCursor>>,
    ) -> Result<Page<ArtifactRow>>;
    /// One artifact of a task at an attempt.
    async fn get_artifact(
        &self,
        task: &TaskRow,
        name: &str,
        attempt_id: i64,
    ) -> Result<Option<ArtifactRow>>;
    /// Highest attempt of the task's artifact literally called `name` (spec 4.6.4).
    async fn latest_attempt(&self, task: &TaskRow) -> Result<Option<i64>>;
}

/// An artifact as [`sql::list_json`] spells it.
type ArtifactJson = (
    String,
    i64,
    Option<String>,
    String,
    i64,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
);

impl SqlStore {
    async fn artifacts_as_json(&self, scope: ArtifactScope<'_>) -> Result<Vec<ArtifactRow>> {
        let row: Option<(Option<String>,)> = self
            .one(&self.reader, sql::list_json(scope), "artifacts")
            .await?;
        let Some((Some(text),)) = row else {
            return Ok(Vec::new());
        };
        let rows: Vec<ArtifactJson> = serde_json::from_str(&text)
            .map_err(|e| StoreError::Other(format!("unreadable artifact listing: {e}")))?;
        Ok(rows
            .into_iter()
            .map(|r| ArtifactRow {
                flow_id: r.0,
                run_number: r.1,
                run_id: r.2,
                step_name: r.3,
                task_id: r.4,
                task_name: r.5,
                name: r.6,
                location: r.7,
                ds_type: r.8,
                sha: r.9,
                type_: r.10,
                content_type: r.11,
                user_name: r.12,
                attempt_id: r.13,
                ts_epoch: r.14,
            })
            .collect())
    }
}

#[async_trait]
impl ArtifactStore for SqlStore {
    async fn create_artifacts(&self, task: &TaskRow, items: &[NewArtifactRow]) -> Result<u64> {
        if items.is_empty() {
            return Ok(0);
        }
        let batch = (task.clone(), items.to_vec());
        self.writes.artifacts.submit(batch, items.len()).await
    }

    async fn list_artifacts(
        &self,
        scope: ArtifactScope<'_>,
        page: Option<&PageRequest<ArtifactCursor>>,
    ) -> Result<Page<ArtifactRow>> {
        let Some(page) = page else {
            let rows = match self.dialect {
                Dialect::Sqlite => self.artifacts_as_json(scope).await?,
                Dialect::Postgres => {
                    self.all(&self.reader, sql::list(scope), "artifacts")
                        .await?
                }
            };
            return Ok(Page::complete(rows));
        };
        let rows = self
            .all(&self.reader, sql::list_page(scope, page), "artifacts")
            .await?;
        Ok(SqlStore::paged(rows, Some(page.limit)))
    }

    async fn get_artifact(
        &self,
        task: &TaskRow,
        name: &str,
        attempt_id: i64,
    ) -> Result<Option<ArtifactRow>> {
        let mut s = Statement::default();
        let cond = task_scope(task, &mut s);
        s.text = format!(
            "SELECT {} FROM artifact_v3 WHERE {cond} AND name = ${} AND attempt_id = ${}",
            sql::COLUMNS,
            s.bind(name),
            s.bind(attempt_id)
        );
        self.one(&self.reader, s, "artifact").await
    }

    async fn latest_attempt(&self, task: &TaskRow) -> Result<Option<i64>> {
        let mut s = Statement::default();
        let cond = task_scope(task, &mut s);
        s.text = format!(
            "SELECT CAST(MAX(attempt_id) AS BIGINT) FROM artifact_v3 WHERE {cond} AND name = 'name'"
        );
        let row: Option<(Option<i64>,)> = self.one(&self.reader, s, "artifact").await?;
        Ok(row.and_then(|(a,)| a))
    }
}
