//! `mfstack configure`: write the Metaflow profile for a deployed stack.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use mfstack_deployer::outputs::{self, StackOutput};
use mfstack_deployer::{Aws, api_key};
use mfstack_template::components::api_gateway::OUT_API_KEY_ID;
use mfstack_template::config_keys::SERVICE_AUTH_KEY;

use crate::hint::hinted;
use crate::profile::{self, Profile};
use crate::secret::Secret;
use crate::stack::StackArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub profile: ProfileArgs,
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
    /// Metaflow's config folder (default: METAFLOW_HOME, else ~/.metaflowconfig).
    #[arg(long)]
    pub metaflow_home: Option<PathBuf>,
}

/// Write the profile for the stack and say how to use it.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let aws = args.stack.connect().await?;
    write(&aws, &args.stack, &args.profile).await?;
    Ok(ExitCode::SUCCESS)
}

/// Shared with `deploy`, which writes the profile when it finishes. Writes nothing unless the
/// stack finished an operation successfully: outputs of a stack mid-create or rolled back would
/// point Metaflow at resources that are not there.
pub async fn write(aws: &Aws, stack: &StackArgs, which: &ProfileArgs) -> anyhow::Result<()> {
    let name = stack.stack_name.as_str();
    let found = outputs::settled_outputs(aws, name)
        .await
        .map_err(|e| stack.explain(e))?;
    if found.is_empty() {
        return Err(hinted(
            format!("stack {name} has no outputs"),
            format!(
                "check that it was deployed from mfstack's template (`mfstack outputs --stack-name {name}`)"
            ),
        ));
    }
    let key = match found.iter().find(|o| o.key == OUT_API_KEY_ID) {
        Some(o) => Some(
            api_key::value(aws, &o.value)
                .await
                .map(Secret::new)
                .map_err(|e| stack.explain(e))
                .with_context(|| format!("reading the value of API key {}", o.value))?,
        ),
        None => None,
    };
    let values = profile_from(&found, key.as_ref());
    let home = match &which.metaflow_home {
        Some(home) => home.clone(),
        None => profile::metaflow_home()?,
    };
    let profile_name = if which.default_profile {
        None
    } else {
        Some(which.name.as_deref().unwrap_or(name))
    };
    let written = profile::write(&profile::path(&home, profile_name), &values)?;
    if let Some(b) = &written.backup {
        println!("Backed up the previous profile to {}", b.display());
    }
    println!(
        "Wrote {} ({} keys, mode 0600)",
        written.path.display(),
        values.len()
    );
    match profile_name {
        Some(p) => println!("Use it with:  export METAFLOW_PROFILE={p}"),
        None => println!("Metaflow uses it by default (when METAFLOW_PROFILE is unset)."),
    }
    Ok(())
}

/// The profile for a deployed stack: each output the template maps to a config key, the keys no
/// output carries, and the API key's value under the key its id output maps to.
pub fn profile_from(outputs: &[StackOutput], api_key: Option<&Secret>) -> Profile {
    let mut p = Profile::default();
    for (output, key) in mfstack_template::OUTPUT_CONFIG_KEYS {
        // That output holds the key's id; the value goes in below.
        if *key == SERVICE_AUTH_KEY {
            continue;
        }
        if let Some(o) = outputs.iter().find(|o| o.key == *output)
            && !o.value.is_empty()
        {
            p.insert_first(key, &o.value);
        }
    }
    for (k, v) in mfstack_template::FIXED_CONFIG {
        p.insert(*k, *v);
    }
    if let Some(v) = api_key {
        p.insert(SERVICE_AUTH_KEY, v.expose());
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(k: &str, v: &str) -> StackOutput {
        StackOutput {
            key: k.into(),
            value: v.into(),
            description: None,
        }
    }

    #[test]
    fn profile_maps_outputs_and_adds_fixed_keys_and_the_key_value() {
        let outputs = [
            out("ServiceUrl", "https://x/api/"),
            out(OUT_API_KEY_ID, "abc123"),
            out("UIServiceCloudfrontUrl", "https://ui/"),
            out("MetaflowUserRoleArn", "arn:aws:iam::1:role/u"),
        ];
        let key = Secret::new("s3cr3t");
        let p = profile_from(&outputs, Some(&key));
        assert_eq!(p.get("METAFLOW_SERVICE_URL"), Some("https://x/api/"));
        assert_eq!(
            p.get(SERVICE_AUTH_KEY),
            Some("s3cr3t"),
            "the value, never the id"
        );
        assert_eq!(p.get("METAFLOW_UI_URL"), Some("https://ui/"));
        assert_eq!(p.get("METAFLOW_DEFAULT_DATASTORE"), Some("s3"));
        assert_eq!(p.get("METAFLOW_DEFAULT_METADATA"), Some("service"));
        assert_eq!(p.get("METAFLOW_SFN_DYNAMO_DB_TABLE"), None);
        assert_eq!(p.len(), 5, "{p:?}");
        let without = profile_from(&outputs, None);
        assert_eq!(without.get(SERVICE_AUTH_KEY), None);
    }
}
