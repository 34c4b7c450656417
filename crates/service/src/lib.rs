//! The Metaflow metadata service (spec `metadata-api.md`) and its migration endpoints, over any
//! [`mfstack_store::Store`].
//!
//! [`router`] serves the metadata API, [`migration_router`] the migration API (spec 7), and
//! [`serve`] runs both until a shutdown signal, then closes the database.

mod admin;
mod artifacts;
mod auth;
mod deadline;
mod error;
pub mod events;
mod extract;
mod flows;
mod heartbeat;
mod listing;
mod metadata;
mod migration;
mod resolve;
mod runs;
mod steps;
mod tasks;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, Uri};
use axum::response::IntoResponse;
use axum::serve::ListenerExt;
use mfstack_api_types::{API_VERSION, PRODUCT_VERSION_HEADER, VERSION_HEADER};
use mfstack_store::Store;
use tokio::net::TcpListener;

pub use error::ServiceError;
pub use heartbeat::heartbeat_capable;

/// mfstack's own version, sent in `X-Mfstack-Version`.
pub const PRODUCT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Largest request body accepted by default (DECISIONS.md: 16 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Most rows one artifact or metadata post may hold by default. The Metaflow client posts all of a
/// task's artifacts at once, and 10,000 is normal.
pub const DEFAULT_MAX_BATCH_ROWS: usize = 100_000;

/// How long a metadata request may take by default before it is answered 503.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Settings of a running service.
#[derive(Clone)]
pub struct Settings {
    /// Requests must carry this `x-api-key` when set. An empty key refuses every request, since it
    /// can only be a mistake.
    pub api_key: Option<String>,
    /// Largest request body, in bytes.
    pub body_limit: usize,
    /// Most rows in one artifact or metadata post (`--max-batch-rows`); more is a 413.
    pub max_batch_rows: usize,
    /// Longest a metadata request may take before it is answered 503 and its work dropped; `None`
    /// waits for ever.
    pub request_timeout: Option<Duration>,
    /// Whether `PATCH /upgrade` is served (`MF_MIGRATION_ENDPOINTS_ENABLED`).
    pub upgrade_enabled: bool,
    /// Mount every metadata route under this prefix, e.g. `/api` (`PATH_PREFIX`, spec 1).
    pub path_prefix: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            api_key: None,
            body_limit: DEFAULT_BODY_LIMIT,
            max_batch_rows: DEFAULT_MAX_BATCH_ROWS,
            request_timeout: Some(DEFAULT_REQUEST_TIMEOUT),
            upgrade_enabled: true,
            path_prefix: None,
        }
    }
}

// Written by hand so the API key never reaches a log line.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("body_limit", &self.body_limit)
            .field("max_batch_rows", &self.max_batch_rows)
            .field("request_timeout", &self.request_timeout)
            .field("upgrade_enabled", &self.upgrade_enabled)
            .field("path_prefix", &self.path_prefix)
            .finish()
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// Settings.
    pub settings: Arc<Settings>,
    /// Where successful writes are announced for the UI API's realtime channel.
    pub changes: Option<events::ChangeSink>,
}

impl AppState {
    /// State over a store.
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        AppState {
            store,
            settings: Arc::new(settings),
            changes: None,
        }
    }

    /// This state announcing its writes to `sink`.
    pub fn with_changes(mut self, sink: events::ChangeSink) -> Self {
        self.changes = Some(sink);
        self
    }

    /// Announce a write; `change` is only built when someone will receive it.
    pub(crate) fn announce(&self, change: impl FnOnce() -> events::Change) {
        if let Some(sink) = self.changes.as_ref().filter(|s| s.wanted()) {
            sink.publish(change());
        }
    }
}

async fn no_route(method: Method, uri: Uri) -> impl IntoResponse {
    let body = mfstack_api_types::ErrorMessage {
        message: format!("no route for {method} {}", uri.path()),
    };
    (axum::http::StatusCode::NOT_FOUND, listing::json(&body))
}

async fn add_version_headers(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    headers.insert(VERSION_HEADER, HeaderValue::from_static(API_VERSION));
    headers.insert(
        PRODUCT_VERSION_HEADER,
        HeaderValue::from_static(PRODUCT_VERSION),
    );
    response
}

/// The metadata API (spec section 4).
pub fn router(state: AppState) -> Router {
    let limit = state.settings.body_limit;
    let routes = Router::new()
        .merge(admin::router())
        .merge(flows::router())
        .merge(runs::router())
        .merge(steps::router())
        .merge(tasks::router())
        .merge(artifacts::router())
        .merge(metadata::router());
    let routes = match state
        .settings
        .path_prefix
        .as_deref()
        .map(|p| p.trim_end_matches('/'))
    {
        Some(prefix) if !prefix.is_empty() => Router::new().nest(prefix, routes),
        _ => routes,
    };
    routes
        .fallback(no_route)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            deadline::time_limit,
        ))
        .layer(axum::middleware::map_response(add_version_headers))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_api_key,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// The migration API (spec section 7), served on its own port. No request timeout here: dropping an
/// upgrade half way would only make the operator run it again.
pub fn migration_router(state: AppState) -> Router {
    migration::router(state.settings.upgrade_enabled)
        .fallback(no_route)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_api_key,
        ))
        .with_state(state)
}

/// Serve the metadata API on `metadata` and, when given, the migration API on `migration`, until
/// `shutdown` resolves. In-flight requests finish; then the database is closed.
pub async fn serve(
    state: AppState,
    metadata: TcpListener,
    migration: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    // Small JSON answers go out at once instead of waiting on Nagle's algorithm.
    let metadata = metadata.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let api =
        axum::serve(metadata, router(state.clone())).with_graceful_shutdown(wait(stop_rx.clone()));
    let migrations = migration.map(|listener| {
        axum::serve(listener, migration_router(state.clone()))
            .with_graceful_shutdown(wait(stop_rx.clone()))
    });
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let result = match migrations {
        Some(m) => tokio::try_join!(api.into_future(), m.into_future()).map(|_| ()),
        None => api.await,
    };
    state.store.close().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_never_print_the_api_key() {
        let settings = Settings {
            api_key: Some("s3cret-key".into()),
            ..Settings::default()
        };
        let printed = format!("{settings:?} {settings:#?}");
        assert!(!printed.contains("s3cret-key"), "{printed}");
        assert!(printed.contains("<redacted>") && printed.contains("max_batch_rows"));
        assert!(format!("{:?}", Settings::default()).contains("api_key: None"));
    }
}
