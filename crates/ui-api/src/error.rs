//! One error type for every UI handler, answered as the UI expects (§2):
//! `{"id", "traceback": null, "detail", "status", "title", "type": "about:blank"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mfstack_store::StoreError;
use serde::Serialize;

/// A failed UI request.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// Bad query or path values: 400.
    #[error("{0}")]
    BadRequest(String),
    /// A single resource that does not exist: 404 `{"data": {}}` (§2).
    #[error("not found")]
    NotFound,
    /// A datastore read that failed, with the id the UI shows (`log-error`, `DAGParsingFailed`, …).
    #[error("{detail}")]
    Datastore {
        id: &'static str,
        status: StatusCode,
        detail: String,
    },
    /// The route needs a datastore and none is configured: 503.
    #[error("no datastore is configured for the UI API")]
    NoDatastore,
    /// The database is busy or unreachable: 503.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else: 500, logged, no detail leaked.
    #[error("{0}")]
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    id: &'a str,
    traceback: Option<()>,
    detail: String,
    status: u16,
    title: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// `{"data": {}, "status": 404}`.
#[derive(Serialize)]
struct Missing {
    data: Empty,
    status: u16,
}

#[derive(Serialize)]
struct Empty {}

impl UiError {
    pub fn status(&self) -> StatusCode {
        match self {
            UiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            UiError::NotFound => StatusCode::NOT_FOUND,
            UiError::Datastore { status, .. } => *status,
            UiError::NoDatastore | UiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            UiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn id(&self) -> &'static str {
        match self {
            UiError::BadRequest(_) => "bad-request",
            UiError::NotFound => "not-found",
            UiError::Datastore { id, .. } => id,
            UiError::NoDatastore => "no-datastore",
            UiError::Unavailable(_) => "database-unavailable",
            UiError::Internal(_) => "internal-error",
        }
    }
}

impl From<StoreError> for UiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Invalid(m) => UiError::BadRequest(m),
            StoreError::NotFound(_) => UiError::NotFound,
            StoreError::Unavailable(m) => UiError::Unavailable(m),
            other => UiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let UiError::NotFound = self {
            let body = Missing {
                data: Empty {},
                status: 404,
            };
            return (status, axum::Json(body)).into_response();
        }
        let detail = match &self {
            UiError::Internal(m) => {
                tracing::error!(error = %m, "UI API request failed");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        let body = ErrorBody {
            id: self.id(),
            traceback: None,
            detail,
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error"),
            kind: "about:blank",
        };
        (status, axum::Json(body)).into_response()
    }
}
