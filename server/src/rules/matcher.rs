//! The combined query: every enabled rule of one language compiled into one
//! tree-sitter `Query`, run once per document (or per byte range of it),
//! with each match handed to its rule and case. Also rendering a match into
//! an edit `Group` with the case's template.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use ropey::{Rope, RopeSlice};
use smallvec::{smallvec, SmallVec};
use tree_sitter::{Node, Query, QueryCursor, StreamingIterator, TextProvider, Tree};

use super::literal_groups::{choose_groups, literal_splits, LiteralSplit};
use super::load::{MATCH_CAPTURE, SCOPE_CAPTURE};
use super::precedence::{node_precedence, required_precedence_in, Precedence};
use super::template::{leading_whitespace, reindent, IndentStyle, Required, Segment, Whole};
use super::{Case, Rule, RuleError, RuleSet};
use crate::merge::{Group, Hunk};
use crate::plural;
use crate::syntax::Language;

/// One node captured by a match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capture {
    /// The capture name, without `@`.
    pub name: String,
    /// Byte range in the document.
    pub range: Range<usize>,
    /// The tree-sitter node kind.
    pub kind: &'static str,
    /// The node's binding strength, for parenthesising it in templates.
    pub precedence: Precedence,
    /// Byte ranges of the multi-line string literals and block comments in
    /// the node. Lines starting inside them are never re-indented, since
    /// there the whitespace is content.
    pub verbatim: Vec<Range<usize>>,
}

/// One match of one rule's case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleMatch {
    /// Index into the rule's `cases()`.
    pub case: usize,
    /// The bytes to replace: the `@match` node, or from the first to the
    /// last `@match` node when the pattern captures several.
    pub node_range: Range<usize>,
    /// Every captured node, `@match` included, sorted by position.
    pub captures: Vec<Capture>,
    /// The precedence the matched node's position in the document requires
    /// of what replaces it; `Lowest` when `@match` is several nodes.
    pub context: Precedence,
    /// Whether the replacement starts a statement (or a block's tail
    /// expression), where a leading `match`, `if` or block would end the
    /// statement early.
    pub starts_statement: bool,
}

/// The purpose of a pattern in the combined query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// A pattern of a case's `query`.
    Match,
    /// A pattern of a case's `within` query.
    Within,
    /// A pattern of a case's `not_within` query.
    NotWithin,
}

#[derive(Clone, Copy, Debug)]
struct PatternOwner {
    rule: usize,
    case: usize,
    role: Role,
    /// Index of the pattern among the patterns of its query, which orders
    /// the matches of one case.
    ordinal: usize,
}

/// The meaning of one compiled pattern of the combined query.
#[derive(Debug)]
enum CompiledPattern {
    /// One pattern of one query.
    Single(PatternOwner),
    /// Several single-pattern queries that differ only by the strings of a
    /// predicate on one capture, compiled once without that predicate.
    Grouped(LiteralDispatch),
}

/// Hands a match of a grouped pattern to the queries whose predicate it
/// satisfies.
#[derive(Debug)]
struct LiteralDispatch {
    /// The capture the removed predicates tested.
    capture: u32,
    members: Vec<GroupMember>,
    /// Captured text to the members that accept it, ascending.
    by_text: HashMap<Box<[u8]>, SmallVec<[u32; 2]>>,
}

#[derive(Debug)]
struct GroupMember {
    owner: PatternOwner,
    /// The strings of the member's `#eq?` or `#any-of?` predicate.
    literals: Vec<Box<[u8]>>,
}

impl LiteralDispatch {
    /// Returns the members whose removed predicate holds for `nodes`, the
    /// nodes of `self.capture`. As in tree-sitter, `#eq?` and `#any-of?`
    /// hold when every node's text is one of the strings, so also when the
    /// capture matched no node.
    fn accepting<'tree>(
        &self,
        mut nodes: impl Iterator<Item = Node<'tree>>,
        text: &Rope,
        buffer: &mut Vec<u8>,
    ) -> SmallVec<[u32; 2]> {
        let Some(first) = nodes.next() else {
            return (0..self.members.len() as u32).collect();
        };
        let Some(accepting) = self.by_text.get(node_bytes(text, first, buffer)) else {
            return SmallVec::new();
        };
        let mut accepting = accepting.clone();
        for node in nodes {
            let bytes = node_bytes(text, node, buffer);
            accepting.retain(|member| {
                self.members[*member as usize]
                    .literals
                    .iter()
                    .any(|literal| **literal == *bytes)
            });
        }
        accepting
    }
}

/// One query of one case, before compiling.
struct QuerySource<'a> {
    text: &'a str,
    rule: usize,
    case: usize,
    role: Role,
}

/// A query or a group of queries, as placed in the combined source.
#[derive(Clone, Copy)]
enum Unit {
    Query(usize),
    Group(usize),
}

/// The combined query of one language's rules. Build it once per `RuleSet`
/// (see [`RuleSet::matcher`]) and share it: `find` takes `&self`, and the
/// underlying `Query` may be used from several threads at once.
pub struct Matcher {
    language: Language,
    rules: Arc<[Rule]>,
    query: Query,
    /// Indexed by pattern index.
    patterns: Vec<CompiledPattern>,
    match_capture: Option<u32>,
    scope_capture: Option<u32>,
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Matcher")
            .field("language", &self.language)
            .field("rules", &self.rules.len())
            .field("patterns", &self.patterns.len())
            .finish()
    }
}

impl Matcher {
    /// Compiles every case of every rule of `language` in `rules` (queries
    /// and scopes) into one query. Queries that differ only by the strings
    /// of one `#eq?` or `#any-of?` predicate share one compiled pattern, as
    /// `literal_groups` describes. `find` returns the same matches either
    /// way.
    ///
    /// # Errors
    /// `CombinedQuery` when the joined queries do not compile, which the
    /// per-rule checks at load time should rule out.
    pub fn new(rules: &RuleSet, language: Language) -> Result<Matcher, RuleError> {
        Self::build(rules, language, true)
    }

    /// Compiles as `new` does; `group_literals` false compiles every query
    /// as written, for comparing the two.
    pub(crate) fn build(
        rules: &RuleSet,
        language: Language,
        group_literals: bool,
    ) -> Result<Matcher, RuleError> {
        let shared = rules.shared_rules();
        let mut queries: Vec<QuerySource<'_>> = Vec::new();
        for (rule_index, rule) in shared.iter().enumerate() {
            if rule.language != language {
                continue;
            }
            for (case_index, case) in rule.cases().iter().enumerate() {
                let parts = [
                    (Some(case.query()), Role::Match),
                    (case.within(), Role::Within),
                    (case.not_within(), Role::NotWithin),
                ];
                for (text, role) in parts {
                    let Some(text) = text else { continue };
                    queries.push(QuerySource {
                        text,
                        rule: rule_index,
                        case: case_index,
                        role,
                    });
                }
            }
        }
        let splits: Vec<Vec<LiteralSplit>> = queries
            .iter()
            .map(|query| {
                if group_literals {
                    literal_splits(query.text)
                } else {
                    Vec::new()
                }
            })
            .collect();
        let groups = choose_groups(&splits);
        let mut group_of: Vec<Option<(usize, usize)>> = vec![None; queries.len()];
        for (group, members) in groups.iter().enumerate() {
            for &(query, split) in members {
                group_of[query] = Some((group, split));
            }
        }

        // Each unit's byte range in `source`, in source order. A group sits
        // where its first member would.
        let mut source = String::new();
        let mut segments: Vec<(Range<usize>, Unit)> = Vec::new();
        for (index, query) in queries.iter().enumerate() {
            let start = source.len();
            let unit = match group_of[index] {
                Some((group, _)) if groups[group][0].0 != index => continue,
                Some((group, split)) => {
                    let predicate = splits[index][split].predicate.clone();
                    source.push_str(&query.text[..predicate.start]);
                    source.push_str(&query.text[predicate.end..]);
                    Unit::Group(group)
                }
                None => {
                    source.push_str(query.text);
                    Unit::Query(index)
                }
            };
            segments.push((start..source.len(), unit));
            source.push('\n');
        }
        let combined_error = |message: String| RuleError::CombinedQuery {
            language: language.id(),
            rules: shared.len(),
            message,
        };
        let query = Query::new(&language.grammar(), &source)
            .map_err(|error| combined_error(error.to_string()))?;

        let owner = |query: &QuerySource<'_>, ordinal: usize| PatternOwner {
            rule: query.rule,
            case: query.case,
            role: query.role,
            ordinal,
        };
        let mut first_pattern: Vec<Option<usize>> = vec![None; segments.len()];
        let mut patterns = Vec::with_capacity(query.pattern_count());
        for pattern in 0..query.pattern_count() {
            let start = query.start_byte_for_pattern(pattern);
            let segment = segments.partition_point(|(range, _)| range.end <= start);
            let Some((range, unit)) = segments
                .get(segment)
                .filter(|(range, _)| range.start <= start && start < range.end)
            else {
                return Err(combined_error(format!(
                    "pattern {pattern} starts outside every rule's query"
                )));
            };
            let ordinal = pattern - *first_pattern[segment].get_or_insert(pattern);
            let compiled = match *unit {
                Unit::Query(index) => CompiledPattern::Single(owner(&queries[index], ordinal)),
                Unit::Group(group) => {
                    let members = &groups[group];
                    let capture_name = &splits[members[0].0][members[0].1].capture;
                    let capture = query.capture_index_for_name(capture_name).ok_or_else(|| {
                        combined_error(format!(
                            "the grouped pattern at byte {} has no capture @{capture_name}",
                            range.start
                        ))
                    })?;
                    let mut dispatch = LiteralDispatch {
                        capture,
                        members: Vec::with_capacity(members.len()),
                        by_text: HashMap::new(),
                    };
                    for (position, &(index, split)) in members.iter().enumerate() {
                        let literals: Vec<Box<[u8]>> = splits[index][split]
                            .literals
                            .iter()
                            .map(|literal| literal.as_bytes().into())
                            .collect();
                        for literal in &literals {
                            let accepting = dispatch.by_text.entry(literal.clone()).or_default();
                            if accepting.last() != Some(&(position as u32)) {
                                accepting.push(position as u32);
                            }
                        }
                        dispatch.members.push(GroupMember {
                            owner: owner(&queries[index], 0),
                            literals,
                        });
                    }
                    CompiledPattern::Grouped(dispatch)
                }
            };
            patterns.push(compiled);
        }
        let capture_index = |name: &str| {
            query
                .capture_names()
                .iter()
                .position(|capture| *capture == name)
                .map(|index| index as u32)
        };
        Ok(Matcher {
            language,
            match_capture: capture_index(MATCH_CAPTURE),
            scope_capture: capture_index(SCOPE_CAPTURE),
            rules: shared,
            query,
            patterns,
        })
    }

    pub fn language(&self) -> Language {
        self.language
    }

    /// Returns the combined query, one for all the rules of the language.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// Returns the rules this matcher was built from, as in
    /// `RuleSet::rules()`.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Runs one pass of the combined query and returns the matches grouped
    /// by rule index (into `rules.rules()`), each rule's sorted by position.
    ///
    /// With `byte_range`, the pass visits only that part of the tree and
    /// keeps the matches whose `@match` starts in it, so adjacent ranges
    /// split a file's matches exactly, wherever the cuts are, for threads
    /// to share a large file.
    /// When one node matches several cases or patterns of a rule, only the
    /// first case (then the first pattern) is kept.
    pub fn find(
        &self,
        tree: &Tree,
        text: &Rope,
        byte_range: Option<Range<usize>>,
    ) -> Vec<Vec<RuleMatch>> {
        let mut cursor = QueryCursor::new();
        if let Some(range) = &byte_range {
            cursor.set_byte_range(range.clone());
        }
        let capture_names = self.query.capture_names();
        // Per rule: (match, pattern ordinal) and per (rule, case) the scopes.
        let mut found: Vec<Vec<(RuleMatch, usize)>> = vec![Vec::new(); self.rules.len()];
        let mut scopes: Vec<Scopes> = Vec::new();
        let mut buffer = Vec::new();
        // Per match with a single `@match` node: rule, index in `found`, node.
        let mut single_nodes: Vec<(usize, usize, Node<'_>)> = Vec::new();
        let mut matches = cursor.matches(&self.query, tree.root_node(), RopeText(text));
        while let Some(query_match) = matches.next() {
            let owners: SmallVec<[PatternOwner; 1]> =
                match &self.patterns[query_match.pattern_index] {
                    CompiledPattern::Single(owner) => smallvec![*owner],
                    CompiledPattern::Grouped(dispatch) => dispatch
                        .accepting(
                            query_match.nodes_for_capture_index(dispatch.capture),
                            text,
                            &mut buffer,
                        )
                        .into_iter()
                        .map(|member| dispatch.members[member as usize].owner)
                        .collect(),
                };
            for owner in owners {
                if owner.role != Role::Match {
                    let ranges: Vec<Range<usize>> = query_match
                        .captures
                        .iter()
                        .filter(|capture| Some(capture.index) == self.scope_capture)
                        .map(|capture| capture.node.byte_range())
                        .collect();
                    let entry = match scopes
                        .iter_mut()
                        .find(|entry| (entry.rule, entry.case) == (owner.rule, owner.case))
                    {
                        Some(entry) => entry,
                        None => {
                            scopes.push(Scopes::new(owner.rule, owner.case));
                            scopes.last_mut().expect("just pushed")
                        }
                    };
                    match owner.role {
                        Role::Within => entry.within.extend(ranges),
                        _ => entry.not_within.extend(ranges),
                    }
                    continue;
                }
                let match_nodes: Vec<Node<'_>> = query_match
                    .captures
                    .iter()
                    .filter(|capture| Some(capture.index) == self.match_capture)
                    .map(|capture| capture.node)
                    .collect();
                let (Some(start), Some(end)) = (
                    match_nodes.iter().map(Node::start_byte).min(),
                    match_nodes.iter().map(Node::end_byte).max(),
                ) else {
                    continue;
                };
                if byte_range
                    .as_ref()
                    .is_some_and(|range| !range.contains(&start))
                {
                    continue;
                }
                let single = match match_nodes.as_slice() {
                    [node] => Some(*node),
                    _ => None,
                };
                let mut captures: Vec<Capture> = query_match
                    .captures
                    .iter()
                    .map(|capture| Capture {
                        name: capture_names[capture.index as usize].to_owned(),
                        range: capture.node.byte_range(),
                        kind: capture.node.kind(),
                        precedence: node_precedence(capture.node),
                        verbatim: verbatim_ranges(capture.node),
                    })
                    .collect();
                captures.sort_by(|a, b| {
                    (a.range.start, a.range.end, &a.name).cmp(&(
                        b.range.start,
                        b.range.end,
                        &b.name,
                    ))
                });
                let template = self.rules[owner.rule].cases()[owner.case].template();
                if drops_a_comment(tree, single, start..end, &captures, template) {
                    continue;
                }
                if let Some(node) = single {
                    single_nodes.push((owner.rule, found[owner.rule].len(), node));
                }
                // A single `@match` node's context is filled in below.
                found[owner.rule].push((
                    RuleMatch {
                        case: owner.case,
                        node_range: start..end,
                        captures,
                        context: Precedence::Lowest,
                        starts_statement: false,
                    },
                    owner.ordinal,
                ));
            }
        }
        drop(matches);

        let nodes: Vec<Node<'_>> = single_nodes.iter().map(|(_, _, node)| *node).collect();
        let parents = parents_of(tree, &nodes);
        for (rule, index, node) in single_nodes {
            let parent = parents.get(&node.id()).copied();
            let (found, _) = &mut found[rule][index];
            found.context = required_precedence_in(node, parent);
            found.starts_statement = starts_statement(node, parent);
        }

        found
            .into_iter()
            .enumerate()
            .map(|(rule, mut matches)| {
                let cases = self.rules[rule].cases();
                matches.retain(|(found, _)| {
                    let entry = scopes
                        .iter()
                        .find(|entry| (entry.rule, entry.case) == (rule, found.case));
                    admits(&cases[found.case], entry, &found.node_range)
                });
                matches.sort_by(|(a, a_pattern), (b, b_pattern)| {
                    (a.node_range.start, a.node_range.end, a.case, a_pattern).cmp(&(
                        b.node_range.start,
                        b.node_range.end,
                        b.case,
                        b_pattern,
                    ))
                });
                matches.dedup_by(|(later, _), (first, _)| later.node_range == first.node_range);
                matches.into_iter().map(|(found, _)| found).collect()
            })
            .collect()
    }

    /// Renders one match into an atomic group: one hunk replacing the
    /// match's bytes with the case's template filled in. An empty template
    /// also removes the match's line when nothing else is on it, and
    /// otherwise the spaces before the match (unless that would join two
    /// words).
    ///
    /// # Errors
    /// `Render` when `rule_index` or the match's case does not exist, or
    /// the match's ranges lie outside `text`.
    pub fn render(
        &self,
        rule_index: usize,
        found: &RuleMatch,
        text: &Rope,
    ) -> Result<Group, RuleError> {
        let render_error = |message: String| RuleError::Render {
            rule: self
                .rules
                .get(rule_index)
                .map_or_else(|| format!("#{rule_index}"), |rule| rule.id.clone()),
            start: found.node_range.start,
            end: found.node_range.end,
            message,
        };
        let rule = self.rules.get(rule_index).ok_or_else(|| {
            render_error(format!(
                "rule index {rule_index} is out of range: the set has {}",
                plural::count(self.rules.len(), "rule")
            ))
        })?;
        let case = rule.cases().get(found.case).ok_or_else(|| {
            render_error(format!(
                "case {} does not exist: the rule has {}",
                found.case,
                plural::count(rule.cases().len(), "case")
            ))
        })?;
        let len = text.len_bytes();
        let out_of_range = std::iter::once(&found.node_range)
            .chain(found.captures.iter().map(|capture| &capture.range))
            .find(|range| range.start > range.end || range.end > len);
        if let Some(range) = out_of_range {
            return Err(render_error(format!(
                "byte range {range:?} is outside the {len}-byte document; find and render \
                 on the same text"
            )));
        }

        let template = case.template();
        let match_indent = line_indent_at(text, found.node_range.start);
        // The template's own indentation is rewritten in the document's
        // indentation character, so tabs stay tabs.
        let style = IndentStyle::of(&match_indent)
            .or_else(|| continuation_indent_style(text, &found.node_range));
        let mut out = String::new();
        let segments = template.segments();
        for (index, segment) in segments.iter().enumerate() {
            match segment {
                Segment::Text(literal) => {
                    let variable_follows =
                        matches!(segments.get(index + 1), Some(Segment::Variable(_)));
                    push_indented(&mut out, literal, &match_indent, style, variable_follows);
                }
                Segment::Variable(variable) => {
                    let required = match variable.required {
                        Required::At(precedence) => precedence,
                        Required::Match => found.context,
                    };
                    let Some(inserted) = capture_text(found, &variable.name, text) else {
                        continue;
                    };
                    let line_indent = variable.line_indent.as_deref().unwrap_or("");
                    let target_indent = format!("{match_indent}{}", in_style(line_indent, style));
                    let body = reindent(
                        &inserted.text,
                        &inserted.indent,
                        &target_indent,
                        &inserted.verbatim,
                    );
                    if inserted.precedence(required) < required {
                        out.push('(');
                        out.push_str(&body);
                        out.push(')');
                    } else {
                        out.push_str(&body);
                    }
                }
            }
        }
        if let Whole::Expression(precedence) = template.whole() {
            if precedence < found.context {
                out = format!("({out})");
            }
        }
        if found.starts_statement && ends_statement_early(&out) {
            out = format!("({out})");
        }

        let range = if template.source().is_empty() {
            deletion_range(text, found.node_range.clone())
        } else {
            found.node_range.clone()
        };
        Group::single(Hunk::new(range, out)).map_err(|error| render_error(error.to_string()))
    }
}

/// The `within` and `not_within` scopes found for one case in one pass.
struct Scopes {
    rule: usize,
    case: usize,
    within: Vec<Range<usize>>,
    not_within: Vec<Range<usize>>,
}

impl Scopes {
    fn new(rule: usize, case: usize) -> Self {
        Self {
            rule,
            case,
            within: Vec::new(),
            not_within: Vec::new(),
        }
    }
}

/// Returns true when a match of `case` at `range` lies inside one of its
/// `within` scopes (when it has a `within` query) and inside none of its
/// `not_within` scopes.
fn admits(case: &Case, scopes: Option<&Scopes>, range: &Range<usize>) -> bool {
    let contains = |scope: &Range<usize>| scope.start <= range.start && range.end <= scope.end;
    let inside =
        case.within().is_none() || scopes.is_some_and(|scopes| scopes.within.iter().any(contains));
    let outside = scopes.is_none_or(|scopes| !scopes.not_within.iter().any(contains));
    inside && outside
}

/// Serves node text to tree-sitter's predicate checks from the rope's
/// chunks, without copying the document into one string.
struct RopeText<'a>(&'a Rope);

impl<'a> TextProvider<&'a [u8]> for RopeText<'a> {
    type I = NodeChunks<'a>;

    fn text(&mut self, node: Node<'_>) -> Self::I {
        let range = node.byte_range();
        if let Some(bytes) = within_one_chunk(self.0, &range) {
            return NodeChunks::One(Some(bytes));
        }
        let slice: RopeSlice<'a> = self
            .0
            .get_byte_slice(range)
            .unwrap_or_else(|| self.0.byte_slice(0..0));
        NodeChunks::Many(slice.chunks())
    }
}

/// The chunks of one node's text: most nodes lie inside one chunk of the
/// rope, and building a `RopeSlice` for them costs more than the check.
enum NodeChunks<'a> {
    One(Option<&'a [u8]>),
    Many(ropey::iter::Chunks<'a>),
}

impl<'a> Iterator for NodeChunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            NodeChunks::One(bytes) => bytes.take(),
            NodeChunks::Many(chunks) => chunks.next().map(str::as_bytes),
        }
    }
}

/// Returns the bytes of `range` when they lie inside one chunk of `text`.
fn within_one_chunk<'a>(text: &'a Rope, range: &Range<usize>) -> Option<&'a [u8]> {
    if range.start >= text.len_bytes() || range.end > text.len_bytes() {
        return None;
    }
    let (chunk, chunk_start, _, _) = text.chunk_at_byte(range.start);
    let start = range.start - chunk_start;
    let end = range.end - chunk_start;
    chunk.as_bytes().get(start..end)
}

/// Returns the text of `node`, borrowed from `text` when it lies inside
/// one chunk, and otherwise copied into `buffer`.
fn node_bytes<'a>(text: &'a Rope, node: Node<'_>, buffer: &'a mut Vec<u8>) -> &'a [u8] {
    let range = node.byte_range();
    if let Some(bytes) = within_one_chunk(text, &range) {
        return bytes;
    }
    buffer.clear();
    if let Some(slice) = text.get_byte_slice(range) {
        for chunk in slice.chunks() {
            buffer.extend_from_slice(chunk.as_bytes());
        }
    }
    buffer
}

/// Byte ranges of the string literals and block comments in `node` that
/// span several lines; subtrees on one line are skipped.
fn verbatim_ranges(node: Node<'_>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    if node.start_position().row == node.end_position().row {
        return out;
    }
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        if node.start_position().row == node.end_position().row {
            continue;
        }
        match node.kind() {
            "string_literal" | "raw_string_literal" | "block_comment" => {
                out.push(node.byte_range());
            }
            _ => {
                let mut cursor = node.walk();
                stack.extend(node.children(&mut cursor));
            }
        }
    }
    out.sort_by_key(|range| range.start);
    out
}

/// The text to insert for one template variable.
struct Inserted {
    text: String,
    /// Indentation of the document line where the capture starts.
    indent: String,
    /// `Capture::verbatim`, relative to the start of `text`.
    verbatim: Vec<Range<usize>>,
    /// The node's precedence when the capture is one node; several nodes
    /// (tokens of a macro call) are parsed when the precedence matters.
    known: Option<Precedence>,
}

impl Inserted {
    fn precedence(&self, required: Precedence) -> Precedence {
        match self.known {
            Some(precedence) => precedence,
            None if required == Precedence::Lowest => Precedence::Lowest,
            None => expression_precedence(&self.text).unwrap_or(Precedence::Lowest),
        }
    }
}

/// Copies the text of capture `name` in `found`, from its first node's
/// start to its last node's end; `None` when the capture matched no node.
fn capture_text(found: &RuleMatch, name: &str, text: &Rope) -> Option<Inserted> {
    let nodes: Vec<&Capture> = found
        .captures
        .iter()
        .filter(|capture| capture.name == name)
        .collect();
    let start = nodes.iter().map(|capture| capture.range.start).min()?;
    let end = nodes.iter().map(|capture| capture.range.end).max()?;
    let verbatim = nodes
        .iter()
        .flat_map(|capture| capture.verbatim.iter())
        .map(|range| range.start - start..range.end - start)
        .collect();
    Some(Inserted {
        text: text.byte_slice(start..end).to_string(),
        indent: line_indent_at(text, start),
        verbatim,
        known: match nodes.as_slice() {
            [single] => Some(single.precedence),
            _ => None,
        },
    })
}

/// Parses `text` as one Rust expression and returns its precedence, or
/// `None` when it is not one expression.
fn expression_precedence(text: &str) -> Option<Precedence> {
    let wrapped = format!("fn __concur_capture() {{\n({text})\n}}\n");
    let tree = Language::Rust.parse_str(&wrapped).ok()?;
    if tree.root_node().has_error() {
        return None;
    }
    let block = tree
        .root_node()
        .named_child(0)?
        .child_by_field_name("body")?;
    let parenthesized = block.named_child(0)?;
    let inner = parenthesized.named_child(0)?;
    (parenthesized.kind() == "parenthesized_expression"
        && inner.byte_range().len() == text.trim().len())
    .then(|| node_precedence(inner))
}

/// Returns the spaces and tabs that start the line containing byte
/// `offset`.
fn line_indent_at(text: &Rope, offset: usize) -> String {
    let line = text.byte_to_line(offset);
    let start = text.line_to_byte(line);
    let prefix = text.byte_slice(start..offset).to_string();
    leading_whitespace(&prefix).to_owned()
}

/// Appends template text, indenting each continuation line like the line
/// where the match starts, followed by the line's own indentation from the
/// template in `style`. Blank lines stay blank; a line break at the end of
/// `literal` is indented only when a variable follows on that line.
fn push_indented(
    out: &mut String,
    literal: &str,
    indent: &str,
    style: Option<IndentStyle>,
    variable_follows: bool,
) {
    let mut lines = literal.split('\n').peekable();
    let mut first = true;
    while let Some(line) = lines.next() {
        if first {
            out.push_str(line);
            first = false;
            continue;
        }
        out.push('\n');
        let last = lines.peek().is_none();
        if !line.is_empty() || (last && variable_follows) {
            let own = leading_whitespace(line);
            out.push_str(indent);
            out.push_str(&in_style(own, style));
            out.push_str(&line[own.len()..]);
        }
    }
}

/// Returns `indent` rewritten in `style`, or unchanged when the style is
/// unknown.
fn in_style(indent: &str, style: Option<IndentStyle>) -> String {
    match style {
        Some(style) => style.convert(indent),
        None => indent.to_owned(),
    }
}

/// Returns the indentation style of the first indented line after the
/// first line of `range`, for a match whose own line is not indented.
fn continuation_indent_style(text: &Rope, range: &Range<usize>) -> Option<IndentStyle> {
    let first = text.byte_to_line(range.start);
    let last = text.byte_to_line(range.end);
    (first + 1..=last).find_map(|line| match text.line(line).chars().next() {
        Some('\t') => Some(IndentStyle::Tabs),
        Some(' ') => Some(IndentStyle::Spaces),
        _ => None,
    })
}

/// Widens a deleted range: over its whole line(s) when nothing else is on
/// them, else over the spaces before it, unless a word character follows
/// the range and would join the word before the spaces.
fn deletion_range(text: &Rope, range: Range<usize>) -> Range<usize> {
    let first_line = text.byte_to_line(range.start);
    let line_start = text.line_to_byte(first_line);
    let last_line = text.byte_to_line(range.end);
    let next_line_start = if last_line + 1 < text.len_lines() {
        text.line_to_byte(last_line + 1)
    } else {
        text.len_bytes()
    };
    let before = text.byte_slice(line_start..range.start).to_string();
    let after = text.byte_slice(range.end..next_line_start).to_string();
    if before.trim().is_empty() && after.trim().is_empty() {
        return line_start..next_line_start;
    }
    let spaces = before.len() - before.trim_end_matches([' ', '\t']).len();
    let next_is_word = after
        .chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '_');
    if spaces > 0 && spaces < before.len() && !next_is_word {
        range.start - spaces..range.end
    } else {
        range
    }
}

/// Returns true when `node`, whose parent is `parent`, begins a statement:
/// it is an expression statement, the first child of one, or the tail
/// expression of a block.
fn starts_statement<'tree>(node: Node<'tree>, parent: Option<Node<'tree>>) -> bool {
    if node.kind() == "expression_statement" {
        return true;
    }
    let Some(parent) = parent else {
        return false;
    };
    match parent.kind() {
        "expression_statement" => parent.start_byte() == node.start_byte(),
        "block" => {
            let count = u32::try_from(parent.named_child_count()).unwrap_or(u32::MAX);
            let last = parent.named_child(count.saturating_sub(1));
            last.is_some_and(|last| last.id() == node.id())
        }
        _ => false,
    }
}

/// Returns true when `text`, placed at the start of a statement, would not
/// stay one expression: Rust ends a statement after a leading block-like
/// expression, so `match x {..} as i64` there splits after the `}`.
/// tree-sitter accepts the split form, so this looks at the shape instead.
fn ends_statement_early(text: &str) -> bool {
    let expression = text.trim_end().trim_end_matches(';').trim_end();
    if expression.trim().is_empty() {
        return false;
    }
    let wrapped = format!("fn __concur_statement() {{\nlet _ = ({expression});\n}}\n");
    let Ok(tree) = Language::Rust.parse_str(&wrapped) else {
        return false;
    };
    if tree.root_node().has_error() {
        return false;
    }
    let start = wrapped.find("= (").map_or(0, |open| open + "= (".len());
    let end = start + expression.len();
    let Some(mut node) = tree.root_node().descendant_for_byte_range(start, end) else {
        return false;
    };
    // Climb to the outermost node spanning exactly the expression.
    while let Some(parent) = node.parent() {
        if parent.byte_range() != (start..end) {
            break;
        }
        node = parent;
    }
    // Walk down its leftmost children: a block-like one that is shorter
    // than the whole would end the statement early.
    loop {
        let Some(first) = node.named_child(0) else {
            return false;
        };
        if first.start_byte() != node.start_byte() {
            return false;
        }
        if matches!(
            first.kind(),
            "match_expression"
                | "if_expression"
                | "block"
                | "loop_expression"
                | "while_expression"
                | "for_expression"
                | "unsafe_block"
        ) {
            return first.end_byte() < end;
        }
        node = first;
    }
}

/// Returns the parent of each of `nodes`, keyed by node id, from one walk
/// down from the root that enters only nodes containing one of `nodes`.
/// tree-sitter's `Node::parent` walks down from the root on every call, so
/// calling it for every match of a deep chain costs time quadratic in the
/// chain's depth. This walk visits each node on the way to a target once,
/// with its siblings.
fn parents_of<'tree>(tree: &'tree Tree, nodes: &[Node<'tree>]) -> HashMap<usize, Node<'tree>> {
    let mut parents = HashMap::with_capacity(nodes.len());
    if nodes.is_empty() {
        return parents;
    }
    let targets: HashSet<usize> = nodes.iter().map(Node::id).collect();
    let mut ranges: Vec<Range<usize>> = nodes.iter().map(Node::byte_range).collect();
    ranges.sort_by_key(|range| (range.start, range.end));
    // Whether some target lies inside `range`. A target that starts inside
    // it but ends after it is an ancestor, so the scan skips those.
    let contains_target = |range: Range<usize>| {
        let first = ranges.partition_point(|target| target.start < range.start);
        ranges[first..]
            .iter()
            .take_while(|target| target.start <= range.end)
            .any(|target| target.end <= range.end)
    };
    let mut cursor = tree.walk();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        for child in node.children(&mut cursor) {
            if targets.contains(&child.id()) {
                parents.insert(child.id(), node);
            }
            if contains_target(child.byte_range()) {
                stack.push(child);
            }
        }
    }
    parents
}

/// Returns true when a comment inside the matched range would be lost: it
/// lies outside every capture that the template inserts. Such a match is
/// skipped, since a rewrite must not delete the user's comments. `single`
/// is the `@match` node when there is one, which spans the whole range.
fn drops_a_comment(
    tree: &Tree,
    single: Option<Node<'_>>,
    matched: Range<usize>,
    captures: &[Capture],
    template: &super::Template,
) -> bool {
    let kept: Vec<&Range<usize>> = captures
        .iter()
        .filter(|capture| {
            template
                .variables()
                .any(|variable| variable.name == capture.name)
        })
        .map(|capture| &capture.range)
        .collect();
    // `descendant_for_byte_range` walks down from the root, so a single
    // match node is used as it is.
    let cover = single.or_else(|| {
        tree.root_node()
            .descendant_for_byte_range(matched.start, matched.end)
    });
    let Some(cover) = cover else {
        return false;
    };
    let mut stack = vec![cover];
    while let Some(node) = stack.pop() {
        let range = node.byte_range();
        if range.end <= matched.start || range.start >= matched.end {
            continue;
        }
        if node.kind().ends_with("comment") {
            if !kept
                .iter()
                .any(|capture| capture.start <= range.start && range.end <= capture.end)
            {
                return true;
            }
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    false
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    /// A one-rule set that rewrites calls of the function `name` (one
    /// argument, captured as `$x`) with `replace`.
    fn call_rule(name: &str, replace: &str) -> RuleSet {
        let text = format!(
            r#"
[[rule]]
id = "rewrite-{id}"
language = "rust"
message = "m"
query = '''
(call_expression
  function: (identifier) @function
  arguments: (arguments . (_) @x .)
  (#eq? @function "{name}")) @match
'''
replace = '''{replace}'''
"#,
            id = name.trim_end_matches('_').replace('_', "-")
        );
        RuleSet::from_toml_str(&text, Path::new("test.toml")).unwrap()
    }

    /// Renders every match of the set's rules in `text` and applies them
    /// (the fixtures here have no overlapping matches).
    fn rewrite(rules: &RuleSet, text: &str) -> String {
        let matcher = rules.matcher(Language::Rust).unwrap();
        let rope = Rope::from_str(text);
        let tree = Language::Rust.parse_rope(&rope, None).unwrap();
        let mut hunks = Vec::new();
        for (index, matches) in matcher.find(&tree, &rope, None).iter().enumerate() {
            for found in matches {
                hunks.extend(matcher.render(index, found, &rope).unwrap().into_hunks());
            }
        }
        hunks.sort_by_key(|hunk| hunk.range.start);
        let mut out = text.to_owned();
        for hunk in hunks.iter().rev() {
            out.replace_range(hunk.range.clone(), &hunk.text);
        }
        out
    }

    fn check(name: &str, replace: &str, before: &str, after: &str) {
        assert_eq!(rewrite(&call_rule(name, replace), before), after);
    }

    #[test]
    fn prefix_operand_parenthesised() {
        check(
            "not",
            "!$x",
            "fn f() { not(a && b); }",
            "fn f() { !(a && b); }",
        );
        check("not", "!$x", "fn f() { not(foo()); }", "fn f() { !foo(); }");
        check("not", "!$x", "fn f() { not(-a); }", "fn f() { !-a; }");
        check(
            "not",
            "!$x",
            "fn f() { not(a as bool); }",
            "fn f() { !(a as bool); }",
        );
    }

    #[test]
    fn postfix_receiver_parenthesised() {
        check("try_", "$x?", "fn f() { try_(*r); }", "fn f() { (*r)?; }");
        check("try_", "$x?", "fn f() { try_(x.y); }", "fn f() { x.y?; }");
        check(
            "empty",
            "$x.is_empty()",
            "fn f() { empty(a + b); }",
            "fn f() { (a + b).is_empty(); }",
        );
        check(
            "empty",
            "$x.is_empty()",
            "fn f() { empty(|| 1); }",
            "fn f() { (|| 1).is_empty(); }",
        );
        check(
            "field",
            "$x.0",
            "fn f() { field(&t); }",
            "fn f() { (&t).0; }",
        );
        check(
            "index",
            "$x[0]",
            "fn f() { index(a..b); }",
            "fn f() { (a..b)[0]; }",
        );
        check(
            "call",
            "$x()",
            "fn f() { call(v[0]); }",
            "fn f() { v[0](); }",
        );
    }

    #[test]
    fn binary_operands_by_precedence() {
        check(
            "double",
            "$x * 2",
            "fn f() { double(a + b); }",
            "fn f() { (a + b) * 2; }",
        );
        check(
            "double",
            "$x * 2",
            "fn f() { double(a * b); }",
            "fn f() { a * b * 2; }",
        );
        check(
            "half",
            "2 / $x",
            "fn f() { half(a * b); }",
            "fn f() { 2 / (a * b); }",
        );
        check(
            "cmp",
            "$x == 1",
            "fn f() { cmp(a < b); }",
            "fn f() { (a < b) == 1; }",
        );
        check(
            "both",
            "$x && ok",
            "fn f() { both(a || b); }",
            "fn f() { (a || b) && ok; }",
        );
        check(
            "both",
            "$x && ok",
            "fn f() { both(a == b); }",
            "fn f() { a == b && ok; }",
        );
    }

    #[test]
    fn whole_template_parenthesised_in_context() {
        // The rendered `a + 1` replaces a call that was an operand of `*`.
        check(
            "inc",
            "$x + 1",
            "fn f() { 2 * inc(a); }",
            "fn f() { 2 * (a + 1); }",
        );
        check(
            "inc",
            "$x + 1",
            "fn f() { g(inc(a)); }",
            "fn f() { g(a + 1); }",
        );
        // A lone variable takes the call's place, and its precedence.
        check(
            "id",
            "$x",
            "fn f() { id(a + b) * 2; }",
            "fn f() { (a + b) * 2; }",
        );
        check(
            "id",
            "$x",
            "fn f() { id(a * b) + 2; }",
            "fn f() { a * b + 2; }",
        );
        check(
            "id",
            "$x",
            "fn f() { !id(a && b); }",
            "fn f() { !(a && b); }",
        );
    }

    #[test]
    fn macro_arguments_and_paths_not_parenthesised() {
        check(
            "dbg_",
            "dbg!($x)",
            "fn f() { dbg_(a + b); }",
            "fn f() { dbg!(a + b); }",
        );
        check(
            "call",
            "g($x, 1)",
            "fn f() { call(a || b); }",
            "fn f() { g(a || b, 1); }",
        );
    }

    #[test]
    fn literal_dollar_rendered() {
        check(
            "money",
            "\"$$\".repeat($x)",
            "fn f() { money(3); }",
            "fn f() { \"$\".repeat(3); }",
        );
    }

    #[test]
    fn multi_line_template_indented() {
        check(
            "old",
            "new(\n    $x,\n)",
            "fn f() {\n    let v = old(vec![\n        1,\n        2,\n    ]);\n}\n",
            "fn f() {\n    let v = new(\n        vec![\n            1,\n            2,\n        ],\n    );\n}\n",
        );
    }

    #[test]
    fn multi_line_capture_dedented() {
        check(
            "wrap",
            "$x",
            "fn f() {\n    let v = wrap(\n        Point {\n            x: 1,\n        },\n    );\n}\n",
            "fn f() {\n    let v = Point {\n        x: 1,\n    };\n}\n",
        );
    }

    #[test]
    fn multi_line_template_indented_with_tabs() {
        // The template indents with spaces, but a tab-indented file gets
        // tabs, and the capture's lines move by one tab.
        check(
            "old",
            "new(\n    $x,\n)",
            "fn f() {\n\tlet v = old(vec![\n\t\t1,\n\t\t2,\n\t]);\n}\n",
            "fn f() {\n\tlet v = new(\n\t\tvec![\n\t\t\t1,\n\t\t\t2,\n\t\t],\n\t);\n}\n",
        );
        // A template indented with a tab gives spaces in a space-indented
        // file.
        check(
            "old",
            "new(\n\t$x,\n)",
            "fn f() {\n    let v = old(vec![\n        1,\n    ]);\n}\n",
            "fn f() {\n    let v = new(\n        vec![\n            1,\n        ],\n    );\n}\n",
        );
    }

    #[test]
    fn top_level_match_takes_style_from_its_lines() {
        // The match's own line is not indented, so the capture's lines
        // tell which character the file indents with.
        check(
            "old",
            "new(\n    $x,\n)",
            "const V: Vec<i32> = old(vec![\n\t1,\n]);\n",
            "const V: Vec<i32> = new(\n\tvec![\n\t\t1,\n\t],\n);\n",
        );
    }

    #[test]
    fn multi_line_capture_dedented_with_tabs() {
        check(
            "wrap",
            "$x",
            "fn f() {\n\tlet v = wrap(\n\t\tPoint {\n\t\t\tx: 1,\n\t\t},\n\t);\n}\n",
            "fn f() {\n\tlet v = Point {\n\t\tx: 1,\n\t};\n}\n",
        );
        // Spaces that align a line after its tabs stay as they are.
        check(
            "wrap",
            "$x",
            "fn f() {\n\tlet v = wrap(\n\t\tg(a,\n\t\t  b),\n\t);\n}\n",
            "fn f() {\n\tlet v = g(a,\n\t  b);\n}\n",
        );
    }

    #[test]
    fn multi_line_string_kept_verbatim() {
        check(
            "wrap",
            "$x",
            "fn f() {\n    let v = wrap(\n        g(\"x\n        y\",\n            z),\n    );\n}\n",
            "fn f() {\n    let v = g(\"x\n        y\",\n        z);\n}\n",
        );
    }

    #[test]
    fn optional_capture_may_be_absent() {
        let text = r#"
[[rule]]
id = "rename-g"
language = "rust"
message = "m"
query = '''
(call_expression
  function: (identifier) @function
  arguments: (arguments . (integer_literal)? @n .)
  (#eq? @function "g")) @match
'''
replace = "h($n)"
"#;
        let rules = RuleSet::from_toml_str(text, Path::new("test.toml")).unwrap();
        assert_eq!(
            rewrite(&rules, "fn f() { g(); g(1); }"),
            "fn f() { h(); h(1); }"
        );
    }

    #[test]
    fn render_rejects_foreign_match() {
        let rules = call_rule("id", "$x");
        let matcher = rules.matcher(Language::Rust).unwrap();
        let rope = Rope::from_str("fn f() {}");
        let found = RuleMatch {
            case: 0,
            node_range: 5..50,
            captures: Vec::new(),
            context: Precedence::Lowest,
            starts_statement: false,
        };
        let err = matcher.render(0, &found, &rope).unwrap_err();
        assert!(err.to_string().contains("5..50"), "{err}");
        let err = matcher.render(3, &found, &rope).unwrap_err();
        assert!(err.to_string().contains("rule index 3"), "{err}");
    }

    #[test]
    fn matcher_cached_per_rule_set() {
        let rules = RuleSet::builtin();
        let first = rules.matcher(Language::Rust).unwrap();
        let second = rules.clone().matcher(Language::Rust).unwrap();
        assert!(Arc::ptr_eq(&first, &second));
    }

    /// Counts the patterns of `source` compiled alone.
    fn pattern_count(source: &str) -> usize {
        Query::new(&Language::Rust.grammar(), source)
            .unwrap()
            .pattern_count()
    }

    #[test]
    fn one_query_holds_every_pattern() {
        let rules = RuleSet::builtin();
        let matcher = Matcher::build(&rules, Language::Rust, false).unwrap();
        let expected: usize = rules
            .rules()
            .iter()
            .flat_map(|rule| rule.cases())
            .map(|case| {
                pattern_count(case.query())
                    + case.within().map_or(0, pattern_count)
                    + case.not_within().map_or(0, pattern_count)
            })
            .sum();
        assert_eq!(matcher.query().pattern_count(), expected);
        assert!(expected > rules.rules().len(), "cases add patterns");
        let grouped = Matcher::new(&rules, Language::Rust).unwrap();
        assert!(
            grouped.query().pattern_count() < expected,
            "the bool-comparison cases differ only by `true` and `false`"
        );
    }

    /// Rules that rename identifiers of this crate's sources: several on
    /// one name, one with `#any-of?`, one with scopes and one with two
    /// cases on one name, so that the combined query groups them.
    fn rename_rules() -> RuleSet {
        let rule = |id: &str, predicate: &str, extra: &str| {
            format!(
                "[[rule]]\nid = \"{id}\"\nlanguage = \"rust\"\nmessage = \"m\"\n\
                 query = '([(identifier) (field_identifier)] @match {predicate})'\n\
                 replace = \"{id}\"\n{extra}\n"
            )
        };
        let mut text = String::new();
        text.push_str(&rule("rename-matcher", r#"(#eq? @match "matcher")"#, ""));
        text.push_str(&rule("rename-rules", r#"(#eq? @match "rules")"#, ""));
        text.push_str(&rule("rename-rules-again", r#"(#eq? @match "rules")"#, ""));
        text.push_str(&rule(
            "rename-text-or-tree",
            r#"(#any-of? @match "text" "tree")"#,
            "",
        ));
        text.push_str(&rule(
            "rename-found-in-functions",
            r#"(#eq? @match "found")"#,
            "within = '(function_item) @scope'\nnot_within = '(closure_expression) @scope'",
        ));
        text.push_str(
            r#"[[rule]]
id = "rename-range-twice"
language = "rust"
message = "m"

[[rule.case]]
query = '([(identifier) (field_identifier)] @match (#eq? @match "range"))'
replace = "first"

[[rule.case]]
query = '([(identifier) (field_identifier)] @match (#any-of? @match "start" "range"))'
replace = "second"
"#,
        );
        let user = RuleSet::from_toml_str(&text, Path::new("renames.toml")).unwrap();
        RuleSet::combine(user, Some(RuleSet::builtin()), &[]).unwrap()
    }

    #[test]
    fn grouped_find_equals_ungrouped() {
        let rules = rename_rules();
        let grouped = Matcher::new(&rules, Language::Rust).unwrap();
        let ungrouped = Matcher::build(&rules, Language::Rust, false).unwrap();
        assert!(grouped.query().pattern_count() + 6 <= ungrouped.query().pattern_count());
        let mut per_rule = vec![0; rules.rules().len()];
        let mut second_case = 0;
        for (path, text) in corpus() {
            let rope = Rope::from_str(&text);
            let tree = Language::Rust.parse_rope(&rope, None).unwrap();
            let expected = ungrouped.find(&tree, &rope, None);
            let found = grouped.find(&tree, &rope, None);
            assert_eq!(found, expected, "{}", path.display());
            for (count, matches) in per_rule.iter_mut().zip(&found) {
                *count += matches.len();
            }
            let twice = rules.position("rename-range-twice").unwrap();
            second_case += found[twice].iter().filter(|m| m.case == 1).count();
        }
        for (rule, count) in rules.rules().iter().zip(&per_rule).take(6) {
            assert!(*count > 0, "{} found nothing", rule.id);
        }
        assert!(second_case > 0, "`start` matches only the second case");
    }

    #[test]
    fn grouped_match_keeps_scopes() {
        let rules = rename_rules();
        let matcher = rules.matcher(Language::Rust).unwrap();
        let text = "fn f() { let found = 1; let g = |found: u8| found; }\nconst found: u8 = 0;\n";
        let rope = Rope::from_str(text);
        let tree = Language::Rust.parse_rope(&rope, None).unwrap();
        let all = matcher.find(&tree, &rope, None);
        let scoped = rules.position("rename-found-in-functions").unwrap();
        let ranges: Vec<Range<usize>> = all[scoped]
            .iter()
            .map(|found| found.node_range.clone())
            .collect();
        assert_eq!(
            ranges,
            vec![13..18],
            "only the `found` of the function body"
        );
    }

    /// Rust files to match against: this crate's sources and every built-in
    /// example, so that each rule has something to find.
    fn corpus() -> Vec<(PathBuf, String)> {
        let mut files = Vec::new();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut dirs = vec![src];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|ext| ext == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    files.push((path, text));
                }
            }
        }
        let examples: String = RuleSet::builtin()
            .rules()
            .iter()
            .filter_map(|rule| rule.example_before.clone())
            .collect();
        files.push((PathBuf::from("<examples>"), examples));
        files.sort();
        files
    }

    #[test]
    fn combined_find_equals_separate_queries() {
        let rules = RuleSet::builtin();
        let combined = rules.matcher(Language::Rust).unwrap();
        let separate: Vec<Matcher> = rules
            .rules()
            .iter()
            .map(|rule| Matcher::new(&RuleSet::new(vec![rule.clone()]), Language::Rust).unwrap())
            .collect();
        let mut total = 0;
        for (path, text) in corpus() {
            let rope = Rope::from_str(&text);
            let tree = Language::Rust.parse_rope(&rope, None).unwrap();
            let all = combined.find(&tree, &rope, None);
            assert_eq!(all.len(), rules.rules().len());
            for (index, matcher) in separate.iter().enumerate() {
                let alone = matcher.find(&tree, &rope, None);
                assert_eq!(
                    all[index],
                    alone[0],
                    "rule {} in {}",
                    rules.rules()[index].id,
                    path.display()
                );
                total += alone[0].len();
            }
        }
        assert!(
            total >= rules.rules().len(),
            "only {total} matches in the corpus"
        );
    }

    #[test]
    fn byte_ranges_split_matches_exactly() {
        let rules = RuleSet::builtin();
        let matcher = rules.matcher(Language::Rust).unwrap();
        let (_, text) = corpus().pop().expect("examples");
        let rope = Rope::from_str(&text);
        let tree = Language::Rust.parse_rope(&rope, None).unwrap();
        let whole = matcher.find(&tree, &rope, None);
        // Split at the start of every top-level item.
        let root = tree.root_node();
        let mut cursor = root.walk();
        let mut cuts: Vec<usize> = root
            .children(&mut cursor)
            .map(|item| item.start_byte())
            .collect();
        cuts[0] = 0;
        cuts.push(text.len());
        let mut joined: Vec<Vec<RuleMatch>> = vec![Vec::new(); whole.len()];
        for window in cuts.windows(2) {
            let part = matcher.find(&tree, &rope, Some(window[0]..window[1]));
            for (rule, matches) in part.into_iter().enumerate() {
                joined[rule].extend(matches);
            }
        }
        assert!(cuts.len() > 10, "the examples have many items");
        assert_eq!(joined, whole);
    }

    #[test]
    fn arbitrary_byte_ranges_split_matches() {
        let rules = RuleSet::builtin();
        let matcher = rules.matcher(Language::Rust).unwrap();
        let (_, text) = corpus().pop().expect("examples");
        let rope = Rope::from_str(&text);
        let tree = Language::Rust.parse_rope(&rope, None).unwrap();
        let whole = matcher.find(&tree, &rope, None);
        for step in [7, 37, 100] {
            let mut joined: Vec<Vec<RuleMatch>> = vec![Vec::new(); whole.len()];
            let mut start = 0;
            while start < text.len() {
                let end = (start + step).min(text.len());
                let part = matcher.find(&tree, &rope, Some(start..end));
                for (rule, matches) in part.into_iter().enumerate() {
                    joined[rule].extend(matches);
                }
                start = end;
            }
            assert_eq!(joined, whole, "ranges of {step} bytes");
        }
    }

    /// Returns the smallest power of two of partial matches that the
    /// combined built-in query needs open at once on `text`: with less
    /// room, tree-sitter drops a partial match and reports it.
    fn partial_match_room(text: &str) -> u32 {
        let matcher = RuleSet::builtin().matcher(Language::Rust).unwrap();
        let rope = Rope::from_str(text);
        let tree = Language::Rust.parse_rope(&rope, None).unwrap();
        let mut limit = 1;
        loop {
            let mut cursor = QueryCursor::new();
            cursor.set_match_limit(limit);
            let mut matches = cursor.matches(matcher.query(), tree.root_node(), RopeText(&rope));
            while matches.next().is_some() {}
            if !cursor.did_exceed_match_limit() || limit >= 1 << 16 {
                return limit;
            }
            limit *= 2;
        }
    }

    /// Returns a function whose body is one chain of `operands` operands
    /// joined by `operator`. Each operand is `operand` with `$i` replaced
    /// by the operand's index.
    fn chain(operands: usize, operator: &str, operand: &str) -> String {
        let parts: Vec<String> = (0..operands)
            .map(|index| operand.replace("$i", &index.to_string()))
            .collect();
        format!("fn f() -> bool {{\n    {}\n}}\n", parts.join(operator))
    }

    #[test]
    fn long_chains_keep_partial_matches_bounded() {
        // Each open partial match costs time at every node the query visits
        // until it closes. When a pattern's partial matches stay open across
        // a left-nested chain, matching is quadratic in the chain's length,
        // and the room needed grows with the chain.
        for operator in [" && ", " || ", " & ", " + "] {
            for operand in ["a$i", "a$i == true", "v$i.len() == 0", "x.m$i()"] {
                let short = partial_match_room(&chain(100, operator, operand));
                let long = partial_match_room(&chain(1000, operator, operand));
                assert!(
                    long <= short,
                    "operands {operand:?} joined by {operator:?}: 100 need room for {short} \
                     partial matches, 1000 for {long}"
                );
            }
        }
    }

    #[test]
    fn parents_of_equals_node_parent() {
        let (_, text) = corpus().pop().expect("examples");
        let tree = Language::Rust.parse_str(&text).unwrap();
        let mut nodes = Vec::new();
        let mut cursor = tree.walk();
        let mut stack = vec![tree.root_node()];
        while let Some(node) = stack.pop() {
            nodes.push(node);
            stack.extend(node.children(&mut cursor));
        }
        assert!(nodes.len() > 500, "{} nodes", nodes.len());
        let parents = parents_of(&tree, &nodes);
        for node in &nodes {
            assert_eq!(
                parents.get(&node.id()).copied(),
                node.parent(),
                "{} at {:?}",
                node.kind(),
                node.byte_range()
            );
        }
        // A few nodes only: the walk still finds each one's parent.
        let some: Vec<Node<'_>> = nodes.iter().step_by(97).copied().collect();
        let parents = parents_of(&tree, &some);
        for node in &some {
            assert_eq!(parents.get(&node.id()).copied(), node.parent());
        }
    }

    #[test]
    fn predicates_read_text_across_rope_chunks() {
        let rules = RuleSet::builtin();
        let matcher = rules.matcher(Language::Rust).unwrap();
        let copies = 500;
        let text =
            "fn f() -> bool { let long_receiver_name_x = 1; long_receiver_name_x.len() == 0 }\n"
                .repeat(copies);
        let rope = Rope::from_str(&text);
        assert!(rope.chunks().count() > 10);
        let tree = Language::Rust.parse_rope(&rope, None).unwrap();
        let found = matcher.find(&tree, &rope, None);
        let len_zero = rules.position("len-zero").unwrap();
        assert_eq!(found[len_zero].len(), copies);
    }
}
