//! The internal network load balancer: port 80 to the API, port 8082 to the migration API.

use serde::Serialize;

use super::{API_PORT, MIGRATE_PORT};
use crate::TemplateError;
use crate::components::network::Network;
use crate::components::storage::Storage;
use crate::components::storage::buckets::LOGS_BUCKET_POLICY;
use crate::intrinsics::{Expr, r#ref};
use crate::template::{ResourceProperties, Template};

/// The internal load balancer (reference id).
pub const NLB: &str = "NLB";
/// Port 80 → API (reference id).
pub const API_LISTENER: &str = "NLBListener";
/// Port 8082 → migrations (reference id).
pub const MIGRATE_LISTENER: &str = "NLBListenerDBMigrate";
/// API targets (reference id).
pub const API_TARGETS: &str = "NLBTargetGroup";
/// Migration targets (reference id).
pub const MIGRATE_TARGETS: &str = "NLBTargetGroupDBMigrate";

/// `AWS::ElasticLoadBalancingV2::LoadBalancer`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoadBalancer {
    /// Attributes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub load_balancer_attributes: Vec<KeyValue>,
    /// `internal`.
    pub scheme: &'static str,
    /// Security groups (only settable when the balancer is created).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<Expr>,
    /// Subnets.
    pub subnets: Vec<Expr>,
    /// `network`.
    #[serde(rename = "Type")]
    pub kind: &'static str,
}

impl ResourceProperties for LoadBalancer {
    const TYPE: &'static str = "AWS::ElasticLoadBalancingV2::LoadBalancer";
}

/// A load balancer or target group attribute.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyValue {
    /// Name.
    pub key: &'static str,
    /// Value.
    pub value: Expr,
}

impl KeyValue {
    /// An attribute.
    pub fn new(key: &'static str, value: impl Into<Expr>) -> Self {
        KeyValue {
            key,
            value: value.into(),
        }
    }
}

/// Attributes of an internal network load balancer that logs to `logs_bucket` under `prefix`.
///
/// Network load balancers log only connections to TLS listeners, so these stay empty until one
/// is added; the setting costs nothing meanwhile.
pub fn nlb_attributes(logs_bucket: Expr, prefix: &str) -> Vec<KeyValue> {
    vec![
        KeyValue::new("load_balancing.cross_zone.enabled", "true"),
        KeyValue::new("access_logs.s3.enabled", "true"),
        KeyValue::new("access_logs.s3.bucket", logs_bucket),
        KeyValue::new("access_logs.s3.prefix", prefix),
    ]
}

/// `AWS::ElasticLoadBalancingV2::Listener` forwarding TCP to one target group.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Listener {
    /// Forward to the target group.
    pub default_actions: Vec<ForwardAction>,
    /// The balancer.
    pub load_balancer_arn: Expr,
    /// Listening port.
    pub port: i64,
    /// `TCP`.
    pub protocol: &'static str,
}

impl ResourceProperties for Listener {
    const TYPE: &'static str = "AWS::ElasticLoadBalancingV2::Listener";
}

/// A forward action.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ForwardAction {
    /// The target group.
    pub target_group_arn: Expr,
    /// `forward`.
    #[serde(rename = "Type")]
    pub kind: &'static str,
}

impl Listener {
    /// TCP `port` of `lb` to `targets`.
    pub fn tcp(lb: &str, port: i64, targets: &str) -> Self {
        Listener {
            default_actions: vec![ForwardAction {
                target_group_arn: r#ref(targets),
                kind: "forward",
            }],
            load_balancer_arn: r#ref(lb),
            port,
            protocol: "TCP",
        }
    }
}

/// `AWS::ElasticLoadBalancingV2::TargetGroup` of Fargate task IPs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetGroup {
    /// Seconds between checks.
    pub health_check_interval_seconds: i64,
    /// Path of an HTTP check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_path: Option<&'static str>,
    /// Port checked, when not the traffic port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_port: Option<&'static str>,
    /// `TCP` or `HTTP`.
    pub health_check_protocol: &'static str,
    /// Seconds before a check fails.
    pub health_check_timeout_seconds: i64,
    /// Passes to become healthy.
    pub healthy_threshold_count: i64,
    /// Traffic port.
    pub port: i64,
    /// `TCP`.
    pub protocol: &'static str,
    /// Deregistration delay and the like.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub target_group_attributes: Vec<KeyValue>,
    /// `ip`.
    pub target_type: &'static str,
    /// Failures to become unhealthy.
    pub unhealthy_threshold_count: i64,
    /// The VPC.
    pub vpc_id: Expr,
}

impl ResourceProperties for TargetGroup {
    const TYPE: &'static str = "AWS::ElasticLoadBalancingV2::TargetGroup";
}

fn tcp_targets(port: i64, health_port: Option<&'static str>, vpc_id: Expr) -> TargetGroup {
    TargetGroup {
        health_check_interval_seconds: 10,
        health_check_path: None,
        health_check_port: health_port,
        health_check_protocol: "TCP",
        health_check_timeout_seconds: 10,
        healthy_threshold_count: 2,
        port,
        protocol: "TCP",
        target_group_attributes: vec![KeyValue::new("deregistration_delay.timeout_seconds", "30")],
        target_type: "ip",
        unhealthy_threshold_count: 2,
        vpc_id,
    }
}

/// Add the balancer, its target groups and listeners.
pub fn add(t: &mut Template, net: &Network, storage: &Storage) -> Result<(), TemplateError> {
    t.add(
        NLB,
        &LoadBalancer {
            load_balancer_attributes: nlb_attributes(storage.logs_bucket.clone(), "nlb"),
            scheme: "internal",
            security_groups: vec![],
            subnets: net.subnets.clone(),
            kind: "network",
        },
    )?
    // Elastic Load Balancing checks it may write the log bucket when logging is switched on.
    .depends_on(&[LOGS_BUCKET_POLICY]);
    t.add(
        API_TARGETS,
        &tcp_targets(API_PORT, None, net.vpc_id.clone()),
    )?;
    t.add(
        MIGRATE_TARGETS,
        &tcp_targets(MIGRATE_PORT, Some("8080"), net.vpc_id.clone()),
    )?;
    t.add(API_LISTENER, &Listener::tcp(NLB, 80, API_TARGETS))?;
    t.add(
        MIGRATE_LISTENER,
        &Listener::tcp(NLB, MIGRATE_PORT, MIGRATE_TARGETS),
    )?;
    Ok(())
}
