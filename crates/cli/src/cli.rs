//! The command line: one `Command` variant per subcommand, its arguments in `commands/<name>.rs`.

use clap::{Parser, Subcommand};

use crate::commands;

/// Metaflow's cloud stack: the metadata service, its AWS deployment, and a local mode.
#[derive(Debug, Parser)]
#[command(name = "mfstack", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand of `mfstack`.
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
    /// Show where the stack stands.
    Status(commands::status::Args),
    /// Write the CloudFormation templates (root and UI nested stack).
    Template(commands::template::Args),
}
