//! `mfstack migrate --stack-name`: run the deployed stack's database migration function.

use std::process::ExitCode;

use mfstack_deployer::operate::{self, SchemaStatus};
use mfstack_deployer::outputs;

use super::aws::{AwsArgs, explain};

/// Output naming the migration function.
const FUNCTION_OUTPUT: &str = "MigrationFunctionName";

/// Arguments of the stack-side migrate.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// CloudFormation stack name.
    #[arg(long)]
    pub stack_name: String,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Invoke the function and print the schema status before and after.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let aws = args.aws.load().await?;
    let found = outputs::outputs(&aws, &args.stack_name)
        .await
        .map_err(|e| explain(e, &args.aws))?;
    let function = outputs::require(&found, &args.stack_name, FUNCTION_OUTPUT)
        .map_err(|e| explain(e, &args.aws))?;
    println!("Invoking {function}...");
    let report = operate::invoke_migration(&aws, function)
        .await
        .map_err(|e| explain(e, &args.aws))?;
    println!("Before:  {}", describe(&report.before));
    if !report.upgrade.is_empty() {
        println!("Upgrade: {}", report.upgrade.trim());
    }
    println!("After:   {}", describe(&report.after));
    Ok(if report.after.up_to_date == Some(false) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn describe(s: &SchemaStatus) -> String {
    let state = match s.up_to_date {
        Some(true) => "up to date",
        Some(false) => "behind",
        None => "unknown",
    };
    let version = s.version.as_deref().unwrap_or("?");
    if s.unapplied.is_empty() {
        format!("version {version}, {state}")
    } else {
        format!(
            "version {version}, {state}; unapplied: {}",
            s.unapplied.join(", ")
        )
    }
}
