//! One module per subcommand, each with its `Args` and an `async fn run(args)`.

pub mod migrate;
pub mod run;
pub mod serve;
pub mod up;

pub mod api_key;
mod aws;
pub mod configure;
pub mod deploy;
pub mod destroy;
pub mod outputs;
mod progress;
pub mod status;
pub mod template;
pub mod trust;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Run the chosen subcommand.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Up(args) => up::run(args).await,
        Command::Run(args) => run::run(args).await,
        Command::Migrate(args) => migrate::run(args).await,
        Command::Deploy(args) => deploy::run(args).await,
        Command::Configure(args) => configure::run(args).await,
        Command::Outputs(args) => outputs::run(args).await,
        Command::ApiKey(args) => api_key::run(args).await,
        Command::Trust(args) => trust::run(args).await,
        Command::Destroy(args) => destroy::run(args).await,
        Command::Status(args) => status::run(args).await,
        Command::Template(args) => template::run(args).await,
    }
}
