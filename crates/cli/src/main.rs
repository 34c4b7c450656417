//! `mfstack`: Metaflow's cloud stack in one binary.
//!
//! This file only parses arguments, runs the chosen command and turns an error into a message and an
//! exit code; every command lives in `commands/`.

mod cli;
mod commands;
mod database;
#[cfg(feature = "deploy")]
mod drawer;
mod hint;
mod local;
mod logging;
mod profile;
mod secret;
#[cfg(feature = "deploy")]
mod stack;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("mfstack: error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(err) => {
            hint::report(&err);
            ExitCode::FAILURE
        }
    }
}
