//! Request bodies as the Metaflow client sends them (spec 10.5), including the keys the service
//! ignores, so request parsing costs what it costs in production.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// The Metaflow version the bodies claim; it makes runs and tasks heartbeat-capable (spec 6.1).
const CLIENT_VERSION_TAG: &str = "metaflow_version:2.19.38";

/// Epoch milliseconds now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The system tags of a client run; `heartbeat` adds the version tag that makes it heartbeat.
pub fn system_tags(heartbeat: bool) -> Vec<String> {
    let mut tags = vec![
        "runtime:dev".to_owned(),
        "user:bench".to_owned(),
        "python_version:3.11.9".to_owned(),
    ];
    if heartbeat {
        tags.push(CLIENT_VERSION_TAG.to_owned());
    }
    tags
}

/// `POST /flows/{f}`.
#[derive(Serialize)]
pub struct Flow<'a> {
    pub flow_id: &'a str,
    pub ts_epoch: i64,
}

/// `POST /flows/{f}/run`.
#[derive(Serialize)]
pub struct Run<'a> {
    pub flow_id: &'a str,
    pub user_name: &'a str,
    pub tags: Vec<String>,
    pub system_tags: Vec<String>,
    pub ts_epoch: i64,
}

impl<'a> Run<'a> {
    /// A run of `flow_id`, heartbeat-capable or not.
    pub fn new(flow_id: &'a str, heartbeat: bool) -> Self {
        Run {
            flow_id,
            user_name: "bench",
            tags: Vec::new(),
            system_tags: system_tags(heartbeat),
            ts_epoch: now_ms(),
        }
    }
}

/// `POST .../step` and `POST .../task` (the task form without a client-chosen id).
#[derive(Serialize)]
pub struct StepOrTask<'a> {
    pub flow_id: &'a str,
    pub run_number: String,
    pub step_name: &'a str,
    pub user_name: &'a str,
    pub tags: Vec<String>,
    pub system_tags: Vec<String>,
    pub ts_epoch: i64,
}

impl<'a> StepOrTask<'a> {
    /// A step or task of run `run_number`.
    pub fn new(flow_id: &'a str, run_number: i64, step_name: &'a str) -> Self {
        StepOrTask {
            flow_id,
            run_number: run_number.to_string(),
            step_name,
            user_name: "bench",
            tags: Vec::new(),
            system_tags: system_tags(true),
            ts_epoch: now_ms(),
        }
    }
}

/// One element of `POST .../artifact`.
#[derive(Serialize)]
pub struct Artifact<'a> {
    pub flow_id: &'a str,
    pub run_number: String,
    pub step_name: &'a str,
    pub task_id: String,
    pub attempt_id: i64,
    pub name: String,
    pub content_type: &'a str,
    #[serde(rename = "type")]
    pub type_: &'a str,
    pub sha: String,
    pub ds_type: &'a str,
    pub location: String,
    pub user_name: &'a str,
    pub tags: Vec<String>,
    pub system_tags: Vec<String>,
    pub ts_epoch: i64,
}

impl<'a> Artifact<'a> {
    /// Artifact `name` of a task, at attempt 0, stored in a local datastore.
    pub fn new(
        flow_id: &'a str,
        run_number: i64,
        step_name: &'a str,
        task_id: i64,
        name: String,
    ) -> Self {
        let sha = format!("{:040x}", now_ms() as u128 * 7919 + name.len() as u128);
        Artifact {
            flow_id,
            run_number: run_number.to_string(),
            step_name,
            task_id: task_id.to_string(),
            attempt_id: 0,
            location: format!("/tmp/metaflow/{flow_id}/data/{}/{sha}", &sha[..2]),
            name,
            content_type: "gzip+pickle-v4",
            type_: "metaflow.artifact",
            sha,
            ds_type: "local",
            user_name: "bench",
            tags: Vec::new(),
            system_tags: Vec::new(),
            ts_epoch: now_ms(),
        }
    }
}

/// One element of `POST .../metadata`.
#[derive(Serialize)]
pub struct Metadata<'a> {
    pub flow_id: &'a str,
    pub run_number: String,
    pub step_name: &'a str,
    pub task_id: String,
    pub field_name: String,
    #[serde(rename = "type")]
    pub type_: &'a str,
    pub value: String,
    pub tags: Vec<String>,
    pub user_name: &'a str,
    pub ts_epoch: i64,
}

impl<'a> Metadata<'a> {
    /// Metadata field `field_name` of a task, tagged with attempt 0 as the client does.
    pub fn new(
        flow_id: &'a str,
        run_number: i64,
        step_name: &'a str,
        task_id: i64,
        field_name: String,
    ) -> Self {
        Metadata {
            flow_id,
            run_number: run_number.to_string(),
            step_name,
            task_id: task_id.to_string(),
            field_name,
            type_: "attempt",
            value: "0".to_owned(),
            tags: vec!["attempt_id:0".to_owned()],
            user_name: "bench",
            ts_epoch: now_ms(),
        }
    }
}
