//! One error type for every page, answered as a small HTML page with the right status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mfstack_store::StoreError;

use crate::layout;

/// A page that could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    /// The database is busy or unreachable.
    #[error("{0}")]
    Unavailable(String),
    /// Logged; the page shows no detail.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for WebError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Invalid(m) => WebError::BadRequest(m),
            StoreError::NotFound(_) => WebError::NotFound,
            StoreError::Unavailable(m) => WebError::Unavailable(m),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            WebError::NotFound => (StatusCode::NOT_FOUND, "Nothing here.".to_owned()),
            WebError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            WebError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, m.clone()),
            WebError::Internal(m) => {
                tracing::error!(error = %m, "web page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal error.".to_owned(),
                )
            }
        };
        let title = status.canonical_reason().unwrap_or("Error");
        let body = maud::html! {
            h1 { (status.as_u16()) " " (title) }
            p { (message) }
            p { a href="/" { "Back to runs" } }
        };
        (status, layout::page(title, &[], body)).into_response()
    }
}
