//! Parsing and validating rules files: TOML to `Rule`s, with every error
//! naming the file, the rule and the position. A file loads whole or not at
//! all.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use tree_sitter::{CaptureQuantifier, Query, QueryError, QueryErrorKind};

use super::template::{Template, TemplateError};
use super::{Case, Location, QueryField, Rule, RuleError, RuleRef, RuleSet, RuleSource};
use crate::syntax::Language;

/// The capture that marks the replaced node.
pub(crate) const MATCH_CAPTURE: &str = "match";
/// The capture of `within` and `not_within` queries.
pub(crate) const SCOPE_CAPTURE: &str = "scope";

/// A parsed file: its rules, and the line of its `[config]` table and the
/// table itself when it has one.
pub(crate) struct Parsed {
    pub rules: Vec<Rule>,
    pub config_line: Option<usize>,
    pub config: Option<toml::Value>,
}

/// First pass: only the rules' spans and ids, so that errors of the strict
/// pass can name the rule they are in.
#[derive(Deserialize)]
struct Outline {
    #[serde(default)]
    rule: Vec<Spanned<OutlineRule>>,
    config: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
struct OutlineRule {
    id: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
    config: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Option<String>,
    language: Option<String>,
    message: Option<String>,
    priority: Option<i64>,
    confirm: Option<bool>,
    query: Option<Spanned<String>>,
    replace: Option<String>,
    within: Option<Spanned<String>>,
    not_within: Option<Spanned<String>>,
    case: Option<Vec<Spanned<RawCase>>>,
    example_before: Option<String>,
    example_after: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    query: Option<Spanned<String>>,
    replace: Option<String>,
    within: Option<Spanned<String>>,
    not_within: Option<Spanned<String>>,
}

/// Maps byte offsets of the file to 1-based lines and columns (in chars).
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(index, _)| index + 1))
            .collect();
        Self { text, starts }
    }

    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }

    fn line_column(&self, offset: usize) -> (usize, usize) {
        let line = self.line(offset);
        let start = self.starts[line - 1];
        let end = offset.min(self.text.len());
        let column = self
            .text
            .get(start..end)
            .map_or(1, |s| s.chars().count() + 1);
        (line, column)
    }
}

/// Everything needed to report errors about one rule.
struct RuleContext<'a> {
    path: &'a Path,
    lines: &'a LineIndex<'a>,
    rule: RuleRef,
    /// 1-based line of the rule's `[[rule]]` header.
    line: usize,
}

impl RuleContext<'_> {
    fn invalid(&self, message: impl Into<String>) -> RuleError {
        RuleError::InvalidRule {
            at: Location::line(self.path, self.line),
            rule: self.rule.clone(),
            message: message.into(),
        }
    }

    /// Builds the error for 0-based `row` and byte `column` of the query in
    /// `field`, located in the file when the query text is there verbatim.
    fn query_error(
        &self,
        field: QueryField,
        query: &Spanned<String>,
        row: usize,
        column: usize,
        message: String,
    ) -> RuleError {
        let at = query_offset(query.get_ref(), row, column)
            .and_then(|offset| file_offset(self.lines.text, query, offset))
            .map(|offset| {
                let (line, column) = self.lines.line_column(offset);
                Location::line_column(self.path, line, column)
            })
            .unwrap_or_else(|| Location::line(self.path, self.line));
        RuleError::InvalidQuery {
            at,
            rule: self.rule.clone(),
            field,
            line: row + 1,
            column: column + 1,
            message,
        }
    }
}

/// Parses and validates a whole rules file or `concur.toml`.
///
/// # Errors
/// The first problem found, naming the file, the rule and the position.
pub(crate) fn parse(text: &str, source: &RuleSource) -> Result<Parsed, RuleError> {
    parse_with(text, source, Queries::Check)
}

/// Whether loading compiles each query on its own to check it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Queries {
    /// Compile every query alone and check its captures and predicates, so
    /// that an error names the rule and the position.
    Check,
    /// Take the queries as written. Only for the built-in catalog, which the
    /// tests load with `Check`. Compiling each query alone took longer than
    /// the one combined query that matching needs: about 180 ms against
    /// 110 ms for the 15 built-in rules, on the machine of BENCHMARKS.md.
    Trust,
}

/// Parses a rules file as `parse` does, compiling its queries for the
/// checks only when `queries` is `Check`.
///
/// # Errors
/// As `parse`.
pub(crate) fn parse_with(
    text: &str,
    source: &RuleSource,
    queries: Queries,
) -> Result<Parsed, RuleError> {
    let path = source.path();
    let lines = LineIndex::new(text);
    let toml_error = |error: toml::de::Error| {
        let at = match error.span() {
            Some(span) => {
                let (line, column) = lines.line_column(span.start);
                Location::line_column(path, line, column)
            }
            None => Location::file(path),
        };
        RuleError::Toml {
            at,
            message: error.message().trim().to_owned(),
        }
    };

    let outline: Outline = toml::from_str(text).map_err(toml_error)?;
    // The spans of array-of-tables entries cover only their `[[rule]]`
    // header, so a rule's keys are everything up to the next table header
    // this file can have: another rule or the `[config]` table.
    let config_start = outline.config.as_ref().map(|config| config.span().start);
    let refs: Vec<(usize, RuleRef)> = outline
        .rule
        .iter()
        .enumerate()
        .map(|(index, rule)| {
            let id = match &rule.get_ref().id {
                Some(toml::Value::String(id)) => Some(id.clone()),
                _ => None,
            };
            let rule_ref = RuleRef {
                id,
                number: index + 1,
            };
            (rule.span().start, rule_ref)
        })
        .collect();
    let rule_at = |offset: usize| {
        let (start, rule) = refs.iter().rev().find(|(start, _)| *start <= offset)?;
        let config_between = config_start.is_some_and(|config| *start < config && config <= offset);
        (!config_between).then_some((*start, rule))
    };

    let raw: RawFile = toml::from_str(text).map_err(|error| {
        match error.span().and_then(|span| rule_at(span.start)) {
            Some((start, rule)) => RuleError::InvalidRule {
                at: Location::line(path, lines.line(start)),
                rule: rule.clone(),
                message: error.message().trim().to_owned(),
            },
            None => toml_error(error),
        }
    })?;

    let mut rules = Vec::with_capacity(raw.rule.len());
    let mut first_line_of: HashMap<String, usize> = HashMap::new();
    for (index, spanned) in raw.rule.into_iter().enumerate() {
        let line = lines.line(spanned.span().start);
        let raw_rule = spanned.into_inner();
        let context = RuleContext {
            path,
            lines: &lines,
            rule: RuleRef {
                id: raw_rule.id.clone(),
                number: index + 1,
            },
            line,
        };
        let rule = build_rule(raw_rule, index, source, queries, &context)?;
        // A user rule with a built-in id would make `disable`, `--only`
        // and every report ambiguous about which of the two is meant.
        if *source != RuleSource::Builtin && RuleSet::builtin().get(&rule.id).is_some() {
            return Err(RuleError::BuiltinId {
                at: Location::line(path, line),
                id: rule.id,
            });
        }
        if let Some(first) = first_line_of.insert(rule.id.clone(), line) {
            return Err(context.invalid(format!(
                "duplicate id: line {first} already defines a rule with this id; rule ids \
                 must be unique within a file"
            )));
        }
        rules.push(rule);
    }
    let (config_line, config) = match raw.config {
        Some(config) => (
            Some(lines.line(config.span().start)),
            Some(config.into_inner()),
        ),
        None => (None, None),
    };
    Ok(Parsed {
        rules,
        config_line,
        config,
    })
}

fn build_rule(
    raw: RawRule,
    index: usize,
    source: &RuleSource,
    queries: Queries,
    context: &RuleContext<'_>,
) -> Result<Rule, RuleError> {
    let id = raw
        .id
        .ok_or_else(|| context.invalid("missing field `id`; give the rule a kebab-case id"))?;
    if !is_kebab_case(&id) {
        return Err(context.invalid(format!(
            "invalid id {id:?}: an id is kebab-case, lowercase ASCII letters and digits in \
             words joined by single `-`, such as \"len-zero\""
        )));
    }
    let language_id = raw.language.ok_or_else(|| {
        context.invalid("missing field `language`; the supported language is \"rust\"")
    })?;
    let language =
        Language::from_id(&language_id).map_err(|error| context.invalid(error.to_string()))?;
    let message = raw.message.ok_or_else(|| {
        context.invalid("missing field `message`; say what the rule changes and why")
    })?;
    if raw.example_before.is_some() != raw.example_after.is_some() {
        return Err(context
            .invalid("`example_before` and `example_after` go together; set both or neither"));
    }

    let has_case_list = raw.case.is_some();
    let raw_cases = match (raw.case, raw.query, raw.replace) {
        (Some(cases), None, None) => {
            if cases.is_empty() {
                return Err(context.invalid("`case` is an empty list; give it at least one case"));
            }
            cases.into_iter().map(Spanned::into_inner).collect()
        }
        (Some(_), _, _) => {
            return Err(context.invalid(
                "a rule has either `query` and `replace` or a list of [[rule.case]] tables, \
                 not both",
            ))
        }
        (None, query, replace) => vec![RawCase {
            query,
            replace,
            within: None,
            not_within: None,
        }],
    };
    let listed = raw_cases.len() > 1 || has_case_list;
    let mut cases = Vec::with_capacity(raw_cases.len());
    for (case_index, raw_case) in raw_cases.into_iter().enumerate() {
        let within = raw_case.within.or_else(|| raw.within.clone());
        let not_within = raw_case.not_within.or_else(|| raw.not_within.clone());
        let case = RawCase {
            within,
            not_within,
            ..raw_case
        };
        let label = if listed {
            format!(" (case {})", case_index + 1)
        } else {
            String::new()
        };
        cases.push(build_case(case, &label, language, queries, context)?);
    }

    Ok(Rule {
        id,
        language,
        message,
        priority: raw.priority.unwrap_or(index as i64),
        confirm: raw.confirm.unwrap_or(false),
        example_before: raw.example_before,
        example_after: raw.example_after,
        source: source.clone(),
        cases,
        priority_explicit: raw.priority.is_some(),
    })
}

/// Builds one case; `which` is `" (case N)"` for rules with a case list,
/// for messages, and empty otherwise.
fn build_case(
    raw: RawCase,
    which: &str,
    language: Language,
    queries: Queries,
    context: &RuleContext<'_>,
) -> Result<Case, RuleError> {
    let query = raw
        .query
        .ok_or_else(|| context.invalid(format!("missing field `query`{which}")))?;
    let replace = raw
        .replace
        .ok_or_else(|| context.invalid(format!("missing field `replace`{which}")))?;
    let template = Template::parse(&replace).map_err(|error: TemplateError| {
        context.invalid(format!("invalid `replace`{which}: {error}"))
    })?;
    if queries == Queries::Trust {
        return Ok(Case {
            query: query.into_inner(),
            template,
            within: raw.within.map(Spanned::into_inner),
            not_within: raw.not_within.map(Spanned::into_inner),
        });
    }

    let compiled = compile(language, QueryField::Query, &query, MATCH_CAPTURE, context)?;
    if let Some(within) = &raw.within {
        compile(language, QueryField::Within, within, SCOPE_CAPTURE, context)?;
    }
    if let Some(not_within) = &raw.not_within {
        compile(
            language,
            QueryField::NotWithin,
            not_within,
            SCOPE_CAPTURE,
            context,
        )?;
    }

    for variable in template.variables() {
        let Some(capture) = compiled
            .capture_names()
            .iter()
            .position(|name| *name == variable.name)
        else {
            let mut names: Vec<String> = compiled
                .capture_names()
                .iter()
                .map(|name| format!("@{name}"))
                .collect();
            names.dedup();
            return Err(context.invalid(format!(
                "`replace`{which} uses ${name} at line {line}, column {column}, but the query \
                 has no capture @{name}; its captures are {captures}",
                name = variable.name,
                line = variable.line,
                column = variable.column,
                captures = names.join(", ")
            )));
        };
        for pattern in 0..compiled.pattern_count() {
            if compiled.capture_quantifiers(pattern)[capture] == CaptureQuantifier::Zero {
                let (row, column) =
                    row_column(query.get_ref(), compiled.start_byte_for_pattern(pattern));
                return Err(context.query_error(
                    QueryField::Query,
                    &query,
                    row,
                    column,
                    format!(
                        "this pattern does not capture @{name}, which `replace`{which} uses \
                         as ${name}; capture it in every pattern of the case",
                        name = variable.name
                    ),
                ));
            }
        }
    }

    Ok(Case {
        query: query.into_inner(),
        template,
        within: raw.within.map(Spanned::into_inner),
        not_within: raw.not_within.map(Spanned::into_inner),
    })
}

/// Compiles one query alone, to check it and every pattern's `required`
/// capture before it joins the combined query.
fn compile(
    language: Language,
    field: QueryField,
    source: &Spanned<String>,
    required: &str,
    context: &RuleContext<'_>,
) -> Result<Query, RuleError> {
    let text = source.get_ref();
    let query = Query::new(&language.grammar(), text).map_err(|error: QueryError| {
        context.query_error(field, source, error.row, error.column, describe(&error))
    })?;
    if query.pattern_count() == 0 {
        return Err(context.invalid(format!(
            "`{field}` has no pattern; write a tree-sitter pattern that captures @{required}"
        )));
    }
    let required_index = query
        .capture_names()
        .iter()
        .position(|name| *name == required);
    for pattern in 0..query.pattern_count() {
        let (row, column) = row_column(text, query.start_byte_for_pattern(pattern));
        let captured = required_index.is_some_and(|index| {
            query.capture_quantifiers(pattern)[index] != CaptureQuantifier::Zero
        });
        if !captured {
            let what = if required == MATCH_CAPTURE {
                "the node to replace"
            } else {
                "the scope node"
            };
            return Err(context.query_error(
                field,
                source,
                row,
                column,
                format!("missing @{required}: capture {what} with @{required} in this pattern"),
            ));
        }
        let unsupported = query
            .general_predicates(pattern)
            .iter()
            .map(|predicate| predicate.operator.to_string())
            .chain(
                query
                    .property_predicates(pattern)
                    .iter()
                    .map(|(_, positive)| if *positive { "is?" } else { "is-not?" }.to_owned()),
            )
            .next();
        if let Some(operator) = unsupported {
            return Err(context.query_error(
                field,
                source,
                row,
                column,
                format!(
                    "unsupported predicate #{operator}; the supported predicates are #eq?, \
                     #not-eq?, #match?, #not-match?, #any-of?, #not-any-of? and their any- forms"
                ),
            ));
        }
    }
    Ok(query)
}

/// Describes a tree-sitter query error without its position, which the
/// caller reports separately.
fn describe(error: &QueryError) -> String {
    let message = error.message.trim_end();
    // tree-sitter 0.26 quotes some names in its messages already.
    let name = message.trim_matches('"');
    match error.kind {
        QueryErrorKind::Syntax => format!("invalid syntax:\n{message}"),
        QueryErrorKind::NodeType => format!("invalid node type \"{name}\" for this language"),
        QueryErrorKind::Field => format!("invalid field name \"{name}\""),
        QueryErrorKind::Capture => format!("invalid capture name \"{name}\""),
        QueryErrorKind::Predicate => format!("invalid predicate: {message}"),
        QueryErrorKind::Structure => format!("impossible pattern:\n{message}"),
        QueryErrorKind::Language => format!("grammar failed to load: {message}"),
    }
}

/// Returns the 0-based row and byte column of byte `offset` in `text`, as
/// tree-sitter reports query positions.
fn row_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let row = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    (row, offset - line_start)
}

/// Returns the byte offset of 0-based `row` and byte `column` in `text`;
/// tree-sitter reports query error columns in bytes.
fn query_offset(text: &str, row: usize, column: usize) -> Option<usize> {
    let line_start = if row == 0 {
        0
    } else {
        text.match_indices('\n').nth(row - 1)?.0 + 1
    };
    let offset = line_start + column;
    (offset <= text.len()).then_some(offset)
}

/// Maps `offset` in the value of the TOML string `value` to an offset in
/// the file, when the string's token contains the value verbatim: literal
/// strings always do, basic strings when they have no escapes.
fn file_offset(file: &str, value: &Spanned<String>, offset: usize) -> Option<usize> {
    let token = file.get(value.span())?;
    let mut start = value.span().start;
    let delimiter = ["'''", "\"\"\"", "'", "\""]
        .into_iter()
        .find(|delimiter| token.starts_with(delimiter))?;
    start += delimiter.len();
    if delimiter.len() == 3 {
        // A newline right after the opening delimiter is not part of the value.
        if file[start..].starts_with("\r\n") {
            start += 2;
        } else if file[start..].starts_with('\n') {
            start += 1;
        }
    }
    let content = file.get(start..start + value.get_ref().len())?;
    (content == value.get_ref()).then_some(start + offset)
}

/// Lowercase ASCII letters and digits in words joined by single `-`.
fn is_kebab_case(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    const PATH: &str = "/project/rules.toml";

    fn load(text: &str) -> Result<RuleSet, RuleError> {
        RuleSet::from_toml_str(text, Path::new(PATH))
    }

    fn error(text: &str) -> (RuleError, String) {
        let err = load(text).expect_err("the file is invalid");
        let message = err.to_string();
        assert!(message.contains(PATH), "names the file: {message}");
        (err, message)
    }

    const GOOD: &str = r#"
[[rule]]
id = "first"
language = "rust"
message = "m"
query = "(identifier) @match"
replace = "x"
"#;

    #[test]
    fn valid_file_loads() {
        let set = load(GOOD).unwrap();
        assert_eq!(set.rules().len(), 1);
        let rule = set.get("first").unwrap();
        assert_eq!(rule.priority, 0);
        assert!(!rule.confirm);
        assert_eq!(rule.cases()[0].replace(), "x");
    }

    #[test]
    fn bad_query_reports_row_and_column() {
        let text = format!(
            "{GOOD}\n[[rule]]\nid = \"broken\"\nlanguage = \"rust\"\nmessage = \"m\"\n\
             query = '''\n(call_expression\n  function: (no_such_kind) @match)\n'''\nreplace = \"\"\n"
        );
        let (err, message) = error(&text);
        let RuleError::InvalidQuery {
            at,
            rule,
            field,
            line,
            column,
            ..
        } = err
        else {
            panic!("expected InvalidQuery, got {message}");
        };
        assert_eq!(rule.id.as_deref(), Some("broken"));
        assert_eq!(field, QueryField::Query);
        assert_eq!((line, column), (2, 14), "{message}");
        // The query starts on line 14 of the file, so its line 2 is line 15.
        assert_eq!((at.line, at.column), (Some(15), Some(14)), "{message}");
        assert!(message.contains("\"broken\""), "{message}");
        assert!(message.contains("2:14"), "{message}");
        assert!(message.contains("no_such_kind"), "{message}");
    }

    #[test]
    fn unknown_capture_in_template() {
        let text = GOOD.replace("replace = \"x\"", "replace = \"f($arg)\"");
        let (_, message) = error(&text);
        assert!(message.contains("\"first\""), "{message}");
        assert!(message.contains("$arg"), "{message}");
        assert!(message.contains("column 3"), "{message}");
        assert!(message.contains("@match"), "lists the captures: {message}");
        assert!(
            message.contains("rules.toml:2"),
            "names the rule's line: {message}"
        );
    }

    #[test]
    fn missing_match_capture() {
        let text = GOOD.replace("(identifier) @match", "(identifier) @name");
        let (err, message) = error(&text);
        assert!(
            matches!(
                err,
                RuleError::InvalidQuery {
                    line: 1,
                    column: 1,
                    ..
                }
            ),
            "{message}"
        );
        assert!(message.contains("\"first\""), "{message}");
        assert!(message.contains("missing @match"), "{message}");
    }

    #[test]
    fn second_pattern_without_match() {
        let text = GOOD.replace(
            "query = \"(identifier) @match\"",
            "query = '''\n(identifier) @match\n  (integer_literal) @n'''",
        );
        let (err, message) = error(&text);
        assert!(
            matches!(
                err,
                RuleError::InvalidQuery {
                    line: 2,
                    column: 3,
                    ..
                }
            ),
            "{message}"
        );
    }

    #[test]
    fn duplicate_id_names_both_lines() {
        let text = format!("{GOOD}{GOOD}");
        let (err, message) = error(&text);
        assert!(matches!(err, RuleError::InvalidRule { .. }));
        assert!(message.contains("\"first\""), "{message}");
        assert!(message.contains("rules.toml:9"), "{message}");
        assert!(message.contains("line 2 already"), "{message}");
    }

    #[test]
    fn builtin_id_rejected() {
        let text = format!("{GOOD}{}", GOOD.replace("\"first\"", "\"len-zero\""));
        let (err, message) = error(&text);
        assert_eq!(
            err,
            RuleError::BuiltinId {
                at: Location::line(Path::new("/project/rules.toml"), 9),
                id: "len-zero".to_owned(),
            }
        );
        assert!(message.starts_with("/project/rules.toml:9: "), "{message}");
        assert!(message.contains("\"len-zero\""), "{message}");
        assert!(message.contains("another id"), "{message}");
        assert!(message.contains("disable = [\"len-zero\"]"), "{message}");
    }

    #[test]
    fn bad_ids_rejected() {
        for id in ["Upper", "under_score", "double--dash", "-lead", ""] {
            let text = GOOD.replace("\"first\"", &format!("{id:?}"));
            let (_, message) = error(&text);
            assert!(message.contains("invalid id"), "{id}: {message}");
        }
        let text = GOOD.replace("id = \"first\"\n", "");
        let (_, message) = error(&text);
        assert!(message.contains("number 1"), "{message}");
        assert!(message.contains("missing field `id`"), "{message}");
    }

    #[test]
    fn unknown_field_names_rule() {
        let text = format!("{GOOD}prioirty = 3\n");
        let (err, message) = error(&text);
        assert!(matches!(err, RuleError::InvalidRule { .. }), "{message}");
        assert!(message.contains("\"first\""), "{message}");
        assert!(message.contains("prioirty"), "{message}");
        assert!(message.contains("rules.toml:2"), "{message}");
    }

    #[test]
    fn unknown_language_rejected() {
        let text = GOOD.replace("\"rust\"", "\"cobol\"");
        let (_, message) = error(&text);
        assert!(message.contains("\"first\""), "{message}");
        assert!(message.contains("\"cobol\""), "{message}");
        assert!(message.contains("rules.toml:2"), "{message}");
    }

    #[test]
    fn unsupported_predicate_rejected() {
        let text = GOOD.replace(
            "(identifier) @match",
            "((identifier) @match (#is-magic? @match))",
        );
        let (_, message) = error(&text);
        assert!(message.contains("#is-magic?"), "{message}");
    }

    #[test]
    fn cases_and_query_are_exclusive() {
        let text =
            format!("{GOOD}[[rule.case]]\nquery = \"(identifier) @match\"\nreplace = \"y\"\n");
        let (_, message) = error(&text);
        assert!(message.contains("not both"), "{message}");
    }

    #[test]
    fn case_errors_name_the_case() {
        let text = r#"
[[rule]]
id = "two-cases"
language = "rust"
message = "m"
[[rule.case]]
query = "(identifier) @match"
replace = "a"
[[rule.case]]
query = "(identifier) @match"
"#;
        let (_, message) = error(text);
        assert!(message.contains("(case 2)"), "{message}");
        assert!(message.contains("\"two-cases\""), "{message}");
    }

    #[test]
    fn unknown_case_field_names_rule() {
        let text = format!(
            "{GOOD}\n[[rule]]\nid = \"cased\"\nlanguage = \"rust\"\nmessage = \"m\"\n\
             [[rule.case]]\nquery = \"(identifier) @match\"\nreplace = \"a\"\nreplcae = \"b\"\n\
             \n[config]\nbuiltin = true\n"
        );
        let (err, message) = error(&text);
        assert!(matches!(err, RuleError::InvalidRule { .. }), "{message}");
        assert!(message.contains("\"cased\""), "{message}");
        assert!(message.contains("replcae"), "{message}");
        assert!(message.contains("rules.toml:9"), "{message}");
    }

    #[test]
    fn examples_go_together() {
        let text = format!("{GOOD}example_before = \"foo\"\n");
        let (_, message) = error(&text);
        assert!(message.contains("`example_after`"), "{message}");
        let text = format!("{GOOD}example_before = \"foo\"\nexample_after = \"x\"\n");
        let rule = load(&text).unwrap().rules()[0].clone();
        assert_eq!(rule.example_after.as_deref(), Some("x"));
    }

    #[test]
    fn within_needs_scope_capture() {
        let text = format!("{GOOD}within = \"(const_item) @item\"\n");
        let (err, message) = error(&text);
        assert!(
            matches!(
                err,
                RuleError::InvalidQuery {
                    field: QueryField::Within,
                    ..
                }
            ),
            "{message}"
        );
        assert!(message.contains("@scope"), "{message}");
    }

    #[test]
    fn toml_syntax_error_located() {
        let (err, message) = error("[[rule]]\nid = \n");
        assert!(matches!(err, RuleError::Toml { .. }), "{message}");
        assert!(message.contains("rules.toml:2"), "{message}");
    }

    #[test]
    fn invalid_file_loads_nothing() {
        // A valid rule followed by an invalid one: the whole file fails, and
        // the error is about the second rule only.
        let text = format!("{GOOD}\n[[rule]]\nid = \"second\"\nlanguage = \"rust\"\nmessage = \"m\"\nquery = \"(identifier @match\"\nreplace = \"\"\n");
        let (err, message) = error(&text);
        let RuleError::InvalidQuery { rule, .. } = err else {
            panic!("expected InvalidQuery, got {message}");
        };
        assert_eq!(rule.id.as_deref(), Some("second"));
    }

    #[test]
    fn rules_file_rejects_config_table() {
        let text = format!("{GOOD}\n[config]\nbuiltin = false\n");
        let (_, message) = error(&text);
        assert!(message.contains("concur.toml"), "{message}");
    }

    #[test]
    fn query_offsets_map_into_file() {
        let file = "q = '''\nab\ncd'''\n";
        let value: toml::Table = toml::from_str(file).unwrap();
        assert_eq!(value["q"].as_str(), Some("ab\ncd"));
        #[derive(Deserialize)]
        struct Q {
            q: Spanned<String>,
        }
        let q: Q = toml::from_str(file).unwrap();
        let offset = query_offset(q.q.get_ref(), 1, 1).unwrap();
        assert_eq!(file_offset(file, &q.q, offset), Some(12));
        assert_eq!(&file[12..13], "d");

        let escaped = "q = \"a\\nb\"\n";
        let q: Q = toml::from_str(escaped).unwrap();
        assert_eq!(
            file_offset(escaped, &q.q, 0),
            None,
            "escapes break the mapping"
        );
    }

    #[test]
    fn kebab_case_ids() {
        assert!(is_kebab_case("len-zero"));
        assert!(is_kebab_case("a1-b2"));
        assert!(!is_kebab_case("len_zero"));
        assert!(!is_kebab_case("len-"));
    }
}
