//! `GET /ping`, `GET /version`, `GET /healthcheck` (spec 4.1).

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mfstack_api_types::{API_VERSION, healthcheck_body};

use crate::AppState;
use crate::error::ApiResult;

/// Admin routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ping", get(ping))
        .route("/version", get(version))
        .route("/healthcheck", get(healthcheck))
}

/// 4.1.1: no database work; the version header comes from the router's layer.
async fn ping() -> &'static str {
    "pong"
}

/// 4.1.2.
async fn version() -> &'static str {
    API_VERSION
}

/// 4.1.3: a database round trip; 503 when it fails, so probes and clients retry.
async fn healthcheck(State(state): State<AppState>) -> ApiResult<Response> {
    state.store.healthcheck().await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        healthcheck_body(),
    )
        .into_response())
}
