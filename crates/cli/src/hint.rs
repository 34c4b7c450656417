//! One format for every error a user sees: the cause chain, then what to do about it.

use std::fmt;

/// An error that carries advice for the user, printed after the cause chain.
#[derive(Debug)]
pub struct Hinted {
    inner: anyhow::Error,
    hint: String,
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.inner)
    }
}

impl std::error::Error for Hinted {}

/// Attach a hint to any error or `Result`.
pub trait WithHint<T> {
    /// Wrap the error so that `report` prints `hint` under it.
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> WithHint<T> for Result<T, E> {
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T> {
        self.map_err(|e| {
            anyhow::Error::new(Hinted {
                inner: e.into(),
                hint: hint.into(),
            })
        })
    }
}

/// Build an error with a hint from a message.
pub fn hinted(message: impl fmt::Display, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hinted {
        inner: anyhow::anyhow!("{message}"),
        hint: hint.into(),
    })
}

/// Print `err` as `mfstack: error: <chain>` plus an optional `  hint: ...` line.
pub fn report(err: &anyhow::Error) {
    if is_broken_pipe(err) {
        return;
    }
    eprintln!("mfstack: error: {err:#}");
    if let Some(h) = err.chain().find_map(|e| e.downcast_ref::<Hinted>()) {
        eprintln!("  hint: {}", h.hint);
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_survives_added_context() {
        let err: anyhow::Result<()> =
            Err(anyhow::anyhow!("no credentials")).hint("run aws configure");
        let err = anyhow::Context::context(err, "deploying stack \"x\"").unwrap_err();
        let found = err
            .chain()
            .find_map(|e| e.downcast_ref::<Hinted>())
            .map(|h| h.hint.clone());
        assert_eq!(found.as_deref(), Some("run aws configure"));
        assert_eq!(format!("{err:#}"), "deploying stack \"x\": no credentials");
    }
}
