//! One module per subcommand, each with its `Args` and an `async fn run(args)`.

#[cfg(feature = "deploy")]
pub mod api_key;
#[cfg(feature = "deploy")]
pub mod configure;
#[cfg(feature = "deploy")]
pub mod deploy;
#[cfg(feature = "deploy")]
pub mod destroy;
#[cfg(feature = "deploy")]
pub mod encrypt_database;
pub mod migrate;
#[cfg(feature = "deploy")]
pub mod outputs;
pub mod run;
pub mod serve;
#[cfg(feature = "deploy")]
pub mod status;
pub mod template;
#[cfg(feature = "deploy")]
pub mod trust;
pub mod up;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Run the chosen subcommand.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Up(args) => up::run(args).await,
        Command::Run(args) => run::run(args).await,
        Command::Migrate(args) => migrate::run(args).await,
        #[cfg(feature = "deploy")]
        Command::Deploy(args) => deploy::run(args).await,
        #[cfg(feature = "deploy")]
        Command::Configure(args) => configure::run(args).await,
        #[cfg(feature = "deploy")]
        Command::Outputs(args) => outputs::run(args).await,
        #[cfg(feature = "deploy")]
        Command::ApiKey(args) => api_key::run(args).await,
        #[cfg(feature = "deploy")]
        Command::Trust(args) => trust::run(args).await,
        #[cfg(feature = "deploy")]
        Command::Destroy(args) => destroy::run(args).await,
        #[cfg(feature = "deploy")]
        Command::EncryptDatabase(args) => encrypt_database::run(args).await,
        #[cfg(feature = "deploy")]
        Command::Status(args) => status::run(args).await,
        Command::Template(args) => template::run(args).await,
    }
}
