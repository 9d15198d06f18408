//! The merge report: what became of every group, and how each worker ran.
//! Plain data, serialisable for `--json` output; nothing here decides.

use std::ops::Range;
use std::time::Duration;

use serde::Serialize;

use super::edit::WorkerId;

/// Names one group: the worker and the group's index in that worker's
/// `EditSet::groups`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct GroupRef {
    pub worker: WorkerId,
    pub group: usize,
}

/// The outcome of one group in a merge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GroupOutcome {
    /// Every hunk is in the merged text.
    Applied,
    /// Another group already makes this group's changes: the same hunks,
    /// or inserts that contain this group's inserts.
    Deduplicated { with: GroupRef },
    /// A hunk overlaps a hunk of `with`, which ranks better: lower
    /// priority, then lower worker id, then lower group index. No hunk of
    /// this group applies.
    Conflicted { with: GroupRef },
    /// The group added a syntax error, or it duplicated a group that did.
    DroppedForSyntax,
    /// The user edited the text the group touches after the snapshot was
    /// taken. The merge never sets this; the rebase does.
    DroppedForUserEdit,
    /// Every hunk replaced text with the same text.
    Unchanged,
}

/// One group's line in the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupReport {
    pub group: GroupRef,
    /// The worker's label: a rule id or a proposal's name.
    pub label: String,
    /// The worker's priority; lower wins a conflict.
    pub priority: i64,
    /// Bytes of the base from the group's first hunk to its last, as the
    /// worker proposed them (before minimisation).
    pub span: Range<usize>,
    pub outcome: GroupOutcome,
}

/// The run time and failure, if any, of one worker. The job layer fills
/// these in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WorkerReport {
    pub worker: WorkerId,
    pub label: String,
    /// Serialised as `elapsed_ms`, a number of milliseconds, like the
    /// other times in `--json` output.
    #[serde(rename = "elapsed_ms", serialize_with = "serialize_millis")]
    pub elapsed: Duration,
    /// Why the worker produced no edit set: a panic, a timeout, an error.
    pub error: Option<String>,
}

fn serialize_millis<S: serde::Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64() * 1000.0)
}

/// The outcome of every group of one merge.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MergeReport {
    /// One entry per group of every edit set, sorted by worker id and then
    /// group index.
    pub groups: Vec<GroupReport>,
    /// Filled in by the job layer; `merge` leaves it empty.
    pub workers: Vec<WorkerReport>,
    /// Syntax errors, in bytes of the merged text, that are not in a region
    /// of the base that had one and that dropping groups did not remove:
    /// either no applied group touches them, or the validation passes ran
    /// out. Empty when the merge did not validate.
    pub new_syntax_errors: Vec<Range<usize>>,
}

impl MergeReport {
    fn count(&self, matches: impl Fn(&GroupOutcome) -> bool) -> usize {
        self.groups
            .iter()
            .filter(|report| matches(&report.outcome))
            .count()
    }

    /// Number of groups applied.
    pub fn applied(&self) -> usize {
        self.count(|outcome| matches!(outcome, GroupOutcome::Applied))
    }

    /// Number of groups that lost a conflict.
    pub fn conflicts(&self) -> usize {
        self.count(|outcome| matches!(outcome, GroupOutcome::Conflicted { .. }))
    }

    /// Number of groups dropped for adding a syntax error or because the
    /// user edited their text.
    pub fn dropped(&self) -> usize {
        self.count(|outcome| {
            matches!(
                outcome,
                GroupOutcome::DroppedForSyntax | GroupOutcome::DroppedForUserEdit
            )
        })
    }

    /// Number of groups whose changes another group already makes.
    pub fn deduplicated(&self) -> usize {
        self.count(|outcome| matches!(outcome, GroupOutcome::Deduplicated { .. }))
    }

    /// Number of groups that changed nothing.
    pub fn unchanged(&self) -> usize {
        self.count(|outcome| matches!(outcome, GroupOutcome::Unchanged))
    }

    /// Finds the report of one group by binary search.
    pub fn group(&self, group: GroupRef) -> Option<&GroupReport> {
        self.groups
            .binary_search_by_key(&group, |report| report.group)
            .ok()
            .map(|index| &self.groups[index])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(worker: u32, group: usize, outcome: GroupOutcome) -> GroupReport {
        GroupReport {
            group: GroupRef {
                worker: WorkerId(worker),
                group,
            },
            label: format!("rule-{worker}"),
            priority: 0,
            span: 0..1,
            outcome,
        }
    }

    #[test]
    fn counts_and_lookup() {
        let winner = GroupRef {
            worker: WorkerId(1),
            group: 0,
        };
        let merge = MergeReport {
            groups: vec![
                report(1, 0, GroupOutcome::Applied),
                report(1, 1, GroupOutcome::Unchanged),
                report(2, 0, GroupOutcome::Conflicted { with: winner }),
                report(3, 0, GroupOutcome::Deduplicated { with: winner }),
                report(4, 0, GroupOutcome::DroppedForSyntax),
                report(5, 0, GroupOutcome::DroppedForUserEdit),
            ],
            ..MergeReport::default()
        };
        assert_eq!(merge.applied(), 1);
        assert_eq!(merge.unchanged(), 1);
        assert_eq!(merge.conflicts(), 1);
        assert_eq!(merge.deduplicated(), 1);
        assert_eq!(merge.dropped(), 2);
        let found = merge.group(GroupRef {
            worker: WorkerId(2),
            group: 0,
        });
        assert_eq!(
            found.map(|r| r.outcome),
            Some(GroupOutcome::Conflicted { with: winner })
        );
        assert!(merge
            .group(GroupRef {
                worker: WorkerId(9),
                group: 0
            })
            .is_none());
    }

    #[test]
    fn worker_elapsed_serialises_as_milliseconds() {
        let json = serde_json::to_string(&WorkerReport {
            worker: WorkerId(2),
            label: "len-zero".to_owned(),
            elapsed: Duration::from_micros(1_500),
            error: None,
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"worker":2,"label":"len-zero","elapsed_ms":1.5,"error":null}"#
        );
    }

    #[test]
    fn outcome_serialises_with_a_kind_tag() {
        let json = serde_json::to_string(&GroupOutcome::Conflicted {
            with: GroupRef {
                worker: WorkerId(3),
                group: 1,
            },
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"kind":"conflicted","with":{"worker":3,"group":1}}"#
        );
    }
}
