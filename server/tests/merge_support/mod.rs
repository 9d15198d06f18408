//! Builders shared by the merge tests: edit sets from ranges and text, and
//! ranges found by searching the base.

#![allow(dead_code)]

use std::ops::Range;

use concur::merge::{EditSet, Group, Hunk, WorkerId};

/// Builds an edit set of `worker` whose groups are lists of (range, new
/// text).
pub fn set(worker: u32, priority: i64, groups: &[&[(Range<usize>, &str)]]) -> EditSet {
    EditSet {
        worker: WorkerId(worker),
        priority,
        label: format!("worker-{worker}"),
        groups: groups
            .iter()
            .map(|hunks| {
                let hunks = hunks
                    .iter()
                    .map(|(range, text)| Hunk::new(range.clone(), *text))
                    .collect();
                Group::new(hunks).expect("test groups are sorted and disjoint")
            })
            .collect(),
    }
}

/// Returns the byte range of the `nth` (from 0) occurrence of `needle` in
/// `text`.
pub fn find(text: &str, needle: &str, nth: usize) -> Range<usize> {
    let start = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("{needle:?} occurs fewer than {} times", nth + 1))
        .0;
    start..start + needle.len()
}

/// Returns the empty range at byte `at`.
pub fn point(at: usize) -> Range<usize> {
    at..at
}
