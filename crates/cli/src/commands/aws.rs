//! What every stack command shares: the AWS flags and the one place deployer errors get their hints.

use mfstack_deployer::{Aws, AwsOptions, Error};

use crate::hint::WithHint;

/// AWS connection flags. Anything left out resolves the standard AWS way (environment, profile,
/// SSO, instance role).
#[derive(Debug, Clone, clap::Args)]
pub struct AwsArgs {
    /// Named AWS profile from ~/.aws/config (default: AWS_PROFILE, then "default").
    #[arg(long = "aws-profile", global = true)]
    pub aws_profile: Option<String>,
    /// AWS region (default: AWS_REGION, then the profile's region).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint instead, e.g. a local moto_server.
    #[arg(long, env = "MFSTACK_AWS_ENDPOINT_URL", global = true)]
    pub endpoint_url: Option<String>,
}

impl AwsArgs {
    /// Load the SDK configuration.
    pub async fn load(&self) -> anyhow::Result<Aws> {
        Aws::load(AwsOptions {
            profile: self.aws_profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            credentials: None,
        })
        .await
        .map_err(|e| explain(e, self))
    }
}

/// Turn a deployer error into one line plus a hint saying what to do.
pub fn explain(err: Error, aws: &AwsArgs) -> anyhow::Error {
    let profile = aws
        .aws_profile
        .as_deref()
        .map(|p| format!(" --profile {p}"))
        .unwrap_or_default();
    let hint = match &err {
        Error::NoRegion => {
            "pass --region, set AWS_REGION, or add `region = ...` to your AWS profile".to_string()
        }
        Error::NoCredentials(_) => {
            format!(
                "run `aws configure{profile}` (or `aws sso login{profile}`), or pass --aws-profile with another name"
            )
        }
        Error::ExpiredCredentials(_) => {
            format!("refresh the session (`aws sso login{profile}`) and retry")
        }
        Error::AccessDenied { operation, .. } => format!(
            "your AWS identity needs permission for {operation}; use --aws-profile with a role that has it, or ask an administrator"
        ),
        Error::StackBusy { stack, .. } => {
            format!(
                "wait for the running operation to finish (`mfstack status --stack-name {stack}`), then retry"
            )
        }
        Error::StackStuck { stack, status } if status == "ROLLBACK_COMPLETE" => format!(
            "its first create failed; rerun deploy and accept the recreate, or `mfstack destroy --stack-name {stack}`"
        ),
        Error::StackStuck { .. } => {
            "resolve it in the CloudFormation console (e.g. continue update rollback), then retry"
                .to_string()
        }
        Error::StackNotFound(_) => {
            "check --stack-name and --region (`mfstack status` shows what exists)".to_string()
        }
        Error::TemplateRejected(_) => {
            "check the --param values; the message above names what CloudFormation refused"
                .to_string()
        }
        Error::DeployFailed { .. } => "fix the causes listed above, then deploy again".to_string(),
        Error::MissingOutput { .. } => {
            "the stack was deployed without that feature; `mfstack outputs` lists what it has"
                .to_string()
        }
        Error::Migration(_) => {
            "the function's log group /aws/lambda/<function> in CloudWatch has details".to_string()
        }
        Error::Io { .. } | Error::Aws { .. } => return anyhow::Error::new(err),
    };
    Err::<(), _>(err).hint(hint).unwrap_err()
}
