//! The UI's internal load balancer, which only CloudFront's VPC origin reaches.

use super::UI_PORT;
use super::inputs::{LOGS_BUCKET, SERVICE_SECURITY_GROUP, SUBNET1, SUBNET2, VPC_CIDR, VPC_ID};
use crate::TemplateError;
use crate::components::metadata_service::load_balancer::{
    KeyValue, Listener, LoadBalancer, TargetGroup, nlb_attributes,
};
use crate::components::network::{Ingress, Rule, SecurityGroup};
use crate::intrinsics::r#ref;
use crate::template::Template;

/// Ingress to the UI tasks from the UI load balancer (reference id).
pub const UI_INGRESS: &str = "IngressRuleUIService";
/// The UI load balancer's security group.
pub const LB_SECURITY_GROUP: &str = "UILoadBalancerSecurityGroup";
/// The UI's internal load balancer.
pub const LOAD_BALANCER: &str = "UILoadBalancer";
/// Its listener.
pub const LISTENER: &str = "UIListener";
/// The UI tasks.
pub const TARGET_GROUP: &str = "UITargetGroup";

/// Add the balancer, its security group, target group and listener, and the tasks' ingress rule.
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
    t.add(
        UI_INGRESS,
        &Ingress {
            group_id: r#ref(SERVICE_SECURITY_GROUP),
            rule: Rule::tcp_group(
                "UI backend from its load balancer",
                UI_PORT,
                UI_PORT,
                r#ref(LB_SECURITY_GROUP),
            ),
        },
    )?;
    t.add(
        LOAD_BALANCER,
        &LoadBalancer {
            load_balancer_attributes: nlb_attributes(r#ref(LOGS_BUCKET), "ui-nlb"),
            scheme: "internal",
            security_groups: vec![r#ref(LB_SECURITY_GROUP)],
            subnets: vec![r#ref(SUBNET1), r#ref(SUBNET2)],
            kind: "network",
        },
    )?;
    t.add(
        TARGET_GROUP,
        &TargetGroup {
            health_check_interval_seconds: 10,
            health_check_path: Some("/ping"),
            health_check_port: None,
            health_check_protocol: "HTTP",
            health_check_timeout_seconds: 5,
            healthy_threshold_count: 2,
            port: UI_PORT,
            protocol: "TCP",
            target_group_attributes: vec![KeyValue::new(
                "deregistration_delay.timeout_seconds",
                "30",
            )],
            target_type: "ip",
            unhealthy_threshold_count: 2,
            vpc_id: r#ref(VPC_ID),
        },
    )?;
    t.add(LISTENER, &Listener::tcp(LOAD_BALANCER, 80, TARGET_GROUP))?;
    Ok(())
}
