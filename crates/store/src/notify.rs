//! Changes the metadata service wrote, carried to the UI API's realtime channel when the two run in
//! separate processes: PostgreSQL `NOTIFY` on [`CHANGE_CHANNEL`] from the writer, `LISTEN` in the
//! UI process. No triggers: the writer knows what it wrote.
//!
//! The writer never waits on a notification. [`ChangeNotifier::publish`] queues the change, and one
//! background task sends the queue as JSON arrays, as many changes per `NOTIFY` as fit in
//! PostgreSQL's payload limit, so a burst of writes costs few statements.

use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::{broadcast, mpsc};

use crate::{Result, StoreError, redact};

/// The `NOTIFY` channel changes travel on.
pub const CHANGE_CHANNEL: &str = "mfstack_changes";

/// PostgreSQL refuses payloads of 8000 bytes or more; stay clear of it.
const MAX_PAYLOAD_BYTES: usize = 7000;

/// Changes queued for sending at most; beyond, new ones are dropped rather than slow a write.
const QUEUE_CAPACITY: usize = 16 * 1024;

/// One successful write, named by its keys; readers re-read the rows they need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    RunCreated {
        flow_id: String,
        run_number: i64,
    },
    StepCreated {
        flow_id: String,
        run_number: i64,
        step_name: String,
    },
    TaskCreated {
        flow_id: String,
        run_number: i64,
        step_name: String,
        task_id: i64,
    },
    /// Metadata rows of one task: their distinct field names, and the attempt they concern (the
    /// value of an `attempt` row, else an `attempt_id:N` tag) when known.
    MetadataWritten {
        flow_id: String,
        run_number: i64,
        step_name: String,
        task_id: i64,
        fields: Vec<String>,
        attempt_id: Option<i64>,
    },
    /// Artifacts of one task: a few of their names (`_task_ok` first when present).
    ArtifactsWritten {
        flow_id: String,
        run_number: i64,
        step_name: String,
        task_id: i64,
        names: Vec<String>,
        attempt_id: Option<i64>,
    },
}

/// Sends changes with `NOTIFY` over a connection of its own.
#[derive(Debug, Clone)]
pub struct ChangeNotifier {
    queue: mpsc::Sender<Change>,
}

impl ChangeNotifier {
    /// A notifier for the PostgreSQL database at `url`; it connects on first use and again after
    /// a lost connection. Must be called inside a Tokio runtime.
    pub fn connect(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("bad PostgreSQL URL {}: {e}", redact(url))))?;
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options);
        let (queue, pending) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(send_batches(pool, pending));
        Ok(ChangeNotifier { queue })
    }

    /// Queue `change`; dropped (and logged) when the queue is full or the sender has stopped.
    pub fn publish(&self, change: Change) {
        if self.queue.try_send(change).is_err() {
            tracing::warn!("change notification queue full; a realtime event was dropped");
        }
    }
}

async fn send_batches(pool: sqlx::PgPool, mut pending: mpsc::Receiver<Change>) {
    let mut carried: Option<Change> = None;
    loop {
        let first = match carried.take() {
            Some(c) => c,
            None => match pending.recv().await {
                Some(c) => c,
                None => return,
            },
        };
        let (payload, rest) = batch(first, &mut pending);
        carried = rest;
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANGE_CHANNEL)
            .bind(&payload)
            .execute(&pool)
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not send change notifications");
        }
    }
}

/// A JSON array of `first` and whatever else is queued, within the payload limit; the change that
/// did not fit is handed back for the next batch.
fn batch(first: Change, pending: &mut mpsc::Receiver<Change>) -> (String, Option<Change>) {
    let mut payload = String::from("[");
    payload.push_str(&encode(&first));
    while let Ok(next) = pending.try_recv() {
        let encoded = encode(&next);
        if payload.len() + encoded.len() + 2 > MAX_PAYLOAD_BYTES {
            payload.push(']');
            return (payload, Some(next));
        }
        payload.push(',');
        payload.push_str(&encoded);
    }
    payload.push(']');
    (payload, None)
}

/// One change as JSON, its name lists shortened until it fits a payload on its own.
fn encode(change: &Change) -> String {
    let mut change = change.clone();
    loop {
        let text = serde_json::to_string(&change).unwrap_or_default();
        if text.len() + 2 <= MAX_PAYLOAD_BYTES {
            return text;
        }
        match &mut change {
            Change::MetadataWritten { fields: list, .. }
            | Change::ArtifactsWritten { names: list, .. }
                if !list.is_empty() =>
            {
                list.pop();
            }
            // Only names can be long enough, and they are gone.
            _ => return text,
        }
    }
}

/// The changes in one notification payload; anything unreadable is skipped.
pub fn decode_changes(payload: &str) -> Vec<Change> {
    match serde_json::from_str::<Vec<serde_json::Value>>(payload) {
        Ok(items) => items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Listen for changes on the PostgreSQL database at `url` and pass them to `out` until every
/// receiver of `out` is gone. Connects before returning, so a bad URL or an unreachable database
/// is reported at once; later connection losses are retried.
pub async fn listen_changes(
    url: &str,
    out: broadcast::Sender<Change>,
) -> Result<tokio::task::JoinHandle<()>> {
    let mut listener = PgListener::connect(url).await.map_err(|e| {
        StoreError::Unavailable(format!("cannot listen for changes on {}: {e}", redact(url)))
    })?;
    listener
        .listen(CHANGE_CHANNEL)
        .await
        .map_err(|e| StoreError::Unavailable(format!("LISTEN {CHANGE_CHANNEL} failed: {e}")))?;
    Ok(tokio::spawn(async move {
        loop {
            match listener.recv().await {
                Ok(note) => {
                    for change in decode_changes(note.payload()) {
                        if out.send(change).is_err() {
                            return;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "lost the change listener's connection; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(fields: usize) -> Change {
        Change::MetadataWritten {
            flow_id: "F".into(),
            run_number: 1,
            step_name: "start".into(),
            task_id: 2,
            fields: (0..fields).map(|i| format!("{i:0>200}")).collect(),
            attempt_id: Some(0),
        }
    }

    #[tokio::test]
    async fn batches_stay_under_the_payload_limit_and_round_trip() {
        let (tx, mut rx) = mpsc::channel(100);
        for _ in 0..40 {
            tx.send(metadata(3)).await.unwrap();
        }
        let first = rx.recv().await.unwrap();
        let (payload, rest) = batch(first, &mut rx);
        assert!(payload.len() < MAX_PAYLOAD_BYTES);
        assert!(rest.is_some());
        let changes = decode_changes(&payload);
        assert!(changes.len() > 1 && changes.len() < 40);
        assert_eq!(changes[0], metadata(3));
        assert!(decode_changes("not json").is_empty());
    }

    #[test]
    fn an_oversized_change_loses_names_until_it_fits() {
        let text = encode(&metadata(100));
        assert!(text.len() < MAX_PAYLOAD_BYTES);
        assert!(matches!(
            serde_json::from_str::<Change>(&text).unwrap(),
            Change::MetadataWritten { fields, .. } if !fields.is_empty() && fields.len() < 100
        ));
    }
}
