//! Steps (spec 4.4). Reads show the run's tags (spec 2.7).

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use mfstack_api_types::CreateStep;
use mfstack_store::NewStep;

use crate::AppState;
use crate::error::{ApiResult, ServiceError};
use crate::events::Change;
use crate::extract::{JsonBody, check_name};
use crate::listing::{json, listing};
use crate::resolve::{self, Ids};

/// Step routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/flows/{flow_id}/runs/{run}/steps/{step}/step",
            post(create),
        )
        .route("/flows/{flow_id}/runs/{run}/steps", get(list))
        .route("/flows/{flow_id}/runs/{run}/steps/{step}", get(get_one))
}

/// 4.4.1, with 404 for a missing run (the reference answers 500).
async fn create(
    State(state): State<AppState>,
    Ids((flow_id, run, step)): Ids<(String, String, String)>,
    JsonBody(body): JsonBody<CreateStep>,
) -> ApiResult<Response> {
    check_name("step name", &step)?;
    check_name("user_name", body.user_name.as_deref().unwrap_or_default())?;
    let run_row = resolve::run(&state, &flow_id, &run).await?.ok_or_else(|| {
        ServiceError::MissingParent(format!("run {run} of flow {flow_id} does not exist"))
    })?;
    let row = state
        .store
        .create_step(
            &run_row,
            NewStep {
                step_name: step,
                user_name: body.user_name,
                tags: body.tags.map(|t| t.to_value()),
                system_tags: body.system_tags.map(|t| t.to_value()),
            },
        )
        .await?;
    state.announce(|| Change::StepCreated {
        flow_id: run_row.flow_id.clone(),
        run_number: run_row.run_number,
        step_name: row.step_name.clone(),
    });
    Ok(json(&row.into_wire(&run_row.inherited_tags())))
}

/// 4.4.3.
async fn get_one(
    State(state): State<AppState>,
    Ids((flow_id, run, step)): Ids<(String, String, String)>,
) -> ApiResult<Response> {
    check_name("step name", &step)?;
    let run_row = resolve::run(&state, &flow_id, &run)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let row = state
        .store
        .get_step(&run_row, &step)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok(json(&row.into_wire(&run_row.inherited_tags())))
}

/// 4.4.2.
async fn list(
    State(state): State<AppState>,
    Ids((flow_id, run)): Ids<(String, String)>,
) -> ApiResult<Response> {
    let Some(run_row) = resolve::run(&state, &flow_id, &run).await? else {
        return Ok(listing::<()>(&[], None));
    };
    let tags = run_row.inherited_tags();
    let steps: Vec<_> = state
        .store
        .list_steps(&run_row)
        .await?
        .into_iter()
        .map(|s| s.into_wire(&tags))
        .collect();
    Ok(listing(&steps, None))
}
