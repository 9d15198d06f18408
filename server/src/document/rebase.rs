//! Rebasing a change made on an older version onto the current version,
//! leaving out the replacements that overlap edits made since.

use std::ops::Range;

use super::{Document, DocumentError, Version};
use crate::text::changeset::char_len;
use crate::text::{Assoc, ChangeSet, CharOffset, Operation};

/// A change moved onto the current version of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rebased {
    /// The replacements that survived, on the current version.
    pub change: ChangeSet,
    /// The version `change` applies to.
    pub version: Version,
    /// Ranges, in chars of the base version, of the replacements that
    /// overlapped edits made since and are left out of `change`: the
    /// newer edits win.
    pub overlapped: Vec<Range<CharOffset>>,
    /// Every replacement that survived, in order: its range in the base
    /// version, its range in the current version and its text. Unlike the
    /// replacements of `change`, adjacent ones are not joined, so each can
    /// be traced back to the edit it came from.
    pub kept: Vec<KeptReplacement>,
}

/// One replacement that survived a rebase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptReplacement {
    /// Its range in chars of the base version.
    pub original: Range<CharOffset>,
    /// Its range in chars of the current version.
    pub range: Range<CharOffset>,
    pub text: String,
}

/// One replacement of the change being rebased, in the coordinates of the
/// log entry being crossed.
struct Tracked<'a> {
    original: Range<CharOffset>,
    start: usize,
    end: usize,
    text: &'a str,
    overlapped: bool,
}

/// One replacement made by a logged change: `start..end` deleted, and
/// `inserted` chars put at `start`.
#[derive(Clone, Copy, Debug)]
struct Touched {
    start: usize,
    end: usize,
    inserted: usize,
}

impl Touched {
    /// Returns true when this edit changed text inside `start..end` of the tracked
    /// replacement. Touching at a boundary is not an overlap: an insert at
    /// either end, or a deletion that ends where the range starts, leaves
    /// the range's own text alone.
    fn overlaps(&self, start: usize, end: usize) -> bool {
        let deletes = self.end > self.start;
        let shares_chars = deletes && start < self.end && self.start < end;
        let swallows_insert = deletes && start == end && self.start < start && start < self.end;
        let inserts_inside = self.inserted > 0 && start < self.start && self.start < end;
        shares_chars || swallows_insert || inserts_inside
    }
}

impl Document {
    /// Maps `change`, made on version `base`, through every logged change
    /// since onto the current version. Replacements that overlap a newer
    /// edit are left out and listed in `overlapped`.
    ///
    /// Cost: O(r + k) per logged change crossed, for a change of `r`
    /// replacements and a logged change of `k` operations.
    ///
    /// # Errors
    /// `UnknownVersion` when the log does not reach back to `base`, and
    /// `BaseLengthMismatch` when `change` was not made on a document as long
    /// as version `base`.
    pub fn rebase(&self, change: &ChangeSet, base: Version) -> Result<Rebased, DocumentError> {
        let mut since = self.changes_since(base)?.peekable();
        let base_len = since
            .peek()
            .map_or(self.text.len_chars(), |entry| entry.change.len());
        if change.len() != base_len {
            return Err(DocumentError::BaseLengthMismatch {
                base,
                expected: change.len(),
                actual: base_len,
            });
        }

        let mut tracked: Vec<Tracked<'_>> = change
            .replacements()
            .into_iter()
            .map(|replacement| Tracked {
                start: replacement.range.start.0,
                end: replacement.range.end.0,
                original: replacement.range,
                text: replacement.text,
                overlapped: false,
            })
            .collect();

        let mut touched = Vec::new();
        for entry in since {
            collect_touched(entry.change.ops(), &mut touched);
            mark_overlaps(&mut tracked, &touched);
            let mut mapper = PosMapper::new(entry.change.ops());
            for item in tracked.iter_mut().filter(|item| !item.overlapped) {
                if item.start == item.end {
                    let at = mapper.map(item.start, Assoc::After);
                    item.start = at;
                    item.end = at;
                } else {
                    item.start = mapper.map(item.start, Assoc::After);
                    item.end = mapper.map(item.end, Assoc::Before);
                }
            }
        }

        let mut overlapped = Vec::new();
        let mut kept = Vec::new();
        for item in tracked {
            if item.overlapped {
                overlapped.push(item.original);
            } else {
                kept.push(KeptReplacement {
                    original: item.original,
                    range: CharOffset(item.start)..CharOffset(item.end),
                    text: item.text.to_owned(),
                });
            }
        }
        let change = ChangeSet::from_replacements(
            self.text.len_chars(),
            kept.iter()
                .map(|piece| (piece.range.clone(), piece.text.as_str())),
        )?;
        Ok(Rebased {
            change,
            version: self.version,
            overlapped,
            kept,
        })
    }
}

/// Lists the replacements of a logged change, sorted, into `out`.
fn collect_touched(ops: &[Operation], out: &mut Vec<Touched>) {
    out.clear();
    let mut pos = 0;
    for op in ops {
        match op {
            Operation::Retain(n) => pos += n,
            Operation::Insert(text) => out.push(Touched {
                start: pos,
                end: pos,
                inserted: char_len(text),
            }),
            Operation::Delete(n) => {
                // In canonical form an insert at this position comes first;
                // fold the two into one replacement.
                match out.last_mut() {
                    Some(last) if last.end == pos && last.start == pos => last.end = pos + n,
                    _ => out.push(Touched {
                        start: pos,
                        end: pos + n,
                        inserted: 0,
                    }),
                }
                pos += n;
            }
        }
    }
}

/// Flags every tracked replacement that a logged edit overlaps. Both lists
/// are sorted, so each tracked range looks only at the edits near it.
fn mark_overlaps(tracked: &mut [Tracked<'_>], touched: &[Touched]) {
    if touched.is_empty() {
        return;
    }
    for item in tracked.iter_mut().filter(|item| !item.overlapped) {
        let first = touched.partition_point(|edit| edit.end < item.start);
        item.overlapped = touched[first..]
            .iter()
            .take_while(|edit| edit.start <= item.end)
            .any(|edit| edit.overlaps(item.start, item.end));
    }
}

/// Maps non-decreasing offsets through one change in a single sweep.
pub(crate) struct PosMapper<'a> {
    ops: &'a [Operation],
    index: usize,
    old: usize,
    new: usize,
}

impl<'a> PosMapper<'a> {
    pub(crate) fn new(ops: &'a [Operation]) -> Self {
        Self {
            ops,
            index: 0,
            old: 0,
            new: 0,
        }
    }

    /// Maps `pos` as `ChangeSet::map_pos` does. Successive calls must not
    /// decrease `pos`, and an `After` call at one offset must not be
    /// followed by a `Before` call at the same offset.
    pub(crate) fn map(&mut self, pos: usize, assoc: Assoc) -> usize {
        while let Some(op) = self.ops.get(self.index) {
            match op {
                Operation::Retain(n) => {
                    if pos < self.old + n {
                        return self.new + pos - self.old;
                    }
                    self.old += n;
                    self.new += n;
                }
                Operation::Delete(n) => {
                    if pos < self.old + n {
                        return self.new;
                    }
                    self.old += n;
                }
                Operation::Insert(text) => {
                    if pos == self.old && assoc == Assoc::Before {
                        return self.new;
                    }
                    self.new += char_len(text);
                }
            }
            self.index += 1;
        }
        self.new + pos - self.old
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Origin;

    fn replace(doc: &Document, start: usize, end: usize, text: &str) -> ChangeSet {
        ChangeSet::replace(
            doc.text().len_chars(),
            CharOffset(start)..CharOffset(end),
            text,
        )
        .unwrap()
    }

    fn type_at(doc: &mut Document, start: usize, end: usize, text: &str) {
        let change = replace(doc, start, end, text);
        let version = doc.version() + 1;
        doc.apply(change, version, Origin::Editor).unwrap();
    }

    #[test]
    fn rebase_shifts_past_earlier_typing() {
        let mut doc = Document::new("let x = try!(foo);", 1, "rust");
        let job = ChangeSet::from_replacements(
            18,
            [
                (CharOffset(8)..CharOffset(13), ""),
                (CharOffset(16)..CharOffset(17), "?"),
            ],
        )
        .unwrap();
        type_at(&mut doc, 4, 5, "value");
        let rebased = doc.rebase(&job, 1).unwrap();
        assert!(rebased.overlapped.is_empty());
        assert_eq!(rebased.version, 2);
        let mut text = doc.text().clone();
        rebased.change.apply(&mut text).unwrap();
        assert_eq!(text.to_string(), "let value = foo?;");
    }

    #[test]
    fn rebase_drops_overlapping_replacement() {
        let mut doc = Document::new("aaa bbb ccc", 1, "plaintext");
        let job = ChangeSet::from_replacements(
            11,
            [
                (CharOffset(0)..CharOffset(3), "AAA"),
                (CharOffset(4)..CharOffset(7), "BBB"),
            ],
        )
        .unwrap();
        type_at(&mut doc, 5, 6, "X");
        let rebased = doc.rebase(&job, 1).unwrap();
        assert_eq!(rebased.overlapped, vec![CharOffset(4)..CharOffset(7)]);
        let mut text = doc.text().clone();
        rebased.change.apply(&mut text).unwrap();
        assert_eq!(text.to_string(), "AAA bXb ccc");
    }

    #[test]
    fn rebase_keeps_edits_touching_boundaries() {
        let mut doc = Document::new("abcdef", 1, "plaintext");
        let job = ChangeSet::replace(6, CharOffset(2)..CharOffset(4), "XY").unwrap();
        type_at(&mut doc, 2, 2, "<");
        type_at(&mut doc, 5, 5, ">");
        type_at(&mut doc, 0, 1, "");
        let rebased = doc.rebase(&job, 1).unwrap();
        assert!(rebased.overlapped.is_empty());
        let mut text = doc.text().clone();
        rebased.change.apply(&mut text).unwrap();
        assert_eq!(text.to_string(), "b<XY>ef");
    }

    #[test]
    fn rebase_drops_insert_inside_deleted_text() {
        let mut doc = Document::new("abcdef", 1, "plaintext");
        let job = ChangeSet::replace(6, CharOffset(3)..CharOffset(3), "!").unwrap();
        type_at(&mut doc, 1, 5, "");
        let rebased = doc.rebase(&job, 1).unwrap();
        assert_eq!(rebased.overlapped, vec![CharOffset(3)..CharOffset(3)]);
        assert!(rebased.change.is_identity());
    }

    #[test]
    fn rebase_rejects_wrong_length() {
        let mut doc = Document::new("abc", 1, "plaintext");
        type_at(&mut doc, 0, 0, "z");
        let job = ChangeSet::new(4);
        let err = doc.rebase(&job, 1).unwrap_err();
        assert_eq!(
            err,
            DocumentError::BaseLengthMismatch {
                base: 1,
                expected: 4,
                actual: 3
            }
        );
        assert!(err.to_string().contains("version 1 had 3"), "{err}");
    }

    #[test]
    fn rebase_rejects_unknown_version() {
        let doc = Document::new("abc", 5, "plaintext");
        let err = doc.rebase(&ChangeSet::new(3), 3).unwrap_err();
        assert_eq!(
            err,
            DocumentError::UnknownVersion {
                requested: 3,
                oldest: 5,
                current: 5
            }
        );
        assert!(err.to_string().contains("version 3"));
    }
}
