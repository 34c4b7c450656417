//! The optional Metaflow UI, as a nested stack of its own template.
//!
//! CloudFront serves the UI over HTTPS and reaches it through a VPC origin: the UI's load balancer
//! is internal, so the UI has no address on the internet except the distribution. The UI backend
//! gets `METAFLOW_SERVICE_URL`, which the reference dropped when it inlined the UI.
//!
//! With mfstack's image (root parameter `ServiceImage`) the backend is `mfstack serve --ui-only`
//! against the same database, and the metaflow-ui front end (`UIStaticImage`) runs beside it in
//! the same task; the load balancer sends `/api` and `/api/*` to the first and the rest to the
//! second. With upstream's image, its Python backend serves both, as the reference ran it.
//!
//! The root template holds one `AWS::CloudFormation::Stack` whose `TemplateURL` is the root
//! parameter [`crate::params::UI_TEMPLATE_URL`]; see [`crate::UI_TEMPLATE_URL_PARAMETER`].

pub mod cloudfront;
pub mod fargate;
pub mod inputs;
pub mod load_balancer;

use cloudfront::DISTRIBUTION;
use indexmap::IndexMap;
use load_balancer::LOAD_BALANCER;
use serde::Serialize;

use super::metadata_service::{CLUSTER, FARGATE_SECURITY_GROUP, MetadataService};
use super::network::Network;
use super::storage::Storage;
use super::storage::buckets::{self, LOGS_BUCKET, LOGS_BUCKET_POLICY};
use crate::TemplateError;
use crate::intrinsics::{Expr, equals, get_att, not, r#ref, stack_output, sub};
use crate::params::{
    COND_ENABLE_UI, COND_MFSTACK_IMAGE, SERVICE_IMAGE, UI_IMAGE, UI_STATIC_IMAGE, UI_TEMPLATE_URL,
};
use crate::template::{Parameter, ParameterType, ResourceProperties, Template};

/// The nested stack in the root template.
pub const UI_STACK: &str = "MetaflowUI";
/// Output (reference name): the UI's load balancer URL, inside the VPC.
pub const OUT_UI_URL: &str = "UIServiceUrl";
/// Output (reference name): the UI's public URL; the setting it feeds is in [`crate::config_keys`].
pub const OUT_UI_CLOUDFRONT_URL: &str = "UIServiceCloudfrontUrl";

/// The UI's name, as task family and container (reference value).
pub const SERVICE_NAME: &str = "metaflow-ui-service";
/// The UI's ECS service name. Not the reference's `metaflow-ui-service`: when a reference stack
/// with the UI is adopted, its root-level service of that name is deleted only after the nested
/// stack has created this one, and ECS refuses two services of one name in a cluster.
pub const ECS_SERVICE_NAME: &str = "metaflow-ui";
/// The UI backend's port.
pub const UI_PORT: i64 = 8083;
/// The front end container beside mfstack's UI API.
pub const STATIC_NAME: &str = "metaflow-ui-static";
/// The front end's port (the metaflow-ui image's nginx).
pub const STATIC_PORT: i64 = 3000;

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

/// Add the nested stack and its outputs to the root template.
pub fn add(
    t: &mut Template,
    net: &Network,
    storage: &Storage,
    service: &MetadataService,
) -> Result<(), TemplateError> {
    let parameters = nested_stack_inputs(net, storage, service);
    t.add(
        UI_STACK,
        &NestedStackProps {
            parameters,
            template_url: r#ref(UI_TEMPLATE_URL),
        },
    )?
    .condition(COND_ENABLE_UI)
    // The log bucket is complete, policy included, before the UI's distribution logs to it.
    .depends_on(&[LOGS_BUCKET_POLICY]);
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

/// The nested template's inputs, by name.
fn nested_stack_inputs(
    net: &Network,
    storage: &Storage,
    service: &MetadataService,
) -> IndexMap<&'static str, Expr> {
    [
        (inputs::VPC_ID, net.vpc_id.clone()),
        (inputs::VPC_CIDR, net.vpc_cidr.clone()),
        (inputs::SUBNET1, net.subnets[0].clone()),
        (inputs::SUBNET2, net.subnets[1].clone()),
        (inputs::ASSIGN_PUBLIC_IP, net.assign_public_ip.clone()),
        (inputs::CLUSTER, r#ref(CLUSTER)),
        (
            inputs::SERVICE_SECURITY_GROUP,
            r#ref(FARGATE_SECURITY_GROUP),
        ),
        (inputs::EXECUTION_ROLE, service.execution_role_arn.clone()),
        (inputs::TASK_ROLE, service.task_role_arn.clone()),
        (inputs::DB_HOST, storage.db_host.clone()),
        (inputs::DB_PORT, storage.db_port.clone()),
        (inputs::DB_SECRET, storage.db_secret.clone()),
        (inputs::SERVICE_URL, service.internal_url.clone()),
        (inputs::DATASTORE_ROOT, buckets::datastore_root()),
        (inputs::IMAGE, r#ref(UI_IMAGE)),
        (inputs::SERVICE_IMAGE, r#ref(SERVICE_IMAGE)),
        (inputs::STATIC_IMAGE, r#ref(UI_STATIC_IMAGE)),
        (inputs::KMS_KEY, storage.key_arn.clone()),
        (
            inputs::LOGS_BUCKET_DOMAIN,
            get_att(LOGS_BUCKET, "DomainName"),
        ),
    ]
    .into_iter()
    .collect()
}

/// Build the UI nested template.
pub fn template() -> Result<Template, TemplateError> {
    let mut t = Template::new(
        "Metaflow UI: backend on Fargate behind an internal load balancer, served by CloudFront (nested stack of the Metaflow stack)",
    );
    for name in inputs::ALL {
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
    t.add_condition(
        COND_MFSTACK_IMAGE,
        not(equals(r#ref(inputs::SERVICE_IMAGE), "")),
    )?;
    load_balancer::add(&mut t)?;
    cloudfront::add(&mut t)?;
    fargate::add(&mut t)?;

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
