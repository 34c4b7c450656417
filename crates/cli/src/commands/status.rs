//! `mfstack status`: where the stack stands.

use std::process::ExitCode;

use mfstack_deployer::operate;

use super::aws::{AwsArgs, explain};
use super::progress::causes;

/// Arguments of `mfstack status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// CloudFormation stack name.
    #[arg(long)]
    pub stack_name: String,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Print status, reason, last change and failed resources; exit 1 when the stack does not exist.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let aws = args.aws.load().await?;
    let Some(s) = operate::status(&aws, &args.stack_name)
        .await
        .map_err(|e| explain(e, &args.aws))?
    else {
        println!(
            "Stack {} does not exist in {}.",
            args.stack_name,
            aws.region()
        );
        return Ok(ExitCode::FAILURE);
    };
    println!("Stack:    {} ({})", args.stack_name, aws.region());
    println!("Status:   {}", s.status);
    if let Some(r) = &s.reason {
        println!("Reason:   {r}");
    }
    if let Some(t) = &s.updated {
        println!("Changed:  {t}");
    }
    println!("Outputs:  {}", s.outputs);
    if !s.failed.is_empty() {
        println!("{}", causes(&s.failed));
    }
    Ok(ExitCode::SUCCESS)
}
