//! Replacement templates: parsing `$name` and `$$`, finding the position of
//! each variable in the Rust syntax of the template (so a capture can be
//! parenthesised when that position needs it), and re-indenting multi-line
//! captures. Rendering a match with a template lives in `matcher`.

use std::fmt;

use tree_sitter::Node;

use super::precedence::{node_precedence, required_precedence, Precedence};
use crate::syntax::Language;

/// A parsed `replace` template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    source: String,
    segments: Vec<Segment>,
    whole: Whole,
}

/// A piece of a template: literal text, or a variable to fill in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Text(String),
    Variable(Variable),
}

/// One `$name` in a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variable {
    /// The capture name, without `$` or `@`.
    pub name: String,
    /// 1-based line and column of the `$` in the template, for messages.
    pub line: usize,
    pub column: usize,
    /// The precedence the inserted capture needs at this position.
    pub required: Required,
    /// The leading whitespace of the template line the variable is on, or
    /// `None` on the template's first line, which continues the document
    /// line where the match starts.
    pub line_indent: Option<String>,
}

/// The precedence a variable's position requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Required {
    /// The position inside the template needs at least this precedence.
    At(Precedence),
    /// The variable is the whole template, so it takes the match's place
    /// and needs what that position in the document needs.
    Match,
}

/// The shape of the whole template, for parenthesising the rendered text
/// when it replaces an expression that bound tighter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whole {
    /// One expression with this precedence.
    Expression(Precedence),
    /// A lone variable (see `Required::Match`).
    Variable,
    /// Statements, several expressions, something that is not Rust
    /// expression syntax, or nothing: never parenthesised.
    Other,
}

/// An invalid template, with the 1-based position of the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {}, column {} of `replace`",
            self.message, self.line, self.column
        )
    }
}

/// Returns the placeholder identifier for variable `index` while the
/// template is parsed as Rust.
fn stand_in(index: usize) -> String {
    format!("__concur_variable_{index}")
}

const WRAPPER_START: &str = "fn __concur_template() {\n";
const WRAPPER_END: &str = "\n}\n";

impl Template {
    /// Parses `source`: `$name` (an identifier: ASCII letters, digits and
    /// `_`, not starting with a digit) inserts capture `name`, and `$$` is a
    /// literal `$`.
    ///
    /// # Errors
    /// A `$` followed by anything else, with its position.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut segments = Vec::new();
        let mut text = String::new();
        let mut rest = source;
        let mut line = 1;
        let mut line_start = 0;
        while let Some(dollar) = rest.find('$') {
            let offset = source.len() - rest.len() + dollar;
            for (index, byte) in rest[..dollar].bytes().enumerate() {
                if byte == b'\n' {
                    line += 1;
                    line_start = source.len() - rest.len() + index + 1;
                }
            }
            text.push_str(&rest[..dollar]);
            let after = &rest[dollar + 1..];
            let column = source[line_start..offset].chars().count() + 1;
            if let Some(tail) = after.strip_prefix('$') {
                text.push('$');
                rest = tail;
                continue;
            }
            let name_len = identifier_len(after);
            if name_len == 0 {
                let found = after.chars().next().map_or_else(
                    || "the end of the template".to_owned(),
                    |c| format!("{c:?}"),
                );
                return Err(TemplateError {
                    line,
                    column,
                    message: format!(
                        "`$` must be followed by a capture name or another `$`, found {found}; \
                         write `$$` for a literal dollar sign"
                    ),
                });
            }
            if !text.is_empty() {
                segments.push(Segment::Text(std::mem::take(&mut text)));
            }
            let line_text = &source[line_start..];
            let line_indent = (line > 1).then(|| leading_whitespace(line_text).to_owned());
            segments.push(Segment::Variable(Variable {
                name: after[..name_len].to_owned(),
                line,
                column,
                required: Required::At(Precedence::Lowest),
                line_indent,
            }));
            rest = &after[name_len..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            segments.push(Segment::Text(text));
        }
        let mut template = Template {
            source: source.to_owned(),
            segments,
            whole: Whole::Other,
        };
        template.analyse();
        Ok(template)
    }

    /// Returns the template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    pub fn whole(&self) -> Whole {
        self.whole
    }

    /// Returns the variables in order of appearance.
    pub fn variables(&self) -> impl Iterator<Item = &Variable> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Variable(variable) => Some(variable),
            Segment::Text(_) => None,
        })
    }

    /// Parses the template as the body of a Rust function, with each
    /// variable replaced by a stand-in identifier, and records the
    /// precedence each variable's position requires. A variable right after
    /// `name!` is a macro's token tree, so its stand-in is put in
    /// parentheses. Variables inside ERROR nodes keep `Lowest` and are never
    /// wrapped.
    fn analyse(&mut self) {
        let mut wrapped = String::from(WRAPPER_START);
        let mut stand_ins = Vec::new();
        for (index, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Text(text) => wrapped.push_str(text),
                Segment::Variable(_) => {
                    let after_macro_bang = wrapped
                        .strip_suffix('!')
                        .and_then(|before| before.chars().next_back())
                        .is_some_and(|c| c.is_alphanumeric() || c == '_');
                    let name = stand_in(index);
                    if after_macro_bang {
                        wrapped.push('(');
                    }
                    stand_ins.push((index, wrapped.len()..wrapped.len() + name.len()));
                    wrapped.push_str(&name);
                    if after_macro_bang {
                        wrapped.push(')');
                    }
                }
            }
        }
        let body = WRAPPER_START.len()..wrapped.len();
        wrapped.push_str(WRAPPER_END);

        let Ok(tree) = Language::Rust.parse_str(&wrapped) else {
            return;
        };
        let whole_node = whole_expression(tree.root_node(), &wrapped, body);
        self.whole = match whole_node {
            Some(node)
                if stand_ins
                    .iter()
                    .any(|(_, range)| node.byte_range() == *range) =>
            {
                Whole::Variable
            }
            Some(node) => Whole::Expression(node_precedence(node)),
            None => Whole::Other,
        };
        for (index, range) in stand_ins {
            let Some(node) = tree
                .root_node()
                .named_descendant_for_byte_range(range.start, range.end)
            else {
                continue;
            };
            if node.byte_range() != range || inside_error(node) {
                continue;
            }
            let required = if Some(node) == whole_node {
                Required::Match
            } else {
                Required::At(required_precedence(node))
            };
            if let Segment::Variable(variable) = &mut self.segments[index] {
                variable.required = required;
            }
        }
    }
}

/// Finds the one expression that makes up the whole template body, if it is
/// one.
fn whole_expression<'tree>(
    root: Node<'tree>,
    wrapped: &str,
    body: std::ops::Range<usize>,
) -> Option<Node<'tree>> {
    let function = root.named_child(0)?;
    let block = function.child_by_field_name("body")?;
    let mut cursor = block.walk();
    let mut children = block
        .named_children(&mut cursor)
        .filter(|child| !child.kind().ends_with("comment"));
    let mut node = children.next()?;
    if children.next().is_some() || node.has_error() {
        return None;
    }
    if node.kind() == "expression_statement" {
        let last = node.child_count().checked_sub(1)?;
        if node.child(last as u32)?.kind() == ";" {
            return None;
        }
        node = node.named_child(0)?;
    }
    let kind = node.kind();
    let statement = kind.ends_with("_item")
        || kind.ends_with("_statement")
        || kind.ends_with("_declaration")
        || kind == "macro_definition";
    let text = &wrapped[body.clone()];
    let trimmed_start = body.start + (text.len() - text.trim_start().len());
    let trimmed_end = body.start + text.trim_end().len();
    (!statement && node.byte_range() == (trimmed_start..trimmed_end)).then_some(node)
}

fn inside_error(node: Node<'_>) -> bool {
    let mut current = Some(node);
    while let Some(node) = current {
        if node.is_error() || node.is_missing() {
            return true;
        }
        current = node.parent();
    }
    false
}

/// Returns the byte length of the identifier at the start of `text`, 0 if
/// none.
fn identifier_len(text: &str) -> usize {
    let mut len = 0;
    for (index, c) in text.char_indices() {
        let valid = c == '_' || c.is_ascii_alphabetic() || (index > 0 && c.is_ascii_digit());
        if !valid {
            break;
        }
        len = index + c.len_utf8();
    }
    len
}

/// Returns the spaces and tabs at the start of `line`.
pub fn leading_whitespace(line: &str) -> &str {
    let end = line
        .find(|c: char| c != ' ' && c != '\t')
        .unwrap_or(line.len());
    &line[..end]
}

/// Columns of one tab, and of one indentation level of a template, when a
/// template's indentation is converted between tabs and spaces: rustfmt's
/// default `tab_spaces`.
const TAB_WIDTH: usize = 4;

/// The character a document indents with. Template text re-indented into
/// the document uses it, so a tab-indented file gets tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndentStyle {
    Tabs,
    Spaces,
}

impl IndentStyle {
    /// Returns the style of an indentation: `Tabs` when it contains a tab,
    /// `Spaces` when it is only spaces, and `None` when it is empty.
    pub fn of(indent: &str) -> Option<IndentStyle> {
        if indent.contains('\t') {
            Some(IndentStyle::Tabs)
        } else if indent.is_empty() {
            None
        } else {
            Some(IndentStyle::Spaces)
        }
    }

    /// Rewrites the spaces and tabs `indent` in this style, keeping its
    /// width with tab stops every `TAB_WIDTH` columns. `Tabs` gives a tab
    /// per full `TAB_WIDTH` columns and spaces for the rest (alignment),
    /// and `Spaces` gives only spaces.
    pub fn convert(self, indent: &str) -> String {
        let mut columns = 0;
        for c in indent.chars() {
            if c == '\t' {
                columns += TAB_WIDTH - columns % TAB_WIDTH;
            } else {
                columns += 1;
            }
        }
        match self {
            IndentStyle::Tabs => {
                let mut out = "\t".repeat(columns / TAB_WIDTH);
                out.push_str(&" ".repeat(columns % TAB_WIDTH));
                out
            }
            IndentStyle::Spaces => " ".repeat(columns),
        }
    }
}

/// Re-indents the continuation lines of `text` (every line after the first)
/// from `from` to `to`: a line that starts with `from` gets `to` in its
/// place. Lines that start less indented than `from`, blank lines, and lines
/// whose start offset (in `text`) is in `verbatim` (inside a multi-line
/// string or comment, where whitespace is content) are kept as they are.
pub fn reindent(text: &str, from: &str, to: &str, verbatim: &[std::ops::Range<usize>]) -> String {
    if from == to || !text.contains('\n') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let line_start = offset;
        offset += line.len();
        let keep = index == 0
            || line.trim().is_empty()
            || verbatim
                .iter()
                .any(|range| range.start < line_start && line_start < range.end);
        match line.strip_prefix(from) {
            Some(rest) if !keep => {
                out.push_str(to);
                out.push_str(rest);
            }
            _ => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Precedence::*;

    fn requirements(source: &str) -> Vec<(String, Required)> {
        Template::parse(source)
            .unwrap()
            .variables()
            .map(|variable| (variable.name.clone(), variable.required))
            .collect()
    }

    #[test]
    fn dollars_and_names_parsed() {
        let template = Template::parse("a$$b $x_1.c($y)").unwrap();
        let names: Vec<_> = template.variables().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["x_1", "y"]);
        assert_eq!(
            template.segments()[0],
            Segment::Text("a$b ".to_owned()),
            "`$$` is a literal dollar"
        );
    }

    #[test]
    fn stray_dollar_rejected_with_position() {
        let err = Template::parse("ok\n  $1").unwrap_err();
        assert_eq!((err.line, err.column), (2, 3));
        assert!(err.to_string().contains("'1'"), "{err}");
        let err = Template::parse("x$").unwrap_err();
        assert!(err.message.contains("end of the template"), "{err}");
    }

    #[test]
    fn positions_get_their_precedence() {
        assert_eq!(
            requirements("!$x"),
            [("x".to_owned(), Required::At(Prefix))]
        );
        assert_eq!(
            requirements("$e?"),
            [("e".to_owned(), Required::At(Postfix))]
        );
        assert_eq!(
            requirements("$e.is_empty()"),
            [("e".to_owned(), Required::At(Postfix))]
        );
        assert_eq!(
            requirements("$a + $b"),
            [
                ("a".to_owned(), Required::At(Add)),
                ("b".to_owned(), Required::At(Mul))
            ]
        );
        assert_eq!(requirements("$e"), [("e".to_owned(), Required::Match)]);
        assert_eq!(
            requirements("f($e)"),
            [("e".to_owned(), Required::At(Lowest))]
        );
    }

    #[test]
    fn macro_token_tree_variable() {
        let template = Template::parse("$e.unwrap_or_else(|| panic!$args)").unwrap();
        let required: Vec<_> = template.variables().map(|v| v.required).collect();
        assert_eq!(required, [Required::At(Postfix), Required::At(Lowest)]);
        assert_eq!(template.whole(), Whole::Expression(Postfix));
    }

    #[test]
    fn whole_template_kinds() {
        assert_eq!(
            Template::parse("!$x").unwrap().whole(),
            Whole::Expression(Prefix)
        );
        assert_eq!(Template::parse(" $x ").unwrap().whole(), Whole::Variable);
        assert_eq!(
            Template::parse("let a = $x;").unwrap().whole(),
            Whole::Other
        );
        assert_eq!(Template::parse("").unwrap().whole(), Whole::Other);
        assert_eq!(Template::parse("..=").unwrap().whole(), Whole::Other);
    }

    #[test]
    fn line_indent_recorded() {
        let template = Template::parse("match $x {\n    _ => $y,\n}").unwrap();
        let indents: Vec<_> = template
            .variables()
            .map(|v| v.line_indent.clone())
            .collect();
        assert_eq!(indents, [None, Some("    ".to_owned())]);
    }

    #[test]
    fn indent_style_detected_and_converted() {
        assert_eq!(IndentStyle::of("\t  "), Some(IndentStyle::Tabs));
        assert_eq!(IndentStyle::of("    "), Some(IndentStyle::Spaces));
        assert_eq!(IndentStyle::of(""), None);
        assert_eq!(IndentStyle::Tabs.convert("    "), "\t");
        assert_eq!(IndentStyle::Tabs.convert("          "), "\t\t  ");
        assert_eq!(IndentStyle::Tabs.convert("\t    "), "\t\t");
        assert_eq!(
            IndentStyle::Tabs.convert("  \t"),
            "\t",
            "a tab after spaces"
        );
        assert_eq!(IndentStyle::Spaces.convert("\t  "), "      ");
        assert_eq!(IndentStyle::Spaces.convert("  "), "  ");
    }

    #[test]
    fn reindent_moves_continuation_lines() {
        let text = "foo(\n        a,\n\n    )";
        assert_eq!(reindent(text, "    ", "", &[]), "foo(\n    a,\n\n)");
        assert_eq!(reindent(text, "    ", "  ", &[]), "foo(\n      a,\n\n  )");
        let string_literal: std::ops::Range<usize> = 4..20;
        assert_eq!(reindent(text, "    ", "", &[string_literal]), text);
    }
}
