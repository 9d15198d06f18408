//! The command line: argument parsing and the subcommands. Only this module
//! writes to stdout or exits the process.

mod bench_trace;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Applies many refactors to the same files at once and merges their edits.
#[derive(Debug, Parser)]
#[command(name = "concur", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replay an editing trace (gzipped JSON) and print one JSON line with
    /// its timing; exits 1 when the result differs from the trace's
    /// endContent.
    BenchTrace(bench_trace::Args),
}

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::BenchTrace(args) => bench_trace::run(&args),
    }
}
