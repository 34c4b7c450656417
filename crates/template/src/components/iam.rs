//! IAM building blocks shared by every component, and the optional restricted user role.
//!
//! Each component declares its own roles with these types, so a role sits next to what uses it.
//! Every ARN is built on `AWS::Partition`, and service trust policies carry `aws:SourceAccount`
//! where the service sends it, against confused-deputy use.

use indexmap::IndexMap;
use serde::Serialize;

use crate::TemplateError;
use crate::intrinsics::{Expr, arn, get_att, pseudo, r#ref, sub};
use crate::params::{COND_ENABLE_ROLE, StackParams};
use crate::template::{ResourceProperties, Template};

/// The permissions of a Metaflow client, shared by the notebook's role and the user role.
pub const CLIENT_POLICY: &str = "MetaflowClientPolicy";
/// The optional role for Metaflow users (reference id).
pub const METAFLOW_USER_ROLE: &str = "MetaflowUserRole";
/// Output: the user role's ARN (reference name).
pub const OUT_USER_ROLE_ARN: &str = "MetaflowUserRoleArn";

/// Allow or deny.
#[derive(Debug, Clone, Copy, Serialize)]
pub enum Effect {
    /// Grant.
    Allow,
    /// Refuse, overriding any grant.
    Deny,
}

/// Who a trust statement lets in.
#[derive(Debug, Clone, Serialize)]
pub enum Principal {
    /// AWS services, e.g. `ecs-tasks.amazonaws.com`.
    Service(Vec<Expr>),
    /// AWS accounts or roles.
    #[serde(rename = "AWS")]
    Aws(Vec<Expr>),
}

/// One statement of a policy.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    /// Statement id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Allow or deny.
    pub effect: Effect,
    /// Who (trust policies only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    /// The actions.
    pub action: Vec<String>,
    /// The resources (absent in trust policies).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource: Vec<Expr>,
    /// Condition operator → key → value.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub condition: IndexMap<String, IndexMap<String, Expr>>,
}

impl Statement {
    /// Allow `actions` on `resources`.
    pub fn allow(sid: &str, actions: &[&str], resources: Vec<Expr>) -> Self {
        Statement {
            sid: Some(sid.to_string()),
            effect: Effect::Allow,
            principal: None,
            action: actions.iter().map(|a| a.to_string()).collect(),
            resource: resources,
            condition: IndexMap::new(),
        }
    }

    /// Deny `actions` on `resources`.
    pub fn deny(sid: &str, actions: &[&str], resources: Vec<Expr>) -> Self {
        Statement {
            effect: Effect::Deny,
            ..Statement::allow(sid, actions, resources)
        }
    }

    /// Add a condition: `operator` on `key` against `value`.
    pub fn when(mut self, operator: &str, key: &str, value: impl Into<Expr>) -> Self {
        self.condition
            .entry(operator.to_string())
            .or_default()
            .insert(key.to_string(), value.into());
        self
    }
}

/// An IAM policy document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    /// Always `2012-10-17`.
    pub version: &'static str,
    /// The statements.
    pub statement: Vec<Statement>,
}

impl PolicyDocument {
    /// A document of `statements`.
    pub fn new(statements: Vec<Statement>) -> Self {
        PolicyDocument {
            version: "2012-10-17",
            statement: statements,
        }
    }
}

/// An inline policy of a role.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    /// Its name, unique within the role.
    pub policy_name: String,
    /// Its document.
    pub policy_document: PolicyDocument,
}

impl InlinePolicy {
    /// A named inline policy.
    pub fn new(name: &str, statements: Vec<Statement>) -> Self {
        InlinePolicy {
            policy_name: name.to_string(),
            policy_document: PolicyDocument::new(statements),
        }
    }
}

/// `AWS::IAM::Role`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    /// Who may assume the role.
    pub assume_role_policy_document: PolicyDocument,
    /// What the role is for.
    pub description: String,
    /// Managed policies attached.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub managed_policy_arns: Vec<Expr>,
    /// Always `/`.
    pub path: &'static str,
    /// Inline policies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<InlinePolicy>,
}

impl ResourceProperties for Role {
    const TYPE: &'static str = "AWS::IAM::Role";
}

impl Role {
    /// A role trusted by `trust`, with inline `policies`.
    pub fn new(description: &str, trust: PolicyDocument, policies: Vec<InlinePolicy>) -> Self {
        Role {
            assume_role_policy_document: trust,
            description: description.to_string(),
            managed_policy_arns: Vec::new(),
            path: "/",
            policies,
        }
    }
}

/// Whether a service sends `aws:SourceAccount` when it assumes a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceAccount {
    /// Require the stack's account (ECS tasks, Step Functions, EventBridge, SageMaker).
    Checked,
    /// The service sends no source account (EC2 instance profiles, Lambda), so requiring one
    /// would lock the service out.
    NotSent,
}

/// A trust policy letting `service` assume the role.
pub fn service_trust(service: &str, source: SourceAccount) -> PolicyDocument {
    let mut s = Statement::allow("TrustService", &["sts:AssumeRole"], vec![]);
    s.principal = Some(Principal::Service(vec![service.into()]));
    if source == SourceAccount::Checked {
        s = s.when(
            "StringEquals",
            "aws:SourceAccount",
            r#ref(pseudo::ACCOUNT_ID),
        );
    }
    PolicyDocument::new(vec![s])
}

/// An AWS managed policy's ARN in the stack's partition.
pub fn aws_managed(name: &str) -> Expr {
    arn(&format!("iam::aws:policy/{name}"))
}

/// The ARN of a resource in this region and account: `arn:<partition>:<service>:<region>:<account>:<rest>`.
pub fn regional_arn(service: &str, rest: &str) -> Expr {
    arn(&format!(
        "{service}:${{AWS::Region}}:${{AWS::AccountId}}:{rest}"
    ))
}

/// What a Metaflow client (a user, the notebook) needs: run flows on Batch and Step Functions and
/// read and write the datastore.
pub struct ClientAccess {
    /// The bucket's ARN.
    pub bucket_arn: Expr,
    /// The job queue's ARN.
    pub job_queue_arn: Expr,
    /// The roles a client hands to Batch, Step Functions and EventBridge.
    pub passable_roles: Vec<Expr>,
    /// The stack's encryption key ARN.
    pub key_arn: Expr,
}

impl ClientAccess {
    /// The client statements.
    pub fn statements(&self) -> Vec<Statement> {
        let mut all = self.datastore_and_batch();
        all.extend(self.scheduling_and_keys());
        all
    }

    fn datastore_and_batch(&self) -> Vec<Statement> {
        let objects = Expr::Join(String::new(), vec![self.bucket_arn.clone(), "/*".into()]);
        vec![
            Statement::allow(
                "BucketList",
                &["s3:ListBucket"],
                vec![self.bucket_arn.clone()],
            ),
            Statement::allow(
                "ObjectAccess",
                &["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                vec![objects],
            ),
            Statement::allow(
                "BatchSubmit",
                &["batch:SubmitJob"],
                vec![
                    self.job_queue_arn.clone(),
                    regional_arn("batch", "job-definition/*"),
                ],
            ),
            Statement::allow(
                "BatchJobs",
                &[
                    "batch:RegisterJobDefinition",
                    "batch:TerminateJob",
                    "batch:TagResource",
                ],
                vec![
                    regional_arn("batch", "job-definition/*"),
                    regional_arn("batch", "job/*"),
                ],
            ),
            Statement::allow(
                "BatchDescribe",
                &[
                    "batch:DescribeJobs",
                    "batch:DescribeJobDefinitions",
                    "batch:DescribeJobQueues",
                    "batch:DescribeComputeEnvironments",
                    "states:ListStateMachines",
                ],
                vec!["*".into()],
            ),
        ]
    }

    /// Step Functions, EventBridge schedules, the stack's roles, job logs and the key.
    fn scheduling_and_keys(&self) -> Vec<Statement> {
        vec![
            Statement::allow(
                "StateMachines",
                &[
                    "states:CreateStateMachine",
                    "states:DescribeStateMachine",
                    "states:UpdateStateMachine",
                    "states:DeleteStateMachine",
                    "states:StartExecution",
                    "states:ListExecutions",
                    "states:TagResource",
                ],
                vec![regional_arn("states", "stateMachine:*")],
            ),
            Statement::allow(
                "Executions",
                &[
                    "states:DescribeExecution",
                    "states:StopExecution",
                    "states:GetExecutionHistory",
                ],
                vec![regional_arn("states", "execution:*:*")],
            ),
            Statement::allow(
                "Schedules",
                &[
                    "events:PutRule",
                    "events:PutTargets",
                    "events:DisableRule",
                    "events:DescribeRule",
                ],
                vec![regional_arn("events", "rule/*")],
            ),
            Statement::allow(
                "PassStackRoles",
                &["iam:PassRole"],
                self.passable_roles.clone(),
            ),
            Statement::allow(
                "JobLogs",
                &["logs:GetLogEvents"],
                vec![regional_arn(
                    "logs",
                    "log-group:/aws/batch/job:log-stream:*",
                )],
            ),
            Statement::allow(
                "StackKey",
                &["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                vec![self.key_arn.clone()],
            ),
        ]
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ManagedPolicyProps {
    description: &'static str,
    policy_document: PolicyDocument,
}
impl ResourceProperties for ManagedPolicyProps {
    const TYPE: &'static str = "AWS::IAM::ManagedPolicy";
}

/// Add the client policy once; the roles that need it attach it by the returned ARN.
pub fn add_client_policy(t: &mut Template, access: &ClientAccess) -> Result<Expr, TemplateError> {
    t.add(
        CLIENT_POLICY,
        &ManagedPolicyProps {
            description: "What a Metaflow client of this stack needs: its bucket, Batch queue, Step Functions and key",
            policy_document: PolicyDocument::new(access.statements()),
        },
    )?;
    Ok(r#ref(CLIENT_POLICY))
}

/// Add the optional restricted user role.
///
/// The reference trusted the metadata service's task role, so every user had to edit the trust
/// policy by hand. This one trusts the account: any principal whose own IAM policy allows
/// `sts:AssumeRole` on it may assume it, and nothing else can.
pub fn add_user_role(
    t: &mut Template,
    _p: &StackParams,
    client_policy: &Expr,
) -> Result<(), TemplateError> {
    let mut trust = Statement::allow("TrustAccount", &["sts:AssumeRole"], vec![]);
    trust.principal = Some(Principal::Aws(vec![arn("iam::${AWS::AccountId}:root")]));
    let statements = vec![
        Statement::allow(
            "ReadStack",
            &["cloudformation:DescribeStacks"],
            vec![r#ref(pseudo::STACK_ID)],
        ),
        Statement::allow(
            "Notebook",
            &[
                "sagemaker:DescribeNotebookInstance",
                "sagemaker:StartNotebookInstance",
                "sagemaker:StopNotebookInstance",
                "sagemaker:CreatePresignedNotebookInstanceUrl",
            ],
            vec![regional_arn(
                "sagemaker",
                "notebook-instance/${AWS::StackName}-*",
            )],
        ),
    ];
    let mut role = Role::new(
        "Restricted role for Metaflow users of this stack",
        PolicyDocument::new(vec![trust]),
        vec![InlinePolicy::new("Metaflow-Policy", statements)],
    );
    role.managed_policy_arns = vec![client_policy.clone()];
    t.add(METAFLOW_USER_ROLE, &role)?
        .condition(COND_ENABLE_ROLE);
    t.add_output(
        OUT_USER_ROLE_ARN,
        "IAM role for Metaflow users to assume (no config key; use it in an AWS CLI profile)",
        get_att(METAFLOW_USER_ROLE, "Arn"),
        Some(COND_ENABLE_ROLE),
    )?;
    Ok(())
}

/// `sub` for a log group ARN in this region and account.
pub fn log_group_arn(name_sub: &str) -> Expr {
    sub(&format!(
        "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{name_sub}"
    ))
}
