//! The byte streams between the client and the protocol framework. Every
//! incoming frame is checked here first: tower-lsp-server stops reading
//! for good after a frame it cannot decode, so malformed JSON and
//! messages of no known shape get their error response here, and only well-formed
//! frames reach the framework. Outgoing frames from both go through one
//! writer task.
//!
//! The reader also counts each document's `didChange` notifications in
//! the order they arrive, before the framework runs their handlers
//! concurrently, so that a request can wait for the changes sent before it.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use dashmap::DashMap;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tower_lsp_server::ls_types::Uri;
use tower_lsp_server::{ClientSocket, LspService, Server};

use super::ConcurServer;

/// Largest frame accepted; a bigger `Content-Length` is refused.
const MAX_FRAME: usize = 1 << 30;

/// An `AsyncWrite` that hands every write to the writer task whole. The
/// framework encodes whole frames before writing, so accepting each
/// buffer entirely keeps frames from interleaving with ours.
struct ChannelWriter(UnboundedSender<Vec<u8>>);

impl AsyncWrite for ChannelWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.0.send(buf.to_vec()) {
            Ok(()) => Poll::Ready(Ok(buf.len())),
            Err(_) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the output stream is closed",
            ))),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

fn error_frame(id: Value, code: i64, message: String) -> Vec<u8> {
    let body = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
    frame(body.to_string().as_bytes())
}

/// The decision about one incoming frame.
enum Checked {
    Forward(Value),
    Answer(Vec<u8>),
}

fn check(body: &[u8]) -> Checked {
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(error) => {
            return Checked::Answer(error_frame(
                Value::Null,
                -32700,
                format!("parse error: the message is not valid JSON ({error}); it was ignored"),
            ))
        }
    };
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    let valid_id = matches!(id, Value::Null | Value::Number(_) | Value::String(_));
    let shape_ok = match &value {
        Value::Object(map) => {
            let is_call = map.get("method").is_some_and(Value::is_string);
            let is_response =
                map.contains_key("id") && (map.contains_key("result") || map.contains_key("error"));
            (is_call || is_response)
                && valid_id
                && map.get("jsonrpc").and_then(Value::as_str) == Some("2.0")
        }
        _ => false,
    };
    if shape_ok {
        Checked::Forward(value)
    } else {
        let id = if valid_id { id } else { Value::Null };
        Checked::Answer(error_frame(
            id,
            -32600,
            format!(
                "invalid request: expected a JSON-RPC 2.0 request, notification or response \
                 object, got {}",
                truncate(&value.to_string())
            ),
        ))
    }
}

fn truncate(text: &str) -> String {
    const LIMIT: usize = 200;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Reads one frame's headers; `Ok(None)` at the end of the input, and
/// `Err` with the reason for a frame without a usable `Content-Length`.
///
/// Lines before the first header are skipped, and a `Content-Length`
/// header is also found in the middle of a line. That way the reader
/// finds the next frame again after a frame whose length was wrong, whose
/// body then runs into the next header.
async fn read_headers<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> io::Result<Option<Result<usize, String>>> {
    let mut length: Option<Result<usize, String>> = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&line);
        let trimmed = text.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            if length.is_none() {
                // Stray blank lines between frames.
                continue;
            }
            break;
        }
        let lower = trimmed.to_ascii_lowercase();
        if let Some(at) = lower.find("content-length:") {
            if at > 0 {
                tracing::warn!(
                    skipped = at,
                    "bytes before a Content-Length header were skipped"
                );
            }
            let value = trimmed[at + "content-length:".len()..].trim();
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| format!("Content-Length {value:?} is not a number"))
                    .and_then(|length| {
                        if length > MAX_FRAME {
                            Err(format!(
                                "Content-Length {length} is larger than {MAX_FRAME}"
                            ))
                        } else {
                            Ok(length)
                        }
                    }),
            );
        } else if length.is_none() {
            tracing::warn!(
                line = %truncate(trimmed),
                "skipped a line that is not a header"
            );
        }
    }
    Ok(length)
}

/// Announced versions kept per document.
const ANNOUNCED_HISTORY: usize = 32;

/// The reader's record of incoming frames, for the server and for the
/// exit code.
#[derive(Debug, Default)]
pub struct InputState {
    /// The recent versions each document was announced with, by URI, as
    /// `didOpen` and `didChange` frames arrive, each with the number of
    /// its frame, oldest first.
    announced: DashMap<String, VecDeque<(i32, u64)>>,
    /// Frames read so far.
    frames: AtomicU64,
    /// The number of the newest response frame from the client.
    last_response: AtomicU64,
    shutdown: AtomicBool,
}

impl InputState {
    /// Whether the client announced a version of `uri` newer than
    /// `version` before it sent its newest response. The server checks
    /// this when the client rejects an edit, because a client that rejects
    /// an edit since the document moved on sends that `didChange` first.
    pub fn moved_before_last_response(&self, uri: &str, version: i32) -> bool {
        let answered = self.last_response.load(Ordering::SeqCst);
        self.announced.get(uri).is_some_and(|history| {
            history
                .iter()
                .any(|(announced, frame)| *announced > version && *frame < answered)
        })
    }

    fn note(&self, value: &Value) {
        let frame = self.frames.fetch_add(1, Ordering::SeqCst);
        let method = value.get("method").and_then(Value::as_str);
        match method {
            Some("textDocument/didOpen" | "textDocument/didChange") => {
                let document = &value["params"]["textDocument"];
                if let (Some(uri), Some(version)) = (
                    document.get("uri").and_then(Value::as_str),
                    document
                        .get("version")
                        .and_then(Value::as_i64)
                        .and_then(|version| i32::try_from(version).ok()),
                ) {
                    let mut history = self.announced.entry(uri.to_owned()).or_default();
                    if method == Some("textDocument/didOpen") {
                        history.clear();
                    }
                    history.push_back((version, frame));
                    while history.len() > ANNOUNCED_HISTORY {
                        history.pop_front();
                    }
                }
            }
            Some("textDocument/didClose") => {
                if let Some(uri) = value["params"]["textDocument"]["uri"].as_str() {
                    self.announced.remove(uri);
                }
            }
            Some("shutdown") => self.shutdown.store(true, Ordering::SeqCst),
            Some(_) => {}
            None => self.last_response.store(frame, Ordering::SeqCst),
        }
    }
}

/// Builds a `window/showMessage` warning about a notification whose
/// params the framework would drop without a trace.
fn check_notification(value: &Value) -> Option<Vec<u8>> {
    use tower_lsp_server::ls_types::{
        DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    };
    if value.get("id").is_some() {
        return None;
    }
    let method = value.get("method").and_then(Value::as_str)?;
    let params = value.get("params").cloned().unwrap_or(Value::Null);
    let error = match method {
        "textDocument/didOpen" => serde_json::from_value::<DidOpenTextDocumentParams>(params).err(),
        "textDocument/didChange" => {
            serde_json::from_value::<DidChangeTextDocumentParams>(params).err()
        }
        "textDocument/didClose" => {
            serde_json::from_value::<DidCloseTextDocumentParams>(params).err()
        }
        _ => None,
    }?;
    let message = format!(
        "concur ignored {method}: invalid params ({error}); the server's copy of the document \
         may now differ from the editor's, so close and reopen it"
    );
    tracing::warn!("{message}");
    let body = json!({
        "jsonrpc": "2.0",
        "method": "window/showMessage",
        "params": {"type": 2, "message": message},
    });
    Some(frame(body.to_string().as_bytes()))
}

/// How long the server waits for handlers after the input ended or the
/// client sent `exit`, before it stops with requests still unanswered
/// (for example one waiting for the client's answer to `applyEdit`).
const EXIT_GRACE: Duration = Duration::from_millis(500);

/// Serves the protocol on `input` and `output` until the input ends or
/// the client sends `exit`. Returns true when the client sent `shutdown`
/// first, which LSP requires for a clean exit.
pub async fn serve<I, O>(
    input: I,
    mut output: O,
    service: LspService<ConcurServer>,
    socket: ClientSocket,
    state: Arc<InputState>,
) -> bool
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let (sender, mut outgoing) = unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        while let Some(bytes) = outgoing.recv().await {
            if output.write_all(&bytes).await.is_err() || output.flush().await.is_err() {
                tracing::error!("writing to the client failed; stopping output");
                return;
            }
        }
    });
    let (framework_input, mut forward) = tokio::io::duplex(1 << 16);
    let answers = sender.clone();
    let (input_done, input_finished) = tokio::sync::oneshot::channel::<()>();
    let reader_state = Arc::clone(&state);
    let inner = Arc::clone(&service.inner().inner);
    let reader = tokio::spawn(async move {
        let mut reader = BufReader::new(input);
        loop {
            let length = match read_headers(&mut reader).await {
                Ok(None) | Err(_) => break,
                Ok(Some(Ok(length))) => length,
                Ok(Some(Err(reason))) => {
                    tracing::warn!("{reason}");
                    let _ = answers.send(error_frame(
                        Value::Null,
                        -32700,
                        format!("parse error: {reason}"),
                    ));
                    continue;
                }
            };
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).await.is_err() {
                break;
            }
            match check(&body) {
                Checked::Forward(value) => {
                    reader_state.note(&value);
                    if value.get("method").and_then(Value::as_str) == Some("textDocument/didChange")
                    {
                        if let Ok(uri) = serde_json::from_value::<Uri>(
                            value["params"]["textDocument"]["uri"].clone(),
                        ) {
                            inner.store.note_change_arrived(&uri);
                        }
                    }
                    if let Some(warning) = check_notification(&value) {
                        let _ = answers.send(warning);
                    }
                    if forward.write_all(&frame(&body)).await.is_err() {
                        break;
                    }
                    if value.get("method").and_then(Value::as_str) == Some("exit") {
                        break;
                    }
                }
                Checked::Answer(answer) => {
                    tracing::warn!("responded to a malformed message with an error");
                    let _ = answers.send(answer);
                }
            }
        }
        let _ = input_done.send(());
        // Dropping `forward` ends the framework's input.
    });
    let served = Server::new(framework_input, ChannelWriter(sender), socket).serve(service);
    tokio::select! {
        () = served => {}
        () = async {
            let _ = input_finished.await;
            tokio::time::sleep(EXIT_GRACE).await;
        } => {
            tracing::warn!(
                "the input ended or the client sent exit while requests were still waiting; stopping"
            );
        }
    }
    reader.abort();
    let _ = reader.await;
    // Late frames from handlers that are still running are dropped with
    // the runtime.
    let _ = tokio::time::timeout(EXIT_GRACE, writer).await;
    state.shutdown.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads frames the way `serve` does and returns each body that was
    /// read whole, or the error for a frame that was not.
    async fn read_all(input: &[u8]) -> Vec<Result<String, String>> {
        let mut reader = BufReader::new(input);
        let mut out = Vec::new();
        while let Some(length) = read_headers(&mut reader).await.unwrap() {
            match length {
                Ok(length) => {
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).await.is_err() {
                        break;
                    }
                    out.push(Ok(String::from_utf8_lossy(&body).into_owned()));
                }
                Err(reason) => out.push(Err(reason)),
            }
        }
        out
    }

    #[tokio::test]
    async fn finds_frames_again_after_a_wrong_length() {
        let good = r#"{"jsonrpc":"2.0","id":2,"method":"x"}"#;
        for bad_length in ["5", "abc", "-5"] {
            let input = format!(
                "Content-Length: {bad_length}\r\n\r\n{good}Content-Length: {}\r\n\r\n{good}",
                good.len()
            );
            let frames = read_all(input.as_bytes()).await;
            assert_eq!(
                frames.last(),
                Some(&Ok(good.to_owned())),
                "{bad_length}: {frames:?}"
            );
        }
        // Stray lines, lowercase headers, LF-only lines and bytes that are
        // not UTF-8 before a header.
        let input = format!("junk\n??\r\ncontent-length: {}\n\n{good}", good.len());
        let mut bytes = input.into_bytes();
        bytes[5] = 0xff;
        bytes[6] = 0xfe;
        let frames = read_all(&bytes).await;
        assert_eq!(frames, [Ok(good.to_owned())]);
    }

    #[test]
    fn invalid_notification_params_get_a_message() {
        let bad = json!({"jsonrpc": "2.0", "method": "textDocument/didChange",
            "params": {"textDocument": {"uri": "file:///a.rs", "version": "2"}, "contentChanges": []}});
        let warning = String::from_utf8(check_notification(&bad).unwrap()).unwrap();
        assert!(warning.contains("window/showMessage"), "{warning}");
        assert!(warning.contains("textDocument/didChange"), "{warning}");
        let good = json!({"jsonrpc": "2.0", "method": "textDocument/didChange",
            "params": {"textDocument": {"uri": "file:///a.rs", "version": 2}, "contentChanges": []}});
        assert!(check_notification(&good).is_none());
    }

    #[test]
    fn remembers_versions_announced_before_a_response() {
        let state = InputState::default();
        let change = |version: i32| {
            json!({"jsonrpc": "2.0", "method": "textDocument/didChange",
                "params": {"textDocument": {"uri": "file:///a.rs", "version": version}, "contentChanges": []}})
        };
        state.note(&change(3));
        state.note(&json!({"jsonrpc": "2.0", "id": 1, "result": {"applied": false}}));
        state.note(&change(4));
        assert!(state.moved_before_last_response("file:///a.rs", 2));
        assert!(!state.moved_before_last_response("file:///a.rs", 3));
        assert!(!state.moved_before_last_response("file:///b.rs", 0));
    }

    #[test]
    fn sorts_frames() {
        assert!(matches!(
            check(br#"{"jsonrpc":"2.0","id":1,"method":"x"}"#),
            Checked::Forward(_)
        ));
        assert!(matches!(
            check(br#"{"jsonrpc":"2.0","method":"x"}"#),
            Checked::Forward(_)
        ));
        assert!(matches!(
            check(br#"{"jsonrpc":"2.0","id":1,"result":null}"#),
            Checked::Forward(_)
        ));
        for (body, code) in [
            (&br#"{"jsonrpc":"2.0","id":1,"#[..], "-32700"),
            (br#"[1,2]"#, "-32600"),
            (br#"{"jsonrpc":"2.0","id":[1],"method":"x"}"#, "-32600"),
            (br#"{"jsonrpc":"1.0","id":1,"method":"x"}"#, "-32600"),
            (br#"{"id":1}"#, "-32600"),
        ] {
            match check(body) {
                Checked::Answer(answer) => {
                    let text = String::from_utf8(answer).unwrap();
                    assert!(text.contains(code), "{text}");
                }
                Checked::Forward(_) => panic!("forwarded {}", String::from_utf8_lossy(body)),
            }
        }
    }
}
