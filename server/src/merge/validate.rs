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
    if checker.passes_without_word_swaps(plan.base, layout)? {
        return Ok(Vec::new());
    }
    let mut passes = 0;
    loop {
        if layout.edits.is_empty() {
            return Ok(Vec::new());
        }
        let tree = checker.parse_layout(layout)?;
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
        let tree = self.parse_layout(&layout)?;
        let breaks = !self.new_errors(&tree, &layout).is_empty();
        self.breaks_alone.insert(group, breaks);
        Ok(breaks)
    }

    /// Returns true when the base with every edit of `layout` applied except
    /// its word swaps (see `swaps_a_word`) has no new syntax error. A word
    /// swap leaves the shape of the tree as it was, so then the whole
    /// layout has none either, and the usual parse of it is not needed.
    /// Returns false, without parsing, when the layout has no word swap to
    /// leave out.
    fn passes_without_word_swaps(
        &mut self,
        base: &str,
        layout: &Layout,
    ) -> Result<bool, SyntaxError> {
        let swaps: Vec<bool> = (0..layout.edits.len())
            .map(|index| self.swaps_a_word(base, layout, index))
            .collect();
        if !swaps.contains(&true) {
            return Ok(false);
        }
        let rest = layout.subset(base, |index| !swaps[index]);
        if rest.edits.is_empty() {
            return Ok(true);
        }
        let tree = self.parse_layout(&rest)?;
        Ok(self.new_errors(&tree, &rest).is_empty())
    }

    /// Returns true when edit `index` of `layout` swaps one plain word for
    /// another (`Language::is_plain_word`) and nothing next to it can join
    /// it into a longer token. The lexer then reads the new word as the
    /// token the old one was, and the parse keeps its shape. So:
    /// - the old word is a whole leaf of the base's tree;
    /// - no other edit touches it;
    /// - neither neighbouring character is a word character, a quote
    ///   (`b'x'`, `r"x"`), `#` (`r#x`), `\` (escapes) or `$`
    ///   (metavariables), or makes a token with the new word
    ///   (`macro_rules!`);
    /// - the word does not follow a number and a `.` (`1.x`).
    fn swaps_a_word(&self, base: &str, layout: &Layout, index: usize) -> bool {
        let edit = &layout.edits[index];
        let old = &base[edit.base.clone()];
        let new = &layout.text[edit.merged.clone()];
        if !self.language.is_plain_word(old) || !self.language.is_plain_word(new) {
            return false;
        }

        let touched_before = index
            .checked_sub(1)
            .is_some_and(|previous| layout.edits[previous].base.end >= edit.base.start);
        let touched_after = layout
            .edits
            .get(index + 1)
            .is_some_and(|next| next.base.start <= edit.base.end);
        if touched_before || touched_after {
            return false;
        }

        let before = base[..edit.base.start].chars().next_back();
        let after = base[edit.base.end..].chars().next();
        let joins = |neighbour: char, joined: String| {
            neighbour.is_alphanumeric()
                || !neighbour.is_ascii()
                || matches!(neighbour, '_' | '\'' | '"' | '#' | '\\' | '$')
                || self.language.names_a_kind(&joined)
        };
        if before.is_some_and(|c| joins(c, format!("{c}{new}")))
            || after.is_some_and(|c| joins(c, format!("{new}{c}")))
        {
            return false;
        }

        // tree-sitter-rust reads `1._x` as the float `1._` before `x`, so
        // a word after a `.` that follows a digit or `_` is not swapped.
        // The merged text is checked, since another edit may have put the
        // digit there (`x.foo` to `1.foo`).
        let mut merged_before = layout.text[..edit.merged.start].chars().rev();
        if merged_before.next() == Some('.')
            && merged_before
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == '_')
        {
            return false;
        }

        // A word inside a comment or a string is part of a larger leaf.
        self.base_tree
            .root_node()
            .descendant_for_byte_range(edit.base.start, edit.base.end)
            .is_some_and(|node| {
                node.byte_range() == edit.base
                    && node.child_count() == 0
                    && node.is_named()
                    && !node.is_error()
                    && !node.is_missing()
            })
    }

    /// Parses `layout.text`: incrementally from the base's tree when the
    /// paths from the root to the edits are short in total, else from
    /// scratch. `Tree::edit` walks from the root to each edit, and the
    /// reparse rebuilds those paths. On a deep tree with edits all along it
    /// (a chain of thousands of `&&` or method calls, each rewritten),
    /// incremental parsing costs the square of the chain's length, and a
    /// fresh parse is many times cheaper.
    fn parse_layout(&mut self, layout: &Layout) -> Result<Tree, SyntaxError> {
        // A fresh parse costs about as much as walking a node per byte.
        if self.paths_within(layout, layout.text.len()) {
            let edited = self.edited_base_tree(layout);
            self.parse(&layout.text, Some(&edited))
        } else {
            self.parse(&layout.text, None)
        }
    }

    /// Returns true when the paths from the root of the base's tree down
    /// to the start of each edit of `layout` contain `budget` nodes or fewer
    /// in all. Stops counting once past the budget.
    fn paths_within(&self, layout: &Layout, budget: usize) -> bool {
        let root = self.base_tree.root_node();
        let mut cursor = root.walk();
        let mut left = budget;
        for edit in &layout.edits {
            cursor.reset(root);
            while cursor.goto_first_child_for_byte(edit.base.start).is_some() {
                let Some(rest) = left.checked_sub(1) else {
                    return false;
                };
                left = rest;
            }
        }
        true
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::{GroupRef, MergedEdit, WorkerId};

    /// Returns the kinds of every node under `node` in preorder.
    fn shape(node: Node<'_>) -> Vec<u16> {
        let mut kinds = Vec::new();
        let mut cursor = node.walk();
        loop {
            kinds.push(cursor.node().kind_id());
            if cursor.goto_first_child() {
                continue;
            }
            loop {
                if cursor.node().id() == node.id() {
                    return kinds;
                }
                if cursor.goto_next_sibling() {
                    break;
                }
                cursor.goto_parent();
            }
        }
    }

    /// Returns the top-level item of `tree` that contains `offset`.
    fn item_at(tree: &Tree, offset: usize) -> Node<'_> {
        let root = tree.root_node();
        let mut cursor = root.walk();
        let item = root
            .children(&mut cursor)
            .find(|item| item.start_byte() <= offset && offset < item.end_byte());
        item.unwrap_or(root)
    }

    /// Returns the layout of `base` with `range` replaced by `word`.
    fn one_edit(base: &str, range: Range<usize>, word: &str) -> Layout {
        let text = format!("{}{word}{}", &base[..range.start], &base[range.end..]);
        Layout {
            edits: vec![MergedEdit {
                group: GroupRef {
                    worker: WorkerId(0),
                    group: 0,
                },
                merged: range.start..range.start + word.len(),
                base: range,
            }],
            owners: vec![0],
            text,
        }
    }

    /// Returns the byte range of every leaf of `tree`.
    fn leaves(tree: &Tree) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut cursor = tree.walk();
        loop {
            if cursor.node().child_count() == 0 {
                out.push(cursor.node().byte_range());
            }
            if cursor.goto_first_child() {
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    return out;
                }
            }
        }
    }

    #[test]
    fn word_swaps_keep_the_shape_of_the_tree() {
        // Real Rust: this module and the matcher, with strings, lifetimes,
        // macros, raw strings and escapes, and methods called on numbers.
        // Words that look plain but are not (keywords, literals, prefixes
        // of literals) sit beside plain ones.
        let numbers = "fn f(t: (u8, u8)) {\n    let a = 1.foo() + 1_.bar() + 0x1.baz() + 1u32.qux();\n    let b = t.0.quux() + 0..end + 1 .sp();\n}\n";
        let sources = [
            include_str!("validate.rs"),
            include_str!("../rules/matcher.rs"),
            numbers,
        ];
        let words = [
            "renamed",
            "r",
            "b",
            "br",
            "c",
            "cr",
            "fn",
            "union",
            "default",
            "macro_rules",
            "self",
            "Self",
            "crate",
            "super",
            "u8",
            "i128",
            "usize",
            "f64",
            "bool",
            "str",
            "char",
            "true",
            "false",
            "_",
            "async",
            "await",
            "dyn",
            "raw",
            "expr",
            "gen",
            "safe",
            "auto",
            "try",
            "yield",
            "move",
            "ref",
            "mut",
            "static",
            "const",
            "where",
            "impl",
            "type",
            "as",
            "in",
            "let",
            "loop",
            "match",
            "unsafe",
            "extern",
            "pub",
            "struct",
            "enum",
            "trait",
            "mod",
            "use",
            "return",
            "break",
            "continue",
            "while",
            "for",
            "if",
            "else",
            "ident",
            "tt",
            "ty",
            "vis",
            "path",
            "block",
            "item",
            "pat",
            "stmt",
            "literal",
            "lifetime",
            "meta",
            "_zz",
            "_e1",
            "_f32",
            "__",
            "e",
            "e1",
            "f32x",
        ];

        let mut parser = Language::Rust.parser().unwrap();
        let mut swaps = 0;
        let mut rejected = 0;
        for base in sources {
            let checker = Checker::new(Language::Rust, base, None).unwrap();
            let base_tree = &checker.base_tree;
            for (index, range) in leaves(base_tree).into_iter().enumerate() {
                // Every fifth leaf keeps the test quick on two cores.
                if index % 5 != 0 && base != numbers {
                    continue;
                }
                for word in words {
                    let layout = one_edit(base, range.clone(), word);
                    if !checker.swaps_a_word(base, &layout, 0) {
                        rejected += 1;
                        continue;
                    }
                    swaps += 1;
                    let edited = checker.edited_base_tree(&layout);
                    let tree = parser.parse(&layout.text, Some(&edited)).unwrap();
                    let (before, after) =
                        (item_at(base_tree, range.start), item_at(&tree, range.start));
                    assert!(
                        !tree.root_node().has_error()
                            && tree.root_node().child_count()
                                == base_tree.root_node().child_count()
                            && shape(after) == shape(before),
                        "{:?} -> {word:?} at {range:?} changed the tree",
                        &base[range.clone()]
                    );
                }
            }
        }

        assert!(swaps > 1000, "only {swaps} word swaps were tried");
        assert!(rejected > 1000, "only {rejected} swaps were rejected");
    }

    #[test]
    fn deep_trees_with_many_edits_parse_from_scratch() {
        let operands: Vec<String> = (0..400).map(|i| format!("a{i} == true")).collect();
        let base = format!("fn f() -> bool {{\n    {}\n}}\n", operands.join(" && "));
        let mut checker = Checker::new(Language::Rust, &base, None).unwrap();
        // Every `== true` removed: 400 edits along a chain 400 deep.
        let mut layout = Layout {
            text: base.replace(" == true", ""),
            ..Layout::default()
        };
        let mut shift = 0;
        for (owner, (at, _)) in base.match_indices(" == true").enumerate() {
            layout.edits.push(MergedEdit {
                group: GroupRef {
                    worker: WorkerId(0),
                    group: owner,
                },
                base: at..at + " == true".len(),
                merged: at - shift..at - shift,
            });
            layout.owners.push(owner);
            shift += " == true".len();
        }
        assert!(!checker.paths_within(&layout, layout.text.len()));
        let first_only = layout.subset(&base, |index| index == 0);
        assert!(checker.paths_within(&first_only, first_only.text.len()));
        for layout in [layout, first_only] {
            let parsed = checker.parse_layout(&layout).unwrap();
            let fresh = Language::Rust.parse_str(&layout.text).unwrap();
            assert_eq!(parsed.root_node().to_sexp(), fresh.root_node().to_sexp());
        }
    }

    #[test]
    fn swaps_beside_joining_text_rejected() {
        let base = "fn f() { let s = \"a\\n b\"; x!(y); q'z'; g(h) }\n";
        let checker = Checker::new(Language::Rust, base, None).unwrap();
        let at = |needle: &str| {
            let start = base.find(needle).unwrap();
            start..start + needle.len()
        };
        let swaps = |range: Range<usize>, word: &str| {
            checker.swaps_a_word(base, &one_edit(base, range, word), 0)
        };

        assert!(swaps(at("g"), "renamed"));
        assert!(swaps(at("x"), "m"));
        // Joins the `!` into one token.
        assert!(!swaps(at("x"), "macro_rules"));
        // Keywords and words the grammar names.
        assert!(!swaps(at("g"), "fn"));
        assert!(!swaps(at("g"), "u8"));
        // Inside a string: not a leaf of its own, and next to a `\`.
        assert!(!swaps(at("n b"), "m"));
        assert!(!swaps(at("b\""), "c"));
        // Next to a quote, a prefix would make a literal.
        assert!(!swaps(at("q"), "b"));

        // After `1.`, tree-sitter-rust reads `_x` as part of a float.
        let number = "fn f() { 1.into(); x.into(); }\n";
        let number_checker = Checker::new(Language::Rust, number, None).unwrap();
        let first = number.find("into").unwrap();
        let layout = one_edit(number, first..first + 4, "_zz");
        assert!(!number_checker.swaps_a_word(number, &layout, 0));
        let second = number.rfind("into").unwrap();
        let layout = one_edit(number, second..second + 4, "_zz");
        assert!(number_checker.swaps_a_word(number, &layout, 0));

        // Two touching edits: neither is a swap on its own.
        assert!(swaps(at("h"), "k"));
        let mut layout = one_edit(base, at("h"), "k");
        let h = at("h");
        layout.text.insert(h.start + 1, '+');
        layout.edits.push(MergedEdit {
            group: layout.edits[0].group,
            base: h.end..h.end,
            merged: h.end..h.end + 1,
        });
        layout.owners.push(1);
        assert!(!checker.swaps_a_word(base, &layout, 0));
    }
}
