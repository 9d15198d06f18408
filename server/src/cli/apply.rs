//! `concur apply`: runs the enabled rules on files and shows, writes or
//! checks the merged result.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ropey::Rope;
use serde::Serialize;

use super::diff::{self, Palette};
use super::files::{self, FileWrite};
use super::{EXIT_CHANGES_FOUND, EXIT_USAGE};
use crate::job::{self, JobDocument, JobOptions, JobSummary};
use crate::merge::MergeReport;
use crate::rules::{Config, RuleSet};
use crate::workers::{CancelToken, Pool, Progress};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or directories to rewrite (directories are walked, honouring
    /// .gitignore). Defaults to the current directory.
    pub paths: Vec<PathBuf>,
    /// A rules file (TOML with [[rule]] tables); repeat to load several.
    /// Rules of concur.toml in the nearest ancestor directory load too.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Run only these rule ids (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub only: Vec<String>,
    /// Skip these rule ids (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub skip: Vec<String>,
    /// Print a unified diff of the changes (the default).
    #[arg(long, group = "mode")]
    pub diff: bool,
    /// Write the changed files in place, each once and atomically.
    #[arg(long, group = "mode")]
    pub write: bool,
    /// Change nothing; exit 1 when any rule still applies.
    #[arg(long, group = "mode")]
    pub check: bool,
    /// Maximum rounds of match and merge, 1 to 100 (default 3, or
    /// max_rounds from concur.toml).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub rounds: Option<u32>,
    /// Worker threads, 1 to 256 (default: one per core, or workers from
    /// concur.toml).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: Option<u16>,
    /// Print the summary and per-file reports as JSON on stdout instead of
    /// the diff.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct JsonFile<'a> {
    path: String,
    changed: bool,
    rounds: &'a [MergeReport],
}

#[derive(Serialize)]
struct JsonOutput<'a> {
    summary: &'a JobSummary,
    elapsed_ms: f64,
    files: Vec<JsonFile<'a>>,
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

fn execute(args: &Args) -> Result<ExitCode, String> {
    let started = Instant::now();
    let roots = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let (rules, config) = load_rules(args, &roots[0])?;
    let (sources, skipped) = files::collect(&roots).map_err(|error| error.to_string())?;
    for skip in &skipped {
        eprintln!("warning: {skip}");
    }

    let threads = args
        .jobs
        .map(usize::from)
        .or(config.as_ref().and_then(|config| config.workers))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .min(256);
    let pool = Pool::new(threads).map_err(|error| error.to_string())?;
    let options = JobOptions {
        max_rounds: args
            .rounds
            .or(config.as_ref().map(|config| config.max_rounds))
            .unwrap_or(3),
        round_time_limit: Duration::from_secs(120),
        validate: true,
    };
    let documents = sources
        .iter()
        .map(|source| JobDocument {
            key: source.path.display().to_string(),
            language: source.language,
            text: Rope::from_str(&source.text),
        })
        .collect();

    let mut bar = ProgressLine::new(std::io::stderr().is_terminal());
    let outcomes = job::run_rules(
        &pool,
        &rules,
        documents,
        &options,
        &CancelToken::new(),
        |progress| {
            bar.update(progress);
        },
    )
    .map_err(|error| error.to_string())?;
    bar.finish();
    let summary = job::summarize(&outcomes);
    let elapsed = started.elapsed();

    if args.json {
        let output = JsonOutput {
            summary: &summary,
            elapsed_ms: elapsed.as_secs_f64() * 1000.0,
            files: outcomes
                .iter()
                .map(|outcome| JsonFile {
                    path: outcome.key.clone(),
                    changed: outcome.changed(),
                    rounds: &outcome.rounds,
                })
                .collect(),
        };
        let line = serde_json::to_string(&output).map_err(|error| error.to_string())?;
        println!("{line}");
    } else if !args.write && !args.check {
        let palette = if std::io::stdout().is_terminal() {
            Palette::ANSI
        } else {
            Palette::PLAIN
        };
        let mut stdout = std::io::stdout().lock();
        for (source, outcome) in sources.iter().zip(&outcomes) {
            let text = diff::unified(&outcome.key, &source.text, &outcome.text, palette);
            if stdout.write_all(text.as_bytes()).is_err() {
                // A closed pipe (`| head`) is not an error worth reporting.
                break;
            }
        }
    }

    if args.write {
        let writes: Vec<FileWrite<'_>> = sources
            .iter()
            .zip(&outcomes)
            .filter(|(_, outcome)| outcome.changed())
            .map(|(source, outcome)| FileWrite {
                path: &source.path,
                real_path: &source.real_path,
                original: &source.text,
                contents: &outcome.text,
            })
            .collect();
        files::write_all_atomically(&writes).map_err(|error| error.to_string())?;
    }

    print_summary(&summary, rules.rules().len(), elapsed, args);
    if args.check && summary.changed_files > 0 {
        return Ok(ExitCode::from(EXIT_CHANGES_FOUND));
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads user rules (from the nearest `concur.toml` and `--rules`), adds
/// the built-in catalog unless the configuration turns it off, and applies
/// `disable`, `--only` and `--skip`.
fn load_rules(args: &Args, first_root: &Path) -> Result<(RuleSet, Option<Config>), String> {
    let start = std::fs::canonicalize(first_root).unwrap_or_else(|_| first_root.to_owned());
    let discovered = Config::discover(&start).map_err(|error| error.to_string())?;
    let config = discovered.map(|(path, config)| {
        tracing::info!(path = %path.display(), "using configuration");
        config
    });

    let mut user_sets = Vec::new();
    if let Some(config) = &config {
        user_sets.push(config.user_rules.clone());
    }
    for path in &args.rules {
        user_sets.push(RuleSet::load_file(path).map_err(|error| error.to_string())?);
    }
    let user = RuleSet::concat(user_sets).map_err(|error| error.to_string())?;
    let builtin = config.as_ref().is_none_or(|config| config.builtin);
    let mut disable: Vec<String> = config
        .as_ref()
        .map(|config| config.disable.clone())
        .unwrap_or_default();
    disable.extend(args.skip.iter().cloned());
    let enabled = RuleSet::combine(user.clone(), builtin.then(RuleSet::builtin), &disable)
        .map_err(|error| error.to_string())?;

    if !args.only.is_empty() {
        for id in &args.only {
            if enabled.get(id).is_none() {
                return Err(format!(
                    "unknown or disabled rule id {id:?} in --only; `concur rules` lists the known ids"
                ));
            }
        }
        disable.extend(
            enabled
                .rules()
                .iter()
                .filter(|rule| !args.only.contains(&rule.id))
                .map(|rule| rule.id.clone()),
        );
        let only = RuleSet::combine(user, builtin.then(RuleSet::builtin), &disable)
            .map_err(|error| error.to_string())?;
        return Ok((only, config));
    }
    Ok((enabled, config))
}

fn print_summary(summary: &JobSummary, rules: usize, elapsed: Duration, args: &Args) {
    let action = if args.write {
        "written"
    } else if args.check {
        "would change"
    } else {
        "changed"
    };
    eprintln!(
        "{} files, {} {action}, {rules} rules, {} applied, {} conflicts, {} dropped, {} rounds, {:.0} ms",
        summary.files,
        summary.changed_files,
        summary.applied,
        summary.conflicts,
        summary.dropped,
        summary.rounds,
        elapsed.as_secs_f64() * 1000.0
    );
    if summary.failed_workers > 0 {
        eprintln!(
            "warning: {} workers failed and contributed no edits; rerun with --json for details",
            summary.failed_workers
        );
    }
}

/// A one-line progress display on a terminal, shown once a job runs long
/// enough to need one.
struct ProgressLine {
    enabled: bool,
    started: Instant,
    shown: bool,
}

impl ProgressLine {
    fn new(enabled: bool) -> Self {
        Self {
            enabled,
            started: Instant::now(),
            shown: false,
        }
    }

    fn update(&mut self, progress: Progress) {
        if !self.enabled || self.started.elapsed() < Duration::from_millis(300) {
            return;
        }
        let width = 30;
        let filled = (progress.done * width)
            .checked_div(progress.total)
            .unwrap_or(width);
        eprint!(
            "\r[{}{}] {}/{} workers",
            "#".repeat(filled),
            " ".repeat(width - filled),
            progress.done,
            progress.total
        );
        self.shown = true;
    }

    fn finish(&mut self) {
        if self.shown {
            eprint!("\r{}\r", " ".repeat(60));
        }
    }
}
