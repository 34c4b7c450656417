//! Flows, artifacts and metadata as the UI lists them: stored rows, children carrying their run's
//! tags (§3), metadata with the `attempt_id` of its `attempt_id:N` tag.

use serde::{Serialize, Serializer};
use serde_json::Value;
use sqlx::types::Json;

use super::engine::{attempt_tag, distinct_run_tags};
use super::listing::build;
use super::{TaskScope, UiQuery, catalog};
use crate::binds::Statement;
use crate::dialect::Dialect;
use crate::{Result, RunRow};

/// Tags as a JSON list; a missing list is `[]`, as upstream serialises it.
pub(crate) fn tags<S: Serializer>(v: &Option<Json<Value>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(Json(value)) if !value.is_null() => value.serialize(s),
        _ => Vec::<Value>::new().serialize(s),
    }
}

/// A flow row.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct UiFlow {
    pub flow_id: String,
    pub user_name: Option<String>,
    pub ts_epoch: i64,
    #[serde(serialize_with = "tags")]
    pub tags: Option<Json<Value>>,
    #[serde(serialize_with = "tags")]
    pub system_tags: Option<Json<Value>>,
}

/// An artifact row.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct UiArtifact {
    pub flow_id: String,
    pub run_number: i64,
    pub run_id: Option<String>,
    pub step_name: String,
    pub task_id: i64,
    pub task_name: Option<String>,
    pub name: String,
    pub location: String,
    pub ds_type: String,
    pub sha: Option<String>,
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub type_: Option<String>,
    pub content_type: Option<String>,
    pub user_name: Option<String>,
    pub attempt_id: i64,
    pub ts_epoch: i64,
    #[serde(serialize_with = "tags")]
    pub tags: Option<Json<Value>>,
    #[serde(serialize_with = "tags")]
    pub system_tags: Option<Json<Value>>,
}

/// A metadata row.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct UiMetadata {
    pub id: i64,
    pub flow_id: String,
    pub run_number: i64,
    pub run_id: Option<String>,
    pub step_name: String,
    pub task_id: i64,
    pub task_name: Option<String>,
    pub field_name: String,
    pub value: String,
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub type_: String,
    pub user_name: Option<String>,
    pub ts_epoch: i64,
    /// From the row's `attempt_id:N` tag.
    pub attempt_id: Option<i64>,
    #[serde(serialize_with = "tags")]
    pub tags: Option<Json<Value>>,
    #[serde(serialize_with = "tags")]
    pub system_tags: Option<Json<Value>>,
}

pub(crate) fn flows(dialect: Dialect, flow_id: Option<&str>, query: &UiQuery) -> Result<Statement> {
    let mut s = Statement::default();
    let scope = match flow_id {
        Some(f) => format!("f.flow_id = ${}", s.bind(f)),
        None => "1 = 1".into(),
    };
    s.text = format!(
        "SELECT f.flow_id, f.user_name, f.ts_epoch, f.tags, f.system_tags FROM flows_v3 f \
         WHERE {scope}"
    );
    build(dialect, &catalog::FLOWS, s, &[], query)
}

/// `{a}.flow_id = … AND …` for a run, step or task scope over alias `a`.
fn child_scope(alias: &str, run: &RunRow, scope: TaskScope<'_>, s: &mut Statement) -> String {
    let mut clauses = vec![
        format!("{alias}.flow_id = ${}", s.bind(run.flow_id.as_str())),
        format!("{alias}.run_number = ${}", s.bind(run.run_number)),
    ];
    if let Some(step) = scope.step_name {
        clauses.push(format!("{alias}.step_name = ${}", s.bind(step)));
    }
    if let Some(task) = scope.task_id {
        clauses.push(format!("{alias}.task_id = ${}", s.bind(task)));
    }
    clauses.join(" AND ")
}

const RUN_JOIN: &str = "JOIN runs_v3 rr ON rr.flow_id = o.flow_id AND rr.run_number = o.run_number";

pub(crate) fn artifacts(
    dialect: Dialect,
    run: &RunRow,
    scope: TaskScope<'_>,
    query: &UiQuery,
) -> Result<Statement> {
    let mut s = Statement::default();
    let scope = child_scope("o", run, scope, &mut s);
    s.text = format!(
        "SELECT o.flow_id, CAST(o.run_number AS BIGINT) AS run_number, o.run_id, o.step_name, \
         CAST(o.task_id AS BIGINT) AS task_id, o.task_name, o.name, o.location, o.ds_type, o.sha, \
         o.type, o.content_type, o.user_name, CAST(o.attempt_id AS BIGINT) AS attempt_id, \
         o.ts_epoch, rr.tags, rr.system_tags FROM artifact_v3 o {RUN_JOIN} WHERE {scope}"
    );
    build(dialect, &catalog::ARTIFACTS, s, &[], query)
}

pub(crate) fn metadata(
    dialect: Dialect,
    run: &RunRow,
    scope: TaskScope<'_>,
    query: &UiQuery,
) -> Result<Statement> {
    let mut s = Statement::default();
    let scope = child_scope("o", run, scope, &mut s);
    s.text = format!(
        "SELECT CAST(o.id AS BIGINT) AS id, o.flow_id, CAST(o.run_number AS BIGINT) AS run_number, \
         o.run_id, o.step_name, CAST(o.task_id AS BIGINT) AS task_id, o.task_name, o.field_name, \
         o.value, o.type, o.user_name, o.ts_epoch, {attempt} AS attempt_id, rr.tags, \
         rr.system_tags FROM metadata_v3 o {RUN_JOIN} WHERE {scope}",
        attempt = attempt_tag(dialect, "o.tags"),
    );
    build(dialect, &catalog::METADATA, s, &[], query)
}

pub(crate) fn artifact_names(dialect: Dialect, run: &RunRow, query: &UiQuery) -> Result<Statement> {
    let mut s = Statement::default();
    let scope = child_scope("o", run, TaskScope::default(), &mut s);
    s.text = format!("SELECT DISTINCT o.name FROM artifact_v3 o WHERE {scope}");
    build(dialect, &catalog::ARTIFACT_NAMES, s, &[], query)
}

pub(crate) fn flow_names(dialect: Dialect, query: &UiQuery) -> Result<Statement> {
    let s = Statement {
        text: "SELECT f.flow_id FROM flows_v3 f".into(),
        args: Vec::new(),
    };
    build(dialect, &catalog::FLOW_NAMES, s, &[], query)
}

pub(crate) fn tag_names(dialect: Dialect, query: &UiQuery) -> Result<Statement> {
    let s = Statement {
        text: distinct_run_tags(dialect).into(),
        args: Vec::new(),
    };
    build(dialect, &catalog::TAG_NAMES, s, &[], query)
}

/// The latest `ds-type` and `ds-root` rows of a task: `(field_name, value)`.
pub(crate) fn task_datastore(run: &RunRow, step_name: &str, task_id: i64) -> Statement {
    let mut s = Statement::default();
    s.text = format!(
        "SELECT m.field_name, m.value FROM metadata_v3 m WHERE m.flow_id = ${} \
         AND m.run_number = ${} AND m.step_name = ${} AND m.task_id = ${} \
         AND m.field_name IN ('ds-type', 'ds-root') ORDER BY m.ts_epoch, m.id",
        s.bind(run.flow_id.as_str()),
        s.bind(run.run_number),
        s.bind(step_name),
        s.bind(task_id)
    );
    s
}
