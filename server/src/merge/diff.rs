//! Text diff for the merge: which byte ranges of an old text change into
//! which byte ranges of a new one, at token granularity.
//!
//! The diff trims the common prefix and suffix, then runs Myers' O((n+m)·d)
//! algorithm over tokens with a bound on the edit distance `d`. When the
//! bound is exceeded it diffs lines first (Myers again, then unique-line
//! anchors as in patience diff), and diffs tokens inside each changed block
//! of lines. A block that is still too different becomes one change. The
//! bounds keep the cost linear in the text size. They cost minimality on
//! heavily rewritten text, never correctness, because applying the changes
//! always turns the old text into the new one.

use std::collections::HashMap;
use std::ops::Range;

use super::tokens::{same_token, tokenise, Token};

/// Maximum edit distance, in tokens, that Myers' algorithm explores before
/// the diff falls back to lines. The trace it keeps grows with the square
/// of this bound (256² entries of 4 bytes).
const MAX_TOKEN_DISTANCE: usize = 256;

/// Maximum edit distance, in lines, before the line diff falls back to
/// unique-line anchors.
const MAX_LINE_DISTANCE: usize = 512;

/// Depth of nested anchor searches before a block of lines is replaced
/// whole.
const MAX_ANCHOR_DEPTH: usize = 8;

/// One changed region: `old` (bytes of the old text) becomes `new` (bytes
/// of the new text). Changes come sorted and separated by equal text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Change {
    pub old: Range<usize>,
    pub new: Range<usize>,
}

/// A run of `len` equal items starting at `old` and `new`.
#[derive(Clone, Copy, Debug)]
struct Snake {
    old: usize,
    new: usize,
    len: usize,
}

/// Reusable buffers, so that diffing many small hunks allocates nothing
/// after the first few.
#[derive(Default)]
pub(crate) struct Differ {
    old_tokens: Vec<Token>,
    new_tokens: Vec<Token>,
    frontier: Vec<i32>,
    trace: Vec<i32>,
    snakes: Vec<Snake>,
    index_changes: Vec<Change>,
}

impl Differ {
    /// Appends the changes that turn `old` into `new` to `out`, with byte
    /// ranges relative to `old` and `new`.
    pub fn diff(&mut self, old: &str, new: &str, out: &mut Vec<Change>) {
        if old == new {
            return;
        }
        if old.is_empty() || new.is_empty() {
            out.push(Change {
                old: 0..old.len(),
                new: 0..new.len(),
            });
            return;
        }

        tokenise(old, &mut self.old_tokens);
        tokenise(new, &mut self.new_tokens);
        let (n, m) = (self.old_tokens.len(), self.new_tokens.len());
        let mut prefix = 0;
        while prefix < n.min(m)
            && same_token(old, &self.old_tokens[prefix], new, &self.new_tokens[prefix])
        {
            prefix += 1;
        }
        let mut suffix = 0;
        while suffix < (n - prefix).min(m - prefix)
            && same_token(
                old,
                &self.old_tokens[n - 1 - suffix],
                new,
                &self.new_tokens[m - 1 - suffix],
            )
        {
            suffix += 1;
        }

        let old_mid = token_span(&self.old_tokens, prefix..n - suffix, old.len());
        let new_mid = token_span(&self.new_tokens, prefix..m - suffix, new.len());
        if old_mid.is_empty() || new_mid.is_empty() {
            out.push(Change {
                old: old_mid,
                new: new_mid,
            });
            return;
        }

        let old_range = prefix..n - suffix;
        let new_range = prefix..m - suffix;
        if self.diff_token_range(old, new, old_range, new_range, out) {
            return;
        }
        self.diff_lines(old, new, old_mid, new_mid, out);
    }

    /// Diffs the tokens `old_range` of `old` against `new_range` of `new`
    /// (both already tokenised) and appends byte changes. Returns false,
    /// appending nothing, when the edit distance exceeds the bound.
    fn diff_token_range(
        &mut self,
        old: &str,
        new: &str,
        old_range: Range<usize>,
        new_range: Range<usize>,
        out: &mut Vec<Change>,
    ) -> bool {
        let old_tokens = &self.old_tokens[old_range.clone()];
        let new_tokens = &self.new_tokens[new_range.clone()];
        let found = myers(
            old_tokens.len(),
            new_tokens.len(),
            |x, y| same_token(old, &old_tokens[x], new, &new_tokens[y]),
            MAX_TOKEN_DISTANCE,
            &mut self.frontier,
            &mut self.trace,
            &mut self.snakes,
            &mut self.index_changes,
        );
        if !found {
            return false;
        }
        for change in &self.index_changes {
            out.push(Change {
                old: token_span(old_tokens, change.old.clone(), tokens_end(old_tokens)),
                new: token_span(new_tokens, change.new.clone(), tokens_end(new_tokens)),
            });
        }
        true
    }

    /// Diffs the lines of `old[old_span]` against `new[new_span]`, then the
    /// tokens inside each changed block of lines.
    fn diff_lines(
        &mut self,
        old: &str,
        new: &str,
        old_span: Range<usize>,
        new_span: Range<usize>,
        out: &mut Vec<Change>,
    ) {
        let old_lines = split_lines(old, old_span);
        let new_lines = split_lines(new, new_span);
        let mut blocks = Vec::new();
        self.diff_line_range(
            old,
            new,
            &old_lines,
            &new_lines,
            0..old_lines.len(),
            0..new_lines.len(),
            0,
            &mut blocks,
        );
        for block in blocks {
            let old_bytes = line_span(&old_lines, block.old);
            let new_bytes = line_span(&new_lines, block.new);
            self.diff_block(old, new, old_bytes, new_bytes, out);
        }
    }

    /// Appends the changed blocks (in line indexes) between two line ranges.
    #[allow(clippy::too_many_arguments)]
    fn diff_line_range(
        &mut self,
        old: &str,
        new: &str,
        old_lines: &[Line],
        new_lines: &[Line],
        old_range: Range<usize>,
        new_range: Range<usize>,
        depth: usize,
        blocks: &mut Vec<Change>,
    ) {
        if old_range.is_empty() && new_range.is_empty() {
            return;
        }
        if old_range.is_empty() || new_range.is_empty() {
            blocks.push(Change {
                old: old_range,
                new: new_range,
            });
            return;
        }
        let old_slice = &old_lines[old_range.clone()];
        let new_slice = &new_lines[new_range.clone()];
        let found = myers(
            old_slice.len(),
            new_slice.len(),
            |x, y| old_slice[x].same_as(old, &new_slice[y], new),
            MAX_LINE_DISTANCE,
            &mut self.frontier,
            &mut self.trace,
            &mut self.snakes,
            &mut self.index_changes,
        );
        if found {
            for change in &self.index_changes {
                blocks.push(Change {
                    old: old_range.start + change.old.start..old_range.start + change.old.end,
                    new: new_range.start + change.new.start..new_range.start + change.new.end,
                });
            }
            return;
        }
        let anchors = unique_line_anchors(old, new, old_slice, new_slice);
        if anchors.is_empty() || depth >= MAX_ANCHOR_DEPTH {
            blocks.push(Change {
                old: old_range,
                new: new_range,
            });
            return;
        }
        let (mut old_cursor, mut new_cursor) = (old_range.start, new_range.start);
        for (old_anchor, new_anchor) in anchors {
            let (old_at, new_at) = (old_range.start + old_anchor, new_range.start + new_anchor);
            self.diff_line_range(
                old,
                new,
                old_lines,
                new_lines,
                old_cursor..old_at,
                new_cursor..new_at,
                depth + 1,
                blocks,
            );
            old_cursor = old_at + 1;
            new_cursor = new_at + 1;
        }
        self.diff_line_range(
            old,
            new,
            old_lines,
            new_lines,
            old_cursor..old_range.end,
            new_cursor..new_range.end,
            depth + 1,
            blocks,
        );
    }

    /// Diffs the tokens of one changed block of lines; a block still beyond
    /// the bound becomes one change.
    fn diff_block(
        &mut self,
        old: &str,
        new: &str,
        old_span: Range<usize>,
        new_span: Range<usize>,
        out: &mut Vec<Change>,
    ) {
        if old_span.is_empty() || new_span.is_empty() {
            out.push(Change {
                old: old_span,
                new: new_span,
            });
            return;
        }
        let old_block = &old[old_span.clone()];
        let new_block = &new[new_span.clone()];
        tokenise(old_block, &mut self.old_tokens);
        tokenise(new_block, &mut self.new_tokens);
        let mut local = Vec::new();
        let old_count = self.old_tokens.len();
        let new_count = self.new_tokens.len();
        if !self.diff_token_range(old_block, new_block, 0..old_count, 0..new_count, &mut local) {
            local.push(Change {
                old: 0..old_block.len(),
                new: 0..new_block.len(),
            });
        }
        for change in local {
            out.push(Change {
                old: old_span.start + change.old.start..old_span.start + change.old.end,
                new: new_span.start + change.new.start..new_span.start + change.new.end,
            });
        }
    }
}

/// Returns the end of the last token, or 0 for no tokens.
fn tokens_end(tokens: &[Token]) -> usize {
    tokens.last().map_or(0, |token| token.end)
}

/// Returns the bytes that tokens `range` cover. An empty range sits where
/// token `range.start` starts, or at `end_of_text` past the last token.
fn token_span(tokens: &[Token], range: Range<usize>, end_of_text: usize) -> Range<usize> {
    let at = |index: usize| tokens.get(index).map_or(end_of_text, |token| token.start);
    if range.is_empty() {
        let point = at(range.start);
        return point..point;
    }
    tokens[range.start].start..tokens[range.end - 1].end
}

/// One line (with its terminator) of a text, with a hash of its bytes.
#[derive(Clone, Copy, Debug)]
struct Line {
    start: usize,
    end: usize,
    hash: u64,
}

impl Line {
    fn same_as(&self, text: &str, other: &Line, other_text: &str) -> bool {
        self.hash == other.hash
            && text.as_bytes()[self.start..self.end]
                == other_text.as_bytes()[other.start..other.end]
    }
}

fn split_lines(text: &str, span: Range<usize>) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut start = span.start;
    for piece in text[span].split_inclusive('\n') {
        let end = start + piece.len();
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for &byte in piece.as_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        lines.push(Line { start, end, hash });
        start = end;
    }
    lines
}

/// Returns the bytes that lines `range` cover. An empty range sits at the
/// start of line `range.start`, or after the last line.
fn line_span(lines: &[Line], range: Range<usize>) -> Range<usize> {
    if range.is_empty() {
        let point = match lines.get(range.start) {
            Some(line) => line.start,
            None => lines.last().map_or(0, |line| line.end),
        };
        return point..point;
    }
    lines[range.start].start..lines[range.end - 1].end
}

/// Returns the pairs (old index, new index) of lines that occur exactly
/// once in each slice, reduced to a longest chain that increases on both
/// sides.
fn unique_line_anchors(
    old: &str,
    new: &str,
    old_lines: &[Line],
    new_lines: &[Line],
) -> Vec<(usize, usize)> {
    // Per distinct line: count in old, count in new, last index in each.
    let mut seen: HashMap<&[u8], (u32, u32, usize, usize)> = HashMap::new();
    for (index, line) in old_lines.iter().enumerate() {
        let entry = seen
            .entry(&old.as_bytes()[line.start..line.end])
            .or_insert((0, 0, 0, 0));
        entry.0 += 1;
        entry.2 = index;
    }
    for (index, line) in new_lines.iter().enumerate() {
        if let Some(entry) = seen.get_mut(&new.as_bytes()[line.start..line.end]) {
            entry.1 += 1;
            entry.3 = index;
        }
    }
    let mut pairs: Vec<(usize, usize)> = seen
        .into_values()
        .filter(|&(in_old, in_new, _, _)| in_old == 1 && in_new == 1)
        .map(|(_, _, old_index, new_index)| (old_index, new_index))
        .collect();
    pairs.sort_unstable_by_key(|&(_, new_index)| new_index);
    longest_increasing_by_old(&pairs)
}

/// Returns a longest subsequence of `pairs` (sorted by new index) whose old
/// indexes increase, found by patience sorting in O(k log k).
fn longest_increasing_by_old(pairs: &[(usize, usize)]) -> Vec<(usize, usize)> {
    // tails[i]: index in `pairs` of the smallest old index ending a chain
    // of length i + 1; previous[j]: the element before j in its chain.
    let mut tails: Vec<usize> = Vec::new();
    let mut previous: Vec<Option<usize>> = vec![None; pairs.len()];
    for (j, &(old_index, _)) in pairs.iter().enumerate() {
        let length = tails.partition_point(|&t| pairs[t].0 < old_index);
        previous[j] = length.checked_sub(1).map(|i| tails[i]);
        if length == tails.len() {
            tails.push(j);
        } else {
            tails[length] = j;
        }
    }
    let mut chain = Vec::with_capacity(tails.len());
    let mut cursor = tails.last().copied();
    while let Some(j) = cursor {
        chain.push(pairs[j]);
        cursor = previous[j];
    }
    chain.reverse();
    chain
}

/// Myers' greedy shortest edit script between sequences of `n` and `m`
/// items, with `equal(x, y)` comparing old item `x` with new item `y`.
/// Writes the changed index ranges to `changes` and returns true, or
/// returns false when the edit distance exceeds `max_distance`.
///
/// Costs O((n + m) · d) time and O(d²) memory in `trace` for an edit
/// distance `d`.
#[allow(clippy::too_many_arguments)]
fn myers(
    n: usize,
    m: usize,
    mut equal: impl FnMut(usize, usize) -> bool,
    max_distance: usize,
    frontier: &mut Vec<i32>,
    trace: &mut Vec<i32>,
    snakes: &mut Vec<Snake>,
    changes: &mut Vec<Change>,
) -> bool {
    changes.clear();

    let Ok(n_i32) = i32::try_from(n) else {
        return false;
    };
    let Ok(m_i32) = i32::try_from(m) else {
        return false;
    };

    let bound = max_distance.min(n + m);
    let offset = bound + 1;
    frontier.clear();
    frontier.resize(2 * bound + 3, 0);
    trace.clear();
    // frontier[offset + k]: the furthest x reached on diagonal k = x - y.
    let mut final_distance = None;
    'search: for d in 0..=bound {
        let d_i32 = d as i32;
        let mut k = -d_i32;
        while k <= d_i32 {
            let index = (offset as i32 + k) as usize;
            let down = k == -d_i32 || (k != d_i32 && frontier[index - 1] < frontier[index + 1]);
            let mut x = if down {
                frontier[index + 1]
            } else {
                frontier[index - 1] + 1
            };
            let mut y = x - k;
            while x < n_i32 && y < m_i32 && equal(x as usize, y as usize) {
                x += 1;
                y += 1;
            }
            frontier[index] = x;
            if x >= n_i32 && y >= m_i32 {
                final_distance = Some(d);
                break 'search;
            }
            k += 2;
        }
        trace.extend_from_slice(&frontier[offset - d..=offset + d]);
    }
    let Some(distance) = final_distance else {
        return false;
    };

    // Walk back from (n, m), one edit per distance, collecting the runs of
    // equal items between edits.
    let saved = |d: usize, k: i32| trace[d * d + (k + d as i32) as usize];
    snakes.clear();
    let (mut x, mut y) = (n_i32, m_i32);
    for d in (1..=distance).rev() {
        let d_i32 = d as i32;
        let k = x - y;
        let down = k == -d_i32 || (k != d_i32 && saved(d - 1, k - 1) < saved(d - 1, k + 1));
        let previous_k = if down { k + 1 } else { k - 1 };
        let previous_x = saved(d - 1, previous_k);
        let previous_y = previous_x - previous_k;
        let (mid_x, mid_y) = if down {
            (previous_x, previous_y + 1)
        } else {
            (previous_x + 1, previous_y)
        };
        if x > mid_x {
            snakes.push(Snake {
                old: mid_x as usize,
                new: mid_y as usize,
                len: (x - mid_x) as usize,
            });
        }
        x = previous_x;
        y = previous_y;
    }
    if x > 0 {
        snakes.push(Snake {
            old: 0,
            new: 0,
            len: x as usize,
        });
    }
    snakes.reverse();

    let (mut old_cursor, mut new_cursor) = (0, 0);
    for snake in snakes.iter() {
        if snake.old > old_cursor || snake.new > new_cursor {
            changes.push(Change {
                old: old_cursor..snake.old,
                new: new_cursor..snake.new,
            });
        }
        old_cursor = snake.old + snake.len;
        new_cursor = snake.new + snake.len;
    }
    if old_cursor < n || new_cursor < m {
        changes.push(Change {
            old: old_cursor..n,
            new: new_cursor..m,
        });
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies `changes` to `old` and returns the result, checking that
    /// the text between changes is equal on both sides.
    fn apply(old: &str, new: &str, changes: &[Change]) -> String {
        let mut out = String::new();
        let (mut old_cursor, mut new_cursor) = (0, 0);
        for change in changes {
            assert!(change.old.start >= old_cursor, "{changes:?}");
            assert_eq!(
                &old[old_cursor..change.old.start],
                &new[new_cursor..change.new.start],
                "text between changes must be equal: {changes:?}"
            );
            out.push_str(&old[old_cursor..change.old.start]);
            out.push_str(&new[change.new.clone()]);
            old_cursor = change.old.end;
            new_cursor = change.new.end;
        }
        out.push_str(&old[old_cursor..]);
        out
    }

    fn diff(old: &str, new: &str) -> Vec<Change> {
        let mut out = Vec::new();
        Differ::default().diff(old, new, &mut out);
        assert_eq!(apply(old, new, &out), new);
        out
    }

    #[test]
    fn unwrap_to_question_mark_is_one_change() {
        let (old, new) = ("foo.unwrap()", "foo?");
        let changes = diff(old, new);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(&old[changes[0].old.clone()], ".unwrap()");
        assert_eq!(&new[changes[0].new.clone()], "?");
    }

    #[test]
    fn separate_tokens_give_separate_changes() {
        let (old, new) = ("let a = f(x, y);", "let b = f(x, z);");
        let changes = diff(old, new);
        let pairs: Vec<(&str, &str)> = changes
            .iter()
            .map(|change| (&old[change.old.clone()], &new[change.new.clone()]))
            .collect();
        assert_eq!(pairs, [("a", "b"), ("y", "z")]);
    }

    #[test]
    fn equal_texts_have_no_changes() {
        assert!(diff("same", "same").is_empty());
        assert_eq!(diff("", "x").len(), 1);
        assert_eq!(diff("x", "").len(), 1);
    }

    #[test]
    fn large_rewrite_falls_back_to_lines() {
        // Far more token edits than the bound, with every second line kept.
        let old: String = (0..600)
            .map(|i| {
                if i % 2 == 0 {
                    format!("keep {i}\n")
                } else {
                    format!("old a{i} b{i} c{i}\n")
                }
            })
            .collect();
        let new: String = (0..600)
            .map(|i| {
                if i % 2 == 0 {
                    format!("keep {i}\n")
                } else {
                    format!("new x{i} y{i} z{i}\n")
                }
            })
            .collect();
        let changes = diff(&old, &new);
        // Kept lines stay out of every change.
        assert!(changes.len() >= 300, "{}", changes.len());
        for change in &changes {
            assert!(!old[change.old.clone()].contains("keep"), "{change:?}");
        }
    }

    #[test]
    fn anchors_split_an_unbounded_line_diff() {
        // Each block of 1,000 changed lines exceeds the line bound; the
        // unique middle line must still be kept.
        let old_block: String = (0..1000).map(|i| format!("a{i}\n")).collect();
        let new_block: String = (0..1000).map(|i| format!("b{i}\n")).collect();
        let old = format!("{old_block}middle\n{old_block}");
        let new = format!("{new_block}middle\n{new_block}");
        let changes = diff(&old, &new);
        assert!(changes
            .iter()
            .all(|c| !old[c.old.clone()].contains("middle")));
    }

    #[test]
    fn longest_chain_of_anchors() {
        let pairs = [(3, 0), (0, 1), (1, 2), (4, 3), (2, 4)];
        let chain = longest_increasing_by_old(&pairs);
        assert_eq!(chain.len(), 3, "{chain:?}");
        assert_eq!(&chain[..2], [(0, 1), (1, 2)]);
        assert!(chain.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1));
    }
}
