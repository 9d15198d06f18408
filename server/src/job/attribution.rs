//! Attribution of a job's change: the rules and groups behind each
//! replacement, so that editors can label edits by rule and a rebase can
//! drop whole groups.

use std::collections::HashMap;
use std::ops::Range;

use ropey::Rope;

use crate::document::PosMapper;
use crate::merge::{GroupRef, Merged};
use crate::text::{Assoc, ChangeSet};

/// The origin of one replacement of a job's change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attribution {
    /// Indexes of the rules (the workers' ids) behind the replacement,
    /// sorted.
    pub rules: Vec<usize>,
    /// The groups behind it, as indexes into the outcome's `group_refs`,
    /// sorted.
    pub groups: Vec<u32>,
}

/// One applied edit's place in the current text.
#[derive(Clone, Debug)]
struct Span {
    range: Range<usize>,
    rule: usize,
    group: u32,
}

/// Follows the applied edits of every round to the final text.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    /// Sorted by start, in chars of the current text.
    spans: Vec<Span>,
    /// Every applied group: the round it ran in and its reference in that
    /// round's merge report.
    pub group_refs: Vec<(usize, GroupRef)>,
    ids: HashMap<(usize, GroupRef), u32>,
}

impl Tracker {
    /// Moves the earlier spans through `merged.change` and adds the spans
    /// of its applied edits; `current` is the merged text.
    pub fn record(&mut self, round: usize, merged: &Merged, current: &Rope) {
        let mut mapper = PosMapper::new(merged.change.ops());
        for span in &mut self.spans {
            // Text inserted at a span's edges belongs to the edit that
            // inserted it.
            let start = mapper.map(span.range.start, Assoc::After);
            let end = if span.range.is_empty() {
                start
            } else {
                mapper.map(span.range.end, Assoc::Before).max(start)
            };
            span.range = start..end;
        }
        for edit in &merged.edits {
            let key = (round, edit.group);
            let next = u32::try_from(self.group_refs.len()).unwrap_or(u32::MAX);
            let group = *self.ids.entry(key).or_insert_with(|| {
                self.group_refs.push(key);
                next
            });
            self.spans.push(Span {
                range: current.byte_to_char(edit.merged.start)
                    ..current.byte_to_char(edit.merged.end),
                rule: edit.group.worker.0 as usize,
                group,
            });
        }
        self.spans
            .sort_by_key(|span| (span.range.start, span.range.end, span.rule, span.group));
    }

    /// Names the spans behind each replacement of `change`, the whole
    /// job's change. Those that lie inside the replacement's text in the
    /// final document are chosen first, then those that overlap it, and
    /// last those that touch it.
    pub fn attribute(&self, change: &ChangeSet) -> Vec<Attribution> {
        let spans = &self.spans;
        let mut delta: isize = 0;
        let mut out = Vec::new();
        for replacement in change.replacements() {
            let (start, end) = (replacement.range.start.0, replacement.range.end.0);
            let inserted = replacement.text.chars().count();
            let from = start.saturating_add_signed(delta);
            let to = from + inserted;
            delta += inserted as isize - (end - start) as isize;
            let first = spans.partition_point(|span| span.range.end < from);
            let last = spans[first..]
                .iter()
                .position(|span| span.range.start > to)
                .map_or(spans.len(), |offset| first + offset);
            let near = &spans[first..last];
            // 0: inside the replacement, 1: overlapping it, 2: touching it.
            let fit = |range: &Range<usize>| {
                if from <= range.start && range.end <= to {
                    0
                } else if range.start < to && from < range.end {
                    1
                } else {
                    2
                }
            };
            let best = near.iter().map(|span| fit(&span.range)).min();
            let chosen = near.iter().filter(|span| Some(fit(&span.range)) == best);
            let mut attribution = Attribution::default();
            for span in chosen {
                attribution.rules.push(span.rule);
                attribution.groups.push(span.group);
            }
            attribution.rules.sort_unstable();
            attribution.rules.dedup();
            attribution.groups.sort_unstable();
            attribution.groups.dedup();
            out.push(attribution);
        }
        out
    }
}

/// Attributes the change of a single merge.
pub fn attribute_merge(merged: &Merged) -> (Vec<Attribution>, Vec<(usize, GroupRef)>) {
    let mut tracker = Tracker::default();
    tracker.record(0, merged, &Rope::from_str(&merged.text));
    (tracker.attribute(&merged.change), tracker.group_refs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::{merge, EditSet, Group, Hunk, MergeOptions, WorkerId};

    fn set(worker: u32, hunks: Vec<Vec<(Range<usize>, &str)>>) -> EditSet {
        EditSet {
            worker: WorkerId(worker),
            priority: i64::from(worker),
            label: format!("w{worker}"),
            groups: hunks
                .into_iter()
                .map(|group| {
                    Group::new(
                        group
                            .into_iter()
                            .map(|(range, text)| Hunk::new(range, text))
                            .collect(),
                    )
                    .unwrap()
                })
                .collect(),
        }
    }

    #[test]
    fn each_replacement_names_its_worker_and_group() {
        let base = "let alpha = beta + gamma;";
        let sets = [
            set(3, vec![vec![(4..9, "a")], vec![(19..24, "g")]]),
            set(7, vec![vec![(12..16, "b")]]),
        ];
        let merged = merge(base, &sets, &MergeOptions::default()).unwrap();
        assert_eq!(merged.text, "let a = b + g;");
        let (attribution, refs) = attribute_merge(&merged);
        assert_eq!(attribution.len(), 3);
        let rules: Vec<Vec<usize>> = attribution.iter().map(|a| a.rules.clone()).collect();
        assert_eq!(rules, [vec![3], vec![7], vec![3]]);
        let groups: Vec<GroupRef> = attribution
            .iter()
            .map(|a| refs[a.groups[0] as usize].1)
            .collect();
        assert_eq!(
            groups[0],
            GroupRef {
                worker: WorkerId(3),
                group: 0
            }
        );
        assert_eq!(
            groups[1],
            GroupRef {
                worker: WorkerId(7),
                group: 0
            }
        );
        assert_eq!(
            groups[2],
            GroupRef {
                worker: WorkerId(3),
                group: 1
            }
        );
    }

    #[test]
    fn a_later_round_over_an_earlier_edit_names_both() {
        let base = "x(try!(a))";
        let first = merge(
            base,
            &[set(1, vec![vec![(2..9, "a?")]])],
            &MergeOptions::default(),
        )
        .unwrap();
        assert_eq!(first.text, "x(a?)");
        let mut tracker = Tracker::default();
        tracker.record(0, &first, &Rope::from_str(&first.text));
        let second = merge(
            &first.text,
            &[set(2, vec![vec![(0..5, "y(a?)")]])],
            &MergeOptions::default(),
        )
        .unwrap();
        tracker.record(1, &second, &Rope::from_str(&second.text));
        let whole = first.change.compose(&second.change).unwrap();
        let attribution = tracker.attribute(&whole);
        let mut rules: Vec<usize> = attribution.iter().flat_map(|a| a.rules.clone()).collect();
        rules.sort_unstable();
        rules.dedup();
        assert_eq!(rules, [1, 2], "{attribution:?}");
    }
}
