//! The merge's output: the merged text, where each applied hunk landed in
//! it, the `ChangeSet` (in chars) that turns the base into it, and the
//! mapping of base offsets into the merged text.

use std::ops::Range;

use serde::Serialize;

use super::minimise::Piece;
use super::report::GroupRef;
use crate::text::{Assoc, ChangeSet, CharOffset};

/// One applied hunk: `base` (bytes of the base) became `merged` (bytes of
/// the merged text). Edits are sorted by base position and disjoint.
/// Inserts at one offset from different groups are separate edits, in
/// priority order; the `ChangeSet` joins them into one insert.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct MergedEdit {
    pub group: GroupRef,
    pub base: Range<usize>,
    pub merged: Range<usize>,
}

/// The merged text with its edits, and for each edit the index of its
/// group among the merge's candidates.
#[derive(Clone, Debug, Default)]
pub(crate) struct Layout {
    pub text: String,
    pub edits: Vec<MergedEdit>,
    pub owners: Vec<usize>,
}

impl Layout {
    /// Returns the layout of `base`, the text this layout was built on,
    /// with only the edits whose index `keep` accepts.
    pub(crate) fn subset(&self, base: &str, mut keep: impl FnMut(usize) -> bool) -> Layout {
        let mut subset = Layout {
            text: String::with_capacity(self.text.len().max(base.len())),
            edits: Vec::new(),
            owners: Vec::new(),
        };
        let mut cursor = 0;
        for (index, edit) in self.edits.iter().enumerate() {
            if !keep(index) {
                continue;
            }
            subset.text.push_str(&base[cursor..edit.base.start]);
            let merged_start = subset.text.len();
            subset.text.push_str(&self.text[edit.merged.clone()]);
            subset.edits.push(MergedEdit {
                group: edit.group,
                base: edit.base.clone(),
                merged: merged_start..subset.text.len(),
            });
            subset.owners.push(self.owners[index]);
            cursor = edit.base.end;
        }
        subset.text.push_str(&base[cursor..]);
        subset
    }
}

/// Builds the merged text from `applied`, indexes of pieces that are
/// sorted by position and disjoint (inserts at one offset in the order
/// they are to appear). Costs O(base + pieces).
pub(crate) fn build_layout(
    base: &str,
    pieces: &[Piece<'_>],
    owner: &[u32],
    refs: &[GroupRef],
    applied: &[u32],
) -> Layout {
    let mut length = base.len();
    for &piece in applied {
        let hunk = &pieces[piece as usize];
        length = length + hunk.text.len() - (hunk.end - hunk.start);
    }
    let mut layout = Layout {
        text: String::with_capacity(length),
        edits: Vec::with_capacity(applied.len()),
        owners: Vec::with_capacity(applied.len()),
    };
    let mut cursor = 0;
    for &piece in applied {
        let group = owner[piece as usize] as usize;
        let hunk = &pieces[piece as usize];
        layout.text.push_str(&base[cursor..hunk.start]);
        let merged_start = layout.text.len();
        layout.text.push_str(&hunk.text);
        layout.edits.push(MergedEdit {
            group: refs[group],
            base: hunk.start..hunk.end,
            merged: merged_start..layout.text.len(),
        });
        layout.owners.push(group);
        cursor = hunk.end;
    }
    layout.text.push_str(&base[cursor..]);
    layout
}

/// Builds the `ChangeSet` of `layout` on `base`, converting byte offsets to
/// chars in one pass over the sorted edits.
///
/// # Panics
/// When the edits are not sorted and disjoint; `build_layout` makes them so.
pub(crate) fn change_set(base: &str, layout: &Layout) -> ChangeSet {
    let mut replacements = Vec::with_capacity(layout.edits.len());
    let (mut byte, mut chars) = (0, 0);
    for edit in &layout.edits {
        chars += base[byte..edit.base.start].chars().count();
        let start = chars;
        chars += base[edit.base.clone()].chars().count();
        byte = edit.base.end;
        replacements.push((
            CharOffset(start)..CharOffset(chars),
            &layout.text[edit.merged.clone()],
        ));
    }
    chars += base[byte..].chars().count();
    ChangeSet::from_replacements(chars, replacements)
        .expect("applied hunks are sorted and disjoint by construction")
}

/// Maps a byte offset of the base into the merged text. An offset inside a
/// replaced range maps to the replacement's start (`Before`) or end
/// (`After`). At an insert, `Before` stays before the inserted text and
/// `After` moves past it. Costs O(log edits).
pub(crate) fn map_offset(edits: &[MergedEdit], offset: usize, assoc: Assoc) -> usize {
    // Edits wholly before the offset form a prefix of the sorted edits.
    let before = match assoc {
        Assoc::Before => edits.partition_point(|edit| {
            edit.base.end < offset || (edit.base.end == offset && edit.base.start < offset)
        }),
        Assoc::After => edits.partition_point(|edit| edit.base.end <= offset),
    };
    if let Some(next) = edits.get(before) {
        if next.base.start < offset && offset < next.base.end {
            return match assoc {
                Assoc::Before => next.merged.start,
                Assoc::After => next.merged.end,
            };
        }
    }
    match before.checked_sub(1).map(|index| &edits[index]) {
        Some(previous) => previous.merged.end + (offset - previous.base.end),
        None => offset,
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::merge::edit::WorkerId;

    fn layout(base: &str, hunks: &[(Range<usize>, &'static str)]) -> Layout {
        let pieces: Vec<Piece<'static>> = hunks
            .iter()
            .map(|(range, text)| Piece {
                start: range.start,
                end: range.end,
                text: Cow::Borrowed(*text),
            })
            .collect();
        let owner: Vec<u32> = (0..pieces.len() as u32).collect();
        let refs: Vec<GroupRef> = (0..pieces.len())
            .map(|group| GroupRef {
                worker: WorkerId(0),
                group,
            })
            .collect();
        build_layout(base, &pieces, &owner, &refs, &owner)
    }

    #[test]
    fn text_and_change_agree_on_multibyte_base() {
        let base = "é日x🦀yz";
        // "é" is 2 bytes, "日" 3, "🦀" 4.
        let built = layout(
            base,
            &[(0..2, "e"), (5..5, "+"), (6..10, ""), (11..12, "Z")],
        );
        assert_eq!(built.text, "e日+xyZ");
        let change = change_set(base, &built);
        assert_eq!(change.len(), 6);
        assert_eq!(change.apply_to_str(base).unwrap(), built.text);
        assert_eq!(built.edits[1].merged, 4..5);
    }

    #[test]
    fn subset_keeps_the_chosen_edits_only() {
        let base = "abcdefgh";
        let built = layout(base, &[(1..2, "B"), (3..3, "+"), (5..7, "")]);
        assert_eq!(built.text, "aBc+deh");
        let odd = built.subset(base, |index| index != 1);
        assert_eq!(odd.text, "aBcdeh");
        assert_eq!(odd.owners, [0, 2]);
        assert_eq!(odd.edits[1].merged, 5..5);
        assert_eq!(built.subset(base, |_| false).text, base);
    }

    #[test]
    fn offsets_map_around_edits() {
        let base = "abcdefgh";
        let built = layout(base, &[(2..2, "XY"), (4..6, "Q")]);
        assert_eq!(built.text, "abXYcdQgh");
        assert_eq!(map_offset(&built.edits, 1, Assoc::Before), 1);
        assert_eq!(map_offset(&built.edits, 2, Assoc::Before), 2);
        assert_eq!(map_offset(&built.edits, 2, Assoc::After), 4);
        assert_eq!(map_offset(&built.edits, 5, Assoc::Before), 6);
        assert_eq!(map_offset(&built.edits, 5, Assoc::After), 7);
        assert_eq!(map_offset(&built.edits, 6, Assoc::Before), 7);
        assert_eq!(map_offset(&built.edits, 8, Assoc::After), 9);
    }
}
