//! The UI's internal application load balancer, which only CloudFront's VPC origin reaches. It
//! sends `/api` and `/api/*` (the UI API and its `/api/ws` WebSocket) to the backend, and the rest
//! to the front end: mfstack's metaflow-ui container, or upstream's backend, which serves both.

use serde::Serialize;

use super::inputs::{SERVICE_SECURITY_GROUP, SUBNET1, SUBNET2, VPC_CIDR, VPC_ID};
use super::{STATIC_PORT, UI_PORT};
use crate::TemplateError;
use crate::components::metadata_service::load_balancer::{
    ForwardAction, KeyValue, Listener, LoadBalancer,
};
use crate::components::network::{Ingress, Rule, SecurityGroup};
use crate::intrinsics::{Expr, if_, r#ref};
use crate::params::COND_MFSTACK_IMAGE;
use crate::template::{ResourceProperties, Template};

/// Ingress to the UI backend from the UI load balancer (reference id).
pub const UI_INGRESS: &str = "IngressRuleUIService";
/// Ingress to the front end container from the UI load balancer.
pub const STATIC_INGRESS: &str = "IngressRuleUIStatic";
/// The UI load balancer's security group.
pub const LB_SECURITY_GROUP: &str = "UILoadBalancerSecurityGroup";
/// The UI's internal load balancer.
pub const LOAD_BALANCER: &str = "UILoadBalancer";
/// Its listener.
pub const LISTENER: &str = "UIListener";
/// The rule sending the API paths to the backend.
pub const API_RULE: &str = "UIApiListenerRule";
/// The UI backend tasks.
pub const TARGET_GROUP: &str = "UITargetGroup";
/// The front end containers (registered only with mfstack's image).
pub const STATIC_TARGET_GROUP: &str = "UIStaticTargetGroup";

/// `AWS::ElasticLoadBalancingV2::TargetGroup` of HTTP task IPs.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct HttpTargets {
    health_check_interval_seconds: i64,
    health_check_path: Expr,
    health_check_protocol: &'static str,
    health_check_timeout_seconds: i64,
    healthy_threshold_count: i64,
    matcher: Matcher,
    port: i64,
    protocol: &'static str,
    target_group_attributes: Vec<KeyValue>,
    target_type: &'static str,
    unhealthy_threshold_count: i64,
    vpc_id: Expr,
}
impl ResourceProperties for HttpTargets {
    const TYPE: &'static str = "AWS::ElasticLoadBalancingV2::TargetGroup";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Matcher {
    http_code: &'static str,
}

fn http_targets(port: i64, health_path: Expr) -> HttpTargets {
    HttpTargets {
        health_check_interval_seconds: 10,
        health_check_path: health_path,
        health_check_protocol: "HTTP",
        health_check_timeout_seconds: 5,
        healthy_threshold_count: 2,
        matcher: Matcher { http_code: "200" },
        port,
        protocol: "HTTP",
        target_group_attributes: vec![KeyValue::new("deregistration_delay.timeout_seconds", "30")],
        target_type: "ip",
        unhealthy_threshold_count: 2,
        vpc_id: r#ref(VPC_ID),
    }
}

/// `AWS::ElasticLoadBalancingV2::ListenerRule` forwarding some paths.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PathRule {
    actions: Vec<ForwardAction>,
    conditions: Vec<PathCondition>,
    listener_arn: Expr,
    priority: i64,
}
impl ResourceProperties for PathRule {
    const TYPE: &'static str = "AWS::ElasticLoadBalancingV2::ListenerRule";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PathCondition {
    field: &'static str,
    path_pattern_config: PathPatterns,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PathPatterns {
    values: Vec<&'static str>,
}

/// Add the balancer, its security group, target groups, listener and API rule, and the tasks'
/// ingress rules.
pub fn add(t: &mut Template) -> Result<(), TemplateError> {
    let mut lb_sg = SecurityGroup::new(
        "Metaflow UI load balancer - HTTP from the CloudFront VPC origin",
        r#ref(VPC_ID),
    );
    lb_sg.security_group_ingress = vec![Rule::tcp_cidr(
        "CloudFront VPC origin inside the VPC",
        80,
        80,
        r#ref(VPC_CIDR),
    )];
    t.add(LB_SECURITY_GROUP, &lb_sg)?;
    for (id, port, why) in [
        (UI_INGRESS, UI_PORT, "UI backend from its load balancer"),
        (
            STATIC_INGRESS,
            STATIC_PORT,
            "UI front end from its load balancer",
        ),
    ] {
        t.add(
            id,
            &Ingress {
                group_id: r#ref(SERVICE_SECURITY_GROUP),
                rule: Rule::tcp_group(why, port, port, r#ref(LB_SECURITY_GROUP)),
            },
        )?;
    }
    t.add(
        LOAD_BALANCER,
        &LoadBalancer {
            load_balancer_attributes: vec![KeyValue::new(
                "routing.http.drop_invalid_header_fields.enabled",
                "true",
            )],
            scheme: "internal",
            security_groups: vec![r#ref(LB_SECURITY_GROUP)],
            subnets: vec![r#ref(SUBNET1), r#ref(SUBNET2)],
            kind: "application",
        },
    )?
    .skip_check(
        "CKV_AWS_91",
        "Only CloudFront reaches this internal balancer, and CloudFront logs every request to the log bucket.",
    );
    t.add(
        TARGET_GROUP,
        &http_targets(UI_PORT, if_(COND_MFSTACK_IMAGE, "/api/ping", "/ping")),
    )?;
    t.add(STATIC_TARGET_GROUP, &http_targets(STATIC_PORT, "/".into()))?;
    let mut listener = Listener::tcp(LOAD_BALANCER, 80, TARGET_GROUP);
    listener.protocol = "HTTP";
    listener.default_actions[0].target_group_arn = if_(
        COND_MFSTACK_IMAGE,
        r#ref(STATIC_TARGET_GROUP),
        r#ref(TARGET_GROUP),
    );
    t.add(LISTENER, &listener)?
        .skip_check(
            "CKV_AWS_2",
            "Viewers get HTTPS from CloudFront; this internal listener is reached only through CloudFront's VPC origin, inside the VPC.",
        )
        .skip_check(
            "CKV_AWS_103",
            "Plain HTTP inside the VPC behind CloudFront, which terminates TLS; there is no certificate for an internal name.",
        );
    t.add(
        API_RULE,
        &PathRule {
            actions: vec![ForwardAction {
                target_group_arn: r#ref(TARGET_GROUP),
                kind: "forward",
            }],
            conditions: vec![PathCondition {
                field: "path-pattern",
                path_pattern_config: PathPatterns {
                    values: vec!["/api", "/api/*"],
                },
            }],
            listener_arn: r#ref(LISTENER),
            priority: 1,
        },
    )?;
    Ok(())
}
