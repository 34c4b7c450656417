//! The datastore bucket, and the bucket that receives the stack's access logs.

use serde::Serialize;

use crate::TemplateError;
use crate::components::iam::{PolicyDocument, Principal, Statement};
use crate::intrinsics::{Expr, get_att, pseudo, r#ref, sub};
use crate::template::{ResourceProperties, RetainPolicy, Template};

/// The datastore bucket (reference id; renaming it would replace the bucket).
pub const BUCKET: &str = "MetaflowS3Bucket";
/// Access logs of the datastore bucket and the load balancers, and CloudFront's standard logs.
pub const LOGS_BUCKET: &str = "MetaflowLogsBucket";
/// Who may deliver logs to the log bucket.
pub const LOGS_BUCKET_POLICY: &str = "MetaflowLogsBucketPolicy";
/// TLS-only policy of the bucket.
pub const BUCKET_POLICY: &str = "MetaflowS3BucketPolicy";
/// Output (reference name); the setting it feeds is in [`crate::config_keys`].
pub const OUT_DATASTORE_URL: &str = "MetaflowDataStoreS3Url";
/// Output (reference name); the setting it feeds is in [`crate::config_keys`].
pub const OUT_DATATOOLS_URL: &str = "MetaflowDataToolsS3Url";

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BucketProps {
    bucket_encryption: BucketEncryption,
    lifecycle_configuration: Lifecycle,
    #[serde(skip_serializing_if = "Option::is_none")]
    logging_configuration: Option<LoggingConfiguration>,
    ownership_controls: OwnershipControls,
    public_access_block_configuration: PublicAccessBlock,
    versioning_configuration: Versioning,
}
impl ResourceProperties for BucketProps {
    const TYPE: &'static str = "AWS::S3::Bucket";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LoggingConfiguration {
    destination_bucket_name: Expr,
    log_file_prefix: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BucketEncryption {
    server_side_encryption_configuration: Vec<EncryptionRule>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EncryptionRule {
    bucket_key_enabled: bool,
    server_side_encryption_by_default: EncryptionDefault,
}

#[derive(Serialize)]
struct EncryptionDefault {
    #[serde(rename = "SSEAlgorithm")]
    sse_algorithm: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Lifecycle {
    rules: Vec<LifecycleRule>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LifecycleRule {
    id: &'static str,
    status: &'static str,
    abort_incomplete_multipart_upload: AbortUpload,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration_in_days: Option<i64>,
    noncurrent_version_expiration: NoncurrentExpiration,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AbortUpload {
    days_after_initiation: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct NoncurrentExpiration {
    noncurrent_days: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct OwnershipControls {
    rules: Vec<OwnershipRule>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct OwnershipRule {
    object_ownership: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PublicAccessBlock {
    block_public_acls: bool,
    block_public_policy: bool,
    ignore_public_acls: bool,
    restrict_public_buckets: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Versioning {
    status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BucketPolicyProps {
    bucket: Expr,
    policy_document: PolicyDocument,
}
impl ResourceProperties for BucketPolicyProps {
    const TYPE: &'static str = "AWS::S3::BucketPolicy";
}

/// Add the log bucket, the datastore bucket with its TLS-only policy, and the datastore outputs.
pub fn add(t: &mut Template) -> Result<(), TemplateError> {
    add_logs_bucket(t)?;
    t.add(BUCKET, &datastore_bucket())?
        .retain(RetainPolicy::Retain);
    let bucket_arn = get_att(BUCKET, "Arn");
    let objects = Expr::Join(String::new(), vec![bucket_arn.clone(), "/*".into()]);
    let tls_only = deny_insecure_transport(vec![bucket_arn, objects]);
    t.add(
        BUCKET_POLICY,
        &BucketPolicyProps {
            bucket: r#ref(BUCKET),
            policy_document: PolicyDocument::new(vec![tls_only]),
        },
    )?;
    t.add_output(
        OUT_DATASTORE_URL,
        "Amazon S3 URL for the Metaflow datastore",
        datastore_root(),
        None,
    )?;
    t.add_output(
        OUT_DATATOOLS_URL,
        "Amazon S3 URL for Metaflow data tools",
        datatools_root(),
        None,
    )?;
    Ok(())
}

fn datastore_bucket() -> BucketProps {
    BucketProps {
        // aws:kms with the AWS managed key: callers need no extra KMS grant, unlike a
        // customer key, so existing users and roles keep working.
        bucket_encryption: BucketEncryption {
            server_side_encryption_configuration: vec![EncryptionRule {
                bucket_key_enabled: true,
                server_side_encryption_by_default: EncryptionDefault {
                    sse_algorithm: "aws:kms",
                },
            }],
        },
        lifecycle_configuration: Lifecycle {
            rules: vec![LifecycleRule {
                id: "expire-old-versions",
                status: "Enabled",
                abort_incomplete_multipart_upload: AbortUpload {
                    days_after_initiation: 7,
                },
                expiration_in_days: None,
                noncurrent_version_expiration: NoncurrentExpiration {
                    noncurrent_days: 30,
                },
            }],
        },
        logging_configuration: Some(LoggingConfiguration {
            destination_bucket_name: r#ref(LOGS_BUCKET),
            log_file_prefix: "s3-access/",
        }),
        ownership_controls: OwnershipControls {
            rules: vec![OwnershipRule {
                object_ownership: "BucketOwnerEnforced",
            }],
        },
        public_access_block_configuration: PublicAccessBlock {
            block_public_acls: true,
            block_public_policy: true,
            ignore_public_acls: true,
            restrict_public_buckets: true,
        },
        versioning_configuration: Versioning { status: "Enabled" },
    }
}

/// Refuse every request not made over TLS.
fn deny_insecure_transport(resources: Vec<Expr>) -> Statement {
    let mut s = Statement::deny("DenyInsecureTransport", &["s3:*"], resources).when(
        "Bool",
        "aws:SecureTransport",
        "false",
    );
    s.principal = Some(Principal::Aws(vec!["*".into()]));
    s
}

/// `s3://<bucket>/metaflow`.
pub fn datastore_root() -> Expr {
    sub(&format!("s3://${{{BUCKET}}}/metaflow"))
}

/// `s3://<bucket>/data`.
pub fn datatools_root() -> Expr {
    sub(&format!("s3://${{{BUCKET}}}/data"))
}

/// The log bucket: SSE-S3 and ACLs enabled, because S3 access logs, load balancer logs and
/// CloudFront standard logs accept nothing else; logs expire after 90 days.
fn add_logs_bucket(t: &mut Template) -> Result<(), TemplateError> {
    t.add(
        LOGS_BUCKET,
        &BucketProps {
            bucket_encryption: BucketEncryption {
                server_side_encryption_configuration: vec![EncryptionRule {
                    bucket_key_enabled: false,
                    server_side_encryption_by_default: EncryptionDefault { sse_algorithm: "AES256" },
                }],
            },
            lifecycle_configuration: Lifecycle {
                rules: vec![LifecycleRule {
                    id: "expire-logs",
                    status: "Enabled",
                    abort_incomplete_multipart_upload: AbortUpload { days_after_initiation: 7 },
                    expiration_in_days: Some(90),
                    noncurrent_version_expiration: NoncurrentExpiration { noncurrent_days: 7 },
                }],
            },
            logging_configuration: None,
            // CloudFront standard logging grants itself access through an object ACL.
            ownership_controls: OwnershipControls {
                rules: vec![OwnershipRule {
                    object_ownership: "BucketOwnerPreferred",
                }],
            },
            public_access_block_configuration: PublicAccessBlock {
                block_public_acls: true,
                block_public_policy: true,
                ignore_public_acls: true,
                restrict_public_buckets: true,
            },
            versioning_configuration: Versioning { status: "Enabled" },
        },
    )?
    .retain(RetainPolicy::Retain)
    .skip_check(
        "CKV_AWS_18",
        "This is the access-log bucket itself; logging it into itself would log its own log writes without end.",
    );

    t.add(
        LOGS_BUCKET_POLICY,
        &BucketPolicyProps {
            bucket: r#ref(LOGS_BUCKET),
            policy_document: logs_bucket_policy(),
        },
    )?;
    Ok(())
}

/// Who may write logs into the log bucket: S3 access logging and Elastic Load Balancing (also
/// CloudFront's delivery), for this account only, and over TLS.
fn logs_bucket_policy() -> PolicyDocument {
    let bucket = get_att(LOGS_BUCKET, "Arn");
    let objects = |prefix: &str| {
        Expr::Join(
            String::new(),
            vec![bucket.clone(), format!("/{prefix}*").into()],
        )
    };
    let account = r#ref(pseudo::ACCOUNT_ID);
    let tls_only = deny_insecure_transport(vec![bucket.clone(), objects("")]);
    let mut s3_logs = Statement::allow(
        "S3AccessLogs",
        &["s3:PutObject"],
        vec![objects("s3-access/")],
    )
    .when("StringEquals", "aws:SourceAccount", account.clone());
    s3_logs.principal = Some(Principal::Service(vec!["logging.s3.amazonaws.com".into()]));
    let mut lb_logs = Statement::allow("LoadBalancerLogs", &["s3:PutObject"], vec![objects("")])
        .when("StringEquals", "aws:SourceAccount", account.clone())
        .when("StringEquals", "s3:x-amz-acl", "bucket-owner-full-control");
    lb_logs.principal = Some(Principal::Service(vec![
        "delivery.logs.amazonaws.com".into(),
    ]));
    let mut lb_acl = Statement::allow("LoadBalancerLogsAcl", &["s3:GetBucketAcl"], vec![bucket])
        .when("StringEquals", "aws:SourceAccount", account);
    lb_acl.principal = Some(Principal::Service(vec![
        "delivery.logs.amazonaws.com".into(),
    ]));
    PolicyDocument::new(vec![tls_only, s3_logs, lb_logs, lb_acl])
}
