//! `mfstack serve`: the metadata service and its migration endpoints, as the reference container
//! runs them (same variables, same ports).

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use mfstack_service::events::{ChangeNotifier, ChangeSink};
use mfstack_service::{AppState, Settings};
use mfstack_ui_api::{UiSettings, UiState};
use tokio::net::TcpListener;

use crate::cli::{parse_api_key, parse_switch};
use crate::database::DatabaseArgs;
use crate::hint::WithHint;
use crate::secret::Secret;
use crate::{local, logging};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Address to listen on; anything but loopback should come with --api-key or a gateway in front.
    #[arg(long, env = "MF_METADATA_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port of the metadata API.
    #[arg(long, env = "MF_METADATA_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Port of the migration API.
    #[arg(long, env = "MF_MIGRATION_PORT", default_value_t = 8082)]
    pub migration_port: u16,
    /// Serve PATCH /upgrade on the migration port (1/true/yes/on) or not (0/false/no/off).
    #[arg(
        long,
        env = "MF_MIGRATION_ENDPOINTS_ENABLED",
        default_value = "1",
        value_parser = parse_switch,
        action = clap::ArgAction::Set
    )]
    pub migration_endpoints: bool,
    /// Require this x-api-key header on every request.
    #[arg(long, env = "MFSTACK_API_KEY", hide_env_values = true, value_parser = parse_api_key)]
    pub api_key: Option<Secret>,
    /// Serve the metadata API under this path, e.g. /api.
    #[arg(long, env = "PATH_PREFIX")]
    pub path_prefix: Option<String>,
    /// Largest request body, in MiB.
    #[arg(long, env = "MFSTACK_BODY_LIMIT_MIB", default_value_t = 16)]
    pub body_limit_mib: usize,
    /// Most rows one artifact or metadata post may carry; a bigger batch answers 413. The Metaflow
    /// client posts all of a task's artifacts at once, so thousands are normal.
    #[arg(long, env = "MFSTACK_MAX_BATCH_ROWS", default_value_t = mfstack_service::DEFAULT_MAX_BATCH_ROWS)]
    pub max_batch_rows: usize,
    /// Seconds a request may take before it answers 503 with Retry-After (0: no limit).
    #[arg(long, env = "MFSTACK_REQUEST_TIMEOUT", default_value_t = mfstack_service::DEFAULT_REQUEST_TIMEOUT.as_secs())]
    pub request_timeout: u64,
    /// Announce every write with PostgreSQL NOTIFY, for UI APIs in other processes
    /// (`serve --ui-only`); the stack's metadata task sets it.
    #[arg(
        long,
        env = "MFSTACK_NOTIFY_CHANGES",
        default_value = "0",
        value_parser = parse_switch,
        action = clap::ArgAction::Set
    )]
    pub notify_changes: bool,
    #[command(flatten)]
    pub ui: UiArgs,
    /// Log filter, e.g. info or debug.
    #[arg(long, env = "MFSTACK_LOG", default_value = "info")]
    pub log: String,
}

/// The UI API (the backend metaflow-ui calls), served beside the metadata API.
#[derive(Debug, clap::Args)]
pub struct UiArgs {
    /// Address of the UI API.
    #[arg(long, env = "MF_UI_METADATA_HOST", default_value = "127.0.0.1")]
    pub ui_host: IpAddr,
    /// Port of the UI API (served under /api).
    #[arg(long, env = "MF_UI_METADATA_PORT", default_value_t = 8083)]
    pub ui_port: u16,
    /// A metaflow-ui build directory to serve at / on the UI port.
    #[arg(long, env = "MFSTACK_UI_DIR")]
    pub ui_dir: Option<std::path::PathBuf>,
    /// Serve only the UI API (the stack's UI task), not the metadata and migration APIs.
    #[arg(long)]
    pub ui_only: bool,
}

impl UiArgs {
    /// The UI state over `store`, with the datastore and admin answers from upstream's variables.
    pub fn state(
        &self,
        store: std::sync::Arc<dyn mfstack_store::Store>,
    ) -> anyhow::Result<UiState> {
        let datastore =
            mfstack_datastore::Datastore::new(mfstack_datastore::DatastoreConfig::from_env())
                .context("cannot set up the datastore reader")
                .hint("check METAFLOW_DATASTORE_SYSROOT_S3 and METAFLOW_S3_ENDPOINT_URL")?;
        let mut settings = UiSettings::from_env();
        settings.ui_dir = self.ui_dir.clone();
        Ok(UiState::new(store, Some(datastore), settings))
    }
}

/// Changes a burst of writes may queue before a slow UI pump loses some.
const CHANGE_BUFFER: usize = 8192;

/// Where the metadata API announces its writes, and the UI state fed from where they arrive: in
/// process, or through PostgreSQL when another process may serve the UI API or write.
async fn realtime(
    args: &Args,
    url: &str,
    ui_state: UiState,
) -> anyhow::Result<(Option<ChangeSink>, UiState)> {
    let postgres = !url.starts_with("sqlite:");
    if args.notify_changes && !postgres {
        return Err(anyhow::anyhow!(
            "--notify-changes needs PostgreSQL: SQLite has no NOTIFY"
        ))
        .hint("unset MFSTACK_NOTIFY_CHANGES, or point the service at PostgreSQL");
    }
    let (tx, rx) = tokio::sync::broadcast::channel(CHANGE_BUFFER);
    let through_postgres = args.notify_changes || args.ui.ui_only;
    let sink = if args.notify_changes {
        Some(ChangeSink::Notify(ChangeNotifier::connect(url)?))
    } else if args.ui.ui_only {
        None
    } else {
        Some(ChangeSink::InProcess(tx.clone()))
    };
    if !through_postgres {
        return Ok((sink, ui_state.with_changes(rx)));
    }
    if !postgres {
        tracing::warn!(
            "no realtime events on /ws: over SQLite they need the metadata API in this process"
        );
        return Ok((sink, ui_state));
    }
    mfstack_store::listen_changes(url, tx).await?;
    Ok((sink, ui_state.with_changes(rx)))
}

/// Listen on `port` for `what`, whose port is set by the option `flag`.
async fn bind(host: IpAddr, port: u16, what: &str, flag: &str) -> anyhow::Result<TcpListener> {
    let addr = SocketAddr::new(host, port);
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for the {what}"))
        .hint(format!(
            "another program uses that port: pick another with {flag}"
        ))
}

/// Run until SIGINT or SIGTERM.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    logging::init(&args.log);
    if args.api_key.is_none() && !args.host.is_loopback() {
        tracing::warn!(
            host = %args.host,
            "listening beyond loopback with no API key: anyone who can reach this port can read and write \
             metadata; set MFSTACK_API_KEY or put an authenticating gateway in front"
        );
    }
    let store = args.db.open().await?;
    let ui_listener = bind(args.ui.ui_host, args.ui.ui_port, "UI API", "--ui-port").await?;
    let ui_state = args.ui.state(store.clone())?;
    let (changes, ui_state) = realtime(&args, &args.db.url()?, ui_state).await?;
    tracing::info!(ui = %ui_listener.local_addr()?, "mfstack UI API ready under /api");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    tokio::spawn(async move {
        local::shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let ui = mfstack_ui_api::serve(ui_state, ui_listener, stopped(stop_rx.clone()));
    if args.ui.ui_only {
        ui.await.context("the UI API stopped with an error")?;
        store.close().await;
        tracing::info!("stopped");
        return Ok(ExitCode::SUCCESS);
    }
    let ui = tokio::spawn(ui);
    let metadata = bind(args.host, args.port, "metadata API", "--port").await?;
    let migration = bind(
        args.host,
        args.migration_port,
        "migration API",
        "--migration-port",
    )
    .await?;
    tracing::info!(
        metadata = %metadata.local_addr()?,
        migration = %migration.local_addr()?,
        database = %store.describe(),
        "mfstack metadata service ready"
    );
    let settings = Settings {
        api_key: args.api_key.map(|k| k.expose().to_string()),
        body_limit: args.body_limit_mib.saturating_mul(1024 * 1024),
        upgrade_enabled: args.migration_endpoints,
        path_prefix: args.path_prefix,
        max_batch_rows: args.max_batch_rows,
        request_timeout: (args.request_timeout > 0)
            .then(|| Duration::from_secs(args.request_timeout)),
    };
    let state = AppState::new(store, settings);
    let state = match changes {
        Some(sink) => state.with_changes(sink),
        None => state,
    };
    mfstack_service::serve(state, metadata, Some(migration), stopped(stop_rx))
        .await
        .context("the service stopped with an error")?;
    ui.await
        .context("the UI API task failed")?
        .context("the UI API stopped with an error")?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}
