//! Offset newtypes that keep byte and char units apart.

use std::fmt;

/// An offset in Unicode scalar values (chars) from the start of a document.
///
/// This is the unit of `ropey::Rope` edits, of `ChangeSet` lengths and of
/// LSP's `utf-32` position encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CharOffset(pub usize);

/// An offset in UTF-8 bytes from the start of a document.
///
/// This is the unit of tree-sitter nodes and of LSP's `utf-8` encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteOffset(pub usize);

impl fmt::Display for CharOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "char {}", self.0)
    }
}

impl fmt::Display for ByteOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}", self.0)
    }
}
