//! A real `mfstack serve` over a temporary SQLite database and local datastore, with real Metaflow
//! flows run against it, and a small HTTP client to read its pages.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub struct Stack {
    pub dir: tempfile::TempDir,
    pub metadata: u16,
    pub ui: u16,
    child: Child,
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `mfstack` binary: `MFSTACK_BIN`, else the workspace's debug build.
fn binary() -> PathBuf {
    let bin = std::env::var_os("MFSTACK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| root().join("target"));
            target.join("debug/mfstack")
        });
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build -p mfstack-cli`",
        bin.display()
    );
    bin
}

fn python() -> PathBuf {
    std::env::var_os("MFSTACK_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Stack {
    /// `mfstack serve` on free ports, answering on both the metadata and the UI port.
    pub async fn start() -> Stack {
        let dir = tempfile::tempdir().unwrap();
        let (metadata, migration, ui) = (free_port(), free_port(), free_port());
        let child = Command::new(binary())
            .arg("serve")
            .arg("--database")
            .arg(format!("sqlite://{}", dir.path().join("web.db").display()))
            .env("MF_METADATA_PORT", metadata.to_string())
            .env("MF_MIGRATION_PORT", migration.to_string())
            .env("MF_UI_METADATA_PORT", ui.to_string())
            .env("METAFLOW_DATASTORE_SYSROOT_LOCAL", dir.path())
            .env("MFSTACK_LOG", "warn")
            // The store's task-attempt listing takes seconds for a 5,000-task run in a debug
            // build on a loaded machine; the page must still load here while that is fixed.
            .env("MFSTACK_STATEMENT_TIMEOUT", "120")
            .env("MFSTACK_REQUEST_TIMEOUT", "180")
            .stdout(Stdio::null())
            .spawn()
            .expect("start mfstack serve");
        let stack = Stack {
            dir,
            metadata,
            ui,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let up = try_get(metadata, "/ping").await.is_ok() && try_get(ui, "/").await.is_ok();
            if up {
                return stack;
            }
            assert!(
                Instant::now() < deadline,
                "mfstack serve did not answer in 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn db_url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("web.db").display())
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.ui)
    }

    /// Run a flow from `tests/flows` with Metaflow pointed at this stack.
    pub async fn run_flow(&self, flow: &str, expect_ok: bool) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/flows")
            .join(flow);
        let dir = self.dir.path();
        let out = tokio::process::Command::new(python())
            .arg(script)
            .args(["--metadata=service", "--datastore=local", "run"])
            .env(
                "METAFLOW_SERVICE_URL",
                format!("http://127.0.0.1:{}", self.metadata),
            )
            .env("METAFLOW_DEFAULT_METADATA", "service")
            .env("METAFLOW_DATASTORE_SYSROOT_LOCAL", dir)
            .env("METAFLOW_HOME", dir)
            .env("USERNAME", "tester")
            .env("METAFLOW_USER", "tester")
            .current_dir(dir)
            .output()
            .await
            .expect("run python");
        assert_eq!(
            out.status.success(),
            expect_ok,
            "{flow}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A page of the UI port: status and body; panics when the server cannot be reached.
    pub async fn get(&self, path: &str) -> (u16, String) {
        try_get(self.ui, path).await.expect("UI port answers")
    }

    /// A page that must answer 200.
    pub async fn page(&self, path: &str) -> String {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }
}

/// One `GET` over HTTP/1.1; fixed-length or chunked bodies.
async fn try_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Ok((
        status,
        if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
    ))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}
