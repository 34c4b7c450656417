//! `mfstack trust`: let more principals assume the stack's Metaflow user role.

use std::process::ExitCode;

use mfstack_deployer::{operate, outputs};

use super::aws::{AwsArgs, explain};

/// Output holding the custom role's ARN.
const ROLE_OUTPUT: &str = "MetaflowUserRoleArn";

/// Arguments of `mfstack trust`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// CloudFormation stack name.
    #[arg(long)]
    pub stack_name: String,
    /// IAM user or role ARN, or an account id, allowed to assume the role. Repeat for several.
    #[arg(long = "principal", required = true)]
    pub principals: Vec<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Add the principals to the role's trust policy.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let aws = args.aws.load().await?;
    let found = outputs::outputs(&aws, &args.stack_name)
        .await
        .map_err(|e| explain(e, &args.aws))?;
    let role = outputs::require(&found, &args.stack_name, ROLE_OUTPUT)
        .map_err(|e| explain(e, &args.aws))?;
    let change = operate::add_trusted_principals(&aws, role, &args.principals)
        .await
        .map_err(|e| explain(e, &args.aws))?;
    for p in &change.added {
        println!("Trusted: {p}");
    }
    for p in &change.present {
        println!("Already trusted: {p}");
    }
    println!("Role: {role}");
    println!("Principals assume it with an AWS CLI profile that sets `role_arn = {role}`.");
    Ok(ExitCode::SUCCESS)
}
