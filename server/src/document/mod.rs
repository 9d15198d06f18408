//! Versioned documents: the current rope, its append-only change log,
//! O(1) snapshots, rebasing old changes onto the current version, and the
//! thread-safe `DocumentStore`. Nothing here speaks the protocol.

pub mod event_graph;
pub mod log;
mod rebase;
pub mod store;

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use ropey::Rope;
use thiserror::Error;
use tower_lsp_server::ls_types::Range as LspRange;

use crate::text::encoding::{self, EncodingError};
use crate::text::{ChangeSet, ChangeSetError, CharOffset, PositionEncoding};

pub use log::{ChangeLog, LogEntry};
pub(crate) use rebase::PosMapper;
pub use rebase::{KeptReplacement, Rebased};
pub use store::{DocumentStore, StoreError, SubmitOutcome};

/// An editor's document version (LSP `TextDocumentItem.version`). Versions
/// only grow, but clients may skip numbers (Neovim sends its changedtick).
pub type Version = i32;

/// Identifies one refactor job, for the change log and the reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job {}", self.0)
    }
}

/// Author of a logged change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// The user, through the editor's `didChange` notifications.
    Editor,
    /// A refactor job whose merged edit the editor applied.
    Job(JobId),
}

/// One edit of a `didChange` notification, with its range in the client's
/// position encoding; `None` replaces the whole document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentChange {
    pub range: Option<LspRange>,
    pub text: String,
}

/// Errors of document updates and rebases; each names the values involved
/// and leaves the document unchanged.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum DocumentError {
    #[error(
        "version {received} is not newer than the document's version {current}; \
         each change must carry a higher version than the last one"
    )]
    StaleVersion { current: Version, received: Version },
    #[error(
        "version {requested} is not in this document's change log, which covers versions \
         {oldest} to {current}; make the change on a version in that span"
    )]
    UnknownVersion {
        requested: Version,
        oldest: Version,
        current: Version,
    },
    #[error(
        "the change covers {expected} chars but version {base} had {actual}; make the change \
         on the text of version {base}"
    )]
    BaseLengthMismatch {
        base: Version,
        expected: usize,
        actual: usize,
    },
    #[error("change {index} of the notification: {source}")]
    ContentChange {
        index: usize,
        #[source]
        source: EncodingError,
    },
    #[error(transparent)]
    Change(#[from] ChangeSetError),
}

/// An immutable view of one version of a document. Cloning it, or taking it
/// from a `Document`, is O(1): the rope's nodes are shared, not copied.
#[derive(Clone, Debug)]
pub struct Snapshot {
    text: Rope,
    version: Version,
    language_id: Arc<str>,
}

impl Snapshot {
    pub fn text(&self) -> &Rope {
        &self.text
    }

    pub fn version(&self) -> Version {
        self.version
    }

    pub fn language_id(&self) -> &str {
        &self.language_id
    }
}

/// An open document: current text, editor version, language and the log of
/// every change since it was opened.
#[derive(Clone, Debug)]
pub struct Document {
    text: Rope,
    version: Version,
    language_id: Arc<str>,
    /// The version the log starts from.
    oldest_version: Version,
    log: ChangeLog,
}

impl Document {
    /// Creates a document at `version` with an empty change log.
    pub fn new(text: &str, version: Version, language_id: &str) -> Self {
        Self::from_rope(Rope::from_str(text), version, language_id)
    }

    /// Creates a document from an existing rope, which it shares.
    pub fn from_rope(text: Rope, version: Version, language_id: &str) -> Self {
        Self {
            text,
            version,
            language_id: Arc::from(language_id),
            oldest_version: version,
            log: ChangeLog::new(),
        }
    }

    pub fn text(&self) -> &Rope {
        &self.text
    }

    pub fn version(&self) -> Version {
        self.version
    }

    pub fn language_id(&self) -> &str {
        &self.language_id
    }

    /// Returns the change log, oldest first.
    pub fn log(&self) -> &ChangeLog {
        &self.log
    }

    /// The version the change log starts from.
    pub fn oldest_version(&self) -> Version {
        self.oldest_version
    }

    /// Reserves room in the change log for `additional` more entries, for
    /// callers that know how many changes follow (a replay).
    pub fn reserve_log(&mut self, additional: usize) {
        self.log.reserve(additional);
    }

    /// Takes an O(1) snapshot of the current version.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            text: self.text.clone(),
            version: self.version,
            language_id: Arc::clone(&self.language_id),
        }
    }

    /// Applies `change` as the step to `version` and logs it.
    ///
    /// # Errors
    /// `StaleVersion` when `version` is not above the current one, and
    /// `LengthMismatch` when `change` was made for a document of another
    /// length; the document is then unchanged.
    pub fn apply(
        &mut self,
        change: ChangeSet,
        version: Version,
        origin: Origin,
    ) -> Result<(), DocumentError> {
        self.check_newer(version)?;
        change.apply(&mut self.text)?;
        self.version = version;
        self.log.push(version, &change, origin);
        Ok(())
    }

    /// Replaces `range` with `text` as the step to `version` and logs it:
    /// the shape of most keystrokes, applied without building a
    /// `ChangeSet` first.
    ///
    /// # Errors
    /// `StaleVersion`, `ReversedRange` or `OutOfBounds`; the document is then
    /// unchanged.
    pub fn replace(
        &mut self,
        range: Range<CharOffset>,
        text: &str,
        version: Version,
        origin: Origin,
    ) -> Result<(), DocumentError> {
        self.check_newer(version)?;
        let (start, end) = (range.start.0, range.end.0);
        let len = self.text.len_chars();
        if end < start {
            return Err(ChangeSetError::ReversedRange { start, end }.into());
        }
        if end > len {
            return Err(ChangeSetError::OutOfBounds { start, end, len }.into());
        }
        if end > start {
            self.text.remove(start..end);
        }
        if !text.is_empty() {
            self.text.insert(start, text);
        }
        self.version = version;
        self.log
            .push_replace(version, len, start..end, text, origin);
        Ok(())
    }

    /// Applies the edits of one `didChange` notification, one after another
    /// as LSP specifies, and logs them as a single step to `version`.
    /// Positions past a line or the document clamp; an empty list only moves
    /// the version.
    ///
    /// # Errors
    /// `StaleVersion`, or `ContentChange` naming the edit whose range ends
    /// before it starts; the document is then unchanged.
    pub fn apply_content_changes(
        &mut self,
        changes: &[ContentChange],
        encoding: PositionEncoding,
        version: Version,
        origin: Origin,
    ) -> Result<(), DocumentError> {
        self.check_newer(version)?;
        // Work on an O(1) copy so a bad edit in the middle leaves no trace.
        let mut working = self.text.clone();
        let len_before = working.len_chars();
        let mut steps = Vec::with_capacity(changes.len());
        for (index, content) in changes.iter().enumerate() {
            let len = working.len_chars();
            let range = match content.range {
                Some(range) => encoding::range_to_chars(&working, range, encoding)
                    .map_err(|source| DocumentError::ContentChange { index, source })?,
                None => CharOffset(0)..CharOffset(len),
            };
            let step = ChangeSet::replace(len, range, &content.text)?;
            step.apply(&mut working)?;
            steps.push(step);
        }
        // Thousands of edits in one notification (a large WorkspaceEdit
        // applied by the editor) compose in O(n log n).
        let total = ChangeSet::compose_all(len_before, steps)?;
        self.text = working;
        self.version = version;
        self.log.push(version, &total, origin);
        Ok(())
    }

    /// Decodes the logged changes made after `version`, oldest first.
    ///
    /// # Errors
    /// `UnknownVersion` when the log does not contain `version`.
    pub fn changes_since(
        &self,
        version: Version,
    ) -> Result<impl DoubleEndedIterator<Item = LogEntry> + '_, DocumentError> {
        let first = self.log_index_after(version)?;
        Ok(self.log.iter_from(first))
    }

    /// Index of the first log entry made after `version`.
    fn log_index_after(&self, version: Version) -> Result<usize, DocumentError> {
        if version == self.oldest_version {
            return Ok(0);
        }
        self.log
            .index_of(version)
            .map(|index| index + 1)
            .ok_or(DocumentError::UnknownVersion {
                requested: version,
                oldest: self.oldest_version,
                current: self.version,
            })
    }

    /// Drops log entries up to and including `version`, so rebasing from
    /// versions before it is no longer possible. Call it once no job's
    /// snapshot older than `version` is still in use.
    ///
    /// # Errors
    /// `UnknownVersion` when the log does not contain `version`.
    pub fn truncate_log(&mut self, version: Version) -> Result<(), DocumentError> {
        let first_kept = self.log_index_after(version)?;
        self.log.drop_oldest(first_kept);
        self.oldest_version = version;
        Ok(())
    }

    fn check_newer(&self, version: Version) -> Result<(), DocumentError> {
        if version <= self.version {
            return Err(DocumentError::StaleVersion {
                current: self.version,
                received: version,
            });
        }
        Ok(())
    }
}
