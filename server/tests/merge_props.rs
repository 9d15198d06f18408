//! Property tests of the merge over random multi-byte texts and random
//! edit sets: order independence, idempotence, group atomicity, sorted
//! disjoint output, and same-offset inserts in (priority, worker) order.
//! A second property runs the syntax validation on Rust-like text.

use std::collections::HashMap;

use concur::merge::{
    merge, minimise, EditSet, Group, GroupOutcome, GroupRef, Hunk, MergeOptions, Merged, WorkerId,
};
use concur::syntax::{error_ranges, Language};
use proptest::prelude::*;

/// Pieces of 1-, 2-, 3- and 4-byte chars, words and line breaks.
const PIECES: &[&str] = &[
    "a", "b", "foo", " ", "é", "日", "🦀", "\n", "(", ")", ";", "x1",
];

/// Replacement texts: few enough that workers often propose equal hunks.
const TEXTS: &[&str] = &[
    "",
    "a",
    "b",
    "foo",
    "é",
    "🦀\n",
    "use a;\n",
    "use a;\nuse b;\n",
    "(",
];

/// Pieces of Rust-like text for the validation property.
const RUST_PIECES: &[&str] = &[
    "fn f() {",
    "}",
    "let x = 1;",
    "\n",
    " ",
    "(",
    ")",
    "a",
    "é",
    "{",
    ";",
    "g();",
];

/// Replacement texts for the validation property.
const RUST_TEXTS: &[&str] = &["", "{", "}", "x", "let y = 2;", "(", "é", "a", "g();\n"];

fn base_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..30).prop_map(|pieces| pieces.concat())
}

fn rust_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(RUST_PIECES), 0..20)
        .prop_map(|pieces| pieces.concat())
}

/// A group as (position seed, action, text index) triples. Action 0 skips
/// the position, 1 inserts there, 2 replaces up to the next position.
type GroupSpec = Vec<(u16, u8, usize)>;

fn group_spec() -> impl Strategy<Value = GroupSpec> {
    prop::collection::vec((any::<u16>(), 0..3u8, 0..TEXTS.len()), 1..4)
}

/// Workers as (priority, indexes into the shared pool of groups, own
/// groups).
type WorkerSpec = (i64, Vec<usize>, Vec<GroupSpec>);

fn worker_spec() -> impl Strategy<Value = WorkerSpec> {
    (
        0..3i64,
        prop::collection::vec(0..4usize, 0..3),
        prop::collection::vec(group_spec(), 0..3),
    )
}

/// Byte offsets of every char boundary of `base`, end included.
fn boundaries(base: &str) -> Vec<usize> {
    base.char_indices()
        .map(|(at, _)| at)
        .chain(std::iter::once(base.len()))
        .collect()
}

fn build_group(base: &str, spec: &GroupSpec, texts: &[&str]) -> Group {
    let cuts = boundaries(base);
    let mut points: Vec<(usize, u8, usize)> = spec
        .iter()
        .map(|&(seed, action, text)| (cuts[seed as usize % cuts.len()], action, text))
        .collect();
    points.sort_unstable();
    points.dedup_by_key(|point| point.0);
    let mut hunks = Vec::new();
    for (index, &(at, action, text)) in points.iter().enumerate() {
        match action {
            1 => hunks.push(Hunk::new(at..at, texts[text % texts.len()])),
            2 => {
                let end = points.get(index + 1).map_or(base.len(), |next| next.0);
                hunks.push(Hunk::new(at..end, texts[text % texts.len()]));
            }
            _ => {}
        }
    }
    // A range may end where the next position inserts. A range that runs
    // over a later range may not, so only the first of those is kept.
    let mut kept: Vec<Hunk> = Vec::new();
    for hunk in hunks {
        if kept.last().is_none_or(|last: &Hunk| {
            last.range.end <= hunk.range.start
                && !(last.range.is_empty() && hunk.range == last.range)
        }) {
            kept.push(hunk);
        }
    }
    Group::new(kept).expect("sorted disjoint hunks")
}

fn build_sets(
    base: &str,
    pool: &[GroupSpec],
    workers: &[WorkerSpec],
    texts: &[&str],
) -> Vec<EditSet> {
    let pool: Vec<Group> = pool
        .iter()
        .map(|spec| build_group(base, spec, texts))
        .collect();
    workers
        .iter()
        .enumerate()
        .map(|(index, (priority, shared, own))| {
            let mut groups: Vec<Group> = shared
                .iter()
                .filter_map(|&pick| pool.get(pick).cloned())
                .collect();
            groups.extend(own.iter().map(|spec| build_group(base, spec, texts)));
            EditSet {
                worker: WorkerId(index as u32 * 3 + 1),
                priority: *priority,
                label: format!("worker-{index}"),
                groups,
            }
        })
        .collect()
}

fn key(merged: &Merged, group: GroupRef) -> (i64, WorkerId, usize) {
    let report = merged
        .report
        .group(group)
        .expect("every edit's group is reported");
    (report.priority, group.worker, group.group)
}

/// Returns true when an applied edit text `long` makes the change `short`
/// of a deduplicated hunk.
fn contains_change(long: &str, short: &str) -> bool {
    if long.contains(short) {
        return true;
    }
    let mut lines = long.split_inclusive('\n');
    short.ends_with('\n')
        && short
            .split_inclusive('\n')
            .all(|line| lines.any(|l| l == line))
}

/// Checks every law on one merge of `sets`. `validated` is true when the
/// merge parsed its result, which is what may drop groups for syntax.
fn check_laws(
    base: &str,
    sets: &[EditSet],
    merged: &Merged,
    validated: bool,
) -> Result<(), TestCaseError> {
    // The change and the text agree.
    prop_assert_eq!(
        merged.change.apply_to_str(base).unwrap(),
        merged.text.clone()
    );

    // Edits are sorted and disjoint, rebuild the text, and inserts at one
    // offset come in (priority, worker, group) order.
    let mut rebuilt = String::new();
    let mut cursor = 0;
    for (index, edit) in merged.edits.iter().enumerate() {
        prop_assert!(
            edit.base.start >= cursor,
            "edits overlap: {:?}",
            merged.edits
        );
        if index > 0 {
            let previous = &merged.edits[index - 1];
            if previous.base.is_empty() && edit.base == previous.base {
                prop_assert!(key(merged, previous.group) < key(merged, edit.group));
            }
        }
        rebuilt.push_str(&base[cursor..edit.base.start]);
        prop_assert_eq!(rebuilt.len(), edit.merged.start);
        rebuilt.push_str(&merged.text[edit.merged.clone()]);
        cursor = edit.base.end;
    }
    rebuilt.push_str(&base[cursor..]);
    prop_assert_eq!(&rebuilt, &merged.text);

    // Group atomicity: an applied group has exactly its minimised hunks in
    // the output; any other group has none.
    let mut edits_of: HashMap<GroupRef, Vec<(std::ops::Range<usize>, &str)>> = HashMap::new();
    for edit in &merged.edits {
        edits_of
            .entry(edit.group)
            .or_default()
            .push((edit.base.clone(), &merged.text[edit.merged.clone()]));
    }
    let groups: HashMap<GroupRef, &Group> = sets
        .iter()
        .flat_map(|set| {
            set.groups.iter().enumerate().map(|(index, group)| {
                (
                    GroupRef {
                        worker: set.worker,
                        group: index,
                    },
                    group,
                )
            })
        })
        .collect();
    prop_assert_eq!(merged.report.groups.len(), groups.len());
    for report in &merged.report.groups {
        let minimised = minimise(base, groups[&report.group]);
        let applied = edits_of.get(&report.group).cloned().unwrap_or_default();
        match report.outcome {
            GroupOutcome::Applied => {
                let expected: Vec<(std::ops::Range<usize>, &str)> = minimised
                    .iter()
                    .map(|hunk| (hunk.range.clone(), hunk.text.as_str()))
                    .collect();
                prop_assert_eq!(applied, expected, "group {:?}", report.group);
            }
            GroupOutcome::Unchanged => {
                prop_assert!(minimised.is_empty());
                prop_assert!(applied.is_empty());
            }
            GroupOutcome::Deduplicated { with } => {
                prop_assert!(applied.is_empty());
                prop_assert!(!minimised.is_empty());
                let winner = merged.report.group(with).map(|r| r.outcome);
                let winner_stays = matches!(
                    winner,
                    Some(GroupOutcome::Applied | GroupOutcome::Deduplicated { .. })
                );
                prop_assert!(
                    winner_stays,
                    "duplicate of {:?}, which is {:?}",
                    with,
                    winner
                );
                // Every hunk's change is made by an applied edit there.
                for hunk in &minimised {
                    let made = merged.edits.iter().any(|edit| {
                        edit.base.start <= hunk.range.start
                            && hunk.range.end <= edit.base.end
                            && (edit.base == hunk.range || hunk.range.is_empty())
                            && contains_change(&merged.text[edit.merged.clone()], &hunk.text)
                    });
                    prop_assert!(made, "hunk {:?} of {:?} is not applied", hunk, report.group);
                }
            }
            GroupOutcome::Conflicted { with } => {
                prop_assert!(applied.is_empty());
                prop_assert!(key(merged, with) < key(merged, report.group));
                // Some hunk meets a hunk of the winner.
                let winner = minimise(base, groups[&with]);
                let meets = minimised.iter().any(|mine| {
                    winner.iter().any(|theirs| {
                        mine.range.start <= theirs.range.end && theirs.range.start <= mine.range.end
                    })
                });
                prop_assert!(
                    meets,
                    "{:?} conflicts with {:?} without meeting it",
                    report.group,
                    with
                );
            }
            GroupOutcome::DroppedForSyntax => {
                prop_assert!(
                    validated,
                    "no validation ran, yet {:?} was dropped",
                    report.group
                );
                prop_assert!(applied.is_empty());
            }
            GroupOutcome::DroppedForUserEdit => {
                prop_assert!(
                    false,
                    "the merge never drops {:?} for a user edit",
                    report.group
                );
            }
        }
    }
    Ok(())
}

/// The permutation of `len` items that a seed picks, by Fisher-Yates with
/// a linear congruential generator.
fn permutation(len: usize, mut seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    for index in (1..len).rev() {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let pick = (seed >> 33) as usize % (index + 1);
        order.swap(index, pick);
    }
    order
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn merge_laws_hold(
        base in base_text(),
        pool in prop::collection::vec(group_spec(), 0..4),
        workers in prop::collection::vec(worker_spec(), 1..5),
        seeds in prop::collection::vec(any::<u64>(), 3),
    ) {
        let sets = build_sets(&base, &pool, &workers, TEXTS);
        let options = MergeOptions::default();
        let merged = merge(&base, &sets, &options).unwrap();
        check_laws(&base, &sets, &merged, false)?;

        // Order independence: the same output for shuffled edit sets.
        let mut reversed = sets.clone();
        reversed.reverse();
        prop_assert_eq!(&merge(&base, &reversed, &options).unwrap(), &merged);
        for seed in seeds {
            let shuffled: Vec<EditSet> = permutation(sets.len(), seed)
                .into_iter()
                .map(|index| sets[index].clone())
                .collect();
            prop_assert_eq!(&merge(&base, &shuffled, &options).unwrap(), &merged);
        }

        // Idempotence: every set passed twice equals every set once.
        let mut twice = sets.clone();
        twice.extend(sets.iter().rev().cloned());
        prop_assert_eq!(&merge(&base, &twice, &options).unwrap(), &merged);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn validated_merge_laws_hold(
        base in rust_text(),
        pool in prop::collection::vec(group_spec(), 0..4),
        workers in prop::collection::vec(worker_spec(), 1..4),
        seed in any::<u64>(),
    ) {
        let sets = build_sets(&base, &pool, &workers, RUST_TEXTS);
        let options = MergeOptions {
            language: Some(Language::Rust),
            ..MergeOptions::default()
        };
        let merged = merge(&base, &sets, &options).unwrap();
        check_laws(&base, &sets, &merged, true)?;

        let shuffled: Vec<EditSet> = permutation(sets.len(), seed)
            .into_iter()
            .map(|index| sets[index].clone())
            .collect();
        prop_assert_eq!(&merge(&base, &shuffled, &options).unwrap(), &merged);

        // A base that parses gives a merge that parses, unless the merge
        // reports the errors it could not remove.
        let base_clean = error_ranges(&Language::Rust.parse_str(&base).unwrap()).is_empty();
        if base_clean && merged.report.new_syntax_errors.is_empty() {
            let errors = error_ranges(&Language::Rust.parse_str(&merged.text).unwrap());
            prop_assert!(errors.is_empty(), "new errors {:?} in {:?}", errors, merged.text);
        }
    }
}
