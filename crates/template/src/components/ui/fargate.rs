//! The UI backend: its log group, task definition and Fargate service.

use super::inputs::*;
use super::load_balancer::{LISTENER, TARGET_GROUP};
use super::{ECS_SERVICE_NAME, SERVICE_NAME, UI_PORT};
use crate::TemplateError;
use crate::components::metadata_service::ecs::{
    AwsvpcConfiguration, Container, DeploymentConfiguration, EnvVar, FargateService,
    NetworkConfiguration, PortMapping, ServiceLoadBalancer, TaskDefinition,
};
use crate::components::metadata_service::fargate::database_env;
use crate::components::metadata_service::logs::{LogConfiguration, LogGroup};
use crate::config_keys as keys;
use crate::intrinsics::r#ref;
use crate::template::Template;

/// The UI task (reference id).
pub const TASK_DEFINITION: &str = "TaskDefinitionUIService";
/// The UI log group (reference id).
pub const LOG_GROUP: &str = "ServiceLogGroupUIService";
/// The UI service (reference id).
pub const SERVICE: &str = "ECSFargateServiceUIService";

/// Add the log group, the task definition and the service.
pub fn add(t: &mut Template) -> Result<(), TemplateError> {
    t.add(LOG_GROUP, &LogGroup::new(None, r#ref(KMS_KEY)))?;
    let (mut environment, secrets) =
        database_env(r#ref(DB_HOST), r#ref(DB_PORT), &r#ref(DB_SECRET));
    environment.extend([
        EnvVar {
            name: "UI_ENABLED",
            value: "1".into(),
        },
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
    t.add(
        TASK_DEFINITION,
        &TaskDefinition {
            container_definitions: vec![Container {
                command: vec![
                    "/opt/latest/bin/python3",
                    "-m",
                    "services.ui_backend_service.ui_server",
                ],
                environment,
                essential: true,
                image: r#ref(IMAGE),
                log_configuration: LogConfiguration::to_group(LOG_GROUP),
                name: SERVICE_NAME,
                port_mappings: vec![PortMapping {
                    container_port: UI_PORT,
                }],
                secrets,
            }],
            cpu: "4096",
            execution_role_arn: r#ref(EXECUTION_ROLE),
            family: SERVICE_NAME,
            memory: "16384",
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
            desired_count: 1,
            // The backend downloads the UI bundle before it answers /ping.
            health_check_grace_period_seconds: 300,
            launch_type: "FARGATE",
            load_balancers: vec![ServiceLoadBalancer {
                container_name: SERVICE_NAME,
                container_port: UI_PORT,
                target_group_arn: r#ref(TARGET_GROUP),
            }],
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
    Ok(())
}
