//! `mfstack-bench`: drives a release `mfstack serve` on SQLite and PostgreSQL with a fixed
//! concurrency ladder, runs the same SQL straight against the same database for the limit, and
//! prints one table per backend (see `bench/README.md`).

mod bodies;
mod client;
mod levels;
mod load;
mod report;
mod scenarios;
mod seed;
mod server;
mod suite;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Benchmark a running `mfstack serve` against the database-only limit.
#[derive(Debug, Parser)]
#[command(name = "mfstack-bench", version, about)]
pub struct Args {
    /// The `mfstack` binary to start (build it first with `cargo build --release -p mfstack-cli`).
    #[arg(long, default_value = "target/release/mfstack")]
    pub mfstack: PathBuf,
    /// A PostgreSQL server to benchmark on; the bench creates and drops its own database there.
    #[arg(long, env = "MFSTACK_TEST_POSTGRES_URL", hide_env_values = true)]
    pub postgres_url: Option<String>,
    /// Database connections of the service, and of the database-only driver.
    #[arg(long, default_value_t = 10)]
    pub pool_max: u32,
    /// Where the tables are written.
    #[arg(long, default_value = "bench/results/latest.md")]
    pub out: PathBuf,
    /// Tiny counts, to check that the benchmark itself works.
    #[arg(long)]
    pub smoke: bool,
    /// Which backends to run.
    #[arg(long, value_enum, default_value_t = Backends::Both)]
    pub backends: Backends,
    /// Run only the scenarios whose label contains this text (e.g. "artifact"), for profiling.
    #[arg(long)]
    pub only: Option<String>,
    /// Requests in flight at each level.
    #[arg(long, value_delimiter = ',', default_values_t = suite::LADDER)]
    pub levels: Vec<usize>,
}

/// The backends a run covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backends {
    /// SQLite, and PostgreSQL when a server is given.
    Both,
    /// SQLite only.
    Sqlite,
    /// PostgreSQL only.
    Postgres,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mfstack-bench: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(suite::run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!(
                "mfstack-bench: error: some requests or statements failed (see the errors column)"
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("mfstack-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
