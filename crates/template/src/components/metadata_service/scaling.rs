//! Task sizes and CPU autoscaling of the metadata service and the UI backend when they run
//! mfstack's image; upstream's image keeps upstream's fixed sizes and one task.
//!
//! The sizes come from `bench/README.md` ("Latest results", PostgreSQL 15, release build, pool of
//! 10 connections, 2 cores shared by client, server and database):
//!
//! - memory: idle RSS 11.4 MiB; every write scenario peaks at or under 20.1 MiB; the heaviest read,
//!   a run's 50,000 artifacts with 64 listings in flight, peaks at 565 MiB (351 MiB at 16).
//! - CPU: run create at 64 in flight does 5,690 requests/s while `perf record -a` gives the server
//!   12% of the two cores, about 42 µs of CPU a request; one 50,000-artifact listing takes about
//!   40-70 ms of server CPU (196 ms p50, of which PostgreSQL's statement is 128-160 ms).

use serde::Serialize;

use crate::TemplateError;
use crate::intrinsics::{Expr, get_att, if_, no_value, r#ref, sub};
use crate::params::COND_MFSTACK_IMAGE;
use crate::template::{ResourceProperties, Template};

/// A Fargate task size in CPU units and MiB.
#[derive(Debug, Clone, Copy)]
pub struct TaskSize {
    /// CPU units (1024 = one vCPU).
    pub cpu: &'static str,
    /// Memory in MiB.
    pub memory: &'static str,
}

impl TaskSize {
    /// `cpu`, and `memory`, as `Fn::If` between mfstack's size and `upstream`.
    pub fn or_upstream(self, upstream: TaskSize) -> (Expr, Expr) {
        (
            if_(COND_MFSTACK_IMAGE, self.cpu, upstream.cpu),
            if_(COND_MFSTACK_IMAGE, self.memory, upstream.memory),
        )
    }
}

/// The metadata service on mfstack: 1 GiB is 1.8 times the 565 MiB peak of 64 concurrent
/// 50,000-artifact listings; a quarter vCPU at 42 µs a write serves about 6,000 writes/s, more
/// than the database behind it (db-only run create: 10,354/s on two whole cores).
pub const METADATA_MFSTACK: TaskSize = TaskSize {
    cpu: "256",
    memory: "1024",
};
/// Upstream's metadata service, as the reference sized it.
pub const METADATA_UPSTREAM: TaskSize = TaskSize {
    cpu: "512",
    memory: "1024",
};
/// The UI task on mfstack: the UI API runs the same store listings as the metadata service, paged,
/// and decodes at most 4 KiB of each artifact (`MAX_PROCESSABLE_S3_ARTIFACT_SIZE_KB`), so the same
/// 565 MiB peak bounds it; half a vCPU leaves room for the front end's nginx beside it.
pub const UI_MFSTACK: TaskSize = TaskSize {
    cpu: "512",
    memory: "1024",
};
/// Upstream's Python UI backend, as the reference sized it.
pub const UI_UPSTREAM: TaskSize = TaskSize {
    cpu: "4096",
    memory: "16384",
};

/// Average task CPU the scaling keeps: leaves headroom for a burst of listings while a new task
/// starts (about a minute on Fargate).
const TARGET_CPU_PERCENT: i64 = 60;
/// Most metadata tasks: four quarter-vCPU tasks at 60% serve about 14,000 writes/s, past what the
/// database itself did in the bench, and their 4 × 10 pool connections stay far below a
/// db.t4g.small's connection limit.
pub const METADATA_MAX_TASKS: i64 = 4;
/// Most UI tasks: the UI's load is people reading, a fraction of the clients' writes.
pub const UI_MAX_TASKS: i64 = 2;

/// Desired count: absent under autoscaling, so a stack update does not reset what it chose.
pub fn desired_count() -> Expr {
    if_(COND_MFSTACK_IMAGE, no_value(), 1_i64)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ScalableTarget {
    max_capacity: i64,
    min_capacity: i64,
    resource_id: Expr,
    scalable_dimension: &'static str,
    service_namespace: &'static str,
}
impl ResourceProperties for ScalableTarget {
    const TYPE: &'static str = "AWS::ApplicationAutoScaling::ScalableTarget";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ScalingPolicy {
    policy_name: Expr,
    policy_type: &'static str,
    scaling_target_id: Expr,
    target_tracking_scaling_policy_configuration: TargetTracking,
}
impl ResourceProperties for ScalingPolicy {
    const TYPE: &'static str = "AWS::ApplicationAutoScaling::ScalingPolicy";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TargetTracking {
    predefined_metric_specification: PredefinedMetric,
    scale_in_cooldown: i64,
    scale_out_cooldown: i64,
    target_value: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PredefinedMetric {
    predefined_metric_type: &'static str,
}

/// Target tracking on average CPU for the ECS service `service` in the cluster named
/// `cluster_name`, between one and `max_tasks` tasks, under [`COND_MFSTACK_IMAGE`]. The scalable
/// target uses Application Auto Scaling's service-linked role.
pub fn add(
    t: &mut Template,
    prefix: &str,
    cluster_name: Expr,
    service: &str,
    max_tasks: i64,
) -> Result<(), TemplateError> {
    let target = format!("{prefix}ScalableTarget");
    t.add(
        &target,
        &ScalableTarget {
            max_capacity: max_tasks,
            min_capacity: 1,
            resource_id: Expr::Join(
                String::new(),
                vec![
                    "service/".into(),
                    cluster_name,
                    "/".into(),
                    get_att(service, "Name"),
                ],
            ),
            scalable_dimension: "ecs:service:DesiredCount",
            service_namespace: "ecs",
        },
    )?
    .condition(COND_MFSTACK_IMAGE);
    t.add(
        &format!("{prefix}CpuScaling"),
        &ScalingPolicy {
            policy_name: sub(&format!("${{AWS::StackName}}-{prefix}-cpu")),
            policy_type: "TargetTrackingScaling",
            scaling_target_id: r#ref(&target),
            target_tracking_scaling_policy_configuration: TargetTracking {
                predefined_metric_specification: PredefinedMetric {
                    predefined_metric_type: "ECSServiceAverageCPUUtilization",
                },
                scale_in_cooldown: 300,
                scale_out_cooldown: 60,
                target_value: TARGET_CPU_PERCENT,
            },
        },
    )?
    .condition(COND_MFSTACK_IMAGE);
    Ok(())
}
