//! `mfstack trust`: let more principals assume the stack's Metaflow user role.

use std::process::ExitCode;

use mfstack_deployer::trust;
use mfstack_template::components::iam::OUT_USER_ROLE_ARN;

use crate::stack::StackArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArgs,
    /// IAM user or role ARN, or an account id, allowed to assume the role. Repeat for several.
    #[arg(long = "principal", required = true)]
    pub principals: Vec<String>,
}

/// Add the principals to the role's trust policy.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let stack = args.stack.deployed().await?;
    let role = stack.require(OUT_USER_ROLE_ARN)?;
    let change = trust::add_trusted_principals(&stack.aws, role, &args.principals)
        .await
        .map_err(|e| stack.explain(e))?;
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
