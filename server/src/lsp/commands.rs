//! The commands and the jobs behind the fix-all and workspace actions: run
//! the workers, turn their merged change into one `WorkspaceEdit`, send it
//! with `workspace/applyEdit`, rebase and resend when the user's typing
//! made the client reject it, and report what happened.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ropey::Rope;
use serde::Serialize;
use serde_json::Value;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::request::ApplyWorkspaceEdit;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Bounded, Cancellable, OngoingProgress};
use tracing::Instrument;

use super::edit::{self, DocumentEdit};
use super::session::{join_error, store_error, token_key, Inner, CATCH_UP_TIMEOUT};
use super::settings::Effective;
use super::{internal, invalid};
use crate::cli::files;
use crate::document::{StoreError, Version};
use crate::job::{self, DocumentOutcome, JobDocument};
use crate::merge::{self, EditSet, GroupOutcome, MergeOptions, MergeReport, WorkerId};
use crate::rules::RuleSet;
use crate::syntax::Language;
use crate::workers::CancelToken;

/// Sends of one edit: the first and up to three after the client rejected
/// it because the document moved on.
const MAX_ATTEMPTS: u32 = 4;
/// How long a rejected edit waits for the newer `didChange` that explains
/// the rejection.
const RETRY_WAIT: Duration = Duration::from_millis(1000);

/// One document of a job.
#[derive(Clone)]
pub(super) struct Target {
    /// Keeps the change log back to `base` while the job runs.
    _hold: Option<Arc<super::session::BaseHold>>,
    /// The opening of the document that `base` belongs to.
    opened: Option<u64>,
    uri: Uri,
    /// The version the text belongs to; `None` for a file read from disk.
    base: Option<Version>,
    text: Rope,
    language: Language,
    effective: Arc<Effective>,
}

/// A job's result for one document.
struct Finished {
    target: Target,
    outcome: DocumentOutcome,
    rules: RuleSet,
}

/// The summary a command returns, which editors also show as the last
/// job's report.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandSummary {
    /// Groups applied by the merges.
    pub applied: usize,
    /// Groups that lost a conflict.
    pub conflicts: usize,
    /// Groups dropped for syntax errors, plus replacements dropped because
    /// the user edited their text while the job ran.
    pub dropped: usize,
    pub rounds: u32,
    pub workers: usize,
    pub failed_workers: usize,
    pub files: usize,
    pub changed_files: usize,
    /// `applied`, `rejected` or `empty` (nothing to change).
    pub edit: &'static str,
    /// How many times the edit was sent.
    pub attempts: u32,
    pub failure_reason: Option<String>,
    /// Documents the edit left out, with the reason.
    pub skipped: Vec<String>,
    pub report: Vec<DocumentReport>,
}

/// The merge reports of one document.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentReport {
    pub uri: String,
    /// The version the edit targeted; `null` for a file that is not open.
    pub version: Option<Version>,
    pub dropped_for_user_edit: usize,
    /// One report per round (see the merge report in the docs).
    pub rounds: Vec<MergeReport>,
}

fn argument(params: &ExecuteCommandParams) -> Result<&serde_json::Map<String, Value>> {
    let only = match params.arguments.as_slice() {
        [only] => Some(only),
        _ => None,
    };
    only.and_then(Value::as_object).ok_or_else(|| {
        invalid(format!(
            "{} takes one object argument such as [{{\"uri\": \"file:///src/lib.rs\"}}], got {}",
            params.command,
            Value::Array(params.arguments.clone())
        ))
    })
}

fn uri_argument(command: &str, object: &serde_json::Map<String, Value>) -> Result<Uri> {
    let value = object.get("uri").ok_or_else(|| {
        invalid(format!(
            "{command}: the argument needs a \"uri\" naming an open document"
        ))
    })?;
    let text = value
        .as_str()
        .ok_or_else(|| invalid(format!("{command}: \"uri\" must be a string, got {value}")))?;
    text.parse()
        .map_err(|_| invalid(format!("{command}: {text:?} is not a valid URI")))
}

impl Inner {
    pub async fn execute_command(self: &Arc<Self>, params: ExecuteCommandParams) -> Result<Value> {
        self.store.catch_up_all(CATCH_UP_TIMEOUT).await;
        let span = tracing::info_span!("command", command = params.command.as_str());
        let token = params.work_done_progress_params.work_done_token.clone();
        async move {
            let summary = match params.command.as_str() {
                "concur.applyAll" => {
                    let uri = uri_argument(&params.command, argument(&params)?)?;
                    let target = self.open_target(&uri)?;
                    self.run_and_apply(vec![target], None, token, "concur: apply all rules")
                        .await?
                }
                "concur.applyRule" => {
                    let object = argument(&params)?;
                    let uri = uri_argument(&params.command, object)?;
                    let rule = object.get("rule").and_then(Value::as_str).ok_or_else(|| {
                        invalid(format!(
                            "concur.applyRule: the argument needs a \"rule\" id, got {}",
                            Value::Object(object.clone())
                        ))
                    })?;
                    let target = self.open_target(&uri)?;
                    self.run_and_apply(vec![target], Some(rule), token, "concur: apply rule")
                        .await?
                }
                "concur.applyWorkspace" => {
                    let token = match token {
                        Some(token) => Some(token),
                        None => self.create_progress_token().await,
                    };
                    let (targets, notes) = self.workspace_targets().await?;
                    let mut summary = self
                        .run_and_apply(
                            targets,
                            None,
                            token,
                            "concur: apply all rules to the workspace",
                        )
                        .await?;
                    summary.skipped.extend(notes);
                    summary
                }
                "concur.mergeProposals" => self.merge_proposals(&params).await?,
                other => {
                    return Err(invalid(format!(
                        "unknown command {other:?}; concur runs {}",
                        super::COMMANDS.join(", ")
                    )))
                }
            };
            serde_json::to_value(summary).map_err(|error| internal(error.to_string()))
        }
        .instrument(span)
        .await
    }

    /// Builds a job target for an open document.
    pub(super) fn open_target(self: &Arc<Self>, uri: &Uri) -> Result<Target> {
        let snapshot = self.store.snapshot(uri).map_err(store_error)?;
        let language = self.language_of(uri, &snapshot).ok_or_else(|| {
            invalid(format!(
                "{} is not a Rust document (language id {:?}); concur has rules for Rust only",
                uri.as_str(),
                snapshot.language_id()
            ))
        })?;
        Ok(Target {
            opened: self.opened.get(uri).map(|opened| *opened),
            _hold: Some(Arc::new(self.hold_base(uri, snapshot.version()))),
            uri: uri.clone(),
            base: Some(snapshot.version()),
            text: snapshot.text().clone(),
            language,
            effective: self.effective_for(uri)?,
        })
    }

    /// Lists every supported file under the workspace folders as targets:
    /// open documents from memory, the rest from disk, honouring
    /// `.gitignore`. Also returns the folders and files left out.
    async fn workspace_targets(self: &Arc<Self>) -> Result<(Vec<Target>, Vec<String>)> {
        let roots: Vec<PathBuf> = self
            .session()
            .folders
            .iter()
            .map(|folder| folder.root.clone())
            .collect();
        if roots.is_empty() {
            return Err(invalid(
                "concur.applyWorkspace: the client opened no workspace folder; open a folder first",
            ));
        }
        let mut notes = Vec::new();
        let (existing, missing): (Vec<PathBuf>, Vec<PathBuf>) =
            roots.into_iter().partition(|root| root.is_dir());
        for root in missing {
            notes.push(format!(
                "{}: the workspace folder does not exist or is not a directory",
                root.display()
            ));
        }
        let (found, skipped) = if existing.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            tokio::task::spawn_blocking(move || files::collect(&existing))
                .await
                .map_err(|error| join_error(&error))?
                .map_err(|error| invalid(format!("concur.applyWorkspace: {error}")))?
        };
        for skip in &skipped {
            tracing::info!("{skip}");
            notes.push(skip.to_string());
        }
        let open: HashMap<PathBuf, Uri> = self
            .store
            .uris()
            .into_iter()
            .filter_map(|uri| {
                let path = uri.to_file_path()?.into_owned();
                Some((std::fs::canonicalize(&path).unwrap_or(path), uri))
            })
            .collect();
        let mut targets = Vec::with_capacity(found.len());
        for file in found {
            let canonical =
                std::fs::canonicalize(&file.real_path).unwrap_or(file.real_path.clone());
            if let Some(uri) = open.get(&canonical) {
                match self.open_target(uri) {
                    Ok(target) => targets.push(target),
                    Err(error) => tracing::warn!(uri = uri.as_str(), %error.message, "skipped"),
                }
                continue;
            }
            let Some(uri) = Uri::from_file_path(&file.path) else {
                continue;
            };
            targets.push(Target {
                opened: None,
                _hold: None,
                effective: self.effective_for(&uri)?,
                uri,
                base: None,
                text: Rope::from_str(&file.text),
                language: file.language,
            });
        }
        Ok((targets, notes))
    }

    async fn create_progress_token(&self) -> Option<NumberOrString> {
        if !self.support().work_done_progress {
            return None;
        }
        let job = self.jobs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let token = NumberOrString::String(format!("concur-job-{job}"));
        match self.client.create_work_done_progress(token.clone()).await {
            Ok(()) => Some(token),
            Err(error) => {
                tracing::warn!(%error.message, "the client rejected a progress token");
                None
            }
        }
    }

    /// Computes the fix-all edit of one document, for `codeAction/resolve`.
    pub(super) async fn fix_all_edit(
        self: &Arc<Self>,
        uri: &Uri,
    ) -> Result<(WorkspaceEdit, CommandSummary)> {
        let target = self.open_target(uri)?;
        let cancel = CancelToken::new();
        let finished = self.run_targets(vec![target], None, &cancel, None).await?;
        let mut summary = summarize(&finished);
        let (documents, skipped) = self.plan_documents(&finished);
        record_plan(&mut summary, &finished, &documents, skipped);
        Ok((
            edit::workspace_edit(&documents, self.support().edit),
            summary,
        ))
    }

    /// Computes the workspace edit, for `codeAction/resolve`.
    pub(super) async fn workspace_edit(
        self: &Arc<Self>,
        token: Option<NumberOrString>,
    ) -> Result<(WorkspaceEdit, CommandSummary)> {
        let (targets, _) = self.workspace_targets().await?;
        let cancel = CancelToken::new();
        let progress = self.begin_progress(token, &cancel).await;
        let finished = self
            .run_targets(targets, None, &cancel, progress.as_ref())
            .await;
        if let Some(progress) = progress {
            progress.finish().await;
        }
        let finished = finished?;
        let mut summary = summarize(&finished);
        let (documents, skipped) = self.plan_documents(&finished);
        record_plan(&mut summary, &finished, &documents, skipped);
        Ok((
            edit::workspace_edit(&documents, self.support().edit),
            summary,
        ))
    }

    async fn begin_progress(
        &self,
        token: Option<NumberOrString>,
        cancel: &CancelToken,
    ) -> Option<OngoingProgress<Bounded, Cancellable>> {
        let token = token?;
        self.cancels.insert(token_key(&token), cancel.clone());
        Some(
            self.client
                .progress(token, "concur")
                .with_message("running rules")
                .with_percentage(0)
                .with_cancel_button()
                .begin()
                .await,
        )
    }

    /// Runs the job, sends its edit and reports.
    async fn run_and_apply(
        self: &Arc<Self>,
        targets: Vec<Target>,
        rule: Option<&str>,
        token: Option<NumberOrString>,
        label: &str,
    ) -> Result<CommandSummary> {
        if !self.support().apply_edit {
            return Err(invalid(
                "this client does not support workspace/applyEdit, which concur's commands need; \
                 use the code actions instead",
            ));
        }
        let cancel = CancelToken::new();
        // A cancelled request drops this future: stop the workers too.
        let _guard = CancelOnDrop(cancel.clone());
        let key = token.as_ref().map(token_key);
        let progress = self.begin_progress(token, &cancel).await;
        let finished = self
            .run_targets(targets, rule, &cancel, progress.as_ref())
            .await;
        if let Some(progress) = progress {
            progress.finish().await;
        }
        if let Some(key) = key {
            self.cancels.remove(&key);
        }
        let finished = finished?;
        let mut summary = summarize(&finished);
        self.send_with_retries(&finished, label, &mut summary).await;
        Ok(summary)
    }

    /// Runs the rules on the targets, one job per set of effective rules.
    async fn run_targets(
        self: &Arc<Self>,
        targets: Vec<Target>,
        rule: Option<&str>,
        cancel: &CancelToken,
        progress: Option<&OngoingProgress<Bounded, Cancellable>>,
    ) -> Result<Vec<Finished>> {
        let job = self.jobs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let span = tracing::info_span!("job", job, documents = targets.len(), rule);
        self.run_batches(targets, rule, cancel, progress)
            .instrument(span)
            .await
    }

    async fn run_batches(
        self: &Arc<Self>,
        targets: Vec<Target>,
        rule: Option<&str>,
        cancel: &CancelToken,
        progress: Option<&OngoingProgress<Bounded, Cancellable>>,
    ) -> Result<Vec<Finished>> {
        let started = std::time::Instant::now();
        let mut batches: Vec<(Arc<Effective>, Vec<Target>)> = Vec::new();
        for target in targets {
            match batches
                .iter_mut()
                .find(|(effective, _)| Arc::ptr_eq(effective, &target.effective))
            {
                Some((_, batch)) => batch.push(target),
                None => batches.push((Arc::clone(&target.effective), vec![target])),
            }
        }
        let mut finished = Vec::new();
        for (effective, batch) in batches {
            let rules = match rule {
                None => effective.rules.clone(),
                Some(id) => {
                    if effective.rules.get(id).is_none() {
                        let enabled: Vec<&str> = effective
                            .rules
                            .rules()
                            .iter()
                            .map(|rule| rule.id.as_str())
                            .collect();
                        return Err(invalid(format!(
                            "rule {id:?} is not enabled for {}; enabled rules: {}",
                            batch[0].uri.as_str(),
                            enabled.join(", ")
                        )));
                    }
                    effective.rules.subset(|candidate| candidate.id == id)
                }
            };
            let pool = self.pool(effective.workers)?;
            let documents: Vec<JobDocument> = batch
                .iter()
                .map(|target| JobDocument {
                    key: target.uri.as_str().to_owned(),
                    language: target.language,
                    text: target.text.clone(),
                })
                .collect();
            let options = effective.options.clone();
            let job_rules = rules.clone();
            let job_cancel = cancel.clone();
            let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
            let mut handle = tokio::task::spawn_blocking(move || {
                job::run_rules(
                    &pool,
                    &job_rules,
                    documents,
                    &options,
                    &job_cancel,
                    |done| {
                        let _ = sender.send(done);
                    },
                )
            });
            let outcomes = loop {
                tokio::select! {
                    result = &mut handle => break result,
                    Some(done) = receiver.recv() => {
                        if let Some(progress) = progress {
                            let percentage = (done.done * 100 / done.total.max(1)) as u32;
                            progress
                                .report_with_message(
                                    format!("{} of {} workers", done.done, done.total),
                                    percentage,
                                    None,
                                )
                                .await;
                        }
                    }
                }
            };
            let outcomes = outcomes
                .map_err(|error| join_error(&error))?
                .map_err(|error| match error {
                    job::JobError::Cancelled => Error::request_cancelled(),
                    other => internal(format!("concur: the job failed: {other}")),
                })?;
            for (target, outcome) in batch.into_iter().zip(outcomes) {
                finished.push(Finished {
                    target,
                    outcome,
                    rules: rules.clone(),
                });
            }
        }
        tracing::info!(
            documents = finished.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "job finished"
        );
        Ok(finished)
    }

    /// The edits of every changed document, on the newest version of the
    /// open ones, and the documents left out with the reason.
    fn plan_documents(&self, finished: &[Finished]) -> (Vec<DocumentEdit>, Vec<String>) {
        let encoding = self.encoding();
        let mut documents = Vec::new();
        let mut skipped = Vec::new();
        for item in finished.iter().filter(|item| item.outcome.changed()) {
            let target = &item.target;
            let outcome = &item.outcome;
            if target.base.is_some()
                && target.opened != self.opened.get(&target.uri).map(|opened| *opened)
            {
                skipped.push(format!(
                    "{}: the document was closed or reopened while the job ran; run the job again",
                    target.uri.as_str()
                ));
                continue;
            }
            let planned = match target.base {
                Some(base) => self.store.read(&target.uri, |document| {
                    edit::rebased_edits(
                        document,
                        &outcome.change,
                        base,
                        &outcome.attribution,
                        &item.rules,
                        encoding,
                    )
                    .map(|rebased| {
                        (
                            rebased.edits,
                            Some(document.version()),
                            rebased.dropped_groups,
                        )
                    })
                }),
                None => self.store.read(&target.uri, |document| {
                    // Opened while the job read it from disk: usable only
                    // if the buffer still contains the disk text.
                    if *document.text() == target.text {
                        Ok((
                            edit::direct_edits(
                                document.text(),
                                &outcome.change,
                                &outcome.attribution,
                                &item.rules,
                                encoding,
                            ),
                            Some(document.version()),
                            Vec::new(),
                        ))
                    } else {
                        Err(crate::document::DocumentError::UnknownVersion {
                            requested: 0,
                            oldest: document.oldest_version(),
                            current: document.version(),
                        })
                    }
                }),
            };
            match planned {
                Ok(Ok((edits, version, dropped_groups))) => documents.push(DocumentEdit {
                    uri: target.uri.clone(),
                    version,
                    edits,
                    dropped_groups,
                }),
                Err(StoreError::UnknownUri { .. }) if target.base.is_none() => {
                    documents.push(DocumentEdit {
                        uri: target.uri.clone(),
                        version: None,
                        edits: edit::direct_edits(
                            &target.text,
                            &outcome.change,
                            &outcome.attribution,
                            &item.rules,
                            encoding,
                        ),
                        dropped_groups: Vec::new(),
                    });
                }
                Err(error) => skipped.push(format!("{}: {error}", target.uri.as_str())),
                Ok(Err(error)) => skipped.push(format!(
                    "{}: {}",
                    target.uri.as_str(),
                    if target.base.is_none() {
                        "opened and edited while the job read it from disk; run the job again"
                            .to_owned()
                    } else {
                        error.to_string()
                    }
                )),
            }
        }
        (documents, skipped)
    }

    /// Sends the edit; when the client rejects it because a document moved
    /// on, rebases onto the newest version and sends again.
    async fn send_with_retries(
        self: &Arc<Self>,
        finished: &[Finished],
        label: &str,
        summary: &mut CommandSummary,
    ) {
        let support = self.support().edit;
        for attempt in 1..=MAX_ATTEMPTS {
            let (documents, skipped) = self.plan_documents(finished);
            *summary = summarize(finished);
            record_plan(summary, finished, &documents, skipped);
            summary.attempts = attempt;
            if documents.iter().all(|document| document.edits.is_empty()) {
                summary.edit = "empty";
                return;
            }
            let edit = edit::workspace_edit(&documents, support);
            let response = self
                .client
                .send_request::<ApplyWorkspaceEdit>(ApplyWorkspaceEditParams {
                    label: Some(label.to_owned()),
                    edit,
                })
                .await;
            match response {
                Ok(response) if response.applied => {
                    summary.edit = "applied";
                    summary.failure_reason = None;
                    return;
                }
                Ok(response) => {
                    summary.edit = "rejected";
                    summary.failure_reason = Some(response.failure_reason.unwrap_or_else(|| {
                        "the client did not apply the edit and gave no reason".to_owned()
                    }));
                    // Only a rejection that came after the client's version
                    // had moved on is retried. The client sends that
                    // didChange before its response, so the transport has
                    // already seen it. Any other rejection is final, even
                    // if the user types afterwards.
                    let moved: Vec<(Uri, Version)> = documents
                        .iter()
                        .filter_map(|document| {
                            let sent = document.version?;
                            self.input
                                .moved_before_last_response(document.uri.as_str(), sent)
                                .then(|| (document.uri.clone(), sent))
                        })
                        .collect();
                    if moved.is_empty() {
                        return;
                    }
                    for (uri, sent) in moved {
                        // The didChange came before the response, so apply
                        // it now, also across a version the client skipped.
                        self.store.catch_up(&uri, CATCH_UP_TIMEOUT).await;
                        self.store.wait_newer(&uri, sent, RETRY_WAIT).await;
                    }
                    tracing::info!(attempt, "the document moved on; rebasing and sending again");
                }
                Err(error) => {
                    summary.edit = "rejected";
                    summary.failure_reason =
                        Some(format!("workspace/applyEdit failed: {}", error.message));
                    return;
                }
            }
        }
    }

    /// `concur.mergeProposals`: the N-way merge of whole-file proposals
    /// made from one recent version of an open document.
    async fn merge_proposals(
        self: &Arc<Self>,
        params: &ExecuteCommandParams,
    ) -> Result<CommandSummary> {
        let command = params.command.as_str();
        let object = argument(params)?;
        let uri = uri_argument(command, object)?;
        let version = object
            .get("version")
            .and_then(Value::as_i64)
            .and_then(|version| Version::try_from(version).ok())
            .ok_or_else(|| {
                invalid(format!(
                    "{command}: the argument needs the \"version\" the proposals were made from, \
                     a whole number from 0 to {}, got {}",
                    Version::MAX,
                    object.get("version").cloned().unwrap_or(Value::Null)
                ))
            })?;
        let proposals: Vec<String> = object
            .get("proposals")
            .and_then(Value::as_array)
            .and_then(|list| {
                list.iter()
                    .map(|item| item.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| {
                invalid(format!(
                    "{command}: \"proposals\" must be a list of whole-file texts, got {}",
                    object.get("proposals").cloned().unwrap_or(Value::Null)
                ))
            })?;
        let current = self.store.snapshot(&uri).map_err(store_error)?;
        // Hold the log before looking the version up, so that it cannot be
        // trimmed in between.
        let hold = Arc::new(self.hold_base(&uri, version));
        let snapshot = self.snapshot_at(&uri, version).ok_or_else(|| {
            let kept = self
                .recent_span(&uri)
                .map_or_else(String::new, |(oldest, newest)| {
                    format!(" (versions {oldest} to {newest} are kept)")
                });
            invalid(format!(
                "{command}: version {version} of {} is not known{kept}; make the proposals from \
                 version {} and send them again",
                uri.as_str(),
                current.version()
            ))
        })?;
        let language = self.language_of(&uri, &snapshot);
        let base = snapshot.text().to_string();
        let merged = tokio::task::spawn_blocking(move || {
            let sets: Vec<EditSet> = proposals
                .iter()
                .enumerate()
                .map(|(index, proposal)| EditSet {
                    worker: WorkerId(u32::try_from(index).unwrap_or(u32::MAX)),
                    priority: index as i64,
                    label: format!("proposal {}", index + 1),
                    groups: merge::diff_proposal(&base, proposal),
                })
                .collect();
            merge::merge(
                &base,
                &sets,
                &MergeOptions {
                    language,
                    ..MergeOptions::default()
                },
            )
        })
        .await
        .map_err(|error| join_error(&error))?
        .map_err(|error| internal(format!("{command}: {error}")))?;
        let (attribution, group_refs) = job::attribute_merge(&merged);
        let outcome = DocumentOutcome {
            key: uri.as_str().to_owned(),
            change: merged.change,
            text: merged.text,
            rounds: vec![merged.report],
            attribution,
            group_refs,
        };
        let finished = vec![Finished {
            target: Target {
                opened: self.opened.get(&uri).map(|opened| *opened),
                _hold: Some(hold),
                uri: uri.clone(),
                base: Some(version),
                text: snapshot.text().clone(),
                language: language.unwrap_or(Language::Rust),
                effective: self.effective_for(&uri)?,
            },
            outcome,
            rules: RuleSet::builtin().subset(|_| false),
        }];
        let mut summary = summarize(&finished);
        self.send_with_retries(&finished, "concur: merge proposals", &mut summary)
            .await;
        Ok(summary)
    }
}

/// Cancels a job when the request future that owns it is dropped.
struct CancelOnDrop(CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

use tower_lsp_server::jsonrpc::Error;

fn summarize(finished: &[Finished]) -> CommandSummary {
    let outcomes: Vec<DocumentOutcome> = finished.iter().map(|item| item.outcome.clone()).collect();
    let totals = job::summarize(&outcomes);
    CommandSummary {
        applied: totals.applied,
        conflicts: totals.conflicts,
        dropped: totals.dropped,
        rounds: totals.rounds,
        workers: totals.workers,
        failed_workers: totals.failed_workers,
        files: totals.files,
        changed_files: totals.changed_files,
        edit: "empty",
        attempts: 0,
        failure_reason: None,
        skipped: Vec::new(),
        report: finished
            .iter()
            .filter(|item| item.outcome.changed() || item.outcome.rounds.iter().any(has_news))
            .map(|item| DocumentReport {
                uri: item.target.uri.as_str().to_owned(),
                version: item.target.base,
                dropped_for_user_edit: 0,
                rounds: item.outcome.rounds.clone(),
            })
            .collect(),
    }
}

/// Returns true when a round's report contains more than "nothing
/// matched".
fn has_news(report: &MergeReport) -> bool {
    !report.groups.is_empty() || report.workers.iter().any(|worker| worker.error.is_some())
}

/// Records the planned edit's versions and the groups dropped for the
/// user's edits in a summary fresh from `summarize`.
fn record_plan(
    summary: &mut CommandSummary,
    finished: &[Finished],
    documents: &[DocumentEdit],
    skipped: Vec<String>,
) {
    for document in documents {
        let Some(item) = finished.iter().find(|item| item.target.uri == document.uri) else {
            continue;
        };
        let Some(report) = summary
            .report
            .iter_mut()
            .find(|report| report.uri == document.uri.as_str())
        else {
            continue;
        };
        report.version = document.version;
        report.dropped_for_user_edit = document.dropped_groups.len();
        summary.dropped += document.dropped_groups.len();
        for group in &document.dropped_groups {
            let Some((round, group_ref)) = item.outcome.group_refs.get(*group as usize) else {
                continue;
            };
            let Some(round_report) = report.rounds.get_mut(*round) else {
                continue;
            };
            if let Ok(index) = round_report
                .groups
                .binary_search_by_key(group_ref, |group| group.group)
            {
                let entry = &mut round_report.groups[index];
                if entry.outcome == GroupOutcome::Applied {
                    summary.applied = summary.applied.saturating_sub(1);
                }
                entry.outcome = GroupOutcome::DroppedForUserEdit;
            }
        }
    }
    summary.skipped = skipped;
}
