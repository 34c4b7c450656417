//! The optional Metaflow UI, as a nested stack of its own template.
//!
//! CloudFront serves the UI over HTTPS and reaches it through a VPC origin: the UI's load balancer
//! is internal, so the UI has no address on the internet except the distribution. The UI backend
//! gets `METAFLOW_SERVICE_URL`, which the reference dropped when it inlined the UI.
//!
//! The root template holds one `AWS::CloudFormation::Stack` whose `TemplateURL` is the root
//! parameter [`crate::params::UI_TEMPLATE_URL`]; see [`crate::UI_TEMPLATE_URL_PARAMETER`].

use indexmap::IndexMap;
use serde::Serialize;

use super::metadata_service::{
    AwsvpcConfiguration, CLUSTER, Container, DeploymentConfiguration, EnvVar,
    FARGATE_SECURITY_GROUP, FargateService, KeyValue, Listener, LoadBalancer, LogConfiguration,
    LogGroup, MetadataService, NetworkConfiguration, PortMapping, SecretVar, ServiceLoadBalancer,
    TargetGroup, TaskDefinition, nlb_attributes,
};
use super::network::{Ingress, Network, Rule, SecurityGroup};
use super::storage::Storage;
use crate::TemplateError;
use crate::config_keys as keys;
use crate::intrinsics::{Expr, get_att, r#ref, stack_output, sub};
use crate::params::{COND_ENABLE_UI, UI_IMAGE, UI_TEMPLATE_URL};
use crate::template::{Parameter, ParameterType, ResourceProperties, Template};

/// The nested stack in the root template.
pub const UI_STACK: &str = "MetaflowUI";
/// Output (reference name): the UI's load balancer URL, inside the VPC.
pub const OUT_UI_URL: &str = "UIServiceUrl";
/// Output (reference name): the UI's public URL; the setting it feeds is in [`crate::config_keys`].
pub const OUT_UI_CLOUDFRONT_URL: &str = "UIServiceCloudfrontUrl";

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
/// CloudFront's way into the VPC.
pub const VPC_ORIGIN: &str = "UIVpcOrigin";
/// The distribution (reference id).
pub const DISTRIBUTION: &str = "CloudFrontDistributionUI";
/// The UI task (reference id).
pub const TASK_DEFINITION: &str = "TaskDefinitionUIService";
/// The UI log group (reference id).
pub const LOG_GROUP: &str = "ServiceLogGroupUIService";
/// The UI service (reference id).
pub const SERVICE: &str = "ECSFargateServiceUIService";

/// The UI's name, as task family, container and ECS service (reference value).
pub const SERVICE_NAME: &str = "metaflow-ui-service";
/// The UI backend's port.
pub const UI_PORT: i64 = 8083;

/// Parameters of the nested template, which the root fills in.
pub mod inputs {
    /// VPC id.
    pub const VPC_ID: &str = "VpcId";
    /// VPC CIDR.
    pub const VPC_CIDR: &str = "VpcCidr";
    /// First subnet.
    pub const SUBNET1: &str = "Subnet1Id";
    /// Second subnet.
    pub const SUBNET2: &str = "Subnet2Id";
    /// `ENABLED` or `DISABLED`.
    pub const ASSIGN_PUBLIC_IP: &str = "AssignPublicIp";
    /// ECS cluster name.
    pub const CLUSTER: &str = "ClusterName";
    /// Security group of the service tasks.
    pub const SERVICE_SECURITY_GROUP: &str = "ServiceSecurityGroupId";
    /// Task execution role ARN.
    pub const EXECUTION_ROLE: &str = "ExecutionRoleArn";
    /// Task role ARN.
    pub const TASK_ROLE: &str = "TaskRoleArn";
    /// Database host.
    pub const DB_HOST: &str = "DatabaseHost";
    /// Database port.
    pub const DB_PORT: &str = "DatabasePort";
    /// Database secret ARN.
    pub const DB_SECRET: &str = "DatabaseSecretArn";
    /// The metadata service's URL.
    pub const SERVICE_URL: &str = "MetadataServiceUrl";
    /// The datastore root.
    pub const DATASTORE_ROOT: &str = "DatastoreSysroot";
    /// The UI image.
    pub const IMAGE: &str = "UIImage";
    /// The stack key ARN.
    pub const KMS_KEY: &str = "KmsKeyArn";
    /// The log bucket's name.
    pub const LOGS_BUCKET: &str = "LogsBucket";
    /// The log bucket's domain name, for CloudFront.
    pub const LOGS_BUCKET_DOMAIN: &str = "LogsBucketDomain";

    /// Every input, in declaration order.
    pub const ALL: [&str; 18] = [
        VPC_ID,
        VPC_CIDR,
        SUBNET1,
        SUBNET2,
        ASSIGN_PUBLIC_IP,
        CLUSTER,
        SERVICE_SECURITY_GROUP,
        EXECUTION_ROLE,
        TASK_ROLE,
        DB_HOST,
        DB_PORT,
        DB_SECRET,
        SERVICE_URL,
        DATASTORE_ROOT,
        IMAGE,
        KMS_KEY,
        LOGS_BUCKET,
        LOGS_BUCKET_DOMAIN,
    ];
}

// AWS managed CloudFront policies; their ids are the same in every account.
const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
const ALL_VIEWER: &str = "216adef6-5c7f-47e4-b989-5492eafa07d3";

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct NestedStackProps {
    parameters: IndexMap<&'static str, Expr>,
    #[serde(rename = "TemplateURL")]
    template_url: Expr,
}
impl ResourceProperties for NestedStackProps {
    const TYPE: &'static str = "AWS::CloudFormation::Stack";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VpcOriginProps {
    vpc_origin_endpoint_config: VpcOriginEndpoint,
}
impl ResourceProperties for VpcOriginProps {
    const TYPE: &'static str = "AWS::CloudFront::VpcOrigin";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VpcOriginEndpoint {
    arn: Expr,
    #[serde(rename = "HTTPPort")]
    http_port: i64,
    #[serde(rename = "HTTPSPort")]
    https_port: i64,
    name: Expr,
    origin_protocol_policy: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DistributionProps {
    distribution_config: DistributionConfig,
}
impl ResourceProperties for DistributionProps {
    const TYPE: &'static str = "AWS::CloudFront::Distribution";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DistributionConfig {
    comment: Expr,
    default_cache_behavior: CacheBehavior,
    enabled: bool,
    http_version: &'static str,
    logging: Logging,
    #[serde(rename = "IPV6Enabled")]
    ipv6_enabled: bool,
    origins: Vec<Origin>,
    price_class: &'static str,
    viewer_certificate: ViewerCertificate,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Logging {
    bucket: Expr,
    include_cookies: bool,
    prefix: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CacheBehavior {
    allowed_methods: Vec<&'static str>,
    cache_policy_id: &'static str,
    cached_methods: Vec<&'static str>,
    compress: bool,
    origin_request_policy_id: &'static str,
    target_origin_id: &'static str,
    viewer_protocol_policy: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Origin {
    domain_name: Expr,
    id: &'static str,
    vpc_origin_config: VpcOriginConfig,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VpcOriginConfig {
    origin_read_timeout: i64,
    vpc_origin_id: Expr,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ViewerCertificate {
    cloud_front_default_certificate: bool,
}

/// Add the nested stack and its outputs to the root template.
pub fn add(
    t: &mut Template,
    net: &Network,
    storage: &Storage,
    service: &MetadataService,
) -> Result<(), TemplateError> {
    use inputs::*;
    let parameters: IndexMap<&'static str, Expr> = [
        (VPC_ID, net.vpc_id.clone()),
        (VPC_CIDR, net.vpc_cidr.clone()),
        (SUBNET1, net.subnets[0].clone()),
        (SUBNET2, net.subnets[1].clone()),
        (ASSIGN_PUBLIC_IP, net.assign_public_ip.clone()),
        (CLUSTER, r#ref(CLUSTER_ID)),
        (SERVICE_SECURITY_GROUP, r#ref(FARGATE_SECURITY_GROUP)),
        (EXECUTION_ROLE, service.execution_role_arn.clone()),
        (TASK_ROLE, service.task_role_arn.clone()),
        (DB_HOST, storage.db_host.clone()),
        (DB_PORT, storage.db_port.clone()),
        (DB_SECRET, storage.db_secret.clone()),
        (SERVICE_URL, service.internal_url.clone()),
        (
            DATASTORE_ROOT,
            sub(&format!("s3://${{{}}}/metaflow", super::storage::BUCKET)),
        ),
        (IMAGE, r#ref(UI_IMAGE)),
        (KMS_KEY, storage.key_arn.clone()),
        (LOGS_BUCKET, storage.logs_bucket.clone()),
        (
            LOGS_BUCKET_DOMAIN,
            get_att(super::storage::LOGS_BUCKET, "DomainName"),
        ),
    ]
    .into_iter()
    .collect();
    t.add(
        UI_STACK,
        &NestedStackProps {
            parameters,
            template_url: r#ref(UI_TEMPLATE_URL),
        },
    )?
    .condition(COND_ENABLE_UI)
    // The UI's load balancer logs to the log bucket, which must admit it first.
    .depends_on(&[super::storage::LOGS_BUCKET_POLICY]);
    t.add_output(
        OUT_UI_URL,
        "URL of the UI's load balancer, inside the VPC (no config key)",
        stack_output(UI_STACK, OUT_UI_URL),
        Some(COND_ENABLE_UI),
    )?;
    t.add_output(
        OUT_UI_CLOUDFRONT_URL,
        "Public HTTPS URL of the Metaflow UI",
        stack_output(UI_STACK, OUT_UI_CLOUDFRONT_URL),
        Some(COND_ENABLE_UI),
    )?;
    Ok(())
}

const CLUSTER_ID: &str = CLUSTER;

/// Build the UI nested template.
pub fn template() -> Result<Template, TemplateError> {
    use inputs::*;
    let mut t = Template::new(
        "Metaflow UI: backend on Fargate behind an internal load balancer, served by CloudFront (nested stack of the Metaflow stack)",
    );
    for name in ALL {
        t.add_parameter(
            name,
            Parameter {
                default: None,
                ..Parameter::new(
                    ParameterType::String,
                    &format!("Set by the root Metaflow stack ({name})."),
                    "",
                )
            },
        )?;
    }

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

    t.add(
        VPC_ORIGIN,
        &VpcOriginProps {
            vpc_origin_endpoint_config: VpcOriginEndpoint {
                arn: r#ref(LOAD_BALANCER),
                http_port: 80,
                https_port: 443,
                name: sub("${AWS::StackName}-ui"),
                origin_protocol_policy: "http-only",
            },
        },
    )?;
    t.add(
        DISTRIBUTION,
        &DistributionProps {
            distribution_config: DistributionConfig {
                comment: sub("Metaflow UI (${AWS::StackName})"),
                default_cache_behavior: CacheBehavior {
                    allowed_methods: vec!["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
                    cache_policy_id: CACHING_DISABLED,
                    cached_methods: vec!["GET", "HEAD"],
                    compress: true,
                    origin_request_policy_id: ALL_VIEWER,
                    target_origin_id: "ui",
                    viewer_protocol_policy: "redirect-to-https",
                },
                enabled: true,
                http_version: "http2and3",
                logging: Logging {
                    bucket: r#ref(LOGS_BUCKET_DOMAIN),
                    include_cookies: false,
                    prefix: "cloudfront/",
                },
                ipv6_enabled: true,
                origins: vec![Origin {
                    domain_name: get_att(LOAD_BALANCER, "DNSName"),
                    id: "ui",
                    vpc_origin_config: VpcOriginConfig {
                        origin_read_timeout: 60,
                        vpc_origin_id: get_att(VPC_ORIGIN, "Id"),
                    },
                }],
                price_class: "PriceClass_All",
                viewer_certificate: ViewerCertificate {
                    cloud_front_default_certificate: true,
                },
            },
        },
    )?
    .skip_check(
        "CKV_AWS_174",
        "The default *.cloudfront.net certificate fixes the viewer policy; TLS 1.2 needs a custom domain and certificate, which the stack does not assume.",
    )
    .skip_check(
        "CKV_AWS_68",
        "A CloudFront web ACL can only be created in us-east-1, and the stack deploys to any region; attach one to the distribution if policy requires it.",
    );

    t.add(LOG_GROUP, &LogGroup::new(None, r#ref(KMS_KEY)))?;
    let environment = vec![
        EnvVar {
            name: "MF_METADATA_DB_HOST",
            value: r#ref(DB_HOST),
        },
        EnvVar {
            name: "MF_METADATA_DB_PORT",
            value: r#ref(DB_PORT),
        },
        EnvVar {
            name: "MF_METADATA_DB_NAME",
            value: super::storage::DB_NAME.into(),
        },
        EnvVar {
            name: "MF_METADATA_DB_SSL_MODE",
            value: "require".into(),
        },
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
    ];
    let secret = |key: &str| {
        Expr::Join(
            String::new(),
            vec![r#ref(DB_SECRET), format!(":{key}::").into()],
        )
    };
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
                secrets: vec![
                    SecretVar {
                        name: "MF_METADATA_DB_USER",
                        value_from: secret("username"),
                    },
                    SecretVar {
                        name: "MF_METADATA_DB_PSWD",
                        value_from: secret("password"),
                    },
                ],
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
            service_name: SERVICE_NAME,
            task_definition: r#ref(TASK_DEFINITION),
        },
    )?
    .depends_on(&[LISTENER]);

    t.add_output(
        OUT_UI_URL,
        "URL of the UI's load balancer, inside the VPC",
        sub(&format!("http://${{{LOAD_BALANCER}.DNSName}}/")),
        None,
    )?;
    t.add_output(
        OUT_UI_CLOUDFRONT_URL,
        "Public HTTPS URL of the Metaflow UI",
        sub(&format!("https://${{{DISTRIBUTION}.DomainName}}/")),
        None,
    )?;
    Ok(t)
}
