//! `DocumentStore`: the open documents keyed by URI, safe to share between
//! threads, applying each document's changes strictly in version order.
//!
//! Handlers that run concurrently can deliver a document's notifications
//! out of order. A change whose version is not the next one waits in a
//! per-document queue until its predecessor arrives. `submit_in_order`
//! waits for that with a deadline and then applies the queue across the
//! gap, because some clients (Neovim) skip version numbers.
//!
//! A request must not wait for that deadline. LSP messages on one
//! connection are ordered, so the client sent every change that reached the
//! transport before the request. `catch_up` applies the queue as soon as
//! all of those changes have been submitted.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use dashmap::DashMap;
use thiserror::Error;
use tokio::sync::Notify;
use tower_lsp_server::ls_types::Uri;

use super::{ContentChange, Document, DocumentError, Origin, Rebased, Snapshot, Version};
use crate::text::{ChangeSet, PositionEncoding};

/// Errors of the store; each names the document and the versions involved.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum StoreError {
    #[error("document {uri} is not open; send textDocument/didOpen before using it")]
    UnknownUri { uri: String },
    #[error(
        "document {uri}: a change to version {version} is already waiting for its \
         predecessor; each change needs its own version"
    )]
    DuplicateVersion { uri: String, version: Version },
    #[error(
        "document {uri} was closed or reopened while the change to version {version} waited \
         for its predecessor, so the change was dropped; resend it against the new document"
    )]
    Dropped { uri: String, version: Version },
    #[error("document {uri}: {source}")]
    Document {
        uri: String,
        #[source]
        source: DocumentError,
    },
}

/// Result of `submit` for one change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// The change and any queued successors were applied; `version` is now
    /// the document's version.
    Applied { version: Version },
    /// The change waits for version `expected` to arrive first.
    Waiting { expected: Version },
}

struct QueuedChange {
    changes: Vec<ContentChange>,
    encoding: PositionEncoding,
    origin: Origin,
    /// Whether a `submit_in_order` caller waits for this change's result.
    awaited: bool,
}

struct SlotState {
    document: Document,
    queue: BTreeMap<Version, QueuedChange>,
    /// Errors of awaited queued changes that failed when their turn came,
    /// kept until their callers pick them up.
    failed: HashMap<Version, DocumentError>,
}

struct Slot {
    state: Mutex<SlotState>,
    /// Woken when a change is applied, queued or rejected, and when the
    /// document closes or is reopened.
    progressed: Notify,
    /// `didChange` notifications of this document read by the transport.
    arrived: AtomicU64,
    /// Changes submitted to this slot, whatever their outcome. Each is
    /// counted under the state lock once it is applied, queued or rejected.
    submitted: AtomicU64,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        // Every update works on a copy and commits at the end, so the state
        // behind a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The open documents.
#[derive(Default)]
pub struct DocumentStore {
    documents: DashMap<Uri, Arc<Slot>>,
}

impl DocumentStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens `uri` at `version`, replacing any document already open there.
    pub fn open(&self, uri: Uri, text: &str, version: Version, language_id: &str) {
        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState {
                document: Document::new(text, version, language_id),
                queue: BTreeMap::new(),
                failed: HashMap::new(),
            }),
            progressed: Notify::new(),
            arrived: AtomicU64::new(0),
            submitted: AtomicU64::new(0),
        });
        if let Some(previous) = self.documents.insert(uri.clone(), slot) {
            tracing::warn!(
                uri = uri.as_str(),
                "document opened twice; the new text replaces the old"
            );
            previous.progressed.notify_waiters();
        }
    }

    /// Closes `uri`, dropping its queued changes.
    ///
    /// # Errors
    /// `UnknownUri` when it is not open.
    pub fn close(&self, uri: &Uri) -> Result<(), StoreError> {
        let (_, slot) = self.documents.remove(uri).ok_or_else(|| unknown(uri))?;
        slot.progressed.notify_waiters();
        Ok(())
    }

    pub fn is_open(&self, uri: &Uri) -> bool {
        self.documents.contains_key(uri)
    }

    /// Returns the URIs of the open documents, in no particular order.
    pub fn uris(&self) -> Vec<Uri> {
        self.documents
            .iter()
            .map(|entry| entry.key().clone())
            .collect()
    }

    /// Takes an O(1) snapshot of the current version of `uri`.
    ///
    /// # Errors
    /// `UnknownUri` when it is not open.
    pub fn snapshot(&self, uri: &Uri) -> Result<Snapshot, StoreError> {
        self.read(uri, Document::snapshot)
    }

    /// Runs `read` on the document while holding its lock. Keep `read`
    /// short: changes to this document wait for it.
    ///
    /// # Errors
    /// `UnknownUri` when it is not open.
    pub fn read<R>(&self, uri: &Uri, read: impl FnOnce(&Document) -> R) -> Result<R, StoreError> {
        let slot = self.slot(uri)?;
        let state = slot.lock();
        Ok(read(&state.document))
    }

    /// Drops the change log of `uri` up to `version`, when the log still
    /// reaches back that far. Later rebases can then start at `version` at
    /// the earliest. Returns whether anything was dropped.
    pub fn truncate_log(&self, uri: &Uri, version: Version) -> bool {
        let Ok(slot) = self.slot(uri) else {
            return false;
        };
        let mut state = slot.lock();
        if version <= state.document.oldest_version() || version > state.document.version() {
            return false;
        }
        state.document.truncate_log(version).is_ok()
    }

    /// Rebases `change`, made on version `base` of `uri`, onto its current
    /// version.
    ///
    /// # Errors
    /// `UnknownUri`, or the rebase errors of `Document::rebase`.
    pub fn rebase(
        &self,
        uri: &Uri,
        change: &ChangeSet,
        base: Version,
    ) -> Result<Rebased, StoreError> {
        self.read(uri, |document| document.rebase(change, base))?
            .map_err(|source| document_error(uri, source))
    }

    /// Applies a `didChange` notification if `version` is the next one, then
    /// any queued successors; otherwise queues it.
    ///
    /// # Errors
    /// `UnknownUri`; `StaleVersion` when `version` is not above the current
    /// version (a duplicate or a step back); `DuplicateVersion` when that
    /// version is already queued; the document errors of the change itself.
    /// On error the document and its queue are unchanged.
    pub fn submit(
        &self,
        uri: &Uri,
        version: Version,
        changes: Vec<ContentChange>,
        encoding: PositionEncoding,
        origin: Origin,
    ) -> Result<SubmitOutcome, StoreError> {
        self.submit_change(uri, version, changes, encoding, origin, false)
    }

    fn submit_change(
        &self,
        uri: &Uri,
        version: Version,
        changes: Vec<ContentChange>,
        encoding: PositionEncoding,
        origin: Origin,
        awaited: bool,
    ) -> Result<SubmitOutcome, StoreError> {
        let slot = self.slot(uri)?;
        let mut state = slot.lock();
        let outcome = submit_locked(uri, &mut state, version, changes, encoding, origin, awaited);
        slot.submitted.fetch_add(1, Ordering::AcqRel);
        drop(state);
        slot.progressed.notify_waiters();
        outcome
    }

    /// Counts a `didChange` of `uri` that the transport read, before the
    /// framework runs its handler, so that `catch_up` can wait for it.
    pub fn note_change_arrived(&self, uri: &Uri) {
        if let Ok(slot) = self.slot(uri) {
            slot.arrived.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Brings `uri` up to date before a request reads it. Waits up to
    /// `timeout` until every `didChange` counted by `note_change_arrived`
    /// so far has been submitted, then applies queued changes across
    /// version gaps: the client sent them before the request, so a missing
    /// version was skipped by the client, not delayed.
    ///
    /// NOTE: a client that sends a lower version after a higher one loses
    /// it here. Once a request flushed the higher one, the lower one is
    /// rejected as stale.
    pub async fn catch_up(&self, uri: &Uri, timeout: Duration) {
        let Ok(slot) = self.slot(uri) else {
            return;
        };
        let arrived = slot.arrived.load(Ordering::Acquire);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let progressed = slot.progressed.notified();
            tokio::pin!(progressed);
            progressed.as_mut().enable();
            if slot.submitted.load(Ordering::Acquire) >= arrived {
                break;
            }
            if tokio::time::timeout_at(deadline, progressed).await.is_err() {
                tracing::warn!(
                    uri = uri.as_str(),
                    arrived,
                    submitted = slot.submitted.load(Ordering::Acquire),
                    timeout_ms = timeout.as_millis(),
                    "changes sent before a request were not submitted in time; \
                     the request reads the document without them"
                );
                break;
            }
        }
        let queued = slot.lock().queue.len();
        if queued > 0 {
            tracing::debug!(
                uri = uri.as_str(),
                queued,
                "applying queued changes across version gaps before a request"
            );
            let _ = self.flush_queue(uri);
        }
    }

    /// `catch_up` for every open document, with one shared deadline.
    pub async fn catch_up_all(&self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        for uri in self.uris() {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            self.catch_up(&uri, left).await;
        }
    }

    /// Applies every queued change of `uri` in version order, across gaps
    /// in the numbering, and returns the document's version afterwards.
    ///
    /// # Errors
    /// `UnknownUri` when it is not open.
    pub fn flush_queue(&self, uri: &Uri) -> Result<Version, StoreError> {
        let slot = self.slot(uri)?;
        let mut state = slot.lock();
        drain_queue(uri, &mut state, true);
        let version = state.document.version();
        drop(state);
        slot.progressed.notify_waiters();
        Ok(version)
    }

    /// Submits a change and, when it has to wait for its predecessor, waits
    /// up to `gap_timeout` for it before applying the queue across the gap.
    /// Returns the document's version once this change is applied.
    ///
    /// # Errors
    /// As `submit`, plus the document error of this change when it failed
    /// after waiting, and `UnknownUri` when the document closed meanwhile.
    pub async fn submit_in_order(
        &self,
        uri: &Uri,
        version: Version,
        changes: Vec<ContentChange>,
        encoding: PositionEncoding,
        origin: Origin,
        gap_timeout: Duration,
    ) -> Result<Version, StoreError> {
        let slot = self.slot(uri)?;
        // Register interest before submitting so no wake-up is missed.
        let progressed = slot.progressed.notified();
        tokio::pin!(progressed);
        progressed.as_mut().enable();
        match self.submit_change(uri, version, changes, encoding, origin, true)? {
            SubmitOutcome::Applied { version } => return Ok(version),
            SubmitOutcome::Waiting { .. } => {}
        }
        let deadline = tokio::time::Instant::now() + gap_timeout;
        loop {
            if let Some(result) = self.outcome_of(uri, &slot, version) {
                return result;
            }
            if tokio::time::timeout_at(deadline, progressed.as_mut())
                .await
                .is_err()
            {
                // Debug, not warn: Neovim skips versions on most edits, so
                // this is routine for it.
                tracing::debug!(
                    uri = uri.as_str(),
                    version,
                    "predecessor did not arrive in time; applying queued changes across the gap"
                );
                if self.flush_queue(uri).is_err() {
                    return Err(dropped(uri, version));
                }
                return self
                    .outcome_of(uri, &slot, version)
                    .unwrap_or_else(|| Err(dropped(uri, version)));
            }
            progressed.set(slot.progressed.notified());
            progressed.as_mut().enable();
        }
    }

    /// Waits up to `timeout` for `uri` to move past `version` and returns
    /// whether it did. A document that is not open never does.
    pub async fn wait_newer(&self, uri: &Uri, version: Version, timeout: Duration) -> bool {
        let Ok(slot) = self.slot(uri) else {
            return false;
        };
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let progressed = slot.progressed.notified();
            tokio::pin!(progressed);
            progressed.as_mut().enable();
            if slot.lock().document.version() > version {
                return true;
            }
            if tokio::time::timeout_at(deadline, progressed).await.is_err() {
                return slot.lock().document.version() > version;
            }
        }
    }

    /// Returns the result for a queued `version` once it was applied or
    /// failed, or once the document was closed or reopened.
    fn outcome_of(
        &self,
        uri: &Uri,
        slot: &Arc<Slot>,
        version: Version,
    ) -> Option<Result<Version, StoreError>> {
        let still_open = self
            .documents
            .get(uri)
            .is_some_and(|current| Arc::ptr_eq(&current, slot));
        if !still_open {
            return Some(Err(dropped(uri, version)));
        }
        let mut state = slot.lock();
        if let Some(source) = state.failed.remove(&version) {
            return Some(Err(document_error(uri, source)));
        }
        let current = state.document.version();
        (current >= version && !state.queue.contains_key(&version)).then_some(Ok(current))
    }

    fn slot(&self, uri: &Uri) -> Result<Arc<Slot>, StoreError> {
        self.documents
            .get(uri)
            .map(|entry| Arc::clone(entry.value()))
            .ok_or_else(|| unknown(uri))
    }
}

/// Applies or queues one change under the slot's lock, for
/// `DocumentStore::submit_change`.
fn submit_locked(
    uri: &Uri,
    state: &mut SlotState,
    version: Version,
    changes: Vec<ContentChange>,
    encoding: PositionEncoding,
    origin: Origin,
    awaited: bool,
) -> Result<SubmitOutcome, StoreError> {
    let current = state.document.version();
    if version <= current {
        return Err(document_error(
            uri,
            DocumentError::StaleVersion {
                current,
                received: version,
            },
        ));
    }
    if state.queue.contains_key(&version) {
        return Err(StoreError::DuplicateVersion {
            uri: uri.as_str().to_owned(),
            version,
        });
    }
    if version != current + 1 {
        state.queue.insert(
            version,
            QueuedChange {
                changes,
                encoding,
                origin,
                awaited,
            },
        );
        tracing::debug!(
            uri = uri.as_str(),
            version,
            current,
            "change queued until its predecessor arrives"
        );
        return Ok(SubmitOutcome::Waiting {
            expected: current + 1,
        });
    }
    state
        .document
        .apply_content_changes(&changes, encoding, version, origin)
        .map_err(|source| document_error(uri, source))?;
    drain_queue(uri, state, false);
    Ok(SubmitOutcome::Applied {
        version: state.document.version(),
    })
}

/// Applies queued changes in order: only the next version, or every queued
/// one when `across_gaps` is set. A queued change that fails is logged and
/// kept in `failed` for its waiting caller.
fn drain_queue(uri: &Uri, state: &mut SlotState, across_gaps: bool) {
    while let Some(entry) = state.queue.first_entry() {
        let version = *entry.key();
        if !across_gaps && version != state.document.version() + 1 {
            break;
        }
        let queued = entry.remove();
        if let Err(error) = state.document.apply_content_changes(
            &queued.changes,
            queued.encoding,
            version,
            queued.origin,
        ) {
            tracing::warn!(uri = uri.as_str(), version, %error, "queued change rejected");
            if queued.awaited {
                state.failed.insert(version, error);
            }
        }
    }
}

fn unknown(uri: &Uri) -> StoreError {
    StoreError::UnknownUri {
        uri: uri.as_str().to_owned(),
    }
}

fn dropped(uri: &Uri, version: Version) -> StoreError {
    StoreError::Dropped {
        uri: uri.as_str().to_owned(),
        version,
    }
}

fn document_error(uri: &Uri, source: DocumentError) -> StoreError {
    StoreError::Document {
        uri: uri.as_str().to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lsp_server::ls_types::{Position, Range};

    fn uri() -> Uri {
        "file:///tmp/a.rs".parse().unwrap()
    }

    fn insert(line: u32, character: u32, text: &str) -> Vec<ContentChange> {
        let at = Position { line, character };
        vec![ContentChange {
            range: Some(Range { start: at, end: at }),
            text: text.to_owned(),
        }]
    }

    fn text(store: &DocumentStore) -> String {
        store.read(&uri(), |doc| doc.text().to_string()).unwrap()
    }

    fn submit(
        store: &DocumentStore,
        version: Version,
        changes: Vec<ContentChange>,
    ) -> Result<SubmitOutcome, StoreError> {
        store.submit(
            &uri(),
            version,
            changes,
            PositionEncoding::Utf16,
            Origin::Editor,
        )
    }

    #[test]
    fn out_of_order_changes_wait() {
        let store = DocumentStore::new();
        store.open(uri(), "", 1, "rust");
        assert_eq!(
            submit(&store, 3, insert(0, 1, "b")).unwrap(),
            SubmitOutcome::Waiting { expected: 2 }
        );
        assert_eq!(text(&store), "");
        assert_eq!(
            submit(&store, 2, insert(0, 0, "a")).unwrap(),
            SubmitOutcome::Applied { version: 3 }
        );
        assert_eq!(text(&store), "ab");
    }

    #[test]
    fn stale_and_duplicate_versions_rejected() {
        let store = DocumentStore::new();
        store.open(uri(), "x", 5, "rust");
        submit(&store, 6, insert(0, 0, "a")).unwrap();

        let duplicate = submit(&store, 6, insert(0, 0, "b")).unwrap_err();
        assert!(duplicate.to_string().contains("version 6"), "{duplicate}");
        assert!(
            duplicate.to_string().contains("version 6 is not newer"),
            "{duplicate}"
        );

        let backwards = submit(&store, 4, insert(0, 0, "c")).unwrap_err();
        assert!(backwards.to_string().contains("version 4"), "{backwards}");
        assert!(backwards.to_string().contains("version 6"), "{backwards}");

        submit(&store, 9, insert(0, 0, "d")).unwrap();
        let queued_twice = submit(&store, 9, insert(0, 0, "e")).unwrap_err();
        assert_eq!(
            queued_twice,
            StoreError::DuplicateVersion {
                uri: uri().as_str().to_owned(),
                version: 9
            }
        );
        assert_eq!(text(&store), "ax");
    }

    #[test]
    fn threads_out_of_order_converge() {
        // Version v inserts its own marker at the start of line v - 2, so the
        // final text depends on the order in which versions apply.
        let store = Arc::new(DocumentStore::new());
        store.open(uri(), "", 1, "rust");
        let last: Version = 161;
        let change = |version: Version| {
            let line = u32::try_from(version - 2).unwrap();
            insert(line, 0, &format!("{version}\n"))
        };
        // A fixed shuffle: stepping by 37 through 160 versions visits each once.
        let order: Vec<Version> = (0..160).map(|i| (i * 37) % 160 + 2).collect();
        let threads: Vec<_> = order
            .chunks(20)
            .map(|versions| {
                let store = Arc::clone(&store);
                let versions = versions.to_vec();
                std::thread::spawn(move || {
                    for version in versions {
                        store
                            .submit(
                                &uri(),
                                version,
                                change(version),
                                PositionEncoding::Utf16,
                                Origin::Editor,
                            )
                            .unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }

        let in_order = DocumentStore::new();
        in_order.open(uri(), "", 1, "rust");
        for version in 2..=last {
            in_order
                .submit(
                    &uri(),
                    version,
                    change(version),
                    PositionEncoding::Utf16,
                    Origin::Editor,
                )
                .unwrap();
        }
        assert_eq!(store.read(&uri(), Document::version).unwrap(), last);
        assert_eq!(text(&store), text(&in_order));
        assert_eq!(store.read(&uri(), |doc| doc.log().len()).unwrap(), 160);
    }

    #[tokio::test]
    async fn catch_up_applies_across_a_skipped_version() {
        let store = DocumentStore::new();
        store.open(uri(), "x", 1, "rust");
        store.note_change_arrived(&uri());
        assert_eq!(
            submit(&store, 5, insert(0, 0, "a")).unwrap(),
            SubmitOutcome::Waiting { expected: 2 }
        );
        store.catch_up(&uri(), Duration::from_secs(5)).await;
        assert_eq!(store.read(&uri(), Document::version).unwrap(), 5);
        assert_eq!(text(&store), "ax");
    }

    #[tokio::test]
    async fn catch_up_waits_for_arrived_changes() {
        let store = Arc::new(DocumentStore::new());
        store.open(uri(), "", 1, "rust");
        store.note_change_arrived(&uri());
        store.note_change_arrived(&uri());
        let late = Arc::clone(&store);
        let submitter = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            submit(&late, 6, insert(0, 1, "b")).unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            submit(&late, 3, insert(0, 0, "a")).unwrap();
        });
        store.catch_up(&uri(), Duration::from_secs(5)).await;
        assert_eq!(store.read(&uri(), Document::version).unwrap(), 6);
        assert_eq!(text(&store), "ab");
        submitter.await.unwrap();
    }

    #[tokio::test]
    async fn catch_up_gives_up_after_the_timeout() {
        let store = DocumentStore::new();
        store.open(uri(), "", 1, "rust");
        store.note_change_arrived(&uri());
        store.catch_up(&uri(), Duration::from_millis(20)).await;
        assert_eq!(store.read(&uri(), Document::version).unwrap(), 1);
        // An unknown document has nothing to wait for.
        let other: Uri = "file:///tmp/other.rs".parse().unwrap();
        store.catch_up(&other, Duration::from_secs(5)).await;
    }

    #[test]
    fn unknown_uri_rejected() {
        let store = DocumentStore::new();
        let err = submit(&store, 2, insert(0, 0, "a")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "document file:///tmp/a.rs is not open; send textDocument/didOpen before using it"
        );
        assert!(store.snapshot(&uri()).is_err());
        assert!(store.close(&uri()).is_err());
    }

    #[test]
    fn reversed_range_leaves_document_unchanged() {
        let store = DocumentStore::new();
        store.open(uri(), "hello\nworld", 1, "rust");
        let changes = vec![
            ContentChange {
                range: Some(Range {
                    start: Position {
                        line: 0,
                        character: 0,
                    },
                    end: Position {
                        line: 0,
                        character: 0,
                    },
                }),
                text: "ok ".to_owned(),
            },
            ContentChange {
                range: Some(Range {
                    start: Position {
                        line: 1,
                        character: 4,
                    },
                    end: Position {
                        line: 1,
                        character: 1,
                    },
                }),
                text: String::new(),
            },
        ];
        let err = submit(&store, 2, changes).unwrap_err();
        assert!(err.to_string().contains("change 1"), "{err}");
        assert_eq!(text(&store), "hello\nworld");
        assert_eq!(store.read(&uri(), Document::version).unwrap(), 1);
        assert!(store.read(&uri(), |doc| doc.log().is_empty()).unwrap());
    }

    #[test]
    fn empty_change_list_moves_version() {
        let store = DocumentStore::new();
        store.open(uri(), "abc", 1, "rust");
        submit(&store, 2, Vec::new()).unwrap();
        assert_eq!(store.read(&uri(), Document::version).unwrap(), 2);
        assert_eq!(text(&store), "abc");
    }

    #[tokio::test]
    async fn gap_applies_after_timeout() {
        let store = DocumentStore::new();
        store.open(uri(), "", 1, "rust");
        let version = store
            .submit_in_order(
                &uri(),
                4,
                insert(0, 0, "z"),
                PositionEncoding::Utf16,
                Origin::Editor,
                Duration::from_millis(20),
            )
            .await
            .unwrap();
        assert_eq!(version, 4);
        assert_eq!(text(&store), "z");
    }

    #[tokio::test]
    async fn reopen_drops_waiting_change() {
        let store = Arc::new(DocumentStore::new());
        store.open(uri(), "old", 1, "rust");
        let waiting = {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .submit_in_order(
                        &uri(),
                        3,
                        insert(0, 0, "b"),
                        PositionEncoding::Utf16,
                        Origin::Editor,
                        Duration::from_secs(30),
                    )
                    .await
            })
        };
        // Let the spawned submit queue its change before the reopen.
        while store.slot(&uri()).unwrap().lock().queue.is_empty() {
            assert!(
                !waiting.is_finished(),
                "the change should wait for version 2"
            );
            tokio::task::yield_now().await;
        }
        store.open(uri(), "new", 1, "rust");
        let err = waiting.await.unwrap().unwrap_err();
        assert_eq!(
            err,
            StoreError::Dropped {
                uri: uri().as_str().to_owned(),
                version: 3
            }
        );
        assert!(err.to_string().contains("reopened"), "{err}");
        assert_eq!(text(&store), "new");
    }

    #[test]
    fn failed_queued_change_not_kept() {
        let store = DocumentStore::new();
        store.open(uri(), "ab", 1, "rust");
        let reversed = vec![ContentChange {
            range: Some(Range {
                start: Position {
                    line: 0,
                    character: 2,
                },
                end: Position {
                    line: 0,
                    character: 0,
                },
            }),
            text: String::new(),
        }];
        submit(&store, 3, reversed).unwrap();
        submit(&store, 2, insert(0, 0, "x")).unwrap();
        assert_eq!(text(&store), "xab");
        assert!(store.slot(&uri()).unwrap().lock().failed.is_empty());
        // The rejected version can be sent again.
        submit(&store, 3, insert(0, 0, "y")).unwrap();
        assert_eq!(text(&store), "yxab");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiting_change_wakes_on_predecessor() {
        let store = Arc::new(DocumentStore::new());
        store.open(uri(), "", 1, "rust");
        let later = {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .submit_in_order(
                        &uri(),
                        3,
                        insert(0, 1, "b"),
                        PositionEncoding::Utf16,
                        Origin::Editor,
                        Duration::from_secs(30),
                    )
                    .await
            })
        };
        tokio::task::yield_now().await;
        let earlier = store
            .submit_in_order(
                &uri(),
                2,
                insert(0, 0, "a"),
                PositionEncoding::Utf16,
                Origin::Editor,
                Duration::from_secs(30),
            )
            .await
            .unwrap();
        assert!(earlier >= 2);
        assert_eq!(later.await.unwrap().unwrap(), 3);
        assert_eq!(text(&store), "ab");
    }
}
