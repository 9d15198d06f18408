//! Conversions between LSP positions and rope char offsets in the three LSP position encodings.
//!
//! An LSP `Position` is a zero-based line and a `character` offset into that line, counted in
//! the code units of the position encoding that client and server agreed on at initialization
//! (LSP 3.17 `positionEncoding`). The rope counts chars (Unicode scalar values).
//!
//! Lines end at `\n`, `\r\n` or a lone `\r`, and a `\r\n` is one line break. These are exactly
//! the breaks of ropey built with `cr_lines` and without `unicode_lines`, so U+2028, U+0085 and
//! other Unicode separators do not end a line. A line's content ends before its line break, and
//! the last line has no break. A text that ends in a line break therefore has an empty last line,
//! as in LSP, where the end of `"a\n"` is line 1, character 0.
//!
//! Every conversion runs in O(log n) for a rope of n chars, because ropey indexes bytes, chars,
//! UTF-16 code units and line breaks in its tree.

use std::fmt;
use std::ops::Range;

use ropey::{Rope, RopeSlice};
use thiserror::Error;
use tower_lsp_server::ls_types::{Position, PositionEncodingKind, Range as LspRange};

use super::units::{ByteOffset, CharOffset};

/// Unit in which an LSP `Position.character` counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PositionEncoding {
    /// UTF-8 code units, which are bytes.
    Utf8,
    /// UTF-16 code units, the LSP default, which every server must support.
    #[default]
    Utf16,
    /// UTF-32 code units, which are Unicode scalar values (Rust `char`s).
    Utf32,
}

impl PositionEncoding {
    /// Maps an LSP encoding kind to an encoding, or `None` for a kind this server does not know.
    pub fn from_kind(kind: &PositionEncodingKind) -> Option<Self> {
        match kind.as_str() {
            "utf-8" => Some(Self::Utf8),
            "utf-16" => Some(Self::Utf16),
            "utf-32" => Some(Self::Utf32),
            _ => None,
        }
    }

    /// Returns the LSP kind to announce in `ServerCapabilities.position_encoding`.
    pub fn to_kind(self) -> PositionEncodingKind {
        match self {
            Self::Utf8 => PositionEncodingKind::UTF8,
            Self::Utf16 => PositionEncodingKind::UTF16,
            Self::Utf32 => PositionEncodingKind::UTF32,
        }
    }

    /// Returns the LSP name of the encoding: `utf-8`, `utf-16` or `utf-32`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Utf8 => "utf-8",
            Self::Utf16 => "utf-16",
            Self::Utf32 => "utf-32",
        }
    }

    /// Chooses the encoding for a session from the client's `general.positionEncodings`.
    ///
    /// Picks UTF-8 whenever the client offers it. Otherwise picks UTF-16, which LSP 3.17
    /// requires every client and server to support, so it also covers a missing or empty list
    /// and a list of unknown kinds. Picks UTF-32 only when it is offered and UTF-16 is not.
    /// The order of the client's list is ignored.
    pub fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Self {
        let offered = offered.unwrap_or_default();
        let is_offered = |encoding: Self| {
            offered
                .iter()
                .any(|kind| Self::from_kind(kind) == Some(encoding))
        };

        if is_offered(Self::Utf8) {
            Self::Utf8
        } else if is_offered(Self::Utf32) && !is_offered(Self::Utf16) {
            Self::Utf32
        } else {
            Self::Utf16
        }
    }

    /// Counts the code units of `c` in this encoding: 1 to 4 for UTF-8, 1 or 2 for UTF-16 and
    /// always 1 for UTF-32.
    pub fn units_of(self, c: char) -> u32 {
        match self {
            Self::Utf8 => c.len_utf8() as u32,
            Self::Utf16 => c.len_utf16() as u32,
            Self::Utf32 => 1,
        }
    }

    /// Counts the code units of this encoding before the char at `char_idx` in the whole rope.
    fn char_to_units(self, rope: &Rope, char_idx: usize) -> usize {
        match self {
            Self::Utf8 => rope.char_to_byte(char_idx),
            Self::Utf16 => rope.char_to_utf16_cu(char_idx),
            Self::Utf32 => char_idx,
        }
    }

    /// Finds the char that contains the code unit at `units_idx` of the whole rope, so an index
    /// inside a multi-unit char gives that char's start.
    fn units_to_char(self, rope: &Rope, units_idx: usize) -> usize {
        match self {
            Self::Utf8 => rope.byte_to_char(units_idx),
            Self::Utf16 => rope.utf16_cu_to_char(units_idx),
            Self::Utf32 => units_idx,
        }
    }
}

impl fmt::Display for PositionEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Change that [`resolve_position`] made to a position to reach a char offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Adjustment {
    /// The position names a char boundary and was not changed.
    Exact,
    /// The line is past the last line, so the offset is the end of the document.
    LinePastEnd,
    /// The character is past the line's content, so the offset is the line's content end,
    /// before its line break.
    CharacterPastLineEnd,
    /// The character falls inside a UTF-16 surrogate pair or a UTF-8 multi-byte sequence, so
    /// the offset is the start of that char.
    InsideCharacter,
}

/// Char offset that a position resolves to, with the change made to reach it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResolvedPosition {
    pub offset: CharOffset,
    pub adjustment: Adjustment,
}

/// Error from converting an LSP range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
pub enum EncodingError {
    /// The range's end comes before its start. Positions show 0-based line and character as
    /// LSP sends them.
    #[error(
        "invalid range: end {}:{} comes before start {}:{}; \
         send a range whose end is at or after its start",
        end.line,
        end.character,
        start.line,
        start.character
    )]
    ReversedRange { start: Position, end: Position },
}

/// Char offsets of a line's first char and of its content end, which is before its line break.
struct LineBounds {
    start: usize,
    content_end: usize,
}

/// Finds the bounds of line `line`, which must be below `rope.len_lines()`.
fn line_bounds(rope: &Rope, line: usize) -> LineBounds {
    let start = rope.line_to_char(line);
    let slice = rope.line(line);
    LineBounds {
        start,
        content_end: start + slice.len_chars() - line_break_len(slice),
    }
}

/// Counts the chars of the line break that ends `line`: 2 for `\r\n`, 1 for `\n` or a lone
/// `\r`, and 0 on the last line.
fn line_break_len(line: RopeSlice) -> usize {
    let len = line.len_chars();
    if len == 0 {
        return 0;
    }
    match line.char(len - 1) {
        // A `\r` right before a `\n` is never a break of its own, so it belongs to this line.
        '\n' if len >= 2 && line.char(len - 2) == '\r' => 2,
        '\n' | '\r' => 1,
        _ => 0,
    }
}

/// Converts a count to an LSP `u32`, saturating at `u32::MAX` for documents with more lines,
/// or lines with more code units, than LSP can express.
fn saturate_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// Resolves an LSP position to a char offset, clamping and snapping as [`resolve_position`]
/// describes.
pub fn position_to_char(rope: &Rope, pos: Position, enc: PositionEncoding) -> CharOffset {
    resolve_position(rope, pos, enc).offset
}

/// Resolves an LSP position to a char offset and reports how it was adjusted.
///
/// A line past the last line clamps to the end of the document. A character past the line's
/// content clamps to the content end, before the line break, so it never lands between the
/// `\r` and `\n` of a `\r\n`. A character inside a UTF-16 surrogate pair or a UTF-8
/// multi-byte sequence snaps to the start of that char. The result is always within
/// `0..=rope.len_chars()`.
pub fn resolve_position(rope: &Rope, pos: Position, enc: PositionEncoding) -> ResolvedPosition {
    let line = pos.line as usize;
    if line >= rope.len_lines() {
        return ResolvedPosition {
            offset: CharOffset(rope.len_chars()),
            adjustment: Adjustment::LinePastEnd,
        };
    }

    let bounds = line_bounds(rope, line);
    let line_start_units = enc.char_to_units(rope, bounds.start);
    let content_end_units = enc.char_to_units(rope, bounds.content_end);
    let target_units = line_start_units.saturating_add(pos.character as usize);
    if target_units > content_end_units {
        return ResolvedPosition {
            offset: CharOffset(bounds.content_end),
            adjustment: Adjustment::CharacterPastLineEnd,
        };
    }

    let offset = enc.units_to_char(rope, target_units);
    let adjustment = if enc.char_to_units(rope, offset) == target_units {
        Adjustment::Exact
    } else {
        Adjustment::InsideCharacter
    };
    ResolvedPosition {
        offset: CharOffset(offset),
        adjustment,
    }
}

/// Converts a char offset to an LSP position.
///
/// An offset past the end clamps to the end of the document. An offset between the `\r` and
/// `\n` of a `\r\n` gives the position at the end of that line's content, the same position
/// as the offset of the `\r`, because no LSP position lies inside a line break.
pub fn char_to_position(rope: &Rope, offset: CharOffset, enc: PositionEncoding) -> Position {
    let offset = offset.0.min(rope.len_chars());
    let line = rope.char_to_line(offset);
    let bounds = line_bounds(rope, line);
    let offset = offset.min(bounds.content_end);
    let character = enc.char_to_units(rope, offset) - enc.char_to_units(rope, bounds.start);
    Position::new(saturate_u32(line), saturate_u32(character))
}

/// Converts an LSP range to a char range, clamping and snapping each end as
/// [`resolve_position`] describes.
///
/// # Errors
///
/// Returns [`EncodingError::ReversedRange`] when the range's end comes before its start,
/// comparing line and then character.
pub fn range_to_chars(
    rope: &Rope,
    range: LspRange,
    enc: PositionEncoding,
) -> Result<Range<CharOffset>, EncodingError> {
    let reversed = EncodingError::ReversedRange {
        start: range.start,
        end: range.end,
    };
    if range.end < range.start {
        return Err(reversed);
    }

    let start = position_to_char(rope, range.start, enc);
    let end = position_to_char(rope, range.end, enc);
    // Resolution keeps the order of positions, so this only fires if that invariant breaks.
    if end < start {
        return Err(reversed);
    }
    Ok(start..end)
}

/// Converts a char range to an LSP range, converting each end with [`char_to_position`].
///
/// A reversed char range gives a reversed LSP range.
pub fn chars_to_range(rope: &Rope, range: Range<CharOffset>, enc: PositionEncoding) -> LspRange {
    LspRange::new(
        char_to_position(rope, range.start, enc),
        char_to_position(rope, range.end, enc),
    )
}

/// Converts a char offset to a byte offset. An offset past the end clamps to the end.
pub fn char_to_byte(rope: &Rope, offset: CharOffset) -> ByteOffset {
    ByteOffset(rope.char_to_byte(offset.0.min(rope.len_chars())))
}

/// Converts a byte offset to a char offset. A byte inside a multi-byte char gives that char's
/// start, and a byte past the end clamps to the end.
pub fn byte_to_char(rope: &Rope, offset: ByteOffset) -> CharOffset {
    CharOffset(rope.byte_to_char(offset.0.min(rope.len_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use Adjustment::{CharacterPastLineEnd, Exact, InsideCharacter, LinePastEnd};
    use PositionEncoding::{Utf16, Utf32, Utf8};

    const ALL: [PositionEncoding; 3] = [Utf8, Utf16, Utf32];

    /// Line 0 contains 1-, 2-, 3- and 4-byte chars and ends in `\r\n`. Line 1 ends in a lone `\r`,
    /// line 2 ends in `\n` and line 3 is the empty last line.
    const MIXED: &str = "aé中😀z\r\nline\rend\n";

    fn pos(line: u32, character: u32) -> Position {
        Position::new(line, character)
    }

    fn resolved(offset: usize, adjustment: Adjustment) -> ResolvedPosition {
        ResolvedPosition {
            offset: CharOffset(offset),
            adjustment,
        }
    }

    /// Checks that each `(character, char offset)` pair on line 0 of `MIXED` converts both ways.
    fn check_mixed_line_zero(enc: PositionEncoding, boundaries: &[(u32, usize)]) {
        let rope = Rope::from_str(MIXED);
        for &(character, offset) in boundaries {
            assert_eq!(
                resolve_position(&rope, pos(0, character), enc),
                resolved(offset, Exact),
                "{enc} position 0:{character}"
            );
            assert_eq!(
                char_to_position(&rope, CharOffset(offset), enc),
                pos(0, character),
                "{enc} offset {offset}"
            );
        }
    }

    #[test]
    fn utf8_counts_bytes() {
        check_mixed_line_zero(Utf8, &[(0, 0), (1, 1), (3, 2), (6, 3), (10, 4), (11, 5)]);
    }

    #[test]
    fn utf16_counts_code_units() {
        check_mixed_line_zero(Utf16, &[(0, 0), (1, 1), (2, 2), (3, 3), (5, 4), (6, 5)]);
    }

    #[test]
    fn utf32_counts_chars() {
        check_mixed_line_zero(Utf32, &[(0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]);
    }

    #[test]
    fn later_lines_every_encoding() {
        // Lines 1 to 3 of `MIXED` are ASCII, so all encodings agree there.
        let rope = Rope::from_str(MIXED);
        let cases = [
            (pos(1, 0), 7),
            (pos(1, 4), 11),
            (pos(2, 0), 12),
            (pos(2, 3), 15),
            (pos(3, 0), 16),
        ];
        for enc in ALL {
            for (position, offset) in cases {
                assert_eq!(
                    resolve_position(&rope, position, enc),
                    resolved(offset, Exact),
                    "{enc} position {position:?}"
                );
                assert_eq!(
                    char_to_position(&rope, CharOffset(offset), enc),
                    position,
                    "{enc} offset {offset}"
                );
            }
        }
    }

    #[test]
    fn line_breaks_split_lines() {
        // `\n\r` is two breaks, and `\r\r\n` is a lone `\r` followed by a `\r\n`.
        // U+2028 and U+0085 do not break lines.
        let rope = Rope::from_str("a\n\rb\r\r\nc\u{2028}d\u{85}e");
        assert_eq!(rope.len_lines(), 5);

        let lines = [(0, 0, 1), (1, 2, 2), (2, 3, 4), (3, 5, 5), (4, 7, 12)];
        for (line, start, content_end) in lines {
            assert_eq!(
                resolve_position(&rope, pos(line, 0), Utf32),
                resolved(start, Exact),
                "start of line {line}"
            );
            assert_eq!(
                resolve_position(&rope, pos(line, 100), Utf32),
                resolved(content_end, CharacterPastLineEnd),
                "end of line {line}"
            );
        }
    }

    #[test]
    fn line_past_end_clamps() {
        let rope = Rope::from_str("ab\ncd");
        for enc in ALL {
            assert_eq!(
                resolve_position(&rope, pos(2, 0), enc),
                resolved(5, LinePastEnd),
                "{enc}"
            );
            assert_eq!(
                resolve_position(&rope, pos(u32::MAX, u32::MAX), enc),
                resolved(5, LinePastEnd),
                "{enc}"
            );
        }
    }

    #[test]
    fn character_past_crlf_line_end() {
        let rope = Rope::from_str("ab\r\ncd");
        for enc in ALL {
            // Character 3 would fall between `\r` and `\n`, and character 4 after the break.
            for character in [3, 4, u32::MAX] {
                assert_eq!(
                    resolve_position(&rope, pos(0, character), enc),
                    resolved(2, CharacterPastLineEnd),
                    "{enc} character {character}"
                );
            }
            assert_eq!(
                resolve_position(&rope, pos(1, 3), enc),
                resolved(6, CharacterPastLineEnd),
                "{enc} last line"
            );
        }
    }

    #[test]
    fn empty_document_positions() {
        let rope = Rope::new();
        for enc in ALL {
            assert_eq!(
                resolve_position(&rope, pos(0, 0), enc),
                resolved(0, Exact),
                "{enc}"
            );
            assert_eq!(
                resolve_position(&rope, pos(0, 1), enc),
                resolved(0, CharacterPastLineEnd),
                "{enc}"
            );
            assert_eq!(
                resolve_position(&rope, pos(1, 0), enc),
                resolved(0, LinePastEnd),
                "{enc}"
            );
            assert_eq!(char_to_position(&rope, CharOffset(0), enc), pos(0, 0));
            assert_eq!(char_to_position(&rope, CharOffset(3), enc), pos(0, 0));
        }
    }

    #[test]
    fn trailing_newline_adds_line() {
        // Ropey's `len_lines` counts the empty line after a trailing break, and so does LSP.
        let rope = Rope::from_str("ab\n");
        for enc in ALL {
            assert_eq!(
                resolve_position(&rope, pos(1, 0), enc),
                resolved(3, Exact),
                "{enc}"
            );
            assert_eq!(
                resolve_position(&rope, pos(1, 1), enc),
                resolved(3, CharacterPastLineEnd),
                "{enc}"
            );
            assert_eq!(
                resolve_position(&rope, pos(2, 0), enc),
                resolved(3, LinePastEnd),
                "{enc}"
            );
            assert_eq!(char_to_position(&rope, CharOffset(2), enc), pos(0, 2));
            assert_eq!(char_to_position(&rope, CharOffset(3), enc), pos(1, 0));
        }
    }

    #[test]
    fn snap_inside_surrogate_pair() {
        let rope = Rope::from_str("a😀b");
        assert_eq!(
            resolve_position(&rope, pos(0, 2), Utf16),
            resolved(1, InsideCharacter)
        );
        assert_eq!(
            resolve_position(&rope, pos(0, 3), Utf16),
            resolved(2, Exact)
        );
        assert_eq!(position_to_char(&rope, pos(0, 2), Utf16), CharOffset(1));
    }

    #[test]
    fn snap_inside_utf8_sequences() {
        // Bytes: `é` is 0..2, `中` is 2..5 and `😀` is 5..9.
        let rope = Rope::from_str("é中😀");
        for (character, offset) in [(1, 0), (3, 1), (4, 1), (6, 2), (7, 2), (8, 2)] {
            assert_eq!(
                resolve_position(&rope, pos(0, character), Utf8),
                resolved(offset, InsideCharacter),
                "byte {character}"
            );
        }
        for (character, offset) in [(0, 0), (2, 1), (5, 2), (9, 3)] {
            assert_eq!(
                resolve_position(&rope, pos(0, character), Utf8),
                resolved(offset, Exact),
                "byte {character}"
            );
        }
    }

    #[test]
    fn offset_inside_crlf_maps_to_line_end() {
        let rope = Rope::from_str("ab\r\ncd");
        for enc in ALL {
            assert_eq!(char_to_position(&rope, CharOffset(2), enc), pos(0, 2));
            assert_eq!(char_to_position(&rope, CharOffset(3), enc), pos(0, 2));
            assert_eq!(char_to_position(&rope, CharOffset(4), enc), pos(1, 0));
        }
    }

    #[test]
    fn offset_past_end_clamps() {
        let rope = Rope::from_str("a😀\nb");
        for enc in ALL {
            assert_eq!(char_to_position(&rope, CharOffset(4), enc), pos(1, 1));
            assert_eq!(char_to_position(&rope, CharOffset(99), enc), pos(1, 1));
        }
    }

    fn kinds(names: &[&'static str]) -> Vec<PositionEncodingKind> {
        names
            .iter()
            .map(|&name| PositionEncodingKind::new(name))
            .collect()
    }

    fn negotiate_names(names: &[&'static str]) -> PositionEncoding {
        PositionEncoding::negotiate(Some(&kinds(names)))
    }

    #[test]
    fn negotiate_prefers_utf8() {
        assert_eq!(negotiate_names(&["utf-8"]), Utf8);
        assert_eq!(negotiate_names(&["utf-16", "utf-8"]), Utf8);
        assert_eq!(negotiate_names(&["utf-32", "utf-8"]), Utf8);
    }

    #[test]
    fn negotiate_defaults_to_utf16() {
        assert_eq!(PositionEncoding::negotiate(None), Utf16);
        assert_eq!(negotiate_names(&[]), Utf16);
        assert_eq!(negotiate_names(&["latin-1"]), Utf16);
        // Kind names are case-sensitive in LSP.
        assert_eq!(negotiate_names(&["UTF-8"]), Utf16);
        assert_eq!(negotiate_names(&["utf-16"]), Utf16);
    }

    #[test]
    fn negotiate_prefers_utf16_over_utf32() {
        assert_eq!(negotiate_names(&["utf-32", "utf-16"]), Utf16);
        assert_eq!(negotiate_names(&["utf-16", "utf-32"]), Utf16);
    }

    #[test]
    fn negotiate_utf32_without_utf16() {
        assert_eq!(negotiate_names(&["utf-32"]), Utf32);
        assert_eq!(negotiate_names(&["latin-1", "utf-32"]), Utf32);
    }

    #[test]
    fn kind_round_trip_and_display() {
        for enc in ALL {
            assert_eq!(PositionEncoding::from_kind(&enc.to_kind()), Some(enc));
            assert_eq!(enc.to_string(), enc.to_kind().as_str());
        }
        assert_eq!(Utf8.to_string(), "utf-8");
        assert_eq!(Utf16.to_string(), "utf-16");
        assert_eq!(Utf32.to_string(), "utf-32");
        assert_eq!(PositionEncoding::from_kind(&"utf-7".into()), None);
        assert_eq!(PositionEncoding::default(), Utf16);
    }

    #[test]
    fn units_of_each_encoding() {
        for (c, utf8, utf16) in [('a', 1, 1), ('é', 2, 1), ('中', 3, 1), ('😀', 4, 2)] {
            assert_eq!(Utf8.units_of(c), utf8, "{c}");
            assert_eq!(Utf16.units_of(c), utf16, "{c}");
            assert_eq!(Utf32.units_of(c), 1, "{c}");
        }
    }

    #[test]
    fn reversed_range_is_rejected() {
        let rope = Rope::from_str("one\ntwo\nthree\nfour");
        let error = range_to_chars(&rope, LspRange::new(pos(3, 5), pos(3, 1)), Utf16)
            .expect_err("end before start on one line");
        assert_eq!(
            error,
            EncodingError::ReversedRange {
                start: pos(3, 5),
                end: pos(3, 1)
            }
        );
        assert_eq!(
            error.to_string(),
            "invalid range: end 3:1 comes before start 3:5; \
             send a range whose end is at or after its start"
        );

        // An earlier line wins over a later character.
        let earlier_line = LspRange::new(pos(2, 0), pos(1, 9));
        assert!(range_to_chars(&rope, earlier_line, Utf16).is_err());
        // Both ends clamp to the end of the document, but the positions as sent are reversed.
        let past_end = LspRange::new(pos(9, 0), pos(8, 0));
        assert!(range_to_chars(&rope, past_end, Utf16).is_err());
    }

    #[test]
    fn range_to_chars_clamps_ends() {
        let rope = Rope::from_str("ab\r\ncd");
        let cases = [
            (LspRange::new(pos(0, 1), pos(0, 9)), 1..2),
            (LspRange::new(pos(0, 5), pos(7, 0)), 2..6),
            (LspRange::new(pos(1, 1), pos(1, 1)), 5..5),
            (LspRange::new(pos(0, 0), pos(1, 2)), 0..6),
        ];
        for enc in ALL {
            for (range, chars) in cases.clone() {
                assert_eq!(
                    range_to_chars(&rope, range, enc),
                    Ok(CharOffset(chars.start)..CharOffset(chars.end)),
                    "{enc} {range:?}"
                );
            }
        }
    }

    #[test]
    fn chars_to_range_converts_ends() {
        let rope = Rope::from_str(MIXED);
        let chars = CharOffset(3)..CharOffset(8);
        assert_eq!(
            chars_to_range(&rope, chars.clone(), Utf8),
            LspRange::new(pos(0, 6), pos(1, 1))
        );
        assert_eq!(
            chars_to_range(&rope, chars.clone(), Utf16),
            LspRange::new(pos(0, 3), pos(1, 1))
        );
        assert_eq!(
            chars_to_range(&rope, chars, Utf32),
            LspRange::new(pos(0, 3), pos(1, 1))
        );
    }

    #[test]
    fn byte_to_char_snaps_and_clamps() {
        // Bytes: `a` is 0, `中` is 1..4 and `b` is 4.
        let rope = Rope::from_str("a中b");
        for (byte, char) in [(0, 0), (1, 1), (2, 1), (3, 1), (4, 2), (5, 3), (99, 3)] {
            assert_eq!(
                byte_to_char(&rope, ByteOffset(byte)),
                CharOffset(char),
                "byte {byte}"
            );
        }
    }

    #[test]
    fn char_to_byte_clamps() {
        let rope = Rope::from_str("a中b");
        for (char, byte) in [(0, 0), (1, 1), (2, 4), (3, 5), (99, 5)] {
            assert_eq!(
                char_to_byte(&rope, CharOffset(char)),
                ByteOffset(byte),
                "char {char}"
            );
        }
    }

    #[test]
    fn large_document_matches_model() {
        // About 13,000 chars, so the rope has many leaves and `\r\n` pairs may straddle them.
        let block = [
            "x", "😀", "é", "\r", "\n", "中", "\r", "ab", "\n", "\u{2028}",
        ];
        let block: Vec<String> = block.iter().map(|s| s.to_string()).collect();
        let pieces = repeat_block(&block, 1_200);
        let (rope, text) = build_rope(&pieces);
        assert!(rope.len_bytes() > 10_000);
        check_against_model(&rope, &text);
    }

    /// One line of a model that splits text by scanning it, without ropey.
    struct ModelLine {
        start: usize,
        content: Vec<char>,
    }

    fn model_lines(chars: &[char]) -> Vec<ModelLine> {
        let mut lines = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i < chars.len() {
            let break_len = match chars[i] {
                '\r' if chars.get(i + 1) == Some(&'\n') => 2,
                '\n' | '\r' => 1,
                _ => 0,
            };
            if break_len == 0 {
                i += 1;
                continue;
            }
            lines.push(ModelLine {
                start,
                content: chars[start..i].to_vec(),
            });
            i += break_len;
            start = i;
        }
        lines.push(ModelLine {
            start,
            content: chars[start..].to_vec(),
        });
        lines
    }

    /// Resolves a position by walking the line's chars and adding up their code units.
    fn model_resolve(
        lines: &[ModelLine],
        len_chars: usize,
        position: Position,
        enc: PositionEncoding,
    ) -> ResolvedPosition {
        let Some(line) = lines.get(position.line as usize) else {
            return resolved(len_chars, LinePastEnd);
        };
        let mut units = 0;
        for (i, &c) in line.content.iter().enumerate() {
            if units == position.character {
                return resolved(line.start + i, Exact);
            }
            units += enc.units_of(c);
            if units > position.character {
                return resolved(line.start + i, InsideCharacter);
            }
        }
        let content_end = line.start + line.content.len();
        if units == position.character {
            resolved(content_end, Exact)
        } else {
            resolved(content_end, CharacterPastLineEnd)
        }
    }

    /// Lists the expected position of every char offset from 0 to `len_chars`.
    fn model_positions(
        lines: &[ModelLine],
        len_chars: usize,
        enc: PositionEncoding,
    ) -> Vec<Position> {
        let mut positions = Vec::with_capacity(len_chars + 1);
        for (line_idx, line) in lines.iter().enumerate() {
            let line_idx = line_idx as u32;
            let mut units = 0;
            positions.push(pos(line_idx, 0));
            for &c in &line.content {
                units += enc.units_of(c);
                positions.push(pos(line_idx, units));
            }
            // The offset between `\r` and `\n` maps to the content end like the `\r` does.
            let next_start = lines
                .get(line_idx as usize + 1)
                .map_or(len_chars + 1, |next| next.start);
            while positions.len() < next_start {
                positions.push(pos(line_idx, units));
            }
        }
        positions
    }

    /// Counts the code units in a line's content.
    fn line_units(line: &ModelLine, enc: PositionEncoding) -> u32 {
        line.content.iter().map(|&c| enc.units_of(c)).sum()
    }

    /// Lists, in increasing order, each line's positions up to two units past its end and then
    /// two positions on the line past the last.
    fn positions_near_lines(lines: &[ModelLine], enc: PositionEncoding) -> Vec<Position> {
        let mut positions = Vec::new();
        for (line_idx, line) in lines.iter().enumerate() {
            for character in 0..=line_units(line, enc) + 2 {
                positions.push(pos(line_idx as u32, character));
            }
        }
        positions.push(pos(lines.len() as u32, 0));
        positions.push(pos(lines.len() as u32, 1));
        positions
    }

    fn is_inside_crlf(chars: &[char], offset: usize) -> bool {
        offset > 0 && chars[offset - 1] == '\r' && chars.get(offset) == Some(&'\n')
    }

    /// Compares every char offset, and every position up to two units past each line's end and
    /// on the line past the end, with the model.
    fn check_against_model(rope: &Rope, text: &str) {
        let chars: Vec<char> = text.chars().collect();
        let lines = model_lines(&chars);
        assert_eq!(rope.len_lines(), lines.len());

        for enc in ALL {
            let expected = model_positions(&lines, chars.len(), enc);
            for (offset, &position) in expected.iter().enumerate() {
                assert_eq!(
                    char_to_position(rope, CharOffset(offset), enc),
                    position,
                    "{enc} offset {offset}"
                );
            }

            for position in positions_near_lines(&lines, enc) {
                assert_eq!(
                    resolve_position(rope, position, enc),
                    model_resolve(&lines, chars.len(), position, enc),
                    "{enc} position {position:?}"
                );
            }
        }
    }

    fn scalar(value: u32) -> String {
        char::from_u32(value)
            .expect("strategy ranges exclude surrogates")
            .to_string()
    }

    /// Generates one char of 1 to 4 UTF-8 bytes, or a line break.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => (0x20u32..0x7f).prop_map(scalar),
            2 => (0x80u32..0x800).prop_map(scalar),
            1 => (0x800u32..0xd800).prop_map(scalar),
            1 => (0xe000u32..0x1_0000).prop_map(scalar),
            2 => (0x1_0000u32..0x11_0000).prop_map(scalar),
            1 => Just("\n".to_owned()),
            1 => Just("\r\n".to_owned()),
            1 => Just("\r".to_owned()),
        ]
    }

    /// Generates the pieces of a short text, or a block of up to 15 pieces repeated up to 99
    /// times, which gives texts of up to a few thousand bytes that can span several leaves.
    fn pieces() -> impl Strategy<Value = Vec<String>> {
        prop_oneof![
            3 => vec(piece(), 0..64),
            1 => (vec(piece(), 1..16), 1usize..100)
                .prop_map(|(block, count)| repeat_block(&block, count)),
        ]
    }

    fn repeat_block(block: &[String], count: usize) -> Vec<String> {
        block
            .iter()
            .cycle()
            .take(block.len() * count)
            .cloned()
            .collect()
    }

    /// Builds a rope by appending one piece at a time, as edits do, so the `\r` and `\n` of
    /// a pair may arrive in separate inserts.
    fn build_rope(pieces: &[String]) -> (Rope, String) {
        let mut rope = Rope::new();
        for piece in pieces {
            rope.insert(rope.len_chars(), piece);
        }
        (rope, pieces.concat())
    }

    proptest! {
        #[test]
        fn offsets_round_trip(pieces in pieces()) {
            let (rope, text) = build_rope(&pieces);
            let chars: Vec<char> = text.chars().collect();
            for enc in ALL {
                for offset in 0..=chars.len() {
                    if is_inside_crlf(&chars, offset) {
                        continue;
                    }
                    let position = char_to_position(&rope, CharOffset(offset), enc);
                    prop_assert_eq!(
                        resolve_position(&rope, position, enc),
                        resolved(offset, Exact),
                        "{} offset {}", enc, offset
                    );
                }
            }
        }

        #[test]
        fn positions_are_monotonic(pieces in pieces()) {
            let (rope, _) = build_rope(&pieces);
            for enc in ALL {
                let mut previous = char_to_position(&rope, CharOffset(0), enc);
                for offset in 1..=rope.len_chars() {
                    let position = char_to_position(&rope, CharOffset(offset), enc);
                    prop_assert!(
                        previous <= position,
                        "{} offset {}: {:?} after {:?}", enc, offset, position, previous
                    );
                    previous = position;
                }
            }
        }

        #[test]
        fn exact_iff_round_trip(pieces in pieces()) {
            let (rope, text) = build_rope(&pieces);
            let chars: Vec<char> = text.chars().collect();
            let lines = model_lines(&chars);
            for enc in ALL {
                for position in positions_near_lines(&lines, enc) {
                    let ResolvedPosition { offset, adjustment } =
                        resolve_position(&rope, position, enc);
                    prop_assert!(offset.0 <= chars.len(), "{} {:?}", enc, position);
                    prop_assert!(!is_inside_crlf(&chars, offset.0), "{} {:?}", enc, position);
                    let round_trips = char_to_position(&rope, offset, enc) == position;
                    prop_assert_eq!(
                        adjustment == Exact,
                        round_trips,
                        "{} {:?} gave {:?}", enc, position, adjustment
                    );
                }
            }
        }

        #[test]
        fn resolution_keeps_position_order(pieces in pieces()) {
            let (rope, text) = build_rope(&pieces);
            let chars: Vec<char> = text.chars().collect();
            let lines = model_lines(&chars);
            for enc in ALL {
                let mut previous = CharOffset(0);
                for position in positions_near_lines(&lines, enc) {
                    let offset = position_to_char(&rope, position, enc);
                    prop_assert!(
                        previous <= offset,
                        "{} {:?} gave {} after {}", enc, position, offset, previous
                    );
                    previous = offset;
                }
            }
        }

        #[test]
        fn matches_line_model(pieces in pieces()) {
            let (rope, text) = build_rope(&pieces);
            check_against_model(&rope, &text);
        }

        #[test]
        fn bytes_and_chars_round_trip(pieces in pieces()) {
            let (rope, text) = build_rope(&pieces);
            let char_count = text.chars().count();
            for offset in 0..=char_count {
                let byte = char_to_byte(&rope, CharOffset(offset));
                prop_assert!(text.is_char_boundary(byte.0), "char {}", offset);
                prop_assert_eq!(byte_to_char(&rope, byte), CharOffset(offset));
            }
            for byte in 0..=text.len() {
                // The char that contains `byte` starts at the nearest boundary at or before it.
                let boundary = (0..=byte).rev().find(|&b| text.is_char_boundary(b)).unwrap_or(0);
                let expected = CharOffset(text[..boundary].chars().count());
                prop_assert_eq!(byte_to_char(&rope, ByteOffset(byte)), expected, "byte {}", byte);
            }
        }
    }
}
