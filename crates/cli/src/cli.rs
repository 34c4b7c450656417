//! The command line: one `Command` variant per subcommand, its arguments in `commands/<name>.rs`,
//! and the value parsers every command shares.

use clap::{Parser, Subcommand};

use crate::commands;
use crate::secret::Secret;

/// Metaflow's cloud stack: the metadata service Metaflow talks to, run on this machine or deployed
/// to your AWS account with S3, Batch, Step Functions and the Metaflow UI.
///
/// Start with `mfstack up`: it runs the service here over SQLite and writes a Metaflow profile, so
/// `export METAFLOW_PROFILE=mfstack` and `python flow.py run` work at once. When you want the
/// stack in AWS, `mfstack deploy --stack-name NAME` creates it and writes the profile for it.
#[derive(Debug, Parser)]
#[command(name = "mfstack", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the metadata service and its migration endpoints.
    Serve(commands::serve::Args),
    /// Start the local stack and point Metaflow at it.
    Up(commands::up::Args),
    /// Run a command against a local service, starting one if none runs.
    Run(commands::run::Args),
    /// Show or upgrade the database schema.
    Migrate(commands::migrate::Args),
    #[cfg(feature = "deploy")]
    /// Build, package and deploy the stack to AWS, then write the Metaflow profile.
    Deploy(commands::deploy::Args),
    #[cfg(feature = "deploy")]
    /// Write the Metaflow profile (config JSON) for a deployed stack.
    Configure(commands::configure::Args),
    #[cfg(feature = "deploy")]
    /// Show the stack's outputs and the Metaflow config key each feeds.
    Outputs(commands::outputs::Args),
    #[cfg(feature = "deploy")]
    /// Show the metadata service's API key (the value only with --show).
    ApiKey(commands::api_key::Args),
    #[cfg(feature = "deploy")]
    /// Let more IAM principals assume the stack's Metaflow user role.
    Trust(commands::trust::Args),
    #[cfg(feature = "deploy")]
    /// Delete the stack, showing what is deleted and what is retained.
    Destroy(commands::destroy::Args),
    #[cfg(feature = "deploy")]
    /// Encrypt the stack's unencrypted database: snapshot, encrypted copy, restore, switch.
    EncryptDatabase(commands::encrypt_database::Args),
    #[cfg(feature = "deploy")]
    /// Show where the stack stands.
    Status(commands::status::Args),
    /// Write the CloudFormation templates (root and UI nested stack).
    Template(commands::template::Args),
}

/// The one reading of an on/off setting, flag or environment variable alike. The reference
/// service's variables are set as `1`/`0` or `true`/`false`; anything unrecognised is refused
/// rather than read as off, since a silently ignored switch is how `PATCH /upgrade` stayed on.
pub fn parse_switch(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("expected one of 1, true, yes, on (on) or 0, false, no, off (off)".to_string()),
    }
}

/// An API key, refused when empty: an empty key would turn authentication off without a word.
pub fn parse_api_key(s: &str) -> Result<Secret, String> {
    if s.trim().is_empty() {
        return Err(
            "the API key is empty, which would leave every route open: pass a non-empty \
                    key, or unset MFSTACK_API_KEY and drop --api-key to run without one"
                .to_string(),
        );
    }
    Ok(Secret::new(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_accept_the_usual_spellings_in_any_case() {
        for on in ["1", "true", "TRUE", "Yes", "on", " On "] {
            assert_eq!(parse_switch(on), Ok(true), "{on}");
        }
        for off in ["0", "false", "False", "no", "OFF"] {
            assert_eq!(parse_switch(off), Ok(false), "{off}");
        }
        for bad in ["", "2", "maybe", "enabled"] {
            let err = parse_switch(bad).unwrap_err();
            assert!(err.contains("0, false, no, off"), "{bad}: {err}");
        }
    }

    #[test]
    fn empty_api_keys_are_refused() {
        assert!(parse_api_key("").is_err());
        assert!(parse_api_key("  ").is_err());
        assert_eq!(parse_api_key("k").unwrap().expose(), "k");
    }

    #[test]
    fn serve_reads_switch_values_from_flags() {
        let cli = Cli::try_parse_from(["mfstack", "serve", "--migration-endpoints", "false"]);
        match cli.unwrap().command {
            Command::Serve(args) => assert!(!args.migration_endpoints),
            other => panic!("{other:?}"),
        }
        assert!(
            Cli::try_parse_from(["mfstack", "serve", "--migration-endpoints", "maybe"]).is_err()
        );
    }

    #[test]
    fn debug_of_parsed_arguments_hides_keys_and_passwords() {
        let cli = Cli::try_parse_from([
            "mfstack",
            "serve",
            "--api-key",
            "k3y-value",
            "--database",
            "postgres://u:pa55@h/db",
            "--db-password",
            "pa55word",
        ])
        .unwrap();
        let shown = format!("{cli:?}");
        assert!(!shown.contains("k3y-value"), "{shown}");
        assert!(!shown.contains("pa55"), "{shown}");
    }

    #[test]
    fn clap_definitions_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
