//! The `/ws` burst: subscribers to one run's tasks, then a burst of task creations through the
//! metadata API. Each delivery's latency runs from the start of the write that caused it to the
//! frame reaching the subscriber.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{BURST_STEP, TASKS_FLOW, UiFixture};
use crate::bodies::StepOrTask;
use crate::client::{Http, int_field};
use crate::load::{Limits, Stats, drive};
use crate::server::Server;

/// Task creations in flight during the burst.
pub const BURST_IN_FLIGHT: usize = 64;
/// The burst has ended when no frame arrived for this long.
const QUIET: Duration = Duration::from_secs(5);
/// A subscription not confirmed by then has failed.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(10);
/// The writes of a burst are bounded, not measured, by this.
const BURST_TIME: Duration = Duration::from_secs(60);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the subscribers received.
pub struct WsStats {
    pub subscribers: usize,
    /// The task creations: count, errors and latency of the writes themselves.
    pub writes: Stats,
    /// One entry per delivered event, across subscribers; `ops` counts them.
    pub delivery: Stats,
    /// Subscribers that received every event.
    pub complete: usize,
    /// Server RSS with every socket open, before the burst.
    pub rss_open: Option<u64>,
    /// Server peak RSS during the burst.
    pub peak: Option<u64>,
}

impl WsStats {
    /// Deliveries owed: every subscriber hears of every stored task.
    pub fn expected(&self) -> usize {
        self.subscribers * (self.writes.ops - self.writes.errors)
    }

    /// Failed writes and missing deliveries.
    pub fn errors(&self) -> usize {
        self.writes.errors + self.expected().saturating_sub(self.delivery.ops)
    }
}

#[derive(Serialize)]
struct Subscribe<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    uuid: String,
    resource: &'a str,
}

#[derive(Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    data: FrameRow,
}

#[derive(Deserialize)]
struct FrameRow {
    task_id: Option<i64>,
}

/// Open `fx.sizes.subscribers` sockets on `ws_url`, burst, and collect what each one heard.
pub async fn burst(
    api: &Http,
    ws_url: &str,
    fx: &UiFixture,
    server: &Server,
) -> anyhow::Result<WsStats> {
    let resource = format!("/flows/{TASKS_FLOW}/runs/{}/tasks", fx.burst_run);
    let subscribers = fx.sizes.subscribers;
    let mut sockets = Vec::with_capacity(subscribers);
    for k in 0..subscribers {
        sockets.push(subscribe(ws_url, &resource, k).await?);
    }
    let rss_open = server.memory().ok().map(|m| m.rss);
    server.reset_peak();
    let (stop, stopped) = watch::channel(false);
    let frames = Arc::new(AtomicUsize::new(0));
    let listeners: Vec<_> = sockets
        .into_iter()
        .map(|ws| tokio::spawn(listen(ws, stopped.clone(), frames.clone())))
        .collect();

    let sent = Arc::new(Mutex::new(HashMap::new()));
    let writes = create_tasks(api, fx, sent.clone()).await;
    let expected = subscribers * (writes.ops - writes.errors);
    wait_for(&frames, expected).await;
    let peak = server.memory().ok().map(|m| m.peak);
    let _ = stop.send(true);

    let sent = std::mem::take(&mut *sent.lock().map_err(|e| anyhow::anyhow!("{e}"))?);
    let mut delivery = Stats::default();
    let mut complete = 0;
    for listener in listeners {
        let heard = listener.await.context("a subscriber panicked")?;
        let seen = deliveries(&heard, &sent, &mut delivery.latencies);
        complete += usize::from(seen == sent.len());
    }
    delivery.ops = delivery.latencies.len();
    delivery.latencies.sort_unstable();
    Ok(WsStats {
        subscribers,
        writes,
        delivery,
        complete,
        rss_open,
        peak,
    })
}

/// A socket subscribed to `resource`; the pong that follows the SUBSCRIBE shows it took effect.
async fn subscribe(url: &str, resource: &str, k: usize) -> anyhow::Result<Socket> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .with_context(|| format!("cannot open subscriber {k} on {url}"))?;
    let request = Subscribe {
        kind: "SUBSCRIBE",
        uuid: format!("bench-{k}"),
        resource,
    };
    ws.send(Message::Text(serde_json::to_string(&request)?.into()))
        .await?;
    ws.send(Message::Text("__ping__".into())).await?;
    let pong = async {
        while let Some(msg) = ws.next().await {
            if matches!(msg?, Message::Text(t) if t.as_str() == "__pong__") {
                return Ok(());
            }
        }
        bail!("the socket closed before its pong")
    };
    tokio::time::timeout(SUBSCRIBE_TIMEOUT, pong)
        .await
        .with_context(|| format!("subscriber {k}: no pong within {SUBSCRIBE_TIMEOUT:?}"))??;
    Ok(ws)
}

/// Every text frame until `stop`, with its arrival time; decoded later, off the clock.
async fn listen(
    mut ws: Socket,
    mut stop: watch::Receiver<bool>,
    frames: Arc<AtomicUsize>,
) -> Vec<(String, Instant)> {
    let mut heard = Vec::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    heard.push((text.as_str().to_owned(), Instant::now()));
                    frames.fetch_add(1, Ordering::Relaxed);
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
        }
    }
    let _ = ws.close(None).await;
    heard
}

/// The burst's task creations; `sent` maps each new task to when its request started.
async fn create_tasks(
    api: &Http,
    fx: &UiFixture,
    sent: Arc<Mutex<HashMap<i64, Instant>>>,
) -> Stats {
    let limits = Limits {
        count: fx.sizes.events,
        time: BURST_TIME,
    };
    let (api, run) = (api.clone(), fx.burst_run);
    drive(BURST_IN_FLIGHT, limits, move |_| {
        let (api, sent) = (api.clone(), sent.clone());
        async move {
            let started = Instant::now();
            let path = format!("/flows/{TASKS_FLOW}/runs/{run}/steps/{BURST_STEP}/task");
            let body = api
                .post_ok(&path, &StepOrTask::new(TASKS_FLOW, run, BURST_STEP))
                .await?;
            let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
            let task = int_field(&v, "task_id").map_err(|e| e.to_string())?;
            sent.lock()
                .map_err(|e| e.to_string())?
                .insert(task, started);
            Ok(())
        }
    })
    .await
}

/// Until `expected` frames arrived, or none did for [`QUIET`].
async fn wait_for(frames: &AtomicUsize, expected: usize) {
    let (mut seen, mut since) = (0, Instant::now());
    loop {
        let now = frames.load(Ordering::Relaxed);
        if now >= expected {
            return;
        }
        if now != seen {
            (seen, since) = (now, Instant::now());
        } else if since.elapsed() > QUIET {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The latency of each first INSERT of a burst task in `heard`; how many distinct tasks it held.
fn deliveries(
    heard: &[(String, Instant)],
    sent: &HashMap<i64, Instant>,
    latencies: &mut Vec<Duration>,
) -> usize {
    let mut seen = HashSet::new();
    for (text, at) in heard {
        let Ok(frame) = serde_json::from_str::<Frame>(text) else {
            continue;
        };
        let Some(task) = frame.data.task_id.filter(|_| frame.kind == "INSERT") else {
            continue;
        };
        if let Some(started) = sent.get(&task)
            && seen.insert(task)
        {
            latencies.push(at.saturating_duration_since(*started));
        }
    }
    seen.len()
}
