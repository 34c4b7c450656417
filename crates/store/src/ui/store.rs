//! [`UiStore`] over both engines: each call builds its statement and reads from the reader pool.

use async_trait::async_trait;

use super::{
    Autocomplete, TaskDatastore, TaskScope, UiArtifact, UiFlow, UiMetadata, UiQuery, UiRun, UiStep,
    UiStore, UiTask, objects, runs, steps, tasks,
};
use crate::sql_store::{SqlStore, now_ms};
use crate::{Result, RunRow};

#[async_trait]
impl UiStore for SqlStore {
    async fn ui_flows(&self, query: &UiQuery) -> Result<Vec<UiFlow>> {
        let s = objects::flows(self.dialect, None, query)?;
        self.all(&self.reader, s, "flows").await
    }

    async fn ui_flow(&self, flow_id: &str) -> Result<Option<UiFlow>> {
        let s = objects::flows(self.dialect, Some(flow_id), &UiQuery::first(1))?;
        self.one(&self.reader, s, "flow").await
    }

    async fn ui_runs(&self, flow_id: Option<&str>, query: &UiQuery) -> Result<Vec<UiRun>> {
        let s = runs::list(self.dialect, flow_id, query, now_ms())?;
        self.all(&self.reader, s, "runs").await
    }

    async fn ui_run(&self, run: &RunRow) -> Result<Option<UiRun>> {
        let s = runs::one(self.dialect, run, now_ms())?;
        self.one(&self.reader, s, "run").await
    }

    async fn ui_steps(
        &self,
        run: &RunRow,
        step_name: Option<&str>,
        query: &UiQuery,
    ) -> Result<Vec<UiStep>> {
        let s = steps::list(self.dialect, run, step_name, query, now_ms())?;
        self.all(&self.reader, s, "steps").await
    }

    async fn ui_tasks(
        &self,
        run: &RunRow,
        scope: TaskScope<'_>,
        query: &UiQuery,
    ) -> Result<Vec<UiTask>> {
        let s = tasks::list(self.dialect, run, scope, query, now_ms())?;
        self.all(&self.reader, s, "tasks").await
    }

    async fn ui_artifacts(
        &self,
        run: &RunRow,
        scope: TaskScope<'_>,
        query: &UiQuery,
    ) -> Result<Vec<UiArtifact>> {
        let s = objects::artifacts(self.dialect, run, scope, query)?;
        self.all(&self.reader, s, "artifacts").await
    }

    async fn ui_metadata(
        &self,
        run: &RunRow,
        scope: TaskScope<'_>,
        query: &UiQuery,
    ) -> Result<Vec<UiMetadata>> {
        let s = objects::metadata(self.dialect, run, scope, query)?;
        self.all(&self.reader, s, "metadata").await
    }

    async fn ui_autocomplete(
        &self,
        what: Autocomplete<'_>,
        query: &UiQuery,
    ) -> Result<Vec<String>> {
        let s = match what {
            Autocomplete::Flows => objects::flow_names(self.dialect, query)?,
            Autocomplete::Tags => objects::tag_names(self.dialect, query)?,
            Autocomplete::Runs(flow_id) => runs::names(flow_id, query, self.dialect)?,
            Autocomplete::Steps(run) => steps::names(self.dialect, run, query)?,
            Autocomplete::Artifacts(run) => objects::artifact_names(self.dialect, run, query)?,
        };
        let rows: Vec<(String,)> = self.all(&self.reader, s, "names").await?;
        Ok(rows.into_iter().map(|(name,)| name).collect())
    }

    async fn ui_task_datastore(
        &self,
        run: &RunRow,
        step_name: &str,
        task_id: i64,
    ) -> Result<TaskDatastore> {
        let s = objects::task_datastore(run, step_name, task_id);
        let rows: Vec<(String, String)> = self.all(&self.reader, s, "task datastore").await?;
        let mut found = TaskDatastore::default();
        for (field, value) in rows {
            match field.as_str() {
                "ds-type" => found.ds_type = Some(value),
                _ => found.ds_root = Some(value),
            }
        }
        Ok(found)
    }
}
