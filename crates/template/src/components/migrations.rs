//! Database migrations that run by themselves: a function that asks the service for its schema
//! status and upgrades it, and a custom resource that calls it once the service is up, on create
//! and whenever the service image changes. A failed upgrade fails the deploy with the service's
//! own message.

use serde::Serialize;

use super::iam::{InlinePolicy, Role, SourceAccount, Statement, aws_managed, service_trust};
use super::metadata_service::MIGRATE_PORT;
use super::metadata_service::fargate::SERVICE;
use super::metadata_service::load_balancer::{MIGRATE_LISTENER, NLB};
use super::metadata_service::logs::LogGroup;
use super::network::{Network, Rule, SecurityGroup};
use super::storage::Storage;
use crate::TemplateError;
use crate::intrinsics::{Expr, get_att, if_, r#ref, sub};
use crate::params::{COND_MFSTACK_IMAGE, METADATA_SERVICE_IMAGE, SERVICE_IMAGE, StackParams};
use crate::pins::PINS;
use crate::template::{ResourceProperties, Template};

/// The function's role (reference id).
pub const FUNCTION_ROLE: &str = "LambdaECSExecuteRole";
/// The migration function (reference id).
pub const FUNCTION: &str = "ExecuteDBMigration";
/// The function's security group: out to the migration port and to S3 only.
pub const FUNCTION_SECURITY_GROUP: &str = "MigrationFunctionSecurityGroup";
/// The function's log group.
pub const FUNCTION_LOG_GROUP: &str = "MigrationFunctionLogGroup";
/// Where failed asynchronous invocations go.
pub const DEAD_LETTER_QUEUE: &str = "MigrationDeadLetterQueue";
/// The custom resource that runs the migrations.
pub const MIGRATION: &str = "DBMigration";
/// Output (reference name): the function, for running migrations by hand.
pub const OUT_FUNCTION_NAME: &str = "MigrationFunctionName";

/// The function's code. It answers CloudFormation through `cfnresponse`, which Lambda provides
/// to inline Python, and passes the service's error body on as the failure reason.
const CODE: &str = r#"import json, os, time, urllib.request
import cfnresponse

def call(url, method):
    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=120) as r:
        return r.read().decode()

def migrate(base):
    deadline = time.time() + 600
    while True:  # the service may still be registering behind the load balancer
        try:
            status = json.loads(call(base + "/db_schema_status", "GET"))
            break
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(15)
    if not status.get("is_up_to_date"):
        call(base + "/upgrade", "PATCH")
        status = json.loads(call(base + "/db_schema_status", "GET"))
    if not status.get("is_up_to_date"):
        raise RuntimeError("still unapplied: %s" % status.get("unapplied_migrations"))
    return status

def handler(event, context):
    base = os.environ["MD_LB_ADDRESS"]
    if "RequestType" not in event:  # invoked by hand
        return migrate(base)
    try:
        data = {}
        if event["RequestType"] != "Delete":
            data = {"SchemaVersion": str(migrate(base).get("current_version"))}
        cfnresponse.send(event, context, cfnresponse.SUCCESS, data, "db-migration")
    except Exception as e:
        detail = e.read().decode(errors="replace") if hasattr(e, "read") else ""
        reason = "database migration failed: %s %s" % (e, detail)
        cfnresponse.send(event, context, cfnresponse.FAILED, {}, "db-migration", reason=reason[:1000])
"#;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct FunctionProps {
    code: Code,
    dead_letter_config: DeadLetterConfig,
    description: &'static str,
    environment: Environment,
    function_name: Expr,
    handler: &'static str,
    kms_key_arn: Expr,
    logging_config: LoggingConfig,
    role: Expr,
    runtime: &'static str,
    timeout: i64,
    vpc_config: VpcConfig,
}
impl ResourceProperties for FunctionProps {
    const TYPE: &'static str = "AWS::Lambda::Function";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Code {
    zip_file: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DeadLetterConfig {
    target_arn: Expr,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Environment {
    variables: Variables,
}

#[derive(Serialize)]
struct Variables {
    #[serde(rename = "MD_LB_ADDRESS")]
    md_lb_address: Expr,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LoggingConfig {
    log_group: Expr,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VpcConfig {
    security_group_ids: Vec<Expr>,
    subnet_ids: Vec<Expr>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct QueueProps {
    kms_master_key_id: Expr,
    message_retention_period: i64,
}
impl ResourceProperties for QueueProps {
    const TYPE: &'static str = "AWS::SQS::Queue";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MigrationProps {
    service_token: Expr,
    // A new image may bring new migrations: changing it sends an Update, which runs them again.
    service_image: Expr,
    // Orders the call after the stack's S3 endpoint, through which the function answers.
    s3_endpoint: Expr,
}
impl ResourceProperties for MigrationProps {
    const TYPE: &'static str = "Custom::DBMigration";
}

/// Add the function, its role, network and log group, and the custom resource that runs it.
pub fn add(
    t: &mut Template,
    _p: &StackParams,
    net: &Network,
    storage: &Storage,
) -> Result<(), TemplateError> {
    t.add(
        FUNCTION_LOG_GROUP,
        &LogGroup::new(None, storage.key_arn.clone()),
    )?;
    t.add(
        DEAD_LETTER_QUEUE,
        &QueueProps {
            kms_master_key_id: storage.key_arn.clone(),
            message_retention_period: 1_209_600,
        },
    )?;

    t.add(FUNCTION_ROLE, &function_role(storage))?;

    t.add(FUNCTION_SECURITY_GROUP, &function_security_group(net))?;

    t.add(
        FUNCTION,
        &FunctionProps {
            code: Code { zip_file: CODE },
            dead_letter_config: DeadLetterConfig {
                target_arn: get_att(DEAD_LETTER_QUEUE, "Arn"),
            },
            description: "Trigger DB Migration",
            environment: Environment {
                variables: Variables {
                    md_lb_address: sub(&format!("http://${{{NLB}.DNSName}}:{MIGRATE_PORT}")),
                },
            },
            function_name: sub("${AWS::StackName}-migrate-db"),
            handler: "index.handler",
            kms_key_arn: storage.key_arn.clone(),
            logging_config: LoggingConfig {
                log_group: r#ref(FUNCTION_LOG_GROUP),
            },
            role: get_att(FUNCTION_ROLE, "Arn"),
            runtime: PINS.lambda_runtime,
            timeout: 900,
            vpc_config: VpcConfig {
                security_group_ids: vec![r#ref(FUNCTION_SECURITY_GROUP)],
                subnet_ids: net.subnets.clone(),
            },
        },
    )?
    .skip_check(
        "CKV_AWS_115",
        "Runs once per deploy; a reserved concurrency fails to create in accounts whose unreserved pool is at its minimum of 10.",
    );

    t.add(
        MIGRATION,
        &MigrationProps {
            service_token: get_att(FUNCTION, "Arn"),
            // mfstack's image migrated already, in its init container; this confirms it.
            service_image: if_(
                COND_MFSTACK_IMAGE,
                r#ref(SERVICE_IMAGE),
                r#ref(METADATA_SERVICE_IMAGE),
            ),
            s3_endpoint: net.s3_endpoint.clone(),
        },
    )?
    // Migrate only once the service (with the new image) is running behind the migration listener.
    .depends_on(&[SERVICE, MIGRATE_LISTENER]);

    t.add_output(
        OUT_FUNCTION_NAME,
        "Name of the database migration function (no config key; runs by itself on deploy)",
        r#ref(FUNCTION),
        None,
    )?;
    Ok(())
}

/// The function's role: its own logs and dead letters, the stack key, and ENIs in the VPC.
fn function_role(storage: &Storage) -> Role {
    let mut role = Role::new(
        "Role of the database migration function",
        service_trust("lambda.amazonaws.com", SourceAccount::NotSent),
        vec![InlinePolicy::new(
            "Cloudwatch",
            vec![
                Statement::allow(
                    "LogEvents",
                    &["logs:CreateLogStream", "logs:PutLogEvents"],
                    vec![get_att(FUNCTION_LOG_GROUP, "Arn")],
                ),
                Statement::allow(
                    "DeadLetters",
                    &["sqs:SendMessage"],
                    vec![get_att(DEAD_LETTER_QUEUE, "Arn")],
                ),
                Statement::allow(
                    "StackKey",
                    &["kms:Decrypt", "kms:GenerateDataKey"],
                    vec![storage.key_arn.clone()],
                ),
            ],
        )],
    );
    // ENI management for a function in a VPC; these EC2 actions take no resource ARNs.
    role.managed_policy_arns = vec![aws_managed("service-role/AWSLambdaVPCAccessExecutionRole")];
    role
}

fn function_security_group(net: &Network) -> SecurityGroup {
    let mut sg = SecurityGroup::new(
        "Database migration function - the migration port and S3 only",
        net.vpc_id.clone(),
    );
    sg.security_group_egress = vec![
        Rule::tcp_cidr(
            "Migration API on the load balancer",
            MIGRATE_PORT,
            MIGRATE_PORT,
            net.vpc_cidr.clone(),
        ),
        Rule::tcp_cidr(
            "Answer CloudFormation through the S3 endpoint",
            443,
            443,
            "0.0.0.0/0".into(),
        ),
    ];
    sg
}
