//! `concur merge`: the N-way merge of whole-file proposals made from one
//! base, for tools and agents that rewrite files independently.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;

use super::files::{self, FileWrite};
use super::{EXIT_CHANGES_FOUND, EXIT_USAGE};
use crate::merge::{self, EditSet, GroupOutcome, MergeOptions, MergeReport, WorkerId};
use crate::plural;
use crate::syntax::Language;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file every proposal started from.
    pub base: PathBuf,
    /// Whole-file proposals, each a full copy of BASE with its author's
    /// changes. Earlier proposals win conflicts.
    #[arg(required = true)]
    pub proposals: Vec<PathBuf>,
    /// Write the merged file here (atomically) instead of printing it. May
    /// name BASE to update it in place.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Print the merge report as JSON on stdout (the merged text then goes
    /// only to --output).
    #[arg(long)]
    pub json: bool,
}

/// One hunk that did not make it into the result.
#[derive(Debug, Serialize)]
struct DroppedHunk {
    proposal: String,
    /// 1-based lines of BASE that the hunk covers.
    first_line: usize,
    last_line: usize,
    reason: String,
}

#[derive(Serialize)]
struct JsonOutput<'a> {
    base: String,
    output: Option<String>,
    dropped: &'a [DroppedHunk],
    report: &'a MergeReport,
}

pub fn run(args: &Args) -> ExitCode {
    match execute(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn read(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path)
        .map_err(|error| format!("{}: cannot be read: {error}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| {
        format!(
            "{}: is not valid UTF-8; merge works on text files",
            path.display()
        )
    })
}

fn execute(args: &Args) -> Result<ExitCode, String> {
    let base = read(&args.base)?;
    let mut sets = Vec::with_capacity(args.proposals.len());
    for (index, path) in args.proposals.iter().enumerate() {
        let proposal = read(path)?;
        sets.push(EditSet {
            worker: WorkerId(u32::try_from(index).map_err(|_| "too many proposals".to_owned())?),
            // Earlier proposals rank better, as the help text promises.
            priority: i64::try_from(index).unwrap_or(i64::MAX),
            label: path.display().to_string(),
            groups: merge::diff_proposal(&base, &proposal),
        });
    }
    let options = MergeOptions {
        language: Language::from_path(&args.base),
        ..MergeOptions::default()
    };
    let merged = merge::merge(&base, &sets, &options).map_err(|error| error.to_string())?;
    let dropped = dropped_hunks(&base, &merged.report);

    if let Some(output) = &args.output {
        write_output(output, &merged.text)?;
    } else if !args.json {
        print!("{}", merged.text);
    }
    if args.json {
        let json = JsonOutput {
            base: args.base.display().to_string(),
            output: args.output.as_ref().map(|path| path.display().to_string()),
            dropped: &dropped,
            report: &merged.report,
        };
        println!(
            "{}",
            serde_json::to_string(&json).map_err(|error| error.to_string())?
        );
    }
    for hunk in &dropped {
        let lines = if hunk.first_line == hunk.last_line {
            format!("line {}", hunk.first_line)
        } else {
            format!("lines {}-{}", hunk.first_line, hunk.last_line)
        };
        eprintln!(
            "dropped: {} {lines} of {}: {}",
            hunk.proposal,
            args.base.display(),
            hunk.reason
        );
    }
    eprintln!(
        "{}, {} applied, {} deduplicated, {} dropped",
        plural::count(args.proposals.len(), "proposal"),
        plural::count(merged.report.applied(), "hunk"),
        merged.report.deduplicated(),
        dropped.len()
    );
    if dropped.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(EXIT_CHANGES_FOUND))
    }
}

/// Lists the groups that lost, with their lines in the base and the reason.
fn dropped_hunks(base: &str, report: &MergeReport) -> Vec<DroppedHunk> {
    let line_of = |byte: usize| base[..byte.min(base.len())].matches('\n').count() + 1;
    report
        .groups
        .iter()
        .filter_map(|group| {
            let reason = match group.outcome {
                GroupOutcome::Conflicted { with } => {
                    let winner = report
                        .group(with)
                        .map_or_else(|| with.worker.to_string(), |winner| winner.label.clone());
                    format!("conflicts with {winner}, which ranks first")
                }
                GroupOutcome::DroppedForSyntax => "it would add a syntax error".to_owned(),
                GroupOutcome::DroppedForUserEdit => "the base changed there".to_owned(),
                GroupOutcome::Applied
                | GroupOutcome::Deduplicated { .. }
                | GroupOutcome::Unchanged => return None,
            };
            let last_byte = group.span.end.saturating_sub(1).max(group.span.start);
            Some(DroppedHunk {
                proposal: group.label.clone(),
                first_line: line_of(group.span.start),
                last_line: line_of(last_byte),
                reason,
            })
        })
        .collect()
}

fn write_output(path: &Path, text: &str) -> Result<(), String> {
    match std::fs::read_to_string(path) {
        Ok(original) => {
            let real = std::fs::canonicalize(path)
                .map_err(|error| format!("{}: {error}", path.display()))?;
            files::write_all_atomically(&[FileWrite {
                path,
                real_path: &real,
                original: &original,
                contents: text,
            }])
            .map_err(|error| error.to_string())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            files::create_atomically(path, text).map_err(|error| error.to_string())
        }
        Err(error) => Err(format!("{}: cannot be read: {error}", path.display())),
    }
}
