//! The roles of the service's tasks: one ECS starts them with, one they run with. The UI's tasks
//! use the same two.

use crate::TemplateError;
use crate::components::iam::{
    InlinePolicy, Role, SourceAccount, Statement, aws_managed, regional_arn, service_trust,
};
use crate::components::storage::Storage;
use crate::intrinsics::{Expr, get_att};
use crate::params::SERVICE_IMAGE_REPOSITORY;
use crate::template::Template;

/// Role ECS uses to pull images, write logs and read the database secret (reference id).
pub const EXECUTION_ROLE: &str = "ECSTaskExecutionRole";
/// Role the service containers run with (reference id).
pub const TASK_ROLE: &str = "MetadataSvcECSTaskRole";

/// Add both roles; returns the execution role's and the task role's ARNs.
pub fn add(t: &mut Template, storage: &Storage) -> Result<(Expr, Expr), TemplateError> {
    t.add(EXECUTION_ROLE, &execution_role(storage))?;
    t.add(TASK_ROLE, &task_role(storage))?;
    Ok((get_att(EXECUTION_ROLE, "Arn"), get_att(TASK_ROLE, "Arn")))
}

/// The execution role: ECS pulls images, writes logs, and reads the database secret.
fn execution_role(storage: &Storage) -> Role {
    let mut role = Role::new(
        "Role ECS uses to start the service and UI tasks",
        service_trust("ecs-tasks.amazonaws.com", SourceAccount::Checked),
        vec![
            InlinePolicy::new(
                "DatabaseSecret",
                vec![
                    Statement::allow(
                        "ReadSecret",
                        &["secretsmanager:GetSecretValue"],
                        vec![storage.db_secret.clone()],
                    ),
                    Statement::allow(
                        "DecryptSecret",
                        &["kms:Decrypt"],
                        vec![storage.key_arn.clone()],
                    ),
                ],
            ),
            // The repository `mfstack deploy` publishes mfstack's image to. The managed policy below
            // allows pulls from any repository (for an image given by URI); this grant is the one
            // mfstack's own image needs, so it holds if that policy is ever narrowed.
            InlinePolicy::new(
                "ServiceImage",
                vec![Statement::allow(
                    "PullServiceImage",
                    &[
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                    ],
                    vec![regional_arn(
                        "ecr",
                        &format!("repository/{SERVICE_IMAGE_REPOSITORY}"),
                    )],
                )],
            ),
        ],
    );
    role.managed_policy_arns = vec![aws_managed("service-role/AmazonECSTaskExecutionRolePolicy")];
    role
}

/// The task role: read the datastore, through signed headers only.
fn task_role(storage: &Storage) -> Role {
    let bucket = storage.bucket_arn.clone();
    Role::new(
        "Role the metadata service and UI backend run with: read the datastore",
        service_trust("ecs-tasks.amazonaws.com", SourceAccount::Checked),
        vec![
            InlinePolicy::new(
                "CustomS3Batch",
                vec![
                    Statement::allow(
                        "ObjectAccessMetadataService",
                        &["s3:GetObject"],
                        vec![Expr::Join(String::new(), vec![bucket.clone(), "/*".into()])],
                    ),
                    Statement::allow(
                        "ObjectAccessMetadataServiceNonExistentKeys",
                        &["s3:ListBucket"],
                        vec![bucket],
                    ),
                ],
            ),
            InlinePolicy::new(
                "DenyPresignedBatch",
                vec![
                    Statement::deny("DenyPresignedBatch", &["s3:*"], vec!["*".into()]).when(
                        "StringNotEquals",
                        "s3:authType",
                        "REST-HEADER",
                    ),
                ],
            ),
        ],
    )
}
