//! Flows (spec 4.2).

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use mfstack_api_types::CreateFlow;
use mfstack_store::FlowCursor;

use crate::AppState;
use crate::error::{ApiResult, ServiceError};
use crate::extract::{JsonBody, check_name};
use crate::listing::{PageInfo, Params, json, listing};
use crate::resolve::Ids;

/// Flow routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/flows", get(list))
        .route("/flows/{flow_id}", get(get_one).post(create))
}

/// 4.2.1.
async fn create(
    State(state): State<AppState>,
    Ids(flow_id): Ids<String>,
    JsonBody(body): JsonBody<CreateFlow>,
) -> ApiResult<Response> {
    check_name("flow name", &flow_id)?;
    check_name("user_name", body.user_name.as_deref().unwrap_or_default())?;
    let row = state
        .store
        .create_flow(
            &flow_id,
            body.user_name.as_deref(),
            body.tags.map(|t| t.to_value()).as_ref(),
            body.system_tags.map(|t| t.to_value()).as_ref(),
        )
        .await?;
    Ok(json(&row.into_wire()))
}

/// 4.2.2.
async fn get_one(State(state): State<AppState>, Ids(flow_id): Ids<String>) -> ApiResult<Response> {
    check_name("flow name", &flow_id)?;
    let row = state
        .store
        .get_flow(&flow_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok(json(&row.into_wire()))
}

/// 4.2.3.
async fn list(State(state): State<AppState>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let params = Params::parse(q.as_deref());
    let page = if params.wants_page() {
        Some(params.page::<FlowCursor>()?)
    } else {
        None
    };
    let result = state.store.list_flows(page.as_ref()).await?;
    let info = page.map(|p| {
        PageInfo::of(p.limit, result.has_more, &result.rows, |r| FlowCursor {
            ts_epoch: r.ts_epoch,
            flow_id: r.flow_id.clone(),
        })
    });
    let flows: Vec<_> = result.rows.into_iter().map(|r| r.into_wire()).collect();
    Ok(listing(&flows, info))
}
