//! Tasks (spec 4.5): create, get, list with filters, heartbeat, and `filtered_tasks`.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use mfstack_api_types::CreateTask;
use mfstack_store::{NewTask, StoreError, TaskCursor, is_numeric_id};

use crate::AppState;
use crate::error::{ApiResult, ServiceError};
use crate::events::Change;
use crate::extract::{JsonBody, check_name};
use crate::heartbeat::{self, heartbeat_capable};
use crate::listing::{PageInfo, Params, json, listing, task_query};
use crate::resolve::{self, Ids};

/// Task routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/flows/{flow_id}/runs/{run}/steps/{step}/task",
            post(create),
        )
        .route("/flows/{flow_id}/runs/{run}/steps/{step}/tasks", get(list))
        .route(
            "/flows/{flow_id}/runs/{run}/steps/{step}/tasks/{task}",
            get(get_one),
        )
        .route(
            "/flows/{flow_id}/runs/{run}/steps/{step}/tasks/{task}/heartbeat",
            post(beat),
        )
        .route(
            "/flows/{flow_id}/runs/{run}/steps/{step}/filtered_tasks",
            get(filtered),
        )
}

/// 4.5.1, with 400 for an all-digit task name and 404 for a missing run or step.
async fn create(
    State(state): State<AppState>,
    Ids((flow_id, run, step)): Ids<(String, String, String)>,
    JsonBody(body): JsonBody<CreateTask>,
) -> ApiResult<Response> {
    check_name("step name", &step)?;
    check_name("user_name", body.user_name.as_deref().unwrap_or_default())?;
    let task_name = body.task_id.filter(|id| !id.is_empty());
    if let Some(name) = &task_name {
        check_name("task id", name)?;
        if is_numeric_id(name) {
            return Err(ServiceError::BadRequest(
                "provided task_name may not be a numeric".into(),
            ));
        }
    }
    let run_row = resolve::run(&state, &flow_id, &run).await?.ok_or_else(|| {
        ServiceError::MissingParent(format!("run {run} of flow {flow_id} does not exist"))
    })?;
    let heartbeat = heartbeat_capable(body.system_tags.as_ref().map(|t| t.strings()).as_deref());
    let missing_step = format!("step {step} of run {run} does not exist; create it first");
    let row = state
        .store
        .create_task(
            &run_row,
            NewTask {
                step_name: step,
                task_name,
                user_name: body.user_name,
                tags: body.tags.map(|t| t.to_value()),
                system_tags: body.system_tags.map(|t| t.to_value()),
                heartbeat,
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::MissingParent(_) => ServiceError::MissingParent(missing_step),
            other => other.into(),
        })?;
    state.announce(|| Change::TaskCreated {
        flow_id: row.flow_id.clone(),
        run_number: row.run_number,
        step_name: row.step_name.clone(),
        task_id: row.task_id,
    });
    Ok(json(&row.into_wire(&run_row.inherited_tags())))
}

/// 4.5.3.
async fn get_one(
    State(state): State<AppState>,
    Ids((flow_id, run, step, task)): Ids<(String, String, String, String)>,
) -> ApiResult<Response> {
    let (run_row, row) = resolve::task(&state, &flow_id, &run, &step, &task)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok(json(&row.into_wire(&run_row.inherited_tags())))
}

/// 4.5.2.
async fn list(
    State(state): State<AppState>,
    Ids((flow_id, run, step)): Ids<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    check_name("step name", &step)?;
    let query = task_query(&Params::parse(q.as_deref()))?;
    let Some(run_row) = resolve::run(&state, &flow_id, &run).await? else {
        return Ok(listing::<()>(
            &[],
            query.map(|q| PageInfo {
                limit: q.page.limit,
                next: None,
            }),
        ));
    };
    let result = state
        .store
        .list_tasks(&run_row, &step, query.as_ref())
        .await?;
    let info = query.map(|q| {
        PageInfo::of(q.page.limit, result.has_more, &result.rows, |t| {
            TaskCursor {
                ts_epoch: t.ts_epoch,
                task_id: t.task_id,
            }
        })
    });
    let tags = run_row.inherited_tags();
    let tasks: Vec<_> = result
        .rows
        .into_iter()
        .map(|t| t.into_wire(&tags))
        .collect();
    Ok(listing(&tasks, info))
}

/// 4.5.4: the run's heartbeat is bumped too, since a live task means a live run.
async fn beat(
    State(state): State<AppState>,
    Ids((flow_id, run, step, task)): Ids<(String, String, String, String)>,
) -> ApiResult<Response> {
    let Some(row) = resolve::task_only(&state, &flow_id, &run, &step, &task).await? else {
        return Ok(heartbeat::response(false));
    };
    state
        .store
        .heartbeat_run(&row.flow_id, row.run_number)
        .await?;
    state.store.heartbeat_task(row.task_id).await?;
    Ok(heartbeat::response(true))
}

/// 4.5.5: pathspecs of the step's tasks with a matching metadata row, by task id.
async fn filtered(
    State(state): State<AppState>,
    Ids((flow_id, run, step)): Ids<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    check_name("step name", &step)?;
    let params = Params::parse(q.as_deref());
    let field = params
        .0
        .iter()
        .find(|(k, _)| k == "metadata_field_name")
        .map(|(_, v)| v.as_str());
    let pattern = params
        .0
        .iter()
        .find(|(k, _)| k == "pattern")
        .map(|(_, v)| v.as_str());
    if let Some(p) = pattern {
        regex::Regex::new(p).map_err(|e| {
            ServiceError::BadRequest(format!("invalid regular expression in pattern: {e}"))
        })?;
    }
    let Some(run_row) = resolve::run(&state, &flow_id, &run).await? else {
        return Ok(listing::<()>(&[], None));
    };
    let tasks = state
        .store
        .filtered_tasks(&run_row, &step, field, pattern)
        .await?;
    let paths: Vec<String> = tasks
        .into_iter()
        .map(|t| {
            let run_part = t.run_id.clone().unwrap_or_else(|| t.run_number.to_string());
            format!(
                "{}/{}/{}/{}",
                t.flow_id,
                run_part,
                t.step_name,
                t.exposed_id()
            )
        })
        .collect();
    Ok(listing(&paths, None))
}
