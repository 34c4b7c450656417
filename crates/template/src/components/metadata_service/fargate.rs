//! The service itself: its log group, task definition and Fargate service.

use super::ecs::{
    AwsvpcConfiguration, Container, ContainerDependency, DeploymentConfiguration, EnvVar,
    FargateService, NetworkConfiguration, PortMapping, SecretVar, ServiceLoadBalancer,
    TaskDefinition,
};
use super::load_balancer::{API_LISTENER, API_TARGETS, MIGRATE_LISTENER, MIGRATE_TARGETS};
use super::logs::{LogConfiguration, LogGroup};
use super::roles::{EXECUTION_ROLE, TASK_ROLE};
use super::scaling;
use super::{API_PORT, CLUSTER, FARGATE_SECURITY_GROUP, MIGRATE_PORT, SERVICE_NAME};
use crate::TemplateError;
use crate::components::network::Network;
use crate::components::storage::Storage;
use crate::components::storage::database::DB_NAME;
use crate::intrinsics::{Expr, get_att, if_, no_value, r#ref, sub};
use crate::params::{COND_MFSTACK_IMAGE, METADATA_SERVICE_IMAGE, SERVICE_IMAGE};
use crate::template::Template;

/// The task definition (reference id).
pub const TASK_DEFINITION: &str = "TaskDefinition";
/// The service's log group (reference id).
pub const LOG_GROUP: &str = "MetadataServiceLogGroup";
/// The ECS service (reference id).
pub const SERVICE: &str = "ECSFargateService";
/// The init container that brings the schema up to date before mfstack serves.
pub const MIGRATION_CONTAINER: &str = "schema-migration";

/// The database settings both the service and the UI backend read: where it is in the
/// environment, and the user and password from `secret` when the task starts.
pub fn database_env(host: Expr, port: Expr, secret: &Expr) -> (Vec<EnvVar>, Vec<SecretVar>) {
    let from_secret = |key: &str| sub_secret(secret, key);
    (
        vec![
            EnvVar {
                name: "MF_METADATA_DB_HOST",
                value: host,
            },
            EnvVar {
                name: "MF_METADATA_DB_PORT",
                value: port,
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

/// Add the log group, the task definition and the service.
pub fn add(t: &mut Template, net: &Network, storage: &Storage) -> Result<(), TemplateError> {
    t.add(
        LOG_GROUP,
        &LogGroup::new(
            Some(sub(&format!("/ecs/${{AWS::StackName}}-{SERVICE_NAME}"))),
            storage.key_arn.clone(),
        ),
    )?;
    let (environment, secrets) = database_env(
        storage.db_host.clone(),
        storage.db_port.clone(),
        &storage.db_secret,
    );
    let upstream = Container {
        command: vec![],
        depends_on: vec![],
        environment: environment.clone(),
        essential: true,
        image: r#ref(METADATA_SERVICE_IMAGE),
        log_configuration: LogConfiguration::to_group(LOG_GROUP),
        name: SERVICE_NAME,
        port_mappings: ports(),
        secrets: secrets.clone(),
    };
    let (cpu, memory) = scaling::METADATA_MFSTACK.or_upstream(scaling::METADATA_UPSTREAM);
    t.add(
        TASK_DEFINITION,
        &TaskDefinition {
            container_definitions: vec![
                if_(
                    COND_MFSTACK_IMAGE,
                    Expr::of(&schema_migration(&environment, &secrets)),
                    no_value(),
                ),
                if_(
                    COND_MFSTACK_IMAGE,
                    Expr::of(&mfstack_service(environment, secrets)),
                    Expr::of(&upstream),
                ),
            ],
            cpu,
            execution_role_arn: get_att(EXECUTION_ROLE, "Arn"),
            family: SERVICE_NAME,
            memory,
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
            desired_count: scaling::desired_count(),
            health_check_grace_period_seconds: 60_i64.into(),
            launch_type: "FARGATE",
            load_balancers: vec![
                Expr::of(&ServiceLoadBalancer {
                    container_name: SERVICE_NAME,
                    container_port: API_PORT,
                    target_group_arn: r#ref(API_TARGETS),
                }),
                Expr::of(&ServiceLoadBalancer {
                    container_name: SERVICE_NAME,
                    container_port: MIGRATE_PORT,
                    target_group_arn: r#ref(MIGRATE_TARGETS),
                }),
            ],
            network_configuration: NetworkConfiguration {
                awsvpc_configuration: AwsvpcConfiguration {
                    assign_public_ip: net.assign_public_ip.clone(),
                    security_groups: vec![r#ref(FARGATE_SECURITY_GROUP)],
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
    scaling::add(
        t,
        "MetadataService",
        r#ref(CLUSTER),
        SERVICE,
        scaling::METADATA_MAX_TASKS,
    )
}

fn ports() -> Vec<PortMapping> {
    vec![
        PortMapping {
            container_port: API_PORT,
        },
        PortMapping {
            container_port: MIGRATE_PORT,
        },
    ]
}

/// mfstack's one-shot `migrate up` (serialised across tasks by an advisory lock). The service
/// container waits for it to succeed, so a new image never serves a schema older than its own; the
/// service itself refuses a schema newer than it knows.
fn schema_migration(environment: &[EnvVar], secrets: &[SecretVar]) -> Container {
    Container {
        command: vec!["migrate", "up"],
        depends_on: vec![],
        environment: environment.to_vec(),
        essential: false,
        image: r#ref(SERVICE_IMAGE),
        log_configuration: LogConfiguration::to_group(LOG_GROUP),
        name: MIGRATION_CONTAINER,
        port_mappings: vec![],
        secrets: secrets.to_vec(),
    }
}

/// `mfstack serve` on upstream's ports, announcing writes through PostgreSQL NOTIFY so the UI
/// task's `/api/ws` sees them.
fn mfstack_service(mut environment: Vec<EnvVar>, secrets: Vec<SecretVar>) -> Container {
    environment.extend([
        EnvVar {
            name: "MF_METADATA_HOST",
            value: "0.0.0.0".into(),
        },
        EnvVar {
            name: "MFSTACK_NOTIFY_CHANGES",
            value: "1".into(),
        },
    ]);
    Container {
        command: vec!["serve"],
        depends_on: vec![ContainerDependency {
            container_name: MIGRATION_CONTAINER,
            condition: "SUCCESS",
        }],
        environment,
        essential: true,
        image: r#ref(SERVICE_IMAGE),
        log_configuration: LogConfiguration::to_group(LOG_GROUP),
        name: SERVICE_NAME,
        port_mappings: ports(),
        secrets,
    }
}
