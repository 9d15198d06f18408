//! `concur apply`: runs the enabled rules on files and shows, writes or
//! checks the merged result.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ropey::Rope;
use serde::Serialize;

use super::diff::{self, ColorChoice, Palette};
use super::files::{self, FileWrite};
use super::{EXIT_CHANGES_FOUND, EXIT_USAGE};
use crate::job::{self, DocumentOutcome, JobDocument, JobOptions, JobSummary};
use crate::merge::{GroupOutcome, MergeReport};
use crate::plural;
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
    /// With --write or --check, also apply the rules marked `confirm`
    /// (without it, only those named in --only apply).
    #[arg(long, short = 'y')]
    pub yes: bool,
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
    /// Colour the diff: auto (on a terminal, unless the NO_COLOR
    /// environment variable is set and not empty), always or never.
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
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
    /// Rules marked `confirm` whose changes this run left out.
    held_back: &'a BTreeSet<String>,
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
    // Rules of the command line load first, so a bad rules file is
    // reported even when no source file is found.
    let command_line_rules = load_rule_files(&args.rules)?;
    let (sources, skipped) = files::collect(&roots).map_err(|error| error.to_string())?;
    for skip in &skipped {
        eprintln!("warning: {skip}");
    }

    // Each file follows the concur.toml nearest to it, so files are run in
    // groups that share one configuration.
    let mut configs: HashMap<PathBuf, Option<(PathBuf, Config)>> = HashMap::new();
    let mut groups: BTreeMap<Option<PathBuf>, (Option<Config>, Vec<usize>)> = BTreeMap::new();
    for (index, source) in sources.iter().enumerate() {
        let directory = source
            .real_path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_owned);
        if !configs.contains_key(&directory) {
            let found = Config::discover(&directory).map_err(|error| error.to_string())?;
            configs.insert(directory.clone(), found);
        }
        let found = &configs[&directory];
        let key = found.as_ref().map(|(path, _)| path.clone());
        let config = found.as_ref().map(|(_, config)| config.clone());
        groups
            .entry(key)
            .or_insert_with(|| (config, Vec::new()))
            .1
            .push(index);
    }
    if groups.is_empty() {
        // No files: still check the rules and options of the current
        // directory's configuration so mistakes surface.
        let here = std::env::current_dir().map_err(|error| error.to_string())?;
        let config = Config::discover(&here)
            .map_err(|error| error.to_string())?
            .map(|(_, config)| config);
        select_rules(args, config.as_ref(), &command_line_rules)?;
    }

    let threads = args
        .jobs
        .map(usize::from)
        .or_else(|| {
            groups
                .values()
                .find_map(|(config, _)| config.as_ref().and_then(|config| config.workers))
        })
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .min(256);
    let pool = Pool::new(threads).map_err(|error| error.to_string())?;
    let mut bar = ProgressLine::new(std::io::stderr().is_terminal());
    let mut outcomes: Vec<Option<DocumentOutcome>> = vec![None; sources.len()];
    let mut rule_count = 0;
    // Rules marked `confirm` whose changes were left out of the result.
    let mut held_back: BTreeSet<String> = BTreeSet::new();
    // Rules marked `confirm` whose changes are in the result.
    let mut confirmed: BTreeSet<String> = BTreeSet::new();
    for (config_path, (config, members)) in &groups {
        if let Some(path) = config_path {
            tracing::info!(path = %path.display(), files = members.len(), "using configuration");
        }
        let rules = select_rules(args, config.as_ref(), &command_line_rules)?;
        rule_count = rule_count.max(rules.rules().len());
        let options = JobOptions {
            max_rounds: args
                .rounds
                .or(config.as_ref().map(|config| config.max_rounds))
                .unwrap_or(3),
            round_time_limit: Duration::from_secs(120),
            validate: true,
            // The rounds are bounded by --rounds; a long first round on a
            // large tree is no reason to stop.
            time_limit: Duration::MAX,
        };
        let mut run = |rules: &RuleSet, members: &[usize]| {
            let documents = members
                .iter()
                .map(|&index| JobDocument {
                    key: sources[index].path.display().to_string(),
                    language: sources[index].language,
                    text: Rope::from_str(&sources[index].text),
                })
                .collect();
            job::run_rules(
                &pool,
                rules,
                documents,
                &options,
                &CancelToken::new(),
                |progress| bar.update(progress),
            )
            .map_err(|error| error.to_string())
        };
        let results = run(&rules, members)?;
        for (&index, outcome) in members.iter().zip(results) {
            outcomes[index] = Some(outcome);
        }

        // Files where an unapproved `confirm` rule changed something run
        // again without those rules, so the result is what the other rules
        // make on their own, as if the held rules were never enabled.
        let unapproved = unapproved_confirm_rules(&rules, args);
        let mut rerun: Vec<usize> = Vec::new();
        for &index in members {
            let Some(outcome) = &outcomes[index] else {
                continue;
            };
            for id in applied_rules(outcome, &rules) {
                if unapproved.contains(&id) {
                    held_back.insert(id);
                    if rerun.last() != Some(&index) {
                        rerun.push(index);
                    }
                } else {
                    confirmed.insert(id);
                }
            }
        }
        if !rerun.is_empty() {
            tracing::info!(
                files = rerun.len(),
                rules = ?unapproved,
                "rerunning files without the rules marked confirm"
            );
            let reduced = rules.without(&unapproved);
            let results = run(&reduced, &rerun)?;
            for (&index, outcome) in rerun.iter().zip(results) {
                outcomes[index] = Some(outcome);
            }
        }
    }
    bar.finish();
    let outcomes: Vec<DocumentOutcome> = outcomes.into_iter().flatten().collect();
    let summary = job::summarize(&outcomes);
    let elapsed = started.elapsed();

    if args.json {
        let output = JsonOutput {
            summary: &summary,
            elapsed_ms: elapsed.as_secs_f64() * 1000.0,
            held_back: &held_back,
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
        let palette = Palette::choose(
            args.color,
            std::io::stdout().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        );
        let mut stdout = std::io::stdout().lock();
        for (source, outcome) in sources.iter().zip(&outcomes) {
            let text = diff::unified_for_change(
                &outcome.key,
                &source.text,
                &outcome.text,
                &outcome.change,
                palette,
            );
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

    if args.check && !args.json {
        // CI logs need to say where the rules still apply.
        for outcome in outcomes.iter().filter(|outcome| outcome.changed()) {
            let rules: BTreeSet<&str> = outcome
                .rounds
                .iter()
                .flat_map(|round| round.groups.iter())
                .filter(|group| matches!(group.outcome, GroupOutcome::Applied))
                .map(|group| group.label.as_str())
                .collect();
            let rules: Vec<&str> = rules.into_iter().collect();
            println!("{}: would change ({})", outcome.key, rules.join(", "));
        }
    }
    print_summary(&summary, rule_count, elapsed, args);
    print_confirm_notes(&held_back, &confirmed, args);
    if args.check && summary.changed_files > 0 {
        return Ok(ExitCode::from(EXIT_CHANGES_FOUND));
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads the rules files named with `--rules`.
fn load_rule_files(paths: &[PathBuf]) -> Result<Vec<RuleSet>, String> {
    paths
        .iter()
        .map(|path| RuleSet::load_file(path).map_err(|error| error.to_string()))
        .collect()
}

/// Combines a configuration's rules with the `--rules` files, adds the
/// built-in catalog unless the configuration turns it off, and applies
/// `disable`, `--only` and `--skip`.
fn select_rules(
    args: &Args,
    config: Option<&Config>,
    extra: &[RuleSet],
) -> Result<RuleSet, String> {
    let mut user_sets = Vec::new();
    if let Some(config) = config {
        user_sets.push(config.user_rules.clone());
    }
    user_sets.extend(extra.iter().cloned());
    let user = RuleSet::concat(user_sets).map_err(|error| error.to_string())?;
    let builtin = config.is_none_or(|config| config.builtin);
    let mut disable: Vec<String> = config
        .map(|config| config.disable.clone())
        .unwrap_or_default();
    let all = RuleSet::combine(user.clone(), builtin.then(RuleSet::builtin), &disable)
        .map_err(|error| error.to_string())?;
    for id in args.only.iter().chain(&args.skip) {
        if all.get(id).is_none() {
            return Err(format!(
                "unknown or disabled rule id {id:?} in --only or --skip; `concur rules` lists the ids in force"
            ));
        }
    }
    disable.extend(args.skip.iter().cloned());
    if !args.only.is_empty() {
        disable.extend(
            all.rules()
                .iter()
                .filter(|rule| !args.only.contains(&rule.id))
                .map(|rule| rule.id.clone()),
        );
    }
    RuleSet::combine(user, builtin.then(RuleSet::builtin), &disable)
        .map_err(|error| error.to_string())
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
        "{}, {} {action}, {}, {} applied, {}, {} dropped, {}, {:.0} ms",
        plural::count(summary.files, "file"),
        summary.changed_files,
        plural::count(rules, "rule"),
        summary.applied,
        plural::count(summary.conflicts, "conflict"),
        summary.dropped,
        plural::count(summary.rounds, "round"),
        elapsed.as_secs_f64() * 1000.0
    );
    if summary.failed_workers > 0 {
        eprintln!(
            "warning: {} failed and contributed no edits; rerun with --json for details",
            plural::count(summary.failed_workers, "worker")
        );
    }
}

/// Returns the ids of the rules of `rules` marked `confirm` whose changes
/// this run leaves out: with `--write` or `--check` and without `--yes`,
/// those not named in `--only`. `--diff` shows every change.
fn unapproved_confirm_rules(rules: &RuleSet, args: &Args) -> Vec<String> {
    if !(args.write || args.check) || args.yes {
        return Vec::new();
    }
    rules
        .rules()
        .iter()
        .filter(|rule| rule.confirm && !args.only.contains(&rule.id))
        .map(|rule| rule.id.clone())
        .collect()
}

/// Returns the ids of the rules marked `confirm` with a group applied in
/// any round of `outcome`.
fn applied_rules(outcome: &DocumentOutcome, rules: &RuleSet) -> BTreeSet<String> {
    outcome
        .rounds
        .iter()
        .flat_map(|round| round.groups.iter())
        .filter(|group| matches!(group.outcome, GroupOutcome::Applied))
        .filter(|group| rules.get(&group.label).is_some_and(|rule| rule.confirm))
        .map(|group| group.label.clone())
        .collect()
}

/// Prints which rules marked `confirm` were held back, or, for a diff,
/// which rules shown in it `--write` would hold back, and how to apply them.
fn print_confirm_notes(held_back: &BTreeSet<String>, confirmed: &BTreeSet<String>, args: &Args) {
    let list = |ids: &BTreeSet<String>| ids.iter().cloned().collect::<Vec<_>>().join(",");
    if !held_back.is_empty() {
        let ids = list(held_back);
        let outcome = if args.write {
            "not written"
        } else {
            "not counted"
        };
        eprintln!(
            "held back: changes of rules marked confirm were {outcome}: {ids}. Review them with \
             `concur apply --only {ids}`, then rerun with --yes, or with --only {ids}, to apply \
             them."
        );
    }
    let shows_diff = !args.write && !args.check;
    if shows_diff && !args.yes && !confirmed.is_empty() {
        let ids = list(confirmed);
        eprintln!(
            "note: the diff includes changes of rules marked confirm: {ids}. --write applies \
             them only with --yes, or with --only {ids}."
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
