//! Flows (`flows_v3`, spec 4.2): the row, its statements and its queries.

use async_trait::async_trait;
use mfstack_api_types as api;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;

use crate::binds::Statement;
use crate::sql_store::{SqlStore, now_ms};
use crate::{Page, PageRequest, Result, json};

/// A row of `flows_v3`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FlowRow {
    pub flow_id: String,
    pub user_name: Option<String>,
    /// Epoch milliseconds.
    pub ts_epoch: i64,
    pub tags: Option<Json<Value>>,
    pub system_tags: Option<Json<Value>>,
}

impl FlowRow {
    /// Wire form (spec 3.1).
    pub fn into_wire(self) -> api::Flow {
        api::Flow {
            flow_id: self.flow_id,
            user_name: self.user_name,
            ts_epoch: self.ts_epoch,
            tags: json(self.tags),
            system_tags: json(self.system_tags),
        }
    }
}

/// Cursor of `GET /flows` (spec 2.8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowCursor {
    pub ts_epoch: i64,
    pub flow_id: String,
}

/// Statement text, shared with the benchmark.
pub mod sql {
    /// Columns as [`super::FlowRow`] reads them.
    pub const COLUMNS: &str = "flow_id, user_name, ts_epoch, tags, system_tags";

    /// `$1` flow, `$2` user, `$3` ts_epoch, `$4` tags, `$5` system tags.
    pub fn insert() -> String {
        format!(
            "INSERT INTO flows_v3 (flow_id, user_name, ts_epoch, tags, system_tags) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
        )
    }

    pub fn get() -> String {
        format!("SELECT {COLUMNS} FROM flows_v3 WHERE flow_id = $1")
    }
}

/// What the service asks of flows.
#[async_trait]
pub trait FlowStore: Send + Sync {
    /// Insert a flow. `Duplicate` when it exists.
    async fn create_flow(
        &self,
        flow_id: &str,
        user_name: Option<&str>,
        tags: Option<&Value>,
        system_tags: Option<&Value>,
    ) -> Result<FlowRow>;
    async fn get_flow(&self, flow_id: &str) -> Result<Option<FlowRow>>;
    /// Every flow (`None`) or one keyset page.
    async fn list_flows(&self, page: Option<&PageRequest<FlowCursor>>) -> Result<Page<FlowRow>>;
}

#[async_trait]
impl FlowStore for SqlStore {
    async fn create_flow(
        &self,
        flow_id: &str,
        user_name: Option<&str>,
        tags: Option<&Value>,
        system_tags: Option<&Value>,
    ) -> Result<FlowRow> {
        let statement = Statement {
            text: sql::insert(),
            args: vec![
                flow_id.into(),
                user_name.into(),
                now_ms().into(),
                tags.into(),
                system_tags.into(),
            ],
        };
        self.inserted(statement, &format!("flow {flow_id}")).await
    }

    async fn get_flow(&self, flow_id: &str) -> Result<Option<FlowRow>> {
        let statement = Statement {
            text: sql::get(),
            args: vec![flow_id.into()],
        };
        self.one(&self.reader, statement, "flow").await
    }

    async fn list_flows(&self, page: Option<&PageRequest<FlowCursor>>) -> Result<Page<FlowRow>> {
        let mut s = Statement {
            text: format!("SELECT {} FROM flows_v3", sql::COLUMNS),
            args: vec![],
        };
        if let Some(page) = page {
            if let Some(c) = &page.after {
                let after = format!(
                    " WHERE (ts_epoch, flow_id) < (${}, ${})",
                    s.bind(c.ts_epoch),
                    s.bind(c.flow_id.as_str())
                );
                s.text += &after;
            }
            let order = format!(
                " ORDER BY ts_epoch DESC, flow_id DESC LIMIT ${}",
                s.bind(page.fetch_limit())
            );
            s.text += &order;
        }
        let rows = self.all(&self.reader, s, "flows").await?;
        Ok(SqlStore::paged(rows, page.map(|p| p.limit)))
    }
}
