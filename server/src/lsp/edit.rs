//! From a job's change to the protocol's edits: rebasing onto the newest
//! version, converting to the negotiated position encoding, combining
//! inserts that share a position, and assembling one `WorkspaceEdit` with a
//! change annotation per rule.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use ropey::Rope;
use tower_lsp_server::ls_types::{
    AnnotatedTextEdit, ChangeAnnotation, DocumentChanges, OneOf,
    OptionalVersionedTextDocumentIdentifier, TextDocumentEdit, TextEdit, Uri, WorkspaceEdit,
};

use crate::document::{Document, DocumentError, Version};
use crate::job::Attribution;
use crate::rules::RuleSet;
use crate::text::{encoding, ChangeSet, CharOffset, PositionEncoding};

/// The rule an edit is annotated with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleTag {
    pub id: String,
    pub message: String,
    pub confirm: bool,
}

/// One text edit, ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedEdit {
    pub range: tower_lsp_server::ls_types::Range,
    pub text: String,
    /// The rule the edit is shown under: one that needs confirmation if
    /// any of the edit's rules does, else the first.
    pub rule: Option<RuleTag>,
}

/// The edits of one document, on one version.
#[derive(Clone, Debug)]
pub struct DocumentEdit {
    pub uri: Uri,
    /// The version the edits apply to; `None` for a file that is not open.
    pub version: Option<Version>,
    pub edits: Vec<PlannedEdit>,
    /// Groups left out because the user edited their text meanwhile (see
    /// [`RebasedEdits::dropped_groups`]).
    pub dropped_groups: Vec<u32>,
}

/// The forms of `WorkspaceEdit` the client accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EditSupport {
    pub document_changes: bool,
    pub change_annotations: bool,
}

/// One replacement on the text the edits will refer to, in chars, with the
/// indexes of the rules behind it.
struct Piece<'a> {
    range: Range<CharOffset>,
    text: &'a str,
    rules: &'a [usize],
}

/// Edits rebased onto a document's current version.
#[derive(Clone, Debug, Default)]
pub struct RebasedEdits {
    pub edits: Vec<PlannedEdit>,
    /// The groups (indexes into the job's `group_refs`) left out because
    /// the user edited text that one of their replacements touches.
    pub dropped_groups: Vec<u32>,
    /// Replacements left out, those of the dropped groups included.
    pub dropped_replacements: usize,
}

/// Rebases `change`, made on version `base` with `attribution` as
/// [`crate::job::DocumentOutcome`] gives it, onto the document's current
/// version and returns the edits on that version. Groups stay whole: when
/// the user's edits overlap one replacement of a group, every replacement
/// of that group is left out.
///
/// # Errors
/// The rebase errors of [`Document::rebase`].
pub fn rebased_edits(
    document: &Document,
    change: &ChangeSet,
    base: Version,
    attribution: &[Attribution],
    rules: &RuleSet,
    encoding: PositionEncoding,
) -> Result<RebasedEdits, DocumentError> {
    let replacements = change.replacements();
    let index_of = |range: &Range<CharOffset>| {
        replacements
            .binary_search_by(|replacement| {
                (replacement.range.start, replacement.range.end).cmp(&(range.start, range.end))
            })
            .ok()
    };
    let mut rebased = document.rebase(change, base)?;
    let mut dropped = vec![false; replacements.len()];
    let mut dropped_groups: BTreeSet<u32> = BTreeSet::new();
    let mut ungrouped = 0;
    while !rebased.overlapped.is_empty() {
        for range in &rebased.overlapped {
            if let Some(index) = index_of(range) {
                dropped[index] = true;
                let groups = attribution
                    .get(index)
                    .map_or(&[][..], |a| a.groups.as_slice());
                if groups.is_empty() {
                    ungrouped += 1;
                }
                dropped_groups.extend(groups.iter().copied());
            }
        }
        // A dropped group takes all its replacements along, and those may
        // carry further groups.
        let mut grew = true;
        while grew {
            grew = false;
            for (index, origin) in attribution.iter().enumerate() {
                if index < dropped.len()
                    && !dropped[index]
                    && origin
                        .groups
                        .iter()
                        .any(|group| dropped_groups.contains(group))
                {
                    dropped[index] = true;
                    dropped_groups.extend(origin.groups.iter().copied());
                    grew = true;
                }
            }
        }
        let reduced = ChangeSet::from_replacements(
            change.len(),
            replacements
                .iter()
                .zip(&dropped)
                .filter(|(_, dropped)| !**dropped)
                .map(|(replacement, _)| (replacement.range.clone(), replacement.text)),
        )?;
        rebased = document.rebase(&reduced, base)?;
    }
    let pieces = rebased.kept.iter().map(|kept| Piece {
        range: kept.range.clone(),
        text: &kept.text,
        rules: index_of(&kept.original)
            .and_then(|index| attribution.get(index))
            .map_or(&[][..], |a| a.rules.as_slice()),
    });
    let edits = plan(document.text(), pieces, rules, encoding);
    let dropped_replacements = dropped.iter().filter(|dropped| **dropped).count();
    let mut dropped_groups: Vec<u32> = dropped_groups.into_iter().collect();
    // Replacements without a group count as one group each.
    dropped_groups.extend(std::iter::repeat_n(u32::MAX, ungrouped));
    Ok(RebasedEdits {
        edits,
        dropped_groups,
        dropped_replacements,
    })
}

/// Converts `change`, made on `text`, to edits on `text`: the path for
/// files that are not open.
pub fn direct_edits(
    text: &Rope,
    change: &ChangeSet,
    attribution: &[Attribution],
    rules: &RuleSet,
    encoding: PositionEncoding,
) -> Vec<PlannedEdit> {
    let replacements = change.replacements();
    let pieces = replacements
        .iter()
        .enumerate()
        .map(|(index, replacement)| Piece {
            range: replacement.range.clone(),
            text: replacement.text,
            rules: attribution
                .get(index)
                .map_or(&[][..], |a| a.rules.as_slice()),
        });
    plan(text, pieces, rules, encoding)
}

/// Sorts nothing (the pieces come sorted and disjoint), joins pieces that
/// start at the same offset (only an insert can share its start with a
/// later piece), and converts ranges to `encoding` on `text`.
fn plan<'a>(
    text: &Rope,
    pieces: impl Iterator<Item = Piece<'a>>,
    rules: &RuleSet,
    encoding: PositionEncoding,
) -> Vec<PlannedEdit> {
    let mut joined: Vec<(Range<CharOffset>, String, Vec<usize>)> = Vec::new();
    for piece in pieces {
        match joined.last_mut() {
            Some((range, joined_text, joined_rules)) if range.start == piece.range.start => {
                range.end = piece.range.end;
                joined_text.push_str(piece.text);
                joined_rules.extend_from_slice(piece.rules);
            }
            _ => joined.push((piece.range, piece.text.to_owned(), piece.rules.to_vec())),
        }
    }
    joined
        .into_iter()
        .map(|(range, new_text, indexes)| PlannedEdit {
            range: encoding::chars_to_range(text, range, encoding),
            text: new_text,
            rule: tag(&indexes, rules),
        })
        .collect()
}

fn tag(indexes: &[usize], rules: &RuleSet) -> Option<RuleTag> {
    let candidates: Vec<_> = indexes
        .iter()
        .filter_map(|index| rules.rules().get(*index))
        .collect();
    let chosen = candidates
        .iter()
        .find(|rule| rule.confirm)
        .or_else(|| candidates.first())?;
    Some(RuleTag {
        id: chosen.id.clone(),
        message: chosen.message.clone(),
        confirm: chosen.confirm,
    })
}

/// Assembles one `WorkspaceEdit` from the documents' edits, in the form the
/// client supports. Documents without edits are left out.
pub fn workspace_edit(documents: &[DocumentEdit], support: EditSupport) -> WorkspaceEdit {
    let documents: Vec<&DocumentEdit> = documents
        .iter()
        .filter(|document| !document.edits.is_empty())
        .collect();
    if !support.document_changes {
        let changes: HashMap<Uri, Vec<TextEdit>> = documents
            .iter()
            .map(|document| {
                let edits = document
                    .edits
                    .iter()
                    .map(|edit| TextEdit::new(edit.range, edit.text.clone()))
                    .collect();
                (document.uri.clone(), edits)
            })
            .collect();
        return WorkspaceEdit {
            changes: Some(changes),
            ..WorkspaceEdit::default()
        };
    }
    let mut annotations: BTreeMap<String, ChangeAnnotation> = BTreeMap::new();
    let edits = documents
        .iter()
        .map(|document| TextDocumentEdit {
            text_document: OptionalVersionedTextDocumentIdentifier {
                uri: document.uri.clone(),
                version: document.version,
            },
            edits: document
                .edits
                .iter()
                .map(|edit| {
                    let text_edit = TextEdit::new(edit.range, edit.text.clone());
                    match (&edit.rule, support.change_annotations) {
                        (Some(rule), true) => {
                            annotations.entry(rule.id.clone()).or_insert_with(|| {
                                ChangeAnnotation {
                                    label: rule.id.clone(),
                                    needs_confirmation: Some(rule.confirm),
                                    description: Some(rule.message.clone()),
                                }
                            });
                            OneOf::Right(AnnotatedTextEdit {
                                text_edit,
                                annotation_id: rule.id.clone(),
                            })
                        }
                        _ => OneOf::Left(text_edit),
                    }
                })
                .collect(),
        })
        .collect();
    WorkspaceEdit {
        changes: None,
        document_changes: Some(DocumentChanges::Edits(edits)),
        change_annotations: (!annotations.is_empty()).then(|| annotations.into_iter().collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Origin;
    use tower_lsp_server::ls_types::Position;

    fn rules() -> RuleSet {
        RuleSet::builtin()
    }

    fn rules_of(rules: &[usize]) -> Attribution {
        Attribution {
            rules: rules.to_vec(),
            groups: Vec::new(),
        }
    }

    fn index_of(id: &str) -> usize {
        rules().position(id).unwrap()
    }

    #[test]
    fn inserts_at_one_position_become_one_edit() {
        // Two inserts 3 chars apart, then the user deletes the 3 chars
        // between them: both land on one offset.
        let mut document = Document::new("abcdefgh", 1, "rust");
        let change = ChangeSet::from_replacements(
            8,
            [
                (CharOffset(2)..CharOffset(2), "X"),
                (CharOffset(5)..CharOffset(5), "Y"),
            ],
        )
        .unwrap();
        let user = ChangeSet::replace(8, CharOffset(2)..CharOffset(5), "").unwrap();
        document.apply(user, 2, Origin::Editor).unwrap();
        let attribution = vec![
            rules_of(&[index_of("try-macro")]),
            rules_of(&[index_of("len-zero")]),
        ];
        let RebasedEdits {
            edits,
            dropped_groups,
            ..
        } = rebased_edits(
            &document,
            &change,
            1,
            &attribution,
            &rules(),
            PositionEncoding::Utf16,
        )
        .unwrap();
        assert!(dropped_groups.is_empty());
        assert_eq!(edits.len(), 1, "{edits:?}");
        assert_eq!(edits[0].text, "XY");
        assert_eq!(edits[0].range.start, Position::new(0, 2));
        assert_eq!(edits[0].range.end, Position::new(0, 2));
    }

    #[test]
    fn an_insert_joins_the_replacement_at_its_offset() {
        let mut document = Document::new("abcdefgh", 1, "rust");
        let change = ChangeSet::from_replacements(
            8,
            [
                (CharOffset(2)..CharOffset(2), "X"),
                (CharOffset(5)..CharOffset(6), "Y"),
            ],
        )
        .unwrap();
        let user = ChangeSet::replace(8, CharOffset(2)..CharOffset(5), "").unwrap();
        document.apply(user, 2, Origin::Editor).unwrap();
        let RebasedEdits { edits, .. } = rebased_edits(
            &document,
            &change,
            1,
            &[Attribution::default(), Attribution::default()],
            &rules(),
            PositionEncoding::Utf8,
        )
        .unwrap();
        assert_eq!(edits.len(), 1, "{edits:?}");
        assert_eq!(edits[0].text, "XY");
        assert_eq!(edits[0].range.end, Position::new(0, 3));
        let mut text = document.text().to_string();
        text.replace_range(2..3, "XY");
        assert_eq!(text, "abXYgh");
    }

    #[test]
    fn overlapped_replacements_are_counted_and_left_out() {
        let mut document = Document::new("let a = 1;\nlet b = 2;\n", 1, "rust");
        let change = ChangeSet::from_replacements(
            22,
            [
                (CharOffset(4)..CharOffset(5), "x"),
                (CharOffset(15)..CharOffset(16), "y"),
            ],
        )
        .unwrap();
        let user = ChangeSet::replace(22, CharOffset(15)..CharOffset(16), "typed").unwrap();
        document.apply(user, 5, Origin::Editor).unwrap();
        let RebasedEdits {
            edits,
            dropped_groups,
            ..
        } = rebased_edits(
            &document,
            &change,
            1,
            &[Attribution::default(), Attribution::default()],
            &rules(),
            PositionEncoding::Utf16,
        )
        .unwrap();
        assert_eq!(dropped_groups, [u32::MAX]);
        assert_eq!(edits.len(), 1);
        assert_eq!(edits[0].text, "x");
    }

    #[test]
    fn a_group_is_dropped_whole() {
        // Group 0 edits both lines; the user types over its first edit.
        let mut document = Document::new("let a = 1;\nlet b = 2;\nlet c = 3;\n", 1, "rust");
        let change = ChangeSet::from_replacements(
            33,
            [
                (CharOffset(4)..CharOffset(5), "x"),
                (CharOffset(15)..CharOffset(16), "y"),
                (CharOffset(26)..CharOffset(27), "z"),
            ],
        )
        .unwrap();
        let attribution = [
            Attribution {
                rules: vec![0],
                groups: vec![0],
            },
            Attribution {
                rules: vec![0],
                groups: vec![0],
            },
            Attribution {
                rules: vec![1],
                groups: vec![1],
            },
        ];
        let user = ChangeSet::replace(33, CharOffset(4)..CharOffset(5), "typed").unwrap();
        document.apply(user, 2, Origin::Editor).unwrap();
        let rebased = rebased_edits(
            &document,
            &change,
            1,
            &attribution,
            &rules(),
            PositionEncoding::Utf16,
        )
        .unwrap();
        assert_eq!(rebased.dropped_groups, [0]);
        assert_eq!(rebased.dropped_replacements, 2);
        assert_eq!(rebased.edits.len(), 1);
        assert_eq!(rebased.edits[0].text, "z");
    }

    #[test]
    fn annotations_follow_the_client() {
        // The built-in catalog marks expect-fun-call `confirm`; an edit made
        // by it and another rule is shown under it.
        let confirm_rule = rules()
            .rules()
            .iter()
            .position(|rule| rule.confirm)
            .expect("a built-in rule needs confirmation");
        let document = DocumentEdit {
            uri: "file:///a.rs".parse().unwrap(),
            version: Some(3),
            edits: vec![PlannedEdit {
                range: tower_lsp_server::ls_types::Range::default(),
                text: "x".to_owned(),
                rule: tag(&[index_of("try-macro"), confirm_rule], &rules()),
            }],
            dropped_groups: Vec::new(),
        };
        let plain = workspace_edit(std::slice::from_ref(&document), EditSupport::default());
        assert!(plain.changes.is_some() && plain.document_changes.is_none());
        let versioned = workspace_edit(
            std::slice::from_ref(&document),
            EditSupport {
                document_changes: true,
                change_annotations: false,
            },
        );
        let json = serde_json::to_value(&versioned).unwrap();
        assert_eq!(json["documentChanges"][0]["textDocument"]["version"], 3);
        assert!(json.get("changeAnnotations").is_none());
        let annotated = workspace_edit(
            &[document],
            EditSupport {
                document_changes: true,
                change_annotations: true,
            },
        );
        let json = serde_json::to_value(&annotated).unwrap();
        let id = json["documentChanges"][0]["edits"][0]["annotationId"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(json["changeAnnotations"][&id]["label"], id);
        assert_eq!(id, "expect-fun-call");
        assert_eq!(json["changeAnnotations"][&id]["needsConfirmation"], true);
    }

    #[test]
    fn closed_files_carry_a_null_version() {
        let document = DocumentEdit {
            uri: "file:///b.rs".parse().unwrap(),
            version: None,
            edits: direct_edits(
                &Rope::from_str("ab"),
                &ChangeSet::replace(2, CharOffset(0)..CharOffset(1), "z").unwrap(),
                &[Attribution::default()],
                &rules(),
                PositionEncoding::Utf16,
            ),
            dropped_groups: Vec::new(),
        };
        let json = serde_json::to_value(workspace_edit(
            &[document],
            EditSupport {
                document_changes: true,
                change_annotations: true,
            },
        ))
        .unwrap();
        assert!(json["documentChanges"][0]["textDocument"]["version"].is_null());
        assert_eq!(json["documentChanges"][0]["edits"][0]["newText"], "z");
    }
}
