//! Unified diffs of changed files for `--diff`, coloured when the output is
//! a terminal, and the choice of colours from `--color` and `NO_COLOR`.

use std::ffi::OsStr;
use std::fmt::Write;

use similar::{ChangeTag, TextDiff};

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
/// file at `path`, or an empty string when they are equal.
pub fn unified(path: &str, old: &str, new: &str, palette: Palette) -> String {
    if old == new {
        return String::new();
    }
    let diff = TextDiff::from_lines(old, new);
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
    for group in diff.grouped_ops(3) {
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
            for change in diff.iter_changes(op) {
                let (sign, colour) = match change.tag() {
                    ChangeTag::Delete => ('-', removed),
                    ChangeTag::Insert => ('+', added),
                    ChangeTag::Equal => (' ', ""),
                };
                let text = change.value();
                let line_reset = if colour.is_empty() { "" } else { reset };
                let _ = write!(
                    out,
                    "{colour}{sign}{}{line_reset}",
                    // Keep a `\r` of CRLF lines so that `patch` applies the diff.
                    text.strip_suffix('\n').unwrap_or(text)
                );
                out.push('\n');
                if change.missing_newline() {
                    out.push_str("\\ No newline at end of file\n");
                }
            }
        }
    }
    out
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
