//! Step Functions scheduling: the DynamoDB table for foreach state, and the roles Step Functions
//! and EventBridge assume.

use serde::Serialize;

use super::iam::{InlinePolicy, Role, SourceAccount, Statement, regional_arn, service_trust};
use super::storage::Storage;
use crate::TemplateError;
use crate::intrinsics::{Expr, get_att, r#ref};
use crate::template::{ResourceProperties, Template};

/// The foreach-state table (reference id; renaming it would replace the table).
pub const STATE_TABLE: &str = "StepFunctionsStateDDB";
/// Role EventBridge assumes to start executions (reference id).
pub const EVENTBRIDGE_ROLE: &str = "EventBridgeRole";
/// Role state machines run with (reference id).
pub const STEP_FUNCTIONS_ROLE: &str = "StepFunctionsRole";
/// Output (reference name); the setting it feeds is in [`crate::config_keys`].
pub const OUT_EVENTBRIDGE_ROLE: &str = "EventBridgeRoleArn";
/// Output (reference name); the setting it feeds is in [`crate::config_keys`].
pub const OUT_STEP_FUNCTIONS_ROLE: &str = "StepFunctionsRoleArn";
/// Output (reference name); the setting it feeds is in [`crate::config_keys`].
pub const OUT_TABLE_NAME: &str = "DDBTableName";

/// What later components need from scheduling.
#[derive(Debug, Clone)]
pub struct Scheduling {
    /// The Step Functions role's ARN.
    pub step_functions_role_arn: Expr,
    /// The EventBridge role's ARN.
    pub eventbridge_role_arn: Expr,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TableProps {
    attribute_definitions: Vec<Attribute>,
    billing_mode: &'static str,
    key_schema: Vec<Key>,
    point_in_time_recovery_specification: Pitr,
    #[serde(rename = "SSESpecification")]
    sse_specification: Sse,
    time_to_live_specification: Ttl,
}
impl ResourceProperties for TableProps {
    const TYPE: &'static str = "AWS::DynamoDB::Table";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Attribute {
    attribute_name: &'static str,
    attribute_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Key {
    attribute_name: &'static str,
    key_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Pitr {
    point_in_time_recovery_enabled: bool,
}

#[derive(Serialize)]
struct Sse {
    #[serde(rename = "KMSMasterKeyId")]
    kms_master_key_id: Expr,
    #[serde(rename = "SSEEnabled")]
    sse_enabled: bool,
    #[serde(rename = "SSEType")]
    sse_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Ttl {
    attribute_name: &'static str,
    enabled: bool,
}

/// Add the state table; returns its ARN for the roles that write it.
pub fn add_table(t: &mut Template, storage: &Storage) -> Result<Expr, TemplateError> {
    t.add(
        STATE_TABLE,
        &TableProps {
            attribute_definitions: vec![Attribute {
                attribute_name: "pathspec",
                attribute_type: "S",
            }],
            billing_mode: "PAY_PER_REQUEST",
            key_schema: vec![Key {
                attribute_name: "pathspec",
                key_type: "HASH",
            }],
            point_in_time_recovery_specification: Pitr {
                point_in_time_recovery_enabled: true,
            },
            sse_specification: Sse {
                kms_master_key_id: storage.key_arn.clone(),
                sse_enabled: true,
                sse_type: "KMS",
            },
            time_to_live_specification: Ttl {
                attribute_name: "ttl",
                enabled: true,
            },
        },
    )?;
    t.add_output(
        OUT_TABLE_NAME,
        "DynamoDB table for Step Functions foreach state",
        r#ref(STATE_TABLE),
        None,
    )?;
    Ok(get_att(STATE_TABLE, "Arn"))
}

/// Add the Step Functions and EventBridge roles.
pub fn add_roles(
    t: &mut Template,
    storage: &Storage,
    job_queue_arn: &Expr,
    table_arn: &Expr,
) -> Result<Scheduling, TemplateError> {
    t.add(
        STEP_FUNCTIONS_ROLE,
        &step_functions_role(storage, job_queue_arn, table_arn),
    )?;

    let role = Role::new(
        "Role EventBridge assumes to start scheduled Metaflow state machines",
        service_trust("events.amazonaws.com", SourceAccount::Checked),
        vec![InlinePolicy::new(
            "AllowStepFunctions",
            vec![Statement::allow(
                "ExecuteStepFunction",
                &["states:StartExecution"],
                vec![regional_arn("states", "stateMachine:*")],
            )],
        )],
    );
    t.add(EVENTBRIDGE_ROLE, &role)?;

    t.add_output(
        OUT_EVENTBRIDGE_ROLE,
        "IAM role for EventBridge",
        get_att(EVENTBRIDGE_ROLE, "Arn"),
        None,
    )?;
    t.add_output(
        OUT_STEP_FUNCTIONS_ROLE,
        "IAM role for Step Functions",
        get_att(STEP_FUNCTIONS_ROLE, "Arn"),
        None,
    )?;
    Ok(Scheduling {
        step_functions_role_arn: get_att(STEP_FUNCTIONS_ROLE, "Arn"),
        eventbridge_role_arn: get_att(EVENTBRIDGE_ROLE, "Arn"),
    })
}

/// The Step Functions role: submit and watch Batch jobs, the datastore, the rule Step Functions
/// keeps for `.sync` Batch calls, and the foreach state.
fn step_functions_role(storage: &Storage, job_queue_arn: &Expr, table_arn: &Expr) -> Role {
    let bucket = storage.bucket_arn.clone();
    let objects = Expr::Join(String::new(), vec![bucket.clone(), "/*".into()]);
    Role::new(
        "Role Metaflow's state machines run with",
        service_trust("states.amazonaws.com", SourceAccount::Checked),
        vec![
            batch_policy(job_queue_arn),
            InlinePolicy::new(
                "CustomS3Access",
                vec![
                    Statement::allow("BucketAccess", &["s3:ListBucket"], vec![bucket]),
                    Statement::allow(
                        "ObjectAccess",
                        &["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                        vec![objects],
                    ),
                ],
            ),
            events_policy(),
            InlinePolicy::new(
                "DynamoDB",
                state_table_statements(table_arn, &storage.key_arn),
            ),
        ],
    )
}

fn batch_policy(job_queue_arn: &Expr) -> InlinePolicy {
    InlinePolicy::new(
        "BatchPerms",
        vec![
            Statement::allow(
                "DefinitionsPermissions",
                &["batch:SubmitJob"],
                vec![
                    job_queue_arn.clone(),
                    regional_arn("batch", "job-definition/*"),
                ],
            ),
            Statement::allow(
                "JobsPermissions",
                &["batch:TerminateJob", "batch:TagResource"],
                vec![regional_arn("batch", "job/*")],
            ),
            Statement::allow(
                "Describe",
                &[
                    "batch:DescribeJobs",
                    "batch:DescribeJobDefinitions",
                    "batch:DescribeJobQueues",
                ],
                vec!["*".into()],
            ),
        ],
    )
}

fn events_policy() -> InlinePolicy {
    // The managed rule Step Functions creates for `.sync` Batch integrations.
    let batch_rule = regional_arn("events", "rule/StepFunctionsGetEventsForBatchJobsRule");
    InlinePolicy::new(
        "AllowEventBridge",
        vec![
            Statement::allow(
                "RuleMaintenance",
                &["events:PutTargets", "events:DescribeRule"],
                vec![batch_rule.clone()],
            ),
            Statement::allow("PutRule", &["events:PutRule"], vec![batch_rule]).when(
                "StringEquals",
                "events:detail-type",
                "Batch Job State Change",
            ),
        ],
    )
}

/// Read and write foreach state, which is encrypted with the stack key; Batch jobs need the same.
pub fn state_table_statements(table_arn: &Expr, key_arn: &Expr) -> Vec<Statement> {
    vec![
        Statement::allow(
            "Items",
            &[
                "dynamodb:PutItem",
                "dynamodb:GetItem",
                "dynamodb:UpdateItem",
            ],
            vec![table_arn.clone()],
        ),
        Statement::allow(
            "TableKey",
            &["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            vec![key_arn.clone()],
        ),
    ]
}
