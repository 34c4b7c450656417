//! The request timeout: a metadata request that runs past `Settings::request_timeout` is answered 503
//! (which the client retries) and its handler is dropped, releasing any database connection it held.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::ServiceError;

/// Run the rest of the stack under the configured time limit.
pub async fn time_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(limit) = state.settings.request_timeout else {
        return next.run(request).await;
    };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ServiceError::TimedOut(limit).into_response(),
    }
}
