//! What every command on a deployed stack shares: the stack and AWS flags, reading its outputs,
//! and the one place deployer errors get their hints.

use mfstack_deployer::image::REGISTRY_ENV;
use mfstack_deployer::outputs::{self, StackOutput};
use mfstack_deployer::{Aws, AwsOptions, Error};

use crate::hint::WithHint;

/// The stack a command works on, and how to reach AWS.
#[derive(Debug, Clone, clap::Args)]
pub struct StackArgs {
    /// CloudFormation stack name.
    #[arg(long)]
    pub stack_name: String,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// A deployed stack and the outputs it reported.
pub struct Deployed {
    pub aws: Aws,
    pub stack: StackArgs,
    pub outputs: Vec<StackOutput>,
}

impl StackArgs {
    pub async fn connect(&self) -> anyhow::Result<Aws> {
        self.aws.load().await
    }

    /// Connect and read the stack's outputs, whatever its status.
    pub async fn deployed(&self) -> anyhow::Result<Deployed> {
        let aws = self.connect().await?;
        let outputs = outputs::outputs(&aws, &self.stack_name)
            .await
            .map_err(|e| self.explain(e))?;
        Ok(Deployed {
            aws,
            stack: self.clone(),
            outputs,
        })
    }

    pub fn explain(&self, err: Error) -> anyhow::Error {
        explain(err, &self.aws)
    }
}

impl Deployed {
    /// The value of output `key`, or an error saying the stack lacks it.
    pub fn require(&self, key: &str) -> anyhow::Result<&str> {
        outputs::require(&self.outputs, &self.stack.stack_name, key).map_err(|e| self.explain(e))
    }

    pub fn explain(&self, err: Error) -> anyhow::Error {
        self.stack.explain(err)
    }
}

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
        Error::NotSettled { stack, .. } => format!(
            "wait until `mfstack status --stack-name {stack}` shows CREATE_COMPLETE or UPDATE_COMPLETE \
             (deploy again if it failed), then run `mfstack configure --stack-name {stack}`"
        ),
        Error::MissingOutput { .. } => {
            "the stack was deployed without that feature; `mfstack outputs` lists what it has"
                .to_string()
        }
        Error::WouldDestroyData { .. } => "nothing was changed. If losing it is intended (after a \
             backup), deploy again with --allow-data-replacement"
            .to_string(),
        Error::Migration(_) => {
            "the function's log group /aws/lambda/<function> in CloudWatch has details".to_string()
        }
        Error::NoServiceImage(_) => "pass --service-image URI (an image built from the Dockerfile \
             and pushed) or --service-image reference (upstream's Python image)"
            .to_string(),
        Error::Registry { .. } => format!(
            "the image goes to the ECR repository by the registry API: your AWS identity needs \
             ecr:GetAuthorizationToken and ECR's push actions, and the registry must be reachable \
             ({REGISTRY_ENV} overrides where registry calls go); or pass --service-image"
        ),
        Error::Io { .. } | Error::Aws { .. } => return anyhow::Error::new(err),
    };
    Err::<(), _>(err).hint(hint).unwrap_err()
}
