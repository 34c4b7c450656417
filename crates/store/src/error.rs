//! What can go wrong in the store, in terms the service can map to HTTP.

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A row with the same key exists.
    #[error("{0} already exists")]
    Duplicate(String),
    /// The parent row does not exist.
    #[error("{0} does not exist")]
    MissingParent(String),
    /// A concurrent change won; the caller may retry.
    #[error("conflicting concurrent change: {0}")]
    Conflict(String),
    /// The database rejected a value the caller supplied (a regular expression, a too-long string).
    #[error("{0}")]
    Invalid(String),
    /// The database cannot be reached or has no free connection; retrying later may work.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The schema does not match this build.
    #[error("{0}")]
    Schema(String),
    /// The store was configured wrongly.
    #[error("{0}")]
    Config(String),
    /// Anything else.
    #[error("database error: {0}")]
    Other(String),
}

impl StoreError {
    /// Classify a driver error. `what` names the object for duplicate and missing-parent errors.
    pub(crate) fn from_sqlx(err: sqlx::Error, what: &str) -> Self {
        use sqlx::error::ErrorKind;
        match &err {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(err.to_string())
            }
            sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => {
                StoreError::Unavailable(err.to_string())
            }
            sqlx::Error::Database(db) => {
                match db.kind() {
                    ErrorKind::UniqueViolation => return StoreError::Duplicate(what.to_owned()),
                    ErrorKind::ForeignKeyViolation => {
                        return StoreError::MissingParent(format!("the parent of {what}"));
                    }
                    _ => {}
                }
                let code = db.code().unwrap_or_default();
                match code.as_ref() {
                    // PostgreSQL: connection exceptions, shutdown, start-up, too many connections.
                    c if c.starts_with("08") => StoreError::Unavailable(db.message().to_owned()),
                    "57P01" | "57P02" | "57P03" | "53300" => {
                        StoreError::Unavailable(db.message().to_owned())
                    }
                    // SQLite busy/locked: the writer is serialised, so this means a foreign writer.
                    "5" | "6" | "261" | "517" => StoreError::Unavailable(db.message().to_owned()),
                    // The statement timeout: SQLite's interrupt from the progress handler, and
                    // PostgreSQL's `statement_timeout` cancel.
                    "9" | "57014" => StoreError::Unavailable(format!(
                        "the {what} statement ran past the statement timeout"
                    )),
                    // PostgreSQL: invalid regular expression, value too long, bad text.
                    "2201B" | "22001" | "22021" | "22P05" => {
                        StoreError::Invalid(db.message().to_owned())
                    }
                    "40001" => StoreError::Conflict(db.message().to_owned()),
                    _ => StoreError::Other(db.message().to_owned()),
                }
            }
            _ => StoreError::Other(err.to_string()),
        }
    }
}
