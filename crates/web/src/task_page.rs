//! `/flows/{flow}/runs/{run}/steps/{step}/tasks/{task}`: one attempt of a task (the latest unless
//! `?attempt=N`): its status, times and foreach label, stdout and stderr, artifacts, metadata and
//! cards. Cards come from the UI API's card route into a sandboxed frame.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use mfstack_datastore::{CardInfo, LogOrder, LogPage, LogPageRequest, LogStream};
use mfstack_store::{TaskScope, UiMetadata, UiOrder, UiQuery, UiTask};
use serde::Deserialize;

use crate::error::WebError;
use crate::format::encode;
use crate::layout::{self, run_href, task_href};
use crate::{WebState, task_data};

/// Log lines rendered with the page; the script pages through the rest.
pub const LOG_LINES: u64 = 2000;
/// Characters of an artifact's value shown before it is cut.
const VALUE_CHARS: usize = 20_000;

#[derive(Debug, Default, Deserialize)]
pub struct TaskView {
    pub attempt: Option<i64>,
}

/// What the page shows of the chosen attempt, read from the datastore.
#[derive(Default)]
struct Contents {
    out: Option<LogPage>,
    err: Option<LogPage>,
    artifacts: Vec<(String, String, Result<String, String>)>,
    cards: Vec<CardInfo>,
}

pub async fn handler(
    State(state): State<WebState>,
    Path((flow, run_key, step, task_key)): Path<(String, String, String, String)>,
    Query(view): Query<TaskView>,
) -> Result<Response, WebError> {
    let run = task_data::run(&state, &flow, &run_key).await?;
    let task = task_data::task(&state, &run, &step, &task_key).await?;
    let scope = TaskScope {
        step_name: Some(&step),
        task_id: Some(task.task_id),
    };
    let mut q = UiQuery::first(1000);
    q.order = vec![UiOrder {
        column: "attempt_id".into(),
        ascending: false,
    }];
    let attempts = state.store.ui_tasks(&run, scope, &q).await?;
    let chosen = match view.attempt {
        Some(n) => attempts
            .iter()
            .find(|a| a.attempt_id == n)
            .ok_or(WebError::NotFound)?,
        None => attempts.first().ok_or(WebError::NotFound)?,
    };
    let metadata: Vec<UiMetadata> = state
        .store
        .ui_metadata(&run, scope, &UiQuery::first(1000))
        .await?
        .into_iter()
        .filter(|m| m.attempt_id.is_none_or(|a| a == chosen.attempt_id))
        .collect();
    let contents = contents(&state, &run, &task, chosen).await?;
    let run_name = run
        .run_id
        .clone()
        .unwrap_or_else(|| run.run_number.to_string());
    let here = task_href(&flow, &run_name, &step, &task.task_id.to_string());
    let api = format!("{}{here}", state.api_prefix);
    let attempt_q = format!("attempt_id={}", chosen.attempt_id);
    let body = html! {
        (header(chosen, &attempts, &metadata, &here))
        (log_box("stdout", "out", contents.out.as_ref(), &api, &attempt_q))
        (log_box("stderr", "err", contents.err.as_ref(), &api, &attempt_q))
        (artifacts(&contents.artifacts))
        (cards(&contents.cards, &api, &attempt_q))
        (metadata_table(&metadata))
    };
    let crumbs = [
        (flow.clone(), format!("/?flow={}", encode(&flow))),
        (run_name.clone(), run_href(&flow, &run_name)),
        (format!("{step}/{}", task.task_id), here.clone()),
    ];
    let title = format!("{flow}/{run_name}/{step}/{}", task.task_id);
    let watch = [format!(
        "{}/steps/{}/tasks",
        run_href(&flow, &run_name),
        encode(&step)
    )];
    Ok(layout::page_with_api(&title, &crumbs, body, &state.api_prefix, &watch).into_response())
}

async fn contents(
    state: &WebState,
    run: &mfstack_store::RunRow,
    task: &mfstack_store::TaskRow,
    chosen: &UiTask,
) -> Result<Contents, WebError> {
    let Some(ds) = &state.datastore else {
        return Ok(Contents::default());
    };
    let mut out = Contents::default();
    let scope = TaskScope {
        step_name: Some(&task.step_name),
        task_id: Some(task.task_id),
    };
    for row in state
        .store
        .ui_artifacts(run, scope, &UiQuery::first(1000))
        .await?
    {
        if row.attempt_id != chosen.attempt_id {
            continue;
        }
        let value = ds.artifact_content(&task_data::artifact_ref(&row)).await;
        out.artifacts.push((
            row.name,
            row.type_.unwrap_or_default(),
            value.map_err(|e| e.detail),
        ));
    }
    out.artifacts
        .sort_by(|a, b| (a.0.starts_with('_'), &a.0).cmp(&(b.0.starts_with('_'), &b.0)));
    let Some((root, path)) = task_data::place(state, ds, run, task).await? else {
        return Ok(out);
    };
    let attempt = u32::try_from(chosen.attempt_id).unwrap_or(0);
    let page = LogPageRequest {
        page: 1,
        limit: LOG_LINES,
        order: LogOrder::Ascending,
    };
    out.out = ds
        .log_page(&root, &path, attempt, LogStream::Stdout, page)
        .await
        .ok();
    out.err = ds
        .log_page(&root, &path, attempt, LogStream::Stderr, page)
        .await
        .ok();
    out.cards = ds.cards(&root, &path).await.unwrap_or_default();
    Ok(out)
}

fn foreach_label(metadata: &[UiMetadata]) -> Option<String> {
    let m = metadata
        .iter()
        .rev()
        .find(|m| m.field_name == "foreach-stack")?;
    let trimmed = m.value.trim_matches(|c| c == '[' || c == ']');
    Some(
        trimmed
            .split(',')
            .map(|s| s.trim().trim_matches(['\'', '"']))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

fn header(chosen: &UiTask, attempts: &[UiTask], metadata: &[UiMetadata], here: &str) -> Markup {
    html! {
        div #task-head data-live="running" data-status=(chosen.status) {
        h1 { (chosen.step_name) " / " (chosen.task_id) " " (layout::status(&chosen.status)) }
        dl.facts {
            div { dt { "Attempt" } dd {
                @if attempts.len() > 1 {
                    nav.attempts aria-label="Attempts" {
                        @for a in attempts.iter().rev() {
                            @let current = a.attempt_id == chosen.attempt_id;
                            a href={ (here) "?attempt=" (a.attempt_id) } aria-current=[current.then_some("page")] {
                                (a.attempt_id) " " (layout::status(&a.status))
                            }
                        }
                    }
                } @else { (chosen.attempt_id) }
            } }
            div { dt { "Started" } dd { (layout::time(chosen.started_at)) } }
            div { dt { "Finished" } dd { (layout::time(chosen.finished_at)) } }
            div { dt { "Duration" } dd { (layout::duration(chosen.duration)) } }
            @if let Some(label) = foreach_label(metadata) { div { dt { "Foreach" } dd { code { (label) } } } }
        }
        }
    }
}

fn log_box(
    title: &str,
    stream: &str,
    page: Option<&LogPage>,
    api: &str,
    attempt_q: &str,
) -> Markup {
    let lines = page.map(|p| p.lines.as_slice()).unwrap_or_default();
    let total = page.map(|p| p.total_rows).unwrap_or(0);
    html! {
        section.logbox #{ "log-" (stream) } aria-labelledby={ "log-" (stream) "-h" }
            data-url={ (api) "/logs/" (stream) "?" (attempt_q) } data-total=(total) data-shown=(lines.len()) {
            div.logbar {
                h2 #{ "log-" (stream) "-h" } { (title) " " span.muted { (total) @if total == 1 { " line" } @else { " lines" } } }
                label { span.sr { "Search " (title) } input.logsearch type="search" placeholder={ "Search " (title) }; }
                output.logcount {}
                a href={ (api) "/logs/" (stream) "/download?" (attempt_q) } download { "Download" }
            }
            div #{ "log-" (stream) "-lines" } data-live="running" {
                @if lines.is_empty() { p.muted { "Nothing was written to " (title) "." } }
                @else {
                    ol.log start=(lines[0].row + 1) { @for l in lines { li { (l.line) } } }
                }
            }
            @if (lines.len() as u64) < total { button.more type="button" { "Load more lines" } }
        }
    }
}

fn artifacts(rows: &[(String, String, Result<String, String>)]) -> Markup {
    html! {
        section aria-labelledby="art-h" {
            h2 #art-h { "Artifacts" }
            @if rows.is_empty() { p.muted { "No artifacts." } }
            @for (name, kind, value) in rows {
                details.artifact open[!name.starts_with('_')] {
                    summary { code { (name) } " " span.muted { (kind) } }
                    @match value {
                        Ok(v) if v.chars().count() > VALUE_CHARS => {
                            pre { (v.chars().take(VALUE_CHARS).collect::<String>()) }
                            p.muted { "Cut at " (VALUE_CHARS) " characters." }
                        }
                        Ok(v) => pre { (v) },
                        Err(e) => p.error { "Cannot show this value: " (e) },
                    }
                }
            }
        }
    }
}

fn cards(cards: &[CardInfo], api: &str, attempt_q: &str) -> Markup {
    html! {
        @if !cards.is_empty() {
            section aria-labelledby="cards-h" {
                h2 #cards-h { "Cards" }
                @for c in cards {
                    @let name = c.id.clone().unwrap_or_else(|| c.card_type.clone());
                    h3 { (name) }
                    iframe.card sandbox="allow-scripts" loading="lazy" title={ "Card " (name) }
                        src={ (api) "/cards/" (encode(&c.hash)) "?" (attempt_q) } {}
                }
            }
        }
    }
}

fn metadata_table(rows: &[UiMetadata]) -> Markup {
    html! {
        section aria-labelledby="meta-h" {
            h2 #meta-h { "Metadata" }
            details {
                summary { (rows.len()) " fields" }
                div.scroll { table.kv {
                    thead { tr { th scope="col" { "Field" } th scope="col" { "Value" } th scope="col" { "Type" } } }
                    tbody { @for m in rows { tr { th scope="row" { (m.field_name) } td { code { (m.value) } } td { (m.type_) } } } }
                } }
            }
        }
    }
}
