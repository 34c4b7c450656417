//! The UI task: upstream's Python backend alone, or mfstack's UI API (`serve --ui-only`) beside
//! the metaflow-ui front end; its log group, task definition, service and autoscaling.

use super::inputs::*;
use super::load_balancer::{LISTENER, STATIC_TARGET_GROUP, TARGET_GROUP};
use super::{ECS_SERVICE_NAME, SERVICE_NAME, STATIC_NAME, STATIC_PORT, UI_PORT};
use crate::TemplateError;
use crate::components::metadata_service::ecs::{
    AwsvpcConfiguration, Container, DeploymentConfiguration, EnvVar, FargateService,
    NetworkConfiguration, PortMapping, SecretVar, ServiceLoadBalancer, TaskDefinition,
};
use crate::components::metadata_service::fargate::database_env;
use crate::components::metadata_service::logs::{LogConfiguration, LogGroup};
use crate::components::metadata_service::scaling;
use crate::config_keys as keys;
use crate::intrinsics::{Expr, if_, no_value, pseudo, r#ref};
use crate::params::COND_MFSTACK_IMAGE;
use crate::template::Template;

/// The UI task (reference id).
pub const TASK_DEFINITION: &str = "TaskDefinitionUIService";
/// The UI log group (reference id).
pub const LOG_GROUP: &str = "ServiceLogGroupUIService";
/// The UI service (reference id).
pub const SERVICE: &str = "ECSFargateServiceUIService";

/// Add the log group, the task definition, the service and its autoscaling.
pub fn add(t: &mut Template) -> Result<(), TemplateError> {
    t.add(LOG_GROUP, &LogGroup::new(None, r#ref(KMS_KEY)))?;
    let (mut environment, secrets) =
        database_env(r#ref(DB_HOST), r#ref(DB_PORT), &r#ref(DB_SECRET));
    environment.extend([
        // The reference dropped this when it inlined the UI (stack.md 1.7).
        EnvVar {
            name: keys::SERVICE_URL,
            value: r#ref(SERVICE_URL),
        },
        EnvVar {
            name: keys::DATASTORE_SYSROOT_S3,
            value: r#ref(DATASTORE_ROOT),
        },
        EnvVar {
            name: keys::DEFAULT_DATASTORE,
            value: "s3".into(),
        },
    ]);
    let (cpu, memory) = scaling::UI_MFSTACK.or_upstream(scaling::UI_UPSTREAM);
    t.add(
        TASK_DEFINITION,
        &TaskDefinition {
            container_definitions: vec![
                if_(
                    COND_MFSTACK_IMAGE,
                    Expr::of(&mfstack_backend(environment.clone(), secrets.clone())),
                    Expr::of(&upstream_backend(environment, secrets)),
                ),
                if_(COND_MFSTACK_IMAGE, Expr::of(&front_end()), no_value()),
            ],
            cpu,
            execution_role_arn: r#ref(EXECUTION_ROLE),
            family: SERVICE_NAME,
            memory,
            network_mode: "awsvpc",
            requires_compatibilities: vec!["FARGATE"],
            task_role_arn: r#ref(TASK_ROLE),
        },
    )?;
    t.add(
        SERVICE,
        &FargateService {
            cluster: r#ref(CLUSTER),
            deployment_configuration: DeploymentConfiguration::default(),
            desired_count: scaling::desired_count(),
            // Upstream's backend downloads the UI bundle before it answers /ping.
            health_check_grace_period_seconds: if_(COND_MFSTACK_IMAGE, 60_i64, 300_i64),
            launch_type: "FARGATE",
            load_balancers: vec![
                Expr::of(&ServiceLoadBalancer {
                    container_name: SERVICE_NAME,
                    container_port: UI_PORT,
                    target_group_arn: r#ref(TARGET_GROUP),
                }),
                if_(
                    COND_MFSTACK_IMAGE,
                    Expr::of(&ServiceLoadBalancer {
                        container_name: STATIC_NAME,
                        container_port: STATIC_PORT,
                        target_group_arn: r#ref(STATIC_TARGET_GROUP),
                    }),
                    no_value(),
                ),
            ],
            network_configuration: NetworkConfiguration {
                awsvpc_configuration: AwsvpcConfiguration {
                    assign_public_ip: r#ref(ASSIGN_PUBLIC_IP),
                    security_groups: vec![r#ref(SERVICE_SECURITY_GROUP)],
                    subnets: vec![r#ref(SUBNET1), r#ref(SUBNET2)],
                },
            },
            platform_version: "LATEST",
            service_name: ECS_SERVICE_NAME,
            task_definition: r#ref(TASK_DEFINITION),
        },
    )?
    .depends_on(&[LISTENER]);
    scaling::add(
        t,
        "UIService",
        r#ref(CLUSTER),
        SERVICE,
        scaling::UI_MAX_TASKS,
    )
}

/// Upstream's Python UI backend, which also serves the front end it downloads.
fn upstream_backend(mut environment: Vec<EnvVar>, secrets: Vec<SecretVar>) -> Container {
    environment.insert(
        environment.len() - 3,
        EnvVar {
            name: "UI_ENABLED",
            value: "1".into(),
        },
    );
    Container {
        command: vec![
            "/opt/latest/bin/python3",
            "-m",
            "services.ui_backend_service.ui_server",
        ],
        depends_on: vec![],
        environment,
        essential: true,
        image: r#ref(IMAGE),
        log_configuration: LogConfiguration::to_group(LOG_GROUP),
        name: SERVICE_NAME,
        port_mappings: vec![PortMapping {
            container_port: UI_PORT,
        }],
        secrets,
    }
}

/// mfstack's UI API under `/api` on the same port. Live events come from the metadata task
/// through PostgreSQL NOTIFY (`MFSTACK_NOTIFY_CHANGES` there).
fn mfstack_backend(mut environment: Vec<EnvVar>, secrets: Vec<SecretVar>) -> Container {
    environment.extend([
        EnvVar {
            name: "MF_UI_METADATA_HOST",
            value: "0.0.0.0".into(),
        },
        EnvVar {
            name: "AWS_REGION",
            value: r#ref(pseudo::REGION),
        },
    ]);
    Container {
        command: vec!["serve", "--ui-only"],
        depends_on: vec![],
        environment,
        essential: true,
        image: r#ref(SERVICE_IMAGE),
        log_configuration: LogConfiguration::to_group(LOG_GROUP),
        name: SERVICE_NAME,
        port_mappings: vec![PortMapping {
            container_port: UI_PORT,
        }],
        secrets,
    }
}

/// The metaflow-ui build behind its own nginx; it calls the API at `/api` on the same origin.
fn front_end() -> Container {
    Container {
        command: vec![],
        depends_on: vec![],
        environment: vec![EnvVar {
            name: "METAFLOW_SERVICE",
            value: "/api".into(),
        }],
        essential: true,
        image: r#ref(STATIC_IMAGE),
        log_configuration: LogConfiguration::to_group(LOG_GROUP),
        name: STATIC_NAME,
        port_mappings: vec![PortMapping {
            container_port: STATIC_PORT,
        }],
        secrets: vec![],
    }
}
