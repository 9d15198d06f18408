//! Counted nouns for messages: "1 file", "2 files".

use std::fmt::Display;

/// Formats `count` and `noun`, adding an "s" to the noun unless `count` is
/// 1. Only for nouns whose plural adds an "s" (file, rule, conflict).
pub fn count<T: Display + PartialEq + From<u8>>(count: T, noun: &str) -> String {
    if count == T::from(1) {
        format!("{count} {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singular_only_for_one() {
        assert_eq!(count(0_usize, "file"), "0 files");
        assert_eq!(count(1_usize, "file"), "1 file");
        assert_eq!(count(2_u32, "round"), "2 rounds");
        assert_eq!(count(1_u32, "round"), "1 round");
    }
}
