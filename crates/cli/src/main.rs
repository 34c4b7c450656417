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

// glibc's malloc kept 200 MiB resident after eight 50,000-artifact listings and never gave it back;
// jemalloc with a background thread purging pages unused for a second returns to ~40 MiB within
// three seconds (bench/hostile/memory.py). mimalloc kept all of it.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read from this symbol at start-up.
#[repr(transparent)]
pub struct MallocConf(*const std::ffi::c_char);
// SAFETY: it points at a string constant that is never written.
unsafe impl Sync for MallocConf {}

#[unsafe(export_name = "_rjem_malloc_conf")]
pub static MALLOC_CONF: MallocConf =
    MallocConf(c"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0".as_ptr());

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
