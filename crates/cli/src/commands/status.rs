//! `mfstack status`: where the stack stands.

use std::process::ExitCode;

use mfstack_deployer::status;

use crate::drawer::causes;
use crate::stack::StackArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArgs,
}

/// Print status, reason, last change and failed resources; exit 1 when the stack does not exist.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let name = &args.stack.stack_name;
    let aws = args.stack.connect().await?;
    let Some(s) = status::status(&aws, name)
        .await
        .map_err(|e| args.stack.explain(e))?
    else {
        println!("Stack {name} does not exist in {}.", aws.region());
        return Ok(ExitCode::FAILURE);
    };
    println!("Stack:    {name} ({})", aws.region());
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
