//! The pump: changes in, events out; and the heartbeat check. Runs and tasks seen live are
//! watched, and re-read once their heartbeat may have gone stale; one that has turned `failed`
//! is announced as an UPDATE, since no write marks that moment.

use std::collections::HashMap;
use std::sync::Arc;

use mfstack_store::{Change, Store, UiQuery};
use serde_json::Value;
use tokio::sync::broadcast::{
    self,
    error::{RecvError, TryRecvError},
};

use super::events::{self, Event, Op, now_ms};
use super::hub::Realtime;

/// Most runs and tasks watched at once; past it, new ones are not watched.
const MAX_WATCHED: usize = 10_000;
/// Live runs looked up when the pump starts, to watch work begun before this process.
const SEEDED_RUNS: u32 = 1000;
/// Most changes resolved together: a burst of writes is read back concurrently, through the
/// store's pool, instead of one row after another.
const RESOLVE_AT_ONCE: usize = 16;
/// How long a row without any heartbeat waits between checks.
const NO_HEARTBEAT_RECHECK_MS: i64 = 60_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Run {
        flow_id: String,
        run_number: i64,
    },
    Task {
        flow_id: String,
        run_number: i64,
        step_name: String,
        task_id: i64,
    },
}

fn live(status: &str) -> bool {
    matches!(status, "running" | "pending")
}

/// The watch key and status of an event's row: runs and task attempts, not steps.
fn key_of(row: &Value) -> Option<(Key, String)> {
    let flow_id = row.get("flow_id")?.as_str()?.to_owned();
    let run_number = row.get("run_number")?.as_i64()?;
    let status = row.get("status")?.as_str()?.to_owned();
    let key = match row.get("task_id").and_then(Value::as_i64) {
        Some(task_id) => Key::Task {
            flow_id,
            run_number,
            step_name: row.get("step_name")?.as_str()?.to_owned(),
            task_id,
        },
        None => Key::Run {
            flow_id,
            run_number,
        },
    };
    Some((key, status))
}

/// When a live row should next be read: once its heartbeat is `stale_ms` old, and no sooner
/// than the next check.
fn next_check(row: &Value, every_ms: i64, stale_ms: i64) -> i64 {
    let now = now_ms();
    let due = match row.get("last_heartbeat_ts").and_then(Value::as_i64) {
        Some(beat) => beat.saturating_mul(1000).saturating_add(stale_ms),
        None => now + NO_HEARTBEAT_RECHECK_MS,
    };
    due.max(now + every_ms)
}

/// A failed row whose failure no write announced: a run (its end task's failure would have
/// been), or a task attempt without a result.
fn failed_by_heartbeat(key: &Key, row: &Value) -> bool {
    let failed = row.get("status").and_then(Value::as_str) == Some("failed");
    match key {
        Key::Run { .. } => failed,
        Key::Task { .. } => failed && row.get("attempt_ok").is_none_or(Value::is_null),
    }
}

struct Watched {
    due_ms: i64,
}

struct Pump {
    realtime: Realtime,
    store: Arc<dyn Store>,
    watched: HashMap<Key, Watched>,
    every_ms: i64,
    stale_ms: i64,
}

impl Pump {
    fn note(&mut self, row: &Value) {
        let Some((key, status)) = key_of(row) else {
            return;
        };
        if !live(&status) {
            self.watched.remove(&key);
            return;
        }
        let due_ms = next_check(row, self.every_ms, self.stale_ms);
        if self.watched.len() < MAX_WATCHED || self.watched.contains_key(&key) {
            self.watched.insert(key, Watched { due_ms });
        }
    }

    fn emit(&mut self, event: Event) {
        self.note(&event.data);
        self.realtime.publish(event);
    }

    async fn seed(&mut self) {
        let query = UiQuery::first(SEEDED_RUNS).with_eq("status", "running");
        match self.store.ui_runs(None, &query).await {
            Ok(runs) => {
                for run in runs {
                    if let Ok(row) = serde_json::to_value(&run) {
                        self.note(&row);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not list live runs to watch"),
        }
    }

    async fn reread(&self, key: &Key) -> Option<Event> {
        match key {
            Key::Run {
                flow_id,
                run_number,
            } => {
                let run = events::run_row(&*self.store, flow_id, *run_number).await?;
                events::run_event(&*self.store, &run, Op::Update).await
            }
            Key::Task {
                flow_id,
                run_number,
                step_name,
                task_id,
            } => {
                let run = events::run_row(&*self.store, flow_id, *run_number).await?;
                let row =
                    events::task_attempt(&*self.store, &run, step_name, *task_id, None).await?;
                events::task_event(&row, Op::Update)
            }
        }
    }

    /// Re-read the watched rows that are due; announce those that turned `failed`.
    async fn check(&mut self) {
        if !self.realtime.interested() {
            return;
        }
        let now = now_ms();
        let due: Vec<Key> = self
            .watched
            .iter()
            .filter(|(_, w)| w.due_ms <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            let Some(event) = self.reread(&key).await else {
                self.watched.remove(&key);
                continue;
            };
            if failed_by_heartbeat(&key, &event.data) {
                self.emit(event);
            } else {
                self.note(&event.data);
            }
        }
    }

    /// Events go out in the order of the changes, though their rows are read concurrently.
    async fn changes(&mut self, batch: &[Change]) {
        if !self.realtime.interested() {
            return;
        }
        let store = &*self.store;
        let resolved =
            futures_util::future::join_all(batch.iter().map(|c| events::resolve(store, c))).await;
        for event in resolved.into_iter().flatten() {
            self.emit(event);
        }
    }
}

/// Turn changes into events until `changes` closes, checking heartbeats in between.
pub async fn pump(
    realtime: Realtime,
    store: Arc<dyn Store>,
    mut changes: broadcast::Receiver<Change>,
) {
    let every = realtime.settings().heartbeat_check;
    let stale_ms = realtime.settings().stale_after.as_millis() as i64;
    let mut pump = Pump {
        realtime,
        store,
        watched: HashMap::new(),
        every_ms: every.as_millis() as i64,
        stale_ms,
    };
    pump.seed().await;
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            received = changes.recv() => match received {
                Ok(change) => {
                    let mut batch = vec![change];
                    while batch.len() < RESOLVE_AT_ONCE {
                        match changes.try_recv() {
                            Ok(change) => batch.push(change),
                            Err(TryRecvError::Lagged(missed)) => lagged(missed),
                            Err(_) => break,
                        }
                    }
                    pump.changes(&batch).await;
                }
                Err(RecvError::Lagged(missed)) => lagged(missed),
                Err(RecvError::Closed) => return,
            },
            _ = ticks.tick() => pump.check().await,
        }
    }
}

fn lagged(missed: u64) {
    tracing::warn!(
        missed,
        "the realtime channel fell behind the writes; events were lost"
    );
}
