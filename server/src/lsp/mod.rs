//! The language server: `concur lsp` over stdio. It keeps the open
//! documents, shows where rules match, and turns code actions and commands
//! into jobs whose merged change reaches the editor as one `WorkspaceEdit`,
//! rebased over whatever the user typed while the job ran.

mod analysis;
mod commands;
pub mod edit;
mod session;
pub mod settings;
mod transport;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::FutureExt;
use serde_json::Value;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, ClientSocket, LanguageServer, LspService};
use tracing::Instrument;

pub use session::Inner;
pub use settings::Settings;
use transport::InputState;

/// Commands the server executes.
pub const COMMANDS: [&str; 4] = [
    "concur.applyAll",
    "concur.applyRule",
    "concur.applyWorkspace",
    "concur.mergeProposals",
];
/// Code action kind of "every rule on this file".
pub const FIX_ALL_KIND: &str = "source.fixAll.concur";
/// Code action kind of "every rule on the workspace".
pub const WORKSPACE_KIND: &str = "refactor.rewrite.concur.workspace";

/// The `LanguageServer` implementation; the state lives in [`Inner`],
/// shared with the tasks the handlers spawn.
pub struct ConcurServer {
    inner: Arc<Inner>,
    requests: AtomicU64,
}

impl ConcurServer {
    fn new(client: Client, input: Arc<InputState>) -> Self {
        Self {
            inner: Arc::new(Inner::new(client, input)),
            requests: AtomicU64::new(0),
        }
    }

    /// Runs a handler in its own tracing span and turns a panic into an
    /// internal error, so the server keeps serving.
    async fn guarded<T>(
        &self,
        method: &'static str,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let number = self.requests.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!("request", method, number);
        match AssertUnwindSafe(work.instrument(span)).catch_unwind().await {
            Ok(result) => {
                if let Err(error) = &result {
                    tracing::warn!(method, number, error = %error.message, "handler failed");
                }
                result
            }
            Err(panic) => {
                let message = panic_message(panic.as_ref());
                tracing::error!(method, number, panic = %message, "handler panicked");
                Err(internal(format!(
                    "concur: {method} (request {number}) failed with an internal error: \
                     {message}; the server keeps running, please report this"
                )))
            }
        }
    }

    /// As `guarded`, for notifications: errors are shown to the user.
    async fn notified(&self, method: &'static str, work: impl Future<Output = Result<()>>) {
        if let Err(error) = self.guarded(method, work).await {
            self.inner
                .client
                .show_message(MessageType::WARNING, error.message)
                .await;
        }
    }
}

/// Text of a caught panic's payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

pub(crate) fn internal(message: impl Into<String>) -> Error {
    Error {
        code: ErrorCode::InternalError,
        message: message.into().into(),
        data: None,
    }
}

pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::invalid_params(message.into())
}

/// Builds the service, for in-process tests that drive the framework
/// directly.
pub fn service() -> (LspService<ConcurServer>, ClientSocket) {
    service_with(Arc::new(InputState::default()))
}

fn service_with(input: Arc<InputState>) -> (LspService<ConcurServer>, ClientSocket) {
    LspService::build(move |client| ConcurServer::new(client, Arc::clone(&input)))
        .custom_method(
            "window/workDoneProgress/cancel",
            ConcurServer::cancel_progress,
        )
        .finish()
}

/// Serves LSP on stdin and stdout until the client sends `exit` or
/// closes stdin. Returns true when the client sent `shutdown` first.
pub async fn serve_stdio() -> bool {
    serve(tokio::io::stdin(), tokio::io::stdout()).await
}

/// Serves LSP on any pair of streams, responding to malformed messages
/// itself so that the framework never stops reading. Returns true when
/// the client sent `shutdown` before the end.
pub async fn serve<I, O>(input: I, output: O) -> bool
where
    I: tokio::io::AsyncRead + Unpin + Send + 'static,
    O: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let state = Arc::new(InputState::default());
    let (service, socket) = service_with(Arc::clone(&state));
    transport::serve(input, output, service, socket, state).await
}

impl ConcurServer {
    async fn cancel_progress(&self, params: WorkDoneProgressCancelParams) {
        let inner = Arc::clone(&self.inner);
        self.notified("window/workDoneProgress/cancel", async move {
            inner.cancel_progress(&params.token);
            Ok(())
        })
        .await;
    }
}

impl LanguageServer for ConcurServer {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let inner = Arc::clone(&self.inner);
        self.guarded("initialize", async move { Ok(inner.initialize(params)) })
            .await
    }

    async fn initialized(&self, _: InitializedParams) {
        let inner = Arc::clone(&self.inner);
        self.notified("initialized", async move {
            inner.initialized().await;
            Ok(())
        })
        .await;
    }

    async fn shutdown(&self) -> Result<()> {
        self.inner.cancel_all();
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let inner = Arc::clone(&self.inner);
        self.notified("textDocument/didOpen", async move {
            inner.did_open(params);
            Ok(())
        })
        .await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let inner = Arc::clone(&self.inner);
        self.notified("textDocument/didChange", async move {
            inner.did_change(params).await
        })
        .await;
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let inner = Arc::clone(&self.inner);
        self.notified("textDocument/didClose", async move {
            inner.did_close(params).await
        })
        .await;
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        let inner = Arc::clone(&self.inner);
        self.notified("workspace/didChangeConfiguration", async move {
            inner.did_change_configuration(params.settings).await
        })
        .await;
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        let inner = Arc::clone(&self.inner);
        self.notified("workspace/didChangeWatchedFiles", async move {
            inner.did_change_watched_files(params).await;
            Ok(())
        })
        .await;
    }

    async fn did_change_workspace_folders(&self, params: DidChangeWorkspaceFoldersParams) {
        let inner = Arc::clone(&self.inner);
        self.notified("workspace/didChangeWorkspaceFolders", async move {
            inner.did_change_workspace_folders(params).await;
            Ok(())
        })
        .await;
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let inner = Arc::clone(&self.inner);
        self.guarded("textDocument/codeAction", async move {
            inner.code_action(params).await.map(Some)
        })
        .await
    }

    async fn code_action_resolve(&self, action: CodeAction) -> Result<CodeAction> {
        let inner = Arc::clone(&self.inner);
        self.guarded("codeAction/resolve", async move {
            inner.code_action_resolve(action).await
        })
        .await
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<Value>> {
        let inner = Arc::clone(&self.inner);
        self.guarded("workspace/executeCommand", async move {
            inner.execute_command(params).await.map(Some)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_becomes_an_internal_error() {
        let (service, _socket) = service();
        let server = service.inner();
        let result: Result<()> = server
            .guarded("test/panic", async { panic!("boom at the handler") })
            .await;
        let error = result.unwrap_err();
        assert_eq!(error.code, ErrorCode::InternalError);
        assert!(
            error.message.contains("boom at the handler"),
            "{}",
            error.message
        );
        assert!(error.message.contains("test/panic"), "{}", error.message);
        let fine: Result<u8> = server.guarded("test/ok", async { Ok(7) }).await;
        assert_eq!(fine.unwrap(), 7);
    }
}
