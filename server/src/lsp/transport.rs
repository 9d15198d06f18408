//! The byte streams between the client and the protocol framework. Every
//! incoming frame is checked here first: tower-lsp-server stops reading
//! for good after a frame it cannot decode, so malformed JSON and
//! messages of no known shape are answered here, and only well-formed
//! frames reach the framework. Outgoing frames from both go through one
//! writer task.
//!
//! The reader also counts each document's `didChange` notifications in
//! the order they arrive, before the framework runs their handlers
//! concurrently, so that a request can wait for the changes sent before it.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio::sync::oneshot;
use tower_lsp_server::ls_types::Uri;
use tower_lsp_server::{ClientSocket, LspService, Server};

use super::ConcurServer;

/// Largest frame accepted; a bigger `Content-Length` is refused.
const MAX_FRAME: usize = 1 << 30;
/// How long the framework may keep running after the client sent `exit` or
/// closed the input. A handler that waits for the client, such as for the
/// result of a `workspace/configuration` request sent just before
/// `shutdown`, would otherwise keep the process alive for good.
const EXIT_GRACE: Duration = Duration::from_millis(200);

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

/// What to do with one incoming frame.
enum Checked {
    /// Pass the frame on; `changed` is the document of a `didChange`, and
    /// `exit` marks the `exit` notification.
    Forward {
        changed: Option<Uri>,
        exit: bool,
    },
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
        let changed = if value["method"] == "textDocument/didChange" {
            serde_json::from_value::<Uri>(value["params"]["textDocument"]["uri"].clone()).ok()
        } else {
            None
        };
        let exit = value["method"] == "exit";
        Checked::Forward { changed, exit }
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

/// Reads one frame's headers; `Ok(None)` at the end of the input.
/// A frame without a usable `Content-Length` gives `Err` with the reason.
async fn read_headers<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> io::Result<Option<Result<usize, String>>> {
    let mut length: Option<Result<usize, String>> = None;
    let mut saw_any = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            if !saw_any {
                // Stray blank lines between frames.
                continue;
            }
            break;
        }
        saw_any = true;
        if let Some((name, value)) = trimmed.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = Some(
                    value
                        .trim()
                        .parse::<usize>()
                        .map_err(|_| format!("Content-Length {:?} is not a number", value.trim()))
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
            }
        }
    }
    Ok(Some(length.unwrap_or_else(|| {
        Err("a message arrived without a Content-Length header".to_owned())
    })))
}

/// Serves the protocol on `input` and `output` until the input ends or
/// the client sends `exit`.
pub async fn serve<I, O>(
    input: I,
    mut output: O,
    service: LspService<ConcurServer>,
    socket: ClientSocket,
) where
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
    let inner = Arc::clone(&service.inner().inner);
    // Sent on `exit`; dropped, which also wakes the receiver, at the end of
    // the input.
    let (ended, client_left) = oneshot::channel::<()>();
    let reader = tokio::spawn(async move {
        let mut ended = Some(ended);
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
                Checked::Forward { changed, exit } => {
                    if let Some(uri) = changed {
                        inner.store.note_change_arrived(&uri);
                    }
                    if forward.write_all(&frame(&body)).await.is_err() {
                        break;
                    }
                    if exit {
                        if let Some(ended) = ended.take() {
                            let _ = ended.send(());
                        }
                    }
                }
                Checked::Answer(answer) => {
                    tracing::warn!("answered a malformed message");
                    let _ = answers.send(answer);
                }
            }
        }
        // Dropping `forward` ends the framework's input.
    });
    let mut serving =
        Box::pin(Server::new(framework_input, ChannelWriter(sender), socket).serve(service));
    let stopped_early = tokio::select! {
        () = &mut serving => false,
        () = async {
            let _ = client_left.await;
            tokio::time::sleep(EXIT_GRACE).await;
        } => true,
    };
    if stopped_early {
        tracing::info!(
            grace_ms = EXIT_GRACE.as_millis(),
            "the client left while handlers still waited for it; stopping without them"
        );
    }
    // Dropping the framework drops its writer, so the writer task ends.
    drop(serving);
    reader.abort();
    let _ = writer.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_frames() {
        assert!(matches!(
            check(br#"{"jsonrpc":"2.0","id":1,"method":"x"}"#),
            Checked::Forward { changed: None, .. }
        ));
        assert!(matches!(
            check(br#"{"jsonrpc":"2.0","method":"x"}"#),
            Checked::Forward { changed: None, .. }
        ));
        assert!(matches!(
            check(br#"{"jsonrpc":"2.0","id":1,"result":null}"#),
            Checked::Forward { changed: None, .. }
        ));
        let did_change = br#"{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":"file:///a.rs","version":3},"contentChanges":[]}}"#;
        match check(did_change) {
            Checked::Forward {
                changed: Some(uri),
                exit: false,
            } => assert_eq!(uri.as_str(), "file:///a.rs"),
            _ => panic!("a didChange is forwarded with its document"),
        }
        assert!(matches!(
            check(br#"{"jsonrpc":"2.0","method":"exit"}"#),
            Checked::Forward {
                changed: None,
                exit: true
            }
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
                Checked::Forward { .. } => panic!("forwarded {}", String::from_utf8_lossy(body)),
            }
        }
    }
}
