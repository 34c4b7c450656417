//! Where Metaflow keeps its data: the datastore bucket, the metadata database with its secret,
//! and the stack's encryption key.

use serde::Serialize;

use super::iam::{
    PolicyDocument, Principal, Role, SourceAccount, Statement, aws_managed, service_trust,
};
use super::metadata_service::FARGATE_SECURITY_GROUP;
use super::network::{Ingress, Network, Rule, SecurityGroup};
use crate::TemplateError;
use crate::intrinsics::{Expr, arn, get_att, r#ref, sub};
use crate::params::{DATABASE_DELETION_PROTECTION, ENCRYPT_DATABASE, StackParams};
use crate::pins::PINS;
use crate::template::{ResourceProperties, RetainPolicy, Template};

/// The stack's customer-managed key: logs, secrets, the DynamoDB table and the notebook volume.
pub const KMS_KEY: &str = "MetaflowKmsKey";
/// The datastore bucket (reference id; renaming it would replace the bucket).
pub const BUCKET: &str = "MetaflowS3Bucket";
/// Access logs of the datastore bucket and the load balancers, and CloudFront's standard logs.
pub const LOGS_BUCKET: &str = "MetaflowLogsBucket";
/// Who may deliver logs to the log bucket.
pub const LOGS_BUCKET_POLICY: &str = "MetaflowLogsBucketPolicy";
/// Role RDS enhanced monitoring publishes OS metrics with.
pub const DB_MONITORING_ROLE: &str = "RDSMonitoringRole";
/// TLS-only policy of the bucket.
pub const BUCKET_POLICY: &str = "MetaflowS3BucketPolicy";
/// The database subnet group (reference id).
pub const DB_SUBNET_GROUP: &str = "DBSubnetGroup";
/// The database security group (reference id).
pub const DB_SECURITY_GROUP: &str = "RDSSecurityGroup";
/// Postgres ingress from the service tasks (reference id).
pub const DB_INGRESS: &str = "PostgresIngressRule";
/// The database (reference id; renaming it would replace the database).
pub const DATABASE: &str = "RDSMasterInstance";
/// The database credentials (reference id; renaming it would change the password).
pub const DB_SECRET: &str = "MyRDSSecret";
/// Attaches the secret to the database (reference id).
pub const DB_SECRET_ATTACHMENT: &str = "SecretRDSInstanceAttachment";

/// Output (reference name); the setting it feeds is in [`crate::config_keys`].
pub const OUT_DATASTORE_URL: &str = "MetaflowDataStoreS3Url";
/// Output (reference name); the setting it feeds is in [`crate::config_keys`].
pub const OUT_DATATOOLS_URL: &str = "MetaflowDataToolsS3Url";

/// The database name the service connects to (reference value; changing it replaces the database).
pub const DB_NAME: &str = "metaflow";
/// The database port.
pub const DB_PORT: i64 = 5432;

// Byte for byte the reference's value: a different template string makes Secrets Manager generate
// a new password that the existing database never receives.
const DB_SECRET_TEMPLATE: &str = r#"{"username": "master"}"#;

/// What later components need from storage.
#[derive(Debug, Clone)]
pub struct Storage {
    /// The bucket's ARN.
    pub bucket_arn: Expr,
    /// The key's ARN.
    pub key_arn: Expr,
    /// The database secret's ARN.
    pub db_secret: Expr,
    /// The database host name.
    pub db_host: Expr,
    /// The database port.
    pub db_port: Expr,
    /// The log bucket's name.
    pub logs_bucket: Expr,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeyProps {
    description: &'static str,
    enable_key_rotation: bool,
    key_policy: PolicyDocument,
    pending_window_in_days: i64,
}
impl ResourceProperties for KeyProps {
    const TYPE: &'static str = "AWS::KMS::Key";
}

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

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SubnetGroupProps {
    #[serde(rename = "DBSubnetGroupDescription")]
    description: &'static str,
    subnet_ids: Vec<Expr>,
}
impl ResourceProperties for SubnetGroupProps {
    const TYPE: &'static str = "AWS::RDS::DBSubnetGroup";
}

/// `AWS::SecretsManager::Secret` with a generated value.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Secret {
    /// What the secret is.
    pub description: String,
    /// How the value is generated.
    pub generate_secret_string: GenerateSecretString,
    /// The stack key.
    pub kms_key_id: Expr,
}

impl ResourceProperties for Secret {
    const TYPE: &'static str = "AWS::SecretsManager::Secret";
}

/// How Secrets Manager generates a secret.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateSecretString {
    /// Characters never used.
    pub exclude_characters: String,
    /// No punctuation at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_punctuation: Option<bool>,
    /// The key the generated value is stored under.
    pub generate_string_key: String,
    /// Length of the generated value.
    pub password_length: i64,
    /// The JSON the generated key is added to.
    pub secret_string_template: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AttachmentProps {
    secret_id: Expr,
    target_id: Expr,
    target_type: &'static str,
}
impl ResourceProperties for AttachmentProps {
    const TYPE: &'static str = "AWS::SecretsManager::SecretTargetAttachment";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DatabaseProps {
    allocated_storage: &'static str,
    allow_major_version_upgrade: bool,
    auto_minor_version_upgrade: bool,
    backup_retention_period: i64,
    copy_tags_to_snapshot: bool,
    #[serde(rename = "DBInstanceClass")]
    instance_class: &'static str,
    #[serde(rename = "DBName")]
    db_name: &'static str,
    #[serde(rename = "DBSubnetGroupName")]
    subnet_group_name: Expr,
    delete_automated_backups: bool,
    deletion_protection: Expr,
    #[serde(rename = "EnableIAMDatabaseAuthentication")]
    enable_iam_auth: bool,
    engine: &'static str,
    engine_version: &'static str,
    master_user_password: Expr,
    master_username: Expr,
    monitoring_interval: i64,
    monitoring_role_arn: Expr,
    #[serde(rename = "MultiAZ")]
    multi_az: bool,
    publicly_accessible: bool,
    storage_encrypted: Expr,
    storage_type: &'static str,
    #[serde(rename = "VPCSecurityGroups")]
    vpc_security_groups: Vec<Expr>,
}
impl ResourceProperties for DatabaseProps {
    const TYPE: &'static str = "AWS::RDS::DBInstance";
}

/// The key policy: the account administers the key through IAM, and CloudWatch Logs may use it
/// for this account's log groups.
fn key_policy() -> PolicyDocument {
    let mut account = Statement::allow("AccountAdministers", &["kms:*"], vec!["*".into()]);
    account.principal = Some(Principal::Aws(vec![arn("iam::${AWS::AccountId}:root")]));
    let mut logs = Statement::allow(
        "LogsEncrypt",
        &[
            "kms:Encrypt*",
            "kms:Decrypt*",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:Describe*",
        ],
        vec!["*".into()],
    )
    .when(
        "ArnLike",
        "kms:EncryptionContext:aws:logs:arn",
        arn("logs:${AWS::Region}:${AWS::AccountId}:log-group:*"),
    );
    logs.principal = Some(Principal::Service(vec![sub(
        "logs.${AWS::Region}.amazonaws.com",
    )]));
    PolicyDocument::new(vec![account, logs])
}

/// `{{resolve:secretsmanager:<secret>:SecretString:<key>}}`, as the reference wrote it.
fn resolve(key: &str) -> Expr {
    sub(&format!(
        "{{{{resolve:secretsmanager:${{{DB_SECRET}}}:SecretString:{key}}}}}"
    ))
}

/// Add the key, the bucket and the database.
pub fn add(t: &mut Template, _p: &StackParams, net: &Network) -> Result<Storage, TemplateError> {
    t.add(
        KMS_KEY,
        &KeyProps {
            description: "Encrypts Metaflow's logs, secrets, step-functions state and notebook volume",
            enable_key_rotation: true,
            key_policy: key_policy(),
            pending_window_in_days: 30,
        },
    )?;

    add_logs_bucket(t)?;
    t.add(
        BUCKET,
        &BucketProps {
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
        },
    )?
    .retain(RetainPolicy::Retain);

    let bucket_arn = get_att(BUCKET, "Arn");
    let objects = Expr::Join(String::new(), vec![bucket_arn.clone(), "/*".into()]);
    let mut tls_only = Statement::deny(
        "DenyInsecureTransport",
        &["s3:*"],
        vec![bucket_arn.clone(), objects],
    )
    .when("Bool", "aws:SecureTransport", "false");
    tls_only.principal = Some(Principal::Aws(vec!["*".into()]));
    t.add(
        BUCKET_POLICY,
        &BucketPolicyProps {
            bucket: r#ref(BUCKET),
            policy_document: PolicyDocument::new(vec![tls_only]),
        },
    )?;

    let mut monitoring = Role::new(
        "Role RDS enhanced monitoring publishes operating-system metrics with",
        service_trust("monitoring.rds.amazonaws.com", SourceAccount::Checked),
        vec![],
    );
    monitoring.managed_policy_arns =
        vec![aws_managed("service-role/AmazonRDSEnhancedMonitoringRole")];
    t.add(DB_MONITORING_ROLE, &monitoring)?;

    t.add(
        DB_SUBNET_GROUP,
        &SubnetGroupProps {
            description: "DBSubnetGroup for RDS instances",
            subnet_ids: net.subnets.clone(),
        },
    )?;
    t.add(
        DB_SECURITY_GROUP,
        &SecurityGroup::new("Security Group for RDS", net.vpc_id.clone()),
    )?;
    t.add(
        DB_INGRESS,
        &Ingress {
            group_id: r#ref(DB_SECURITY_GROUP),
            rule: Rule::tcp_group(
                "PostgreSQL from the service tasks",
                DB_PORT,
                DB_PORT,
                r#ref(FARGATE_SECURITY_GROUP),
            ),
        },
    )?;
    t.add(
        DB_SECRET,
        &Secret {
            description: "This is a Secrets Manager secret for an RDS DB instance".to_string(),
            generate_secret_string: GenerateSecretString {
                exclude_characters: "\"@/\\".to_string(),
                exclude_punctuation: None,
                generate_string_key: "password".to_string(),
                password_length: 16,
                secret_string_template: DB_SECRET_TEMPLATE.to_string(),
            },
            kms_key_id: r#ref(KMS_KEY),
        },
    )?;
    t.add(
        DATABASE,
        &DatabaseProps {
            allocated_storage: "20",
            allow_major_version_upgrade: true,
            auto_minor_version_upgrade: true,
            backup_retention_period: PINS.db_backup_retention_days,
            copy_tags_to_snapshot: true,
            instance_class: PINS.db_instance_class,
            db_name: DB_NAME,
            subnet_group_name: r#ref(DB_SUBNET_GROUP),
            delete_automated_backups: false,
            // A parameter, so `mfstack destroy` can lift it with an update before deleting.
            deletion_protection: r#ref(DATABASE_DELETION_PROTECTION),
            enable_iam_auth: true,
            engine: "postgres",
            engine_version: PINS.postgres_major,
            master_user_password: resolve("password"),
            master_username: resolve("username"),
            monitoring_interval: 60,
            monitoring_role_arn: get_att(DB_MONITORING_ROLE, "Arn"),
            multi_az: false,
            publicly_accessible: false,
            storage_encrypted: r#ref(ENCRYPT_DATABASE),
            storage_type: PINS.db_storage_type,
            vpc_security_groups: vec![r#ref(DB_SECURITY_GROUP)],
        },
    )?
    .retain(RetainPolicy::Snapshot)
    .skip_check(
        "CKV_AWS_157",
        "A standby doubles the database's cost for the metadata of one team's flows; daily backups and a final snapshot protect the data, and MultiAZ can be turned on in place.",
    );
    t.add(
        DB_SECRET_ATTACHMENT,
        &AttachmentProps {
            secret_id: r#ref(DB_SECRET),
            target_id: r#ref(DATABASE),
            target_type: "AWS::RDS::DBInstance",
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

    Ok(Storage {
        bucket_arn,
        key_arn: get_att(KMS_KEY, "Arn"),
        db_secret: r#ref(DB_SECRET),
        db_host: get_att(DATABASE, "Endpoint.Address"),
        db_port: get_att(DATABASE, "Endpoint.Port"),
        logs_bucket: r#ref(LOGS_BUCKET),
    })
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

    let bucket = get_att(LOGS_BUCKET, "Arn");
    let objects = |prefix: &str| {
        Expr::Join(
            String::new(),
            vec![bucket.clone(), format!("/{prefix}*").into()],
        )
    };
    let account = r#ref(crate::intrinsics::pseudo::ACCOUNT_ID);
    let mut tls_only = Statement::deny(
        "DenyInsecureTransport",
        &["s3:*"],
        vec![bucket.clone(), objects("")],
    )
    .when("Bool", "aws:SecureTransport", "false");
    tls_only.principal = Some(Principal::Aws(vec!["*".into()]));
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
    t.add(
        LOGS_BUCKET_POLICY,
        &BucketPolicyProps {
            bucket: r#ref(LOGS_BUCKET),
            policy_document: PolicyDocument::new(vec![tls_only, s3_logs, lb_logs, lb_acl]),
        },
    )?;
    Ok(())
}
