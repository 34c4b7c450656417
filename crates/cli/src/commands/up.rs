//! `mfstack up`: the local stack in one command. The service on 127.0.0.1 over an SQLite file, a
//! local datastore beside it, and a Metaflow profile pointing at both.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use mfstack_service::Settings;

use crate::database::DatabaseArgs;
use crate::local::{self, LocalService};
use crate::{logging, profile};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Port on 127.0.0.1 for the metadata API.
    #[arg(long, env = "MFSTACK_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Name of the Metaflow profile to write: config_NAME.json in METAFLOW_HOME (default
    /// ~/.metaflowconfig). config.json is never touched.
    #[arg(long, default_value = "mfstack")]
    pub profile: String,
    /// Log filter.
    #[arg(long, env = "MFSTACK_LOG", default_value = "warn")]
    pub log: String,
}

/// Run until Ctrl-C.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    logging::init(&args.log);
    let data_dir = args.db.data_dir()?;
    if let Some(running) = local::find_running(&data_dir).await {
        println!(
            "mfstack is already running at {} (pid {}), with data in {}",
            running.url,
            running.pid,
            data_dir.display()
        );
        println!("Use it with: export METAFLOW_PROFILE={}", args.profile);
        return Ok(ExitCode::SUCCESS);
    }
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let service = LocalService::start(&args.db, addr, Settings::default()).await?;
    local::record_running(&data_dir, &service.url)?;
    let env = local::metaflow_env(&service.url, &data_dir);
    let path = profile::path(&profile::metaflow_home()?, Some(&args.profile));
    let profile = profile::write(&path, &env.into_iter().collect())?.path;
    println!("mfstack is up: metadata service at {}", service.url);
    println!(
        "  database:  {}",
        args.db
            .url()
            .map(|u| mfstack_store::redact(&u))
            .unwrap_or_default()
    );
    println!("  datastore: {}", data_dir.join("datastore").display());
    println!("  profile:   {}", profile.display());
    println!();
    println!("In another terminal:");
    println!("  export METAFLOW_PROFILE={}", args.profile);
    println!("  python flow.py run");
    println!();
    println!("Press Ctrl-C to stop.");
    local::shutdown_signal().await;
    local::forget_running(&data_dir);
    service.stop().await?;
    println!("mfstack stopped.");
    Ok(ExitCode::SUCCESS)
}
