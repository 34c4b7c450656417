//! `mfstack run -- COMMAND…`: run a command against a local service, starting one only if none is
//! running and stopping only the one it started.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use anyhow::Context;
use mfstack_service::Settings;

use crate::database::DatabaseArgs;
use crate::hint::WithHint;
use crate::local::{self, LocalService};
use crate::logging;

/// Flags of `mfstack run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Log filter for the service this command starts.
    #[arg(long, env = "MFSTACK_LOG", default_value = "warn")]
    pub log: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Exit with the command's exit code.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    logging::init(&args.log);
    let data_dir = args.db.data_dir()?;
    let (url, started) = match local::find_running(&data_dir).await {
        Some(running) => (running.url, None),
        None => {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
            let service = LocalService::start(&args.db, addr, Settings::default()).await?;
            (service.url.clone(), Some(service))
        }
    };
    let (program, rest) = args.command.split_first().context("no command given")?;
    let status = tokio::process::Command::new(program)
        .args(rest)
        .envs(local::metaflow_env(&url, &data_dir))
        .status()
        .await
        .with_context(|| format!("cannot run {program}"))
        .hint("check the command name and that it is on PATH");
    if let Some(service) = started {
        service.stop().await?;
    }
    let status = status?;
    let code = match status.code() {
        Some(c) => c,
        #[cfg(unix)]
        None => 128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0),
        #[cfg(not(unix))]
        None => 1,
    };
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
