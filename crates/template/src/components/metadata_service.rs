//! The metadata service: Fargate tasks behind an internal network load balancer, which API
//! Gateway (port 80) and the migration function (port 8082) reach.

use serde::Serialize;

use super::iam::{InlinePolicy, Role, SourceAccount, Statement, aws_managed, service_trust};
use super::network::{Ingress, Network, Rule, SecurityGroup};
use super::storage::{DB_NAME, Storage};
use crate::TemplateError;
use crate::intrinsics::{Expr, get_att, r#ref, sub};
use crate::params::{METADATA_SERVICE_IMAGE, StackParams};
use crate::pins::PINS;
use crate::template::{ResourceProperties, Template};

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
/// Role ECS uses to pull images, write logs and read the database secret (reference id).
pub const EXECUTION_ROLE: &str = "ECSTaskExecutionRole";
/// Role the service containers run with (reference id).
pub const TASK_ROLE: &str = "MetadataSvcECSTaskRole";
/// The task definition (reference id).
pub const TASK_DEFINITION: &str = "TaskDefinition";
/// The service's log group (reference id).
pub const LOG_GROUP: &str = "MetadataServiceLogGroup";
/// The ECS service (reference id).
pub const SERVICE: &str = "ECSFargateService";
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

/// `AWS::Logs::LogGroup`, always with retention and the stack key.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogGroup {
    /// The stack key's ARN.
    pub kms_key_id: Expr,
    /// The name; absent lets CloudFormation pick one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_group_name: Option<Expr>,
    /// Days kept.
    pub retention_in_days: i64,
}

impl ResourceProperties for LogGroup {
    const TYPE: &'static str = "AWS::Logs::LogGroup";
}

impl LogGroup {
    /// A log group with the pinned retention.
    pub fn new(name: Option<Expr>, key_arn: Expr) -> Self {
        LogGroup {
            kms_key_id: key_arn,
            log_group_name: name,
            retention_in_days: PINS.log_retention_days,
        }
    }
}

/// `AWS::ECS::TaskDefinition` for Fargate.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskDefinition {
    /// The containers.
    pub container_definitions: Vec<Container>,
    /// CPU units.
    pub cpu: &'static str,
    /// Role ECS uses.
    pub execution_role_arn: Expr,
    /// Task family.
    pub family: &'static str,
    /// Memory in MiB.
    pub memory: &'static str,
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
    /// Plain settings.
    pub environment: Vec<EnvVar>,
    /// Always true: the task is this one container.
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

/// `awslogs` to a log group.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogConfiguration {
    /// Always `awslogs`.
    pub log_driver: &'static str,
    /// Group, region and stream prefix.
    pub options: LogOptions,
}

/// The `awslogs` options.
#[derive(Debug, Clone, Serialize)]
pub struct LogOptions {
    /// The group, by `Ref` so the task depends on it.
    #[serde(rename = "awslogs-group")]
    pub group: Expr,
    /// The region.
    #[serde(rename = "awslogs-region")]
    pub region: Expr,
    /// Stream prefix.
    #[serde(rename = "awslogs-stream-prefix")]
    pub prefix: &'static str,
}

impl LogConfiguration {
    /// Logs to the group with logical id `group`.
    pub fn to_group(group: &str) -> Self {
        LogConfiguration {
            log_driver: "awslogs",
            options: LogOptions {
                group: r#ref(group),
                region: r#ref(crate::intrinsics::pseudo::REGION),
                prefix: "ecs",
            },
        }
    }
}

/// The database settings both the service and the UI backend read.
pub fn database_env(storage: &Storage) -> (Vec<EnvVar>, Vec<SecretVar>) {
    let from_secret = |key: &str| sub_secret(&storage.db_secret, key);
    (
        vec![
            EnvVar {
                name: "MF_METADATA_DB_HOST",
                value: storage.db_host.clone(),
            },
            EnvVar {
                name: "MF_METADATA_DB_PORT",
                value: storage.db_port.clone(),
            },
            EnvVar {
                name: "MF_METADATA_DB_NAME",
                value: DB_NAME.into(),
            },
            // PostgreSQL 15 and later on RDS refuse unencrypted connections.
            EnvVar {
                name: "MF_METADATA_DB_SSL_MODE",
                value: "require".into(),
            },
        ],
        vec![
            SecretVar {
                name: "MF_METADATA_DB_USER",
                value_from: from_secret("username"),
            },
            SecretVar {
                name: "MF_METADATA_DB_PSWD",
                value_from: from_secret("password"),
            },
        ],
    )
}

fn sub_secret(secret: &Expr, key: &str) -> Expr {
    Expr::Join(
        String::new(),
        vec![secret.clone(), format!(":{key}::").into()],
    )
}

/// `AWS::ECS::Service` on Fargate.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FargateService {
    /// The cluster.
    pub cluster: Expr,
    /// Rolling deployment limits and rollback.
    pub deployment_configuration: DeploymentConfiguration,
    /// Task count.
    pub desired_count: i64,
    /// Grace before load balancer health counts.
    pub health_check_grace_period_seconds: i64,
    /// Always `FARGATE`.
    pub launch_type: &'static str,
    /// Target groups.
    pub load_balancers: Vec<ServiceLoadBalancer>,
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

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ClusterProps {
    cluster_settings: Vec<NameValue>,
}
impl ResourceProperties for ClusterProps {
    const TYPE: &'static str = "AWS::ECS::Cluster";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct NameValue {
    name: &'static str,
    value: &'static str,
}

/// The execution role: ECS pulls images, writes logs, and reads the database secret.
fn execution_role(storage: &Storage) -> Role {
    let mut role = Role::new(
        "Role ECS uses to start the service and UI tasks",
        service_trust("ecs-tasks.amazonaws.com", SourceAccount::Checked),
        vec![InlinePolicy::new(
            "DatabaseSecret",
            vec![
                Statement::allow(
                    "ReadSecret",
                    &["secretsmanager:GetSecretValue"],
                    vec![storage.db_secret.clone()],
                ),
                Statement::allow(
                    "DecryptSecret",
                    &["kms:Decrypt"],
                    vec![storage.key_arn.clone()],
                ),
            ],
        )],
    );
    role.managed_policy_arns = vec![aws_managed("service-role/AmazonECSTaskExecutionRolePolicy")];
    role
}

/// Add the cluster, balancer, roles, task and service.
pub fn add(
    t: &mut Template,
    _p: &StackParams,
    net: &Network,
    storage: &Storage,
) -> Result<MetadataService, TemplateError> {
    t.add(
        CLUSTER,
        &ClusterProps {
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
                8083,
                sg.clone(),
            ),
        },
    )?;

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
    .depends_on(&[super::storage::LOGS_BUCKET_POLICY]);
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

    t.add(EXECUTION_ROLE, &execution_role(storage))?;
    let bucket = storage.bucket_arn.clone();
    let task_role = Role::new(
        "Role the metadata service and UI backend run with: read the datastore",
        service_trust("ecs-tasks.amazonaws.com", SourceAccount::Checked),
        vec![
            InlinePolicy::new(
                "CustomS3Batch",
                vec![
                    Statement::allow(
                        "ObjectAccessMetadataService",
                        &["s3:GetObject"],
                        vec![Expr::Join(String::new(), vec![bucket.clone(), "/*".into()])],
                    ),
                    Statement::allow(
                        "ObjectAccessMetadataServiceNonExistentKeys",
                        &["s3:ListBucket"],
                        vec![bucket],
                    ),
                ],
            ),
            InlinePolicy::new(
                "DenyPresignedBatch",
                vec![
                    Statement::deny("DenyPresignedBatch", &["s3:*"], vec!["*".into()]).when(
                        "StringNotEquals",
                        "s3:authType",
                        "REST-HEADER",
                    ),
                ],
            ),
        ],
    );
    t.add(TASK_ROLE, &task_role)?;

    t.add(
        LOG_GROUP,
        &LogGroup::new(
            Some(sub(&format!("/ecs/${{AWS::StackName}}-{SERVICE_NAME}"))),
            storage.key_arn.clone(),
        ),
    )?;
    let (environment, secrets) = database_env(storage);
    t.add(
        TASK_DEFINITION,
        &TaskDefinition {
            container_definitions: vec![Container {
                command: vec![],
                environment,
                essential: true,
                image: r#ref(METADATA_SERVICE_IMAGE),
                log_configuration: LogConfiguration::to_group(LOG_GROUP),
                name: SERVICE_NAME,
                port_mappings: vec![
                    PortMapping {
                        container_port: API_PORT,
                    },
                    PortMapping {
                        container_port: MIGRATE_PORT,
                    },
                ],
                secrets,
            }],
            cpu: "512",
            execution_role_arn: get_att(EXECUTION_ROLE, "Arn"),
            family: SERVICE_NAME,
            memory: "1024",
            network_mode: "awsvpc",
            requires_compatibilities: vec!["FARGATE"],
            task_role_arn: get_att(TASK_ROLE, "Arn"),
        },
    )?;
    t.add(
        SERVICE,
        &FargateService {
            cluster: r#ref(CLUSTER),
            deployment_configuration: DeploymentConfiguration::default(),
            desired_count: 1,
            health_check_grace_period_seconds: 60,
            launch_type: "FARGATE",
            load_balancers: vec![
                ServiceLoadBalancer {
                    container_name: SERVICE_NAME,
                    container_port: API_PORT,
                    target_group_arn: r#ref(API_TARGETS),
                },
                ServiceLoadBalancer {
                    container_name: SERVICE_NAME,
                    container_port: MIGRATE_PORT,
                    target_group_arn: r#ref(MIGRATE_TARGETS),
                },
            ],
            network_configuration: NetworkConfiguration {
                awsvpc_configuration: AwsvpcConfiguration {
                    assign_public_ip: net.assign_public_ip.clone(),
                    security_groups: vec![sg],
                    subnets: net.subnets.clone(),
                },
            },
            platform_version: "LATEST",
            service_name: SERVICE_NAME,
            task_definition: r#ref(TASK_DEFINITION),
        },
    )?
    // A target group must belong to a listener before a service registers in it.
    .depends_on(&[API_LISTENER, MIGRATE_LISTENER]);

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
        execution_role_arn: get_att(EXECUTION_ROLE, "Arn"),
        task_role_arn: get_att(TASK_ROLE, "Arn"),
    })
}
