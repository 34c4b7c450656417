//! The metadata service: Fargate tasks behind an internal network load balancer, which API
//! Gateway (port 80) and the migration function (port 8082) reach.
//!
//! The ECS, load balancer and log types defined here serve the UI's nested stack as well.

pub mod ecs;
pub mod fargate;
pub mod load_balancer;
pub mod logs;
pub mod roles;
pub mod scaling;

use super::network::{Ingress, Network, Rule, SecurityGroup};
use super::storage::Storage;
use super::ui::UI_PORT;
use crate::TemplateError;
use crate::intrinsics::{Expr, get_att, r#ref, sub};
use crate::params::StackParams;
use crate::template::Template;
use ecs::{Cluster, NameValue};
use load_balancer::NLB;

/// The ECS cluster of the service and the UI (reference id).
pub const CLUSTER: &str = "ECSCluster";
/// Security group of the service and UI tasks (reference id).
pub const FARGATE_SECURITY_GROUP: &str = "FargateSecurityGroup";
/// API port from inside the VPC (reference id).
pub const API_INGRESS: &str = "NLBIngressRule";
/// Migration port from inside the VPC (reference id).
pub const MIGRATE_INGRESS: &str = "NLBIngressRuleDBMigrate";
/// Task-to-task traffic (reference id).
pub const INTERNAL_INGRESS: &str = "FargateInternalRule";
/// Output (reference name); the setting it feeds is in [`crate::config_keys`].
pub const OUT_INTERNAL_URL: &str = "InternalServiceUrl";

/// The service's name, as task family, container and ECS service (reference value).
pub const SERVICE_NAME: &str = "metadata-service-v2";
/// The API port.
pub const API_PORT: i64 = 8080;
/// The migration port.
pub const MIGRATE_PORT: i64 = 8082;

/// What later components need from the service.
#[derive(Debug, Clone)]
pub struct MetadataService {
    /// `http://<nlb>/`: the API inside the VPC.
    pub internal_url: Expr,
    /// The load balancer's DNS name.
    pub nlb_dns: Expr,
    /// The task execution role's ARN.
    pub execution_role_arn: Expr,
    /// The task role's ARN.
    pub task_role_arn: Expr,
}

/// Add the cluster, security group, balancer, roles, task and service.
pub fn add(
    t: &mut Template,
    _p: &StackParams,
    net: &Network,
    storage: &Storage,
) -> Result<MetadataService, TemplateError> {
    t.add(
        CLUSTER,
        &Cluster {
            cluster_settings: vec![NameValue {
                name: "containerInsights",
                value: "enabled",
            }],
        },
    )?;
    t.add(
        FARGATE_SECURITY_GROUP,
        &SecurityGroup::new("Security Group for Fargate", net.vpc_id.clone()),
    )?;
    add_ingress(t, net)?;
    load_balancer::add(t, net, storage)?;
    let (execution_role_arn, task_role_arn) = roles::add(t, storage)?;
    fargate::add(t, net, storage)?;

    let internal_url = sub(&format!("http://${{{NLB}.DNSName}}/"));
    t.add_output(
        OUT_INTERNAL_URL,
        "URL of the metadata service inside the VPC",
        internal_url.clone(),
        None,
    )?;
    Ok(MetadataService {
        internal_url,
        nlb_dns: get_att(NLB, "DNSName"),
        execution_role_arn,
        task_role_arn,
    })
}

/// The API and migration ports from inside the VPC, and task-to-task traffic.
fn add_ingress(t: &mut Template, net: &Network) -> Result<(), TemplateError> {
    let sg = r#ref(FARGATE_SECURITY_GROUP);
    for (id, port, why) in [
        (API_INGRESS, API_PORT, "Metadata API from the load balancer"),
        (
            MIGRATE_INGRESS,
            MIGRATE_PORT,
            "Migration API from the load balancer",
        ),
    ] {
        t.add(
            id,
            &Ingress {
                group_id: sg.clone(),
                rule: Rule::tcp_cidr(why, port, port, net.vpc_cidr.clone()),
            },
        )?;
    }
    t.add(
        INTERNAL_INGRESS,
        &Ingress {
            group_id: sg.clone(),
            rule: Rule::tcp_group(
                "Service and UI tasks reach each other",
                API_PORT,
                UI_PORT,
                sg.clone(),
            ),
        },
    )?;
    Ok(())
}
