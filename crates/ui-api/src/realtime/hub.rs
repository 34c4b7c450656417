//! The sockets, their subscriptions, and the recent events kept for replay.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

use super::RealtimeSettings;
use super::events::{Event, now_ms};
use super::filter::Resource;

/// Most subscriptions one socket may hold; the UI holds a handful.
pub const MAX_SUBSCRIPTIONS_PER_SOCKET: usize = 256;
/// Most open sockets; with the outbox bound, this caps what stalled clients can hold.
pub const MAX_SOCKETS: usize = 1024;
/// Frames waiting for a socket at most (a burst of a thousand task events fits); a socket further
/// behind is closed.
pub const OUTBOX_FRAMES: usize = 2048;
/// Events kept for replay at most, whatever their age.
const MAX_HISTORY: usize = 20_000;

struct Subscription {
    uuid: String,
    resource: Resource,
}

struct Socket {
    outbox: mpsc::Sender<String>,
    subscriptions: Vec<Subscription>,
}

#[derive(Default)]
struct Registry {
    sockets: HashMap<u64, Socket>,
    /// When the last socket closed, so events keep being made for a client about to reconnect.
    last_close_ms: Option<i64>,
}

struct Hub {
    settings: RealtimeSettings,
    registry: Mutex<Registry>,
    history: Mutex<VecDeque<Arc<Event>>>,
    next_id: AtomicU64,
}

/// The realtime channel's shared state; cheap to clone.
#[derive(Clone)]
pub struct Realtime {
    hub: Arc<Hub>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Why a subscription was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    TooMany,
    Closed,
}

fn frame(event: &Event, uuid: &str, resource: &str) -> String {
    let text = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        "{{\"type\":\"{}\",\"uuid\":{},\"resource\":{},\"data\":{}}}",
        event.op.name(),
        text(uuid),
        text(resource),
        event.data_text
    )
}

impl Realtime {
    pub fn new(settings: RealtimeSettings) -> Self {
        Realtime {
            hub: Arc::new(Hub {
                settings,
                registry: Mutex::default(),
                history: Mutex::default(),
                next_id: AtomicU64::new(1),
            }),
        }
    }

    pub fn settings(&self) -> &RealtimeSettings {
        &self.hub.settings
    }

    /// A new socket's id and outbox, or `None` when too many are open.
    pub(super) fn open(&self) -> Option<(u64, mpsc::Receiver<String>)> {
        let mut registry = locked(&self.hub.registry);
        if registry.sockets.len() >= MAX_SOCKETS {
            return None;
        }
        let id = self.hub.next_id.fetch_add(1, Ordering::Relaxed);
        let (outbox, receiver) = mpsc::channel(OUTBOX_FRAMES);
        registry.sockets.insert(
            id,
            Socket {
                outbox,
                subscriptions: Vec::new(),
            },
        );
        Some((id, receiver))
    }

    pub(super) fn close(&self, id: u64) {
        let mut registry = locked(&self.hub.registry);
        registry.sockets.remove(&id);
        registry.last_close_ms = Some(now_ms());
    }

    /// Whether events are worth making: a socket is open, or one closed recently enough that
    /// its client may reconnect and replay.
    pub(super) fn interested(&self) -> bool {
        let registry = locked(&self.hub.registry);
        let ttl_ms = self.hub.settings.queue_ttl.as_millis() as i64;
        !registry.sockets.is_empty()
            || registry
                .last_close_ms
                .is_some_and(|t| now_ms() - t < ttl_ms)
    }

    /// Subscribe socket `id` (replacing a subscription of the same uuid), then replay the kept
    /// events newer than `since` (epoch seconds) that it would have received.
    pub(super) fn subscribe(
        &self,
        id: u64,
        uuid: String,
        resource: Resource,
        since: Option<i64>,
    ) -> Result<(), Refused> {
        let outbox = {
            let mut registry = locked(&self.hub.registry);
            let socket = registry.sockets.get_mut(&id).ok_or(Refused::Closed)?;
            socket.subscriptions.retain(|s| s.uuid != uuid);
            if socket.subscriptions.len() >= MAX_SUBSCRIPTIONS_PER_SOCKET {
                return Err(Refused::TooMany);
            }
            socket.outbox.clone()
        };
        if let Some(since) = since {
            let since_ms = since.saturating_mul(1000);
            let replay: Vec<Arc<Event>> = locked(&self.hub.history)
                .iter()
                .filter(|e| e.at_ms >= since_ms)
                .filter(|e| e.resources.contains(&resource.path) && resource.matches(&e.data))
                .cloned()
                .collect();
            for event in replay {
                if outbox
                    .try_send(frame(&event, &uuid, &resource.path))
                    .is_err()
                {
                    break;
                }
            }
        }
        let mut registry = locked(&self.hub.registry);
        let socket = registry.sockets.get_mut(&id).ok_or(Refused::Closed)?;
        socket.subscriptions.push(Subscription { uuid, resource });
        Ok(())
    }

    pub(super) fn unsubscribe(&self, id: u64, uuid: &str) {
        if let Some(socket) = locked(&self.hub.registry).sockets.get_mut(&id) {
            socket.subscriptions.retain(|s| s.uuid != uuid);
        }
    }

    /// Keep `event` for replay and send it to every matching subscription.
    pub(super) fn publish(&self, event: Event) {
        let event = Arc::new(event);
        {
            let mut history = locked(&self.hub.history);
            let oldest = event.at_ms - self.hub.settings.queue_ttl.as_millis() as i64;
            while history
                .front()
                .is_some_and(|e| e.at_ms < oldest || history.len() >= MAX_HISTORY)
            {
                history.pop_front();
            }
            history.push_back(event.clone());
        }
        let mut registry = locked(&self.hub.registry);
        let mut behind = Vec::new();
        for (id, socket) in &registry.sockets {
            for sub in &socket.subscriptions {
                if event.resources.contains(&sub.resource.path) && sub.resource.matches(&event.data)
                {
                    let text = frame(&event, &sub.uuid, &sub.resource.path);
                    if socket.outbox.try_send(text).is_err() {
                        behind.push(*id);
                        break;
                    }
                }
            }
        }
        for id in behind {
            // Dropping the outbox ends the socket's task, which closes it.
            registry.sockets.remove(&id);
            tracing::info!(socket = id, "closed a realtime socket that fell behind");
        }
    }
}
