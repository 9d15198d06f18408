//! The proposals a worker makes: `Hunk`s (byte ranges of the snapshot and
//! their new text) in atomic `Group`s, collected in one `EditSet` per
//! worker. Constructors check the invariants the merge relies on.

use std::fmt;
use std::ops::Range;

use serde::Serialize;
use thiserror::Error;

/// Identifies a worker within one job. The merge breaks ties between equal
/// priorities by this id, so it must not depend on the order in which
/// workers finish.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct WorkerId(pub u32);

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "worker {}", self.0)
    }
}

/// One replacement: `range` (UTF-8 bytes of the snapshot) becomes `text`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Hunk {
    pub range: Range<usize>,
    pub text: String,
}

impl Hunk {
    pub fn new(range: Range<usize>, text: impl Into<String>) -> Self {
        Self {
            range,
            text: text.into(),
        }
    }

    /// Returns true when the hunk changes nothing on `base`.
    pub fn is_noop(&self, base: &str) -> bool {
        base.get(self.range.clone()) == Some(self.text.as_str())
    }

    /// Checks the range against the snapshot text the hunk was made for.
    ///
    /// # Errors
    /// `OutOfBounds` or `NotCharBoundary`.
    pub fn check_against(&self, base: &str) -> Result<(), EditError> {
        let Range { start, end } = self.range;
        if end > base.len() {
            return Err(EditError::OutOfBounds {
                start,
                end,
                len: base.len(),
            });
        }
        if !base.is_char_boundary(start) || !base.is_char_boundary(end) {
            return Err(EditError::NotCharBoundary { start, end });
        }
        Ok(())
    }
}

/// Errors of building groups and edit sets; each names the offending hunks.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum EditError {
    #[error("hunk {start}..{end} is reversed: its end comes before its start")]
    Reversed { start: usize, end: usize },
    #[error("hunk {start}..{end} ends past the end of the {len}-byte snapshot")]
    OutOfBounds {
        start: usize,
        end: usize,
        len: usize,
    },
    #[error("hunk {start}..{end} does not start and end on char boundaries of the snapshot")]
    NotCharBoundary { start: usize, end: usize },
    #[error(
        "hunks {first:?} and {second:?} of one group overlap or are out of order; a group's \
         hunks must be sorted and disjoint"
    )]
    Overlap {
        first: Range<usize>,
        second: Range<usize>,
    },
}

/// Hunks that apply all together or not at all: one match of a rule, one
/// rename, one diff hunk of a proposal. Hunks are sorted and disjoint, and
/// two inserts at one offset are not allowed (combine them into one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    hunks: Vec<Hunk>,
}

impl Group {
    /// Builds a group, sorting the hunks by range.
    ///
    /// # Errors
    /// `Reversed`, or `Overlap` when two hunks share a byte or two inserts
    /// sit at one offset.
    pub fn new(mut hunks: Vec<Hunk>) -> Result<Self, EditError> {
        for hunk in &hunks {
            if hunk.range.end < hunk.range.start {
                return Err(EditError::Reversed {
                    start: hunk.range.start,
                    end: hunk.range.end,
                });
            }
        }
        hunks.sort_by_key(|hunk| (hunk.range.start, hunk.range.end));
        for pair in hunks.windows(2) {
            let (first, second) = (&pair[0].range, &pair[1].range);
            let same_point_inserts =
                first.is_empty() && second.is_empty() && first.start == second.start;
            if second.start < first.end || same_point_inserts {
                return Err(EditError::Overlap {
                    first: first.clone(),
                    second: second.clone(),
                });
            }
        }
        Ok(Self { hunks })
    }

    /// Builds a group of one hunk.
    ///
    /// # Errors
    /// `Reversed`.
    pub fn single(hunk: Hunk) -> Result<Self, EditError> {
        Self::new(vec![hunk])
    }

    pub fn hunks(&self) -> &[Hunk] {
        &self.hunks
    }

    pub fn into_hunks(self) -> Vec<Hunk> {
        self.hunks
    }

    /// Returns the byte span from the first hunk's start to the last
    /// hunk's end.
    pub fn span(&self) -> Range<usize> {
        match (self.hunks.first(), self.hunks.last()) {
            (Some(first), Some(last)) => first.range.start..last.range.end,
            _ => 0..0,
        }
    }

    /// Checks every hunk against the snapshot text the group was made for.
    ///
    /// # Errors
    /// `OutOfBounds` or `NotCharBoundary` naming the first bad hunk.
    pub fn check_against(&self, base: &str) -> Result<(), EditError> {
        self.hunks
            .iter()
            .try_for_each(|hunk| hunk.check_against(base))
    }
}

/// One worker's proposals on one snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditSet {
    pub worker: WorkerId,
    /// Lower wins a conflict.
    pub priority: i64,
    /// Name of what the worker ran, a rule id or a proposal's name, for
    /// reports.
    pub label: String,
    pub groups: Vec<Group>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_sorts_and_checks() {
        let group = Group::new(vec![Hunk::new(5..6, "b"), Hunk::new(0..1, "a")]).unwrap();
        assert_eq!(group.hunks()[0].range, 0..1);
        assert_eq!(group.span(), 0..6);

        let overlap = Group::new(vec![Hunk::new(0..3, "a"), Hunk::new(2..4, "b")]).unwrap_err();
        assert_eq!(
            overlap,
            EditError::Overlap {
                first: 0..3,
                second: 2..4
            }
        );
        let inserts = Group::new(vec![Hunk::new(2..2, "a"), Hunk::new(2..2, "b")]);
        assert!(inserts.is_err());
        let touching = Group::new(vec![Hunk::new(2..2, "a"), Hunk::new(2..4, "b")]);
        assert!(touching.is_ok());
        let (start, end) = (4, 2);
        let reversed = Group::single(Hunk::new(start..end, "x")).unwrap_err();
        assert!(reversed.to_string().contains("4..2"), "{reversed}");
    }

    #[test]
    fn group_checked_against_base() {
        let base = "aé";
        let inside = Group::single(Hunk::new(2..3, "x")).unwrap();
        assert_eq!(
            inside.check_against(base).unwrap_err(),
            EditError::NotCharBoundary { start: 2, end: 3 }
        );
        let past = Group::single(Hunk::new(1..9, "x")).unwrap();
        assert!(matches!(
            past.check_against(base),
            Err(EditError::OutOfBounds { .. })
        ));
        assert!(Group::single(Hunk::new(1..3, "e"))
            .unwrap()
            .check_against(base)
            .is_ok());
    }
}
