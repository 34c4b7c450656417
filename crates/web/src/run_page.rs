//! `/flows/{flow}/runs/{run}`: the run's header and parameters, its DAG, its timeline, and the
//! tasks of each step.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use mfstack_store::{TaskScope, UiOrder, UiQuery, UiRun, UiTask};
use serde::Deserialize;

use crate::dag::{self, StepSummary};
use crate::error::WebError;
use crate::layout::{self, run_href, task_href};
use crate::runs_page::now_ms;
use crate::{WebState, task_data, timeline};

/// Task rows listed per step unless the URL asks for all of them.
const TASKS_SHOWN: usize = 100;
/// Attempts read for one run page; far above any run the timeline is meant for.
const MAX_ATTEMPTS: u32 = 10_000;

#[derive(Debug, Default, Deserialize)]
pub struct RunView {
    /// A step whose whole task list to show.
    pub all: Option<String>,
}

pub async fn handler(
    State(state): State<WebState>,
    Path((flow, run_key)): Path<(String, String)>,
    Query(view): Query<RunView>,
) -> Result<Response, WebError> {
    let run = task_data::run(&state, &flow, &run_key).await?;
    let row = state.store.ui_run(&run).await?.ok_or(WebError::NotFound)?;
    let mut q = UiQuery::first(1000);
    q.order = vec![UiOrder {
        column: "ts_epoch".into(),
        ascending: true,
    }];
    let steps: Vec<String> = state
        .store
        .ui_steps(&run, None, &q)
        .await?
        .into_iter()
        .map(|s| s.step_name)
        .filter(|s| s != "_parameters")
        .collect();
    // The listing's default order keeps the query on stored columns; attempts are put in start
    // order here.
    let mut tasks: Vec<UiTask> = state
        .store
        .ui_tasks(&run, TaskScope::default(), &UiQuery::first(MAX_ATTEMPTS))
        .await?
        .into_iter()
        .filter(|t| t.step_name != "_parameters")
        .collect();
    tasks.sort_by_key(|t| (t.started_at.unwrap_or(t.ts_epoch), t.task_id, t.attempt_id));
    let (params, graph) = match &state.datastore {
        Some(ds) => task_data::parameters_and_dag(&state, ds, &run).await?,
        None => (Vec::new(), None),
    };
    let latest = latest_attempts(&tasks);
    let summaries = summaries(&latest);
    let title = format!("{}/{}", row.flow_id, row.run);
    let body = html! {
        (header(&row, &params))
        section #dag data-live="running" aria-labelledby="dag-h" {
            h2 #dag-h { "Steps" }
            @match &graph {
                Some(g) => (dag::render(g, &summaries, &steps)),
                None => (dag::render(&serde_json::Value::Null, &summaries, &steps)),
            }
        }
        section #timeline data-live="running" aria-labelledby="tl-h" {
            h2 #tl-h { "Timeline" }
            (timeline::render(&steps, &tasks, &row.run, now_ms()))
        }
        section #tasks data-live="running" aria-labelledby="tasks-h" {
            h2 #tasks-h { "Tasks" }
            @for step in &steps {
                (task_list(&row, step, latest.get(step.as_str()), &summaries, view.all.as_deref() == Some(step)))
            }
        }
    };
    let crumbs = [
        (
            row.flow_id.clone(),
            format!("/?flow={}", crate::format::encode(&row.flow_id)),
        ),
        (row.run.clone(), run_href(&row.flow_id, &row.run)),
    ];
    let api_run = format!(
        "/flows/{}/runs/{}",
        crate::format::encode(&row.flow_id),
        crate::format::encode(&row.run)
    );
    let watch = [api_run.clone(), format!("{api_run}/tasks")];
    Ok(layout::page_with_api(&title, &crumbs, body, &state.api_prefix, &watch).into_response())
}

/// Per step, the latest attempt of each task (and how many it had), by task id.
fn latest_attempts(tasks: &[UiTask]) -> HashMap<&str, BTreeMap<i64, (&UiTask, usize)>> {
    let mut out: HashMap<&str, BTreeMap<i64, (&UiTask, usize)>> = HashMap::new();
    for t in tasks {
        let entry = out
            .entry(&t.step_name)
            .or_default()
            .entry(t.task_id)
            .or_insert((t, 0));
        entry.1 += 1;
        if t.attempt_id > entry.0.attempt_id {
            entry.0 = t;
        }
    }
    out
}

/// A step is running while any task runs, failed if any task's last attempt failed.
fn summaries(
    latest: &HashMap<&str, BTreeMap<i64, (&UiTask, usize)>>,
) -> HashMap<String, StepSummary> {
    latest
        .iter()
        .map(|(step, tasks)| {
            let has = |s: &str| tasks.values().any(|(t, _)| t.status == s);
            let status = if has("running") {
                "running"
            } else if has("failed") {
                "failed"
            } else if tasks.values().all(|(t, _)| t.status == "completed") {
                "completed"
            } else {
                "unknown"
            };
            (
                step.to_string(),
                StepSummary {
                    status: status.into(),
                    tasks: tasks.len(),
                },
            )
        })
        .collect()
}

fn header(row: &UiRun, params: &[(String, String)]) -> Markup {
    let tags = layout::tag_list(row.tags.as_ref().map(|j| &j.0));
    let user = row
        .user
        .as_deref()
        .or(row.user_name.as_deref())
        .unwrap_or("—");
    html! {
        div #run-head data-live="running" data-status=(row.status) data-start=(row.ts_epoch) {
        h1 { (row.flow_id) " / " (row.run) " " (layout::status(&row.status)) }
        dl.facts {
            div { dt { "User" } dd { (user) } }
            div { dt { "Started" } dd { (layout::time(Some(row.ts_epoch))) } }
            div { dt { "Finished" } dd { (layout::time(row.finished_at)) } }
            div { dt { "Duration" } dd.duration { (layout::duration(row.duration)) } }
            div { dt { "Tags" } dd { @if tags.is_empty() { span.muted { "none" } } (layout::tags(&tags)) } }
        }
        @if !params.is_empty() {
            h2 { "Parameters" }
            table.kv { tbody { @for (k, v) in params { tr { th scope="row" { (k) } td { code { (v) } } } } } }
        }
        }
    }
}

fn task_list(
    run: &UiRun,
    step: &str,
    tasks: Option<&BTreeMap<i64, (&UiTask, usize)>>,
    summaries: &HashMap<String, StepSummary>,
    show_all: bool,
) -> Markup {
    let status = summaries
        .get(step)
        .map(|s| s.status.as_str())
        .unwrap_or("not started");
    let rows: Vec<&(&UiTask, usize)> = tasks.map(|t| t.values().collect()).unwrap_or_default();
    let shown = if show_all {
        rows.len()
    } else {
        rows.len().min(TASKS_SHOWN)
    };
    html! {
        section.step #{ "step-" (step) } tabindex="-1" {
            h3 { (step) " " (layout::status(status)) " " span.muted { (rows.len()) @if rows.len() == 1 { " task" } @else { " tasks" } } }
            @if !rows.is_empty() {
                div.scroll { table.tasks {
                    thead { tr { th scope="col" { "Task" } th scope="col" { "Status" } th scope="col" { "Attempts" }
                        th scope="col" { "Started" } th scope="col" { "Duration" } } }
                    tbody {
                        @for (t, attempts) in &rows[..shown] {
                            tr {
                                td { a href=(task_href(&run.flow_id, &run.run, step, &t.task_id.to_string())) { (t.task_id) } }
                                td { (layout::status(&t.status)) }
                                td { (attempts) }
                                td { (layout::time(t.started_at)) }
                                td { (layout::duration(t.duration)) }
                            }
                        }
                    }
                } }
                @if shown < rows.len() {
                    p { a href={ "?all=" (crate::format::encode(step)) "#step-" (step) } { "Show all " (rows.len()) " tasks of " (step) } }
                }
            }
        }
    }
}
