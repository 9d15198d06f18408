//! `RankSet`: a set of small integers (positions in the merge's sorted
//! order of hunks) with insert, remove, next and previous member. It is a
//! bitset with one summary level per 64x, so every operation touches at
//! most two words per level: about four levels for a million members.

/// A set of integers below a fixed capacity.
#[derive(Clone, Debug)]
pub(crate) struct RankSet {
    /// `levels[0]` has one bit per member; bit `i` of `levels[l + 1]` is
    /// set when word `i` of `levels[l]` is non-zero. The last level has
    /// one word.
    levels: Vec<Vec<u64>>,
}

impl RankSet {
    /// Creates an empty set for members below `capacity`.
    pub fn new(capacity: usize) -> Self {
        let mut levels = Vec::new();
        let mut bits = capacity.max(1);
        loop {
            let words = bits.div_ceil(64);
            levels.push(vec![0; words]);
            if words == 1 {
                break;
            }
            bits = words;
        }
        Self { levels }
    }

    pub fn insert(&mut self, member: usize) {
        let mut index = member;
        for level in &mut self.levels {
            let word = &mut level[index / 64];
            let was_empty = *word == 0;
            *word |= 1 << (index % 64);
            if !was_empty {
                return;
            }
            index /= 64;
        }
    }

    pub fn remove(&mut self, member: usize) {
        let mut index = member;
        for level in &mut self.levels {
            let word = &mut level[index / 64];
            *word &= !(1 << (index % 64));
            if *word != 0 {
                return;
            }
            index /= 64;
        }
    }

    #[cfg(test)]
    pub fn contains(&self, member: usize) -> bool {
        self.levels[0]
            .get(member / 64)
            .is_some_and(|word| word & (1 << (member % 64)) != 0)
    }

    /// Returns the smallest member at or after `from`.
    pub fn next(&self, from: usize) -> Option<usize> {
        self.next_at(0, from)
    }

    /// Returns the largest member before `before`.
    pub fn previous(&self, before: usize) -> Option<usize> {
        self.previous_at(0, before)
    }

    fn next_at(&self, level: usize, from: usize) -> Option<usize> {
        let words = &self.levels[level];
        let word_index = from / 64;
        let word = *words.get(word_index)?;
        let bits = word & (u64::MAX << (from % 64));
        if bits != 0 {
            return Some(word_index * 64 + bits.trailing_zeros() as usize);
        }
        if level + 1 == self.levels.len() {
            return None;
        }
        let next_word = self.next_at(level + 1, word_index + 1)?;
        Some(next_word * 64 + words[next_word].trailing_zeros() as usize)
    }

    fn previous_at(&self, level: usize, before: usize) -> Option<usize> {
        let last = before.checked_sub(1)?;
        let words = &self.levels[level];
        let word_index = (last / 64).min(words.len() - 1);
        let bits = if word_index == last / 64 {
            words[word_index] & (u64::MAX >> (63 - last % 64))
        } else {
            words[word_index]
        };
        if bits != 0 {
            return Some(word_index * 64 + 63 - bits.leading_zeros() as usize);
        }
        if level + 1 == self.levels.len() {
            return None;
        }
        let previous_word = self.previous_at(level + 1, word_index)?;
        Some(previous_word * 64 + 63 - words[previous_word].leading_zeros() as usize)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn next_and_previous_cross_words_and_levels() {
        let mut set = RankSet::new(300_000);
        assert_eq!(set.next(0), None);
        assert_eq!(set.previous(300_000), None);
        set.insert(5);
        set.insert(70_000);
        set.insert(299_999);
        assert_eq!(set.next(0), Some(5));
        assert_eq!(set.next(6), Some(70_000));
        assert_eq!(set.next(70_001), Some(299_999));
        assert_eq!(set.previous(70_000), Some(5));
        assert_eq!(set.previous(5), None);
        assert_eq!(set.previous(usize::MAX), Some(299_999));
        set.remove(70_000);
        assert!(!set.contains(70_000));
        assert_eq!(set.next(6), Some(299_999));
        assert_eq!(set.previous(299_999), Some(5));
    }

    proptest! {
        #[test]
        fn matches_a_btree_set(
            ops in prop::collection::vec((any::<bool>(), 0..5000usize), 0..200),
            probes in prop::collection::vec(0..5001usize, 20),
        ) {
            let mut set = RankSet::new(5000);
            let mut model = BTreeSet::new();
            for (insert, member) in ops {
                if insert {
                    set.insert(member);
                    model.insert(member);
                } else {
                    set.remove(member);
                    model.remove(&member);
                }
            }
            for probe in probes {
                prop_assert_eq!(set.next(probe), model.range(probe..).next().copied());
                prop_assert_eq!(set.previous(probe), model.range(..probe).next_back().copied());
            }
        }
    }
}
