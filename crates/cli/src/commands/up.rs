//! `mfstack up`: the local stack in one command. The service on 127.0.0.1 over an SQLite file, a
//! local datastore beside it, and a Metaflow profile pointing at both.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use anyhow::Context;
use mfstack_service::events::{Change, ChangeSink};
use mfstack_service::{AppState, Settings};
use tokio::net::TcpListener;

use crate::database::DatabaseArgs;
use crate::hint::WithHint;
use crate::{local, logging, profile};

/// Changes a burst of writes may queue before a slow UI pump loses some.
const CHANGE_BUFFER: usize = 8192;

/// The metadata service, announcing its writes to the UI API in this process.
struct Service {
    url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Service {
    async fn start(
        db: &DatabaseArgs,
        addr: SocketAddr,
        changes: ChangeSink,
    ) -> anyhow::Result<Self> {
        let store = db.open().await?;
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))
            .hint("another program uses that port: pass --port with a free one")?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = AppState::new(store, Settings::default()).with_changes(changes);
        let task = tokio::spawn(mfstack_service::serve(state, listener, None, async move {
            let _ = stopped.await;
        }));
        Ok(Service { url, stop, task })
    }

    /// Stop after in-flight requests finish, and close the database.
    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task
            .await
            .context("the service task failed")?
            .context("the service failed")
    }
}

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
    /// Port on 127.0.0.1 for the UI API (under /api) and, with --ui-dir, the UI.
    #[arg(long, env = "MF_UI_METADATA_PORT", default_value_t = 8083)]
    pub ui_port: u16,
    /// A metaflow-ui build directory to serve at / on the UI port.
    #[arg(long, env = "MFSTACK_UI_DIR")]
    pub ui_dir: Option<std::path::PathBuf>,
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
    let (changes, feed) = tokio::sync::broadcast::channel(CHANGE_BUFFER);
    let service = Service::start(&args.db, addr, ChangeSink::InProcess(changes)).await?;
    // Before the profile is written: a client that sees the profile finds everything up.
    let (ui_url, ui_stop) = start_ui(&args, &data_dir, feed).await?;
    local::record_running(&data_dir, &service.url)?;
    let env = local::metaflow_env(&service.url, &data_dir);
    let path = profile::path(&profile::metaflow_home()?, Some(&args.profile));
    let profile = profile::write(&path, &env.into_iter().collect())?.path;
    println!("mfstack is up: metadata service at {}", service.url);
    println!("  UI:        {ui_url}");
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
    let _ = ui_stop.send(());
    local::forget_running(&data_dir);
    service.stop().await?;
    println!("mfstack stopped.");
    Ok(ExitCode::SUCCESS)
}

/// The UI API on its own loopback port over the same database and the local datastore.
async fn start_ui(
    args: &Args,
    data_dir: &std::path::Path,
    changes: tokio::sync::broadcast::Receiver<Change>,
) -> anyhow::Result<(String, tokio::sync::oneshot::Sender<()>)> {
    let store = args.db.open().await?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.ui_port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for the UI API"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let root = data_dir.join("datastore");
    let config = mfstack_datastore::DatastoreConfig::from_lookup(|name| match name {
        "METAFLOW_DATASTORE_SYSROOT_LOCAL" => Some(root.display().to_string()),
        other => std::env::var(other).ok(),
    });
    let datastore = mfstack_datastore::Datastore::new(config)?;
    let mut settings = mfstack_ui_api::UiSettings::from_env();
    settings.ui_dir = args.ui_dir.clone();
    let state =
        mfstack_ui_api::UiState::new(store, Some(datastore), settings).with_changes(changes);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(mfstack_ui_api::serve(state, listener, async {
        let _ = stopped.await;
    }));
    Ok((url, stop))
}
