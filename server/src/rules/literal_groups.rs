//! Grouping of query patterns that differ only by the strings of one
//! `#eq?` or `#any-of?` predicate, so that the combined query contains them
//! as one pattern without that predicate.
//!
//! A hundred rules that each rename one identifier are a hundred copies of
//! one pattern, and every identifier of the document would otherwise yield
//! a hundred candidate matches whose predicates are checked one by one. The
//! matcher compiles each group once and hands a match to the members whose
//! strings equal the captured text, through a hash map.
//!
//! This module works on query source text only. It never changes what a
//! pattern matches: two queries are grouped only when their token streams
//! are identical once the predicate is removed, and any query it does not
//! fully understand (escapes in a string, several top-level patterns) is
//! left alone.

use std::collections::HashMap;
use std::ops::Range;

/// One way to read a query as "the rest" plus a string predicate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LiteralSplit {
    /// The tokens of the query without the predicate, joined by spaces:
    /// equal keys mean equal queries apart from the predicate.
    pub key: String,
    /// Byte range of the predicate in the query source.
    pub predicate: Range<usize>,
    /// The capture the predicate tests, without `@`.
    pub capture: String,
    /// The strings the capture's text may equal.
    pub literals: Vec<String>,
}

/// Returns every `(#eq? @capture "text")` and `(#any-of? @capture "a" ...)`
/// predicate of `source` that could be lifted out of it, each with the key
/// of what remains. Empty unless `source` is a single top-level pattern
/// that this tokenizer reads without doubt.
pub(crate) fn literal_splits(source: &str) -> Vec<LiteralSplit> {
    let Some(tokens) = tokenize(source) else {
        return Vec::new();
    };
    if !is_single_pattern(&tokens) {
        return Vec::new();
    }
    let mut splits = Vec::new();
    for (open, token) in tokens.iter().enumerate() {
        if token.kind != Kind::Open || token.text != "(" {
            continue;
        }
        let Some((close, capture, literals)) = string_predicate(&tokens, open) else {
            continue;
        };
        let key = tokens[..open]
            .iter()
            .chain(&tokens[close + 1..])
            .map(|token| token.text)
            .collect::<Vec<_>>()
            .join(" ");
        splits.push(LiteralSplit {
            key,
            predicate: token.range.start..tokens[close].range.end,
            capture: capture.to_owned(),
            literals,
        });
    }
    splits
}

/// Chooses, for each query, the split to group it by: the one whose key
/// the most queries share. Returns the groups of query indices (ascending)
/// with the split index each member uses; queries that share no key with
/// another are left out.
pub(crate) fn choose_groups(splits: &[Vec<LiteralSplit>]) -> Vec<Vec<(usize, usize)>> {
    let mut counts: HashMap<(&str, &str), usize> = HashMap::new();
    for query in splits {
        for split in query {
            *counts.entry((&split.key, &split.capture)).or_default() += 1;
        }
    }
    // Key -> members, in first-member order.
    let mut groups: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut group_of: HashMap<(&str, &str), usize> = HashMap::new();
    for (query, options) in splits.iter().enumerate() {
        let best = options
            .iter()
            .enumerate()
            .map(|(index, split)| (counts[&(split.key.as_str(), split.capture.as_str())], index))
            // The largest count wins; among equals, the first split.
            .max_by_key(|&(count, index)| (count, std::cmp::Reverse(index)));
        let Some((count, index)) = best else { continue };
        if count < 2 {
            continue;
        }
        let split = &options[index];
        let slot = *group_of
            .entry((&split.key, &split.capture))
            .or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
        groups[slot].push((query, index));
    }
    groups.retain(|members| members.len() >= 2);
    groups
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `(` or `[`.
    Open,
    /// `)` or `]`.
    Close,
    /// A double-quoted string without escapes.
    String,
    /// Anything else: node names, fields, captures, predicates, anchors.
    Word,
}

#[derive(Clone, Debug)]
struct Token<'a> {
    kind: Kind,
    text: &'a str,
    range: Range<usize>,
}

/// Splits query source into tokens, skipping whitespace and `;` comments.
/// Returns `None` for a string with a backslash escape or without its
/// closing quote, which this module leaves to tree-sitter.
fn tokenize(source: &str) -> Option<Vec<Token<'_>>> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        let kind = match bytes[at] {
            byte if byte.is_ascii_whitespace() => {
                at += 1;
                continue;
            }
            b';' => {
                while at < bytes.len() && bytes[at] != b'\n' {
                    at += 1;
                }
                continue;
            }
            b'(' | b'[' => {
                at += 1;
                Kind::Open
            }
            b')' | b']' => {
                at += 1;
                Kind::Close
            }
            b'"' => {
                at += 1;
                loop {
                    match bytes.get(at)? {
                        b'\\' => return None,
                        b'"' => break,
                        _ => at += 1,
                    }
                }
                at += 1;
                Kind::String
            }
            _ => {
                while at < bytes.len()
                    && !bytes[at].is_ascii_whitespace()
                    && !matches!(bytes[at], b'(' | b')' | b'[' | b']' | b'"' | b';')
                {
                    at += 1;
                }
                Kind::Word
            }
        };
        tokens.push(Token {
            kind,
            text: &source[start..at],
            range: start..at,
        });
    }
    Some(tokens)
}

/// Returns true when the tokens are one bracketed top-level pattern
/// followed only by captures and quantifiers, with balanced brackets.
fn is_single_pattern(tokens: &[Token<'_>]) -> bool {
    if tokens.first().is_none_or(|token| token.kind != Kind::Open) {
        return false;
    }
    let mut depth = 0usize;
    let mut closed = false;
    for token in tokens {
        match token.kind {
            Kind::Open if closed => return false,
            Kind::Open => depth += 1,
            Kind::Close => {
                let Some(next) = depth.checked_sub(1) else {
                    return false;
                };
                depth = next;
                closed = depth == 0;
            }
            Kind::String if depth == 0 => return false,
            Kind::Word if depth == 0 => {
                let suffix = token.text.starts_with('@') || matches!(token.text, "*" | "+" | "?");
                if !suffix {
                    return false;
                }
            }
            Kind::String | Kind::Word => {}
        }
    }
    depth == 0 && closed
}

/// Reads `( #eq? @capture "text" )` or `( #any-of? @capture "a" "b" ... )`
/// starting at the `(` at `open`. Returns the index of the closing `)`,
/// the capture name and the strings without their quotes.
fn string_predicate<'a>(
    tokens: &[Token<'a>],
    open: usize,
) -> Option<(usize, &'a str, Vec<String>)> {
    let operator = tokens.get(open + 1)?;
    let many = match (operator.kind, operator.text) {
        (Kind::Word, "#eq?") => false,
        (Kind::Word, "#any-of?") => true,
        _ => return None,
    };
    let capture = tokens.get(open + 2)?;
    let name = capture.text.strip_prefix('@')?;
    if capture.kind != Kind::Word || name.is_empty() {
        return None;
    }
    let mut literals = Vec::new();
    let mut at = open + 3;
    while let Some(token) = tokens.get(at) {
        match token.kind {
            Kind::String => {
                literals.push(token.text[1..token.text.len() - 1].to_owned());
                at += 1;
            }
            Kind::Close if token.text == ")" => break,
            _ => return None,
        }
    }
    tokens.get(at)?;
    let count_ok = if many {
        !literals.is_empty()
    } else {
        literals.len() == 1
    };
    count_ok.then_some((at, name, literals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eq_predicate_split() {
        let source = r#"((identifier) @match (#eq? @match "foo"))"#;
        let splits = literal_splits(source);
        assert_eq!(splits.len(), 1);
        assert_eq!(splits[0].capture, "match");
        assert_eq!(splits[0].literals, ["foo"]);
        assert_eq!(
            &source[splits[0].predicate.clone()],
            r#"(#eq? @match "foo")"#
        );
        assert_eq!(splits[0].key, "( ( identifier ) @match )");
    }

    #[test]
    fn keys_ignore_whitespace_and_comments() {
        let a = literal_splits("((identifier) @m (#eq? @m \"a\"))");
        let b = literal_splits("(\n  (identifier) ; the name\n  @m\n  (#eq? @m \"b\"))");
        assert_eq!(a[0].key, b[0].key);
    }

    #[test]
    fn any_of_split_keeps_every_string() {
        let splits = literal_splits(r#"((identifier) @m (#any-of? @m "a" "b" "c"))"#);
        assert_eq!(splits[0].literals, ["a", "b", "c"]);
    }

    #[test]
    fn every_string_predicate_offered() {
        let source = r#"(binary_expression left: (identifier) @a right: (integer_literal) @b
            (#eq? @a "len") (#eq? @b "0")) @match"#;
        let splits = literal_splits(source);
        assert_eq!(splits.len(), 2);
        assert_eq!(splits[0].capture, "a");
        assert_eq!(splits[1].capture, "b");
        assert!(splits[0].key.contains("#eq? @b \"0\""));
    }

    #[test]
    fn unsupported_forms_not_split() {
        // Negation, capture-to-capture, escapes, regexes, several patterns.
        for source in [
            r#"((identifier) @m (#not-eq? @m "a"))"#,
            r#"((identifier) @m (#any-eq? @m "a"))"#,
            r#"(pair (identifier) @a (identifier) @b (#eq? @a @b)) @match"#,
            r#"((string_literal) @m (#eq? @m "\"a\""))"#,
            r#"((identifier) @m (#match? @m "^a"))"#,
            r#"((identifier) @m (#eq? @m "a")) ((identifier) @m (#eq? @m "b"))"#,
            r#""return" @m"#,
            r#"((identifier) @m (#eq? @m "a" "b"))"#,
            r#"((identifier) @m (#eq? @m "a""#,
        ] {
            assert!(literal_splits(source).is_empty(), "{source}");
        }
    }

    #[test]
    fn top_level_suffixes_allowed() {
        assert_eq!(
            literal_splits(r#"[(identifier) (type_identifier)] @m @n (#eq? @m "a")"#).len(),
            0,
            "a predicate outside the pattern's brackets is not one pattern"
        );
        assert_eq!(
            literal_splits(r#"([(identifier) (type_identifier)] @m (#eq? @m "a")) @n"#).len(),
            1
        );
    }

    #[test]
    fn groups_by_most_shared_key() {
        let queries = [
            r#"((identifier) @m (#eq? @m "a"))"#,
            r#"((identifier) @m (#eq? @m "b"))"#,
            r#"((field_identifier) @m (#eq? @m "a"))"#,
            r#"((identifier) @m (#any-of? @m "c" "d"))"#,
        ];
        let splits: Vec<_> = queries.iter().map(|query| literal_splits(query)).collect();
        assert_eq!(choose_groups(&splits), vec![vec![(0, 0), (1, 0), (3, 0)]]);
    }

    #[test]
    fn captures_must_agree() {
        let splits: Vec<_> = [
            r#"((identifier) @m (#eq? @m "a"))"#,
            r#"((identifier) @n (#eq? @n "a"))"#,
        ]
        .iter()
        .map(|query| literal_splits(query))
        .collect();
        assert!(choose_groups(&splits).is_empty());
    }
}
