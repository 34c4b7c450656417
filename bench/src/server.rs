//! Starting `mfstack serve` as a child process, timing it to ready, and reading its memory.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

use crate::client::Http;

/// Between two readiness probes; short, so the measured time is the server's.
const POLL_INTERVAL: Duration = Duration::from_millis(1);
/// A server not ready by then has failed to start.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `mfstack serve`.
pub struct Server {
    child: Child,
    pid: u32,
    log: PathBuf,
    pub http: Http,
    /// The UI API, under its `/api` prefix.
    pub ui: Http,
    /// The web UI, at the UI port's root.
    pub web: Http,
    /// The UI API's realtime WebSocket.
    pub ui_ws: String,
    /// Spawn to the first 200 on `/ping`.
    pub ready: Duration,
}

/// Resident memory of a process, from `/proc/PID/status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// `VmRSS`, bytes.
    pub rss: u64,
    /// `VmHWM` (peak RSS since start or since the last [`Server::reset_peak`]), bytes.
    pub peak: u64,
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

impl Server {
    /// Start `bin serve` on free loopback ports over `database` (the UI API's port too), and wait
    /// until it answers.
    pub async fn start(
        bin: &Path,
        database: &str,
        pool_max: u32,
        log: PathBuf,
    ) -> anyhow::Result<Server> {
        let port = free_port()?;
        let migration_port = free_port()?;
        let ui_port = free_port()?;
        let log_file =
            File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let started = Instant::now();
        let child = Command::new(bin)
            .args(["serve", "--host", "127.0.0.1", "--log", "warn"])
            .args(["--port", &port.to_string()])
            .args(["--migration-port", &migration_port.to_string()])
            .args(["--ui-host", "127.0.0.1", "--ui-port", &ui_port.to_string()])
            .args(["--database", database])
            .args(["--pool-max", &pool_max.to_string()])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let mut server = Server {
            child,
            pid,
            log,
            http: Http::new(format!("http://127.0.0.1:{port}")),
            ui: Http::new(format!("http://127.0.0.1:{ui_port}/api")),
            web: Http::new(format!("http://127.0.0.1:{ui_port}")),
            ui_ws: format!("ws://127.0.0.1:{ui_port}/api/ws"),
            ready: Duration::ZERO,
        };
        loop {
            if server.http.ping().await {
                server.ready = started.elapsed();
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "mfstack serve exited with {status} before it was ready:\n{}",
                    server.log_tail()
                );
            }
            if started.elapsed() > READY_TIMEOUT {
                bail!(
                    "mfstack serve was not ready within {READY_TIMEOUT:?}:\n{}",
                    server.log_tail()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Process id, for attaching a profiler.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The last lines the server logged.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Current and peak resident memory.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        let path = format!("/proc/{}/status", self.pid);
        let status =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        let kib = |key: &str| -> anyhow::Result<u64> {
            let line = status
                .lines()
                .find(|l| l.starts_with(key))
                .with_context(|| format!("no {key} in {path}"))?;
            let n: u64 = line[key.len()..]
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .with_context(|| format!("unreadable {line}"))?;
            Ok(n * 1024)
        };
        Ok(Memory {
            rss: kib("VmRSS:")?,
            peak: kib("VmHWM:")?,
        })
    }

    /// Reset `VmHWM` to the current RSS so the next reading is one scenario's peak. Returns false
    /// where the kernel does not allow it; peaks are then cumulative.
    pub fn reset_peak(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5").is_ok()
    }

    /// Kill the server; it holds nothing that needs a clean shutdown.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.child.kill().await.context("cannot stop mfstack serve")
    }
}
