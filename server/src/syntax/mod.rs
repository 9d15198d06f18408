//! Supported languages, parsing with tree-sitter, and syntax-error
//! accounting: where a tree has ERROR or MISSING nodes, and which of those
//! an edit introduced.

use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use ropey::Rope;
use thiserror::Error;
use tree_sitter::{Node, Parser, Tree};

/// A language with a tree-sitter grammar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    Rust,
}

/// Errors of parsing.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SyntaxError {
    #[error("language {0:?} is not supported; the supported language is \"rust\"")]
    UnknownLanguage(String),
    #[error("the tree-sitter grammar for {language} failed to load: {message}")]
    Grammar {
        language: &'static str,
        message: String,
    },
    #[error("parsing {language} text was cancelled before it finished")]
    Cancelled { language: &'static str },
}

impl Language {
    /// Looks up an LSP language id (`rust`) or a rules-file `language` value.
    ///
    /// # Errors
    /// `UnknownLanguage` naming the id.
    pub fn from_id(id: &str) -> Result<Self, SyntaxError> {
        match id {
            "rust" => Ok(Language::Rust),
            other => Err(SyntaxError::UnknownLanguage(other.to_owned())),
        }
    }

    /// Returns the language of a file, from its extension.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()? {
            "rs" => Some(Language::Rust),
            _ => None,
        }
    }

    /// Returns the id used in LSP `languageId` and in rules files.
    pub fn id(self) -> &'static str {
        match self {
            Language::Rust => "rust",
        }
    }

    /// Returns the tree-sitter grammar.
    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            Language::Rust => tree_sitter_rust::LANGUAGE.into(),
        }
    }

    /// Creates a parser for this language.
    ///
    /// # Errors
    /// `Grammar` when the grammar's ABI does not match the tree-sitter
    /// library.
    pub fn parser(self) -> Result<Parser, SyntaxError> {
        let mut parser = Parser::new();
        parser
            .set_language(&self.grammar())
            .map_err(|error| SyntaxError::Grammar {
                language: self.id(),
                message: error.to_string(),
            })?;
        Ok(parser)
    }

    /// Returns true when `text` is a plain word of the language. It must be
    /// shaped like an identifier (for Rust, ASCII letters, digits and `_`,
    /// not starting with a digit). It must be neither a reserved word of
    /// the language nor the name of a node or token of the grammar. That
    /// rules out keywords (`fn`), contextual ones (`union`), literals
    /// (`true`) and words the grammar treats apart (`self`, `u8`, `mut`).
    pub fn is_plain_word(self, text: &str) -> bool {
        let shaped = match self {
            Language::Rust => {
                let mut bytes = text.bytes();
                bytes
                    .next()
                    .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
                    && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
                    && !RUST_RESERVED_WORDS.contains(&text)
            }
        };
        shaped && !self.names_a_kind(text)
    }

    /// Returns true when `text` is the name of a node kind or token of the
    /// grammar, named or anonymous (`identifier`, `fn`, `macro_rules!`).
    pub fn names_a_kind(self, text: &str) -> bool {
        static RUST: OnceLock<HashSet<&'static str>> = OnceLock::new();
        let names = match self {
            Language::Rust => RUST.get_or_init(|| kind_names(&self.grammar())),
        };
        names.contains(text)
    }

    /// Parses `text`, reusing `old` when it is the tree of an earlier version
    /// already edited with `Tree::edit` to match the new text.
    ///
    /// # Errors
    /// `Grammar` as for `parser`.
    pub fn parse_rope(self, text: &Rope, old: Option<&Tree>) -> Result<Tree, SyntaxError> {
        let mut parser = self.parser()?;
        parse_rope_with(&mut parser, self, text, old)
    }

    /// Parses a string.
    ///
    /// # Errors
    /// `Grammar` as for `parser`.
    pub fn parse_str(self, text: &str) -> Result<Tree, SyntaxError> {
        let mut parser = self.parser()?;
        parser.parse(text, None).ok_or(SyntaxError::Cancelled {
            language: self.id(),
        })
    }
}

/// Rust's strict, reserved and weak keywords, its primitive types, and
/// the other words tree-sitter-rust's grammar matches as tokens. The
/// grammar's kind names miss some of these, because it renames them: `mut`
/// is a `mutable_specifier`, `u8` a `primitive_type`.
const RUST_RESERVED_WORDS: &[&str] = &[
    "Self",
    "abstract",
    "as",
    "async",
    "auto",
    "await",
    "become",
    "bool",
    "box",
    "break",
    "char",
    "const",
    "continue",
    "crate",
    "default",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "f32",
    "f64",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "i128",
    "i16",
    "i32",
    "i64",
    "i8",
    "if",
    "impl",
    "in",
    "isize",
    "let",
    "loop",
    "macro",
    "macro_rules",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "pub",
    "raw",
    "ref",
    "return",
    "safe",
    "self",
    "static",
    "str",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "u128",
    "u16",
    "u32",
    "u64",
    "u8",
    "union",
    "unsafe",
    "unsized",
    "use",
    "usize",
    "virtual",
    "where",
    "while",
    "yield",
];

/// Returns the names of every node kind and token of `grammar`.
fn kind_names(grammar: &tree_sitter::Language) -> HashSet<&'static str> {
    (0..grammar.node_kind_count())
        .filter_map(|id| u16::try_from(id).ok())
        .filter_map(|id| grammar.node_kind_for_id(id))
        .collect()
}

/// Parses a rope chunk by chunk with an existing parser, without copying the
/// text into one string.
///
/// # Errors
/// `Cancelled` when the parser stops early.
pub fn parse_rope_with(
    parser: &mut Parser,
    language: Language,
    text: &Rope,
    old: Option<&Tree>,
) -> Result<Tree, SyntaxError> {
    let len = text.len_bytes();
    let mut read = |byte: usize, _point: tree_sitter::Point| -> &[u8] {
        if byte >= len {
            return &[];
        }
        let (chunk, chunk_start, _, _) = text.chunk_at_byte(byte);
        &chunk.as_bytes()[byte - chunk_start..]
    };
    parser
        .parse_with_options(&mut read, old, None)
        .ok_or(SyntaxError::Cancelled {
            language: language.id(),
        })
}

/// Byte ranges of the outermost ERROR and MISSING nodes of `tree`, sorted.
/// A MISSING node is empty; its range is where the parser expected it.
pub fn error_ranges(tree: &Tree) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    if tree.root_node().has_error() {
        collect_errors(tree.root_node(), &mut out);
    }
    out
}

fn collect_errors(node: Node<'_>, out: &mut Vec<Range<usize>>) {
    if node.is_error() || node.is_missing() {
        out.push(node.byte_range());
        return;
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        if child.has_error() {
            collect_errors(child, out);
        }
    }
}

/// Returns true when `range` touches any of the sorted `regions`; empty
/// ranges touch a region they sit in or at the edge of.
pub fn touches_any(regions: &[Range<usize>], range: &Range<usize>) -> bool {
    let first = regions.partition_point(|region| region.end < range.start);
    regions[first..]
        .iter()
        .take_while(|region| region.start <= range.end)
        .any(|region| region.start <= range.end && range.start <= region.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_code_has_no_errors() {
        let tree = Language::Rust
            .parse_str("fn main() { let x = 1; }")
            .unwrap();
        assert!(error_ranges(&tree).is_empty());
    }

    #[test]
    fn errors_and_missing_nodes_found() {
        let text = "fn main() { let x = ; }\nfn f( {}";
        let tree = Language::Rust.parse_str(text).unwrap();
        let errors = error_ranges(&tree);
        assert!(!errors.is_empty());
        assert!(errors.windows(2).all(|pair| pair[0].start <= pair[1].start));
        assert!(errors.iter().all(|range| range.end <= text.len()));
    }

    #[test]
    fn missing_semicolon_is_missing_node() {
        let tree = Language::Rust.parse_str("fn main() { let x = 1 }").unwrap();
        let errors = error_ranges(&tree);
        assert_eq!(errors.len(), 1, "{errors:?}");
    }

    #[test]
    fn rope_parse_matches_string_parse() {
        let text = "fn main() {\n    println!(\"日本 🦀\");\n}\n".repeat(2000);
        let rope = Rope::from_str(&text);
        assert!(rope.chunks().count() > 1);
        let from_rope = Language::Rust.parse_rope(&rope, None).unwrap();
        let from_str = Language::Rust.parse_str(&text).unwrap();
        assert_eq!(
            from_rope.root_node().to_sexp(),
            from_str.root_node().to_sexp()
        );
    }

    #[test]
    fn unknown_language_rejected() {
        let err = Language::from_id("cobol").unwrap_err();
        assert!(err.to_string().contains("\"cobol\""), "{err}");
        assert_eq!(
            Language::from_path(Path::new("a/b.rs")),
            Some(Language::Rust)
        );
        assert_eq!(Language::from_path(Path::new("a/b.py")), None);
    }

    #[test]
    fn touches_any_checks_edges() {
        let regions = [2..4, 10..10];
        assert!(touches_any(&regions, &(3..3)));
        assert!(touches_any(&regions, &(4..6)));
        assert!(touches_any(&regions, &(10..10)));
        assert!(!touches_any(&regions, &(5..9)));
        assert!(!touches_any(&[], &(0..1)));
    }
}
