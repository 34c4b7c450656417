//! `mfstack outputs`: the stack's outputs with the Metaflow config key each feeds.

use std::process::ExitCode;

use mfstack_deployer::outputs;

use super::aws::{AwsArgs, explain};

/// Arguments of `mfstack outputs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// CloudFormation stack name.
    #[arg(long)]
    pub stack_name: String,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Print `Output  Value  Config key`.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let aws = args.aws.load().await?;
    let found = outputs::outputs(&aws, &args.stack_name)
        .await
        .map_err(|e| explain(e, &args.aws))?;
    if found.is_empty() {
        println!("Stack {} has no outputs.", args.stack_name);
        return Ok(ExitCode::SUCCESS);
    }
    let w0 = found.iter().map(|o| o.key.len()).max().unwrap_or(0).max(6);
    let w1 = found
        .iter()
        .map(|o| o.value.len())
        .max()
        .unwrap_or(0)
        .max(5);
    println!("{:<w0$}  {:<w1$}  Config key", "Output", "Value");
    for o in &found {
        println!(
            "{:<w0$}  {:<w1$}  {}",
            o.key,
            o.value,
            mfstack_template::config_key(&o.key)
                .or_else(|| outputs::config_key(o))
                .unwrap_or("-")
        );
    }
    Ok(ExitCode::SUCCESS)
}
