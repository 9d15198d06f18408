//! The server's state and its document, settings and code action handlers:
//! what the client can do, the open documents, the settings and rules per
//! workspace folder, and the diagnostics kept up to date as the user types.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use dashmap::DashMap;
use serde_json::{json, Value};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::Client;

use super::analysis::Analysis;
use super::edit::{self, DocumentEdit, EditSupport};
use super::settings::{Effective, Folder, Settings};
use super::{internal, invalid, COMMANDS, FIX_ALL_KIND, WORKSPACE_KIND};
use crate::document::{ContentChange, DocumentStore, Origin, Snapshot, StoreError, Version};
use crate::rules::{Config, CONFIG_FILE_NAME};
use crate::syntax::Language;
use crate::text::encoding::{self, Adjustment};
use crate::text::{CharOffset, PositionEncoding};
use crate::workers::{CancelToken, Pool};

/// How long diagnostics wait for typing to pause before they refresh.
const DIAGNOSTICS_DELAY: Duration = Duration::from_millis(150);
/// How long a `didChange` waits for a missing predecessor before it is
/// applied across the gap (Neovim numbers versions by its changedtick,
/// which may skip).
const GAP_TIMEOUT: Duration = Duration::from_millis(250);
/// How long a request waits for the handlers of the `didChange`
/// notifications sent before it to queue or apply their changes. Each is a
/// short synchronous step, so the limit matters only on a starved runtime.
pub(super) const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(1);
/// Versions of each document kept for `concur.mergeProposals`.
const RECENT_VERSIONS: usize = 64;

/// The client's capabilities that the server uses.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientSupport {
    pub edit: EditSupport,
    /// `codeAction/resolve` can fill in `edit`.
    pub resolve_edit: bool,
    pub configuration: bool,
    pub watch_registration: bool,
    pub work_done_progress: bool,
    pub apply_edit: bool,
}

impl ClientSupport {
    fn from_capabilities(capabilities: &ClientCapabilities) -> Self {
        let workspace = capabilities.workspace.as_ref();
        let workspace_edit = workspace.and_then(|workspace| workspace.workspace_edit.as_ref());
        let code_action = capabilities
            .text_document
            .as_ref()
            .and_then(|text| text.code_action.as_ref());
        Self {
            edit: EditSupport {
                document_changes: workspace_edit
                    .and_then(|edit| edit.document_changes)
                    .unwrap_or(false),
                change_annotations: workspace_edit
                    .and_then(|edit| edit.change_annotation_support.as_ref())
                    .is_some(),
            },
            resolve_edit: code_action
                .and_then(|action| action.resolve_support.as_ref())
                .is_some_and(|support| support.properties.iter().any(|p| p == "edit")),
            configuration: workspace
                .and_then(|workspace| workspace.configuration)
                .unwrap_or(false),
            watch_registration: workspace
                .and_then(|workspace| workspace.did_change_watched_files.as_ref())
                .and_then(|watch| watch.dynamic_registration)
                .unwrap_or(false),
            work_done_progress: capabilities
                .window
                .as_ref()
                .and_then(|window| window.work_done_progress)
                .unwrap_or(false),
            apply_edit: workspace
                .and_then(|workspace| workspace.apply_edit)
                .unwrap_or(false),
        }
    }
}

/// Settings and folders, replaced as the client reports changes.
#[derive(Debug, Default)]
pub struct Session {
    pub encoding: PositionEncoding,
    pub support: ClientSupport,
    /// The settings in force: `initial` overlaid with the newest
    /// `workspace/configuration` response.
    pub settings: Settings,
    /// The settings from `initializationOptions`.
    initial: Settings,
    pub folders: Vec<Folder>,
    /// Effective rules of files outside every folder, by the
    /// `concur.toml` found above them (`None`: none found).
    outside: HashMap<Option<PathBuf>, Arc<Effective>>,
    /// Messages from `initialize`, shown once the client is ready.
    pending_messages: Vec<String>,
}

/// Everything the handlers share.
pub struct Inner {
    pub client: Client,
    /// The transport's record of incoming frames, such as the versions
    /// announced for each document.
    pub(super) input: Arc<super::transport::InputState>,
    pub store: DocumentStore,
    session: RwLock<Session>,
    /// The newest analysis of each document, with the opening it belongs
    /// to.
    analyses: DashMap<Uri, (u64, Arc<Analysis>)>,
    /// A number per opening of each document, from the generation counter,
    /// so that work on a closed document's text is never mistaken for
    /// work on the reopened one.
    pub(super) opened: DashMap<Uri, u64>,
    /// Per document, the generation of the newest diagnostics refresh;
    /// only that refresh publishes.
    generations: DashMap<Uri, u64>,
    next_generation: std::sync::atomic::AtomicU64,
    /// Recent versions of each open document, oldest first.
    recent: DashMap<Uri, VecDeque<Snapshot>>,
    /// Running jobs by progress token, for `window/workDoneProgress/cancel`.
    pub(super) cancels: DashMap<String, CancelToken>,
    pools: Mutex<HashMap<usize, Arc<Pool>>>,
    pub(super) jobs: std::sync::atomic::AtomicU64,
    /// Versions that running jobs started from, per document: the change
    /// log must reach back to them for the rebase.
    bases: Mutex<HashMap<Uri, Vec<Version>>>,
}

/// Keeps a document's change log from being trimmed past a job's base
/// version while the job runs.
pub(super) struct BaseHold {
    inner: Arc<Inner>,
    uri: Uri,
    version: Version,
}

impl Drop for BaseHold {
    fn drop(&mut self) {
        let mut bases = lock(&self.inner.bases);
        if let Some(list) = bases.get_mut(&self.uri) {
            if let Some(index) = list.iter().position(|version| *version == self.version) {
                list.swap_remove(index);
            }
            if list.is_empty() {
                bases.remove(&self.uri);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Maps store errors to the protocol: an unknown document or version is
/// the caller's mistake.
pub(super) fn store_error(error: StoreError) -> tower_lsp_server::jsonrpc::Error {
    invalid(error.to_string())
}

impl Inner {
    pub fn new(client: Client, input: Arc<super::transport::InputState>) -> Self {
        Self {
            client,
            input,
            store: DocumentStore::new(),
            session: RwLock::new(Session::default()),
            analyses: DashMap::new(),
            opened: DashMap::new(),
            generations: DashMap::new(),
            next_generation: std::sync::atomic::AtomicU64::new(0),
            recent: DashMap::new(),
            cancels: DashMap::new(),
            pools: Mutex::new(HashMap::new()),
            jobs: std::sync::atomic::AtomicU64::new(1),
            bases: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn session(&self) -> RwLockReadGuard<'_, Session> {
        self.session.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn session_mut(&self) -> RwLockWriteGuard<'_, Session> {
        self.session.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn encoding(&self) -> PositionEncoding {
        self.session().encoding
    }

    pub(super) fn support(&self) -> ClientSupport {
        self.session().support
    }

    /// Returns the shared worker pool with `threads` threads (one per core
    /// when `None`), creating it on first use.
    pub(super) fn pool(&self, threads: Option<usize>) -> Result<Arc<Pool>> {
        let threads = threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        });
        let mut pools = lock(&self.pools);
        if let Some(pool) = pools.get(&threads) {
            return Ok(Arc::clone(pool));
        }
        let pool = Arc::new(Pool::new(threads).map_err(|error| internal(error.to_string()))?);
        pools.insert(threads, Arc::clone(&pool));
        Ok(pool)
    }

    pub fn initialize(&self, params: InitializeParams) -> InitializeResult {
        let encoding = PositionEncoding::negotiate(
            params
                .capabilities
                .general
                .as_ref()
                .and_then(|general| general.position_encodings.as_deref()),
        );
        let support = ClientSupport::from_capabilities(&params.capabilities);
        let mut session = self.session_mut();
        session.encoding = encoding;
        session.support = support;
        if let Some(options) = &params.initialization_options {
            match Settings::from_value(options) {
                Ok(settings) => {
                    session.initial = settings.clone();
                    session.settings = settings;
                }
                Err(message) => session
                    .pending_messages
                    .push(format!("concur: initializationOptions: {message}")),
            }
        }
        let mut roots: Vec<PathBuf> = params
            .workspace_folders
            .iter()
            .flatten()
            .filter_map(|folder| folder.uri.to_file_path().map(|path| path.into_owned()))
            .collect();
        #[allow(deprecated)]
        if roots.is_empty() {
            if let Some(path) = params.root_uri.as_ref().and_then(|uri| uri.to_file_path()) {
                roots.push(path.into_owned());
            }
        }
        for root in roots {
            let mut folder = Folder::new(root);
            if let Err(message) = folder.reload() {
                session.pending_messages.push(config_message(&message));
            }
            session.folders.push(folder);
        }
        if let Err(message) = check_disabled(&session.settings, &session.folders) {
            session
                .pending_messages
                .push(format!("concur: initializationOptions: {message}"));
        }
        tracing::info!(
            encoding = %encoding,
            folders = session.folders.len(),
            ?support,
            "initialized"
        );
        InitializeResult {
            capabilities: ServerCapabilities {
                position_encoding: Some(encoding.to_kind()),
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        ..TextDocumentSyncOptions::default()
                    },
                )),
                code_action_provider: Some(CodeActionProviderCapability::Options(
                    CodeActionOptions {
                        code_action_kinds: Some(vec![
                            CodeActionKind::QUICKFIX,
                            CodeActionKind::from(FIX_ALL_KIND),
                            CodeActionKind::from(WORKSPACE_KIND),
                        ]),
                        resolve_provider: Some(true),
                        work_done_progress_options: WorkDoneProgressOptions::default(),
                    },
                )),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: COMMANDS
                        .iter()
                        .map(|command| (*command).to_owned())
                        .collect(),
                    work_done_progress_options: WorkDoneProgressOptions {
                        work_done_progress: Some(true),
                    },
                }),
                workspace: Some(WorkspaceServerCapabilities {
                    workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                        supported: Some(true),
                        change_notifications: Some(OneOf::Left(true)),
                    }),
                    file_operations: None,
                }),
                ..ServerCapabilities::default()
            },
            server_info: Some(ServerInfo {
                name: "concur".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
            offset_encoding: None,
        }
    }

    pub async fn initialized(self: &Arc<Self>) {
        let messages = std::mem::take(&mut self.session_mut().pending_messages);
        for message in messages {
            self.show_error(message).await;
        }
        let support = self.support();
        if support.configuration {
            self.pull_configuration().await;
        }
        if support.watch_registration {
            let options = DidChangeWatchedFilesRegistrationOptions {
                watchers: vec![FileSystemWatcher {
                    glob_pattern: GlobPattern::String(format!("**/{CONFIG_FILE_NAME}")),
                    kind: None,
                }],
            };
            let registration = Registration {
                id: "concur-config-watch".to_owned(),
                method: "workspace/didChangeWatchedFiles".to_owned(),
                register_options: serde_json::to_value(options).ok(),
            };
            if let Err(error) = self.client.register_capability(vec![registration]).await {
                tracing::warn!(%error.message, "the client rejected the concur.toml watch");
            }
        }
    }

    async fn show_error(&self, message: String) {
        tracing::warn!("{message}");
        self.client.show_message(MessageType::ERROR, message).await;
    }

    /// Asks the client for the `concur` section and applies it.
    async fn pull_configuration(self: &Arc<Self>) {
        let item = ConfigurationItem {
            scope_uri: None,
            section: Some("concur".to_owned()),
        };
        match self.client.configuration(vec![item]).await {
            Ok(values) => {
                let value = values.into_iter().next().unwrap_or(Value::Null);
                self.apply_settings(&value).await;
            }
            Err(error) => tracing::warn!(%error.message, "workspace/configuration failed"),
        }
    }

    /// Replaces the settings with `value` laid over the initialization
    /// options. An invalid value, or a `disable` list naming no rule, is
    /// shown and the previous settings stay in force.
    async fn apply_settings(self: &Arc<Self>, value: &Value) {
        let parsed = Settings::from_value(value).and_then(|pulled| {
            let settings = self.session().initial.overlay(&pulled);
            check_disabled(&settings, &self.session().folders)?;
            Ok(settings)
        });
        match parsed {
            Ok(settings) => {
                {
                    let mut session = self.session_mut();
                    if session.settings == settings {
                        return;
                    }
                    session.settings = settings;
                    session.invalidate();
                }
                self.refresh_all();
            }
            Err(message) => {
                self.show_error(format!(
                    "concur: {message}; the previous settings stay in force"
                ))
                .await;
            }
        }
    }

    pub async fn did_change_configuration(self: &Arc<Self>, settings: Value) -> Result<()> {
        if self.support().configuration {
            self.pull_configuration().await;
        } else {
            self.apply_settings(&settings).await;
        }
        Ok(())
    }

    pub async fn did_change_watched_files(self: &Arc<Self>, params: DidChangeWatchedFilesParams) {
        let mut errors = Vec::new();
        let mut changed = false;
        {
            let mut session = self.session_mut();
            for event in &params.changes {
                let Some(path) = event.uri.to_file_path() else {
                    continue;
                };
                if path.file_name().and_then(|name| name.to_str()) != Some(CONFIG_FILE_NAME) {
                    continue;
                }
                changed = true;
                for folder in session
                    .folders
                    .iter_mut()
                    .filter(|folder| folder.config_path() == path.as_ref())
                {
                    if let Err(message) = folder.reload() {
                        errors.push(config_message(&message));
                    }
                }
            }
            if changed {
                session.invalidate();
            }
        }
        for message in errors {
            self.show_error(message).await;
        }
        if changed {
            self.refresh_all();
        }
    }

    pub async fn did_change_workspace_folders(
        self: &Arc<Self>,
        params: DidChangeWorkspaceFoldersParams,
    ) {
        let mut errors = Vec::new();
        {
            let mut session = self.session_mut();
            for removed in &params.event.removed {
                if let Some(path) = removed.uri.to_file_path() {
                    session
                        .folders
                        .retain(|folder| folder.root != path.as_ref());
                }
            }
            for added in &params.event.added {
                if let Some(path) = added.uri.to_file_path() {
                    let mut folder = Folder::new(path.into_owned());
                    if let Err(message) = folder.reload() {
                        errors.push(config_message(&message));
                    }
                    session.folders.push(folder);
                }
            }
            session.invalidate();
        }
        for message in errors {
            self.show_error(message).await;
        }
        self.refresh_all();
    }

    /// Resolves the rules and options for `uri`: its workspace folder's, or for a
    /// file outside every folder, those of the nearest `concur.toml` above
    /// it.
    ///
    /// # Errors
    /// An invalid configuration with no earlier valid one to fall back on.
    pub(super) fn effective_for(&self, uri: &Uri) -> Result<Arc<Effective>> {
        let path = uri.to_file_path().map(|path| path.into_owned());
        let mut session = self.session_mut();
        let settings = session.settings.clone();
        if let Some(path) = &path {
            let folder = session
                .folders
                .iter_mut()
                .filter(|folder| folder.contains(path))
                .max_by_key(|folder| folder.root.components().count());
            if let Some(folder) = folder {
                if let Some(effective) = &folder.effective {
                    return Ok(Arc::clone(effective));
                }
                return match Effective::resolve(&settings, &folder.config) {
                    Ok(effective) => {
                        let effective = Arc::new(effective);
                        folder.effective = Some(Arc::clone(&effective));
                        Ok(effective)
                    }
                    Err(message) => Err(invalid(format!("concur: {message}"))),
                };
            }
        }
        let found = match &path {
            Some(path) => Config::discover(path)
                .map_err(|error| invalid(config_message(&error.to_string())))?,
            None => None,
        };
        let key = found.as_ref().map(|(path, _)| path.clone());
        if let Some(effective) = session.outside.get(&key) {
            return Ok(Arc::clone(effective));
        }
        let config = found.map(|(_, config)| config).unwrap_or_default();
        let effective = Arc::new(
            Effective::resolve(&settings, &config)
                .map_err(|message| invalid(format!("concur: {message}")))?,
        );
        session.outside.insert(key, Arc::clone(&effective));
        Ok(effective)
    }

    /// Returns the language of an open document: from its language id,
    /// else from its file name.
    pub(super) fn language_of(&self, uri: &Uri, snapshot: &Snapshot) -> Option<Language> {
        Language::from_id(snapshot.language_id()).ok().or_else(|| {
            uri.to_file_path()
                .and_then(|path| Language::from_path(&path))
        })
    }

    pub fn did_open(self: &Arc<Self>, params: DidOpenTextDocumentParams) {
        let document = params.text_document;
        let opening = self
            .next_generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        self.opened.insert(document.uri.clone(), opening);
        self.analyses.remove(&document.uri);
        self.store.open(
            document.uri.clone(),
            &document.text,
            document.version,
            &document.language_id,
        );
        self.remember(&document.uri, true);
        self.schedule_diagnostics(document.uri);
    }

    pub async fn did_change(self: &Arc<Self>, params: DidChangeTextDocumentParams) -> Result<()> {
        let uri = params.text_document.uri;
        let version = params.text_document.version;
        let changes = params
            .content_changes
            .into_iter()
            .map(|change| ContentChange {
                range: change.range,
                text: change.text,
            })
            .collect();
        // The framework may run this handler before the didOpen that came
        // first has finished; give it a moment.
        let deadline = tokio::time::Instant::now() + GAP_TIMEOUT;
        while !self.store.is_open(&uri) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let result = self
            .store
            .submit_in_order(
                &uri,
                version,
                changes,
                self.encoding(),
                Origin::Editor,
                GAP_TIMEOUT,
            )
            .await;
        match result {
            Ok(_) => {
                self.remember(&uri, false);
                self.schedule_diagnostics(uri);
                Ok(())
            }
            Err(error) => Err(invalid(format!(
                "concur ignored a change to {} (version {version}): {error}",
                uri.as_str()
            ))),
        }
    }

    pub async fn did_close(&self, params: DidCloseTextDocumentParams) -> Result<()> {
        let uri = params.text_document.uri;
        self.analyses.remove(&uri);
        self.opened.remove(&uri);
        self.recent.remove(&uri);
        self.generations.remove(&uri);
        self.store.close(&uri).map_err(store_error)?;
        self.client.publish_diagnostics(uri, Vec::new(), None).await;
        Ok(())
    }

    /// Keeps the newest snapshot of `uri` for `concur.mergeProposals`.
    fn remember(&self, uri: &Uri, reset: bool) {
        let Ok(snapshot) = self.store.snapshot(uri) else {
            return;
        };
        let mut recent = self.recent.entry(uri.clone()).or_default();
        if reset {
            recent.clear();
        }
        if recent
            .back()
            .is_some_and(|last| last.version() >= snapshot.version())
        {
            return;
        }
        recent.push_back(snapshot);
        while recent.len() > RECENT_VERSIONS {
            recent.pop_front();
        }
        drop(recent);
        self.trim_log(uri);
    }

    /// Keeps the change log of `uri` from `version` on until the hold is
    /// dropped.
    pub(super) fn hold_base(self: &Arc<Self>, uri: &Uri, version: Version) -> BaseHold {
        lock(&self.bases)
            .entry(uri.clone())
            .or_default()
            .push(version);
        BaseHold {
            inner: Arc::clone(self),
            uri: uri.clone(),
            version,
        }
    }

    /// Trims the change log of `uri` to what the kept versions and the
    /// running jobs still need.
    fn trim_log(&self, uri: &Uri) {
        let Some(oldest_kept) = self
            .recent
            .get(uri)
            .and_then(|recent| recent.front().map(Snapshot::version))
        else {
            return;
        };
        let oldest_job = lock(&self.bases)
            .get(uri)
            .and_then(|list| list.iter().min().copied());
        let keep_from = oldest_job.map_or(oldest_kept, |job| job.min(oldest_kept));
        self.store.truncate_log(uri, keep_from);
    }

    /// The text of version `version` of `uri`, if it is recent enough.
    pub(super) fn snapshot_at(&self, uri: &Uri, version: Version) -> Option<Snapshot> {
        self.recent
            .get(uri)?
            .iter()
            .find(|snapshot| snapshot.version() == version)
            .cloned()
    }

    /// Returns the oldest and newest versions kept for `uri`.
    pub(super) fn recent_span(&self, uri: &Uri) -> Option<(Version, Version)> {
        let recent = self.recent.get(uri)?;
        Some((recent.front()?.version(), recent.back()?.version()))
    }

    /// Refreshes the diagnostics of every open document.
    fn refresh_all(self: &Arc<Self>) {
        self.analyses.clear();
        for uri in self.store.uris() {
            self.schedule_diagnostics(uri);
        }
    }

    /// Gives `uri` a new diagnostics generation. Numbers come from one
    /// counter for all documents, so a refresh started before a close and
    /// reopen never matches a generation given out after it.
    fn bump(&self, uri: &Uri) -> u64 {
        let generation = self
            .next_generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        self.generations.insert(uri.clone(), generation);
        generation
    }

    /// Publishes diagnostics for `uri` once typing pauses.
    pub(super) fn schedule_diagnostics(self: &Arc<Self>, uri: Uri) {
        let generation = self.bump(&uri);
        let inner = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(DIAGNOSTICS_DELAY).await;
            if inner.generations.get(&uri).map(|current| *current) != Some(generation) {
                return;
            }
            match inner.analysis(&uri).await {
                Ok(analysis) => {
                    let diagnostics = analysis.diagnostics(inner.encoding());
                    if inner.generations.get(&uri).map(|current| *current) == Some(generation) {
                        inner
                            .client
                            .publish_diagnostics(uri, diagnostics, Some(analysis.version))
                            .await;
                    }
                }
                Err(error) => tracing::warn!(uri = uri.as_str(), %error.message, "no diagnostics"),
            }
        });
    }

    /// The rule matches of the current version of `uri`, cached per
    /// version and rules.
    pub(super) async fn analysis(&self, uri: &Uri) -> Result<Arc<Analysis>> {
        let opened = self.opened.get(uri).map(|opened| *opened);
        let snapshot = self.store.snapshot(uri).map_err(store_error)?;
        let effective = self.effective_for(uri)?;
        if let Some(cached) = self.analyses.get(uri) {
            let (cached_opened, cached) = &*cached;
            if Some(*cached_opened) == opened
                && cached.version == snapshot.version()
                && Arc::ptr_eq(&cached.effective, &effective)
            {
                return Ok(Arc::clone(cached));
            }
        }
        let language = self.language_of(uri, &snapshot);
        let analysis =
            tokio::task::spawn_blocking(move || Analysis::run(&snapshot, language, effective))
                .await
                .map_err(|error| join_error(&error))?
                .map_err(internal)?;
        let analysis = Arc::new(analysis);
        // Cache it only for the same opening of the document, and only
        // when it is newer than what is cached.
        if let Some(opened) = opened {
            if self.opened.get(uri).map(|current| *current) == Some(opened) {
                let mut entry = self
                    .analyses
                    .entry(uri.clone())
                    .or_insert_with(|| (opened, Arc::clone(&analysis)));
                if entry.0 != opened || entry.1.version < analysis.version {
                    *entry = (opened, Arc::clone(&analysis));
                }
            }
        }
        Ok(analysis)
    }

    pub async fn code_action(
        self: &Arc<Self>,
        params: CodeActionParams,
    ) -> Result<CodeActionResponse> {
        let uri = params.text_document.uri;
        self.store.catch_up(&uri, CATCH_UP_TIMEOUT).await;
        let analysis = self.analysis(&uri).await?;
        let encoding = self.encoding();
        let support = self.support();
        let range = checked_range(&analysis.text, params.range, encoding, &uri)?;
        let wants = |kind: &str| match &params.context.only {
            None => true,
            Some(only) => only.iter().any(|wanted| {
                let wanted = wanted.as_str();
                kind == wanted || kind.starts_with(&format!("{wanted}."))
            }),
        };
        let mut actions: Vec<CodeActionOrCommand> = Vec::new();
        let rules = analysis.effective.rules.rules();
        if wants(CodeActionKind::QUICKFIX.as_str()) {
            let diagnostics = analysis.diagnostics(encoding);
            for index in analysis.matches_in(&range) {
                let found = &analysis.matches[index];
                let rule = &rules[found.rule];
                let data = json!({
                    "kind": "quickfix",
                    "uri": uri.as_str(),
                    "version": analysis.version,
                    "rule": rule.id,
                    "start": found.chars.start,
                    "end": found.chars.end,
                });
                let mut action = CodeAction {
                    title: format!("concur: {}", rule.message),
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![diagnostics[index].clone()]),
                    data: Some(data),
                    ..CodeAction::default()
                };
                if !support.resolve_edit {
                    match self.quick_fix_edit(&uri, &analysis, index) {
                        Ok(edit) => action.edit = Some(edit),
                        Err(error) => {
                            action.disabled = Some(CodeActionDisabled {
                                reason: error.message.into_owned(),
                            });
                        }
                    }
                }
                actions.push(CodeActionOrCommand::CodeAction(action));
            }
        }
        let quick_fixes = actions.len();
        if wants(FIX_ALL_KIND) && !analysis.matches.is_empty() {
            let mut action = CodeAction {
                title: "concur: apply all rules to this file".to_owned(),
                kind: Some(CodeActionKind::from(FIX_ALL_KIND)),
                data: Some(json!({"kind": "fixAll", "uri": uri.as_str()})),
                ..CodeAction::default()
            };
            if !support.resolve_edit {
                let (edit, _) = self.fix_all_edit(&uri).await?;
                action.edit = Some(edit);
            }
            actions.push(CodeActionOrCommand::CodeAction(action));
        }
        let has_folders = !self.session().folders.is_empty();
        // Listed when asked for by kind, or next to a quick fix; offered on
        // every line it would put a light bulb on every line.
        let asked_for = params.context.only.is_some() || quick_fixes > 0;
        if wants(WORKSPACE_KIND) && has_folders && asked_for {
            let mut action = CodeAction {
                title: "concur: apply all rules to the workspace".to_owned(),
                kind: Some(CodeActionKind::from(WORKSPACE_KIND)),
                data: Some(json!({"kind": "workspace"})),
                ..CodeAction::default()
            };
            if !support.resolve_edit {
                // Computing the whole workspace for every listing would
                // be too slow; the command does the same job on demand.
                action.command = Some(Command {
                    title: action.title.clone(),
                    command: "concur.applyWorkspace".to_owned(),
                    arguments: None,
                });
            }
            actions.push(CodeActionOrCommand::CodeAction(action));
        }
        Ok(actions)
    }

    /// The edit of one quick fix, rebased onto the newest version.
    pub(super) fn quick_fix_edit(
        &self,
        uri: &Uri,
        analysis: &Analysis,
        index: usize,
    ) -> Result<WorkspaceEdit> {
        let (change, attribution) = analysis.fix_one(index).map_err(invalid)?;
        let encoding = self.encoding();
        let rules = &analysis.effective.rules;
        let (edits, version, _) = self
            .store
            .read(uri, |document| {
                edit::rebased_edits(
                    document,
                    &change,
                    analysis.version,
                    &attribution,
                    rules,
                    encoding,
                )
                .map(|rebased| (rebased.edits, document.version(), rebased.dropped_groups))
            })
            .map_err(store_error)?
            .map_err(|error| invalid(error.to_string()))?;
        if edits.is_empty() {
            return Err(invalid(format!(
                "the fix no longer applies: {} changed where it would edit",
                uri.as_str()
            )));
        }
        Ok(edit::workspace_edit(
            &[DocumentEdit {
                uri: uri.clone(),
                version: Some(version),
                edits,
                dropped_groups: Vec::new(),
            }],
            self.support().edit,
        ))
    }

    pub async fn code_action_resolve(
        self: &Arc<Self>,
        mut action: CodeAction,
    ) -> Result<CodeAction> {
        self.store.catch_up_all(CATCH_UP_TIMEOUT).await;
        let data = action.data.clone().ok_or_else(|| {
            invalid(
                "codeAction/resolve: the action has no data; resolve only actions concur listed",
            )
        })?;
        let kind = data.get("kind").and_then(Value::as_str).unwrap_or_default();
        let uri = || -> Result<Uri> {
            let text = data
                .get("uri")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("codeAction/resolve: data {data} has no uri")))?;
            text.parse()
                .map_err(|_| invalid(format!("codeAction/resolve: {text:?} is not a valid URI")))
        };
        match kind {
            "quickfix" => {
                let uri = uri()?;
                let (rule, version, start) = (
                    data.get("rule").and_then(Value::as_str),
                    data.get("version").and_then(Value::as_i64),
                    data.get("start").and_then(Value::as_u64),
                );
                let (Some(rule), Some(version), Some(start)) = (rule, version, start) else {
                    return Err(invalid(format!(
                        "codeAction/resolve: data {data} needs rule, version and start"
                    )));
                };
                let analysis = self.analysis(&uri).await?;
                let start = self
                    .map_offset(&uri, version as Version, start as usize, analysis.version)
                    .ok_or_else(|| {
                        invalid(format!(
                            "the {rule} fix was listed for version {version} of {}, which is no \
                             longer known; ask for code actions again",
                            uri.as_str()
                        ))
                    })?;
                let index = analysis
                    .matches
                    .iter()
                    .position(|found| {
                        analysis.effective.rules.rules()[found.rule].id == rule
                            && found.chars.start == start
                    })
                    .ok_or_else(|| {
                        invalid(format!(
                            "the {rule} match is gone: {} changed there since the action was \
                             listed",
                            uri.as_str()
                        ))
                    })?;
                action.edit = Some(self.quick_fix_edit(&uri, &analysis, index)?);
            }
            "fixAll" => {
                let uri = uri()?;
                let (edit, _) = self.fix_all_edit(&uri).await?;
                action.edit = Some(edit);
            }
            "workspace" => {
                let (edit, _) = self.workspace_edit(None).await?;
                action.edit = Some(edit);
            }
            other => {
                return Err(invalid(format!(
                    "codeAction/resolve: unknown action kind {other:?} in data {data}"
                )))
            }
        }
        Ok(action)
    }

    /// Maps a char offset of version `from` of `uri` to version `to`.
    fn map_offset(&self, uri: &Uri, from: Version, offset: usize, to: Version) -> Option<usize> {
        if from == to {
            return Some(offset);
        }
        self.store
            .read(uri, |document| {
                let mut offset = CharOffset(offset);
                for entry in document.changes_since(from).ok()? {
                    if entry.version > to {
                        break;
                    }
                    offset = entry.change.map_pos(offset, crate::text::Assoc::After);
                }
                Some(offset.0)
            })
            .ok()
            .flatten()
    }

    /// Cancels the job that reports progress under `token`.
    pub fn cancel_progress(&self, token: &NumberOrString) {
        let key = token_key(token);
        if let Some(cancel) = self.cancels.get(&key) {
            tracing::info!(token = key, "job cancelled by the user");
            cancel.cancel();
        }
    }

    /// Cancels every running job.
    pub fn cancel_all(&self) {
        for entry in &self.cancels {
            entry.value().cancel();
        }
    }
}

impl Session {
    /// Forgets the effective rules, after the settings or a `concur.toml`
    /// changed.
    fn invalidate(&mut self) {
        for folder in &mut self.folders {
            folder.effective = None;
        }
        self.outside.clear();
    }
}

/// Checks that every id in the `disable` setting names a built-in rule or
/// a rule of some folder's `concur.toml`.
fn check_disabled(settings: &Settings, folders: &[Folder]) -> std::result::Result<(), String> {
    let catalog = crate::rules::RuleSet::builtin();
    let unknown: Vec<&str> = settings
        .disable
        .iter()
        .flatten()
        .filter(|id| {
            catalog.get(id).is_none()
                && !folders
                    .iter()
                    .any(|folder| folder.config.user_rules.get(id).is_some())
        })
        .map(String::as_str)
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "setting concur.disable names rules that do not exist: {}; `concur rules` lists \
             the built-in ids",
            unknown.join(", ")
        ))
    }
}

pub(super) fn token_key(token: &NumberOrString) -> String {
    match token {
        NumberOrString::Number(number) => number.to_string(),
        NumberOrString::String(text) => text.clone(),
    }
}

fn config_message(message: &str) -> String {
    format!("concur: invalid configuration, the last valid rules stay in force: {message}")
}

pub(super) fn join_error(error: &tokio::task::JoinError) -> tower_lsp_server::jsonrpc::Error {
    if error.is_panic() {
        internal(format!(
            "concur: a worker thread panicked; the server keeps running, please report this ({error})"
        ))
    } else {
        internal(format!("concur: a worker thread was cancelled ({error})"))
    }
}

/// Converts a request's range to chars, refusing one that starts or ends
/// past the last line.
pub(super) fn checked_range(
    text: &ropey::Rope,
    range: tower_lsp_server::ls_types::Range,
    encoding: PositionEncoding,
    uri: &Uri,
) -> Result<std::ops::Range<usize>> {
    for position in [range.start, range.end] {
        let resolved = encoding::resolve_position(text, position, encoding);
        if resolved.adjustment == Adjustment::LinePastEnd {
            return Err(invalid(format!(
                "position {}:{} is outside {}, which has {} lines (lines count from 0)",
                position.line,
                position.character,
                uri.as_str(),
                text.len_lines()
            )));
        }
    }
    let chars = encoding::range_to_chars(text, range, encoding)
        .map_err(|error| invalid(format!("{}: {error}", uri.as_str())))?;
    Ok(chars.start.0..chars.end.0)
}
