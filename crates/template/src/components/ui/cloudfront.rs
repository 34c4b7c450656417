//! CloudFront: the UI's only public address, reaching the internal load balancer through a VPC
//! origin.

use serde::Serialize;

use super::inputs::LOGS_BUCKET_DOMAIN;
use super::load_balancer::LOAD_BALANCER;
use crate::TemplateError;
use crate::intrinsics::{Expr, get_att, r#ref, sub};
use crate::template::{ResourceProperties, Template};

/// CloudFront's way into the VPC.
pub const VPC_ORIGIN: &str = "UIVpcOrigin";
/// The distribution (reference id).
pub const DISTRIBUTION: &str = "CloudFrontDistributionUI";

// AWS managed CloudFront policies; their ids are the same in every account.
const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
const ALL_VIEWER: &str = "216adef6-5c7f-47e4-b989-5492eafa07d3";

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
    cache_behaviors: Vec<PathBehavior>,
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
struct PathBehavior {
    path_pattern: &'static str,
    #[serde(flatten)]
    behavior: CacheBehavior,
}

/// Never cached, every method, every viewer header forwarded: the API answers per request, and
/// the WebSocket upgrade on `/api/ws` needs the viewer's `Upgrade` and `Sec-WebSocket-*` headers.
fn uncached() -> CacheBehavior {
    CacheBehavior {
        allowed_methods: vec!["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
        cache_policy_id: CACHING_DISABLED,
        cached_methods: vec!["GET", "HEAD"],
        compress: true,
        origin_request_policy_id: ALL_VIEWER,
        target_origin_id: "ui",
        viewer_protocol_policy: "redirect-to-https",
    }
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

/// Add the VPC origin and the distribution.
pub fn add(t: &mut Template) -> Result<(), TemplateError> {
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
                // The load balancer routes `/api*` to the backend; this behaviour keeps the API and
                // its WebSocket uncached whatever the default behaviour becomes.
                cache_behaviors: vec![PathBehavior {
                    path_pattern: "/api*",
                    behavior: uncached(),
                }],
                comment: sub("Metaflow UI (${AWS::StackName})"),
                default_cache_behavior: uncached(),
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
    Ok(())
}
