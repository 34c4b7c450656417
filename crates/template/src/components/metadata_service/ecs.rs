//! ECS property types: clusters, Fargate task definitions and services.

use serde::Serialize;

use super::logs::LogConfiguration;
use crate::intrinsics::Expr;
use crate::template::ResourceProperties;

/// `AWS::ECS::TaskDefinition` for Fargate.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskDefinition {
    /// The containers, each a [`Container`] or an `Fn::If` between two.
    pub container_definitions: Vec<Expr>,
    /// CPU units.
    pub cpu: Expr,
    /// Role ECS uses.
    pub execution_role_arn: Expr,
    /// Task family.
    pub family: &'static str,
    /// Memory in MiB.
    pub memory: Expr,
    /// Always `awsvpc`.
    pub network_mode: &'static str,
    /// Always `FARGATE`.
    pub requires_compatibilities: Vec<&'static str>,
    /// Role the containers run with.
    pub task_role_arn: Expr,
}

impl ResourceProperties for TaskDefinition {
    const TYPE: &'static str = "AWS::ECS::TaskDefinition";
}

/// One container of a task.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Container {
    /// Command override.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<&'static str>,
    /// Containers that must reach a state before this one starts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<ContainerDependency>,
    /// Plain settings.
    pub environment: Vec<EnvVar>,
    /// Whether the task stops when this container stops; false for a one-shot init container.
    pub essential: bool,
    /// The image.
    pub image: Expr,
    /// Where logs go.
    pub log_configuration: LogConfiguration,
    /// Container name.
    pub name: &'static str,
    /// Ports served.
    pub port_mappings: Vec<PortMapping>,
    /// Values read from Secrets Manager at start, never written into the task definition.
    pub secrets: Vec<SecretVar>,
}

/// `DependsOn` of a container.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerDependency {
    /// The container waited for.
    pub container_name: &'static str,
    /// `START`, `COMPLETE`, `SUCCESS` or `HEALTHY`.
    pub condition: &'static str,
}

/// A plain environment variable.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnvVar {
    /// Variable name.
    pub name: &'static str,
    /// Its value.
    pub value: Expr,
}

/// An environment variable filled from Secrets Manager.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretVar {
    /// Variable name.
    pub name: &'static str,
    /// `<secret arn>:<json key>::`.
    pub value_from: Expr,
}

/// A container port.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PortMapping {
    /// The port.
    pub container_port: i64,
}

/// `AWS::ECS::Service` on Fargate.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FargateService {
    /// The cluster.
    pub cluster: Expr,
    /// Rolling deployment limits and rollback.
    pub deployment_configuration: DeploymentConfiguration,
    /// Task count; `AWS::NoValue` when autoscaling owns it, so an update keeps the current count.
    pub desired_count: Expr,
    /// Grace before load balancer health counts.
    pub health_check_grace_period_seconds: Expr,
    /// Always `FARGATE`.
    pub launch_type: &'static str,
    /// Target groups: each a [`ServiceLoadBalancer`] or an `Fn::If`.
    pub load_balancers: Vec<Expr>,
    /// Subnets, groups, public IP.
    pub network_configuration: NetworkConfiguration,
    /// Always `LATEST`.
    pub platform_version: &'static str,
    /// Service name.
    pub service_name: &'static str,
    /// The task definition.
    pub task_definition: Expr,
}

impl ResourceProperties for FargateService {
    const TYPE: &'static str = "AWS::ECS::Service";
}

/// Deployment settings.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeploymentConfiguration {
    /// Roll back a deployment whose tasks never become healthy, instead of retrying for hours.
    pub deployment_circuit_breaker: CircuitBreaker,
    /// Percent of tasks allowed above desired.
    pub maximum_percent: i64,
    /// Percent kept running during a deployment.
    pub minimum_healthy_percent: i64,
}

/// The deployment circuit breaker.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CircuitBreaker {
    /// On.
    pub enable: bool,
    /// Roll back on failure.
    pub rollback: bool,
}

impl Default for DeploymentConfiguration {
    fn default() -> Self {
        DeploymentConfiguration {
            deployment_circuit_breaker: CircuitBreaker {
                enable: true,
                rollback: true,
            },
            maximum_percent: 200,
            minimum_healthy_percent: 100,
        }
    }
}

/// A target group a container port registers in.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceLoadBalancer {
    /// The container.
    pub container_name: &'static str,
    /// Its port.
    pub container_port: i64,
    /// The target group.
    pub target_group_arn: Expr,
}

/// `NetworkConfiguration`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkConfiguration {
    /// The awsvpc settings.
    pub awsvpc_configuration: AwsvpcConfiguration,
}

/// `AwsvpcConfiguration`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsvpcConfiguration {
    /// `ENABLED` or `DISABLED`.
    pub assign_public_ip: Expr,
    /// Security groups.
    pub security_groups: Vec<Expr>,
    /// Subnets.
    pub subnets: Vec<Expr>,
}

/// `AWS::ECS::Cluster`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Cluster {
    /// Settings such as Container Insights.
    pub cluster_settings: Vec<NameValue>,
}
impl ResourceProperties for Cluster {
    const TYPE: &'static str = "AWS::ECS::Cluster";
}

/// One cluster setting.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NameValue {
    /// The setting.
    pub name: &'static str,
    /// Its value.
    pub value: &'static str,
}
