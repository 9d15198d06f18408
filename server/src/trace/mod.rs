//! Editing traces: loading the gzipped JSON histories of real editing
//! sessions and replaying them through a `Document` (or a bare rope, as the
//! baseline), checking the result against the trace's final text.
//!
//! The format is the one of the public editing-traces collection. A
//! sequential trace is `{startContent, endContent, txns}`; a concurrent one
//! is `{kind: "concurrent", endContent, numAgents, txns}` whose transactions
//! also name their `parents` and `agent`. Each transaction's `patches` are
//! `[position, deleteCount, insertText]` in chars, applied in order, on the
//! document as that transaction's author saw it.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flate2::read::GzDecoder;
use ropey::Rope;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::document::event_graph::{EffectOp, EventGraph, EventGraphError, Patch as GraphPatch};
use crate::document::{Document, DocumentError, Origin};
use crate::text::{ChangeSet, ChangeSetError, CharOffset};

/// One `[position, deleteCount, insertText]` patch, positions in chars.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Patch(pub usize, pub usize, pub String);

/// One transaction of a trace.
#[derive(Clone, Debug, Deserialize)]
pub struct Transaction {
    pub patches: Vec<Patch>,
    /// Earlier transactions this one was made after; only in concurrent
    /// traces.
    #[serde(default)]
    pub parents: Option<Vec<usize>>,
    /// The author's index; only in concurrent traces.
    #[serde(default)]
    pub agent: Option<u32>,
}

/// A loaded trace.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trace {
    #[serde(skip)]
    pub name: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub start_content: String,
    pub end_content: String,
    pub txns: Vec<Transaction>,
}

impl Trace {
    /// Returns true when the transactions form a causal graph rather than
    /// one line.
    pub fn is_concurrent(&self) -> bool {
        self.kind.as_deref() == Some("concurrent")
            || self.txns.iter().any(|txn| txn.parents.is_some())
    }

    pub fn patch_count(&self) -> usize {
        self.txns.iter().map(|txn| txn.patches.len()).sum()
    }
}

/// Target of a replay: a document with a log, or a bare rope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplayMode {
    /// A `Document`: one logged `ChangeSet` per transaction.
    Document,
    /// A plain `Rope` with no log, as the baseline.
    Bare,
}

/// The JSON line `concur bench-trace` prints.
#[derive(Clone, Debug, Serialize)]
pub struct ReplayReport {
    pub trace: String,
    pub mode: ReplayMode,
    pub concurrent: bool,
    pub transactions: usize,
    pub patches: usize,
    /// Final document length in chars.
    pub final_length: usize,
    pub elapsed_ms: f64,
    pub transactions_per_second: f64,
}

/// Errors of loading and replaying traces.
#[derive(Debug, Error)]
pub enum TraceError {
    #[error("cannot read trace {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "trace {path} is not a valid editing trace: {source}; expected gzipped or plain JSON \
         with endContent and txns (each with patches)"
    )]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "trace {path} has kind {kind:?}; the known kinds are \"concurrent\" and none \
         (a sequential trace)"
    )]
    UnknownKind { path: PathBuf, kind: String },
    #[error(
        "transaction {txn}, patch {patch}: position {position} + delete {delete} is past the \
         end of the document, which has {len} chars at that point; positions and deletes must \
         stay within 0 to {len}"
    )]
    PatchOutOfRange {
        txn: usize,
        patch: usize,
        position: usize,
        delete: usize,
        len: usize,
    },
    #[error("transaction {txn}: {source}")]
    Document {
        txn: usize,
        #[source]
        source: DocumentError,
    },
    /// The graph's errors name the transaction and patch themselves.
    #[error(transparent)]
    Graph(#[from] EventGraphError),
    #[error(
        "replay of {trace} does not match endContent: first difference at char {offset} \
         (replayed {actual_len} chars, expected {expected_len})"
    )]
    Mismatch {
        trace: String,
        offset: usize,
        actual_len: usize,
        expected_len: usize,
    },
}

/// Reads a trace from gzipped or plain JSON.
///
/// # Errors
/// `Io` when the file cannot be read, `Parse` when it is not a trace.
pub fn load(path: &Path) -> Result<Trace, TraceError> {
    let io_error = |source| TraceError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    let mut bytes = Vec::new();
    if path.extension().is_some_and(|ext| ext == "gz") {
        GzDecoder::new(BufReader::new(file))
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
    } else {
        BufReader::new(file)
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
    }
    let mut trace: Trace = serde_json::from_slice(&bytes).map_err(|source| TraceError::Parse {
        path: path.to_owned(),
        source,
    })?;
    if let Some(kind) = trace.kind.as_deref().filter(|kind| *kind != "concurrent") {
        return Err(TraceError::UnknownKind {
            path: path.to_owned(),
            kind: kind.to_owned(),
        });
    }
    trace.name = trace_name(path);
    Ok(trace)
}

/// Returns the file name without `.json.gz` or `.json`.
fn trace_name(path: &Path) -> String {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    name.trim_end_matches(".gz")
        .trim_end_matches(".json")
        .to_owned()
}

/// Replays `trace`, checks the result against its `endContent` and reports
/// the time spent replaying (loading excluded).
///
/// # Errors
/// `Mismatch` with the first differing char offset, or the error of the
/// first transaction that could not be applied.
pub fn replay(trace: &Trace, mode: ReplayMode) -> Result<ReplayReport, TraceError> {
    let started = Instant::now();
    let replayed = if trace.is_concurrent() {
        replay_concurrent(trace, mode)?
    } else {
        replay_sequential(trace, mode)?
    };
    let elapsed = started.elapsed();
    // Freeing the change log is not part of the replay, so it happens
    // after the clock stops.
    check_end_content(trace, replayed.text())?;
    Ok(report(trace, mode, replayed.text().len_chars(), elapsed))
}

fn report(trace: &Trace, mode: ReplayMode, final_length: usize, elapsed: Duration) -> ReplayReport {
    let seconds = elapsed.as_secs_f64();
    let transactions = trace.txns.len();
    ReplayReport {
        trace: trace.name.clone(),
        mode,
        concurrent: trace.is_concurrent(),
        transactions,
        patches: trace.patch_count(),
        final_length,
        elapsed_ms: seconds * 1000.0,
        transactions_per_second: if seconds > 0.0 {
            transactions as f64 / seconds
        } else {
            f64::INFINITY
        },
    }
}

/// The result of a replay: the document with its log, or a bare rope.
pub enum Replayed {
    Document(Document),
    Bare(Rope),
}

impl Replayed {
    pub fn text(&self) -> &Rope {
        match self {
            Replayed::Document(document) => document.text(),
            Replayed::Bare(rope) => rope,
        }
    }
}

/// Replays a sequential trace into a rope: through a `Document` with one
/// logged change per transaction, or directly into a bare `Rope`.
pub fn replay_sequential(trace: &Trace, mode: ReplayMode) -> Result<Replayed, TraceError> {
    match mode {
        ReplayMode::Bare => {
            let mut rope = Rope::from_str(&trace.start_content);
            for (txn_index, txn) in trace.txns.iter().enumerate() {
                for (patch_index, patch) in txn.patches.iter().enumerate() {
                    check_patch(txn_index, patch_index, patch, rope.len_chars())?;
                    let Patch(position, delete, insert) = patch;
                    if *delete > 0 {
                        rope.remove(*position..position + delete);
                    }
                    if !insert.is_empty() {
                        rope.insert(*position, insert);
                    }
                }
            }
            Ok(Replayed::Bare(rope))
        }
        ReplayMode::Document => {
            let mut document = Document::new(&trace.start_content, 0, "plaintext");
            document.reserve_log(trace.txns.len());
            for (txn_index, txn) in trace.txns.iter().enumerate() {
                let version = document.version() + 1;
                let applied = if let [patch] = txn.patches.as_slice() {
                    // Most transactions are one keystroke: log it directly.
                    check_patch(txn_index, 0, patch, document.text().len_chars())?;
                    let Patch(position, delete, insert) = patch;
                    let range = CharOffset(*position)..CharOffset(position + delete);
                    document.replace(range, insert, version, Origin::Editor)
                } else {
                    let change = transaction_change(txn_index, txn, document.text().len_chars())?;
                    document.apply(change, version, Origin::Editor)
                };
                applied.map_err(|source| TraceError::Document {
                    txn: txn_index,
                    source,
                })?;
            }
            Ok(Replayed::Document(document))
        }
    }
}

/// Combines a transaction's patches, each on the result of the previous
/// one, into one change on a document of `len` chars.
fn transaction_change(
    txn_index: usize,
    txn: &Transaction,
    len: usize,
) -> Result<ChangeSet, TraceError> {
    let mut current_len = len;
    for (patch_index, patch) in txn.patches.iter().enumerate() {
        check_patch(txn_index, patch_index, patch, current_len)?;
        current_len = current_len - patch.1 + patch.2.chars().count();
    }
    let steps: Vec<_> = txn
        .patches
        .iter()
        .map(|Patch(position, delete, insert)| {
            (
                CharOffset(*position)..CharOffset(position + delete),
                insert.as_str(),
            )
        })
        .collect();
    ChangeSet::from_sequential(len, &steps).map_err(|source| change_error(txn_index, source))
}

fn change_error(txn: usize, source: ChangeSetError) -> TraceError {
    TraceError::Document {
        txn,
        source: DocumentError::Change(source),
    }
}

fn check_patch(txn: usize, patch: usize, value: &Patch, len: usize) -> Result<(), TraceError> {
    let Patch(position, delete, _) = *value;
    if position.checked_add(delete).is_none_or(|end| end > len) {
        return Err(TraceError::PatchOutOfRange {
            txn,
            patch,
            position,
            delete,
            len,
        });
    }
    Ok(())
}

/// Replays a concurrent trace: every transaction is integrated at the
/// version its parents name, and its effect on the merged document is
/// applied as one logged change (or straight to a bare rope).
pub fn replay_concurrent(trace: &Trace, mode: ReplayMode) -> Result<Replayed, TraceError> {
    let mut graph = EventGraph::with_start_content(&trace.start_content);
    let mut document = Document::new(&trace.start_content, 0, "plaintext");
    if mode == ReplayMode::Document {
        document.reserve_log(trace.txns.len());
    }
    let mut bare = Rope::from_str(&trace.start_content);
    let mut graph_patches = Vec::new();
    for (txn_index, txn) in trace.txns.iter().enumerate() {
        // A transaction without parents follows the one before it.
        let previous = txn_index.checked_sub(1);
        let parents: &[usize] = match (&txn.parents, &previous) {
            (Some(parents), _) => parents,
            (None, Some(previous)) => std::slice::from_ref(previous),
            (None, None) => &[],
        };
        graph_patches.clear();
        graph_patches.extend(
            txn.patches
                .iter()
                .map(|Patch(pos, delete, insert)| GraphPatch {
                    pos: *pos,
                    delete: *delete,
                    insert: insert.clone(),
                }),
        );
        let effect = graph.integrate(parents, txn.agent.unwrap_or(0), &graph_patches)?;
        match mode {
            ReplayMode::Bare => apply_effect_to_rope(&mut bare, &effect),
            ReplayMode::Document => {
                let change = effect_change(document.text().len_chars(), &effect)
                    .map_err(|source| change_error(txn_index, source))?;
                let version = document.version() + 1;
                document
                    .apply(change, version, Origin::Editor)
                    .map_err(|source| TraceError::Document {
                        txn: txn_index,
                        source,
                    })?;
            }
        }
    }
    Ok(match mode {
        ReplayMode::Bare => Replayed::Bare(bare),
        ReplayMode::Document => Replayed::Document(document),
    })
}

fn apply_effect_to_rope(rope: &mut Rope, effect: &[EffectOp]) {
    for op in effect {
        match op {
            EffectOp::Insert { pos, text } => rope.insert(*pos, text),
            EffectOp::Delete { pos, len } => rope.remove(*pos..pos + len),
        }
    }
}

/// Combines a sequence of effect ops into one change on a document of
/// `len` chars.
fn effect_change(len: usize, effect: &[EffectOp]) -> Result<ChangeSet, ChangeSetError> {
    let steps: Vec<_> = effect
        .iter()
        .map(|op| match op {
            EffectOp::Insert { pos, text } => (CharOffset(*pos)..CharOffset(*pos), text.as_str()),
            EffectOp::Delete { pos, len } => (CharOffset(*pos)..CharOffset(pos + len), ""),
        })
        .collect();
    ChangeSet::from_sequential(len, &steps)
}

/// Compares the replayed text with `endContent`.
fn check_end_content(trace: &Trace, text: &Rope) -> Result<(), TraceError> {
    let mut replayed = text.chars();
    let mut expected = trace.end_content.chars();
    let mut offset = 0;
    loop {
        match (replayed.next(), expected.next()) {
            (None, None) => return Ok(()),
            (Some(a), Some(b)) if a == b => offset += 1,
            _ => {
                return Err(TraceError::Mismatch {
                    trace: trace.name.clone(),
                    offset,
                    actual_len: text.len_chars(),
                    expected_len: trace.end_content.chars().count(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequential(start: &str, end: &str, txns: Vec<Vec<(usize, usize, &str)>>) -> Trace {
        Trace {
            name: "test".to_owned(),
            kind: None,
            start_content: start.to_owned(),
            end_content: end.to_owned(),
            txns: txns
                .into_iter()
                .map(|patches| Transaction {
                    patches: patches
                        .into_iter()
                        .map(|(pos, delete, text)| Patch(pos, delete, text.to_owned()))
                        .collect(),
                    parents: None,
                    agent: None,
                })
                .collect(),
        }
    }

    #[test]
    fn multi_patch_transaction_logs_once() {
        let trace = sequential(
            "héllo",
            "Héllo, wörld",
            vec![vec![(0, 1, "H"), (5, 0, ", wörld")]],
        );
        let report = replay(&trace, ReplayMode::Document).unwrap();
        assert_eq!(report.final_length, 12);
        assert_eq!(report.transactions, 1);
        assert_eq!(report.patches, 2);
    }

    #[test]
    fn modes_agree() {
        let trace = sequential(
            "",
            "ab🦀",
            vec![vec![(0, 0, "b")], vec![(0, 0, "a")], vec![(2, 0, "🦀")]],
        );
        let bare = replay_sequential(&trace, ReplayMode::Bare).unwrap();
        let document = replay_sequential(&trace, ReplayMode::Document).unwrap();
        assert_eq!(bare.text(), document.text());
        assert_eq!(bare.text().to_string(), "ab🦀");
    }

    #[test]
    fn mismatch_names_first_difference() {
        let trace = sequential("abc", "abXc", vec![vec![(2, 0, "Y")]]);
        let err = replay(&trace, ReplayMode::Document).unwrap_err();
        assert!(
            matches!(err, TraceError::Mismatch { offset: 2, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("char 2"), "{err}");
    }

    #[test]
    fn patch_past_end_rejected() {
        let trace = sequential("abc", "abc", vec![vec![(2, 5, "")]]);
        for mode in [ReplayMode::Document, ReplayMode::Bare] {
            let err = replay(&trace, mode).unwrap_err();
            assert!(
                err.to_string()
                    .contains("transaction 0, patch 0: position 2 + delete 5 is past the end"),
                "{err}"
            );
        }
    }

    #[test]
    fn concurrent_replay_starts_from_start_content() {
        let mut trace = sequential("abc", "xabcd", vec![vec![(3, 0, "d")], vec![(0, 0, "x")]]);
        trace.kind = Some("concurrent".to_owned());
        trace.txns[0].parents = Some(Vec::new());
        trace.txns[1].parents = Some(Vec::new());
        for mode in [ReplayMode::Document, ReplayMode::Bare] {
            let report = replay(&trace, mode).unwrap();
            assert_eq!(report.final_length, 5);
        }
    }

    #[test]
    fn missing_file_names_path() {
        let err = load(Path::new("/nonexistent/trace.json.gz")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/trace.json.gz"),
            "{err}"
        );
    }
}
