//! `mfstack configure`: write the Metaflow profile for a deployed stack.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use mfstack_deployer::outputs::StackOutput;
use mfstack_deployer::{Aws, operate, outputs, profile};

use super::aws::{AwsArgs, explain};
use crate::hint::hinted;

/// Output holding the API key's id (its value is fetched, never output).
const API_KEY_OUTPUT: &str = "ApiKeyId";

/// Arguments of `mfstack configure`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// CloudFormation stack name.
    #[arg(long)]
    pub stack_name: String,
    #[command(flatten)]
    pub profile: ProfileArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Which Metaflow profile to write.
#[derive(Debug, Clone, clap::Args)]
pub struct ProfileArgs {
    /// Metaflow profile name: writes config_<PROFILE>.json (default: the stack name).
    #[arg(long = "profile")]
    pub name: Option<String>,
    /// Write config.json, the profile Metaflow uses when METAFLOW_PROFILE is unset.
    #[arg(long, conflicts_with = "name")]
    pub default_profile: bool,
    /// Metaflow's config folder.
    #[arg(long, env = "METAFLOW_HOME")]
    pub metaflow_home: Option<PathBuf>,
}

/// Write the profile for `stack` and say how to use it.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let aws = args.aws.load().await?;
    write(&aws, &args.aws, &args.stack_name, &args.profile).await?;
    Ok(ExitCode::SUCCESS)
}

/// Shared with `deploy`, which writes the profile when it finishes.
pub async fn write(
    aws: &Aws,
    aws_args: &AwsArgs,
    stack: &str,
    which: &ProfileArgs,
) -> anyhow::Result<()> {
    let found = outputs::outputs(aws, stack)
        .await
        .map_err(|e| explain(e, aws_args))?;
    if found.is_empty() {
        return Err(hinted(
            format!("stack {stack} has no outputs yet"),
            format!(
                "wait for it to finish (`mfstack status --stack-name {stack}`), then run configure again"
            ),
        ));
    }
    let api_key = api_key(aws, aws_args, &found).await?;
    // The template's own table first; descriptions cover templates given with --template-file.
    let mut mapping: Vec<(&str, &str)> = mfstack_template::OUTPUT_CONFIG_KEYS.to_vec();
    mapping.extend(outputs::config_mapping(&found));
    let values = profile::profile_values(&found, &mapping, api_key.as_deref());
    let home = which
        .metaflow_home
        .clone()
        .or_else(profile::metaflow_home)
        .ok_or_else(|| {
            hinted(
                "cannot find Metaflow's config folder",
                "set METAFLOW_HOME or HOME",
            )
        })?;
    let name = if which.default_profile {
        None
    } else {
        Some(which.name.as_deref().unwrap_or(stack))
    };
    let path = profile::profile_path(&home, name);
    let written = profile::write_profile(&path, &values).map_err(|e| explain(e, aws_args))?;
    if let Some(b) = &written.backup {
        println!("Backed up the previous profile to {}", b.display());
    }
    println!(
        "Wrote {} ({} keys, mode 0600)",
        written.path.display(),
        values.len()
    );
    match name {
        Some(p) => println!("Use it with:  export METAFLOW_PROFILE={p}"),
        None => println!("Metaflow uses it by default (when METAFLOW_PROFILE is unset)."),
    }
    Ok(())
}

/// The API key value when the stack has a key, read from API Gateway.
async fn api_key(
    aws: &Aws,
    aws_args: &AwsArgs,
    found: &[StackOutput],
) -> anyhow::Result<Option<String>> {
    let Some(id) = found
        .iter()
        .find(|o| o.key == API_KEY_OUTPUT)
        .map(|o| o.value.as_str())
    else {
        return Ok(None);
    };
    let value = operate::api_key_value(aws, id)
        .await
        .map_err(|e| explain(e, aws_args))
        .with_context(|| format!("reading the value of API key {id}"))?;
    Ok(Some(value))
}

/// The output holding the API key id, for `api-key`.
pub fn api_key_output() -> &'static str {
    API_KEY_OUTPUT
}
