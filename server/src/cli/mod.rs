//! The command line: argument parsing and the subcommands. Only this module
//! writes to stdout or exits the process.

mod bench_trace;
pub mod diff;
pub mod files;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// concur merges many concurrent edits of the same files into one. This
/// build has one command, bench-trace; the language server and refactor
/// commands are not built yet.
#[derive(Debug, Parser)]
#[command(name = "concur", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replay an editing trace and check it reaches its endContent.
    ///
    /// Reads gzipped or plain JSON in the editing-traces format. A
    /// sequential trace goes through a Document, one logged change per
    /// transaction; a concurrent one (transactions with parents) is merged
    /// branch by branch. Prints one JSON line: trace, mode, concurrent,
    /// transactions, patches, final_length (chars), elapsed_ms (replay
    /// only) and transactions_per_second. Exit codes: 0 when the result
    /// matches, 1 when it differs (the error names the first differing
    /// char), 2 when the file cannot be read or is not a valid trace. Logs
    /// go to stderr at the level set by CONCUR_LOG (default warn).
    BenchTrace(bench_trace::Args),
}

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::BenchTrace(args) => bench_trace::run(&args),
    }
}
