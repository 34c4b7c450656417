//! The service on this machine: start it in-process, find one already running, and point Metaflow
//! at it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use mfstack_service::{AppState, Settings};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::database::DatabaseArgs;
use crate::hint::WithHint;

/// A service started by this process.
pub struct LocalService {
    /// Base URL of the metadata API.
    pub url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl LocalService {
    /// Start the service on `addr` (port 0 picks a free one) over the database of `db`.
    pub async fn start(
        db: &DatabaseArgs,
        addr: SocketAddr,
        settings: Settings,
    ) -> anyhow::Result<Self> {
        let store = db.open().await?;
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))
            .hint("another program uses that port: pass --port with a free one")?;
        let bound = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = AppState::new(store, settings);
        let task = tokio::spawn(mfstack_service::serve(state, listener, None, async move {
            let _ = stopped.await;
        }));
        Ok(LocalService {
            url: format!("http://{bound}"),
            stop,
            task,
        })
    }

    /// Stop after in-flight requests finish, and close the database.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task
            .await
            .context("the service task failed")?
            .context("the service failed")?;
        Ok(())
    }
}

/// What a running `mfstack up` leaves in its data directory so a second one can find it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Running {
    /// Process id.
    pub pid: u32,
    /// Base URL of the metadata API.
    pub url: String,
}

fn running_file(data_dir: &Path) -> PathBuf {
    data_dir.join("service.json")
}

/// The service recorded in `data_dir`, if it still answers.
pub async fn find_running(data_dir: &Path) -> Option<Running> {
    let text = std::fs::read_to_string(running_file(data_dir)).ok()?;
    let running: Running = serde_json::from_str(&text).ok()?;
    ping(&running.url).await.then_some(running)
}

/// Record the service for later `up` and `run` calls.
pub fn record_running(data_dir: &Path, url: &str) -> anyhow::Result<()> {
    let running = Running {
        pid: std::process::id(),
        url: url.to_owned(),
    };
    std::fs::write(running_file(data_dir), serde_json::to_vec_pretty(&running)?)
        .with_context(|| format!("cannot write {}", running_file(data_dir).display()))
}

/// Forget the record (on shutdown).
pub fn forget_running(data_dir: &Path) {
    let _ = std::fs::remove_file(running_file(data_dir));
}

/// True when `GET {url}/ping` answers 200 within a second. A plain HTTP/1.0 request keeps this
/// free of an HTTP client dependency.
pub async fn ping(url: &str) -> bool {
    let Some(authority) = url.strip_prefix("http://") else {
        return false;
    };
    let attempt = async {
        let mut stream = TcpStream::connect(authority).await.ok()?;
        let request = format!("GET /ping HTTP/1.0\r\nHost: {authority}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut buf = [0u8; 64];
        let n = stream.read(&mut buf).await.ok()?;
        let head = String::from_utf8_lossy(&buf[..n]);
        Some(head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), attempt).await,
        Ok(Some(true))
    )
}

/// Metaflow's settings for a local service: metadata from `url`, data in `data_dir/datastore`.
/// `up` writes them as a profile; `run` passes them as environment variables.
pub fn metaflow_env(url: &str, data_dir: &Path) -> Vec<(String, String)> {
    vec![
        ("METAFLOW_DEFAULT_METADATA".into(), "service".into()),
        ("METAFLOW_SERVICE_URL".into(), url.into()),
        ("METAFLOW_DEFAULT_DATASTORE".into(), "local".into()),
        (
            "METAFLOW_DATASTORE_SYSROOT_LOCAL".into(),
            data_dir.join("datastore").display().to_string(),
        ),
    ]
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
