//! The command line: argument parsing and the subcommands. Only this module
//! writes to stdout or exits the process.

mod apply;
mod bench_trace;
pub mod diff;
pub mod files;
mod lsp;
mod merge_files;
mod rules;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// concur applies many refactors to the same files at once and merges their
/// edits into one syntax-checked result.
#[derive(Debug, Parser)]
#[command(name = "concur", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Exit code when `--check` finds changes or `merge` drops hunks.
pub const EXIT_CHANGES_FOUND: u8 = 1;
/// Exit code for invalid arguments, rules or configuration.
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the enabled rules to files and show, write or check the merged
    /// result.
    ///
    /// Exit codes: 0 success, 1 when --check finds changes, 2 for invalid
    /// arguments, rules or configuration, or a failed write (nothing is
    /// written then).
    Apply(apply::Args),
    /// Merge whole-file proposals made from one base into one file.
    ///
    /// Each proposal is diffed against BASE; its diff hunks merge like
    /// rule matches, earlier proposals winning conflicts. Exit codes: 0
    /// when every hunk applied, 1 when any was dropped (each is listed on
    /// stderr), 2 for unreadable input.
    Merge(merge_files::Args),
    /// List the rules, or explain one with a before/after example.
    Rules(rules::Args),
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
    /// Run the language server on stdin and stdout.
    ///
    /// Editors start it themselves; see docs/ for each editor's setup.
    /// Logs go to stderr at the level set by CONCUR_LOG (default warn).
    Lsp(lsp::Args),
}

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Apply(args) => apply::run(&args),
        Command::Merge(args) => merge_files::run(&args),
        Command::Rules(args) => rules::run(&args),
        Command::BenchTrace(args) => bench_trace::run(&args),
        Command::Lsp(args) => lsp::run(&args),
    }
}
