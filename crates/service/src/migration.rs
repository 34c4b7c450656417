//! The migration API (spec 7): `/ping`, `/version`, `/db_schema_status`, `PATCH /upgrade`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use mfstack_store::version_name;

use crate::AppState;
use crate::error::{ApiResult, ServiceError};
use crate::listing::json;

/// Migration routes; `/upgrade` only when enabled (`MF_MIGRATION_ENDPOINTS_ENABLED`).
pub fn router(upgrade_enabled: bool) -> Router<AppState> {
    let router = Router::new()
        .route("/ping", get(|| async { "pong" }))
        .route("/version", get(version))
        .route("/db_schema_status", get(schema_status));
    if upgrade_enabled {
        router.route("/upgrade", patch(upgrade))
    } else {
        router
    }
}

/// The name of the service build that matches the schema.
async fn version(State(state): State<AppState>) -> ApiResult<Response> {
    let status = state.store.schema_status().await?;
    let name = version_name(&status).ok_or_else(|| {
        ServiceError::Internal(format!("unknown schema version {}", status.current_version))
    })?;
    Ok(name.into_response())
}

async fn schema_status(State(state): State<AppState>) -> ApiResult<Response> {
    Ok(json(&state.store.schema_status().await?))
}

/// Runs pending migrations; the same text answers as the reference (spec 7), the cause only in the log.
async fn upgrade(State(state): State<AppState>) -> Response {
    match state.store.upgrade().await {
        Ok(outcome) => {
            tracing::info!(applied = ?outcome.applied, version = outcome.current_version, "upgrade done");
            "upgrade success".into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "upgrade failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "upgrade failed").into_response()
        }
    }
}
