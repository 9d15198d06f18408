//! Refactor jobs: the engine shared by the CLI and the server. A job runs
//! every enabled rule on every document in rounds. Each round parses once,
//! matches all rules in one combined query pass, and fans the matches out
//! to one worker per (rule, document). It then merges each document's
//! proposals, and the next round starts from the merged text, until
//! nothing more applies or `max_rounds` is reached.

mod attribution;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ropey::Rope;
use serde::Serialize;
use thiserror::Error;

pub use attribution::{attribute_merge, Attribution, Tracker};

use crate::merge::{self, GroupRef, MergeError, MergeOptions, MergeReport, WorkerId, WorkerReport};
use crate::rules::{Matcher, RuleError, RuleMatch, RuleSet};
use crate::syntax::{Language, SyntaxError};
use crate::text::{ChangeSet, ChangeSetError};
use crate::workers::{CancelToken, Pool, Progress, WorkerFailure, WorkerTask};

/// Settings of a job.
#[derive(Clone, Debug)]
pub struct JobOptions {
    /// Rounds of match-and-merge; later rounds see the earlier rounds' result.
    pub max_rounds: u32,
    /// Time limit of each round; late workers contribute nothing.
    pub round_time_limit: Duration,
    /// Parse the merged result and back off groups that add syntax errors.
    pub validate: bool,
    /// Time after which no further round starts; the job then returns what
    /// the rounds so far produced. It bounds rules whose output matches
    /// again and grows with every round.
    pub time_limit: Duration,
}

impl Default for JobOptions {
    fn default() -> Self {
        Self {
            max_rounds: 3,
            round_time_limit: Duration::from_secs(30),
            validate: true,
            time_limit: Duration::from_secs(120),
        }
    }
}

/// One document of a job: a key the caller understands (a path or a URI)
/// and the text of the version the job works on.
#[derive(Clone, Debug)]
pub struct JobDocument {
    pub key: String,
    pub language: Language,
    pub text: Rope,
}

/// Result of a job for one document.
#[derive(Clone, Debug)]
pub struct DocumentOutcome {
    pub key: String,
    /// The whole job's change, on the text the document had.
    pub change: ChangeSet,
    pub text: String,
    /// One merge report per round that ran.
    pub rounds: Vec<MergeReport>,
    /// For each replacement of `change.replacements()`, in the same order,
    /// the rules (indexes in the job's `RuleSet`) and groups whose applied
    /// edits make it up. Several share a replacement when their edits
    /// touch, or when a later round rewrote an earlier round's output.
    pub attribution: Vec<Attribution>,
    /// The applied groups that `attribution` names: (round, group).
    pub group_refs: Vec<(usize, GroupRef)>,
}

impl DocumentOutcome {
    pub fn changed(&self) -> bool {
        !self.change.is_identity()
    }
}

/// Totals of a job, for summaries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct JobSummary {
    pub files: usize,
    pub changed_files: usize,
    pub applied: usize,
    pub conflicts: usize,
    pub dropped: usize,
    pub rounds: u32,
    pub workers: usize,
    pub failed_workers: usize,
}

/// Errors that stop a job; a single worker's failure is not one of them.
#[derive(Debug, Error)]
pub enum JobError {
    #[error(transparent)]
    Rules(#[from] RuleError),
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    #[error("merging {key} failed: {source}")]
    Merge {
        key: String,
        #[source]
        source: MergeError,
    },
    #[error("combining the rounds of {key} failed: {source}")]
    Compose {
        key: String,
        #[source]
        source: ChangeSetError,
    },
    #[error("the job was cancelled")]
    Cancelled,
}

/// Runs `rules` on `documents` and returns one outcome per document, in the
/// input order. `progress` is called for every finished worker of every
/// round.
///
/// # Errors
/// `Rules` when the rules cannot be compiled for a document's language,
/// `Merge` on an invalid proposal, `Cancelled` when `cancel` fired.
pub fn run_rules(
    pool: &Pool,
    rules: &RuleSet,
    documents: Vec<JobDocument>,
    options: &JobOptions,
    cancel: &CancelToken,
    mut progress: impl FnMut(Progress),
) -> Result<Vec<DocumentOutcome>, JobError> {
    let mut matchers: HashMap<Language, Arc<Matcher>> = HashMap::new();
    // Compiled once per language and shared by every round and worker.
    let mut states: Vec<DocumentState> = Vec::with_capacity(documents.len());
    for document in documents {
        if let std::collections::hash_map::Entry::Vacant(entry) = matchers.entry(document.language)
        {
            entry.insert(rules.matcher(document.language)?);
        }
        states.push(DocumentState {
            change: ChangeSet::new(document.text.len_chars()),
            current: document.text.clone(),
            tree: None,
            rounds: Vec::new(),
            tracker: Tracker::default(),
            settled: false,
            document,
        });
    }

    let started = Instant::now();
    for round in 0..options.max_rounds.max(1) {
        if cancel.is_cancelled() {
            return Err(JobError::Cancelled);
        }
        if round > 0 && started.elapsed() > options.time_limit {
            tracing::warn!(
                rounds = round,
                limit_s = options.time_limit.as_secs(),
                "the job reached its time limit; keeping the rounds so far"
            );
            break;
        }
        let mut tasks = Vec::new();
        let mut owners: Vec<usize> = Vec::new();
        for (index, state) in states
            .iter_mut()
            .enumerate()
            .filter(|(_, state)| !state.settled)
        {
            let matcher = Arc::clone(&matchers[&state.document.language]);
            let tree = state.document.language.parse_rope(&state.current, None)?;
            state.tree = Some(tree.clone());
            let mut per_rule = find_matches(pool, &matcher, &tree, &state.current);
            for (rule_index, matches) in per_rule.iter_mut().enumerate() {
                if matches.is_empty() {
                    continue;
                }
                let rule = &rules.rules()[rule_index];
                let matches = std::mem::take(matches);
                let matcher = Arc::clone(&matcher);
                let text = state.current.clone();
                let worker = WorkerId(u32::try_from(rule_index).unwrap_or(u32::MAX));
                owners.push(index);
                tasks.push(WorkerTask {
                    worker,
                    label: rule.id.clone(),
                    priority: rule.priority,
                    run: Box::new(move |context| {
                        let mut groups = Vec::with_capacity(matches.len());
                        for found in &matches {
                            if context.should_stop() {
                                return Err("stopped before rendering every match".to_owned());
                            }
                            groups.push(
                                matcher
                                    .render(rule_index, found, &text)
                                    .map_err(|error| error.to_string())?,
                            );
                        }
                        Ok(groups)
                    }),
                });
            }
        }
        if tasks.is_empty() {
            break;
        }

        let results = run_grouped(pool, tasks, owners, options, cancel, &mut progress);
        if cancel.is_cancelled() {
            return Err(JobError::Cancelled);
        }

        let mut any_applied = false;
        for (index, state) in states.iter_mut().enumerate() {
            let Some(worker_results) = results.get(&index) else {
                if !state.settled {
                    state.settled = true;
                }
                continue;
            };
            let sets: Vec<_> = worker_results
                .iter()
                .map(|result| result.edit_set())
                .collect();
            let base = state.current.to_string();
            let merge_options = MergeOptions {
                language: options.validate.then_some(state.document.language),
                ..MergeOptions::default()
            };
            let mut merged =
                merge::merge_with_tree(&base, state.tree.as_ref(), &sets, &merge_options).map_err(
                    |source| JobError::Merge {
                        key: state.document.key.clone(),
                        source,
                    },
                )?;
            merged.report.workers = worker_results
                .iter()
                .map(|result| WorkerReport {
                    worker: result.worker,
                    label: result.label.clone(),
                    elapsed: result.elapsed,
                    error: result.outcome.as_ref().err().map(WorkerFailure::to_string),
                })
                .collect();
            let applied = merged.report.applied();
            state.change =
                state
                    .change
                    .compose(&merged.change)
                    .map_err(|source| JobError::Compose {
                        key: state.document.key.clone(),
                        source,
                    })?;
            state.current = Rope::from_str(&merged.text);
            let round = state.rounds.len();
            state.tracker.record(round, &merged, &state.current);
            state.rounds.push(merged.report);
            if applied == 0 {
                state.settled = true;
            } else {
                any_applied = true;
            }
        }
        if !any_applied {
            break;
        }
    }

    Ok(states
        .into_iter()
        .map(|state| DocumentOutcome {
            attribution: state.tracker.attribute(&state.change),
            group_refs: state.tracker.group_refs,
            key: state.document.key,
            change: state.change,
            text: state.current.to_string(),
            rounds: state.rounds,
        })
        .collect())
}

/// Documents from this size up are matched in parts on several threads.
const PARALLEL_MATCH_MIN_BYTES: usize = 64 * 1024;

/// Parts per pool thread, so that a part full of matches does not leave
/// the other threads idle.
const PARTS_PER_THREAD: usize = 4;

/// Runs the combined query over `text` and returns the matches per rule,
/// as `Matcher::find` does. A large document is cut at top-level items
/// into byte ranges matched on the pool's threads. `Matcher::find` keeps
/// each match in the range where its `@match` starts, so the joined
/// result equals one pass over the whole document.
fn find_matches(
    pool: &Pool,
    matcher: &Matcher,
    tree: &tree_sitter::Tree,
    text: &Rope,
) -> Vec<Vec<RuleMatch>> {
    let parts = pool.thread_count() * PARTS_PER_THREAD;
    if pool.thread_count() < 2 || text.len_bytes() < PARALLEL_MATCH_MIN_BYTES {
        return matcher.find(tree, text, None);
    }
    let ranges = top_level_ranges(tree, text.len_bytes(), parts);
    if ranges.len() < 2 {
        return matcher.find(tree, text, None);
    }
    let found = pool.map(ranges, |range| matcher.find(tree, text, Some(range)));
    let mut joined: Vec<Vec<RuleMatch>> = vec![Vec::new(); matcher.rules().len()];
    for part in found {
        for (rule, matches) in joined.iter_mut().zip(part) {
            rule.extend(matches);
        }
    }
    joined
}

/// Cuts `0..len` into at most `parts` ranges of similar size, each cut at
/// the start of a top-level node of `tree`.
fn top_level_ranges(
    tree: &tree_sitter::Tree,
    len: usize,
    parts: usize,
) -> Vec<std::ops::Range<usize>> {
    let target = len.div_ceil(parts.max(1));
    let root = tree.root_node();
    let mut cursor = root.walk();
    let mut cuts = vec![0];
    for item in root.children(&mut cursor) {
        let start = item.start_byte();
        if start >= cuts[cuts.len() - 1] + target && start < len {
            cuts.push(start);
        }
    }
    cuts.push(len);
    cuts.windows(2).map(|pair| pair[0]..pair[1]).collect()
}

struct DocumentState {
    document: JobDocument,
    current: Rope,
    /// The parse of `current` made for matching, reused by validation.
    tree: Option<tree_sitter::Tree>,
    change: ChangeSet,
    rounds: Vec<MergeReport>,
    /// The positions in `current` of each applied edit of every round.
    tracker: Tracker,
    settled: bool,
}

/// Runs all tasks of a round on the pool and returns their results grouped
/// by the index of the document each task belongs to.
fn run_grouped(
    pool: &Pool,
    tasks: Vec<WorkerTask>,
    owners: Vec<usize>,
    options: &JobOptions,
    cancel: &CancelToken,
    progress: &mut impl FnMut(Progress),
) -> HashMap<usize, Vec<crate::workers::WorkerResult>> {
    // The pool identifies results by worker id, so give every task of the
    // round a unique id and map back afterwards.
    let mut original = Vec::with_capacity(tasks.len());
    let renumbered: Vec<WorkerTask> = tasks
        .into_iter()
        .enumerate()
        .map(|(position, mut task)| {
            original.push(task.worker);
            task.worker = WorkerId(u32::try_from(position).unwrap_or(u32::MAX));
            task
        })
        .collect();
    let started = Instant::now();
    let results = pool.run(renumbered, options.round_time_limit, cancel, |done| {
        progress(done)
    });
    tracing::debug!(
        workers = results.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "round finished"
    );
    let mut grouped: HashMap<usize, Vec<crate::workers::WorkerResult>> = HashMap::new();
    for mut result in results {
        let position = result.worker.0 as usize;
        result.worker = original[position];
        grouped.entry(owners[position]).or_default().push(result);
    }
    for list in grouped.values_mut() {
        list.sort_by_key(|result| result.worker);
    }
    grouped
}

/// Adds up the outcomes of a job.
pub fn summarize(outcomes: &[DocumentOutcome]) -> JobSummary {
    let mut summary = JobSummary {
        files: outcomes.len(),
        ..JobSummary::default()
    };
    for outcome in outcomes {
        if outcome.changed() {
            summary.changed_files += 1;
        }
        summary.rounds = summary
            .rounds
            .max(u32::try_from(outcome.rounds.len()).unwrap_or(u32::MAX));
        for report in &outcome.rounds {
            summary.applied += report.applied();
            summary.workers += report.workers.len();
            summary.failed_workers += report
                .workers
                .iter()
                .filter(|worker| worker.error.is_some())
                .count();
        }
        // A group that lost a conflict may apply in a later round, so only
        // the last round's losses are final.
        if let Some(last) = outcome.rounds.last() {
            summary.conflicts += last.conflicts();
            summary.dropped += last.dropped();
        }
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(key: &str, text: &str) -> JobDocument {
        JobDocument {
            key: key.to_owned(),
            language: Language::Rust,
            text: Rope::from_str(text),
        }
    }

    fn run(documents: Vec<JobDocument>, max_rounds: u32) -> Vec<DocumentOutcome> {
        let pool = Pool::new(2).unwrap();
        let options = JobOptions {
            max_rounds,
            ..JobOptions::default()
        };
        run_rules(
            &pool,
            &RuleSet::builtin(),
            documents,
            &options,
            &CancelToken::new(),
            |_| {},
        )
        .unwrap()
    }

    #[test]
    fn time_limit_stops_further_rounds() {
        let pool = Pool::new(2).unwrap();
        let nested = || vec![document("a.rs", "fn f() -> R { try!(try!(a)); Ok(()) }\n")];
        let limited = JobOptions {
            max_rounds: 5,
            time_limit: Duration::ZERO,
            ..JobOptions::default()
        };
        let cancel = CancelToken::new();
        let outcome = run_rules(
            &pool,
            &RuleSet::builtin(),
            nested(),
            &limited,
            &cancel,
            |_| {},
        )
        .unwrap()
        .remove(0);
        assert_eq!(outcome.rounds.len(), 1);
        assert!(outcome.text.contains("try!"), "{}", outcome.text);
        let outcome = run(nested(), 5).remove(0);
        assert!(outcome.text.contains("a??"), "{}", outcome.text);
        assert!(!outcome.text.contains("try!"), "{}", outcome.text);
    }

    #[test]
    fn nested_matches_need_a_second_round() {
        let text =
            "fn f(r: Result<Result<i32, E>, E>) -> Result<i32, E> {\n    Ok(try!(try!(r)))\n}\n";
        let one = run(vec![document("a.rs", text)], 1);
        let two = run(vec![document("a.rs", text)], 3);
        assert_eq!(one[0].rounds.len(), 1);
        assert!(
            one[0].text.contains("try!"),
            "one round leaves the inner match: {}",
            one[0].text
        );
        assert_eq!(
            two[0].text,
            "fn f(r: Result<Result<i32, E>, E>) -> Result<i32, E> {\n    Ok(r??)\n}\n"
        );
        assert!(two[0].rounds.len() >= 2);
        let mut replayed = text.to_owned();
        replayed = two[0].change.apply_to_str(&replayed).unwrap();
        assert_eq!(
            replayed, two[0].text,
            "the composed change equals the rounds"
        );
    }

    #[test]
    fn documents_keep_their_order_and_keys() {
        let outcomes = run(
            vec![
                document("b.rs", "fn b(v: Vec<u8>) -> bool { v.len() == 0 }\n"),
                document("a.rs", "fn a() {}\n"),
            ],
            3,
        );
        assert_eq!(outcomes[0].key, "b.rs");
        assert_eq!(outcomes[1].key, "a.rs");
        assert!(outcomes[0].changed());
        assert!(!outcomes[1].changed());
        let summary = summarize(&outcomes);
        assert_eq!(summary.files, 2);
        assert_eq!(summary.changed_files, 1);
        assert_eq!(summary.applied, 1);
        assert_eq!(summary.failed_workers, 0);
    }

    #[test]
    fn parallel_matching_equals_one_pass() {
        let rules = RuleSet::builtin();
        let examples: String = rules
            .rules()
            .iter()
            .filter_map(|rule| rule.example_before.clone())
            .collect();
        let copies = PARALLEL_MATCH_MIN_BYTES / examples.len() + 2;
        let rope = Rope::from_str(&examples.repeat(copies));
        let tree = Language::Rust.parse_rope(&rope, None).unwrap();
        let matcher = rules.matcher(Language::Rust).unwrap();
        let pool = Pool::new(2).unwrap();
        let ranges = top_level_ranges(&tree, rope.len_bytes(), 8);
        assert_eq!(ranges.len(), 8, "{ranges:?}");
        let parallel = find_matches(&pool, &matcher, &tree, &rope);
        let single = matcher.find(&tree, &rope, None);
        let total: usize = single.iter().map(Vec::len).sum();
        assert!(total >= copies * rules.rules().len(), "{total} matches");
        assert_eq!(parallel, single);
    }

    #[test]
    fn cancelled_job_reports_cancelled() {
        let pool = Pool::new(1).unwrap();
        let cancel = CancelToken::new();
        cancel.cancel();
        let result = run_rules(
            &pool,
            &RuleSet::builtin(),
            vec![document(
                "a.rs",
                "fn a(v: Vec<u8>) -> bool { v.len() == 0 }\n",
            )],
            &JobOptions::default(),
            &cancel,
            |_| {},
        );
        assert!(matches!(result, Err(JobError::Cancelled)));
    }

    #[test]
    fn progress_counts_every_worker() {
        let pool = Pool::new(2).unwrap();
        let mut seen = Vec::new();
        let text =
            "fn f(v: Vec<u8>, b: bool) -> bool {\n    return v.len() == 0 && b == true;\n}\n";
        run_rules(
            &pool,
            &RuleSet::builtin(),
            vec![document("a.rs", text)],
            &JobOptions::default(),
            &CancelToken::new(),
            |progress| seen.push(progress),
        )
        .unwrap();
        let first = seen.first().copied().unwrap();
        assert_eq!(first.done, 1);
        assert!(
            first.total >= 3,
            "needless-return, len-zero and bool-comparison run"
        );
        assert!(seen.iter().any(|progress| progress.done == progress.total));
    }
}
