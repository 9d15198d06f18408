//! The conflict rules: which minimised groups apply, which duplicate one
//! that applies, and which lose a conflict. Every case of two hunks meeting
//! is one branch of `relate`, with a test beside it below.
//!
//! Groups are decided one at a time in a total order: priority (lower
//! first), then worker id, then group index. A group applies when none of
//! its hunks conflicts with a hunk that already applies. This greedy rule
//! makes the result independent of the order of the input, and a group
//! dropped whole frees the groups that conflicted only with it, because
//! they are decided against applied hunks only. Applied hunks are found by
//! their place in one sort of all hunks by position, through a `RankSet`,
//! so deciding costs O(log n) per hunk after the O(n log n) sort.
//!
//! This module decides; it does not touch text. Syntax validation later
//! moves applied groups to `DroppedForSyntax` without re-admitting the
//! groups they beat.

use std::ops::Range;

use super::minimise::Piece;
use super::rank_set::RankSet;

/// One group to decide: its order key and its minimised hunks.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    /// (priority, worker id, group index): lower wins.
    pub key: (i64, u32, usize),
    /// Indexes into the pieces slice; the group's hunks, sorted.
    pub pieces: Range<usize>,
}

/// The decision for one group. `with` is an index into the candidates
/// slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Every hunk was a no-op.
    Unchanged,
    Applied,
    Deduplicated {
        with: usize,
    },
    Conflicted {
        with: usize,
    },
    DroppedForSyntax,
}

/// The relation between a hunk being decided and one hunk that already
/// applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Relation {
    /// Both can apply: the ranges are apart or only touch, or both insert
    /// at one offset texts that do not contain each other.
    Disjoint,
    /// The applied hunk already makes this change: the same range and
    /// text, or an insert whose text the applied one contains.
    Covered,
    /// This hunk makes the applied one's change and more.
    Covers,
    /// Any other overlap.
    Conflict,
}

/// The decision for every candidate, plus the position order of all pieces
/// that the output is built in.
#[derive(Clone, Debug)]
pub(crate) struct Resolution {
    pub status: Vec<Status>,
    /// Piece indexes sorted by (start, end, group order): inserts at one
    /// offset come in priority order, before a range starting there.
    pub order: Vec<u32>,
}

/// One piece in position order. The sort key's fields are inline, so that
/// sorting reads no other array. Indexes are `u32` to keep the sweep's
/// arrays small; `merge` rejects inputs with more pieces or groups.
#[derive(Clone, Copy, Debug)]
struct Entry {
    start: usize,
    end: usize,
    /// The place of the piece's group in the decision order.
    rank: u32,
    piece: u32,
}

/// Decides every candidate. `owner[p]` is the candidate that piece `p`
/// belongs to; there are at most `u32::MAX` pieces and candidates.
pub(crate) fn resolve(candidates: &[Candidate], pieces: &[Piece<'_>], owner: &[u32]) -> Resolution {
    let mut ranked: Vec<((i64, u32, usize), u32)> = candidates
        .iter()
        .enumerate()
        .map(|(group, candidate)| (candidate.key, group as u32))
        .collect();
    ranked.sort_unstable();
    let by_rank: Vec<u32> = ranked.into_iter().map(|(_, group)| group).collect();
    let mut rank = vec![0u32; candidates.len()];
    for (place, &group) in by_rank.iter().enumerate() {
        rank[group as usize] = place as u32;
    }

    let mut entries: Vec<Entry> = pieces
        .iter()
        .zip(owner)
        .enumerate()
        .map(|(piece, (hunk, &group))| Entry {
            start: hunk.start,
            end: hunk.end,
            rank: rank[group as usize],
            piece: piece as u32,
        })
        .collect();
    entries.sort_unstable_by_key(|entry| (entry.start, entry.end, entry.rank));

    let mut position_of = vec![0u32; pieces.len()];
    let mut first_at_start = vec![0u32; pieces.len()];
    for (position, entry) in entries.iter().enumerate() {
        position_of[entry.piece as usize] = position as u32;
        first_at_start[position] = match position.checked_sub(1) {
            Some(previous) if entries[previous].start == entry.start => first_at_start[previous],
            _ => position as u32,
        };
    }

    let mut sweep = Sweep {
        pieces,
        entries: &entries,
        by_rank: &by_rank,
        position_of: &position_of,
        first_at_start: &first_at_start,
        applied: RankSet::new(entries.len()),
        status: vec![Status::Unchanged; candidates.len()],
        covered_by_candidate: Vec::new(),
    };
    for &group in &by_rank {
        sweep.decide(group as usize, candidates);
    }
    Resolution {
        status: sweep.status,
        order: entries.iter().map(|entry| entry.piece).collect(),
    }
}

struct Sweep<'s, 'a> {
    pieces: &'s [Piece<'a>],
    entries: &'s [Entry],
    /// Candidate indexes in decision order.
    by_rank: &'s [u32],
    position_of: &'s [u32],
    /// For each position, the first position whose entry has the same
    /// start.
    first_at_start: &'s [u32],
    /// Positions of the pieces of applied groups.
    applied: RankSet,
    status: Vec<Status>,
    /// Scratch: positions of applied pieces that the group being decided
    /// covers.
    covered_by_candidate: Vec<usize>,
}

impl Sweep<'_, '_> {
    /// Returns the candidate whose piece is at `position`.
    fn group_at(&self, position: usize) -> usize {
        self.by_rank[self.entries[position].rank as usize] as usize
    }

    fn decide(&mut self, group: usize, candidates: &[Candidate]) {
        let own = candidates[group].pieces.clone();
        if own.is_empty() {
            self.status[group] = Status::Unchanged;
            return;
        }

        // Relate each piece to the applied pieces it meets.
        let mut covers = std::mem::take(&mut self.covered_by_candidate);
        covers.clear();
        let mut covered_pieces = 0;
        let mut first_coverer = None;
        for piece in own.clone() {
            let covers_before = covers.len();
            let mut coverer = None;
            let mut conflict = None;
            self.for_each_meeting(piece, |position, relation| match relation {
                Relation::Disjoint => true,
                Relation::Covered => {
                    coverer.get_or_insert(position);
                    true
                }
                Relation::Covers => {
                    covers.push(position);
                    true
                }
                Relation::Conflict => {
                    conflict = Some(position);
                    false
                }
            });
            if let Some(position) = conflict {
                // Branch: overlap conflict. The applied group was decided
                // earlier, so it has the better (priority, worker, group).
                self.status[group] = Status::Conflicted {
                    with: self.group_at(position),
                };
                self.covered_by_candidate = covers;
                return;
            }
            if let Some(position) = coverer {
                covered_pieces += 1;
                first_coverer.get_or_insert(self.group_at(position));
                // A covered piece adds nothing, so what it would cover is
                // already applied.
                covers.truncate(covers_before);
            }
        }
        self.covered_by_candidate = covers;

        if let Some(with) = first_coverer {
            self.status[group] = if covered_pieces == own.len() {
                // Branch: duplicate. Every hunk is already applied by
                // groups that rank better.
                Status::Deduplicated { with }
            } else {
                // Branch: partly duplicate. Applying the rest alone would
                // tie this group to another group's fate, so it conflicts.
                Status::Conflicted { with }
            };
            return;
        }
        if !self.covered_by_candidate.is_empty() && !self.replace_covered(group, candidates) {
            return;
        }

        // Branch: disjoint, or inserts at one offset that both stay.
        self.status[group] = Status::Applied;
        for piece in own {
            self.applied.insert(self.position_of[piece] as usize);
        }
    }

    /// Handles a group whose hunks contain the changes of applied groups
    /// (a longer insert at one offset): each such group whose every hunk is
    /// contained becomes a duplicate of `group`, which then applies. If a
    /// group is only partly contained, `group` conflicts with it instead.
    /// Returns true when `group` may apply.
    fn replace_covered(&mut self, group: usize, candidates: &[Candidate]) -> bool {
        self.covered_by_candidate.sort_unstable();
        self.covered_by_candidate.dedup();
        let mut owners: Vec<usize> = self
            .covered_by_candidate
            .iter()
            .map(|&position| self.group_at(position))
            .collect();
        owners.dedup();
        // Owners appear in position order; check each whole.
        let mut seen = Vec::new();
        for &owner in &owners {
            if seen.contains(&owner) {
                continue;
            }
            seen.push(owner);
            let contained = self
                .covered_by_candidate
                .iter()
                .filter(|&&position| self.group_at(position) == owner)
                .count();
            if contained != candidates[owner].pieces.len() {
                // Branch: longer insert against a group that has other
                // hunks too. The applied group ranks better and stays.
                self.status[group] = Status::Conflicted { with: owner };
                return false;
            }
        }
        // Branch: longer insert. The shorter one's groups are duplicates.
        for owner in seen {
            self.status[owner] = Status::Deduplicated { with: group };
            for piece in candidates[owner].pieces.clone() {
                self.applied.remove(self.position_of[piece] as usize);
            }
        }
        true
    }

    /// Calls `visit(position, relation)` for every applied piece that piece
    /// `piece` touches, in position order, until `visit` returns false.
    fn for_each_meeting(&self, piece: usize, mut visit: impl FnMut(usize, Relation) -> bool) {
        let hunk = &self.pieces[piece];
        let first = self.first_at_start[self.position_of[piece] as usize] as usize;
        // At most one applied piece starts before this one and reaches it:
        // applied ranges are disjoint, and an insert inside one would
        // conflict with it.
        if let Some(position) = self.applied.previous(first) {
            let entry = self.entries[position];
            if entry.end >= hunk.start && !visit(position, self.relate_entry(hunk, entry)) {
                return;
            }
        }
        let mut next = self.applied.next(first);
        while let Some(position) = next {
            let entry = self.entries[position];
            if entry.start > hunk.end {
                break;
            }
            if !visit(position, self.relate_entry(hunk, entry)) {
                return;
            }
            next = self.applied.next(position + 1);
        }
    }

    /// Relates `hunk` to the applied piece of `entry`, reading that piece
    /// only when the two ranges alone do not decide.
    fn relate_entry(&self, hunk: &Piece<'_>, entry: Entry) -> Relation {
        relate_ranges(hunk.start..hunk.end, entry.start..entry.end)
            .unwrap_or_else(|| relate(hunk, &self.pieces[entry.piece as usize]))
    }
}

/// Returns how a hunk on `candidate` meets one on `applied` when their
/// ranges decide it, as `relate` would: replacements that are apart, touch
/// or overlap unequally, and an insert outside a replacement or at another
/// offset. `None` when the texts matter.
fn relate_ranges(candidate: Range<usize>, applied: Range<usize>) -> Option<Relation> {
    let apart = || candidate.end < applied.start || applied.end < candidate.start;
    match (candidate.is_empty(), applied.is_empty()) {
        (false, false) => {
            if candidate.end <= applied.start || applied.end <= candidate.start {
                Some(Relation::Disjoint)
            } else if candidate == applied {
                None
            } else {
                Some(Relation::Conflict)
            }
        }
        (true, true) => (candidate.start != applied.start).then_some(Relation::Disjoint),
        _ => apart().then_some(Relation::Disjoint),
    }
}

/// Returns how `candidate` meets `applied`, two hunks of different groups.
pub(crate) fn relate(candidate: &Piece<'_>, applied: &Piece<'_>) -> Relation {
    let candidate_inserts = candidate.start == candidate.end;
    let applied_inserts = applied.start == applied.end;
    match (candidate_inserts, applied_inserts) {
        (true, true) => {
            if candidate.start != applied.start {
                Relation::Disjoint
            } else if insert_contains(&applied.text, &candidate.text) {
                Relation::Covered
            } else if insert_contains(&candidate.text, &applied.text) {
                Relation::Covers
            } else {
                Relation::Disjoint
            }
        }
        (true, false) => insert_meets_range(candidate.start, &candidate.text, applied),
        (false, true) => match insert_meets_range(applied.start, &applied.text, candidate) {
            Relation::Covered => Relation::Covers,
            other => other,
        },
        (false, false) => {
            if candidate.end <= applied.start || applied.end <= candidate.start {
                Relation::Disjoint
            } else if candidate.start == applied.start
                && candidate.end == applied.end
                && candidate.text == applied.text
            {
                Relation::Covered
            } else {
                Relation::Conflict
            }
        }
    }
}

/// Returns how an insert of `text` at `point` meets a replacement `range`: covered
/// when the replacement's text contains the inserted lines, a conflict when
/// the point is strictly inside, disjoint at or past the edges.
fn insert_meets_range(point: usize, text: &str, range: &Piece<'_>) -> Relation {
    if point < range.start || point > range.end {
        Relation::Disjoint
    } else if lines_contain(&range.text, text) {
        Relation::Covered
    } else if range.start < point && point < range.end {
        Relation::Conflict
    } else {
        Relation::Disjoint
    }
}

/// Returns true when inserting `long` at an offset already adds `short`
/// there: equal, a prefix (`use a;\n` in `use a;\nuse b;\n`), a suffix,
/// or whole lines that `long` contains in the same order.
pub(crate) fn insert_contains(long: &str, short: &str) -> bool {
    long.starts_with(short) || long.ends_with(short) || lines_contain(long, short)
}

/// Returns true when `short` is whole lines (it ends with a newline and has
/// a line that is not blank) and each of its lines is a line of `long`, in
/// order.
///
/// NOTE: a short line such as `}\n` is contained in most blocks. So a
/// worker that inserts only a closing line right beside another worker's
/// block is taken for a duplicate, although a deliberate second `}` is rare.
pub(crate) fn lines_contain(long: &str, short: &str) -> bool {
    if !short.ends_with('\n') || short.trim().is_empty() {
        return false;
    }
    let mut long_lines = long.split_inclusive('\n');
    short
        .split_inclusive('\n')
        .all(|line| long_lines.any(|candidate| candidate == line))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn piece(range: Range<usize>, text: &str) -> Piece<'_> {
        Piece {
            start: range.start,
            end: range.end,
            text: Cow::Borrowed(text),
        }
    }

    /// Resolves groups given as (priority, worker, group index, hunks).
    fn statuses(groups: &[(i64, u32, usize, Vec<Piece<'static>>)]) -> Vec<Status> {
        let mut candidates = Vec::new();
        let mut pieces = Vec::new();
        let mut owner = Vec::new();
        for (index, (priority, worker, group, hunks)) in groups.iter().enumerate() {
            let first = pieces.len();
            pieces.extend(hunks.iter().cloned());
            owner.extend(std::iter::repeat_n(index as u32, hunks.len()));
            candidates.push(Candidate {
                key: (*priority, *worker, *group),
                pieces: first..pieces.len(),
            });
        }
        resolve(&candidates, &pieces, &owner).status
    }

    #[test]
    fn ranges_decide_as_relate_does() {
        let texts = ["", "a", "a\n", "b\na\n"];
        for (a, b, c, d) in (0..4).flat_map(|a| {
            (a..4).flat_map(move |b| (0..4).flat_map(move |c| (c..4).map(move |d| (a, b, c, d))))
        }) {
            for first in texts {
                for second in texts {
                    let (candidate, applied) = (piece(a..b, first), piece(c..d, second));
                    if let Some(relation) = relate_ranges(a..b, c..d) {
                        assert_eq!(relation, relate(&candidate, &applied), "{a}..{b} {c}..{d}");
                    }
                }
            }
        }
    }

    #[test]
    fn disjoint_hunks_both_apply() {
        assert_eq!(
            relate(&piece(0..3, "x"), &piece(3..5, "y")),
            Relation::Disjoint
        );
        assert_eq!(
            relate(&piece(5..5, "x"), &piece(3..5, "y")),
            Relation::Disjoint
        );
        let found = statuses(&[
            (0, 1, 0, vec![piece(0..3, "x")]),
            (0, 2, 0, vec![piece(3..5, "y")]),
        ]);
        assert_eq!(found, [Status::Applied, Status::Applied]);
    }

    #[test]
    fn identical_hunks_deduplicate() {
        assert_eq!(
            relate(&piece(2..4, "x"), &piece(2..4, "x")),
            Relation::Covered
        );
        let found = statuses(&[
            (0, 1, 0, vec![piece(2..4, "x"), piece(8..9, "")]),
            (0, 2, 0, vec![piece(2..4, "x"), piece(8..9, "")]),
        ]);
        assert_eq!(found, [Status::Applied, Status::Deduplicated { with: 0 }]);
    }

    #[test]
    fn partly_identical_group_conflicts() {
        let found = statuses(&[
            (0, 1, 0, vec![piece(2..4, "x")]),
            (0, 2, 0, vec![piece(2..4, "x"), piece(8..9, "")]),
        ]);
        assert_eq!(found, [Status::Applied, Status::Conflicted { with: 0 }]);
    }

    #[test]
    fn same_point_inserts_both_apply() {
        assert_eq!(
            relate(&piece(4..4, "a"), &piece(4..4, "b")),
            Relation::Disjoint
        );
        let found = statuses(&[
            (1, 1, 0, vec![piece(4..4, "a")]),
            (0, 2, 0, vec![piece(4..4, "b")]),
        ]);
        assert_eq!(found, [Status::Applied, Status::Applied]);
    }

    #[test]
    fn longer_insert_replaces_prefix_insert() {
        let short = piece(0..0, "use a;\n");
        let long = piece(0..0, "use a;\nuse b;\n");
        assert_eq!(relate(&short, &long), Relation::Covered);
        assert_eq!(relate(&long, &short), Relation::Covers);
        // The short insert ranks better but the long one contains it.
        let found = statuses(&[
            (0, 1, 0, vec![short.clone()]),
            (0, 2, 0, vec![long.clone()]),
        ]);
        assert_eq!(found, [Status::Deduplicated { with: 1 }, Status::Applied]);
        let found = statuses(&[(0, 1, 0, vec![long]), (0, 2, 0, vec![short])]);
        assert_eq!(found, [Status::Applied, Status::Deduplicated { with: 0 }]);
    }

    #[test]
    fn suffix_and_line_containment() {
        assert!(insert_contains("use b;\nuse a;\n", "use a;\n"));
        assert!(insert_contains("use a;\nuse c;\n\n", "use a;\n\n"));
        assert!(!insert_contains("use a;\nuse c;\n", "use b;\n"));
        assert!(!lines_contain("a\n\n", "\n"));
        // A replacement whose text contains the inserted lines covers an
        // insert at its edge or inside it.
        let replacement = piece(10..20, "use x;\nuse a;\n");
        assert_eq!(
            relate(&piece(10..10, "use a;\n"), &replacement),
            Relation::Covered
        );
        assert_eq!(
            relate(&piece(15..15, "use q;\n"), &replacement),
            Relation::Conflict
        );
    }

    #[test]
    fn longer_insert_against_bigger_group_conflicts() {
        let found = statuses(&[
            (0, 1, 0, vec![piece(0..0, "use a;\n"), piece(9..10, "z")]),
            (0, 2, 0, vec![piece(0..0, "use a;\nuse b;\n")]),
        ]);
        assert_eq!(found, [Status::Applied, Status::Conflicted { with: 0 }]);
    }

    #[test]
    fn overlap_conflict_goes_to_priority() {
        assert_eq!(
            relate(&piece(0..4, "x"), &piece(2..6, "y")),
            Relation::Conflict
        );
        assert_eq!(
            relate(&piece(3..3, "x"), &piece(2..6, "y")),
            Relation::Conflict
        );
        let found = statuses(&[
            (5, 1, 0, vec![piece(0..4, "x")]),
            (1, 2, 0, vec![piece(2..6, "y")]),
        ]);
        assert_eq!(found, [Status::Conflicted { with: 1 }, Status::Applied]);
    }

    #[test]
    fn equal_priority_tie_goes_to_worker_id() {
        let found = statuses(&[
            (0, 7, 0, vec![piece(0..4, "x")]),
            (0, 3, 0, vec![piece(2..6, "y")]),
        ]);
        assert_eq!(found, [Status::Conflicted { with: 1 }, Status::Applied]);
        // Within one worker the lower group index wins.
        let found = statuses(&[
            (0, 3, 1, vec![piece(0..4, "x")]),
            (0, 3, 0, vec![piece(2..6, "y")]),
        ]);
        assert_eq!(found, [Status::Conflicted { with: 1 }, Status::Applied]);
    }

    #[test]
    fn whole_group_drop_frees_a_third_group() {
        // A beats B at 0..4; B's other hunk is the only thing C overlaps.
        // B is dropped whole, so C applies.
        let found = statuses(&[
            (0, 1, 0, vec![piece(0..4, "a")]),
            (1, 2, 0, vec![piece(2..6, "b"), piece(20..24, "b")]),
            (2, 3, 0, vec![piece(22..26, "c")]),
        ]);
        assert_eq!(
            found,
            [
                Status::Applied,
                Status::Conflicted { with: 0 },
                Status::Applied
            ]
        );
    }

    #[test]
    fn groups_without_hunks_are_unchanged() {
        let found = statuses(&[(0, 1, 0, vec![])]);
        assert_eq!(found, [Status::Unchanged]);
    }
}
