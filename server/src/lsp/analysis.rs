//! Rule matches in one version of a document: the matches behind the
//! diagnostics and the quick fixes, and the merged edit of one match.

use std::ops::Range;
use std::sync::Arc;

use ropey::Rope;
use tower_lsp_server::ls_types::{Diagnostic, DiagnosticSeverity, NumberOrString};
use tree_sitter::Tree;

use super::settings::Effective;
use crate::document::{Snapshot, Version};
use crate::job::Attribution;
use crate::merge::{self, EditSet, MergeOptions, MergeReport, WorkerId};
use crate::rules::RuleMatch;
use crate::syntax::Language;
use crate::text::{encoding, ChangeSet, CharOffset, PositionEncoding};

/// Diagnostics and code actions name this as their source.
pub const SOURCE: &str = "concur";

/// One rule match, with its range in chars.
#[derive(Clone, Debug)]
pub struct Found {
    /// Index of the rule in the effective `RuleSet`.
    pub rule: usize,
    pub found: RuleMatch,
    pub chars: Range<usize>,
}

/// The rule matches of one version of a document.
#[derive(Debug)]
pub struct Analysis {
    pub version: Version,
    pub text: Rope,
    pub tree: Option<Tree>,
    pub effective: Arc<Effective>,
    /// Sorted by start.
    pub matches: Vec<Found>,
}

impl Analysis {
    /// Parses the snapshot and runs the combined query once. A document in
    /// a language no rule covers has no matches.
    ///
    /// # Errors
    /// A message when the rules cannot be compiled or the parser fails.
    pub fn run(
        snapshot: &Snapshot,
        language: Option<Language>,
        effective: Arc<Effective>,
    ) -> Result<Analysis, String> {
        let text = snapshot.text().clone();
        let Some(language) = language else {
            return Ok(Analysis {
                version: snapshot.version(),
                text,
                tree: None,
                effective,
                matches: Vec::new(),
            });
        };
        let matcher = effective
            .rules
            .matcher(language)
            .map_err(|error| error.to_string())?;
        let tree = language
            .parse_rope(&text, None)
            .map_err(|error| error.to_string())?;
        let mut matches: Vec<Found> = matcher
            .find(&tree, &text, None)
            .into_iter()
            .enumerate()
            .flat_map(|(rule, found)| {
                let text = &text;
                found.into_iter().map(move |found| Found {
                    rule,
                    chars: text.byte_to_char(found.node_range.start)
                        ..text.byte_to_char(found.node_range.end),
                    found,
                })
            })
            // A match whose rewrite is the text it matched has nothing to
            // fix. One whose rendering fails stays, so that its quick fix
            // reports the error.
            .filter(|found| {
                matcher
                    .render(found.rule, &found.found, &text)
                    .map_or(true, |group| {
                        group
                            .hunks()
                            .iter()
                            .any(|hunk| text.byte_slice(hunk.range.clone()) != hunk.text.as_str())
                    })
            })
            .collect();
        matches.sort_by_key(|found| (found.chars.start, found.chars.end, found.rule));
        Ok(Analysis {
            version: snapshot.version(),
            text,
            tree: Some(tree),
            effective,
            matches,
        })
    }

    /// Builds one hint diagnostic per match.
    pub fn diagnostics(&self, encoding: PositionEncoding) -> Vec<Diagnostic> {
        let rules = self.effective.rules.rules();
        self.matches
            .iter()
            .map(|found| {
                let rule = &rules[found.rule];
                Diagnostic {
                    range: encoding::chars_to_range(
                        &self.text,
                        CharOffset(found.chars.start)..CharOffset(found.chars.end),
                        encoding,
                    ),
                    severity: Some(DiagnosticSeverity::HINT),
                    code: Some(NumberOrString::String(rule.id.clone())),
                    source: Some(SOURCE.to_owned()),
                    message: rule.message.clone(),
                    ..Diagnostic::default()
                }
            })
            .collect()
    }

    /// Indexes of the matches that overlap or touch `range` (chars).
    pub fn matches_in(&self, range: &Range<usize>) -> Vec<usize> {
        self.matches
            .iter()
            .enumerate()
            .filter(|(_, found)| found.chars.start <= range.end && range.start <= found.chars.end)
            .map(|(index, _)| index)
            .collect()
    }

    /// Renders match `index` and merges it alone, with syntax validation,
    /// into a change on this version.
    ///
    /// # Errors
    /// A message when rendering fails or the result would add a syntax
    /// error.
    pub fn fix_one(&self, index: usize) -> Result<(ChangeSet, Vec<Attribution>), String> {
        let found = self
            .matches
            .get(index)
            .ok_or_else(|| format!("match {index} does not exist"))?;
        let Some(tree) = &self.tree else {
            return Err("the document has no syntax tree".to_owned());
        };
        let rule = &self.effective.rules.rules()[found.rule];
        let language = rule.language;
        let matcher = self
            .effective
            .rules
            .matcher(language)
            .map_err(|error| error.to_string())?;
        let group = matcher
            .render(found.rule, &found.found, &self.text)
            .map_err(|error| error.to_string())?;
        let set = EditSet {
            worker: WorkerId(u32::try_from(found.rule).unwrap_or(u32::MAX)),
            priority: rule.priority,
            label: rule.id.clone(),
            groups: vec![group],
        };
        let base = self.text.to_string();
        let merged = merge::merge_with_tree(
            &base,
            Some(tree),
            &[set],
            &MergeOptions {
                language: Some(language),
                ..MergeOptions::default()
            },
        )
        .map_err(|error| error.to_string())?;
        if merged.report.applied() == 0 {
            return Err(explain_unapplied(&rule.id, &merged.report));
        }
        let (attribution, _) = crate::job::attribute_merge(&merged);
        Ok((merged.change, attribution))
    }
}

fn explain_unapplied(rule: &str, report: &MergeReport) -> String {
    if report.dropped() > 0 {
        format!("the {rule} fix here would add a syntax error, so it was not made")
    } else {
        format!("the {rule} fix here changes nothing")
    }
}
