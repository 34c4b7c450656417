//! Metadata (`metadata_v3`, spec 4.7): the row, batch inserts, and the listings.

use async_trait::async_trait;
use mfstack_api_types as api;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;

use crate::binds::{Arg, Statement, values_list};
use crate::sql_store::{SqlStore, bind_task_key, now_ms, task_scope};
use crate::{Page, PageRequest, Result, RunRow, TaskRow, json};

/// A row of `metadata_v3`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MetadataRow {
    pub id: i64,
    pub flow_id: String,
    pub run_number: i64,
    pub run_id: Option<String>,
    pub step_name: String,
    /// Internal id of the parent task.
    pub task_id: i64,
    pub task_name: Option<String>,
    pub field_name: String,
    pub value: String,
    #[sqlx(rename = "type")]
    pub type_: String,
    pub user_name: Option<String>,
    /// Epoch milliseconds.
    pub ts_epoch: i64,
    /// The row's own tags: metadata is not grafted with its run's.
    pub tags: Option<Json<Value>>,
    pub system_tags: Option<Json<Value>>,
}

impl MetadataRow {
    /// Wire form (spec 3.6).
    pub fn into_wire(self) -> api::Metadata {
        api::Metadata {
            id: self.id,
            run_number: api::ExposedId::pick(self.run_id.as_deref(), self.run_number),
            task_id: api::ExposedId::pick(self.task_name.as_deref(), self.task_id),
            flow_id: self.flow_id,
            step_name: self.step_name,
            field_name: self.field_name,
            value: self.value,
            type_: self.type_,
            user_name: self.user_name,
            ts_epoch: self.ts_epoch,
            tags: json(self.tags),
            system_tags: json(self.system_tags),
        }
    }
}

/// A metadata row to insert under a resolved task.
#[derive(Debug, Clone)]
pub struct NewMetadataRow {
    pub field_name: String,
    pub value: String,
    pub type_: String,
    pub user_name: Option<String>,
    pub tags: Option<Value>,
    pub system_tags: Option<Value>,
}

/// Cursor of the metadata listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataCursor {
    pub ts_epoch: i64,
    /// Row id.
    pub id: i64,
}

/// Which metadata a listing covers.
#[derive(Debug, Clone, Copy)]
pub enum MetadataScope<'a> {
    Run(&'a RunRow),
    Task(&'a TaskRow),
}

/// Statement text, shared with the benchmark.
pub mod sql {
    use super::*;

    /// Columns as [`MetadataRow`] reads them.
    pub const COLUMNS: &str = "id, flow_id, CAST(run_number AS BIGINT) AS run_number, run_id, \
         step_name, task_id, task_name, field_name, value, type, user_name, ts_epoch, tags, system_tags";

    /// Placeholders per inserted row.
    pub const INSERT_COLUMNS: usize = 13;

    /// A multi-row insert of `rows` metadata rows (duplicates are allowed, spec 4.7.1).
    pub fn insert(rows: usize) -> String {
        insert_from(&format!("VALUES {}", values_list(rows, INSERT_COLUMNS)))
    }

    /// The insert of [`insert`], its rows from `source` (a `VALUES` list or a `SELECT`).
    pub fn insert_from(source: &str) -> String {
        format!(
            "INSERT INTO metadata_v3 (flow_id, run_number, run_id, step_name, task_id, task_name, \
             field_name, value, type, user_name, ts_epoch, tags, system_tags) {source}"
        )
    }

    /// The values of one inserted row, in the order of [`insert`]'s columns.
    pub fn bind_row(task: &TaskRow, m: &NewMetadataRow, args: &mut Vec<Arg>) {
        bind_task_key(task, args);
        args.extend([
            m.field_name.as_str().into(),
            m.value.as_str().into(),
            m.type_.as_str().into(),
            m.user_name.clone().into(),
            now_ms().into(),
            m.tags.as_ref().into(),
            m.system_tags.as_ref().into(),
        ]);
    }

    /// A scope's metadata, newest first; every row, or one page when `page` is given.
    pub fn list(scope: MetadataScope<'_>, page: Option<&PageRequest<MetadataCursor>>) -> Statement {
        let mut s = Statement::default();
        let mut clauses = vec![match scope {
            MetadataScope::Run(run) => format!(
                "flow_id = ${} AND run_number = ${}",
                s.bind(run.flow_id.as_str()),
                s.bind(run.run_number)
            ),
            MetadataScope::Task(task) => task_scope(task, &mut s),
        }];
        let mut limit = String::new();
        if let Some(page) = page {
            if let Some(c) = &page.after {
                clauses.push(format!(
                    "(ts_epoch, id) < (${}, ${})",
                    s.bind(c.ts_epoch),
                    s.bind(c.id)
                ));
            }
            limit = format!(" LIMIT ${}", s.bind(page.fetch_limit()));
        }
        s.text = format!(
            "SELECT {COLUMNS} FROM metadata_v3 WHERE {} ORDER BY ts_epoch DESC, id DESC{limit}",
            clauses.join(" AND ")
        );
        s
    }
}

/// What the service asks of metadata.
#[async_trait]
pub trait MetadataStore: Send + Sync {
    /// Insert a batch in one transaction; the number inserted.
    async fn create_metadata(&self, task: &TaskRow, items: &[NewMetadataRow]) -> Result<u64>;
    /// Metadata of a scope, newest first; every row or one page.
    async fn list_metadata(
        &self,
        scope: MetadataScope<'_>,
        page: Option<&PageRequest<MetadataCursor>>,
    ) -> Result<Page<MetadataRow>>;
}

#[async_trait]
impl MetadataStore for SqlStore {
    async fn create_metadata(&self, task: &TaskRow, items: &[NewMetadataRow]) -> Result<u64> {
        if items.is_empty() {
            return Ok(0);
        }
        let batch = (task.clone(), items.to_vec());
        self.writes.metadata.submit(batch, items.len()).await
    }

    async fn list_metadata(
        &self,
        scope: MetadataScope<'_>,
        page: Option<&PageRequest<MetadataCursor>>,
    ) -> Result<Page<MetadataRow>> {
        let rows = self
            .all(&self.reader, sql::list(scope, page), "metadata")
            .await?;
        Ok(SqlStore::paged(rows, page.map(|p| p.limit)))
    }
}
