//! `/ws` (spec `ui-api.md` §9): clients subscribe to resources, optionally filtered and with a
//! replay of recent events, and receive each new or changed row as the matching GET returns it.
//!
//! Events come from the metadata service's writes ([`Change`]s, in process or through PostgreSQL
//! `LISTEN`) and from a periodic check that turns runs and tasks whose heartbeat went stale into
//! `failed` updates. One pump task turns changes into events; each socket has a bounded outbox, and
//! a socket that cannot keep up is closed rather than allowed to hold memory.

mod events;
mod filter;
mod hub;
mod socket;
mod watch;

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::Response;
use axum::routing::get;
use mfstack_store::{Change, Store};
use std::sync::Arc;
use tokio::sync::broadcast;

use crate::UiState;
pub use hub::Realtime;

/// Largest client frame or message; the protocol's messages are a few hundred bytes.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Realtime settings.
#[derive(Debug, Clone)]
pub struct RealtimeSettings {
    /// `WS_QUEUE_TTL_SECONDS`: how long events stay available to a `since` replay.
    pub queue_ttl: Duration,
    /// `MFSTACK_WS_HEARTBEAT_CHECK_SECONDS`: how often live runs and tasks are checked for a
    /// stale heartbeat.
    pub heartbeat_check: Duration,
    /// `MFSTACK_WS_STALE_AFTER_SECONDS`: how old a live row's heartbeat must be before the check
    /// re-reads it; the store's own thresholds then decide whether it failed.
    pub stale_after: Duration,
}

impl Default for RealtimeSettings {
    fn default() -> Self {
        RealtimeSettings {
            queue_ttl: Duration::from_secs(300),
            heartbeat_check: Duration::from_secs(10),
            stale_after: Duration::from_secs(30),
        }
    }
}

impl RealtimeSettings {
    pub fn from_env() -> Self {
        let seconds = |k: &str| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s > 0.0)
                .map(Duration::from_secs_f64)
        };
        let default = RealtimeSettings::default();
        RealtimeSettings {
            queue_ttl: seconds("WS_QUEUE_TTL_SECONDS").unwrap_or(default.queue_ttl),
            heartbeat_check: seconds("MFSTACK_WS_HEARTBEAT_CHECK_SECONDS")
                .unwrap_or(default.heartbeat_check),
            stale_after: seconds("MFSTACK_WS_STALE_AFTER_SECONDS").unwrap_or(default.stale_after),
        }
    }
}

pub fn router() -> Router<UiState> {
    Router::new().route("/ws", get(upgrade))
}

async fn upgrade(State(state): State<UiState>, ws: WebSocketUpgrade) -> Response {
    let realtime = state.realtime.clone();
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| socket::run(realtime, socket))
}

/// Start turning `changes` into events for `realtime`'s subscribers, and checking live runs and
/// tasks for stale heartbeats. Runs until `changes` closes.
pub fn start(realtime: &Realtime, store: Arc<dyn Store>, changes: broadcast::Receiver<Change>) {
    tokio::spawn(watch::pump(realtime.clone(), store, changes));
}
