//! Minimisation: each hunk is diffed against the base text it replaces, at
//! token granularity, and shrinks to the sub-hunks that really change
//! something. `foo.unwrap()` -> `foo?` becomes one replacement of
//! `.unwrap()` by `?`, so a second worker renaming `foo` no longer
//! overlaps it. Sub-hunks stay in their group: atomicity is per group.
//!
//! A pure insertion or deletion inside a hunk can often sit at several
//! places with the same result (inserting `b ` before `c` in `a c` equals
//! inserting ` b` after `a`). Such a sub-hunk is slid, within its hunk, to
//! a line start when it is made of whole lines, else as far right as it
//! goes, so that equal edits from different workers land on equal hunks.

use std::borrow::Cow;

use super::diff::{Change, Differ};
use super::edit::{Group, Hunk};
use super::tokens::is_one_token;

/// A minimised hunk: `start..end` (bytes of the base) becomes `text`. The
/// text borrows from the worker's hunk unless two inserts at one offset
/// had to be joined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Piece<'a> {
    pub start: usize,
    pub end: usize,
    pub text: Cow<'a, str>,
}

/// Reusable buffers for minimising many hunks.
#[derive(Default)]
pub(crate) struct Minimiser {
    differ: Differ,
    changes: Vec<Change>,
}

impl Minimiser {
    /// Appends the minimised hunks of `group` to `out`, sorted and disjoint
    /// with at most one insert per offset, and returns how many it added.
    /// No-op hunks add nothing. Costs time linear in the size of the hunks
    /// and of the base text they replace; `group` must have passed
    /// `Group::check_against(base)`.
    pub fn minimise_group<'a>(
        &mut self,
        base: &'a str,
        group: &'a Group,
        out: &mut Vec<Piece<'a>>,
    ) -> usize {
        let first = out.len();
        for hunk in group.hunks() {
            self.minimise_hunk(base, hunk, out);
        }
        join_inserts_at_one_offset(out, first);
        out.len() - first
    }

    fn minimise_hunk<'a>(&mut self, base: &'a str, hunk: &'a Hunk, out: &mut Vec<Piece<'a>>) {
        let start = hunk.range.start;
        let old = &base[hunk.range.clone()];
        let new = hunk.text.as_str();
        if old == new {
            return;
        }
        if old.is_empty() || new.is_empty() || (is_one_token(old) && is_one_token(new)) {
            // A pure insert or delete, or one token replaced by another
            // (most renames), is already minimal.
            out.push(Piece {
                start,
                end: hunk.range.end,
                text: Cow::Borrowed(new),
            });
            return;
        }
        self.changes.clear();
        self.differ.diff(old, new, &mut self.changes);
        slide_changes(base, start, old, new, &mut self.changes);
        for change in &self.changes {
            out.push(Piece {
                start: start + change.old.start,
                end: start + change.old.end,
                text: Cow::Borrowed(&new[change.new.clone()]),
            });
        }
    }
}

/// Minimises every hunk of `group` against `base` and returns the result as
/// plain hunks, in base byte offsets. Equal to what `merge` works on.
///
/// # Panics
/// When `group` does not fit `base`; check it with `Group::check_against`.
pub fn minimise(base: &str, group: &Group) -> Vec<Hunk> {
    let mut pieces = Vec::new();
    Minimiser::default().minimise_group(base, group, &mut pieces);
    pieces
        .into_iter()
        .map(|piece| Hunk::new(piece.start..piece.end, piece.text.into_owned()))
        .collect()
}

/// Slides each pure insertion and pure deletion among its equivalent
/// positions between its neighbours, then joins changes that came to
/// touch. `old` is `base[hunk_start..]` up to the hunk's end.
pub(crate) fn slide_changes(
    base: &str,
    hunk_start: usize,
    old: &str,
    new: &str,
    changes: &mut Vec<Change>,
) {
    for index in 0..changes.len() {
        let low = if index == 0 {
            0
        } else {
            changes[index - 1].old.end
        };
        let high = changes
            .get(index + 1)
            .map_or(old.len(), |next| next.old.start);
        let change = &mut changes[index];
        if change.old.is_empty() {
            slide_insertion(base, hunk_start, old, new, low, high, change);
        } else if change.new.is_empty() {
            slide_deletion(base, hunk_start, old, low, high, change);
        }
    }
    // Join changes that touch after sliding; the text between them is
    // empty on both sides, so the joined new text is one slice.
    let mut kept = 0;
    for index in 0..changes.len() {
        if kept > 0 && changes[kept - 1].old.end == changes[index].old.start {
            let end = changes[index].old.end;
            let new_end = changes[index].new.end;
            changes[kept - 1].old.end = end;
            changes[kept - 1].new.end = new_end;
        } else {
            changes.swap(kept, index);
            kept += 1;
        }
    }
    changes.truncate(kept);
}

fn is_line_start(base: &str, at: usize) -> bool {
    at == 0 || base.as_bytes()[at - 1] == b'\n'
}

/// Moves an insertion of `new[change.new]` at `change.old.start` by whole
/// chars within `low..=high`, where the text around it is equal in `old`
/// and `new`: a line start if the text is whole lines, else the rightmost
/// position.
fn slide_insertion(
    base: &str,
    hunk_start: usize,
    old: &str,
    new: &str,
    low: usize,
    high: usize,
    change: &mut Change,
) {
    // Leftmost: the char before the insertion equals its last char.
    while change.old.start > low {
        let before = old[..change.old.start].chars().next_back();
        let last = new[change.new.clone()].chars().next_back();
        match (before, last) {
            (Some(before), Some(last)) if before == last => {
                let width = before.len_utf8();
                change.old = change.old.start - width..change.old.end - width;
                change.new = change.new.start - width..change.new.end - width;
            }
            _ => break,
        }
    }
    let score = |change: &Change| {
        is_line_start(base, hunk_start + change.old.start)
            && new[change.new.clone()].ends_with('\n')
    };
    let mut best = change.clone();
    let mut best_score = score(change);
    // Rightwards: the char after the insertion equals its first char.
    while change.old.start < high {
        let after = old[change.old.start..].chars().next();
        let first = new[change.new.clone()].chars().next();
        match (after, first) {
            (Some(after), Some(first)) if after == first => {
                let width = after.len_utf8();
                change.old = change.old.start + width..change.old.end + width;
                change.new = change.new.start + width..change.new.end + width;
            }
            _ => break,
        }
        let current = score(change);
        if current >= best_score {
            best = change.clone();
            best_score = current;
        }
    }
    *change = best;
}

/// Moves a deletion of `old[change.old]` by whole chars within
/// `low..=high`, the same way as `slide_insertion`.
fn slide_deletion(
    base: &str,
    hunk_start: usize,
    old: &str,
    low: usize,
    high: usize,
    change: &mut Change,
) {
    while change.old.start > low {
        let before = old[..change.old.start].chars().next_back();
        let last = old[change.old.clone()].chars().next_back();
        match (before, last) {
            (Some(before), Some(last)) if before == last => {
                let width = before.len_utf8();
                change.old = change.old.start - width..change.old.end - width;
                change.new = change.new.start - width..change.new.end - width;
            }
            _ => break,
        }
    }
    let score = |change: &Change| {
        is_line_start(base, hunk_start + change.old.start)
            && old[change.old.clone()].ends_with('\n')
    };
    let mut best = change.clone();
    let mut best_score = score(change);
    while change.old.end < high {
        let after = old[change.old.end..].chars().next();
        let first = old[change.old.clone()].chars().next();
        match (after, first) {
            (Some(after), Some(first)) if after == first => {
                let width = after.len_utf8();
                change.old = change.old.start + width..change.old.end + width;
                change.new = change.new.start + width..change.new.end + width;
            }
            _ => break,
        }
        let current = score(change);
        if current >= best_score {
            best = change.clone();
            best_score = current;
        }
    }
    *change = best;
}

/// Joins, in their order, inserts at one offset that came from touching
/// hunks of one group, so the group keeps at most one insert per offset.
/// They arise when a hunk ending at `p` minimises to an insert at `p` and
/// the next hunk inserts at `p`.
fn join_inserts_at_one_offset(pieces: &mut Vec<Piece<'_>>, first: usize) {
    let mut kept = first;
    for index in first..pieces.len() {
        let joins = kept > first && {
            let previous = &pieces[kept - 1];
            let current = &pieces[index];
            previous.start == previous.end
                && current.start == current.end
                && previous.start == current.start
        };
        if joins {
            let text = std::mem::take(&mut pieces[index].text);
            let previous = &mut pieces[kept - 1];
            previous.text = Cow::Owned(format!("{}{}", previous.text, text));
        } else {
            pieces.swap(kept, index);
            kept += 1;
        }
    }
    pieces.truncate(kept);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(base: &str, hunks: Vec<Hunk>) -> Vec<(std::ops::Range<usize>, String)> {
        let group = Group::new(hunks).unwrap();
        group.check_against(base).unwrap();
        minimise(base, &group)
            .into_iter()
            .map(|hunk| (hunk.range, hunk.text))
            .collect()
    }

    #[test]
    fn unwrap_becomes_question_mark() {
        let base = "let v = foo.unwrap();";
        let found = pieces(base, vec![Hunk::new(8..20, "foo?")]);
        assert_eq!(found, [(11..20, "?".to_owned())]);
        assert_eq!(&base[11..20], ".unwrap()");
    }

    #[test]
    fn noop_hunks_vanish() {
        let base = "abc def";
        assert!(pieces(base, vec![Hunk::new(0..3, "abc")]).is_empty());
        let found = pieces(base, vec![Hunk::new(0..3, "abc"), Hunk::new(4..7, "xyz")]);
        assert_eq!(found, [(4..7, "xyz".to_owned())]);
    }

    #[test]
    fn inserted_line_slides_to_line_start() {
        let base = "    let x = 1;\n}\n";
        let found = pieces(
            base,
            vec![Hunk::new(0..16, "    let x = 1;\n    let y = 2;\n}")],
        );
        assert_eq!(found, [(15..15, "    let y = 2;\n".to_owned())]);
    }

    #[test]
    fn use_line_added_above_is_an_insert_at_its_start() {
        let base = "use std::x;\n";
        let found = pieces(base, vec![Hunk::new(0..12, "use a::f;\nuse std::x;\n")]);
        assert_eq!(found, [(0..0, "use a::f;\n".to_owned())]);
    }

    #[test]
    fn deleted_duplicate_line_is_whole_line() {
        let base = "x\nx\ny\n";
        let found = pieces(base, vec![Hunk::new(0..6, "x\ny\n")]);
        assert_eq!(found.len(), 1, "{found:?}");
        let (range, text) = &found[0];
        assert!(text.is_empty());
        assert_eq!(&base[range.clone()], "x\n");
        assert!(range.start == 0 || base.as_bytes()[range.start - 1] == b'\n');
    }

    #[test]
    fn touching_hunks_join_their_inserts() {
        // The first hunk's minimised form inserts `!` at 3, where the
        // second hunk inserts `?`.
        let base = "abc def";
        let found = pieces(base, vec![Hunk::new(0..3, "abc!"), Hunk::new(3..3, "?")]);
        assert_eq!(found, [(3..3, "!?".to_owned())]);
    }

    #[test]
    fn multibyte_text_slides_by_chars() {
        let base = "日本 語";
        let found = pieces(base, vec![Hunk::new(0..base.len(), "日本 本 語")]);
        assert_eq!(found.len(), 1);
        let (range, text) = &found[0];
        assert!(range.is_empty());
        let mut merged = base.to_owned();
        merged.insert_str(range.start, text);
        assert_eq!(merged, "日本 本 語");
    }
}
