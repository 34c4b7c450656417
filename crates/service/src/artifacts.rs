//! Artifacts (spec 4.6): batch create, the listings with latest-attempt semantics, and the
//! `/attempt/{n}` variants.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use mfstack_api_types::{ArtifactsCreated, NewArtifact};
use mfstack_store::{
    ArtifactCursor, ArtifactRow, ArtifactScope, NewArtifactRow, Page, PageRequest, RunRow,
};

use crate::AppState;
use crate::error::{ApiResult, ServiceError};
use crate::events;
use crate::extract::{Batch, check_name, check_tag_budget, fits};
use crate::listing::{PageInfo, Params, json, listing};
use crate::resolve::{self, Ids};

type TaskPath = (String, String, String, String);

/// Artifact routes.
pub fn router() -> Router<AppState> {
    let task = "/flows/{flow_id}/runs/{run}/steps/{step}/tasks/{task}";
    Router::new()
        .route(&format!("{task}/artifact"), axum::routing::post(create))
        .route(&format!("{task}/artifacts"), get(list_task))
        .route(
            &format!("{task}/attempt/{{attempt}}/artifacts"),
            get(list_attempt),
        )
        .route(&format!("{task}/artifacts/{{name}}"), get(get_latest))
        .route(
            &format!("{task}/artifacts/{{name}}/attempt/{{attempt}}"),
            get(get_at_attempt),
        )
        .route(
            "/flows/{flow_id}/runs/{run}/steps/{step}/artifacts",
            get(list_step),
        )
        .route("/flows/{flow_id}/runs/{run}/artifacts", get(list_run))
}

/// 4.6.1. Rows that could not be stored (a field wider than the schema's 255 characters, an attempt
/// outside the column's range) and duplicates are skipped and not counted, as in the reference.
async fn create(
    State(state): State<AppState>,
    Ids((flow_id, run, step, task)): Ids<TaskPath>,
    Batch(items): Batch<NewArtifact>,
) -> ApiResult<Response> {
    check_tag_budget(items.iter().flat_map(|a| [&a.tags, &a.system_tags]))?;
    let task_row = resolve::task_only(&state, &flow_id, &run, &step, &task)
        .await?
        .ok_or(ServiceError::NotRegistered)?;
    let rows: Vec<NewArtifactRow> = items
        .into_iter()
        .filter(|a| {
            i16::try_from(a.attempt_id).is_ok()
                && fits(&[
                    a.name.as_deref(),
                    a.location.as_deref(),
                    a.ds_type.as_deref(),
                    a.sha.as_deref(),
                    a.type_.as_deref(),
                    a.content_type.as_deref(),
                    a.user_name.as_deref(),
                ])
                && a.name.is_some()
                && a.location.is_some()
                && a.ds_type.is_some()
        })
        .map(|a| NewArtifactRow {
            name: a.name.unwrap_or_default(),
            location: a.location.unwrap_or_default(),
            ds_type: a.ds_type.unwrap_or_default(),
            sha: a.sha,
            type_: a.type_,
            content_type: a.content_type,
            attempt_id: a.attempt_id,
            user_name: a.user_name,
            tags: a.tags.map(|t| t.to_value()),
            system_tags: a.system_tags.map(|t| t.to_value()),
        })
        .collect();
    let created = state.store.create_artifacts(&task_row, &rows).await?;
    if created > 0 {
        state.announce(|| events::artifacts_written(&task_row, &rows));
    }
    Ok(json(&ArtifactsCreated {
        artifacts_created: created,
    }))
}

/// Keep each task's artifacts of its highest attempt only (spec 4.6.0).
fn latest_attempts(rows: Vec<ArtifactRow>) -> Vec<ArtifactRow> {
    // Keyed by the internal task id, which names the same task as its exposed id.
    let mut max: HashMap<i64, i64> = HashMap::new();
    for r in &rows {
        let e = max.entry(r.task_id).or_insert(r.attempt_id);
        *e = (*e).max(r.attempt_id);
    }
    rows.into_iter()
        .filter(|r| max.get(&r.task_id) == Some(&r.attempt_id))
        .collect()
}

/// A listing over a scope: legacy rows with latest-attempt semantics, or a page (spec 4.6.6).
async fn scoped(
    state: &AppState,
    run: &RunRow,
    scope: ArtifactScope<'_>,
    q: Option<String>,
) -> ApiResult<Response> {
    let params = Params::parse(q.as_deref());
    let page: Option<PageRequest<ArtifactCursor>> = if params.wants_page() {
        Some(params.page()?)
    } else {
        None
    };
    let Page { rows, has_more } = state.store.list_artifacts(scope, page.as_ref()).await?;
    let info = page.as_ref().map(|p| {
        PageInfo::of(p.limit, has_more, &rows, |r| ArtifactCursor {
            ts_epoch: r.ts_epoch,
            task_id: r.task_id,
            name: r.name.clone(),
        })
    });
    let rows = if page.is_some() {
        rows
    } else {
        latest_attempts(rows)
    };
    let tags = run.inherited_tags();
    let out: Vec<_> = rows.iter().map(|r| r.as_wire(&tags)).collect();
    Ok(listing(&out, info))
}

fn empty(q: Option<String>) -> ApiResult<Response> {
    let params = Params::parse(q.as_deref());
    let info = if params.wants_page() {
        Some(PageInfo {
            limit: params.page::<ArtifactCursor>()?.limit,
            next: None,
        })
    } else {
        None
    };
    Ok(listing::<()>(&[], info))
}

/// 4.6.2.
async fn list_task(
    State(state): State<AppState>,
    Ids((flow_id, run, step, task)): Ids<TaskPath>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    match resolve::task(&state, &flow_id, &run, &step, &task).await? {
        Some((run_row, task_row)) => {
            scoped(&state, &run_row, ArtifactScope::Task(&task_row), q).await
        }
        None => empty(q),
    }
}

/// 4.6.6, step scope.
async fn list_step(
    State(state): State<AppState>,
    Ids((flow_id, run, step)): Ids<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    check_name("step name", &step)?;
    match resolve::run(&state, &flow_id, &run).await? {
        Some(run_row) => scoped(&state, &run_row, ArtifactScope::Step(&run_row, &step), q).await,
        None => empty(q),
    }
}

/// 4.6.6, run scope.
async fn list_run(
    State(state): State<AppState>,
    Ids((flow_id, run)): Ids<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    match resolve::run(&state, &flow_id, &run).await? {
        Some(run_row) => scoped(&state, &run_row, ArtifactScope::Run(&run_row), q).await,
        None => empty(q),
    }
}

fn attempt_number(raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| {
        ServiceError::BadRequest(format!("attempt must be a whole number, got '{raw}'"))
    })
}

/// 4.6.3.
async fn list_attempt(
    State(state): State<AppState>,
    Ids((flow_id, run, step, task, attempt)): Ids<(String, String, String, String, String)>,
) -> ApiResult<Response> {
    let attempt = attempt_number(&attempt)?;
    let Some((run_row, task_row)) = resolve::task(&state, &flow_id, &run, &step, &task).await?
    else {
        return Ok(listing::<()>(&[], None));
    };
    let page = state
        .store
        .list_artifacts(ArtifactScope::TaskAttempt(&task_row, attempt), None)
        .await?;
    let tags = run_row.inherited_tags();
    let out: Vec<_> = page.rows.iter().map(|r| r.as_wire(&tags)).collect();
    Ok(listing(&out, None))
}

/// 4.6.4: the attempt is the newest one that wrote the artifact called `name`.
async fn get_latest(
    State(state): State<AppState>,
    Ids((flow_id, run, step, task, name)): Ids<(String, String, String, String, String)>,
) -> ApiResult<Response> {
    check_name("artifact name", &name)?;
    let (run_row, task_row) = resolve::task(&state, &flow_id, &run, &step, &task)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let attempt = state.store.latest_attempt(&task_row).await?.unwrap_or(0);
    let row = state
        .store
        .get_artifact(&task_row, &name, attempt)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok(json(&row.into_wire(&run_row.inherited_tags())))
}

/// 4.6.5.
async fn get_at_attempt(
    State(state): State<AppState>,
    Ids((flow_id, run, step, task, name, attempt)): Ids<(
        String,
        String,
        String,
        String,
        String,
        String,
    )>,
) -> ApiResult<Response> {
    check_name("artifact name", &name)?;
    let attempt = attempt_number(&attempt)?;
    let (run_row, task_row) = resolve::task(&state, &flow_id, &run, &step, &task)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let row = state
        .store
        .get_artifact(&task_row, &name, attempt)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok(json(&row.into_wire(&run_row.inherited_tags())))
}
