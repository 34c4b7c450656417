//! mfstack's own web UI, served at `/` on the UI port when no metaflow-ui build is given: the runs
//! list, a run's DAG, timeline and tasks, and a task's logs, artifacts, metadata and cards.
//!
//! Pages are rendered in Rust (maud) from the same store and datastore calls the UI API's handlers
//! make, so a page costs no HTTP round trip; the small embedded script only adds log paging and
//! search, and fetches the UI API's JSON for live updates. One module per page, as in miniflux's
//! `internal/ui/`. Every asset is compiled into the binary.

mod assets;
mod dag;
mod error;
mod format;
mod layout;
mod run_page;
mod runs_page;
mod task_data;
mod task_page;
mod timeline;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use mfstack_datastore::Datastore;
use mfstack_store::Store;

pub use error::WebError;

/// What every page handler can reach.
#[derive(Clone)]
pub struct WebState {
    pub store: Arc<dyn Store>,
    /// Logs, artifacts, parameters, the DAG and cards; pages say so when it is missing.
    pub datastore: Option<Datastore>,
    /// Where the UI API is mounted (`/api`), for the script and for download and card links.
    pub api_prefix: Arc<str>,
}

impl WebState {
    pub fn new(store: Arc<dyn Store>, datastore: Option<Datastore>, api_prefix: &str) -> Self {
        WebState {
            store,
            datastore,
            api_prefix: api_prefix.trim_end_matches('/').into(),
        }
    }
}

/// The pages and their embedded assets, at the root.
pub fn router(state: WebState) -> Router {
    let run = "/flows/{flow_id}/runs/{run}";
    Router::new()
        .route("/", get(runs_page::handler))
        .route(run, get(run_page::handler))
        .route(
            &format!("{run}/steps/{{step}}/tasks/{{task}}"),
            get(task_page::handler),
        )
        .merge(assets::router())
        .fallback(|| async { WebError::NotFound })
        .with_state(state)
}
