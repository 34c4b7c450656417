//! Metadata (spec 4.7): batch create and listings. Rows keep their own tags.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use mfstack_api_types::{MetadataCreated, NewMetadata};
use mfstack_store::{MetadataCursor, MetadataScope, NewMetadataRow, PageRequest};

use crate::AppState;
use crate::error::{ApiResult, ServiceError};
use crate::events;
use crate::extract::{Batch, check_tag_budget, fits};
use crate::listing::{PageInfo, Params, json, listing};
use crate::resolve::{self, Ids};

/// Metadata routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/flows/{flow_id}/runs/{run}/steps/{step}/tasks/{task}/metadata",
            get(list_task).post(create),
        )
        .route("/flows/{flow_id}/runs/{run}/metadata", get(list_run))
}

/// 4.7.1. Elements whose value the reference's driver would reject (objects, null) or that do not fit
/// the schema are skipped and not counted.
async fn create(
    State(state): State<AppState>,
    Ids((flow_id, run, step, task)): Ids<(String, String, String, String)>,
    Batch(items): Batch<NewMetadata>,
) -> ApiResult<Response> {
    check_tag_budget(items.iter().flat_map(|m| [&m.tags, &m.system_tags]))?;
    let task_row = resolve::task_only(&state, &flow_id, &run, &step, &task)
        .await?
        .ok_or(ServiceError::NotRegistered)?;
    let rows: Vec<NewMetadataRow> = items
        .into_iter()
        .filter_map(|m| {
            let value = m.value.0?;
            let field_name = m.field_name?;
            let type_ = m.type_?;
            fits(&[Some(&field_name), Some(&type_), m.user_name.as_deref()]).then_some(
                NewMetadataRow {
                    field_name,
                    value,
                    type_,
                    user_name: m.user_name,
                    tags: m.tags.map(|t| t.to_value()),
                    system_tags: m.system_tags.map(|t| t.to_value()),
                },
            )
        })
        .collect();
    let created = state.store.create_metadata(&task_row, &rows).await?;
    if created > 0 {
        state.announce(|| events::metadata_written(&task_row, &rows));
    }
    Ok(json(&MetadataCreated {
        metadata_created: created,
    }))
}

async fn respond(
    state: &AppState,
    scope: MetadataScope<'_>,
    params: &Params,
) -> ApiResult<Response> {
    let page: Option<PageRequest<MetadataCursor>> = if params.wants_page() {
        Some(params.page()?)
    } else {
        None
    };
    let result = state.store.list_metadata(scope, page.as_ref()).await?;
    let info = page.map(|p| {
        PageInfo::of(p.limit, result.has_more, &result.rows, |m| MetadataCursor {
            ts_epoch: m.ts_epoch,
            id: m.id,
        })
    });
    let rows: Vec<_> = result.rows.into_iter().map(|m| m.into_wire()).collect();
    Ok(listing(&rows, info))
}

fn empty(params: &Params) -> ApiResult<Response> {
    let info = if params.wants_page() {
        Some(PageInfo {
            limit: params.page::<MetadataCursor>()?.limit,
            next: None,
        })
    } else {
        None
    };
    Ok(listing::<()>(&[], info))
}

/// 4.7.2.
async fn list_task(
    State(state): State<AppState>,
    Ids((flow_id, run, step, task)): Ids<(String, String, String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let params = Params::parse(q.as_deref());
    match resolve::task(&state, &flow_id, &run, &step, &task).await? {
        Some((_, task_row)) => respond(&state, MetadataScope::Task(&task_row), &params).await,
        None => empty(&params),
    }
}

/// 4.7.3.
async fn list_run(
    State(state): State<AppState>,
    Ids((flow_id, run)): Ids<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let params = Params::parse(q.as_deref());
    match resolve::run(&state, &flow_id, &run).await? {
        Some(run_row) => respond(&state, MetadataScope::Run(&run_row), &params).await,
        None => empty(&params),
    }
}
