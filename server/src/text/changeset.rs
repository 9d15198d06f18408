//! `ChangeSet`: the retain / delete / insert edit algebra over chars.
//!
//! A `ChangeSet` walks a document of known length from start to end: retain
//! `n` chars, delete `n` chars, or insert a string. Lengths are in chars
//! (Unicode scalar values), the unit of `ropey::Rope` edits, so applying a
//! change never converts offsets. Every constructor keeps one canonical form
//! (adjacent operations of one kind are merged, and at one position an
//! insert always comes before a delete), so equal changes compare equal.
//!
//! The operations and their cost, for changes with `m` and `k` operations:
//! - `apply`: O(m log n) on a rope of `n` chars;
//! - `compose(a, b)`: one change equal to `a` then `b`, O(m + k);
//! - `map(a, b)`: `a` transformed to apply after the concurrent change `b`
//!   (operational transformation), O(m + k);
//! - `invert`: the change that undoes this one, O(m log n);
//! - `map_pos`: where an offset of the old document lands, O(m).

use std::fmt;
use std::ops::Range;

use compact_str::CompactString;
use ropey::Rope;
use smallvec::SmallVec;
use thiserror::Error;

use super::units::CharOffset;

/// One step of a `ChangeSet`; counts are in chars.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Keep the next `n` chars.
    Retain(usize),
    /// Remove the next `n` chars.
    Delete(usize),
    /// Insert text at the current position. Texts of up to 24 bytes are
    /// stored inline, so typing one char allocates nothing.
    Insert(CompactString),
}

/// Side of an insert at exactly its offset that a mapped position sticks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Assoc {
    /// Stay before text inserted at this offset.
    Before,
    /// Move past text inserted at this offset.
    After,
}

/// Rule by which `map` orders two inserts that land on the same offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TieBreak {
    /// The smaller text (by byte order) goes first, so both orders of a
    /// concurrent pair agree without any shared context.
    ByText,
    /// The mapped change's insert goes first.
    SelfFirst,
    /// The other change's insert goes first.
    OtherFirst,
}

/// Errors of the edit algebra; each names the values involved.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ChangeSetError {
    #[error(
        "change was made for a document of {expected} chars but the document has {actual}; \
         rebase the change onto the current version before applying it"
    )]
    LengthMismatch { expected: usize, actual: usize },
    #[error(
        "cannot compose: the first change leaves {first_len_after} chars but the second \
         expects {second_len}; the second change must be made on the first one's result"
    )]
    ComposeMismatch {
        first_len_after: usize,
        second_len: usize,
    },
    #[error(
        "cannot map: the changes were made on documents of {left} and {right} chars; \
         concurrent changes must start from the same version"
    )]
    MapMismatch { left: usize, right: usize },
    #[error("invalid range {start}..{end}: the end comes before the start")]
    ReversedRange { start: usize, end: usize },
    #[error("range {start}..{end} ends past the end of the document ({len} chars)")]
    OutOfBounds {
        start: usize,
        end: usize,
        len: usize,
    },
    #[error(
        "edits {first:?} and {second:?} overlap; split or merge them so that the ranges are disjoint"
    )]
    Overlap {
        first: Range<usize>,
        second: Range<usize>,
    },
    #[error("edit {second:?} comes after {first:?} but starts before it; sort the edits by start")]
    Unsorted {
        first: Range<usize>,
        second: Range<usize>,
    },
}

/// A change to a document of `len` chars that leaves `len_after` chars.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ChangeSet {
    /// Up to three operations (retain, replace, retain) live inline, which
    /// keeps a logged keystroke free of heap allocations.
    ops: SmallVec<[Operation; 3]>,
    len: usize,
    len_after: usize,
}

/// One replacement of a `ChangeSet`: the range of the old document it
/// removes and the text it puts there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replacement<'a> {
    pub range: Range<CharOffset>,
    pub text: &'a str,
}

pub(crate) fn char_len(text: &str) -> usize {
    text.chars().count()
}

/// Splits `text` after `chars` chars.
fn split_chars(text: &str, chars: usize) -> (&str, &str) {
    let byte = text
        .char_indices()
        .nth(chars)
        .map_or(text.len(), |(byte, _)| byte);
    text.split_at(byte)
}

impl ChangeSet {
    /// Creates the identity change on a document of `len` chars.
    pub fn new(len: usize) -> Self {
        let mut change = Self::empty();
        change.retain(len);
        change
    }

    /// Creates a change over zero chars, to be extended with `retain`,
    /// `delete` and `insert`.
    pub fn empty() -> Self {
        Self {
            ops: SmallVec::new(),
            len: 0,
            len_after: 0,
        }
    }

    /// Builds a change from replacements that are sorted by start and
    /// disjoint. Adjacent replacements may touch; several inserts at one
    /// offset apply in the order given.
    ///
    /// # Errors
    /// A reversed range, a range past `len`, an unsorted pair or an
    /// overlapping pair, naming the ranges.
    pub fn from_replacements<I, S>(len: usize, replacements: I) -> Result<Self, ChangeSetError>
    where
        I: IntoIterator<Item = (Range<CharOffset>, S)>,
        S: AsRef<str>,
    {
        let mut change = Self::empty();
        let mut previous: Option<Range<usize>> = None;
        for (range, text) in replacements {
            let (start, end) = (range.start.0, range.end.0);
            if end < start {
                return Err(ChangeSetError::ReversedRange { start, end });
            }
            if end > len {
                return Err(ChangeSetError::OutOfBounds { start, end, len });
            }
            // An insert at the start of the previous range belongs before it.
            let insert_after_its_range =
                |prev: &Range<usize>| start == end && start == prev.start && prev.end > prev.start;
            let cursor = match &previous {
                Some(prev) if start < prev.start || insert_after_its_range(prev) => {
                    return Err(ChangeSetError::Unsorted {
                        first: prev.clone(),
                        second: start..end,
                    })
                }
                Some(prev) if start < prev.end => {
                    return Err(ChangeSetError::Overlap {
                        first: prev.clone(),
                        second: start..end,
                    })
                }
                Some(prev) => prev.end,
                None => 0,
            };
            change.retain(start - cursor);
            change.insert(text.as_ref());
            change.delete(end - start);
            previous = Some(start..end);
        }
        let cursor = previous.map_or(0, |prev| prev.end);
        change.retain(len - cursor);
        Ok(change)
    }

    /// Builds a change that replaces `range` of a document of `len` chars.
    /// This is the shape of almost every keystroke, so it skips the checks
    /// for sorting that `from_replacements` needs.
    ///
    /// # Errors
    /// A reversed range or a range past `len`.
    pub fn replace(
        len: usize,
        range: Range<CharOffset>,
        text: &str,
    ) -> Result<Self, ChangeSetError> {
        let (start, end) = (range.start.0, range.end.0);
        if end < start {
            return Err(ChangeSetError::ReversedRange { start, end });
        }
        if end > len {
            return Err(ChangeSetError::OutOfBounds { start, end, len });
        }
        let mut ops = SmallVec::new();
        if start > 0 {
            ops.push(Operation::Retain(start));
        }
        let inserted = char_len(text);
        if inserted > 0 {
            ops.push(Operation::Insert(CompactString::from(text)));
        }
        if end > start {
            ops.push(Operation::Delete(end - start));
        }
        if len > end {
            ops.push(Operation::Retain(len - end));
        }
        Ok(Self {
            ops,
            len,
            len_after: len - (end - start) + inserted,
        })
    }

    /// Builds one change equal to applying `steps` one after another, each
    /// range referring to the document as the previous steps left it (the
    /// way an LSP `didChange` notification lists its edits).
    ///
    /// Editors send multi-cursor edits bottom-up, each ending at or before
    /// the start of the previous one; then no step moves the next, and the
    /// change is built in one pass. Any other order is composed step by step.
    ///
    /// # Errors
    /// A reversed range or a range past the end of the document as the
    /// previous steps left it.
    pub fn from_sequential<S: AsRef<str>>(
        len: usize,
        steps: &[(Range<CharOffset>, S)],
    ) -> Result<Self, ChangeSetError> {
        let bottom_up = steps
            .windows(2)
            .all(|pair| pair[1].0.end <= pair[0].0.start);
        if bottom_up {
            return Self::from_replacements(
                len,
                steps
                    .iter()
                    .rev()
                    .map(|(range, text)| (range.clone(), text.as_ref())),
            );
        }
        let mut parts = Vec::with_capacity(steps.len());
        let mut current = len;
        for (range, text) in steps {
            let step = Self::replace(current, range.clone(), text.as_ref())?;
            current = step.len_after();
            parts.push(step);
        }
        Self::compose_all(len, parts)
    }

    /// Composes `changes`, each made on the result of the one before it,
    /// into one change on a document of `len` chars. Neighbours are
    /// composed pairwise, level by level, so n changes of a few operations
    /// each cost O(n log n) rather than the O(n^2) of folding them one by
    /// one.
    ///
    /// # Errors
    /// `LengthMismatch` when a change does not fit the result of the one
    /// before it (the first must cover `len` chars).
    pub fn compose_all(len: usize, changes: Vec<ChangeSet>) -> Result<Self, ChangeSetError> {
        let mut level = changes;
        if level.is_empty() {
            return Ok(Self::new(len));
        }
        if level[0].len() != len {
            return Err(ChangeSetError::LengthMismatch {
                expected: level[0].len(),
                actual: len,
            });
        }
        while level.len() > 1 {
            let mut next = Vec::with_capacity(level.len().div_ceil(2));
            let mut pairs = level.into_iter();
            while let Some(first) = pairs.next() {
                match pairs.next() {
                    Some(second) => next.push(first.compose(&second)?),
                    None => next.push(first),
                }
            }
            level = next;
        }
        Ok(level.pop().expect("one change is left"))
    }

    /// Length in chars of the document this change applies to.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Length in chars of the document after this change.
    pub fn len_after(&self) -> usize {
        self.len_after
    }

    /// Returns true when the change covers a document of zero chars and
    /// inserts nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0 && self.len_after == 0
    }

    /// Returns true when applying the change leaves every document unchanged.
    pub fn is_identity(&self) -> bool {
        self.ops.iter().all(|op| matches!(op, Operation::Retain(_)))
    }

    /// Returns the operations in canonical form.
    pub fn ops(&self) -> &[Operation] {
        &self.ops
    }

    /// Appends "keep the next `n` chars".
    pub fn retain(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.len += n;
        self.len_after += n;
        if let Some(Operation::Retain(count)) = self.ops.last_mut() {
            *count += n;
        } else {
            self.ops.push(Operation::Retain(n));
        }
    }

    /// Appends "remove the next `n` chars".
    pub fn delete(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.len += n;
        if let Some(Operation::Delete(count)) = self.ops.last_mut() {
            *count += n;
        } else {
            self.ops.push(Operation::Delete(n));
        }
    }

    /// Appends "insert `text` here". An insert that follows a delete at the
    /// same position is stored before it, so the form stays canonical.
    pub fn insert(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.len_after += char_len(text);
        let ops = &mut self.ops;
        match ops.as_mut_slice() {
            [.., Operation::Insert(last)] => last.push_str(text),
            [.., Operation::Insert(last), Operation::Delete(_)] => last.push_str(text),
            [.., Operation::Delete(_)] => {
                let at = ops.len() - 1;
                ops.insert(at, Operation::Insert(CompactString::from(text)));
            }
            _ => ops.push(Operation::Insert(CompactString::from(text))),
        }
    }

    /// Applies the change to `rope` in place.
    ///
    /// # Errors
    /// `LengthMismatch` when the rope does not have `self.len()` chars; the
    /// rope is then unchanged.
    pub fn apply(&self, rope: &mut Rope) -> Result<(), ChangeSetError> {
        let actual = rope.len_chars();
        if actual != self.len {
            return Err(ChangeSetError::LengthMismatch {
                expected: self.len,
                actual,
            });
        }
        let mut pos = 0;
        for op in &self.ops {
            match op {
                Operation::Retain(n) => pos += n,
                Operation::Delete(n) => rope.remove(pos..pos + n),
                Operation::Insert(text) => {
                    rope.insert(pos, text);
                    pos += char_len(text);
                }
            }
        }
        Ok(())
    }

    /// Applies the change to a string and returns the result.
    ///
    /// # Errors
    /// `LengthMismatch` when `text` does not have `self.len()` chars.
    pub fn apply_to_str(&self, text: &str) -> Result<String, ChangeSetError> {
        let actual = char_len(text);
        if actual != self.len {
            return Err(ChangeSetError::LengthMismatch {
                expected: self.len,
                actual,
            });
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        for op in &self.ops {
            match op {
                Operation::Retain(n) => {
                    let (kept, after) = split_chars(rest, *n);
                    out.push_str(kept);
                    rest = after;
                }
                Operation::Delete(n) => rest = split_chars(rest, *n).1,
                Operation::Insert(inserted) => out.push_str(inserted),
            }
        }
        Ok(out)
    }

    /// Returns one change equal to `self` followed by `next`.
    ///
    /// # Errors
    /// `ComposeMismatch` when `next` was not made on the result of `self`.
    pub fn compose(&self, next: &ChangeSet) -> Result<ChangeSet, ChangeSetError> {
        if self.len_after != next.len {
            return Err(ChangeSetError::ComposeMismatch {
                first_len_after: self.len_after,
                second_len: next.len,
            });
        }
        let mut out = ChangeSet::empty();
        let mut first = OpCursor::new(&self.ops);
        let mut second = OpCursor::new(&next.ops);
        loop {
            match (first.peek(), second.peek()) {
                (None, None) => break,
                // Text the first change deletes never reaches the second.
                (Some(Head::Delete(n)), _) => {
                    out.delete(n);
                    first.advance(n);
                }
                // Text the second change inserts is new to both.
                (_, Some(Head::Insert(text))) => {
                    out.insert(text);
                    second.advance(char_len(text));
                }
                (Some(Head::Retain(a)), Some(Head::Retain(b))) => {
                    let n = a.min(b);
                    out.retain(n);
                    first.advance(n);
                    second.advance(n);
                }
                (Some(Head::Retain(a)), Some(Head::Delete(b))) => {
                    let n = a.min(b);
                    out.delete(n);
                    first.advance(n);
                    second.advance(n);
                }
                (Some(Head::Insert(text)), Some(Head::Retain(b))) => {
                    let (kept, _) = split_chars(text, b);
                    let n = char_len(kept);
                    out.insert(kept);
                    first.advance(n);
                    second.advance(n);
                }
                (Some(Head::Insert(text)), Some(Head::Delete(b))) => {
                    let n = char_len(text).min(b);
                    first.advance(n);
                    second.advance(n);
                }
                (None, Some(_)) | (Some(_), None) => {
                    unreachable!("compose: lengths were checked to match")
                }
            }
        }
        Ok(out)
    }

    /// Transforms `self` to apply after `other`, a concurrent change made on
    /// the same document. Same-offset inserts are ordered by text, so
    /// `a` then `b.map(&a)` and `b` then `a.map(&b)` give the same document.
    ///
    /// # Errors
    /// `MapMismatch` when the two changes were made on documents of
    /// different lengths.
    pub fn map(&self, other: &ChangeSet) -> Result<ChangeSet, ChangeSetError> {
        self.map_with(other, TieBreak::ByText)
    }

    /// Transforms `self` to apply after `other`, ordering same-offset inserts
    /// by `tie`.
    ///
    /// Text that `other` deleted is gone, so `self`'s deletes of it vanish and
    /// `self`'s inserts inside it land where the deleted text was.
    ///
    /// # Errors
    /// `MapMismatch` as for `map`.
    pub fn map_with(&self, other: &ChangeSet, tie: TieBreak) -> Result<ChangeSet, ChangeSetError> {
        if self.len != other.len {
            return Err(ChangeSetError::MapMismatch {
                left: self.len,
                right: other.len,
            });
        }
        let mut out = ChangeSet::empty();
        let mut mine = OpCursor::new(&self.ops);
        let mut theirs = OpCursor::new(&other.ops);
        loop {
            match (mine.peek(), theirs.peek()) {
                (None, None) => break,
                (Some(Head::Insert(text)), Some(Head::Insert(their_text))) => {
                    let mine_first = match tie {
                        TieBreak::ByText => text <= their_text,
                        TieBreak::SelfFirst => true,
                        TieBreak::OtherFirst => false,
                    };
                    if mine_first {
                        out.insert(text);
                        mine.skip_insert();
                    } else {
                        out.retain(char_len(their_text));
                        theirs.skip_insert();
                    }
                }
                (Some(Head::Insert(text)), _) => {
                    out.insert(text);
                    mine.skip_insert();
                }
                (_, Some(Head::Insert(their_text))) => {
                    out.retain(char_len(their_text));
                    theirs.skip_insert();
                }
                (Some(Head::Retain(a)), Some(Head::Retain(b))) => {
                    let n = a.min(b);
                    out.retain(n);
                    mine.advance(n);
                    theirs.advance(n);
                }
                (Some(Head::Delete(a)), Some(Head::Retain(b))) => {
                    let n = a.min(b);
                    out.delete(n);
                    mine.advance(n);
                    theirs.advance(n);
                }
                (Some(Head::Retain(a) | Head::Delete(a)), Some(Head::Delete(b))) => {
                    let n = a.min(b);
                    mine.advance(n);
                    theirs.advance(n);
                }
                (None, Some(_)) | (Some(_), None) => {
                    unreachable!("map: lengths were checked to match")
                }
            }
        }
        Ok(out)
    }

    /// Returns the change that undoes `self`, given the document `self` was
    /// made for.
    ///
    /// # Errors
    /// `LengthMismatch` when `original` does not have `self.len()` chars.
    pub fn invert(&self, original: &Rope) -> Result<ChangeSet, ChangeSetError> {
        let actual = original.len_chars();
        if actual != self.len {
            return Err(ChangeSetError::LengthMismatch {
                expected: self.len,
                actual,
            });
        }
        let mut out = ChangeSet::empty();
        let mut pos = 0;
        for op in &self.ops {
            match op {
                Operation::Retain(n) => {
                    out.retain(*n);
                    pos += n;
                }
                Operation::Delete(n) => {
                    let removed = original.slice(pos..pos + n).to_string();
                    out.insert(&removed);
                    pos += n;
                }
                Operation::Insert(text) => out.delete(char_len(text)),
            }
        }
        Ok(out)
    }

    /// Maps an offset of the old document to the new one. An offset inside
    /// deleted text lands where the deletion happened; an offset exactly at
    /// an insert stays before it or moves past it as `assoc` selects. Offsets
    /// past the end clamp to the end.
    pub fn map_pos(&self, offset: CharOffset, assoc: Assoc) -> CharOffset {
        let pos = offset.0.min(self.len);
        let mut old = 0;
        let mut new = 0;
        for op in &self.ops {
            match op {
                Operation::Retain(n) => {
                    if pos < old + n {
                        return CharOffset(new + pos - old);
                    }
                    old += n;
                    new += n;
                }
                Operation::Delete(n) => {
                    if pos < old + n {
                        return CharOffset(new);
                    }
                    old += n;
                }
                Operation::Insert(text) => {
                    if pos == old && assoc == Assoc::Before {
                        return CharOffset(new);
                    }
                    new += char_len(text);
                }
            }
        }
        CharOffset(new + pos - old)
    }

    /// Lists the change as replacements on the old document, sorted and
    /// disjoint, one per run of deletes and inserts between retains.
    pub fn replacements(&self) -> Vec<Replacement<'_>> {
        let mut out = Vec::new();
        let mut pos = 0;
        let mut ops = self.ops.iter().peekable();
        while let Some(op) = ops.next() {
            match op {
                Operation::Retain(n) => pos += n,
                Operation::Insert(text) => {
                    let deleted = match ops.peek() {
                        Some(Operation::Delete(n)) => {
                            ops.next();
                            *n
                        }
                        _ => 0,
                    };
                    out.push(Replacement {
                        range: CharOffset(pos)..CharOffset(pos + deleted),
                        text,
                    });
                    pos += deleted;
                }
                Operation::Delete(n) => {
                    out.push(Replacement {
                        range: CharOffset(pos)..CharOffset(pos + n),
                        text: "",
                    });
                    pos += n;
                }
            }
        }
        out
    }
}

impl fmt::Display for ChangeSet {
    /// Formats as `=3 -2 +"x"` (retain, delete, insert), for test output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, op) in self.ops.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match op {
                Operation::Retain(n) => write!(f, "={n}")?,
                Operation::Delete(n) => write!(f, "-{n}")?,
                Operation::Insert(text) => write!(f, "+{text:?}")?,
            }
        }
        Ok(())
    }
}

/// The unconsumed part of the current operation.
#[derive(Clone, Copy, Debug)]
enum Head<'a> {
    Retain(usize),
    Delete(usize),
    Insert(&'a str),
}

/// Walks a list of operations, splitting the current one as the other side
/// of a two-way sweep consumes parts of it.
struct OpCursor<'a> {
    ops: &'a [Operation],
    index: usize,
    /// Chars of `ops[index]` already consumed.
    consumed: usize,
}

impl<'a> OpCursor<'a> {
    fn new(ops: &'a [Operation]) -> Self {
        Self {
            ops,
            index: 0,
            consumed: 0,
        }
    }

    fn peek(&self) -> Option<Head<'a>> {
        let op = self.ops.get(self.index)?;
        Some(match op {
            Operation::Retain(n) => Head::Retain(n - self.consumed),
            Operation::Delete(n) => Head::Delete(n - self.consumed),
            Operation::Insert(text) => Head::Insert(split_chars(text, self.consumed).1),
        })
    }

    /// Consumes `n` chars of the current operation, which must have them.
    fn advance(&mut self, n: usize) {
        let total = match &self.ops[self.index] {
            Operation::Retain(count) | Operation::Delete(count) => *count,
            Operation::Insert(text) => char_len(text),
        };
        self.consumed += n;
        debug_assert!(self.consumed <= total);
        if self.consumed == total {
            self.index += 1;
            self.consumed = 0;
        }
    }

    /// Consumes the rest of the current insert.
    fn skip_insert(&mut self) {
        self.index += 1;
        self.consumed = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(len: usize, edits: &[(usize, usize, &str)]) -> ChangeSet {
        ChangeSet::from_replacements(
            len,
            edits
                .iter()
                .map(|&(start, end, text)| (CharOffset(start)..CharOffset(end), text)),
        )
        .unwrap()
    }

    #[test]
    fn apply_replaces_ranges() {
        let c = change(11, &[(0, 5, "goodbye"), (6, 6, "big "), (11, 11, "!")]);
        assert_eq!(c.apply_to_str("hello world").unwrap(), "goodbye big world!");
        let mut rope = Rope::from_str("hello world");
        c.apply(&mut rope).unwrap();
        assert_eq!(rope.to_string(), "goodbye big world!");
    }

    #[test]
    fn apply_counts_chars_not_bytes() {
        let c = change(4, &[(1, 2, "é"), (3, 3, "🦀")]);
        assert_eq!(c.apply_to_str("a日b😀").unwrap(), "aéb🦀😀");
    }

    #[test]
    fn apply_rejects_other_length() {
        let c = change(3, &[(0, 1, "x")]);
        let mut rope = Rope::from_str("abcd");
        let err = c.apply(&mut rope).unwrap_err();
        assert_eq!(
            err,
            ChangeSetError::LengthMismatch {
                expected: 3,
                actual: 4
            }
        );
        assert!(err.to_string().contains("3 chars"));
        assert!(err.to_string().contains("has 4"));
        assert_eq!(rope.to_string(), "abcd");
    }

    #[test]
    fn canonical_form_puts_insert_first() {
        let mut a = ChangeSet::empty();
        a.retain(1);
        a.delete(2);
        a.insert("x");
        a.retain(1);
        let b = change(4, &[(1, 3, "x")]);
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "=1 +\"x\" -2 =1");
    }

    #[test]
    fn from_replacements_rejects_overlap() {
        let err = ChangeSet::from_replacements(
            10,
            [
                (CharOffset(1)..CharOffset(4), "a"),
                (CharOffset(3)..CharOffset(5), "b"),
            ],
        )
        .unwrap_err();
        assert_eq!(
            err,
            ChangeSetError::Overlap {
                first: 1..4,
                second: 3..5
            }
        );
        assert!(err.to_string().contains("1..4"));
        assert!(err.to_string().contains("3..5"));
    }

    #[test]
    fn from_replacements_rejects_bad_ranges() {
        let reversed = ChangeSet::replace(10, CharOffset(5)..CharOffset(2), "x").unwrap_err();
        assert_eq!(reversed, ChangeSetError::ReversedRange { start: 5, end: 2 });
        assert!(reversed.to_string().contains("5..2"));

        let past = ChangeSet::replace(3, CharOffset(2)..CharOffset(4), "x").unwrap_err();
        assert_eq!(
            past,
            ChangeSetError::OutOfBounds {
                start: 2,
                end: 4,
                len: 3
            }
        );

        let unsorted = ChangeSet::from_replacements(
            10,
            [
                (CharOffset(5)..CharOffset(6), "a"),
                (CharOffset(1)..CharOffset(2), "b"),
            ],
        )
        .unwrap_err();
        assert_eq!(
            unsorted,
            ChangeSetError::Unsorted {
                first: 5..6,
                second: 1..2
            }
        );
    }

    #[test]
    fn insert_after_its_range_is_unsorted() {
        let err = ChangeSet::from_replacements(
            5,
            [
                (CharOffset(2)..CharOffset(3), "x"),
                (CharOffset(2)..CharOffset(2), "y"),
            ],
        )
        .unwrap_err();
        assert_eq!(
            err,
            ChangeSetError::Unsorted {
                first: 2..3,
                second: 2..2
            }
        );
    }

    #[test]
    fn from_replacements_allows_touching() {
        let c = change(6, &[(0, 2, "x"), (2, 2, "y"), (2, 4, "z"), (4, 4, "w")]);
        assert_eq!(c.apply_to_str("abcdef").unwrap(), "xyzwef");
    }

    #[test]
    fn compose_equals_sequence() {
        let a = change(5, &[(1, 3, "XYZ")]);
        let b = change(6, &[(0, 2, ""), (4, 4, "!")]);
        let ab = a.compose(&b).unwrap();
        let stepwise = b.apply_to_str(&a.apply_to_str("abcde").unwrap()).unwrap();
        assert_eq!(ab.apply_to_str("abcde").unwrap(), stepwise);
    }

    #[test]
    fn from_sequential_matches_stepwise() {
        let doc = "0123456789";
        let orders: [&[(usize, usize, &str)]; 4] = [
            &[(7, 9, "x"), (4, 4, "y"), (4, 5, "z"), (0, 1, "")],
            &[(0, 1, "ab"), (5, 5, "c"), (2, 8, "")],
            &[(3, 3, "q"), (3, 3, "r")],
            &[],
        ];
        for steps in orders {
            let ranges: Vec<_> = steps
                .iter()
                .map(|&(start, end, text)| (CharOffset(start)..CharOffset(end), text))
                .collect();
            let mut stepwise = doc.to_owned();
            for (range, text) in &ranges {
                let step = ChangeSet::replace(char_len(&stepwise), range.clone(), text).unwrap();
                stepwise = step.apply_to_str(&stepwise).unwrap();
            }
            let combined = ChangeSet::from_sequential(10, &ranges).unwrap();
            assert_eq!(combined.apply_to_str(doc).unwrap(), stepwise, "{steps:?}");
        }
    }

    #[test]
    fn compose_all_equals_folding() {
        // A fixed pseudo-random walk of 1,000 small edits.
        let mut text = "fn main() { let x = 1; }\n".repeat(20);
        let len = char_len(&text);
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |bound: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % bound.max(1) as u64) as usize
        };
        let mut steps = Vec::new();
        let mut folded = ChangeSet::new(len);
        for _ in 0..1_000 {
            let current = char_len(&text);
            let start = next(current + 1);
            let end = (start + next(3)).min(current);
            let insert = ["", "a", "é😀", "\n"][next(4)];
            let step =
                ChangeSet::replace(current, CharOffset(start)..CharOffset(end), insert).unwrap();
            text = step.apply_to_str(&text).unwrap();
            folded = folded.compose(&step).unwrap();
            steps.push(step);
        }
        let all = ChangeSet::compose_all(len, steps).unwrap();
        assert_eq!(all, folded);
        assert!(ChangeSet::compose_all(len, Vec::new())
            .unwrap()
            .is_identity());
        let wrong = ChangeSet::new(3);
        assert!(matches!(
            ChangeSet::compose_all(len, vec![wrong]),
            Err(ChangeSetError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn from_sequential_rejects_step_past_end() {
        let steps = [
            (CharOffset(0)..CharOffset(3), ""),
            (CharOffset(5)..CharOffset(8), "x"),
        ];
        let err = ChangeSet::from_sequential(8, &steps).unwrap_err();
        assert_eq!(
            err,
            ChangeSetError::OutOfBounds {
                start: 5,
                end: 8,
                len: 5
            }
        );
    }

    #[test]
    fn compose_rejects_mismatch() {
        let a = change(5, &[(1, 3, "")]);
        let b = change(5, &[(0, 1, "")]);
        assert_eq!(
            a.compose(&b).unwrap_err(),
            ChangeSetError::ComposeMismatch {
                first_len_after: 3,
                second_len: 5
            }
        );
    }

    #[test]
    fn map_orders_same_point_inserts() {
        let a = change(3, &[(1, 1, "x")]);
        let b = change(3, &[(1, 1, "y")]);
        let ab = b
            .map(&a)
            .unwrap()
            .apply_to_str(&a.apply_to_str("abc").unwrap());
        let ba = a
            .map(&b)
            .unwrap()
            .apply_to_str(&b.apply_to_str("abc").unwrap());
        assert_eq!(ab.unwrap(), "axybc");
        assert_eq!(ba.unwrap(), "axybc");
    }

    #[test]
    fn map_with_explicit_side() {
        let a = change(3, &[(1, 1, "x")]);
        let b = change(3, &[(1, 1, "y")]);
        let after_a = a.apply_to_str("abc").unwrap();
        let b_first = b.map_with(&a, TieBreak::SelfFirst).unwrap();
        let b_second = b.map_with(&a, TieBreak::OtherFirst).unwrap();
        assert_eq!(b_first.apply_to_str(&after_a).unwrap(), "ayxbc");
        assert_eq!(b_second.apply_to_str(&after_a).unwrap(), "axybc");
    }

    #[test]
    fn map_drops_delete_of_deleted_text() {
        let a = change(6, &[(1, 4, "")]);
        let b = change(6, &[(2, 5, "Q")]);
        let result = b
            .map(&a)
            .unwrap()
            .apply_to_str(&a.apply_to_str("abcdef").unwrap());
        assert_eq!(result.unwrap(), "aQf");
    }

    #[test]
    fn map_rejects_mismatch() {
        let a = change(3, &[]);
        let b = change(4, &[]);
        assert_eq!(
            a.map(&b).unwrap_err(),
            ChangeSetError::MapMismatch { left: 3, right: 4 }
        );
    }

    #[test]
    fn invert_undoes() {
        let original = Rope::from_str("héllo wörld");
        let c = change(11, &[(0, 1, "J"), (5, 6, ""), (11, 11, "!!")]);
        let mut rope = original.clone();
        c.apply(&mut rope).unwrap();
        c.invert(&original).unwrap().apply(&mut rope).unwrap();
        assert_eq!(rope, original);
    }

    #[test]
    fn map_pos_follows_assoc() {
        let c = change(6, &[(2, 2, "xy"), (3, 5, "")]);
        assert_eq!(c.map_pos(CharOffset(1), Assoc::Before), CharOffset(1));
        assert_eq!(c.map_pos(CharOffset(2), Assoc::Before), CharOffset(2));
        assert_eq!(c.map_pos(CharOffset(2), Assoc::After), CharOffset(4));
        assert_eq!(c.map_pos(CharOffset(4), Assoc::After), CharOffset(5));
        assert_eq!(c.map_pos(CharOffset(5), Assoc::Before), CharOffset(5));
        assert_eq!(c.map_pos(CharOffset(6), Assoc::After), CharOffset(6));
        assert_eq!(c.map_pos(CharOffset(60), Assoc::After), CharOffset(6));
    }

    #[test]
    fn replacements_round_trip() {
        let c = change(8, &[(0, 0, "a"), (2, 4, "b"), (5, 6, ""), (8, 8, "c")]);
        let listed: Vec<_> = c
            .replacements()
            .into_iter()
            .map(|r| (r.range.start.0, r.range.end.0, r.text.to_owned()))
            .collect();
        assert_eq!(
            listed,
            vec![
                (0, 0, "a".to_owned()),
                (2, 4, "b".to_owned()),
                (5, 6, String::new()),
                (8, 8, "c".to_owned())
            ]
        );
    }
}
