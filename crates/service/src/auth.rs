//! The optional `x-api-key` check, for deployments with no API Gateway in front (DECISIONS.md,
//! Security). Compared in constant time so the key cannot be guessed byte by byte.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::error::ServiceError;

/// Refuse requests without the configured key with 403, as API Gateway does. An empty configured key
/// is a misconfiguration, not an open door: every request fails with 500 and the log says why.
pub async fn require_api_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(expected) = &state.settings.api_key {
        if expected.is_empty() {
            return ServiceError::Internal(
                "the configured API key is empty; set a non-empty key or none".into(),
            )
            .into_response();
        }
        let given = request
            .headers()
            .get("x-api-key")
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !bool::from(given.ct_eq(expected.as_bytes())) {
            return ServiceError::Forbidden.into_response();
        }
    }
    next.run(request).await
}
