//! PostgreSQL, as on RDS: the reference schema, the reference `MF_METADATA_DB_*` settings.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::dialect::Dialect;
use crate::pool::DbPool;
use crate::sql_store::{Db, SqlStore};
use crate::{OpenOptions, Result, StoreError, redact};

/// The reference service's database settings (`MF_METADATA_DB_HOST`, `…_PORT`, `…_USER`, `…_PSWD`,
/// `…_NAME`, `…_SSL_MODE` and the certificate paths), turned into a URL.
#[derive(Debug, Clone, Default)]
pub struct PostgresConfig {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// User.
    pub user: String,
    /// Password.
    pub password: String,
    /// Database name.
    pub dbname: String,
    /// `disable`, `allow`, `prefer`, `require`, `verify-ca` or `verify-full`.
    pub ssl_mode: Option<String>,
    /// Client certificate.
    pub ssl_cert: Option<String>,
    /// Client key.
    pub ssl_key: Option<String>,
    /// CA bundle (the RDS bundle for `verify-full`).
    pub ssl_root_cert: Option<String>,
}

impl PostgresConfig {
    /// A `postgres://` URL; the password is percent-encoded, so any character works.
    pub fn to_url(&self) -> String {
        let mut url = url::Url::parse("postgres://localhost/").expect("static URL parses");
        let _ = url.set_host(Some(&self.host));
        let _ = url.set_port(Some(self.port));
        let _ = url.set_username(&self.user);
        if !self.password.is_empty() {
            let _ = url.set_password(Some(&self.password));
        }
        url.set_path(&self.dbname);
        {
            let mut q = url.query_pairs_mut();
            for (key, value) in [
                ("sslmode", &self.ssl_mode),
                ("sslcert", &self.ssl_cert),
                ("sslkey", &self.ssl_key),
                ("sslrootcert", &self.ssl_root_cert),
            ] {
                if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                    q.append_pair(key, v);
                }
            }
        }
        let s = url.to_string();
        s.strip_suffix('?').map(str::to_owned).unwrap_or(s)
    }
}

async fn pool(url: &str, options: &OpenOptions) -> Result<sqlx::PgPool> {
    let mut connect = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("invalid PostgreSQL URL {}: {e}", redact(url))))?;
    if let Some(t) = options.statement_timeout {
        connect = connect.options([("statement_timeout", format!("{}ms", t.as_millis()))]);
    }
    PgPoolOptions::new()
        .min_connections(options.pool_min.min(options.pool_max))
        .max_connections(options.pool_max.max(1))
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect)
        .await
        .map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot connect to PostgreSQL at {}: {e}",
                redact(url)
            ))
        })
}

/// Connect to PostgreSQL, with a second pool on the read replica when one is configured.
pub(crate) async fn open(url: &str, options: &OpenOptions) -> Result<SqlStore> {
    let writer = pool(url, options).await?;
    let reader = match &options.reader_url {
        Some(reader_url) => pool(reader_url, options).await?,
        None => writer.clone(),
    };
    let db = Db {
        writer: DbPool::Postgres(writer),
        reader: DbPool::Postgres(reader),
        dialect: Dialect::Postgres,
    };
    // Few flushers per kind, so requests gather into large statements while others run, and
    // listings keep most of the pool.
    let flushers = (options.pool_max as usize / 4).max(1);
    Ok(SqlStore::new(db, flushers, redact(url)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_becomes_a_url_with_an_encoded_password() {
        let cfg = PostgresConfig {
            host: "db.internal".into(),
            port: 5432,
            user: "mf".into(),
            password: "p@ss/w:rd".into(),
            dbname: "metaflow".into(),
            ssl_mode: Some("require".into()),
            ..Default::default()
        };
        let url = cfg.to_url();
        assert_eq!(
            url,
            "postgres://mf:p%40ss%2Fw%3Ard@db.internal:5432/metaflow?sslmode=require"
        );
        let parsed = PgConnectOptions::from_str(&url).unwrap();
        assert_eq!(parsed.get_host(), "db.internal");
    }
}
