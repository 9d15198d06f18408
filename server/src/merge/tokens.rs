//! Tokens for the merge's diffs. A token is a run of word chars
//! (alphanumerics and `_`, so identifiers, keywords and numbers), a run of
//! whitespace, or any other single char. String and char literal contents
//! split into words the same way, so a change inside a literal stays small.
//! The tokeniser needs no grammar: it works on every language and on text
//! that does not parse.

use std::ops::Range;

/// One token of a text: its byte range and a hash of its bytes, so that
/// the diff rejects most unequal pairs without comparing bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub start: usize,
    pub end: usize,
    pub hash: u64,
}

impl Token {
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Word,
    Space,
    Other,
}

fn class_of(c: char) -> Class {
    if c == '_' || c.is_alphanumeric() {
        Class::Word
    } else if c.is_whitespace() {
        Class::Space
    } else {
        Class::Other
    }
}

/// FNV-1a over the token's bytes: short tokens dominate, and FNV is cheap
/// on them.
fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Splits `text` into tokens, replacing the contents of `out`. Costs one
/// pass over the text.
pub(crate) fn tokenise(text: &str, out: &mut Vec<Token>) {
    out.clear();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let class = class_of(c);
        let mut end = start + c.len_utf8();
        if class != Class::Other {
            while let Some(&(next_start, next)) = chars.peek() {
                if class_of(next) != class {
                    break;
                }
                end = next_start + next.len_utf8();
                chars.next();
            }
        }
        out.push(Token {
            start,
            end,
            hash: hash_bytes(&text.as_bytes()[start..end]),
        });
    }
}

/// Returns true when `text` is exactly one token, as `tokenise` splits it.
pub(crate) fn is_one_token(text: &str) -> bool {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    match class_of(first) {
        Class::Other => chars.next().is_none(),
        class => chars.all(|c| class_of(c) == class),
    }
}

/// Returns true when token `a` of `a_text` and token `b` of `b_text` have
/// the same bytes.
pub(crate) fn same_token(a_text: &str, a: &Token, b_text: &str, b: &Token) -> bool {
    a.hash == b.hash && a_text.as_bytes()[a.range()] == b_text.as_bytes()[b.range()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Vec<&str> {
        let mut tokens = Vec::new();
        tokenise(text, &mut tokens);
        tokens.iter().map(|token| &text[token.range()]).collect()
    }

    #[test]
    fn words_spaces_and_punctuation() {
        assert_eq!(
            pieces("foo.unwrap()?"),
            ["foo", ".", "unwrap", "(", ")", "?"]
        );
        assert_eq!(
            pieces("let x_1 = 42u8;\n    y"),
            ["let", " ", "x_1", " ", "=", " ", "42u8", ";", "\n    ", "y"]
        );
    }

    #[test]
    fn literal_contents_split_into_words() {
        assert_eq!(
            pieces("\"hello wörld\""),
            ["\"", "hello", " ", "wörld", "\""]
        );
    }

    #[test]
    fn multibyte_chars_stay_whole() {
        assert_eq!(pieces("日本🦀 é"), ["日本", "🦀", " ", "é"]);
        assert!(pieces("").is_empty());
    }

    #[test]
    fn one_token_texts() {
        for text in ["foo_1", "42u32", "  \n ", "(", "日本"] {
            assert!(is_one_token(text), "{text:?}");
            assert_eq!(pieces(text).len(), 1, "{text:?}");
        }
        for text in ["", "a b", "((", "a.b", "x?"] {
            assert!(!is_one_token(text), "{text:?}");
        }
    }

    #[test]
    fn equal_tokens_compare_equal() {
        let (a, b) = ("x foo", "foo y");
        let (mut left, mut right) = (Vec::new(), Vec::new());
        tokenise(a, &mut left);
        tokenise(b, &mut right);
        assert!(same_token(a, &left[2], b, &right[0]));
        assert!(!same_token(a, &left[0], b, &right[2]));
    }
}
