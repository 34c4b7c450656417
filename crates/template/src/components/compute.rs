//! AWS Batch: the compute environment (EC2 or Fargate), the job queue, and the roles jobs run with.

use serde::Serialize;

use super::iam::{
    InlinePolicy, Role, SourceAccount, Statement, aws_managed, log_group_arn, regional_arn,
    service_trust,
};
use super::network::{Network, SecurityGroup};
use super::scheduling::state_table_statements;
use super::storage::Storage;
use crate::TemplateError;
use crate::intrinsics::{Expr, get_att, if_, no_value, r#ref, sub};
use crate::params::{
    ADDITIONAL_WORKER_POLICY_ARN, COMPUTE_ENV_INSTANCE_TYPES, COND_ADDITIONAL_WORKER_POLICY,
    COND_FARGATE, DESIRED_VCPU_BATCH, MAX_VCPU_BATCH, MIN_VCPU_BATCH, StackParams,
};
use crate::pins::PINS;
use crate::template::{ResourceProperties, Template};

/// EC2 role of Batch container instances (reference id).
pub const INSTANCE_ROLE: &str = "ECSInstanceRole";
/// Its instance profile (reference id).
pub const INSTANCE_PROFILE: &str = "ECSInstanceProfile";
/// The role Metaflow's Batch jobs run with (reference id).
pub const JOB_ROLE: &str = "BatchS3TaskRole";
/// Security group of Batch instances and Fargate jobs; no inbound rules.
pub const BATCH_SECURITY_GROUP: &str = "BatchSecurityGroup";
/// The compute environment (reference id).
pub const COMPUTE_ENVIRONMENT: &str = "ComputeEnvironment";
/// The job queue (reference id).
pub const JOB_QUEUE: &str = "JobQueue";
/// Output: the queue's ARN (reference name); the setting it feeds is in [`crate::config_keys`].
pub const OUT_JOB_QUEUE: &str = "BatchJobQueueArn";
/// Output: the job role's ARN (reference name); the setting it feeds is in [`crate::config_keys`].
pub const OUT_JOB_ROLE: &str = "ECSJobRoleForBatchJobs";

/// What later components need from compute.
#[derive(Debug, Clone)]
pub struct Compute {
    /// The job queue's ARN.
    pub job_queue_arn: Expr,
    /// The job role's ARN.
    pub job_role_arn: Expr,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceProfileProps {
    path: &'static str,
    roles: Vec<Expr>,
}
impl ResourceProperties for InstanceProfileProps {
    const TYPE: &'static str = "AWS::IAM::InstanceProfile";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ComputeEnvironmentProps {
    compute_resources: ComputeResources,
    state: &'static str,
    #[serde(rename = "Type")]
    kind: &'static str,
}
impl ResourceProperties for ComputeEnvironmentProps {
    const TYPE: &'static str = "AWS::Batch::ComputeEnvironment";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ComputeResources {
    allocation_strategy: Expr,
    desiredv_cpus: Expr,
    ec2_configuration: Expr,
    instance_role: Expr,
    instance_types: Expr,
    maxv_cpus: Expr,
    minv_cpus: Expr,
    security_group_ids: Vec<Expr>,
    subnets: Vec<Expr>,
    #[serde(rename = "Type")]
    kind: Expr,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Ec2Configuration {
    image_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct JobQueueProps {
    compute_environment_order: Vec<EnvironmentOrder>,
    job_queue_name: Expr,
    priority: i64,
    state: &'static str,
}
impl ResourceProperties for JobQueueProps {
    const TYPE: &'static str = "AWS::Batch::JobQueue";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EnvironmentOrder {
    compute_environment: Expr,
    order: i64,
}

/// Add the job role, the compute environment and the queue.
///
/// The compute environment names no service role, so Batch uses its service-linked role
/// `AWSServiceRoleForBatch` instead of the reference's hand-copied one.
pub fn add(
    t: &mut Template,
    _p: &StackParams,
    net: &Network,
    storage: &Storage,
    table_arn: &Expr,
) -> Result<Compute, TemplateError> {
    add_instance_role(t)?;
    t.add(JOB_ROLE, &job_role(storage, table_arn))?;

    t.add(
        BATCH_SECURITY_GROUP,
        &SecurityGroup::new(
            "Batch instances and Fargate jobs - outbound only",
            net.vpc_id.clone(),
        ),
    )?;

    let f = COND_FARGATE;
    t.add(
        COMPUTE_ENVIRONMENT,
        &ComputeEnvironmentProps {
            compute_resources: ComputeResources {
                allocation_strategy: if_(f, no_value(), "BEST_FIT_PROGRESSIVE"),
                desiredv_cpus: if_(f, no_value(), r#ref(DESIRED_VCPU_BATCH)),
                ec2_configuration: if_(
                    f,
                    no_value(),
                    Expr::of(&vec![Ec2Configuration {
                        image_type: PINS.batch_image_type,
                    }]),
                ),
                instance_role: if_(f, no_value(), get_att(INSTANCE_PROFILE, "Arn")),
                instance_types: if_(f, no_value(), r#ref(COMPUTE_ENV_INSTANCE_TYPES)),
                maxv_cpus: r#ref(MAX_VCPU_BATCH),
                minv_cpus: if_(f, no_value(), r#ref(MIN_VCPU_BATCH)),
                security_group_ids: vec![r#ref(BATCH_SECURITY_GROUP)],
                subnets: net.subnets.clone(),
                kind: if_(f, "FARGATE", "EC2"),
            },
            state: "ENABLED",
            kind: "MANAGED",
        },
    )?;
    t.add(
        JOB_QUEUE,
        &JobQueueProps {
            compute_environment_order: vec![EnvironmentOrder {
                compute_environment: r#ref(COMPUTE_ENVIRONMENT),
                order: 1,
            }],
            job_queue_name: sub("job-queue-${AWS::StackName}"),
            priority: 1,
            state: "ENABLED",
        },
    )?;

    t.add_output(
        OUT_JOB_QUEUE,
        "AWS Batch job queue ARN for Metaflow",
        r#ref(JOB_QUEUE),
        None,
    )?;
    t.add_output(
        OUT_JOB_ROLE,
        "Role Batch jobs run with to access Amazon S3",
        get_att(JOB_ROLE, "Arn"),
        None,
    )?;
    Ok(Compute {
        job_queue_arn: r#ref(JOB_QUEUE),
        job_role_arn: get_att(JOB_ROLE, "Arn"),
    })
}

/// The datastore, read and written through signed headers only.
fn datastore_policy(bucket: &Expr) -> InlinePolicy {
    let objects = Expr::Join(String::new(), vec![bucket.clone(), "/*".into()]);
    InlinePolicy::new(
        "Datastore",
        vec![
            Statement::allow(
                "BucketAccessBatch",
                &["s3:ListBucket"],
                vec![bucket.clone()],
            ),
            Statement::allow(
                "ObjectAccessBatch",
                &["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
                vec![objects],
            ),
            // Jobs read through signed headers only, so a leaked presigned URL is useless.
            Statement::deny("DenyPresignedBatch", &["s3:*"], vec!["*".into()]).when(
                "StringNotEquals",
                "s3:authType",
                "REST-HEADER",
            ),
        ],
    )
}

/// Training jobs and endpoints that flows start from a step.
fn sagemaker_policy() -> InlinePolicy {
    InlinePolicy::new(
        "AllowSagemaker",
        vec![
            Statement::allow(
                "AllowSagemakerJobs",
                &[
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:CreateModel",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:CreateEndpoint",
                    "sagemaker:DescribeModel",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:InvokeEndpoint",
                ],
                vec![
                    regional_arn("sagemaker", "training-job/*"),
                    regional_arn("sagemaker", "model/*"),
                    regional_arn("sagemaker", "endpoint/*"),
                    regional_arn("sagemaker", "endpoint-config/*"),
                ],
            ),
            Statement::allow(
                "AllowPassRole",
                &["iam:PassRole"],
                vec![sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*")],
            )
            .when(
                "StringEquals",
                "iam:PassedToService",
                "sagemaker.amazonaws.com",
            ),
        ],
    )
}

/// The role Metaflow's Batch jobs run with.
fn job_role(storage: &Storage, table_arn: &Expr) -> Role {
    let mut job_role = Role::new(
        "Role of Metaflow's Batch jobs: the datastore, step-functions state, and SageMaker models",
        service_trust("ecs-tasks.amazonaws.com", SourceAccount::Checked),
        vec![
            datastore_policy(&storage.bucket_arn),
            InlinePolicy::new(
                "StepFunctionsState",
                state_table_statements(table_arn, &storage.key_arn),
            ),
            InlinePolicy::new(
                "Logs",
                vec![Statement::allow(
                    "JobLogs",
                    &["logs:CreateLogStream", "logs:PutLogEvents"],
                    vec![log_group_arn("/aws/batch/job:*")],
                )],
            ),
            sagemaker_policy(),
        ],
    );
    job_role.managed_policy_arns = vec![if_(
        COND_ADDITIONAL_WORKER_POLICY,
        r#ref(ADDITIONAL_WORKER_POLICY_ARN),
        no_value(),
    )];
    job_role
}

/// The role Batch's EC2 container instances run with, and its instance profile.
fn add_instance_role(t: &mut Template) -> Result<(), TemplateError> {
    let mut instance_role = Role::new(
        "EC2 role of the Batch container instances",
        service_trust("ec2.amazonaws.com", SourceAccount::NotSent),
        vec![],
    );
    instance_role.managed_policy_arns = vec![aws_managed(
        "service-role/AmazonEC2ContainerServiceforEC2Role",
    )];
    t.add(INSTANCE_ROLE, &instance_role)?;
    t.add(
        INSTANCE_PROFILE,
        &InstanceProfileProps {
            path: "/",
            roles: vec![r#ref(INSTANCE_ROLE)],
        },
    )?;
    Ok(())
}
