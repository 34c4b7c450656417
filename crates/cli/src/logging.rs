//! Log output for the long-running commands.

use tracing_subscriber::EnvFilter;

/// Log to stderr at `level` (a `tracing` filter such as `info` or `mfstack_service=debug`).
pub fn init(level: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
