//! 100 workers on one generated 10,000-line Rust file: renames spread
//! over the file, contested call sites, one shared import, and groups that
//! span many lines. The merge must equal applying the applied groups
//! directly, and the conflicts must be the ones the file was built with.

mod merge_support;

use std::ops::Range;

use concur::merge::{
    merge, minimise, EditSet, Group, GroupOutcome, GroupRef, Hunk, MergeOptions, WorkerId,
};
use concur::syntax::{error_ranges, Language};

const LINES: usize = 10_000;
const WORKERS: u32 = 100;
/// Lines per generated function.
const BODY: usize = 10;

/// Generates a Rust file of `LINES` lines: functions of `BODY - 2`
/// statements.
fn generate() -> String {
    let mut text = String::new();
    for function in 0..LINES / BODY {
        text.push_str(&format!("fn f{function}() {{\n"));
        for statement in 0..BODY - 2 {
            let line = function * BODY + statement + 1;
            text.push_str(&format!(
                "    let value_{line} = compute({line}, \"text {line}\");\n"
            ));
        }
        text.push_str("}\n");
    }
    text
}

/// Returns the byte range of `needle` in line `line` (from 0) of `text`.
fn in_line(text: &str, line_starts: &[usize], line: usize, needle: &str) -> Range<usize> {
    let start = line_starts[line];
    let end = line_starts.get(line + 1).copied().unwrap_or(text.len());
    let at = text[start..end]
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in line {line}"));
    start + at..start + at + needle.len()
}

fn is_statement(line: usize) -> bool {
    let offset = line % BODY;
    offset != 0 && offset != BODY - 1
}

/// Worker `w` renames the variable on every statement line `l` with
/// `l % 100 == w` (one group per line), rewrites `compute` on lines
/// `50 * w + 1` and `50 * (w + 1) + 1` (so two workers claim every such
/// line but the first and last), and adds the shared import. Its last
/// group rewrites a word in a string literal and `compute` on line
/// `50 * w + 1` again: it ranks below the worker's own claim on that line,
/// so it always loses and must be dropped whole.
fn edit_sets(text: &str) -> Vec<EditSet> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(at, _)| at + 1))
        .collect();
    (0..WORKERS)
        .map(|worker| {
            let w = worker as usize;
            let mut groups = Vec::new();
            for line in (w..LINES).step_by(WORKERS as usize) {
                if is_statement(line) {
                    let range = in_line(text, &line_starts, line, &format!("value_{line}"));
                    groups.push(Group::single(Hunk::new(range, format!("v{line}_w{w}"))).unwrap());
                }
            }
            for contested in [50 * w + 1, 50 * (w + 1) + 1] {
                let range = in_line(text, &line_starts, contested, "compute");
                groups.push(Group::single(Hunk::new(range, format!("calc_w{w}"))).unwrap());
            }
            groups.push(Group::single(Hunk::new(0..0, "use std::fmt;\n")).unwrap());
            let literal_line = BODY * (w + 300) + 5;
            let far = Group::new(vec![
                Hunk::new(in_line(text, &line_starts, literal_line, "text"), "note"),
                Hunk::new(in_line(text, &line_starts, 50 * w + 1, "compute"), "far"),
            ])
            .unwrap();
            groups.push(far);
            EditSet {
                worker: WorkerId(worker),
                priority: i64::from(worker % 3),
                label: format!("worker-{worker}"),
                groups,
            }
        })
        .collect()
}

/// Applies the hunks of the applied groups straight to the base, inserts
/// at one offset in (priority, worker, group) order.
fn apply_applied(base: &str, sets: &[EditSet], merged: &concur::merge::Merged) -> String {
    // (start, end, priority, worker, group index): the merge's output order.
    type Key = (usize, usize, i64, WorkerId, usize);
    let mut hunks: Vec<(Key, &Hunk)> = Vec::new();
    for set in sets {
        for (index, group) in set.groups.iter().enumerate() {
            let reference = GroupRef {
                worker: set.worker,
                group: index,
            };
            if merged.report.group(reference).unwrap().outcome == GroupOutcome::Applied {
                for hunk in group.hunks() {
                    let key = (
                        hunk.range.start,
                        hunk.range.end,
                        set.priority,
                        set.worker,
                        index,
                    );
                    hunks.push((key, hunk));
                }
            }
        }
    }
    hunks.sort_by_key(|(key, _)| *key);
    let mut out = String::with_capacity(base.len());
    let mut cursor = 0;
    for (_, hunk) in hunks {
        assert!(
            hunk.range.start >= cursor,
            "applied hunks overlap at {:?}",
            hunk.range
        );
        out.push_str(&base[cursor..hunk.range.start]);
        out.push_str(&hunk.text);
        cursor = hunk.range.end;
    }
    out.push_str(&base[cursor..]);
    out
}

#[test]
fn hundred_workers_on_ten_thousand_lines() {
    let base = generate();
    assert_eq!(base.lines().count(), LINES);
    let sets = edit_sets(&base);
    // The generated hunks are already minimal, so the merge applies them
    // exactly as given and applying them directly is an exact oracle.
    for set in &sets {
        for group in &set.groups {
            assert_eq!(minimise(&base, group), group.hunks(), "{}", set.label);
        }
    }
    let merged = merge(&base, &sets, &MergeOptions::default()).unwrap();
    assert_eq!(merged.text, apply_applied(&base, &sets, &merged));
    assert_eq!(merged.change.apply_to_str(&base).unwrap(), merged.text);

    // The import applies once; the other 99 copies are duplicates.
    assert_eq!(merged.text.matches("use std::fmt;\n").count(), 1);
    // 101 contested lines, all but the first and last with two claimants:
    // 99 losing claims. Every last group loses too, and none of its
    // hunks applies, also the one no other group touches.
    let far_losers = merged
        .report
        .groups
        .iter()
        .filter(|report| {
            report.group.group == sets[report.group.worker.0 as usize].groups.len() - 1
        })
        .filter(|report| matches!(report.outcome, GroupOutcome::Conflicted { .. }))
        .count();
    assert_eq!(far_losers, WORKERS as usize);
    assert_eq!(merged.report.conflicts(), 99 + WORKERS as usize);
    assert!(!merged.text.contains("note"));
    assert!(!merged.text.contains("far"));
    // Every losing group overlaps its winner.
    for report in &merged.report.groups {
        if let GroupOutcome::Conflicted { with } = report.outcome {
            let loser = &sets[report.group.worker.0 as usize].groups[report.group.group];
            let winner = &sets[with.worker.0 as usize].groups[with.group];
            let overlaps = loser.hunks().iter().any(|mine| {
                winner.hunks().iter().any(|theirs| {
                    mine.range.start < theirs.range.end && theirs.range.start < mine.range.end
                })
            });
            assert!(
                overlaps,
                "{:?} lost to {:?} without overlapping it",
                report.group, with
            );
        }
    }

    // The generated file and the merge both parse, so validating changes
    // nothing.
    let validated = merge(
        &base,
        &sets,
        &MergeOptions {
            language: Some(Language::Rust),
            ..MergeOptions::default()
        },
    )
    .unwrap();
    assert_eq!(validated, merged);
    let tree = Language::Rust.parse_str(&validated.text).unwrap();
    assert!(error_ranges(&tree).is_empty());
}

#[test]
fn proposals_on_ten_thousand_lines() {
    // Three whole-file proposals, each rewriting the literal of every
    // 30th statement starting at a different line: disjoint edits, so the
    // merge equals applying all three rewrites.
    let base = generate();
    let rewrite = |text: &str, offset: usize, worker: usize| -> String {
        text.lines()
            .enumerate()
            .map(|(index, line)| {
                if is_statement(index) && index % 30 == offset {
                    line.replace("\"text", &format!("\"by{worker}"))
                } else {
                    line.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    };
    let proposals: Vec<String> = (0..3)
        .map(|worker| rewrite(&base, worker * 10 + 2, worker))
        .collect();
    let sets: Vec<EditSet> = proposals
        .iter()
        .enumerate()
        .map(|(worker, proposal)| EditSet {
            worker: WorkerId(worker as u32),
            priority: 0,
            label: format!("proposal-{worker}"),
            groups: concur::merge::diff_proposal(&base, proposal),
        })
        .collect();
    let rewritten = |offset: usize| {
        (0..LINES)
            .filter(|&line| is_statement(line) && line % 30 == offset)
            .count()
    };
    for (worker, set) in sets.iter().enumerate() {
        assert_eq!(
            set.groups.len(),
            rewritten(worker * 10 + 2),
            "{}",
            set.label
        );
    }
    let expected = (0..3).fold(base.clone(), |text, worker| {
        rewrite(&text, worker * 10 + 2, worker)
    });
    let merged = merge(&base, &sets, &MergeOptions::default()).unwrap();
    assert_eq!(merged.text, expected);
    let total: usize = (0..3).map(|worker| rewritten(worker * 10 + 2)).sum();
    assert_eq!(merged.report.applied(), total);
}
