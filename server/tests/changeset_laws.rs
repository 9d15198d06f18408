//! Property tests of the edit algebra and rebase: the laws every merge and
//! every replica relies on, over random multi-byte text with mixed line
//! endings.

use std::ops::Range;

use concur::document::{Document, Origin};
use concur::text::changeset::TieBreak;
use concur::text::{Assoc, ChangeSet, CharOffset};
use proptest::prelude::*;
use ropey::Rope;

/// Pieces of 1-, 2-, 3- and 4-byte chars and every LSP line ending.
const PIECES: &[&str] = &[
    "a", "b", "z", " ", "é", "ß", "日", "本", "😀", "🦀", "\n", "\r\n", "\r",
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|pieces| pieces.concat())
}

fn insert_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..4).prop_map(|pieces| pieces.concat())
}

fn char_count(text: &str) -> usize {
    text.chars().count()
}

/// Generates a random change on a document of `len` chars: sorted cut points paired
/// into disjoint (possibly touching or empty) ranges, each with new text.
fn change(len: usize) -> impl Strategy<Value = ChangeSet> {
    (
        prop::collection::vec(0..=len, 0..8),
        prop::collection::vec(insert_text(), 4),
    )
        .prop_map(move |(mut cuts, texts)| {
            cuts.sort_unstable();
            let replacements = cuts.chunks(2).enumerate().map(|(i, pair)| {
                let start = pair[0];
                let end = *pair.get(1).unwrap_or(&start);
                (
                    CharOffset(start)..CharOffset(end),
                    texts[i % texts.len()].clone(),
                )
            });
            ChangeSet::from_replacements(len, replacements).expect("sorted disjoint ranges")
        })
}

fn doc_and_change() -> impl Strategy<Value = (String, ChangeSet)> {
    text().prop_flat_map(|doc| {
        let len = char_count(&doc);
        (Just(doc), change(len))
    })
}

fn doc_and_two_concurrent() -> impl Strategy<Value = (String, ChangeSet, ChangeSet)> {
    text().prop_flat_map(|doc| {
        let len = char_count(&doc);
        (Just(doc), change(len), change(len))
    })
}

fn doc_and_two_sequential() -> impl Strategy<Value = (String, ChangeSet, ChangeSet)> {
    doc_and_change().prop_flat_map(|(doc, first)| {
        let len = first.len_after();
        (Just(doc), Just(first), change(len))
    })
}

fn apply(change: &ChangeSet, doc: &str) -> String {
    let mut rope = Rope::from_str(doc);
    change.apply(&mut rope).expect("change fits the document");
    let via_rope = rope.to_string();
    let via_str = change.apply_to_str(doc).expect("change fits the document");
    assert_eq!(via_rope, via_str, "rope and string application disagree");
    via_rope
}

/// Char ranges of the result that `change` inserted, in new coordinates.
fn inserted_ranges(change: &ChangeSet) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut shift: isize = 0;
    for replacement in change.replacements() {
        let start = (replacement.range.start.0 as isize + shift) as usize;
        let inserted = char_count(replacement.text);
        if inserted > 0 {
            out.push(start..start + inserted);
        }
        shift += inserted as isize - (replacement.range.end.0 - replacement.range.start.0) as isize;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn compose_equals_sequence((doc, first, second) in doc_and_two_sequential()) {
        let composed = first.compose(&second).unwrap();
        prop_assert_eq!(composed.len(), first.len());
        prop_assert_eq!(composed.len_after(), second.len_after());
        prop_assert_eq!(apply(&composed, &doc), apply(&second, &apply(&first, &doc)));
    }

    #[test]
    fn compose_is_associative((doc, first, second) in doc_and_two_sequential(), third_seed in any::<u64>()) {
        // A third change built deterministically from the seed on the result.
        let len = second.len_after();
        let cut = (third_seed as usize) % (len + 1);
        let third = ChangeSet::replace(len, CharOffset(cut)..CharOffset(cut), "⊕").unwrap();
        let left = first.compose(&second).unwrap().compose(&third).unwrap();
        let right = first.compose(&second.compose(&third).unwrap()).unwrap();
        prop_assert_eq!(apply(&left, &doc), apply(&right, &doc));
    }

    #[test]
    fn invert_undoes((doc, change) in doc_and_change()) {
        let original = Rope::from_str(&doc);
        let inverse = change.invert(&original).unwrap();
        prop_assert_eq!(inverse.len(), change.len_after());
        prop_assert_eq!(apply(&inverse, &apply(&change, &doc)), doc.clone());
        // Composing a change with its inverse leaves every char in place.
        let round_trip = change.compose(&inverse).unwrap();
        prop_assert_eq!(apply(&round_trip, &doc), doc);
    }

    #[test]
    fn map_converges((doc, a, b) in doc_and_two_concurrent()) {
        let a_then_b = apply(&b.map(&a).unwrap(), &apply(&a, &doc));
        let b_then_a = apply(&a.map(&b).unwrap(), &apply(&b, &doc));
        prop_assert_eq!(a_then_b, b_then_a);
    }

    #[test]
    fn map_converges_with_sides((doc, a, b) in doc_and_two_concurrent()) {
        let a_then_b = apply(&b.map_with(&a, TieBreak::SelfFirst).unwrap(), &apply(&a, &doc));
        let b_then_a = apply(&a.map_with(&b, TieBreak::OtherFirst).unwrap(), &apply(&b, &doc));
        prop_assert_eq!(a_then_b, b_then_a);
    }

    #[test]
    fn map_keeps_inserted_text((doc, a, b) in doc_and_two_concurrent()) {
        // Text inserted by `a` survives `b` mapped after it.
        let after_a = apply(&a, &doc);
        let mapped = b.map(&a).unwrap();
        let result: Vec<char> = apply(&mapped, &after_a).chars().collect();
        let a_chars: Vec<char> = after_a.chars().collect();
        for range in inserted_ranges(&a) {
            let expected: String = a_chars[range.clone()].iter().collect();
            let start = mapped.map_pos(CharOffset(range.start), Assoc::After).0;
            let end = mapped.map_pos(CharOffset(range.end), Assoc::Before).0;
            let found: String = result[start..end].iter().collect();
            prop_assert_eq!(found, expected);
        }
    }

    #[test]
    fn map_pos_monotonic((_doc, change) in doc_and_change(), assoc_after in any::<bool>()) {
        let assoc = if assoc_after { Assoc::After } else { Assoc::Before };
        let mut previous = 0;
        for pos in 0..=change.len() {
            let mapped = change.map_pos(CharOffset(pos), assoc).0;
            prop_assert!(mapped >= previous, "{} maps to {} after {}", pos, mapped, previous);
            prop_assert!(mapped <= change.len_after());
            let before = change.map_pos(CharOffset(pos), Assoc::Before).0;
            let after = change.map_pos(CharOffset(pos), Assoc::After).0;
            prop_assert!(before <= after);
            previous = mapped;
        }
    }

    #[test]
    fn map_pos_tracks_kept_chars((doc, change) in doc_and_change()) {
        let old: Vec<char> = doc.chars().collect();
        let new: Vec<char> = apply(&change, &doc).chars().collect();
        let mut deleted = vec![false; old.len()];
        for replacement in change.replacements() {
            for flag in &mut deleted[replacement.range.start.0..replacement.range.end.0] {
                *flag = true;
            }
        }
        for (pos, &ch) in old.iter().enumerate() {
            if !deleted[pos] {
                let mapped = change.map_pos(CharOffset(pos), Assoc::After).0;
                prop_assert_eq!(new[mapped], ch);
            }
        }
    }

    #[test]
    fn replacements_round_trip((_doc, change) in doc_and_change()) {
        let rebuilt = ChangeSet::from_replacements(
            change.len(),
            change.replacements().into_iter().map(|r| (r.range, r.text)),
        )
        .unwrap();
        prop_assert_eq!(rebuilt, change);
    }

    #[test]
    fn rebase_matches_map_without_overlap((doc, job, typing) in doc_and_two_concurrent()) {
        let mut document = Document::new(&doc, 1, "plaintext");
        document.apply(typing.clone(), 2, Origin::Editor).unwrap();
        let rebased = document.rebase(&job, 1).unwrap();
        prop_assert_eq!(rebased.version, 2);
        if rebased.overlapped.is_empty() {
            prop_assert_eq!(rebased.change, job.map_with(&typing, TieBreak::OtherFirst).unwrap());
        }
    }

    #[test]
    fn rebase_lets_typing_win(
        (doc, job, typing) in doc_and_two_concurrent(),
        more_typing_seed in any::<u64>(),
    ) {
        let mut document = Document::new(&doc, 1, "plaintext");
        document.apply(typing.clone(), 2, Origin::Editor).unwrap();
        let len = document.text().len_chars();
        let cut = (more_typing_seed as usize) % (len + 1);
        let second = ChangeSet::replace(len, CharOffset(cut)..CharOffset(cut), "✎").unwrap();
        document.apply(second.clone(), 3, Origin::Editor).unwrap();
        let rebased = document.rebase(&job, 1).unwrap();
        prop_assert_eq!(rebased.change.len(), document.text().len_chars());

        // No kept replacement deletes or splits text the user typed.
        let typed = inserted_ranges(&typing.compose(&second).unwrap());
        for replacement in rebased.change.replacements() {
            let (start, end) = (replacement.range.start.0, replacement.range.end.0);
            for range in &typed {
                prop_assert!(
                    end <= range.start || start >= range.end,
                    "replacement {}..{} overlaps typed {:?}", start, end, range
                );
            }
        }
        // Every replacement of the job is either kept or reported: the text
        // it inserts is either in the rebased change or in an overlapped
        // replacement. Kept inserts that meet at one offset merge into one.
        let job_replacements = job.replacements();
        let reported_text: usize = job_replacements
            .iter()
            .filter(|r| rebased.overlapped.contains(&r.range))
            .map(|r| char_count(r.text))
            .sum();
        let kept_text: usize = rebased.change.replacements().iter().map(|r| char_count(r.text)).sum();
        let job_text: usize = job_replacements.iter().map(|r| char_count(r.text)).sum();
        prop_assert_eq!(kept_text + reported_text, job_text);
        prop_assert!(rebased.overlapped.len() <= job_replacements.len());
    }
}
