//! `mfstack api-key`: the metadata service's API key, shown only when asked.

use std::process::ExitCode;

use mfstack_deployer::api_key;
use mfstack_template::components::api_gateway::OUT_API_KEY_ID;

use crate::secret::Secret;
use crate::stack::StackArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Print the key's value (it is a credential: mind your terminal history and logs).
    #[arg(long)]
    pub show: bool,
}

/// Print the key id, and the value with `--show`.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let stack = args.stack.deployed().await?;
    let id = stack.require(OUT_API_KEY_ID)?;
    let value = api_key::value(&stack.aws, id)
        .await
        .map(Secret::new)
        .map_err(|e| stack.explain(e))?;
    if args.show {
        // Value alone on stdout, so `$(mfstack api-key --show ...)` works.
        println!("{}", value.expose());
    } else {
        let chars: Vec<char> = value.expose().chars().collect();
        let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
        println!("API key {id}: ****{tail} (pass --show to print the value)");
    }
    Ok(ExitCode::SUCCESS)
}
