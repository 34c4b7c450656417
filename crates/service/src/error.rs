//! One error type for every handler: each variant knows its status and body (spec 2.4, 5 and
//! DECISIONS.md "Improvements taken").

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mfstack_api_types::{ErrorMessage, NOT_FOUND_BODY, message_string_body};
use mfstack_store::StoreError;

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Bad input: 400 `{"message": …}`.
    #[error("{0}")]
    BadRequest(String),
    /// A reference validation message: 400 with a JSON string body (spec 2.4 B).
    #[error("{0}")]
    Invalid(String),
    /// Batch post under an unregistered run or task: 400 (spec 2.4 G).
    #[error("need to register run_id and task_id first")]
    NotRegistered,
    /// Missing key: 403, as API Gateway answers.
    #[error("Forbidden")]
    Forbidden,
    /// A single object that does not exist: 404 `{}` (spec 2.4 F).
    #[error("not found")]
    NotFound,
    /// A parent that does not exist on create: 404 `{"message": …}`.
    #[error("{0}")]
    MissingParent(String),
    /// Duplicate create: 409 `{"message": …}`; the client then GETs the object.
    #[error("{0}")]
    Duplicate(String),
    /// Lost a race on the run's tags: 409 with a JSON string body; the client retries.
    #[error("Conflicting concurrent tag mutation, please retry")]
    TagConflict,
    /// Removing a system tag: 422 with a JSON string body.
    #[error("{0}")]
    Unprocessable(String),
    /// Body over the configured limit: 413.
    #[error("{0}")]
    TooLarge(String),
    /// The database is unreachable or busy: 503, which the client retries.
    #[error("{0}")]
    Unavailable(String),
    /// The request ran past the configured time limit: 503 with `Retry-After`.
    #[error("the request took longer than {} s; retry shortly", .0.as_secs_f64())]
    TimedOut(Duration),
    /// Anything else: 500, logged, no detail leaked.
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    /// The HTTP status of each variant.
    pub fn status(&self) -> StatusCode {
        match self {
            ServiceError::BadRequest(_)
            | ServiceError::Invalid(_)
            | ServiceError::NotRegistered => StatusCode::BAD_REQUEST,
            ServiceError::Forbidden => StatusCode::FORBIDDEN,
            ServiceError::NotFound | ServiceError::MissingParent(_) => StatusCode::NOT_FOUND,
            ServiceError::Duplicate(_) | ServiceError::TagConflict => StatusCode::CONFLICT,
            ServiceError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ServiceError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ServiceError::Unavailable(_) | ServiceError::TimedOut(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body(&self) -> String {
        let message =
            |m: String| serde_json::to_string(&ErrorMessage { message: m }).unwrap_or_default();
        match self {
            ServiceError::NotFound => NOT_FOUND_BODY.to_owned(),
            ServiceError::Invalid(m) | ServiceError::Unprocessable(m) => message_string_body(m),
            ServiceError::TagConflict => message_string_body(&self.to_string()),
            ServiceError::Internal(_) => message("internal error; see the service log".into()),
            ServiceError::Unavailable(_) => {
                message("the database is unavailable; retry shortly".into())
            }
            other => message(other.to_string()),
        }
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        match &self {
            ServiceError::Internal(detail) => tracing::error!(%detail, "request failed"),
            ServiceError::Unavailable(detail) => tracing::warn!(%detail, "database unavailable"),
            ServiceError::TimedOut(limit) => tracing::warn!(?limit, "request timed out"),
            _ => {}
        }
        let mut response = (self.status(), self.body()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let ServiceError::TimedOut(_) = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(_) => ServiceError::NotFound,
            StoreError::Duplicate(_) => ServiceError::Duplicate(err.to_string()),
            StoreError::MissingParent(_) => ServiceError::MissingParent(err.to_string()),
            StoreError::Conflict(_) => ServiceError::TagConflict,
            StoreError::Invalid(m) => ServiceError::BadRequest(m),
            StoreError::Unavailable(m) => ServiceError::Unavailable(m),
            StoreError::Schema(m) | StoreError::Config(m) | StoreError::Other(m) => {
                ServiceError::Internal(m)
            }
        }
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ServiceError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_is_a_503_with_retry_after_and_a_message() {
        let response = ServiceError::TimedOut(Duration::from_millis(1500)).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        assert_eq!(
            ServiceError::TimedOut(Duration::from_millis(1500)).body(),
            r#"{"message":"the request took longer than 1.5 s; retry shortly"}"#
        );
    }
}
