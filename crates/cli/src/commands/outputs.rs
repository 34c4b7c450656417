//! `mfstack outputs`: the stack's outputs with the Metaflow config key each feeds.

use std::process::ExitCode;

use crate::stack::StackArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArgs,
}

/// Print `Output  Value  Config key`.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let found = args.stack.deployed().await?.outputs;
    if found.is_empty() {
        println!("Stack {} has no outputs.", args.stack.stack_name);
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
        let key = mfstack_template::config_key(&o.key).unwrap_or("-");
        println!("{:<w0$}  {:<w1$}  {key}", o.key, o.value);
    }
    Ok(ExitCode::SUCCESS)
}
