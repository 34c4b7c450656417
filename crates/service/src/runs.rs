//! Runs (spec 4.3): create, get, list with filters, heartbeat, tag mutation.

use std::collections::BTreeSet;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::{get, patch, post};
use mfstack_api_types::{CreateRun, TagArgument, TagMutation, TagsResponse};
use mfstack_store::{NewRun, RunCursor, RunRow, StoreError, is_numeric_id};
use serde_json::Value;

use crate::AppState;
use crate::error::{ApiResult, ServiceError};
use crate::events::Change;
use crate::extract::{JsonBody, check_name};
use crate::heartbeat::{self, heartbeat_capable};
use crate::listing::{PageInfo, Params, json, listing, run_query};
use crate::resolve::{self, Ids};

/// How often a tag mutation re-reads the run after losing a race before answering 409.
const TAG_MUTATION_ATTEMPTS: usize = 10;

/// Run routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/flows/{flow_id}/run", post(create))
        .route("/flows/{flow_id}/runs", get(list))
        .route("/flows/{flow_id}/runs/{run}", get(get_one))
        .route("/flows/{flow_id}/runs/{run}/heartbeat", post(beat))
        .route("/flows/{flow_id}/runs/{run}/tag/mutate", patch(mutate_tags))
}

/// 4.3.1. An empty `run_number` counts as absent; an all-digit one is refused with 400.
async fn create(
    State(state): State<AppState>,
    Ids(flow_id): Ids<String>,
    JsonBody(body): JsonBody<CreateRun>,
) -> ApiResult<Response> {
    check_name("flow name", &flow_id)?;
    check_name("user_name", body.user_name.as_deref().unwrap_or_default())?;
    let run_id = body.run_number.filter(|id| !id.is_empty());
    if let Some(id) = &run_id {
        check_name("run id", id)?;
        if is_numeric_id(id) {
            return Err(ServiceError::BadRequest(
                "provided run_id may not be a numeric".into(),
            ));
        }
    }
    let missing_flow =
        format!("flow {flow_id} does not exist; create it with POST /flows/{flow_id} first");
    let heartbeat = heartbeat_capable(body.system_tags.as_ref().map(|t| t.strings()).as_deref());
    let row = state
        .store
        .create_run(NewRun {
            flow_id,
            run_id,
            user_name: body.user_name,
            tags: body.tags.map(|t| t.to_value()),
            system_tags: body.system_tags.map(|t| t.to_value()),
            heartbeat,
        })
        .await
        .map_err(|e| match e {
            StoreError::MissingParent(_) => ServiceError::MissingParent(missing_flow),
            other => other.into(),
        })?;
    state.announce(|| Change::RunCreated {
        flow_id: row.flow_id.clone(),
        run_number: row.run_number,
    });
    Ok(json(&row.into_wire(false)))
}

/// 4.3.2.
async fn get_one(
    State(state): State<AppState>,
    Ids((flow_id, run)): Ids<(String, String)>,
) -> ApiResult<Response> {
    let row = resolve::run(&state, &flow_id, &run)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok(json(&row.into_wire(true)))
}

/// 4.3.3.
async fn list(
    State(state): State<AppState>,
    Ids(flow_id): Ids<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    check_name("flow name", &flow_id)?;
    let query = run_query(&Params::parse(q.as_deref()))?;
    let result = state.store.list_runs(&flow_id, query.as_ref()).await?;
    let info = query.map(|q| {
        PageInfo::of(q.page.limit, result.has_more, &result.rows, |r| RunCursor {
            ts_epoch: r.ts_epoch,
            run_number: r.run_number,
        })
    });
    let runs: Vec<_> = result.rows.into_iter().map(|r| r.into_wire(true)).collect();
    Ok(listing(&runs, info))
}

/// 4.3.4: 404 only for a missing run; a beat within the spacing is still a 200.
async fn beat(
    State(state): State<AppState>,
    Ids((flow_id, run)): Ids<(String, String)>,
) -> ApiResult<Response> {
    let Some(row) = resolve::run(&state, &flow_id, &run).await? else {
        return Ok(heartbeat::response(false));
    };
    state
        .store
        .heartbeat_run(&row.flow_id, row.run_number)
        .await?;
    Ok(heartbeat::response(true))
}

/// An absent argument is no tags; `null` or any other non-list is refused (spec 4.3.5).
fn tag_list(argument: Option<TagArgument>, field: &str) -> ApiResult<Vec<String>> {
    match argument {
        None => Ok(Vec::new()),
        Some(TagArgument::List(tags)) => Ok(tags),
        Some(TagArgument::NotAList) => {
            Err(ServiceError::Invalid(format!("{field} must be a list")))
        }
        Some(TagArgument::NotAllStrings) => Err(ServiceError::Invalid(
            "All tag values must be strings".into(),
        )),
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The user tags after the mutation, or the 422 for removing a system tag (spec 4.3.5 steps 2–3):
/// (current − remove) ∪ (add − system), so a tag both removed and added stays, as the client's
/// `replace_tag` needs. Current order is kept and additions follow in request order, each tag once.
fn mutated(
    run: &RunRow,
    add: &[String],
    remove: &[String],
) -> ApiResult<(Vec<String>, Vec<String>)> {
    let current = strings(run.tags.as_ref().map(|j| &j.0));
    let system: BTreeSet<String> = strings(run.system_tags.as_ref().map(|j| &j.0))
        .into_iter()
        .collect();
    let offending: BTreeSet<&String> = remove.iter().filter(|t| system.contains(*t)).collect();
    if !offending.is_empty() {
        let list: Vec<String> = offending.iter().map(|t| format!("'{t}'")).collect();
        return Err(ServiceError::Unprocessable(format!(
            "Cannot remove tags that are existing system tags {{{}}}",
            list.join(", ")
        )));
    }
    let kept = current.iter().filter(|t| !remove.contains(t));
    let added = add.iter().filter(|t| !system.contains(*t));
    let mut next: Vec<String> = Vec::new();
    for t in kept.chain(added) {
        if !next.contains(t) {
            next.push(t.clone());
        }
    }
    Ok((current, next))
}

/// 4.3.5. The new tags are written only if the run's tags are still those read, so concurrent
/// mutations never lose an update; a loser re-reads and tries again, and answers 409 (which the
/// client retries) only after repeated losses.
async fn mutate_tags(
    State(state): State<AppState>,
    Ids((flow_id, run)): Ids<(String, String)>,
    JsonBody(body): JsonBody<TagMutation>,
) -> ApiResult<Response> {
    let add = tag_list(body.tags_to_add, "tags_to_add")?;
    let remove = tag_list(body.tags_to_remove, "tags_to_remove")?;
    for _ in 0..TAG_MUTATION_ATTEMPTS {
        let row = resolve::run(&state, &flow_id, &run)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let (current, next) = mutated(&row, &add, &remove)?;
        let same: BTreeSet<&String> = current.iter().collect();
        if same == next.iter().collect::<BTreeSet<_>>() {
            return Ok(json(&TagsResponse { tags: current }));
        }
        let expected = row.tags.as_ref().map(|j| &j.0);
        let new_value = Value::from(next.clone());
        if state
            .store
            .replace_run_tags(&row, expected, &new_value)
            .await?
        {
            return Ok(json(&TagsResponse { tags: next }));
        }
    }
    Err(ServiceError::TagConflict)
}
