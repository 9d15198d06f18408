//! The merge end to end on small Rust files: minimisation, the conflict
//! cases, syntax validation, input errors, whole-file proposals and the
//! JSON report.

mod merge_support;

use concur::merge::{
    diff_proposal, merge, EditError, EditSet, GroupOutcome, GroupRef, MergeError, MergeOptions,
    WorkerId,
};
use concur::syntax::{error_ranges, Language};
use merge_support::{find, point, set};

fn group(worker: u32, index: usize) -> GroupRef {
    GroupRef {
        worker: WorkerId(worker),
        group: index,
    }
}

fn outcome(merged: &concur::merge::Merged, worker: u32, index: usize) -> GroupOutcome {
    merged
        .report
        .group(group(worker, index))
        .unwrap_or_else(|| panic!("no report for worker {worker} group {index}"))
        .outcome
}

fn rust() -> MergeOptions {
    MergeOptions {
        language: Some(Language::Rust),
        ..MergeOptions::default()
    }
}

#[test]
fn unwrap_and_rename_both_apply() {
    let base = "let v = foo.unwrap();\n";
    let question_mark = set(1, 0, &[&[(find(base, "foo.unwrap()", 0), "foo?")]]);
    let rename = set(2, 0, &[&[(find(base, "foo", 0), "bar")]]);
    let merged = merge(base, &[question_mark, rename], &MergeOptions::default()).unwrap();
    assert_eq!(merged.text, "let v = bar?;\n");
    assert_eq!(outcome(&merged, 1, 0), GroupOutcome::Applied);
    assert_eq!(outcome(&merged, 2, 0), GroupOutcome::Applied);
    assert_eq!(merged.change.apply_to_str(base).unwrap(), merged.text);
}

#[test]
fn overlapping_rewrites_conflict() {
    let base = "let v = foo.unwrap();\n";
    let first = set(
        1,
        0,
        &[&[(find(base, "foo.unwrap()", 0), "foo.expect(\"x\")")]],
    );
    let second = set(2, 0, &[&[(find(base, "foo.unwrap()", 0), "foo?")]]);
    let merged = merge(base, &[second, first], &MergeOptions::default()).unwrap();
    assert_eq!(merged.text, "let v = foo.expect(\"x\");\n");
    assert_eq!(
        outcome(&merged, 2, 0),
        GroupOutcome::Conflicted { with: group(1, 0) }
    );
    assert_eq!(merged.report.conflicts(), 1);
}

#[test]
fn same_point_inserts_ordered_by_priority_then_worker() {
    let base = "x";
    let sets = [
        set(3, 0, &[&[(point(0), "c")]]),
        set(1, 1, &[&[(point(0), "a")]]),
        set(2, 0, &[&[(point(0), "b")]]),
    ];
    let merged = merge(base, &sets, &MergeOptions::default()).unwrap();
    assert_eq!(merged.text, "bcax");
    assert_eq!(merged.report.applied(), 3);
}

#[test]
fn identical_inserts_added_once() {
    let base = "fn main() {}\n";
    let sets: Vec<EditSet> = (0..5)
        .map(|worker| set(worker, 0, &[&[(point(0), "use a::f;\n")]]))
        .collect();
    let merged = merge(base, &sets, &MergeOptions::default()).unwrap();
    assert_eq!(merged.text, "use a::f;\nfn main() {}\n");
    assert_eq!(merged.report.applied(), 1);
    assert_eq!(merged.report.deduplicated(), 4);
    for worker in 1..5 {
        assert_eq!(
            outcome(&merged, worker, 0),
            GroupOutcome::Deduplicated { with: group(0, 0) }
        );
    }
}

#[test]
fn longer_insert_keeps_the_shorter_once() {
    let base = "mod a {\n    pub fn f() {}\n}\n";
    let short = set(1, 0, &[&[(point(0), "use a::f;\n\n")]]);
    let long = set(2, 0, &[&[(point(0), "use a::f;\nuse a::g;\n\n")]]);
    let merged = merge(base, &[short, long], &MergeOptions::default()).unwrap();
    assert_eq!(merged.text, format!("use a::f;\nuse a::g;\n\n{base}"));
    assert_eq!(
        outcome(&merged, 1, 0),
        GroupOutcome::Deduplicated { with: group(2, 0) }
    );
    assert_eq!(outcome(&merged, 2, 0), GroupOutcome::Applied);
}

#[test]
fn rewritten_use_line_deduplicates_added_use() {
    // Worker 1 rewrites the use line and adds one above it. Its minimised
    // form inserts that line at 0, equal to worker 2's insert.
    let base = "use std::fmt;\nfn main() {}\n";
    let rewrite = set(
        1,
        0,
        &[&[(
            find(base, "use std::fmt;\n", 0),
            "use a::f;\nuse std::io;\n",
        )]],
    );
    let add = set(2, 0, &[&[(point(0), "use a::f;\n")]]);
    let merged = merge(base, &[rewrite, add], &MergeOptions::default()).unwrap();
    assert_eq!(merged.text, "use a::f;\nuse std::io;\nfn main() {}\n");
    assert_eq!(
        outcome(&merged, 2, 0),
        GroupOutcome::Deduplicated { with: group(1, 0) }
    );
}

#[test]
fn no_sets_leave_base_unchanged() {
    let base = "fn main() {}\n";
    let merged = merge(base, &[], &rust()).unwrap();
    assert_eq!(merged.text, base);
    assert!(merged.change.is_identity());
    assert!(merged.report.groups.is_empty());
    assert!(merged.report.workers.is_empty());
}

#[test]
fn noop_group_is_unchanged() {
    let base = "let a = 1;\n";
    let noop = set(1, 0, &[&[(find(base, "a = 1", 0), "a = 1")]]);
    let merged = merge(base, &[noop], &MergeOptions::default()).unwrap();
    assert_eq!(merged.text, base);
    assert_eq!(outcome(&merged, 1, 0), GroupOutcome::Unchanged);
    assert!(merged.change.is_identity());
    assert!(merged.edits.is_empty());
}

const CLEAN: &str = "fn main() {\n    let a = 1;\n    let b = 2;\n}\n\nfn other() {}\n";

#[test]
fn syntax_backoff_drops_group_adding_brace() {
    // The brace comes from the best-ranked worker, so only applying each
    // suspect alone finds it; the whole file becomes one ERROR node.
    let brace = set(
        1,
        0,
        &[&[(point(find(CLEAN, "    let b", 0).start), "    {\n")]],
    );
    let rename_a = set(2, 5, &[&[(find(CLEAN, "a", 1), "alpha")]]);
    let rename_other = set(3, 9, &[&[(find(CLEAN, "other", 0), "another")]]);
    let merged = merge(CLEAN, &[brace, rename_a, rename_other], &rust()).unwrap();
    assert_eq!(outcome(&merged, 1, 0), GroupOutcome::DroppedForSyntax);
    assert_eq!(outcome(&merged, 2, 0), GroupOutcome::Applied);
    assert_eq!(outcome(&merged, 3, 0), GroupOutcome::Applied);
    assert_eq!(
        merged.text,
        "fn main() {\n    let alpha = 1;\n    let b = 2;\n}\n\nfn another() {}\n"
    );
    assert!(merged.report.new_syntax_errors.is_empty());
    let tree = Language::Rust.parse_str(&merged.text).unwrap();
    assert!(error_ranges(&tree).is_empty());
}

#[test]
fn renames_to_reserved_words_are_still_validated() {
    // Plain renames skip the parse. `mut` only looks like a word, so the
    // merge parses and drops it.
    let base = "fn main() {\n    let a = 1;\n    let b = 2;\n}\n";
    let to_mut = set(1, 0, &[&[(find(base, "a", 1), "mut")]]);
    let plain = set(2, 0, &[&[(find(base, "b", 0), "beta")]]);
    let merged = merge(base, &[to_mut, plain], &rust()).unwrap();
    assert_eq!(outcome(&merged, 1, 0), GroupOutcome::DroppedForSyntax);
    assert_eq!(outcome(&merged, 2, 0), GroupOutcome::Applied);
    assert_eq!(
        merged.text,
        "fn main() {\n    let a = 1;\n    let beta = 2;\n}\n"
    );
}

#[test]
fn rename_after_a_number_is_validated() {
    // tree-sitter-rust reads `1._foo` as the float `1._`. Each edit parses
    // alone, together they do not, and the rename ranks worse.
    let base = "fn f(x: u32) -> u32 {\n    x.foo()\n}\n";
    let number = set(1, 0, &[&[(find(base, "x", 1), "1")]]);
    let rename = set(2, 0, &[&[(find(base, "foo", 0), "_foo")]]);
    let merged = merge(base, &[number, rename], &rust()).unwrap();
    assert_eq!(outcome(&merged, 1, 0), GroupOutcome::Applied);
    assert_eq!(outcome(&merged, 2, 0), GroupOutcome::DroppedForSyntax);
    assert_eq!(merged.text, "fn f(x: u32) -> u32 {\n    1.foo()\n}\n");
}

#[test]
fn plain_renames_merge_without_errors() {
    let renames = [("main", 0), ("a", 1), ("b", 0), ("other", 0)]
        .into_iter()
        .enumerate()
        .map(|(worker, (word, nth))| {
            let renamed = format!("{word}_renamed");
            set(worker as u32, 0, &[&[(find(CLEAN, word, nth), &renamed)]])
        })
        .collect::<Vec<_>>();
    let merged = merge(CLEAN, &renames, &rust()).unwrap();
    assert_eq!(merged.report.applied(), 4);
    assert_eq!(
        merged.text,
        "fn main_renamed() {\n    let a_renamed = 1;\n    let b_renamed = 2;\n}\n\nfn other_renamed() {}\n"
    );
}

#[test]
fn syntax_backoff_drops_group_touching_error() {
    let broken = set(2, 0, &[&[(find(CLEAN, "2", 0), "2 +")]]);
    let fine = set(1, 0, &[&[(find(CLEAN, "1", 0), "10")]]);
    let merged = merge(CLEAN, &[broken, fine], &rust()).unwrap();
    assert_eq!(outcome(&merged, 2, 0), GroupOutcome::DroppedForSyntax);
    assert_eq!(outcome(&merged, 1, 0), GroupOutcome::Applied);
    assert_eq!(merged.report.dropped(), 1);
    assert!(merged.text.contains("let a = 10;"));
}

#[test]
fn interacting_groups_drop_the_worst() {
    // Each change parses alone; together `a b();` does not.
    let base = "fn f() {\n    a;\n}\n";
    let tail = set(1, 0, &[&[(find(base, ";", 0), "")]]);
    let call = set(2, 3, &[&[(point(find(base, "}", 0).start), "    b();\n")]]);
    let merged = merge(base, &[tail, call], &rust()).unwrap();
    assert_eq!(outcome(&merged, 1, 0), GroupOutcome::Applied);
    assert_eq!(outcome(&merged, 2, 0), GroupOutcome::DroppedForSyntax);
    assert_eq!(merged.text, "fn f() {\n    a\n}\n");
}

#[test]
fn base_errors_not_blamed() {
    let base = "fn main() {\n    let a = (1;\n}\n\nfn other() { let x = 1; }\n";
    let base_errors = error_ranges(&Language::Rust.parse_str(base).unwrap());
    assert!(!base_errors.is_empty(), "the base must have a syntax error");
    let rename = set(1, 0, &[&[(find(base, "x", 0), "y")]]);
    let near_error = set(2, 0, &[&[(find(base, "a", 1), "alpha")]]);
    let merged = merge(base, &[rename, near_error], &rust()).unwrap();
    assert_eq!(merged.report.applied(), 2);
    assert_eq!(merged.report.dropped(), 0);
    assert!(merged.report.new_syntax_errors.is_empty());
    assert!(merged.text.contains("let y = 1;"));
    assert!(merged.text.contains("let alpha = (1;"));
}

#[test]
fn validation_passes_are_bounded() {
    let broken = set(1, 0, &[&[(find(CLEAN, "2", 0), "2 +")]]);
    let options = MergeOptions {
        language: Some(Language::Rust),
        max_validation_passes: 0,
    };
    let merged = merge(CLEAN, &[broken], &options).unwrap();
    assert_eq!(outcome(&merged, 1, 0), GroupOutcome::Applied);
    assert_eq!(merged.report.new_syntax_errors.len(), 1);
}

#[test]
fn duplicate_of_dropped_group_is_dropped() {
    let broken = set(1, 0, &[&[(find(CLEAN, "2", 0), "2 +")]]);
    let same = set(2, 0, &[&[(find(CLEAN, "2", 0), "2 +")]]);
    let merged = merge(CLEAN, &[broken, same], &rust()).unwrap();
    assert_eq!(outcome(&merged, 1, 0), GroupOutcome::DroppedForSyntax);
    assert_eq!(outcome(&merged, 2, 0), GroupOutcome::DroppedForSyntax);
    assert_eq!(merged.text, CLEAN);
}

#[test]
fn same_set_twice_merges_once() {
    let base = "a b c";
    let one = set(4, 0, &[&[(find(base, "b", 0), "B")], &[(point(0), ">")]]);
    let once = merge(base, std::slice::from_ref(&one), &MergeOptions::default()).unwrap();
    let twice = merge(base, &[one.clone(), one], &MergeOptions::default()).unwrap();
    assert_eq!(once, twice);
    assert_eq!(twice.text, ">a B c");
}

#[test]
fn different_sets_with_one_worker_id_rejected() {
    let base = "a b c";
    let first = set(4, 0, &[&[(find(base, "b", 0), "B")]]);
    let second = set(4, 0, &[&[(find(base, "c", 0), "C")]]);
    let error = merge(base, &[first, second], &MergeOptions::default()).unwrap_err();
    assert_eq!(
        error,
        MergeError::DuplicateWorker {
            worker: WorkerId(4)
        }
    );
    assert!(error.to_string().contains("worker 4"), "{error}");
}

#[test]
fn invalid_hunk_names_worker_group_and_hunk() {
    let base = "aé";
    let bad = set(7, 0, &[&[(0..1, "x")], &[(0..0, "y"), (2..3, "z")]]);
    let error = merge(base, &[bad], &MergeOptions::default()).unwrap_err();
    assert_eq!(
        error,
        MergeError::InvalidHunk {
            worker: WorkerId(7),
            group: 1,
            hunk: 1,
            source: EditError::NotCharBoundary { start: 2, end: 3 },
        }
    );
    let message = error.to_string();
    assert!(
        message.contains("hunk 1 of group 1 from worker 7"),
        "{message}"
    );
    let past_end = set(1, 0, &[&[(1..9, "x")]]);
    let error = merge(base, &[past_end], &MergeOptions::default()).unwrap_err();
    assert!(error.to_string().contains("3-byte"), "{error}");
}

#[test]
fn proposals_merge_through_merge() {
    let base = "fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\nfn main() {\n    let x = add(1, 2);\n    println!(\"{}\", x);\n}\n";
    let rename = base.replace("add", "sum");
    let format = base.replace("println!(\"{}\", x)", "println!(\"{x}\")");
    let document = base
        .replace("fn add", "/// Adds two numbers.\nfn add")
        .replace("(1, 2)", "(1, 40)");
    assert!(diff_proposal(base, base).is_empty());
    let sets: Vec<EditSet> = [rename, format, document]
        .iter()
        .enumerate()
        .map(|(index, proposal)| EditSet {
            worker: WorkerId(index as u32),
            priority: 0,
            label: format!("proposal-{index}"),
            groups: diff_proposal(base, proposal),
        })
        .collect();
    assert_eq!(sets[0].groups.len(), 2, "one group per renamed call site");
    let merged = merge(base, &sets, &rust()).unwrap();
    assert_eq!(
        merged.text,
        "/// Adds two numbers.\nfn sum(a: i32, b: i32) -> i32 {\n    a + b\n}\n\nfn main() {\n    let x = sum(1, 40);\n    println!(\"{x}\");\n}\n"
    );
    assert_eq!(merged.report.applied(), merged.report.groups.len());
}

#[test]
fn merged_serialises_to_json() {
    let base = "é x";
    let sets = [set(1, 0, &[&[(find(base, "x", 0), "y")]])];
    let merged = merge(base, &sets, &MergeOptions::default()).unwrap();
    let json = serde_json::to_value(&merged).unwrap();
    assert_eq!(json["text"], "é y");
    assert_eq!(
        json["change"],
        serde_json::json!([{"start": 2, "end": 3, "text": "y"}])
    );
    assert_eq!(json["report"]["groups"][0]["outcome"]["kind"], "applied");
    assert_eq!(
        json["edits"][0]["base"],
        serde_json::json!({"start": 3, "end": 4})
    );
}
