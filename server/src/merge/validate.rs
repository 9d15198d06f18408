//! Syntax validation of a merge. It parses the merged text and finds the
//! ERROR and MISSING nodes that are not in a region that already had one
//! in the base. It blames each on applied groups, drops those and tries
//! again, a bounded number of times. Dropped groups stay dropped, and the
//! groups that lost a conflict to them are not re-admitted: the job layer
//! runs such workers again on the merged text.
//!
//! The suspects for an error are the groups whose applied hunks touch it.
//! An unclosed `{` makes the parser report a MISSING `}` far away, so when
//! no hunk touches the error, the suspects are the groups touching its
//! innermost enclosing node that any hunk touches, short of the whole
//! file. An error node that is the root itself makes every group a
//! suspect. Each suspect is applied alone to the base and reparsed
//! incrementally, and those that add an error on their own are dropped.
//! If none does, the error comes from a combination. Of two or more
//! suspects the worst-ranked (highest priority number, then highest worker
//! id, then highest group index) is dropped, and a single suspect widens
//! the search to the next enclosing node.
//!
//! NOTE: an error node that touches a region that had an error in the base
//! counts as old, even when the merge made it larger. So a merge that
//! breaks a file near a syntax error the base already had is kept.

use std::collections::HashMap;
use std::ops::Range;

use tree_sitter::{InputEdit, Node, Parser, Point, Tree};

use super::output::{map_offset, Layout};
use super::resolve::Status;
use super::Plan;
use crate::syntax::{error_ranges, touches_any, Language, SyntaxError};
use crate::text::Assoc;

/// A syntax error of the merged text that the base did not have: the
/// error node's range, then the ranges of its ancestors below the root,
/// innermost first. All in bytes of the merged text.
#[derive(Clone, Debug)]
struct NewError {
    regions: Vec<Range<usize>>,
}

/// Drops applied groups that add syntax errors, updating `status` and
/// rebuilding `layout`, for at most `max_passes` rounds of dropping.
/// Returns the new errors left in the final layout.
///
/// # Errors
/// `SyntaxError` when a parse fails.
pub(crate) fn back_off(
    language: Language,
    base_tree: Option<&Tree>,
    plan: &Plan<'_>,
    max_passes: usize,
    status: &mut [Status],
    order: &[u32],
    layout: &mut Layout,
) -> Result<Vec<Range<usize>>, SyntaxError> {
    let mut checker = Checker::new(language, plan.base, base_tree)?;
    let mut passes = 0;
    loop {
        if layout.edits.is_empty() {
            return Ok(Vec::new());
        }
        let edited = checker.edited_base_tree(layout);
        let tree = checker.parse(&layout.text, Some(&edited))?;
        let errors = checker.new_errors(&tree, layout);
        if errors.is_empty() {
            return Ok(Vec::new());
        }
        let left = || {
            errors
                .iter()
                .map(|error| error.regions[0].clone())
                .collect()
        };
        if passes == max_passes {
            return Ok(left());
        }
        let mut dropped = Vec::new();
        for error in &errors {
            checker.blame(plan, layout, error, &mut dropped)?;
        }
        if dropped.is_empty() {
            return Ok(left());
        }
        for group in dropped {
            status[group] = Status::DroppedForSyntax;
        }
        drop_duplicates_of_dropped(status);
        *layout = plan.layout(status, order);
        passes += 1;
    }
}

/// The parser, the base's tree and errors, and which groups were found to
/// add an error when applied alone.
struct Checker {
    parser: Parser,
    language: Language,
    base_tree: Tree,
    base_errors: Vec<Range<usize>>,
    line_starts: Vec<usize>,
    breaks_alone: HashMap<usize, bool>,
}

impl Checker {
    fn new(language: Language, base: &str, base_tree: Option<&Tree>) -> Result<Self, SyntaxError> {
        let mut parser = language.parser()?;
        let base_tree = match base_tree {
            Some(tree) => tree.clone(),
            None => parser.parse(base, None).ok_or(SyntaxError::Cancelled {
                language: language.id(),
            })?,
        };
        let base_errors = error_ranges(&base_tree);
        let line_starts = std::iter::once(0)
            .chain(base.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        Ok(Self {
            parser,
            language,
            base_tree,
            base_errors,
            line_starts,
            breaks_alone: HashMap::new(),
        })
    }

    fn parse(&mut self, text: &str, old: Option<&Tree>) -> Result<Tree, SyntaxError> {
        self.parser.parse(text, old).ok_or(SyntaxError::Cancelled {
            language: self.language.id(),
        })
    }

    /// Finds the error nodes of `tree` (the tree of `layout.text`) that touch no
    /// base error region mapped through the layout's edits.
    fn new_errors(&self, tree: &Tree, layout: &Layout) -> Vec<NewError> {
        let old_regions: Vec<Range<usize>> = self
            .base_errors
            .iter()
            .map(|region| {
                map_offset(&layout.edits, region.start, Assoc::Before)
                    ..map_offset(&layout.edits, region.end, Assoc::After)
            })
            .collect();
        let root = tree.root_node();
        let mut out = Vec::new();
        if root.has_error() {
            collect_new_errors(root, root, &old_regions, &mut out);
        }
        out
    }

    /// Adds the groups to drop for `error` to `dropped`: the suspects that
    /// add an error alone, else the worst-ranked of two or more suspects,
    /// widening to enclosing nodes while there is a single innocent one.
    fn blame(
        &mut self,
        plan: &Plan<'_>,
        layout: &Layout,
        error: &NewError,
        dropped: &mut Vec<usize>,
    ) -> Result<(), SyntaxError> {
        let mut last_suspect = None;
        for region in &error.regions {
            let suspects = suspects(layout, region);
            if suspects.is_empty() {
                continue;
            }
            let mut culprits = Vec::new();
            for &group in &suspects {
                if self.group_breaks_alone(plan, group)? {
                    culprits.push(group);
                }
            }
            if !culprits.is_empty() {
                dropped.extend(culprits);
                return Ok(());
            }
            if suspects.len() >= 2 {
                // Fine alone, broken together: drop the worst-ranked.
                let worst = suspects
                    .into_iter()
                    .max_by_key(|&group| plan.candidates[group].key);
                dropped.extend(worst);
                return Ok(());
            }
            last_suspect = suspects.first().copied();
        }
        // One group touches the error and everything around it, and it
        // parses alone: nothing else can share the blame.
        dropped.extend(last_suspect);
        Ok(())
    }

    /// Returns true when applying only `group` to the base adds a syntax
    /// error. Reparses the base's tree incrementally; results are cached.
    fn group_breaks_alone(&mut self, plan: &Plan<'_>, group: usize) -> Result<bool, SyntaxError> {
        if let Some(&known) = self.breaks_alone.get(&group) {
            return Ok(known);
        }
        let layout = plan.layout_alone(group);
        let tree = self.edited_base_tree(&layout);
        let tree = self.parse(&layout.text, Some(&tree))?;
        let breaks = !self.new_errors(&tree, &layout).is_empty();
        self.breaks_alone.insert(group, breaks);
        Ok(breaks)
    }

    /// Returns the base's tree edited to match `layout`, ready for an
    /// incremental reparse of `layout.text`.
    fn edited_base_tree(&self, layout: &Layout) -> Tree {
        let mut tree = self.base_tree.clone();
        // Last edit first, so every edit's offsets are still base offsets.
        for edit in layout.edits.iter().rev() {
            let inserted = &layout.text[edit.merged.clone()];
            let start_position = self.point(edit.base.start);
            tree.edit(&InputEdit {
                start_byte: edit.base.start,
                old_end_byte: edit.base.end,
                new_end_byte: edit.base.start + inserted.len(),
                start_position,
                old_end_position: self.point(edit.base.end),
                new_end_position: point_after(start_position, inserted),
            });
        }
        tree
    }

    /// Returns the row and byte column of a base offset.
    fn point(&self, offset: usize) -> Point {
        let row = self.line_starts.partition_point(|&start| start <= offset) - 1;
        Point {
            row,
            column: offset - self.line_starts[row],
        }
    }
}

/// Returns where the text ends when `text` is inserted at `start`.
fn point_after(start: Point, text: &str) -> Point {
    match text.rfind('\n') {
        Some(last) => Point {
            row: start.row + text.matches('\n').count(),
            column: text.len() - last - 1,
        },
        None => Point {
            row: start.row,
            column: start.column + text.len(),
        },
    }
}

/// Returns the groups whose applied hunks touch `region` (bytes of the merged
/// text), sorted.
fn suspects(layout: &Layout, region: &Range<usize>) -> Vec<usize> {
    let first = layout
        .edits
        .partition_point(|edit| edit.merged.end < region.start);
    let mut groups: Vec<usize> = layout.edits[first..]
        .iter()
        .zip(&layout.owners[first..])
        .take_while(|(edit, _)| edit.merged.start <= region.end)
        .map(|(_, &group)| group)
        .collect();
    groups.sort_unstable();
    groups.dedup();
    groups
}

/// Drops each group that duplicated a dropped group, because it shared
/// that group's text, following chains of duplicates.
fn drop_duplicates_of_dropped(status: &mut [Status]) {
    loop {
        let mut changed = false;
        for group in 0..status.len() {
            if let Status::Deduplicated { with } = status[group] {
                if status[with] == Status::DroppedForSyntax {
                    status[group] = Status::DroppedForSyntax;
                    changed = true;
                }
            }
        }
        if !changed {
            return;
        }
    }
}

/// Collects the outermost ERROR and MISSING nodes under `node` that touch
/// none of the sorted `old_regions`, in document order.
fn collect_new_errors(
    root: Node<'_>,
    node: Node<'_>,
    old_regions: &[Range<usize>],
    out: &mut Vec<NewError>,
) {
    if node.is_error() || node.is_missing() {
        if !touches_any(old_regions, &node.byte_range()) {
            let mut regions = vec![node.byte_range()];
            let mut ancestor = node.parent();
            while let Some(current) = ancestor {
                if current.id() == root.id() {
                    break;
                }
                regions.push(current.byte_range());
                ancestor = current.parent();
            }
            out.push(NewError { regions });
        }
        return;
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        if child.has_error() {
            collect_new_errors(root, child, old_regions, out);
        }
    }
}
