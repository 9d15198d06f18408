//! Rewrite rules: the TOML rule format, `concur.toml` configuration, the
//! combined tree-sitter query that matches every enabled rule in one pass,
//! syntax-aware replacement templates, and the built-in Rust catalog.
//!
//! This module turns a parse tree into proposed edit `Group`s. It does not
//! schedule workers, merge groups or apply them; that is `workers` and
//! `merge`.
//!
//! # Rules files
//!
//! A rules file is TOML with one `[[rule]]` table per rule:
//!
//! ```toml
//! [[rule]]
//! id = "len-is-empty"             # unique, kebab-case, not a built-in id
//! language = "rust"
//! message = "use `is_empty()` to test for emptiness"
//! query = '''
//! (binary_expression
//!   left: (call_expression
//!     function: (field_expression value: (_) @e field: (field_identifier) @len)
//!     arguments: (arguments) @args)
//!   operator: "=="
//!   right: (integer_literal) @zero
//!   (#eq? @len "len") (#eq? @args "()") (#eq? @zero "0")) @match
//! '''
//! replace = "$e.is_empty()"
//! priority = 10                   # optional; lower wins a conflict
//! confirm = false                 # optional; true: written only when confirmed
//! example_before = "v.len() == 0" # optional, shown by `explain`
//! example_after = "v.is_empty()"
//! ```
//!
//! `query` is a tree-sitter query. The node captured as `@match` is
//! replaced. When `@match` captures several nodes, the replaced range runs
//! from the first one's start to the last one's end. The other captures
//! are template variables. The predicates `#eq?`, `#not-eq?`, `#match?`,
//! `#not-match?`, `#any-of?` and their `any-` forms are evaluated; other
//! predicates are rejected.
//!
//! `replace` is the template: `$name` inserts the text of capture `name`
//! (letters, digits and `_`), and `$$` is a literal `$`. All other text is
//! inserted as written, including the final newline of a multi-line string
//! whose closing quotes sit on their own line. A capture on several
//! nodes inserts the text from its first node's start to its last node's
//! end, and an optional capture that matched nothing inserts nothing.
//! Templates are syntax-aware. A capture is parenthesised when its position
//! in the template binds tighter than the captured expression (`!$x` with
//! `a && b` renders `!(a && b)`), and the whole rendered text is
//! parenthesised when it replaces an expression in a position that needs
//! it. The continuation lines of a multi-line capture are re-indented to
//! the template's position, and the template's own continuation lines are
//! indented like the line where the match starts. The template's own
//! indentation is rewritten in the file's indentation character, taken
//! from the match's line (or, when that is not indented, the match's next
//! indented line): tabs, one per 4 columns, in a tab-indented file, and
//! spaces in a space-indented one. A capture's lines keep their own
//! characters and only move by the difference in indentation. An empty
//! template deletes the match together with its line when nothing else is
//! on that line, and otherwise with the spaces before it.
//!
//! # Cases and scopes (extensions)
//!
//! A rule that needs several patterns with different templates lists them
//! as `[[rule.case]]` tables of `query` and `replace` in place of the
//! rule's own `query` and `replace`. All cases share the rule's id,
//! message and priority. When one node matches several cases, the first
//! case wins.
//!
//! `within` and `not_within` restrict where a case matches. Each is a
//! tree-sitter query that captures `@scope`. A match is kept only when its
//! `@match` range lies inside some `within` scope and inside no
//! `not_within` scope. Set on the rule, they apply to every case that does
//! not set its own. For example, `redundant-static-lifetimes` matches
//! references only inside the type of a `const` or `static`, but not inside
//! a function pointer type. Scope patterns run in the same combined query
//! as everything else.
//!
//! # Priorities
//!
//! A rule without `priority` gets its position. In a combined set, user
//! rules come first and built-in rules after them (see
//! [`RuleSet::combine`]).

mod config;
mod literal_groups;
mod load;
mod matcher;
pub mod precedence;
pub mod template;

#[cfg(test)]
mod builtin_tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use thiserror::Error;

use crate::syntax::Language;

pub use config::{Config, CONFIG_FILE_NAME};
pub use matcher::{Capture, Matcher, RuleMatch};
pub use precedence::Precedence;
pub use template::Template;

/// The built-in catalog, in the same format users write.
const BUILTIN_TOML: &str = include_str!("builtin.toml");

/// The path shown for built-in rules in messages.
const BUILTIN_PATH: &str = "<built-in rules>";

/// The origin of a rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RuleSource {
    /// The catalog compiled into concur.
    Builtin,
    /// A rules file or `concur.toml`.
    File(PathBuf),
}

impl RuleSource {
    /// Returns the path used in messages; built-in rules show
    /// `<built-in rules>`.
    pub fn path(&self) -> &Path {
        match self {
            RuleSource::Builtin => Path::new(BUILTIN_PATH),
            RuleSource::File(path) => path,
        }
    }
}

/// One pattern of a rule and its replacement.
#[derive(Clone, Debug)]
pub struct Case {
    query: String,
    template: Template,
    within: Option<String>,
    not_within: Option<String>,
}

impl Case {
    /// Returns the tree-sitter query source.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// Returns the replacement template source.
    pub fn replace(&self) -> &str {
        self.template.source()
    }

    pub fn template(&self) -> &Template {
        &self.template
    }

    /// The query whose `@scope` captures a match must lie inside, if any.
    pub fn within(&self) -> Option<&str> {
        self.within.as_deref()
    }

    /// The query whose `@scope` captures a match must lie outside of, if any.
    pub fn not_within(&self) -> Option<&str> {
        self.not_within.as_deref()
    }
}

/// A validated rewrite rule.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    pub language: Language,
    pub message: String,
    /// Lower wins a conflict.
    pub priority: i64,
    /// Whether the rule's changes need the user's confirmation:
    /// `concur apply --write` applies them only with `--yes` or when
    /// `--only` names the rule, and editors should ask first.
    pub confirm: bool,
    /// Code the rule rewrites, for `explain`.
    pub example_before: Option<String>,
    /// `example_before` after the rule ran to a fixpoint.
    pub example_after: Option<String>,
    pub source: RuleSource,
    cases: Vec<Case>,
    /// Whether `priority` was written in the file, so `combine` keeps it.
    priority_explicit: bool,
}

impl Rule {
    /// Returns the rule's cases; a rule written with `query` and `replace`
    /// has one.
    pub fn cases(&self) -> &[Case] {
        &self.cases
    }

    /// Returns true when the rule came from the built-in catalog.
    pub fn is_builtin(&self) -> bool {
        self.source == RuleSource::Builtin
    }

    /// Describes the rule for `concur rules --explain ID`: id, message,
    /// source, priority, and the before/after example when there is one.
    pub fn explain(&self) -> String {
        let mut out = format!("{}: {}\n", self.id, self.message);
        out.push_str(&format!(
            "language: {}, priority: {}, confirm: {}, defined in {}\n",
            self.language.id(),
            self.priority,
            self.confirm,
            self.source.path().display()
        ));
        if let (Some(before), Some(after)) = (&self.example_before, &self.example_after) {
            out.push_str("\nBefore:\n");
            out.push_str(&indent_block(before));
            out.push_str("\nAfter:\n");
            out.push_str(&indent_block(after));
        }
        out
    }
}

fn indent_block(text: &str) -> String {
    let mut out = String::new();
    for line in text.trim_end_matches('\n').lines() {
        if !line.is_empty() {
            out.push_str("    ");
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The compiled matchers of a `RuleSet`, one per language.
type MatcherCache = Vec<(Language, Arc<Matcher>)>;

/// An ordered set of rules with unique ids. Cloning is O(1): the rules and
/// the cache of compiled matchers are shared.
#[derive(Clone)]
pub struct RuleSet {
    rules: Arc<[Rule]>,
    /// One combined query per language, built on first use.
    matchers: Arc<Mutex<MatcherCache>>,
}

impl fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.rules.iter().map(|rule| &rule.id))
            .finish()
    }
}

impl RuleSet {
    fn new(rules: Vec<Rule>) -> Self {
        Self {
            rules: rules.into(),
            matchers: Arc::default(),
        }
    }

    /// Parses a rules file's text; `source` names the file in messages. A
    /// rule without `priority` gets its position in the file.
    ///
    /// # Errors
    /// The first invalid rule, with the file, the rule id and the position.
    /// No rule of an invalid file is returned.
    pub fn from_toml_str(text: &str, source: &Path) -> Result<RuleSet, RuleError> {
        let parsed = load::parse(text, &RuleSource::File(source.to_owned()))?;
        if let Some(line) = parsed.config_line {
            return Err(RuleError::Config {
                at: Location::line(source, line),
                message: "a [config] table is only read from concur.toml; move it there or \
                          remove it from this rules file"
                    .to_owned(),
            });
        }
        Ok(RuleSet::new(parsed.rules))
    }

    /// Reads and parses a rules file.
    ///
    /// # Errors
    /// `Read` when the file cannot be read, otherwise as `from_toml_str`.
    pub fn load_file(path: &Path) -> Result<RuleSet, RuleError> {
        let text = read_file(path)?;
        RuleSet::from_toml_str(&text, path)
    }

    /// Returns the built-in catalog, parsed once per process.
    ///
    /// Its queries are not compiled one by one here, only into the combined
    /// query of `matcher`; the tests in `builtin_tests` run the full checks.
    ///
    /// # Panics
    /// When the embedded catalog is invalid; the tests in `builtin_tests`
    /// load it, so a release with a broken catalog fails them first.
    pub fn builtin() -> RuleSet {
        static BUILTIN: OnceLock<RuleSet> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                match load::parse_with(BUILTIN_TOML, &RuleSource::Builtin, load::Queries::Trust) {
                    Ok(parsed) => RuleSet::new(parsed.rules),
                    Err(error) => panic!("the built-in rule catalog is invalid: {error}"),
                }
            })
            .clone()
    }

    /// Combines user rules with the built-in catalog: user rules first, in
    /// their order, then the built-in rules. Rules named in `disable` are
    /// left out. Rules without an explicit `priority` get their position in
    /// the combined list, so built-in rules lose conflicts to user rules.
    ///
    /// # Errors
    /// `BuiltinId` when a rule of `user` that is not itself built in has the
    /// id of a built-in rule, even when `builtin` is `None` (loading a file
    /// already rejects such a rule). Built-in rules in `user`, as in an
    /// already combined set, are kept once.
    /// `UnknownDisabled` naming every id in `disable` that is neither a user
    /// rule nor a built-in rule (even when `builtin` is `None`, built-in ids
    /// are accepted there).
    pub fn combine(
        user: RuleSet,
        builtin: Option<RuleSet>,
        disable: &[String],
    ) -> Result<RuleSet, RuleError> {
        let catalog = RuleSet::builtin();
        let clash = user
            .rules()
            .iter()
            .find(|rule| !rule.is_builtin() && catalog.get(&rule.id).is_some());
        if let Some(rule) = clash {
            return Err(RuleError::BuiltinId {
                at: Location::file(rule.source.path()),
                id: rule.id.clone(),
            });
        }
        let known = |id: &str| {
            user.get(id).is_some()
                || catalog.get(id).is_some()
                || builtin.as_ref().is_some_and(|set| set.get(id).is_some())
        };
        let mut unknown: Vec<String> = Vec::new();
        for id in disable {
            if !known(id) && !unknown.contains(id) {
                unknown.push(id.clone());
            }
        }
        if !unknown.is_empty() {
            return Err(RuleError::UnknownDisabled {
                at: None,
                ids: unknown,
            });
        }
        let enabled = |rule: &&Rule| !disable.contains(&rule.id);
        let mut rules: Vec<Rule> = user.rules().iter().filter(enabled).cloned().collect();
        if let Some(builtin) = &builtin {
            // Built-in rules passed in `user` (a combined set) are not
            // repeated.
            rules.extend(
                builtin
                    .rules()
                    .iter()
                    .filter(enabled)
                    .filter(|rule| user.get(&rule.id).is_none())
                    .cloned(),
            );
        }
        for (position, rule) in rules.iter_mut().enumerate() {
            if !rule.priority_explicit {
                rule.priority = position as i64;
            }
        }
        Ok(RuleSet::new(rules))
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Returns the set without the rules named in `ids`. Every other rule
    /// keeps its priority, so conflicts among them resolve as before.
    pub fn without(&self, ids: &[String]) -> RuleSet {
        let rules = self
            .rules
            .iter()
            .filter(|rule| !ids.contains(&rule.id))
            .cloned()
            .collect();
        RuleSet::new(rules)
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.id == id)
    }

    /// Returns the index of rule `id` in `rules()`.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.rules.iter().position(|rule| rule.id == id)
    }

    /// Describes rule `id` (see [`Rule::explain`]).
    pub fn explain(&self, id: &str) -> Option<String> {
        self.get(id).map(Rule::explain)
    }

    /// Returns the rules for which `keep` is true, with their priorities
    /// unchanged, as a set with its own matcher cache.
    pub fn subset(&self, keep: impl Fn(&Rule) -> bool) -> RuleSet {
        RuleSet::new(
            self.rules
                .iter()
                .filter(|rule| keep(rule))
                .cloned()
                .collect(),
        )
    }

    /// Returns the combined matcher for `language`, compiled on the first
    /// call and shared by every later call and every clone of this set.
    ///
    /// # Errors
    /// As [`Matcher::new`].
    pub fn matcher(&self, language: Language) -> Result<Arc<Matcher>, RuleError> {
        let mut cache = self
            .matchers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, matcher)) = cache.iter().find(|(cached, _)| *cached == language) {
            return Ok(Arc::clone(matcher));
        }
        let matcher = Arc::new(Matcher::new(self, language)?);
        cache.push((language, Arc::clone(&matcher)));
        Ok(matcher)
    }

    /// Joins user rule sets loaded from several files, in order.
    ///
    /// # Errors
    /// `DuplicateId` when two of the sets define the same rule id.
    pub fn concat(sets: impl IntoIterator<Item = RuleSet>) -> Result<RuleSet, RuleError> {
        let mut rules: Vec<Rule> = Vec::new();
        for set in sets {
            for rule in set.rules() {
                if let Some(first) = rules.iter().find(|known| known.id == rule.id) {
                    return Err(RuleError::DuplicateId {
                        id: rule.id.clone(),
                        first: first.source.path().to_owned(),
                        second: rule.source.path().to_owned(),
                    });
                }
                rules.push(rule.clone());
            }
        }
        Ok(RuleSet::new(rules))
    }

    /// Returns the rules as a shared slice, for matchers that outlive a
    /// borrow.
    fn shared_rules(&self) -> Arc<[Rule]> {
        Arc::clone(&self.rules)
    }
}

fn read_file(path: &Path) -> Result<String, RuleError> {
    std::fs::read_to_string(path).map_err(|error| RuleError::Read {
        path: path.to_owned(),
        message: error.to_string(),
    })
}

/// A position in a rules file, shown as `path:line:column`, `path:line` or
/// `path`; lines and columns are 1-based (`u32` keeps `RuleError` small).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

/// Converts a 1-based line or column, saturating at `u32::MAX`.
fn position_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

impl Location {
    fn file(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            line: None,
            column: None,
        }
    }

    fn line(path: &Path, line: usize) -> Self {
        Self {
            path: path.to_owned(),
            line: Some(position_u32(line)),
            column: None,
        }
    }

    fn line_column(path: &Path, line: usize, column: usize) -> Self {
        Self {
            path: path.to_owned(),
            line: Some(position_u32(line)),
            column: Some(position_u32(column)),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// Names a rule in messages: by id, or by its position when the id is
/// missing or invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRef {
    pub id: Option<String>,
    /// 1-based position among the file's `[[rule]]` tables.
    pub number: usize,
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "rule {id:?}"),
            None => write!(f, "[[rule]] number {}", self.number),
        }
    }
}

/// The rule fields that hold a tree-sitter query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryField {
    Query,
    Within,
    NotWithin,
}

impl fmt::Display for QueryField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QueryField::Query => "query",
            QueryField::Within => "within",
            QueryField::NotWithin => "not_within",
        })
    }
}

/// Errors of loading rules and configuration, and of rendering matches.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum RuleError {
    #[error("failed to read {}: {message}", path.display())]
    Read { path: PathBuf, message: String },
    #[error("{at}: invalid TOML: {message}")]
    Toml { at: Location, message: String },
    #[error("{at}: {rule}: {message}")]
    InvalidRule {
        at: Location,
        rule: RuleRef,
        message: String,
    },
    #[error("{at}: {rule}: invalid `{field}` at {line}:{column} of the query: {message}")]
    InvalidQuery {
        /// The error's position in the file when the query text maps onto
        /// it exactly, otherwise the rule's `[[rule]]` line.
        at: Location,
        rule: RuleRef,
        field: QueryField,
        /// 1-based line and column in the query text; the column counts
        /// bytes, as tree-sitter does.
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{at}: invalid [config]: {message}")]
    Config { at: Location, message: String },
    #[error(
        "{}`disable` names unknown rule ids {}; use the id of a built-in rule or of a \
         [[rule]] in the same file",
        at.as_ref().map(|at| format!("{at}: ")).unwrap_or_default(),
        quoted_list(ids)
    )]
    UnknownDisabled {
        /// The `[config]` table that lists them, when they came from a file.
        at: Option<Location>,
        ids: Vec<String>,
    },
    #[error(
        "the combined {language} query of {} failed to compile although each rule \
         compiled alone: {message}",
        crate::plural::count(*rules, "rule")
    )]
    CombinedQuery {
        language: &'static str,
        rules: usize,
        message: String,
    },
    #[error(
        "{at}: rule {id:?} has the id of a built-in rule; give it another id, and to turn \
         the built-in rule off, add it to the [config] table of concur.toml as \
         `disable = [{id:?}]`"
    )]
    BuiltinId { at: Location, id: String },
    #[error(
        "rule id {id:?} is defined in both {} and {}; rename one of them",
        first.display(),
        second.display()
    )]
    DuplicateId {
        id: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("rule {rule:?} could not render a match at bytes {start}..{end}: {message}")]
    Render {
        rule: String,
        start: usize,
        end: usize,
        message: String,
    },
}

fn quoted_list(ids: &[String]) -> String {
    ids.iter()
        .map(|id| format!("{id:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_rules() -> RuleSet {
        let text = r#"
[[rule]]
id = "no-foo"
language = "rust"
message = "rename foo"
query = '((identifier) @match (#eq? @match "foo"))'
replace = "bar"

[[rule]]
id = "len-to-size"
language = "rust"
message = "rename len"
priority = -5
query = '((identifier) @match (#eq? @match "len"))'
replace = "size"
"#;
        RuleSet::from_toml_str(text, Path::new("/p/concur.toml")).unwrap()
    }

    #[test]
    fn combine_puts_user_rules_first() {
        let combined = RuleSet::combine(
            user_rules(),
            Some(RuleSet::builtin()),
            &["try-macro".to_owned()],
        )
        .unwrap();
        let ids: Vec<&str> = combined
            .rules()
            .iter()
            .map(|rule| rule.id.as_str())
            .collect();
        assert_eq!(ids[0], "no-foo");
        assert_eq!(ids[1], "len-to-size");
        assert_eq!(ids[2], "inclusive-range-pattern", "built-in rules follow");
        assert!(!ids.contains(&"try-macro"), "disabled");
        // Two user rules, and every built-in rule but the disabled one.
        assert_eq!(ids.len(), 2 + RuleSet::builtin().rules().len() - 1);
    }

    #[test]
    fn combine_rejects_user_rule_with_builtin_id() {
        // Loading a file rejects such a rule, so build the set directly.
        let mut rule = RuleSet::builtin().get("len-zero").unwrap().clone();
        rule.source = RuleSource::File(PathBuf::from("/p/rules.toml"));
        rule.message = "my own len-zero".to_owned();
        let user = RuleSet::new(vec![rule]);
        for builtin in [Some(RuleSet::builtin()), None] {
            let err = RuleSet::combine(user.clone(), builtin, &[]).unwrap_err();
            assert_eq!(
                err,
                RuleError::BuiltinId {
                    at: Location::file(Path::new("/p/rules.toml")),
                    id: "len-zero".to_owned(),
                }
            );
        }
    }

    #[test]
    fn combine_accepts_a_combined_set() {
        let combined = RuleSet::combine(user_rules(), Some(RuleSet::builtin()), &[]).unwrap();
        let again = RuleSet::combine(
            combined.clone(),
            Some(RuleSet::builtin()),
            &["no-foo".to_owned()],
        )
        .unwrap();
        assert_eq!(again.rules().len(), combined.rules().len() - 1);
        assert!(again.get("no-foo").is_none());
    }

    #[test]
    fn combine_assigns_default_priorities() {
        let combined = RuleSet::combine(user_rules(), Some(RuleSet::builtin()), &[]).unwrap();
        assert_eq!(combined.get("no-foo").unwrap().priority, 0);
        assert_eq!(
            combined.get("len-to-size").unwrap().priority,
            -5,
            "explicit kept"
        );
        let position = combined.position("needless-return").unwrap();
        assert!(position >= 2);
        assert_eq!(combined.rules()[position].priority, position as i64);
    }

    #[test]
    fn combine_rejects_unknown_disabled_ids() {
        let disable = ["no-foo".to_owned(), "nope".to_owned(), "nope".to_owned()];
        let err = RuleSet::combine(user_rules(), None, &disable).unwrap_err();
        assert_eq!(
            err,
            RuleError::UnknownDisabled {
                at: None,
                ids: vec!["nope".to_owned()]
            }
        );
        // Built-in ids may be disabled even when the catalog is off.
        let set = RuleSet::combine(user_rules(), None, &["len-zero".to_owned()]).unwrap();
        assert_eq!(set.rules().len(), 2);
    }

    #[test]
    fn without_keeps_priorities() {
        let combined = RuleSet::combine(user_rules(), Some(RuleSet::builtin()), &[]).unwrap();
        let reduced = combined.without(&["no-foo".to_owned(), "try-macro".to_owned()]);
        assert_eq!(reduced.rules().len(), combined.rules().len() - 2);
        assert!(reduced.get("no-foo").is_none());
        assert!(reduced.get("try-macro").is_none());
        for rule in reduced.rules() {
            assert_eq!(
                rule.priority,
                combined.get(&rule.id).unwrap().priority,
                "{}",
                rule.id
            );
        }
    }

    #[test]
    fn explain_shows_example() {
        let explained = RuleSet::builtin().explain("len-zero").unwrap();
        assert!(explained.starts_with("len-zero: "), "{explained}");
        assert!(explained.contains("<built-in rules>"), "{explained}");
        assert!(
            explained.contains("\n        if items.len() == 0"),
            "{explained}"
        );
        assert!(
            explained.contains("\n        if items.is_empty()"),
            "{explained}"
        );
        assert_eq!(RuleSet::builtin().explain("nope"), None);
    }

    #[test]
    fn shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RuleSet>();
        assert_send_sync::<Matcher>();
        assert_send_sync::<RuleMatch>();
    }
}
