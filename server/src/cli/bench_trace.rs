//! `concur bench-trace`: replays one editing trace and prints its timing.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::trace::{self, ReplayMode, TraceError};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Trace file, gzipped or plain JSON: {startContent, endContent, txns}, or
    /// {kind: "concurrent", endContent, txns} with parents on each
    /// transaction.
    pub file: PathBuf,
    /// Replay into a plain rope with no change log, as the baseline.
    #[arg(long)]
    pub bare: bool,
}

/// Exit code for a replay whose result differs from `endContent`.
const EXIT_MISMATCH: u8 = 1;
/// Exit code for a trace that cannot be read or applied.
const EXIT_INVALID: u8 = 2;

pub fn run(args: &Args) -> ExitCode {
    let mode = if args.bare {
        ReplayMode::Bare
    } else {
        ReplayMode::Document
    };
    let outcome = trace::load(&args.file).and_then(|loaded| trace::replay(&loaded, mode));
    match outcome {
        Ok(report) => {
            match serde_json::to_string(&report) {
                Ok(line) => println!("{line}"),
                Err(error) => {
                    eprintln!("error: cannot encode the report: {error}");
                    return ExitCode::from(EXIT_INVALID);
                }
            }
            ExitCode::SUCCESS
        }
        Err(error @ TraceError::Mismatch { .. }) => {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_MISMATCH)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}
