//! The `mfstack` binary as a user runs it: each test in a fresh temp dir, with an environment
//! holding nothing of the caller's Metaflow, mfstack or AWS settings. Servers are polled until they
//! answer, never waited on for a fixed time.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `mfstack ARGS` with a clean environment whose HOME is `home`.
fn mfstack(home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mfstack"));
    cmd.args(args).env_clear().current_dir(home);
    for keep in ["PATH", "TMPDIR"] {
        if let Some(v) = std::env::var_os(keep) {
            cmd.env(keep, v);
        }
    }
    // No instance metadata lookups for a region: the tests run off AWS.
    cmd.env("HOME", home)
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

fn run(mut cmd: impl std::borrow::BorrowMut<Command>) -> Output {
    let cmd = cmd.borrow_mut();
    cmd.output().expect("run mfstack")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The status code of `METHOD path` on 127.0.0.1:`port`, or `None` while nothing answers.
fn http(port: u16, method: &str, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_whitespace().nth(1)?.parse().ok()
}

/// A running `mfstack`, interrupted (like Ctrl-C) and reaped on drop.
struct Running(Child);

impl Running {
    fn start(cmd: &mut Command) -> Self {
        Self(
            cmd.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start mfstack"),
        )
    }

    /// Poll `ready` until it holds; fail with the process's output if it exits or takes too long.
    fn wait_until(&mut self, what: &str, ready: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready() {
            if let Some(status) = self.0.try_wait().unwrap() {
                let mut err = String::new();
                let _ = self.0.stderr.take().unwrap().read_to_string(&mut err);
                panic!("mfstack exited ({status}) before {what}: {err}");
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Send SIGINT and return the exit status and stdout.
    fn interrupt(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.0.id().to_string();
        Command::new("kill").args(["-INT", &pid]).status().unwrap();
        let mut out = String::new();
        let _ = self.0.stdout.take().unwrap().read_to_string(&mut out);
        let status = self.0.wait().unwrap();
        (status, out)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn help_says_what_mfstack_is_and_where_to_start() {
    let home = tempfile::tempdir().unwrap();
    let out = run(mfstack(home.path(), &["--help"]));
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.starts_with("Metaflow's cloud stack"), "{text}");
    assert!(
        text.contains("mfstack up") && text.contains("mfstack deploy"),
        "{text}"
    );
}

#[test]
fn serve_refuses_a_switch_it_cannot_read_naming_the_accepted_values() {
    let home = tempfile::tempdir().unwrap();
    let out = run(mfstack(home.path(), &["serve"]).env("MF_MIGRATION_ENDPOINTS_ENABLED", "maybe"));
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let err = stderr(&out);
    assert!(
        err.contains("maybe") && err.contains("0, false, no, off"),
        "{err}"
    );
    let out = run(mfstack(home.path(), &["serve"]).env("USE_SEPARATE_READER_POOL", "si"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn serve_refuses_an_empty_api_key_saying_what_to_do() {
    let home = tempfile::tempdir().unwrap();
    for out in [
        run(mfstack(home.path(), &["serve", "--api-key", ""])),
        run(mfstack(home.path(), &["serve"]).env("MFSTACK_API_KEY", "")),
    ] {
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(err.contains("the API key is empty"), "{err}");
        assert!(err.contains("unset MFSTACK_API_KEY"), "{err}");
    }
}

/// Serve on free ports with `MF_MIGRATION_ENDPOINTS_ENABLED=value`; the status of PATCH /upgrade.
fn upgrade_status_with(value: &str) -> u16 {
    let home = tempfile::tempdir().unwrap();
    let (port, migration, ui) = (free_port(), free_port(), free_port());
    let db = format!("sqlite://{}", home.path().join("m.db").display());
    let mut serve = Running::start(
        mfstack(
            home.path(),
            &[
                "serve",
                "--port",
                &port.to_string(),
                "--migration-port",
                &migration.to_string(),
                "--ui-port",
                &ui.to_string(),
                "--database",
                &db,
            ],
        )
        .env("MF_MIGRATION_ENDPOINTS_ENABLED", value),
    );
    serve.wait_until("GET /ping answers", || {
        http(port, "GET", "/ping") == Some(200)
    });
    assert_eq!(http(migration, "GET", "/db_schema_status"), Some(200));
    let status = http(migration, "PATCH", "/upgrade").unwrap();
    let (exit, _) = serve.interrupt();
    assert!(exit.success(), "serve stops cleanly on SIGINT: {exit}");
    status
}

#[test]
fn serve_answers_and_false_turns_upgrade_off() {
    assert_eq!(upgrade_status_with("on"), 200);
    assert_eq!(upgrade_status_with("FALSE"), 404);
}

#[test]
fn migrate_status_and_up_on_a_fresh_sqlite_file() {
    let home = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", home.path().join("meta.db").display());
    let status = run(mfstack(home.path(), &["migrate", "--database", &db]));
    assert!(status.status.success(), "{}", stderr(&status));
    let text = stdout(&status);
    assert!(text.contains("up to date:      yes"), "{text}");
    assert!(text.contains("current version:"), "{text}");
    let up = run(mfstack(home.path(), &["migrate", "up", "--database", &db]));
    assert!(up.status.success(), "{}", stderr(&up));
    assert!(
        stdout(&up).contains("already up to date"),
        "{}",
        stdout(&up)
    );
}

#[cfg(unix)]
#[test]
fn up_writes_a_private_profile_and_an_empty_metaflow_home_means_unset() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let (port, ui) = (free_port(), free_port());
    let data = home.path().join("data");
    let mut up = Running::start(
        mfstack(
            home.path(),
            &[
                "up",
                "--port",
                &port.to_string(),
                "--ui-port",
                &ui.to_string(),
                "--data-dir",
                data.to_str().unwrap(),
            ],
        )
        .env("METAFLOW_HOME", ""),
    );
    let profile = home.path().join(".metaflowconfig/config_mfstack.json");
    up.wait_until("the service answers and the profile exists", || {
        profile.exists() && http(port, "GET", "/ping") == Some(200)
    });
    let mode = std::fs::metadata(&profile).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let values: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&profile).unwrap()).unwrap();
    assert_eq!(
        values["METAFLOW_SERVICE_URL"],
        format!("http://127.0.0.1:{port}")
    );
    assert_eq!(values["METAFLOW_DEFAULT_METADATA"], "service");
    assert_eq!(values["METAFLOW_DEFAULT_DATASTORE"], "local");
    assert_eq!(
        values["METAFLOW_DATASTORE_SYSROOT_LOCAL"],
        data.join("datastore").display().to_string()
    );
    let (exit, out) = up.interrupt();
    assert!(exit.success(), "{out}");
    assert!(out.contains("mfstack stopped"), "{out}");
}

#[test]
fn an_unknown_database_scheme_names_the_accepted_ones() {
    let home = tempfile::tempdir().unwrap();
    let out = run(mfstack(
        home.path(),
        &["migrate", "--database", "mysql://u:pw@h/db"],
    ));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("mfstack: error: "), "{err}");
    assert!(err.contains("unsupported database URL"), "{err}");
    assert!(!err.contains("pw@"), "the password stays out: {err}");
    assert!(
        err.contains("hint: pass --database sqlite://PATH or postgres://"),
        "{err}"
    );
}

#[cfg(feature = "deploy")]
#[test]
fn deploy_without_a_region_says_how_to_set_one() {
    let home = tempfile::tempdir().unwrap();
    let out = run(mfstack(
        home.path(),
        &[
            "deploy",
            "--stack-name",
            "mf",
            "--yes",
            "--service-image",
            "reference",
        ],
    ));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("no AWS region is configured"), "{err}");
    assert!(err.contains("hint: pass --region, set AWS_REGION"), "{err}");
}

#[cfg(feature = "deploy")]
#[test]
fn deploy_from_a_dynamically_linked_build_names_the_other_ways_before_any_aws_call() {
    let exe = std::fs::read(env!("CARGO_BIN_EXE_mfstack")).unwrap();
    let dynamic = exe.windows(12).any(|w| w == b"/ld-linux-x8");
    if !dynamic {
        return; // A static build publishes itself; the image tests cover that.
    }
    let home = tempfile::tempdir().unwrap();
    let out = run(mfstack(home.path(), &["deploy", "--stack-name", "mf"]));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("cannot build the service image"), "{err}");
    assert!(err.contains("is dynamically linked"), "{err}");
    assert!(!err.contains("region"), "refused before AWS: {err}");
    for way in [
        "--service-image URI",
        "--service-image reference",
        "crt-static",
    ] {
        assert!(err.contains(way), "{way}: {err}");
    }
    let bad = run(mfstack(
        home.path(),
        &["deploy", "--stack-name", "mf", "--service-image", "mfstack"],
    ));
    assert_eq!(bad.status.code(), Some(2), "a usage error");
    assert!(
        stderr(&bad).contains("REPOSITORY@sha256:"),
        "{}",
        stderr(&bad)
    );
}

#[cfg(feature = "deploy")]
#[test]
fn migrate_on_a_stack_is_refused_without_a_region_before_anything_runs() {
    let home = tempfile::tempdir().unwrap();
    let out = run(mfstack(home.path(), &["migrate", "--stack-name", "mf"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));
}
