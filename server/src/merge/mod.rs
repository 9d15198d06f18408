//! The N-way merge of worker proposals into one change, with a report of
//! what was applied, deduplicated, conflicted or dropped.
//!
//! `merge` runs four steps, each in its own module:
//! 1. `minimise`: each hunk shrinks to the tokens it really changes
//!    (`diff` and `tokens` do the diffing);
//! 2. `resolve`: the conflict rules decide every group in one order of
//!    (priority, worker id, group index), so the input order never matters;
//! 3. `validate` (when a language is given): groups that add syntax errors
//!    are dropped, worst-ranked first, and the text rebuilt;
//! 4. `output`: the merged text, its edits and its `ChangeSet`.
//!
//! `proposal` turns whole-file proposals into groups for the same path, and
//! `report` contains the plain data the merge returns.

mod diff;
pub mod edit;
pub mod minimise;
pub mod output;
pub mod proposal;
mod rank_set;
pub mod report;
mod resolve;
mod tokens;
mod validate;

use serde::{Serialize, Serializer};
use thiserror::Error;

pub use edit::{EditError, EditSet, Group, Hunk, WorkerId};
pub use minimise::minimise;
pub use output::MergedEdit;
pub use proposal::diff_proposal;
pub use report::{GroupOutcome, GroupRef, GroupReport, MergeReport, WorkerReport};

use crate::syntax::{Language, SyntaxError};
use crate::text::ChangeSet;
use minimise::{Minimiser, Piece};
use output::{build_layout, change_set, Layout};
use resolve::{resolve, Candidate, Status};

/// How to merge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MergeOptions {
    /// Parse the merged text in this language and drop groups that add
    /// syntax errors; `None` skips validation. Serialised as the language
    /// id.
    #[serde(serialize_with = "serialize_language")]
    pub language: Option<Language>,
    /// Rounds of dropping groups for syntax errors, each followed by one
    /// parse of the rebuilt text.
    pub max_validation_passes: usize,
}

impl Default for MergeOptions {
    fn default() -> Self {
        Self {
            language: None,
            max_validation_passes: 8,
        }
    }
}

/// The result of a merge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Merged {
    /// The change from the base to `text`, in chars of the base. Serialised
    /// as its replacements, in chars.
    #[serde(serialize_with = "serialize_change")]
    pub change: ChangeSet,
    /// The merged text.
    pub text: String,
    /// Every applied minimised hunk, sorted by base position, with the
    /// group it belongs to.
    pub edits: Vec<MergedEdit>,
    pub report: MergeReport,
}

/// Invalid input to `merge`.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum MergeError {
    #[error("hunk {hunk} of group {group} from {worker} does not fit the base text: {source}")]
    InvalidHunk {
        worker: WorkerId,
        group: usize,
        hunk: usize,
        source: EditError,
    },
    #[error(
        "two different edit sets claim {worker}; give each worker its own id \
         (an identical set passed twice is merged once)"
    )]
    DuplicateWorker { worker: WorkerId },
    #[error(
        "the edit sets hold {hunks} hunks in {groups} groups; one merge takes at most \
         {max} of each, so split the job by file or by worker",
        max = u32::MAX
    )]
    TooLarge { hunks: usize, groups: usize },
    #[error("syntax validation failed: {0}")]
    Syntax(#[from] SyntaxError),
}

/// Merges the edit sets of many workers, all made on `base`, into one
/// change.
///
/// The result depends only on the set of edit sets: any order of `sets`
/// gives byte-identical output, and a set passed twice counts once. Groups
/// apply whole or not at all. Costs O(n log n) for n hunks. With
/// `options.language` set, each validation pass adds one parse of the
/// merged text and, for an error that several groups touch, one
/// incremental reparse of the base per such group.
///
/// # Errors
/// `InvalidHunk` for a hunk out of bounds or off a char boundary of `base`,
/// `DuplicateWorker` for two different sets with one worker id, `TooLarge`
/// for more than `u32::MAX` hunks or groups, `Syntax` when parsing fails.
pub fn merge(base: &str, sets: &[EditSet], options: &MergeOptions) -> Result<Merged, MergeError> {
    merge_with_tree(base, None, sets, options)
}

/// Merges as `merge` does, reusing `base_tree`, the caller's parse of
/// `base`, so that validation reparses the merged text incrementally
/// instead of parsing the base and the result from scratch.
///
/// # Errors
/// As `merge`.
pub fn merge_with_tree(
    base: &str,
    base_tree: Option<&tree_sitter::Tree>,
    sets: &[EditSet],
    options: &MergeOptions,
) -> Result<Merged, MergeError> {
    let sets = unique_sets(sets)?;
    let plan = Plan::build(base, &sets)?;
    let resolution = resolve(&plan.candidates, &plan.pieces, &plan.owner);
    let order = resolution.order;
    let mut status = resolution.status;
    let mut layout = plan.layout(&status, &order);
    let new_syntax_errors = match options.language {
        Some(language) => validate::back_off(
            language,
            base_tree,
            &plan,
            options.max_validation_passes,
            &mut status,
            &order,
            &mut layout,
        )?,
        None => Vec::new(),
    };
    let change = change_set(base, &layout);
    let groups = plan.report(&sets, &status);
    Ok(Merged {
        change,
        text: layout.text,
        edits: layout.edits,
        report: MergeReport {
            groups,
            workers: Vec::new(),
            new_syntax_errors,
        },
    })
}

/// Sorts the sets by worker id and removes exact repeats.
fn unique_sets(sets: &[EditSet]) -> Result<Vec<&EditSet>, MergeError> {
    let mut sorted: Vec<&EditSet> = sets.iter().collect();
    sorted.sort_by_key(|set| set.worker);
    let mut unique: Vec<&EditSet> = Vec::with_capacity(sorted.len());
    for set in sorted {
        match unique.last() {
            Some(last) if last.worker == set.worker => {
                if *last != set {
                    return Err(MergeError::DuplicateWorker { worker: set.worker });
                }
            }
            _ => unique.push(set),
        }
    }
    Ok(unique)
}

/// Every group of every set, minimised and flattened, in (worker, group
/// index) order.
pub(crate) struct Plan<'a> {
    pub base: &'a str,
    pub candidates: Vec<Candidate>,
    pub refs: Vec<GroupRef>,
    pub pieces: Vec<Piece<'a>>,
    /// The candidate each piece belongs to.
    pub owner: Vec<u32>,
}

impl<'a> Plan<'a> {
    fn build(base: &'a str, sets: &[&'a EditSet]) -> Result<Self, MergeError> {
        let group_count = sets.iter().map(|set| set.groups.len()).sum();
        let hunk_count = sets
            .iter()
            .flat_map(|set| &set.groups)
            .map(|group| group.hunks().len())
            .sum();
        if u32::try_from(hunk_count).is_err() || u32::try_from(group_count).is_err() {
            return Err(MergeError::TooLarge {
                hunks: hunk_count,
                groups: group_count,
            });
        }
        let mut plan = Plan {
            base,
            candidates: Vec::with_capacity(group_count),
            refs: Vec::with_capacity(group_count),
            pieces: Vec::with_capacity(hunk_count),
            owner: Vec::with_capacity(hunk_count),
        };
        let mut minimiser = Minimiser::default();
        for set in sets {
            for (index, group) in set.groups.iter().enumerate() {
                for (hunk_index, hunk) in group.hunks().iter().enumerate() {
                    hunk.check_against(base)
                        .map_err(|source| MergeError::InvalidHunk {
                            worker: set.worker,
                            group: index,
                            hunk: hunk_index,
                            source,
                        })?;
                }
                let first = plan.pieces.len();
                let added = minimiser.minimise_group(base, group, &mut plan.pieces);
                // Fits: there are at most `u32::MAX` groups.
                let candidate = plan.candidates.len() as u32;
                plan.owner.extend(std::iter::repeat_n(candidate, added));
                plan.candidates.push(Candidate {
                    key: (set.priority, set.worker.0, index),
                    pieces: first..plan.pieces.len(),
                });
                plan.refs.push(GroupRef {
                    worker: set.worker,
                    group: index,
                });
            }
        }
        Ok(plan)
    }

    /// Builds the merged text of the groups whose status is `Applied`.
    /// `order` is the position order of all pieces.
    pub(crate) fn layout(&self, status: &[Status], order: &[u32]) -> Layout {
        let applied: Vec<u32> = order
            .iter()
            .copied()
            .filter(|&piece| status[self.owner[piece as usize] as usize] == Status::Applied)
            .collect();
        build_layout(self.base, &self.pieces, &self.owner, &self.refs, &applied)
    }

    /// Builds the text of the base with only group `group` applied.
    pub(crate) fn layout_alone(&self, group: usize) -> Layout {
        let pieces = self.candidates[group].pieces.clone();
        let applied: Vec<u32> = pieces.map(|piece| piece as u32).collect();
        build_layout(self.base, &self.pieces, &self.owner, &self.refs, &applied)
    }

    fn report(&self, sets: &[&EditSet], status: &[Status]) -> Vec<GroupReport> {
        let mut groups = Vec::with_capacity(self.candidates.len());
        let mut candidate = 0;
        for set in sets {
            for group in &set.groups {
                let outcome = match status[candidate] {
                    Status::Unchanged => GroupOutcome::Unchanged,
                    Status::Applied => GroupOutcome::Applied,
                    Status::Deduplicated { with } => GroupOutcome::Deduplicated {
                        with: self.refs[with],
                    },
                    Status::Conflicted { with } => GroupOutcome::Conflicted {
                        with: self.refs[with],
                    },
                    Status::DroppedForSyntax => GroupOutcome::DroppedForSyntax,
                };
                groups.push(GroupReport {
                    group: self.refs[candidate],
                    label: set.label.clone(),
                    priority: set.priority,
                    span: group.span(),
                    outcome,
                });
                candidate += 1;
            }
        }
        groups
    }
}

/// Serialises a `ChangeSet` as its replacements: `{start, end, text}` with
/// `start` and `end` in chars of the base.
fn serialize_change<S: Serializer>(change: &ChangeSet, serializer: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Replacement<'a> {
        start: usize,
        end: usize,
        text: &'a str,
    }
    serializer.collect_seq(
        change
            .replacements()
            .into_iter()
            .map(|replacement| Replacement {
                start: replacement.range.start.0,
                end: replacement.range.end.0,
                text: replacement.text,
            }),
    )
}

fn serialize_language<S: Serializer>(
    language: &Option<Language>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match language {
        Some(language) => serializer.serialize_some(language.id()),
        None => serializer.serialize_none(),
    }
}
