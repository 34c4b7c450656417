//! The benchmark's smoke mode against the debug `mfstack`: it must finish, exit 0, and print a row
//! for every scenario at every level and the `/ws` burst with every event delivered, on SQLite
//! always and on PostgreSQL when `MFSTACK_TEST_POSTGRES_URL` is set.

use std::path::PathBuf;
use std::process::Command;

const SCENARIOS: [&str; 14] = [
    "run create",
    "task create",
    "task heartbeat, 1k-task step",
    "task heartbeat, 100k-task step",
    "artifact post x10",
    "metadata post x10",
    "list step tasks",
    "list run artifacts",
    "list runs ?status=running",
    "ui home page /api/runs",
    "ui run tasks, 1000 per page",
    "ui log page 1, newest first",
    "ui web runs page /",
    "ui web run page, every task",
];

/// The `mfstack` binary under test: `MFSTACK_BIN`, else the workspace's debug build.
fn mfstack_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("MFSTACK_BIN") {
        return PathBuf::from(path);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/mfstack")
}

/// The table of `backend` in the printed output.
fn table<'a>(stdout: &'a str, backend: &str) -> &'a str {
    let start = stdout
        .find(&format!("### {backend}"))
        .unwrap_or_else(|| panic!("no {backend} table in:\n{stdout}"));
    let rest = &stdout[start + 4..];
    let end = rest.find("### ").unwrap_or(rest.len());
    &rest[..end]
}

fn assert_rows(table: &str) {
    for scenario in SCENARIOS {
        for level in [1, 16, 64] {
            let prefix = format!("| {scenario} | {level} | ");
            assert!(
                table.lines().any(|l| l.starts_with(&prefix)),
                "no row for {scenario} at {level} in:\n{table}"
            );
        }
    }
    assert_burst_delivered(table);
}

/// The `/ws` burst's row says every subscriber got every event.
fn assert_burst_delivered(table: &str) {
    let row = table
        .lines()
        .find(|l| l.starts_with("| task creations | "))
        .unwrap_or_else(|| panic!("no /ws burst row in:\n{table}"));
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    let (subscribers, delivered, complete) = (cells[2], cells[7], cells[8]);
    let (got, owed) = delivered.split_once(" of ").expect("delivered as N of M");
    assert_eq!(got, owed, "missing deliveries in:\n{row}");
    assert_ne!(got, "0", "nothing delivered in:\n{row}");
    assert_eq!(
        complete,
        format!("{subscribers} of {subscribers}"),
        "a subscriber missed events in:\n{row}"
    );
}

#[test]
fn smoke_mode_covers_every_scenario() {
    let bin = mfstack_bin();
    assert!(
        bin.is_file(),
        "no mfstack binary at {}: run `cargo build -p mfstack-cli` first, or set MFSTACK_BIN",
        bin.display()
    );
    let out_dir = tempfile::tempdir().unwrap();
    let out_file = out_dir.path().join("latest.md");
    let output = Command::new(env!("CARGO_BIN_EXE_mfstack-bench"))
        .arg("--smoke")
        .arg("--mfstack")
        .arg(&bin)
        .arg("--out")
        .arg(&out_file)
        .output()
        .expect("the bench starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "mfstack-bench --smoke failed with {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    assert_rows(table(&stdout, "SQLite"));
    let pg = table(&stdout, "PostgreSQL");
    if std::env::var_os("MFSTACK_TEST_POSTGRES_URL").is_some() {
        assert_rows(pg);
    } else {
        assert!(pg.contains("skipped:"), "PostgreSQL without a URL:\n{pg}");
    }
    let written = std::fs::read_to_string(&out_file).expect("the tables are written");
    assert!(written.contains("### SQLite"), "written file:\n{written}");
}
