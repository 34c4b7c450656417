//! The metadata database: PostgreSQL on RDS, its network, credentials and monitoring role.

use serde::Serialize;

use super::kms::KMS_KEY;
use super::secrets::{GenerateSecretString, Secret};
use crate::TemplateError;
use crate::components::iam::{Role, SourceAccount, aws_managed, service_trust};
use crate::components::metadata_service::FARGATE_SECURITY_GROUP;
use crate::components::network::{Ingress, Network, Rule, SecurityGroup};
use crate::intrinsics::{Expr, get_att, if_, no_value, r#ref, sub};
use crate::params::{
    COND_NEW_STACK, COND_RESTORE_DATABASE, DATABASE_DELETION_PROTECTION, DATABASE_SNAPSHOT,
    ENCRYPT_DATABASE, POSTGRES_ENGINE_VERSION,
};
use crate::pins::PINS;
use crate::template::{ResourceProperties, RetainPolicy, Template};

/// Role RDS enhanced monitoring publishes OS metrics with.
pub const DB_MONITORING_ROLE: &str = "RDSMonitoringRole";
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

/// The database name the service connects to (reference value; changing it replaces the database).
pub const DB_NAME: &str = "metaflow";
/// The database port.
pub const DB_PORT: i64 = 5432;

// Byte for byte the reference's value: a different template string makes Secrets Manager generate
// a new password that the existing database never receives.
const DB_SECRET_TEMPLATE: &str = r#"{"username": "master"}"#;

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
    auto_minor_version_upgrade: Expr,
    backup_retention_period: Expr,
    copy_tags_to_snapshot: bool,
    #[serde(rename = "DBInstanceClass")]
    instance_class: &'static str,
    #[serde(rename = "DBName")]
    db_name: Expr,
    #[serde(rename = "DBSnapshotIdentifier")]
    snapshot_identifier: Expr,
    #[serde(rename = "DBSubnetGroupName")]
    subnet_group_name: Expr,
    delete_automated_backups: bool,
    deletion_protection: Expr,
    #[serde(rename = "EnableIAMDatabaseAuthentication")]
    enable_iam_auth: bool,
    engine: &'static str,
    engine_version: Expr,
    master_user_password: Expr,
    master_username: Expr,
    monitoring_interval: i64,
    monitoring_role_arn: Expr,
    #[serde(rename = "MultiAZ")]
    multi_az: Expr,
    publicly_accessible: bool,
    storage_encrypted: Expr,
    storage_type: &'static str,
    #[serde(rename = "VPCSecurityGroups")]
    vpc_security_groups: Vec<Expr>,
}
impl ResourceProperties for DatabaseProps {
    const TYPE: &'static str = "AWS::RDS::DBInstance";
}

/// `{{resolve:secretsmanager:<secret>:SecretString:<key>}}`, as the reference wrote it.
fn resolve(key: &str) -> Expr {
    sub(&format!(
        "{{{{resolve:secretsmanager:${{{DB_SECRET}}}:SecretString:{key}}}}}"
    ))
}

/// Add the monitoring role, the database's network, its secret, the instance and the attachment.
pub fn add(t: &mut Template, net: &Network) -> Result<(), TemplateError> {
    let mut monitoring = Role::new(
        "Role RDS enhanced monitoring publishes operating-system metrics with",
        service_trust("monitoring.rds.amazonaws.com", SourceAccount::Checked),
        vec![],
    );
    monitoring.managed_policy_arns =
        vec![aws_managed("service-role/AmazonRDSEnhancedMonitoringRole")];
    t.add(DB_MONITORING_ROLE, &monitoring)?;
    add_network(t, net)?;
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
    t.add(DATABASE, &instance())?
    .retain(RetainPolicy::Snapshot)
    .skip_check(
        "CKV_AWS_157",
        "A standby doubles the database's cost for the metadata of one team's flows; daily backups and a final snapshot protect the data, and MultiAZ can be turned on in place.",
    )
    .skip_check(
        "CKV_AWS_16",
        "StorageEncrypted follows EncryptDatabase (true by default) on every new stack; checkov cannot read through the Fn::If that leaves it out on an adopted reference stack, where adding it would replace the database. mfstack encrypt-database encrypts those.",
    );
    t.add(
        DB_SECRET_ATTACHMENT,
        &AttachmentProps {
            secret_id: r#ref(DB_SECRET),
            target_id: r#ref(DATABASE),
            target_type: "AWS::RDS::DBInstance",
        },
    )?;
    Ok(())
}

/// The subnet group, and a security group that admits only the service and UI tasks.
fn add_network(t: &mut Template, net: &Network) -> Result<(), TemplateError> {
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
    Ok(())
}

/// `value` on a stack mfstack created; left out on an adopted one, whose template never set it.
///
/// These properties are create-only, or create-only in cases the schema leaves open, so adding one
/// to an adopted stack's database would replace it (and its data) instead of updating it.
fn new_stacks_only(value: impl Into<Expr>) -> Expr {
    if_(COND_NEW_STACK, value, no_value())
}

fn unless_restored(value: impl Into<Expr>) -> Expr {
    if_(COND_RESTORE_DATABASE, no_value(), value)
}

fn instance() -> DatabaseProps {
    DatabaseProps {
        allocated_storage: "20",
        allow_major_version_upgrade: true,
        auto_minor_version_upgrade: new_stacks_only(true),
        backup_retention_period: new_stacks_only(PINS.db_backup_retention_days),
        copy_tags_to_snapshot: true,
        instance_class: PINS.db_instance_class,
        // Restored from a snapshot (`mfstack encrypt-database`), the instance takes its name,
        // user and password from the snapshot; RDS accepts none of them on a restore.
        db_name: unless_restored(DB_NAME),
        snapshot_identifier: if_(COND_RESTORE_DATABASE, r#ref(DATABASE_SNAPSHOT), no_value()),
        subnet_group_name: r#ref(DB_SUBNET_GROUP),
        delete_automated_backups: false,
        // A parameter, so `mfstack destroy` can lift it with an update before deleting.
        deletion_protection: r#ref(DATABASE_DELETION_PROTECTION),
        enable_iam_auth: true,
        engine: "postgres",
        // A parameter, so an existing stack keeps its version (the deployer passes it).
        engine_version: r#ref(POSTGRES_ENGINE_VERSION),
        master_user_password: unless_restored(resolve("password")),
        master_username: unless_restored(resolve("username")),
        monitoring_interval: 60,
        monitoring_role_arn: get_att(DB_MONITORING_ROLE, "Arn"),
        multi_az: new_stacks_only(false),
        publicly_accessible: false,
        storage_encrypted: new_stacks_only(r#ref(ENCRYPT_DATABASE)),
        storage_type: PINS.db_storage_type,
        vpc_security_groups: vec![r#ref(DB_SECURITY_GROUP)],
    }
}
