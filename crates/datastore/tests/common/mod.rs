//! Runs the real Metaflow flows in `tests/flows/` and reads back what the Metaflow client sees.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use mfstack_datastore::{ArtifactRef, TaskPath};
use serde_json::Value;

/// The project's Python with Metaflow; `None` (skip) locally when it is missing, a failure under CI.
pub fn python() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    if python.exists() {
        return Some(python);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{} is missing: the datastore tests need the project venv",
            python.display()
        );
    }
    eprintln!(
        "skipping: {} is missing (create the project venv to run this test)",
        python.display()
    );
    None
}

pub fn flow_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/flows")
        .join(name)
}

/// Runs `flow` in `dir` with `env`, then returns the client's view of the run (`dump.py`).
pub fn run_flow(
    python: &Path,
    dir: &Path,
    env: &[(&str, String)],
    flow: &str,
    args: &[&str],
    expect_ok: bool,
) -> Value {
    let status = Command::new(python)
        .arg(flow_file(flow))
        .args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("METAFLOW_HOME", dir)
        .env("USERNAME", "tester")
        .output()
        .expect("run the flow");
    assert_eq!(
        status.status.success(),
        expect_ok,
        "{flow}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let flow_name = if flow.starts_with("failing") {
        "FailingFlow"
    } else {
        "DatastoreFlow"
    };
    let dump = Command::new(python)
        .arg(flow_file("dump.py"))
        .arg(format!(
            "{flow_name}/{}",
            latest_run(python, dir, env, flow_name)
        ))
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("METAFLOW_HOME", dir)
        .output()
        .expect("run dump.py");
    assert!(
        dump.status.success(),
        "dump.py: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    serde_json::from_slice(&dump.stdout).expect("dump.py prints JSON")
}

fn latest_run(python: &Path, dir: &Path, env: &[(&str, String)], flow: &str) -> String {
    let out = Command::new(python)
        .args(["-c", &format!("from metaflow import Flow, namespace; namespace(None); print(Flow('{flow}').latest_run.id)")])
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("METAFLOW_HOME", dir)
        .output()
        .expect("find the latest run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn task_path(flow: &str, dump: &Value, task: &Value) -> TaskPath {
    TaskPath {
        flow: flow.into(),
        run: dump["run"].as_str().unwrap().into(),
        step: task["step"].as_str().unwrap().into(),
        task: task["task"].as_str().unwrap().into(),
    }
}

pub fn artifact(flow: &str, entry: &Value) -> ArtifactRef {
    ArtifactRef {
        flow: flow.into(),
        name: entry["name"].as_str().unwrap().into(),
        location: entry["location"].as_str().unwrap().into(),
        sha: entry["sha"].as_str().unwrap().into(),
    }
}

pub fn tasks<'a>(dump: &'a Value, step: &str) -> Vec<&'a Value> {
    dump["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["step"] == step)
        .collect()
}
