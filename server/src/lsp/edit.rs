//! From a job's change to the protocol's edits: rebasing onto the newest
//! version, converting to the negotiated position encoding, combining
//! inserts that share a position, and assembling one `WorkspaceEdit` with a
//! change annotation per rule.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use ropey::Rope;
use tower_lsp_server::ls_types::{
    AnnotatedTextEdit, ChangeAnnotation, DocumentChanges, OneOf,
    OptionalVersionedTextDocumentIdentifier, TextDocumentEdit, TextEdit, Uri, WorkspaceEdit,
};

use crate::document::{Document, DocumentError, Version};
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
    /// Replacements left out because the user edited their text meanwhile.
    pub overlapped: usize,
}

/// What the client accepts in a `WorkspaceEdit`.
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

/// Rebases `change`, made on version `base` with `attribution` as
/// [`crate::job::DocumentOutcome`] gives it, onto the document's current
/// version and returns the edits on that version with the number of
/// replacements the user's edits overlapped.
///
/// # Errors
/// The rebase errors of [`Document::rebase`].
pub fn rebased_edits(
    document: &Document,
    change: &ChangeSet,
    base: Version,
    attribution: &[Vec<usize>],
    rules: &RuleSet,
    encoding: PositionEncoding,
) -> Result<(Vec<PlannedEdit>, usize), DocumentError> {
    let rebased = document.rebase(change, base)?;
    let starts: Vec<(Range<CharOffset>, usize)> = change
        .replacements()
        .iter()
        .enumerate()
        .map(|(index, replacement)| (replacement.range.clone(), index))
        .collect();
    let pieces = rebased.kept.iter().map(|kept| {
        // Rebase keeps each replacement's original range, so it is found
        // exactly among the change's replacements.
        let index = starts
            .binary_search_by(|(range, _)| {
                (range.start, range.end).cmp(&(kept.original.start, kept.original.end))
            })
            .map(|found| starts[found].1)
            .ok();
        Piece {
            range: kept.range.clone(),
            text: &kept.text,
            rules: index
                .and_then(|index| attribution.get(index))
                .map_or(&[][..], Vec::as_slice),
        }
    });
    let edits = plan(document.text(), pieces, rules, encoding);
    Ok((edits, rebased.overlapped.len()))
}

/// Converts `change`, made on `text`, to edits on `text`: the path for
/// files that are not open.
pub fn direct_edits(
    text: &Rope,
    change: &ChangeSet,
    attribution: &[Vec<usize>],
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
            rules: attribution.get(index).map_or(&[][..], Vec::as_slice),
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
        let attribution = vec![vec![index_of("try-macro")], vec![index_of("len-zero")]];
        let (edits, overlapped) = rebased_edits(
            &document,
            &change,
            1,
            &attribution,
            &rules(),
            PositionEncoding::Utf16,
        )
        .unwrap();
        assert_eq!(overlapped, 0);
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
        let (edits, _) = rebased_edits(
            &document,
            &change,
            1,
            &[vec![], vec![]],
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
        let (edits, overlapped) = rebased_edits(
            &document,
            &change,
            1,
            &[vec![], vec![]],
            &rules(),
            PositionEncoding::Utf16,
        )
        .unwrap();
        assert_eq!(overlapped, 1);
        assert_eq!(edits.len(), 1);
        assert_eq!(edits[0].text, "x");
    }

    #[test]
    fn annotations_follow_the_client() {
        let confirm_rule = rules()
            .rules()
            .iter()
            .position(|rule| rule.confirm)
            .unwrap_or(0);
        let document = DocumentEdit {
            uri: "file:///a.rs".parse().unwrap(),
            version: Some(3),
            edits: vec![PlannedEdit {
                range: tower_lsp_server::ls_types::Range::default(),
                text: "x".to_owned(),
                rule: tag(&[index_of("try-macro"), confirm_rule], &rules()),
            }],
            overlapped: 0,
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
    }

    #[test]
    fn closed_files_carry_a_null_version() {
        let document = DocumentEdit {
            uri: "file:///b.rs".parse().unwrap(),
            version: None,
            edits: direct_edits(
                &Rope::from_str("ab"),
                &ChangeSet::replace(2, CharOffset(0)..CharOffset(1), "z").unwrap(),
                &[vec![]],
                &rules(),
                PositionEncoding::Utf16,
            ),
            overlapped: 0,
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
