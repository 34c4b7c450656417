//! Which database the service uses: `--database URL`, the reference `MF_METADATA_DB_*` variables, or
//! an SQLite file in the data directory.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use mfstack_store::{OpenOptions, PostgresConfig, Store, StoreError};

use crate::cli::parse_switch;
use crate::hint::WithHint;
use crate::secret::Secret;

/// Database flags shared by `serve`, `up`, `run` and `migrate`.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// Database URL: sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DB. Default: PostgreSQL
    /// when MF_METADATA_DB_HOST is set, else DATA_DIR/metadata.db.
    #[arg(long, env = "MFSTACK_DATABASE_URL")]
    pub database: Option<Secret>,
    /// Where the embedded database and local datastore live.
    #[arg(long, env = "MFSTACK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL host (the reference service's variable).
    #[arg(long, env = "MF_METADATA_DB_HOST", hide = true)]
    pub db_host: Option<String>,
    /// PostgreSQL port.
    #[arg(long, env = "MF_METADATA_DB_PORT", default_value_t = 5432, hide = true)]
    pub db_port: u16,
    /// PostgreSQL user.
    #[arg(
        long,
        env = "MF_METADATA_DB_USER",
        default_value = "postgres",
        hide = true
    )]
    pub db_user: String,
    /// PostgreSQL password.
    #[arg(
        long,
        env = "MF_METADATA_DB_PSWD",
        default_value = "postgres",
        hide = true,
        hide_env_values = true
    )]
    pub db_password: Secret,
    /// PostgreSQL database name.
    #[arg(
        long,
        env = "MF_METADATA_DB_NAME",
        default_value = "postgres",
        hide = true
    )]
    pub db_name: String,
    /// PostgreSQL SSL mode (disable, prefer, require, verify-ca, verify-full).
    #[arg(long, env = "MF_METADATA_DB_SSL_MODE", hide = true)]
    pub db_ssl_mode: Option<String>,
    /// Client certificate for PostgreSQL.
    #[arg(long, env = "MF_METADATA_DB_SSL_CERT_PATH", hide = true)]
    pub db_ssl_cert: Option<String>,
    /// Client key for PostgreSQL.
    #[arg(long, env = "MF_METADATA_DB_SSL_KEY_PATH", hide = true)]
    pub db_ssl_key: Option<String>,
    /// CA bundle for PostgreSQL.
    #[arg(long, env = "MF_METADATA_DB_SSL_ROOT_CERT_PATH", hide = true)]
    pub db_ssl_root_cert: Option<String>,
    /// Connections kept open.
    #[arg(long, env = "MF_METADATA_DB_POOL_MIN", default_value_t = 1)]
    pub pool_min: u32,
    /// Most connections open at once.
    #[arg(long, env = "MF_METADATA_DB_POOL_MAX", default_value_t = 10)]
    pub pool_max: u32,
    /// Seconds a request waits for a database connection before answering 503.
    #[arg(long, env = "MF_METADATA_DB_TIMEOUT", default_value_t = 5)]
    pub db_timeout: u64,
    /// Seconds one database statement may run before it is cancelled and the request answers 503
    /// (0: no limit). Migrations are not limited.
    #[arg(long, env = "MFSTACK_STATEMENT_TIMEOUT", default_value_t = mfstack_store::DEFAULT_STATEMENT_TIMEOUT.as_secs())]
    pub statement_timeout: u64,
    /// Send reads to a read replica (MF_METADATA_DB_READ_REPLICA_HOST).
    #[arg(
        long,
        env = "USE_SEPARATE_READER_POOL",
        value_parser = parse_switch,
        action = clap::ArgAction::Set,
        default_value = "0",
        hide = true
    )]
    pub separate_reader_pool: bool,
    /// Host of the read replica.
    #[arg(long, env = "MF_METADATA_DB_READ_REPLICA_HOST", hide = true)]
    pub read_replica_host: Option<String>,
}

/// The default data directory, `~/.mfstack`.
pub fn default_data_dir() -> anyhow::Result<PathBuf> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .context("HOME is not set")
        .hint("pass --data-dir DIR or set MFSTACK_DATA_DIR")?;
    Ok(home.join(".mfstack"))
}

impl DatabaseArgs {
    /// The data directory, created if missing.
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        let dir = match &self.data_dir {
            Some(d) => d.clone(),
            None => default_data_dir()?,
        };
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))
            .hint("pass --data-dir with a writable directory")?;
        Ok(dir)
    }

    fn postgres(&self, host: &str) -> PostgresConfig {
        PostgresConfig {
            host: host.to_owned(),
            port: self.db_port,
            user: self.db_user.clone(),
            password: self.db_password.expose().to_string(),
            dbname: self.db_name.clone(),
            ssl_mode: self.db_ssl_mode.clone(),
            ssl_cert: self.db_ssl_cert.clone(),
            ssl_key: self.db_ssl_key.clone(),
            ssl_root_cert: self.db_ssl_root_cert.clone(),
        }
    }

    /// The database URL to open.
    pub fn url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.database {
            return Ok(url.expose().to_string());
        }
        if let Some(host) = self.db_host.as_deref().filter(|h| !h.is_empty()) {
            return Ok(self.postgres(host).to_url());
        }
        Ok(format!(
            "sqlite://{}",
            self.data_dir()?.join("metadata.db").display()
        ))
    }

    /// Pool settings.
    pub fn options(&self) -> OpenOptions {
        let reader_url = match (&self.read_replica_host, self.separate_reader_pool) {
            (Some(host), true) => Some(self.postgres(host).to_url()),
            _ => None,
        };
        OpenOptions {
            pool_min: self.pool_min,
            pool_max: self.pool_max,
            acquire_timeout: Duration::from_secs(self.db_timeout.max(1)),
            statement_timeout: (self.statement_timeout > 0)
                .then(|| Duration::from_secs(self.statement_timeout)),
            reader_url,
        }
    }

    /// Open the database, creating its schema when empty.
    pub async fn open(&self) -> anyhow::Result<std::sync::Arc<dyn Store>> {
        let url = self.url()?;
        let shown = mfstack_store::redact(&url);
        match mfstack_store::open(&url, &self.options()).await {
            Ok(store) => Ok(store),
            // A URL the store cannot read at all, as opposed to a database it cannot reach.
            Err(e @ StoreError::Config(_)) if !e.to_string().contains("cannot open") => Err(e)
                .context("cannot use the database URL")
                .hint("pass --database sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DB"),
            Err(e) => Err(e)
                .with_context(|| format!("cannot open the database {shown}"))
                .hint(
                    "check that the database is running and reachable, and the URL or \
                     MF_METADATA_DB_* settings are right",
                ),
        }
    }
}
