//! The optional SageMaker notebook, configured for Metaflow on every start.

use indexmap::IndexMap;
use serde::Serialize;

use super::iam::{
    InlinePolicy, Role, SourceAccount, Statement, log_group_arn, regional_arn, service_trust,
};
use super::network::{Network, SecurityGroup};
use super::storage::Storage;
use super::storage::kms::KMS_KEY;
use super::storage::secrets::{GenerateSecretString, Secret};
use crate::TemplateError;
use crate::intrinsics::{Expr, base64, get_att, if_, no_value, r#ref, sub, sub_with};
use crate::params::{COND_ENABLE_SAGEMAKER, COND_NEW_STACK, SAGEMAKER_INSTANCE, StackParams};
use crate::pins::PINS;
use crate::template::{ResourceProperties, Template};

/// The notebook's security group (reference id).
pub const SECURITY_GROUP: &str = "SagemakerSecurityGroup";
/// The notebook's role (reference id).
pub const ROLE: &str = "SageMakerExecutionRole";
/// The lifecycle configuration (reference id).
pub const LIFECYCLE: &str = "BasicNotebookInstanceLifecycleConfig";
/// The notebook (reference id).
pub const NOTEBOOK: &str = "SageMakerNotebookInstance";
/// Random suffix of the notebook's name (reference id; a new value would rename the notebook).
pub const RANDOM_STRING: &str = "RandomString";
/// Output (reference name): the notebook's URL.
pub const OUT_NOTEBOOK_URL: &str = "SageMakerNoteBookURL";

/// Values the notebook's Metaflow config holds, as `Fn::Sub` expressions.
pub struct NotebookConfig {
    /// `METAFLOW_*` key → value.
    pub values: Vec<(&'static str, Expr)>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LifecycleProps {
    on_start: Vec<Hook>,
}
impl ResourceProperties for LifecycleProps {
    const TYPE: &'static str = "AWS::SageMaker::NotebookInstanceLifecycleConfig";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Hook {
    content: Expr,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct NotebookProps {
    direct_internet_access: Expr,
    instance_metadata_service_configuration: Imds,
    instance_type: Expr,
    kms_key_id: Expr,
    lifecycle_config_name: Expr,
    notebook_instance_name: Expr,
    platform_identifier: Expr,
    role_arn: Expr,
    security_group_ids: Vec<Expr>,
    subnet_id: Expr,
}
impl ResourceProperties for NotebookProps {
    const TYPE: &'static str = "AWS::SageMaker::NotebookInstance";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Imds {
    minimum_instance_metadata_service_version: &'static str,
}

/// The start script: write `~/.metaflowconfig/config.json` for `ec2-user`.
///
/// Only `~/SageMaker` survives a stop, so the file is written on every start; Metaflow reads it in
/// each new kernel, so no Jupyter restart (and no `initctl`, gone since Amazon Linux 2) is needed.
fn start_script(config: &NotebookConfig) -> Result<Expr, TemplateError> {
    let mut placeholders = IndexMap::new();
    let mut vars = Vec::new();
    for (i, (key, value)) in config.values.iter().enumerate() {
        let var = format!("V{i}");
        placeholders.insert(*key, format!("${{{var}}}"));
        vars.push((var, value.clone()));
    }
    let json = serde_json::to_string_pretty(&placeholders)?;
    let script = format!(
        "#!/bin/bash\nset -euo pipefail\nmkdir -p /home/ec2-user/.metaflowconfig\ncat > /home/ec2-user/.metaflowconfig/config.json <<'EOF'\n{json}\nEOF\nchown -R ec2-user:ec2-user /home/ec2-user/.metaflowconfig\n"
    );
    let vars: Vec<(&str, Expr)> = vars.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    Ok(base64(sub_with(&script, &vars)))
}

/// Add the notebook, its role, lifecycle script and name suffix.
pub fn add(
    t: &mut Template,
    _p: &StackParams,
    net: &Network,
    storage: &Storage,
    client_policy: &Expr,
    config: &NotebookConfig,
) -> Result<(), TemplateError> {
    let c = COND_ENABLE_SAGEMAKER;
    t.add(
        RANDOM_STRING,
        &Secret {
            description: "Random String".to_string(),
            generate_secret_string: GenerateSecretString {
                exclude_characters: "\"@/\\".to_string(),
                exclude_punctuation: Some(true),
                generate_string_key: "password".to_string(),
                password_length: 8,
                secret_string_template: r#"{"username": "admin"}"#.to_string(),
            },
            kms_key_id: r#ref(KMS_KEY),
        },
    )?;

    // No inbound rule: the notebook is reached through SageMaker's presigned URL, not the VPC.
    t.add(
        SECURITY_GROUP,
        &SecurityGroup::new("Security Group for Sagemaker", net.vpc_id.clone()),
    )?
    .condition(c);

    t.add(ROLE, &role(client_policy))?.condition(c);

    t.add(
        LIFECYCLE,
        &LifecycleProps {
            on_start: vec![Hook {
                content: start_script(config)?,
            }],
        },
    )?
    .condition(c);

    t.add(
        NOTEBOOK,
        &NotebookProps {
            // Create-only properties the reference never set: on an adopted stack, adding them
            // would replace the notebook, which its fixed name forbids (the update would fail).
            direct_internet_access: new_stacks_only("Enabled".into()),
            instance_metadata_service_configuration: Imds {
                minimum_instance_metadata_service_version: "2",
            },
            instance_type: r#ref(SAGEMAKER_INSTANCE),
            kms_key_id: new_stacks_only(storage.key_arn.clone()),
            lifecycle_config_name: get_att(LIFECYCLE, "NotebookInstanceLifecycleConfigName"),
            notebook_instance_name: sub(&format!(
                "${{AWS::StackName}}-NotebookInstance-{{{{resolve:secretsmanager:${{{RANDOM_STRING}}}:SecretString:password}}}}"
            )),
            platform_identifier: new_stacks_only(PINS.notebook_platform.into()),
            role_arn: get_att(ROLE, "Arn"),
            security_group_ids: vec![r#ref(SECURITY_GROUP)],
            subnet_id: net.subnets[0].clone(),
        },
    )?
    .condition(c);

    t.add_output(
        OUT_NOTEBOOK_URL,
        "URL of the SageMaker notebook (no config key; the notebook is configured by itself)",
        sub(&format!(
            "https://${{{NOTEBOOK}.NotebookInstanceName}}.notebook.${{AWS::Region}}.sagemaker.aws/tree"
        )),
        Some(c),
    )?;
    Ok(())
}

fn new_stacks_only(value: Expr) -> Expr {
    if_(COND_NEW_STACK, value, no_value())
}

/// The notebook's role: a Metaflow client, plus its own notebook instance and logs.
fn role(client_policy: &Expr) -> Role {
    let statements = vec![
        Statement::allow(
            "SageMakerNotebook",
            &[
                "sagemaker:DescribeNotebookInstance",
                "sagemaker:StartNotebookInstance",
                "sagemaker:StopNotebookInstance",
                "sagemaker:UpdateNotebookInstance",
                "sagemaker:CreatePresignedNotebookInstanceUrl",
            ],
            vec![regional_arn(
                "sagemaker",
                "notebook-instance/${AWS::StackName}*",
            )],
        ),
        Statement::allow(
            "NotebookLogs",
            &["logs:CreateLogStream", "logs:PutLogEvents"],
            vec![log_group_arn("/aws/sagemaker/NotebookInstances:*")],
        ),
    ];
    let mut role = Role::new(
        "Role of the SageMaker notebook, a Metaflow client of this stack",
        service_trust("sagemaker.amazonaws.com", SourceAccount::Checked),
        vec![InlinePolicy::new("Notebook", statements)],
    );
    role.managed_policy_arns = vec![client_policy.clone()];
    role
}
