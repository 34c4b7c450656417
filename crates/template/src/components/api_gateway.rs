//! API Gateway: the public, TLS-terminating front of the metadata service, with the optional API
//! key and usage plan. It reaches the internal load balancer through a VPC link.

use serde::Serialize;

use super::metadata_service::MIGRATE_PORT;
use super::metadata_service::load_balancer::NLB;
use crate::TemplateError;
use crate::intrinsics::{Expr, get_att, if_, r#ref, sub};
use crate::params::{COND_ENABLE_AUTH, COND_IS_GOV};
use crate::template::{ResourceProperties, Template};

/// The REST API (reference id).
pub const API: &str = "Api";
/// `{proxy+}` (reference id).
pub const PROXY_RESOURCE: &str = "ApiResource";
/// `/db_schema_status` (reference id).
pub const DB_RESOURCE: &str = "DBApiResource";
/// The VPC link to the load balancer (reference id).
pub const VPC_LINK: &str = "VpcLink";
/// `ANY /{proxy+}` (reference id).
pub const PROXY_METHOD: &str = "ProxyMethod";
/// `GET /db_schema_status` (reference id).
pub const DB_METHOD: &str = "DBMethod";
/// Deployment and stage `api` (reference id).
pub const DEPLOYMENT: &str = "ApiDeployment";
/// The API key (reference id).
pub const API_KEY: &str = "ApiKey";
/// The usage plan (reference id).
pub const USAGE_PLAN: &str = "ApiUsagePlan";
/// Key-to-plan binding (reference id).
pub const USAGE_PLAN_KEY: &str = "ApiUsagePlanKey";
/// Output (reference name); the setting it feeds is in [`crate::config_keys`].
pub const OUT_SERVICE_URL: &str = "ServiceUrl";
/// Output (reference name): the key's id; the setting its value feeds is in [`crate::config_keys`].
pub const OUT_API_KEY_ID: &str = "ApiKeyId";

/// The stage name (reference value; part of the service URL).
pub const STAGE: &str = "api";

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RestApiProps {
    description: &'static str,
    endpoint_configuration: EndpointConfiguration,
    name: Expr,
}
impl ResourceProperties for RestApiProps {
    const TYPE: &'static str = "AWS::ApiGateway::RestApi";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EndpointConfiguration {
    types: Vec<Expr>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResourceProps {
    parent_id: Expr,
    path_part: &'static str,
    rest_api_id: Expr,
}
impl ResourceProperties for ResourceProps {
    const TYPE: &'static str = "AWS::ApiGateway::Resource";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VpcLinkProps {
    name: Expr,
    target_arns: Vec<Expr>,
}
impl ResourceProperties for VpcLinkProps {
    const TYPE: &'static str = "AWS::ApiGateway::VpcLink";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MethodProps {
    api_key_required: Expr,
    authorization_type: &'static str,
    http_method: &'static str,
    integration: Integration,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_parameters: Option<ProxyParam>,
    resource_id: Expr,
    rest_api_id: Expr,
}
impl ResourceProperties for MethodProps {
    const TYPE: &'static str = "AWS::ApiGateway::Method";
}

#[derive(Serialize)]
struct ProxyParam {
    #[serde(rename = "method.request.path.proxy")]
    proxy: bool,
}

#[derive(Serialize)]
struct IntegrationProxyParam {
    #[serde(rename = "integration.request.path.proxy")]
    proxy: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Integration {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cache_key_parameters: Vec<&'static str>,
    connection_id: Expr,
    connection_type: &'static str,
    integration_http_method: &'static str,
    passthrough_behavior: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_parameters: Option<IntegrationProxyParam>,
    #[serde(rename = "Type")]
    kind: &'static str,
    uri: Expr,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DeploymentProps {
    rest_api_id: Expr,
    stage_name: &'static str,
}
impl ResourceProperties for DeploymentProps {
    const TYPE: &'static str = "AWS::ApiGateway::Deployment";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ApiKeyProps {
    enabled: bool,
    name: Expr,
}
impl ResourceProperties for ApiKeyProps {
    const TYPE: &'static str = "AWS::ApiGateway::ApiKey";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UsagePlanProps {
    api_stages: Vec<ApiStage>,
    usage_plan_name: Expr,
}
impl ResourceProperties for UsagePlanProps {
    const TYPE: &'static str = "AWS::ApiGateway::UsagePlan";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ApiStage {
    api_id: Expr,
    stage: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UsagePlanKeyProps {
    key_id: Expr,
    key_type: &'static str,
    usage_plan_id: Expr,
}
impl ResourceProperties for UsagePlanKeyProps {
    const TYPE: &'static str = "AWS::ApiGateway::UsagePlanKey";
}

/// Add the API, its methods, stage, and the optional key.
pub fn add(t: &mut Template) -> Result<(), TemplateError> {
    add_api(t)?;
    add_methods(t)?;
    t.add(
        DEPLOYMENT,
        &DeploymentProps {
            rest_api_id: r#ref(API),
            stage_name: STAGE,
        },
    )?
    // A deployment of an API without its methods fails.
    .depends_on(&[PROXY_METHOD, DB_METHOD]);

    add_api_key(t)?;

    t.add_output(
        OUT_SERVICE_URL,
        "URL of the metadata service through API Gateway",
        sub(&format!(
            "https://${{{API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{STAGE}/"
        )),
        None,
    )?;
    t.add_output(
        OUT_API_KEY_ID,
        "ID of the API key; its value, from `aws apigateway get-api-key --include-value`, is",
        r#ref(API_KEY),
        Some(COND_ENABLE_AUTH),
    )?;
    Ok(())
}

/// The REST API, its VPC link to the load balancer, and its two resources.
fn add_api(t: &mut Template) -> Result<(), TemplateError> {
    t.add(
        API,
        &RestApiProps {
            description: "Metaflow metadata service",
            endpoint_configuration: EndpointConfiguration {
                // GovCloud has no edge-optimised endpoints.
                types: vec![if_(COND_IS_GOV, "REGIONAL", "EDGE")],
            },
            name: sub("${AWS::StackName}-api"),
        },
    )?;
    t.add(
        VPC_LINK,
        &VpcLinkProps {
            name: sub("${AWS::StackName}-vpclink"),
            target_arns: vec![r#ref(NLB)],
        },
    )?;
    let root = get_att(API, "RootResourceId");
    t.add(
        PROXY_RESOURCE,
        &ResourceProps {
            parent_id: root.clone(),
            path_part: "{proxy+}",
            rest_api_id: r#ref(API),
        },
    )?;
    t.add(
        DB_RESOURCE,
        &ResourceProps {
            parent_id: root,
            path_part: "db_schema_status",
            rest_api_id: r#ref(API),
        },
    )?;
    Ok(())
}

/// `ANY /{proxy+}` to the API, `GET /db_schema_status` to the migration port.
fn add_methods(t: &mut Template) -> Result<(), TemplateError> {
    let key_required = if_(COND_ENABLE_AUTH, true, false);
    t.add(
        PROXY_METHOD,
        &MethodProps {
            api_key_required: key_required.clone(),
            authorization_type: "NONE",
            http_method: "ANY",
            integration: Integration {
                cache_key_parameters: vec!["method.request.path.proxy"],
                connection_id: r#ref(VPC_LINK),
                connection_type: "VPC_LINK",
                integration_http_method: "ANY",
                passthrough_behavior: "WHEN_NO_MATCH",
                request_parameters: Some(IntegrationProxyParam {
                    proxy: "method.request.path.proxy",
                }),
                kind: "HTTP_PROXY",
                uri: sub(&format!("http://${{{NLB}.DNSName}}/{{proxy}}")),
            },
            request_parameters: Some(ProxyParam { proxy: true }),
            resource_id: r#ref(PROXY_RESOURCE),
            rest_api_id: r#ref(API),
        },
    )?;
    t.add(
        DB_METHOD,
        &MethodProps {
            api_key_required: key_required,
            authorization_type: "NONE",
            http_method: "GET",
            integration: Integration {
                cache_key_parameters: vec![],
                connection_id: r#ref(VPC_LINK),
                connection_type: "VPC_LINK",
                integration_http_method: "GET",
                passthrough_behavior: "WHEN_NO_MATCH",
                request_parameters: None,
                kind: "HTTP_PROXY",
                uri: sub(&format!(
                    "http://${{{NLB}.DNSName}}:{MIGRATE_PORT}/db_schema_status"
                )),
            },
            request_parameters: None,
            resource_id: r#ref(DB_RESOURCE),
            rest_api_id: r#ref(API),
        },
    )?;
    Ok(())
}

/// The API key and the usage plan that binds it to the stage, when the API requires a key.
fn add_api_key(t: &mut Template) -> Result<(), TemplateError> {
    t.add(
        API_KEY,
        &ApiKeyProps {
            enabled: true,
            name: sub("${AWS::StackName}-ApiKey"),
        },
    )?
    .condition(COND_ENABLE_AUTH)
    .depends_on(&[DEPLOYMENT]);
    t.add(
        USAGE_PLAN,
        &UsagePlanProps {
            api_stages: vec![ApiStage {
                api_id: r#ref(API),
                stage: STAGE,
            }],
            usage_plan_name: sub("${AWS::StackName}-usage-plan"),
        },
    )?
    .condition(COND_ENABLE_AUTH)
    // The stage the plan names exists only once the deployment does.
    .depends_on(&[DEPLOYMENT]);
    t.add(
        USAGE_PLAN_KEY,
        &UsagePlanKeyProps {
            key_id: r#ref(API_KEY),
            key_type: "API_KEY",
            usage_plan_id: r#ref(USAGE_PLAN),
        },
    )?
    .condition(COND_ENABLE_AUTH);
    Ok(())
}
