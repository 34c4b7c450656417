//! The stack's customer-managed KMS key.

use serde::Serialize;

use crate::TemplateError;
use crate::components::iam::{PolicyDocument, Principal, Statement};
use crate::intrinsics::{arn, sub};
use crate::template::{ResourceProperties, Template};

/// The stack's customer-managed key: logs, secrets, the DynamoDB table and the notebook volume.
pub const KMS_KEY: &str = "MetaflowKmsKey";

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

/// Add the key.
pub fn add(t: &mut Template) -> Result<(), TemplateError> {
    t.add(
        KMS_KEY,
        &KeyProps {
            description: "Encrypts Metaflow's logs, secrets, step-functions state and notebook volume",
            enable_key_rotation: true,
            key_policy: key_policy(),
            pending_window_in_days: 30,
        },
    )?;
    Ok(())
}
