//! Unified diffs of changed files for `--diff`, coloured when the output is
//! a terminal, and the choice of colours from `--color` and `NO_COLOR`.

use std::ffi::OsStr;
use std::fmt::Write;
use std::ops::Range;

use similar::{capture_diff_slices, group_diff_ops, Algorithm, DiffOp, DiffTag};

use crate::text::ChangeSet;

/// ANSI colours for a terminal; empty strings otherwise.
#[derive(Clone, Copy, Debug)]
pub struct Palette {
    pub added: &'static str,
    pub removed: &'static str,
    pub hunk: &'static str,
    pub header: &'static str,
    pub reset: &'static str,
}

impl Palette {
    pub const PLAIN: Palette = Palette {
        added: "",
        removed: "",
        hunk: "",
        header: "",
        reset: "",
    };
    pub const ANSI: Palette = Palette {
        added: "\x1b[32m",
        removed: "\x1b[31m",
        hunk: "\x1b[36m",
        header: "\x1b[1m",
        reset: "\x1b[0m",
    };
}

/// When `--diff` output is coloured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal unless `NO_COLOR` is set to a non-empty value.
    #[default]
    Auto,
    /// Colour even into a pipe or file, and even when `NO_COLOR` is set.
    Always,
    /// Never colour.
    Never,
}

impl Palette {
    /// Chooses the palette for `choice`. `terminal` is true when the output
    /// is a terminal, and `no_color` is the value of the `NO_COLOR`
    /// environment variable. Any non-empty value turns colour off in `Auto`
    /// (<https://no-color.org>), and an explicit flag overrides it.
    pub fn choose(choice: ColorChoice, terminal: bool, no_color: Option<&OsStr>) -> Palette {
        let colour = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && no_color.is_none_or(OsStr::is_empty),
        };
        if colour {
            Palette::ANSI
        } else {
            Palette::PLAIN
        }
    }
}

/// Renders a unified diff (3 lines of context) of `old` to `new` for the
/// file at `path`, or an empty string when they are equal. Diffs the whole
/// files, which costs O((N + M) D) for N and M lines and D changed lines;
/// see `unified_for_change` when the change is known.
pub fn unified(path: &str, old: &str, new: &str, palette: Palette) -> String {
    if old == new {
        return String::new();
    }
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
    let whole = [(0..old_lines.len(), 0..new_lines.len())];
    render(path, &old_lines, &new_lines, &whole, palette)
}

/// Renders the same unified diff as `unified` for `change`, the change
/// from `old` to `new`, diffing only the lines each replacement touches.
/// A 5 MB file with 85,000 replacements took over a minute with `unified`,
/// because Myers' algorithm costs O((N + M) D) over the whole file. Where
/// equal lines repeat, a hunk may pair lines differently from a whole-file
/// diff, but it is still a correct diff.
pub fn unified_for_change(
    path: &str,
    old: &str,
    new: &str,
    change: &ChangeSet,
    palette: Palette,
) -> String {
    if old == new {
        return String::new();
    }
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
    match changed_regions(old, &old_lines, &new_lines, change) {
        Some(regions) => render(path, &old_lines, &new_lines, &regions, palette),
        None => {
            tracing::debug!(path, "change does not match the texts; diffing whole files");
            unified(path, old, new, palette)
        }
    }
}

/// Line ranges of `old` and of the new text that hold every replacement of `change`,
/// merged where they touch, with equal lines between them. Returns `None`
/// when `change` does not fit the two texts line by line.
fn changed_regions(
    old: &str,
    old_lines: &[&str],
    new_lines: &[&str],
    change: &ChangeSet,
) -> Option<Vec<LineRegion>> {
    let old_starts = line_starts(old_lines);
    let new_starts = line_starts(new_lines);

    // Replacements come in position order, so one forward walk over the
    // chars converts their offsets to bytes.
    let mut chars = old.char_indices().map(|(byte, _)| byte).enumerate();
    let mut last: Option<(usize, usize)> = None;
    let mut byte_of_char = |char_offset: usize| -> Option<usize> {
        if char_offset == change.len() {
            return Some(old.len());
        }
        if let Some((_, byte)) = last.filter(|(index, _)| *index == char_offset) {
            return Some(byte);
        }
        last = chars.find(|(index, _)| *index == char_offset);
        last.map(|(_, byte)| byte)
    };

    let mut regions: Vec<LineRegion> = Vec::new();
    // Bytes added to positions of `old` by the replacements so far.
    let mut shift: isize = 0;
    for replacement in change.replacements() {
        let start = byte_of_char(replacement.range.start.0)?;
        let end = if replacement.range.end == replacement.range.start {
            start
        } else {
            byte_of_char(replacement.range.end.0)?
        };
        let new_start = start.checked_add_signed(shift)?;
        let new_end = new_start + replacement.text.len();
        shift += replacement.text.len() as isize - (end - start) as isize;

        let old_range =
            line_of(&old_starts, start)..(line_of(&old_starts, end) + 1).min(old_lines.len());
        let new_range = line_of(&new_starts, new_start)
            ..(line_of(&new_starts, new_end) + 1).min(new_lines.len());
        match regions.last_mut() {
            Some((last_old, last_new)) if last_old.end >= old_range.start => {
                last_old.end = last_old.end.max(old_range.end);
                last_new.end = last_new.end.max(new_range.end);
            }
            _ => regions.push((old_range, new_range)),
        }
    }

    // Between regions, and around them, the lines must pair one to one.
    let mut at = (0, 0);
    for (old_range, new_range) in &regions {
        let gap_old = old_range.start.checked_sub(at.0)?;
        let gap_new = new_range.start.checked_sub(at.1)?;
        if gap_old != gap_new || old_range.end < old_range.start || new_range.end < new_range.start
        {
            return None;
        }
        at = (old_range.end, new_range.end);
    }
    (old_lines.len() - at.0.min(old_lines.len()) == new_lines.len() - at.1.min(new_lines.len()))
        .then_some(regions)
}

/// Lines `.0` of the old text that became lines `.1` of the new one.
type LineRegion = (Range<usize>, Range<usize>);

/// Returns the byte offset where each line starts.
fn line_starts(lines: &[&str]) -> Vec<usize> {
    let mut starts = Vec::with_capacity(lines.len());
    let mut at = 0;
    for line in lines {
        starts.push(at);
        at += line.len();
    }
    starts
}

/// Returns the index of the line holding byte `offset` (the last line for
/// the end of the text).
fn line_of(starts: &[usize], offset: usize) -> usize {
    starts
        .partition_point(|&start| start <= offset)
        .saturating_sub(1)
}

/// Writes the diff of `regions`, each diffed on its own with Myers'
/// algorithm; the lines outside them are equal.
fn render(
    path: &str,
    old_lines: &[&str],
    new_lines: &[&str],
    regions: &[LineRegion],
    palette: Palette,
) -> String {
    let mut ops: Vec<DiffOp> = Vec::new();
    let mut at = (0, 0);
    for (old_range, new_range) in regions {
        if old_range.start > at.0 {
            ops.push(DiffOp::Equal {
                old_index: at.0,
                new_index: at.1,
                len: old_range.start - at.0,
            });
        }
        let region_ops = capture_diff_slices(
            Algorithm::Myers,
            &old_lines[old_range.clone()],
            &new_lines[new_range.clone()],
        );
        ops.extend(
            region_ops
                .into_iter()
                .map(|op| shift_op(op, old_range.start, new_range.start)),
        );
        at = (old_range.end, new_range.end);
    }
    if old_lines.len() > at.0 {
        ops.push(DiffOp::Equal {
            old_index: at.0,
            new_index: at.1,
            len: old_lines.len() - at.0,
        });
    }

    let mut out = String::new();
    let Palette {
        added,
        removed,
        hunk,
        header,
        reset,
    } = palette;
    let path = path.trim_start_matches('/');
    let _ = writeln!(out, "{header}--- a/{path}{reset}");
    let _ = writeln!(out, "{header}+++ b/{path}{reset}");
    for group in group_diff_ops(ops, 3) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let _ = writeln!(
            out,
            "{hunk}@@ -{} +{} @@{reset}",
            hunk_range(old_range),
            hunk_range(new_range)
        );
        for op in &group {
            let (tag, old_range, new_range) = op.as_tag_tuple();
            let (deleted, inserted, equal) = match tag {
                DiffTag::Equal => (0..0, 0..0, old_range),
                DiffTag::Delete => (old_range, 0..0, 0..0),
                DiffTag::Insert => (0..0, new_range, 0..0),
                DiffTag::Replace => (old_range, new_range, 0..0),
            };
            let lines = old_lines[equal]
                .iter()
                .map(|line| (' ', "", *line))
                .chain(old_lines[deleted].iter().map(|line| ('-', removed, *line)))
                .chain(new_lines[inserted].iter().map(|line| ('+', added, *line)));
            for (sign, colour, text) in lines {
                let line_reset = if colour.is_empty() { "" } else { reset };
                let _ = write!(
                    out,
                    "{colour}{sign}{}{line_reset}",
                    // Keep a `\r` of CRLF lines so that `patch` applies the diff.
                    text.strip_suffix('\n').unwrap_or(text)
                );
                out.push('\n');
                if !text.ends_with('\n') {
                    out.push_str("\\ No newline at end of file\n");
                }
            }
        }
    }
    out
}

/// Moves `op` from a region's line numbers to the file's.
fn shift_op(op: DiffOp, old_by: usize, new_by: usize) -> DiffOp {
    match op {
        DiffOp::Equal {
            old_index,
            new_index,
            len,
        } => DiffOp::Equal {
            old_index: old_index + old_by,
            new_index: new_index + new_by,
            len,
        },
        DiffOp::Delete {
            old_index,
            old_len,
            new_index,
        } => DiffOp::Delete {
            old_index: old_index + old_by,
            old_len,
            new_index: new_index + new_by,
        },
        DiffOp::Insert {
            old_index,
            new_index,
            new_len,
        } => DiffOp::Insert {
            old_index: old_index + old_by,
            new_index: new_index + new_by,
            new_len,
        },
        DiffOp::Replace {
            old_index,
            old_len,
            new_index,
            new_len,
        } => DiffOp::Replace {
            old_index: old_index + old_by,
            old_len,
            new_index: new_index + new_by,
            new_len,
        },
    }
}

/// Formats a 0-based line range as unified diff's 1-based `start,count`.
fn hunk_range(range: std::ops::Range<usize>) -> String {
    let count = range.end - range.start;
    let start = if count == 0 {
        range.start
    } else {
        range.start + 1
    };
    if count == 1 {
        start.to_string()
    } else {
        format!("{start},{count}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_has_headers_and_hunks() {
        let old = "fn main() {\n    let x = try!(foo());\n}\n";
        let new = "fn main() {\n    let x = foo()?;\n}\n";
        let diff = unified("src/main.rs", old, new, Palette::PLAIN);
        assert_eq!(
            diff,
            "--- a/src/main.rs\n+++ b/src/main.rs\n@@ -1,3 +1,3 @@\n fn main() {\n-    let x = try!(foo());\n+    let x = foo()?;\n }\n"
        );
    }

    /// Chars `.0` up to `.1` of the old text, replaced by `.2`.
    type Replacement = (usize, usize, &'static str);

    /// Checks that diffing only the changed lines gives the whole-file
    /// diff for each `(old, replacements)` case, replacements in chars.
    #[test]
    fn change_regions_match_whole_diff() {
        let cases: &[(&str, &[Replacement])] = &[
            ("a\nb\nc\n", &[(2, 3, "B")]),
            ("a\nb\nc\n", &[(0, 0, "new\n")]),
            ("a\nb\nc\n", &[(6, 6, "d\n")]),
            ("a\nb\nc", &[(4, 5, "C\n")]),
            ("a\nb\nc\n", &[(2, 4, "")]),
            (
                "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n",
                &[(0, 1, "A"), (18, 19, "J")],
            ),
            ("a\nb\nc\nd\n", &[(0, 1, "A"), (1, 2, " "), (2, 3, "B")]),
            ("é\r\nü\r\nx\r\n", &[(3, 4, "u"), (6, 7, "y\r\nz")]),
            ("", &[(0, 0, "one\n")]),
            ("gone\n", &[(0, 5, "")]),
        ];
        for (old, replacements) in cases {
            let change = ChangeSet::from_replacements(
                old.chars().count(),
                replacements.iter().map(|(start, end, text)| {
                    (
                        crate::text::CharOffset(*start)..crate::text::CharOffset(*end),
                        *text,
                    )
                }),
            )
            .unwrap();
            let new = change.apply_to_str(old).unwrap();
            assert_eq!(
                unified_for_change("a.rs", old, &new, &change, Palette::PLAIN),
                unified("a.rs", old, &new, Palette::PLAIN),
                "{old:?} -> {new:?}"
            );
        }
    }

    #[test]
    fn mismatched_change_falls_back() {
        let change = ChangeSet::new(3);
        let diff = unified_for_change("a.rs", "a\nb", "c\n", &change, Palette::PLAIN);
        assert_eq!(diff, unified("a.rs", "a\nb", "c\n", Palette::PLAIN));
    }

    #[test]
    fn equal_texts_give_no_diff() {
        assert_eq!(unified("a.rs", "x\n", "x\n", Palette::PLAIN), "");
    }

    #[test]
    fn missing_newline_marked() {
        let diff = unified("a.rs", "a", "b", Palette::PLAIN);
        assert!(
            diff.contains("-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n"),
            "{diff}"
        );
    }

    #[test]
    fn palette_follows_flag_terminal_and_no_color() {
        let set = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        let cases = [
            (ColorChoice::Auto, true, None, true),
            (ColorChoice::Auto, true, empty, true),
            (ColorChoice::Auto, true, set, false),
            (ColorChoice::Auto, false, None, false),
            (ColorChoice::Always, false, set, true),
            (ColorChoice::Never, true, None, false),
        ];
        for (choice, terminal, no_color, coloured) in cases {
            let palette = Palette::choose(choice, terminal, no_color);
            assert_eq!(
                palette.reset == Palette::ANSI.reset,
                coloured,
                "{choice:?}, terminal {terminal}, NO_COLOR {no_color:?}"
            );
        }
    }

    #[test]
    fn colours_only_with_ansi_palette() {
        let diff = unified("a.rs", "a\n", "b\n", Palette::ANSI);
        assert!(diff.contains("\x1b[31m-a\x1b[0m"), "{diff:?}");
        assert!(diff.contains("\x1b[32m+b\x1b[0m"), "{diff:?}");
    }
}
