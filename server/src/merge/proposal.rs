//! Whole-file proposals: an external worker sends the text it wants, and
//! `diff_proposal` turns it into groups on the base so that it enters the
//! same merge as rule edits.

use super::diff::Differ;
use super::edit::{Group, Hunk};
use super::minimise::slide_changes;

/// Diffs `proposal` against `base` at token granularity and returns one
/// group of one hunk per diff hunk, sorted by position. A proposal equal
/// to the base gives no groups. Pure insertions and deletions of whole
/// lines sit at line starts, as in `minimise`.
///
/// Costs time linear in the size of both texts (see the bounds of the
/// token and line diffs).
pub fn diff_proposal(base: &str, proposal: &str) -> Vec<Group> {
    let mut changes = Vec::new();
    Differ::default().diff(base, proposal, &mut changes);
    slide_changes(base, 0, base, proposal, &mut changes);
    changes
        .into_iter()
        .map(|change| {
            let hunk = Hunk::new(change.old, &proposal[change.new]);
            Group::single(hunk).expect("a diff change never has its end before its start")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(base: &str, groups: &[Group]) -> String {
        let mut out = base.to_owned();
        for group in groups.iter().rev() {
            for hunk in group.hunks().iter().rev() {
                out.replace_range(hunk.range.clone(), &hunk.text);
            }
        }
        out
    }

    #[test]
    fn equal_proposal_has_no_groups() {
        assert!(diff_proposal("fn main() {}\n", "fn main() {}\n").is_empty());
        assert!(diff_proposal("", "").is_empty());
    }

    #[test]
    fn each_diff_hunk_is_one_group() {
        let base = "fn a() { x.unwrap() }\nfn b() { y }\n";
        let proposal = "fn a() { x? }\nfn b() { z }\n";
        let groups = diff_proposal(base, proposal);
        assert_eq!(groups.len(), 2, "{groups:?}");
        assert!(groups.iter().all(|group| group.hunks().len() == 1));
        assert_eq!(apply(base, &groups), proposal);
    }

    #[test]
    fn added_line_is_inserted_at_a_line_start() {
        let base = "a\nb\n";
        let proposal = "a\nnew\nb\n";
        let groups = diff_proposal(base, proposal);
        assert_eq!(groups.len(), 1);
        let hunk = &groups[0].hunks()[0];
        assert_eq!(hunk.range, 2..2);
        assert_eq!(hunk.text, "new\n");
    }
}
