//! The `concur` binary: sets up logging on stderr and runs the command line.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

// Edits, change logs and worker results make many small allocations;
// mimalloc serves them faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // stdout carries command output (and later the protocol), so logs go to
    // stderr; the level comes from CONCUR_LOG and defaults to warn.
    let filter = match std::env::var("CONCUR_LOG") {
        Err(_) => EnvFilter::new("warn"),
        Ok(value) => EnvFilter::try_new(&value).unwrap_or_else(|error| {
            eprintln!("warning: invalid CONCUR_LOG value {value:?} ({error}); logging at warn");
            EnvFilter::new("warn")
        }),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    concur::cli::run(concur::cli::Cli::parse())
}
