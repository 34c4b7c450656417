//! The backend Metaflow's web UI calls (spec `ui-api.md`), served from Rust over an mfstack store
//! and the Metaflow datastore, so the unmodified metaflow-ui runs on mfstack.
//!
//! [`api_router`] serves the §5 routes (mounted under `/api` by [`router`]) with the §2 envelope
//! and the §4 grammar; the store computes every §6 derived field, identically on SQLite and
//! PostgreSQL. [`router`] also serves a metaflow-ui build from a directory, client routes falling
//! back to `index.html` with `window.METAFLOW_SERVICE` injected as upstream does.
//!
//! Where upstream is slow to tell the truth, this API is not: a run that dies in a middle step (its
//! heartbeat stopped and it holds a failed final attempt) is `failed` within about 30 seconds,
//! where upstream shows `running` for 6 minutes (see `mfstack_store::RUN_DEAD_AFTER_SECONDS`).
//!
//! Every row is built by a public function of the store ([`mfstack_store::UiStore`]), so a
//! realtime event can carry a row exactly as the matching GET returns it.

mod admin;
mod datastore;
mod envelope;
mod error;
mod frontend;
mod grammar;
mod paths;
mod realtime;
mod resources;
mod tasks;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use mfstack_datastore::Datastore;
use mfstack_store::Store;
use tokio::net::TcpListener;

pub use admin::AdminConfig;
pub use envelope::MAX_QUERY_BYTES;
pub use error::UiError;
pub use realtime::{Realtime, RealtimeSettings};

/// The version `/version` answers.
pub const VERSION: &str = concat!("mfstack-", env!("CARGO_PKG_VERSION"));

/// Where the UI API is mounted when a front end is served beside it.
pub const API_PREFIX: &str = "/api";

/// Settings of the UI API.
#[derive(Debug, Clone, Default)]
pub struct UiSettings {
    /// Admin route answers.
    pub admin: AdminConfig,
    /// `MF_BASEURL`: the origin links use when no forwarding headers say otherwise.
    pub base_url: Option<String>,
    /// `ORIGIN_TO_ALLOW_CORS_FROM`; `*` when unset.
    pub cors_origin: Option<String>,
    /// A metaflow-ui build to serve at `/` (`--ui-dir`).
    pub ui_dir: Option<PathBuf>,
    /// What `window.METAFLOW_SERVICE` is set to in `index.html` (`METAFLOW_SERVICE`, default
    /// `/api`).
    pub service_url: Option<String>,
    /// `/ws`: replay window and heartbeat checks.
    pub realtime: RealtimeSettings,
}

impl UiSettings {
    /// Upstream's variables from the process environment; `ui_dir` is left to the caller.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        UiSettings {
            admin: AdminConfig::from_env(),
            base_url: var("MF_BASEURL"),
            cors_origin: var("ORIGIN_TO_ALLOW_CORS_FROM"),
            ui_dir: None,
            service_url: var("METAFLOW_SERVICE"),
            realtime: RealtimeSettings::from_env(),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct UiState {
    pub store: Arc<dyn Store>,
    /// Artifact content, parameters, DAG, logs and cards; those routes answer 503 without it.
    pub datastore: Option<Datastore>,
    pub settings: Arc<UiSettings>,
    /// `/ws` subscribers and recent events.
    pub realtime: Realtime,
}

impl UiState {
    pub fn new(store: Arc<dyn Store>, datastore: Option<Datastore>, settings: UiSettings) -> Self {
        UiState {
            realtime: Realtime::new(settings.realtime.clone()),
            store,
            datastore,
            settings: Arc::new(settings),
        }
    }

    /// Feed `/ws` from the metadata service's `changes` (in process, or relayed from PostgreSQL
    /// `LISTEN`), and start the heartbeat check. Call inside a Tokio runtime.
    pub fn with_changes(
        self,
        changes: tokio::sync::broadcast::Receiver<mfstack_store::Change>,
    ) -> Self {
        realtime::start(&self.realtime, self.store.clone(), changes);
        self
    }
}

/// The §5 routes at the root, with CORS headers.
pub fn api_router(state: UiState) -> Router {
    with_cors(routes(), &state).with_state(state)
}

fn routes() -> Router<UiState> {
    Router::new()
        .merge(admin::router())
        .merge(resources::router())
        .merge(tasks::router())
        .merge(datastore::router())
        .merge(realtime::router())
        .fallback(|| async { UiError::NotFound })
}

fn with_cors(routes: Router<UiState>, state: &UiState) -> Router<UiState> {
    let origin = state
        .settings
        .cors_origin
        .as_deref()
        .and_then(|o| HeaderValue::from_str(o).ok())
        .unwrap_or(HeaderValue::from_static("*"));
    routes.layer(axum::middleware::map_response(move |mut r: Response| {
        let origin = origin.clone();
        async move {
            r.headers_mut()
                .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            r
        }
    }))
}

/// The UI API under `/api`, and the front end at `/` when `ui_dir` is set.
pub fn router(state: UiState) -> Router {
    let api = with_cors(routes(), &state);
    let app = Router::new().nest(API_PREFIX, api);
    let app = match &state.settings.ui_dir {
        Some(dir) => app.fallback_service(frontend::service(
            dir.clone(),
            state
                .settings
                .service_url
                .clone()
                .unwrap_or_else(|| API_PREFIX.to_owned()),
        )),
        None => app.fallback_service(mfstack_web::router(mfstack_web::WebState::new(
            state.store.clone(),
            state.datastore.clone(),
            API_PREFIX,
        ))),
    };
    app.with_state(state)
}

/// Serve [`router`] on `listener` until `shutdown` resolves.
pub async fn serve(
    state: UiState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
