//! `mfstack api-key`: the metadata service's API key, shown only when asked.

use std::process::ExitCode;

use mfstack_deployer::{operate, outputs};

use super::aws::{AwsArgs, explain};

/// Arguments of `mfstack api-key`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// CloudFormation stack name.
    #[arg(long)]
    pub stack_name: String,
    /// Print the key's value (it is a credential: mind your terminal history and logs).
    #[arg(long)]
    pub show: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Print the key id, and the value with `--show`.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let aws = args.aws.load().await?;
    let found = outputs::outputs(&aws, &args.stack_name)
        .await
        .map_err(|e| explain(e, &args.aws))?;
    let id = outputs::require(&found, &args.stack_name, super::configure::api_key_output())
        .map_err(|e| explain(e, &args.aws))?;
    let value = operate::api_key_value(&aws, id)
        .await
        .map_err(|e| explain(e, &args.aws))?;
    if args.show {
        // Value alone on stdout, so `$(mfstack api-key --show ...)` works.
        println!("{value}");
    } else {
        let tail: String = value
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        println!("API key {id}: ****{tail} (pass --show to print the value)");
    }
    Ok(ExitCode::SUCCESS)
}
