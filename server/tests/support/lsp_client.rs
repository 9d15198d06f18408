//! A scripted LSP client for in-process tests: it talks to the server over
//! a duplex pipe, keeps its own copy of each document, applies the
//! server's `workspace/applyEdit` requests to that copy in its negotiated
//! position encoding, and sends the matching `didChange`, as an editor
//! does.

#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream, WriteHalf};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// How the client answers `workspace/applyEdit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyPolicy {
    /// Apply when the edit names the client's current version, else reject
    /// as VS Code does.
    CheckVersion,
    /// Reject every edit with a reason unrelated to versions.
    RejectAll,
}

#[derive(Clone, Debug)]
pub struct ClientDoc {
    pub text: String,
    pub version: i32,
}

/// Typing done while the client answers an `applyEdit`: (uri, change).
pub type TypingHook = Box<dyn FnMut(&mut Vec<(String, Value)>) + Send>;

pub struct TestClient {
    writer: WriteHalf<DuplexStream>,
    incoming: UnboundedReceiver<Value>,
    next_id: i64,
    /// Notifications from the server not yet looked at.
    pub notifications: Vec<Value>,
    pub encoding: String,
    pub docs: HashMap<String, ClientDoc>,
    pub policy: ApplyPolicy,
    /// Every `workspace/applyEdit` request received, in order.
    pub edit_requests: Vec<Value>,
    /// The answer to `workspace/configuration`.
    pub configuration: Value,
    /// Called with the client before it answers an `applyEdit`: lets a
    /// test type while the server waits.
    pub before_apply: Option<TypingHook>,
    /// Called after the client answered an `applyEdit`: typing that comes
    /// too late to explain the answer.
    pub after_apply: Option<TypingHook>,
}

/// Capabilities of a client that supports everything concur uses.
pub fn full_capabilities(encodings: &[&str]) -> Value {
    json!({
        "general": {"positionEncodings": encodings},
        "workspace": {
            "applyEdit": true,
            "configuration": true,
            "workspaceFolders": true,
            "workspaceEdit": {
                "documentChanges": true,
                "changeAnnotationSupport": {"groupsOnLabel": true}
            },
            "didChangeWatchedFiles": {"dynamicRegistration": true}
        },
        "textDocument": {
            "codeAction": {
                "codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["quickfix", "source", "refactor"]}},
                "resolveSupport": {"properties": ["edit"]},
                "dataSupport": true
            },
            "synchronization": {"didSave": true}
        },
        "window": {"workDoneProgress": true}
    })
}

/// Helix's: utf-8 preferred, versioned edits, no annotations, no resolve
/// of edits.
pub fn helix_capabilities() -> Value {
    json!({
        "general": {"positionEncodings": ["utf-8", "utf-32", "utf-16"]},
        "workspace": {
            "applyEdit": true,
            "configuration": true,
            "workspaceFolders": true,
            "workspaceEdit": {"documentChanges": true, "resourceOperations": ["create", "rename", "delete"], "failureHandling": "abort", "normalizesLineEndings": false},
            "didChangeWatchedFiles": {"dynamicRegistration": true, "relativePatternSupport": false}
        },
        "textDocument": {
            "codeAction": {
                "codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["", "quickfix", "refactor", "refactor.extract", "refactor.inline", "refactor.rewrite", "source", "source.organizeImports"]}},
                "isPreferredSupport": true,
                "disabledSupport": true,
                "dataSupport": true,
                "resolveSupport": {"properties": ["edit", "command"]}
            },
            "publishDiagnostics": {"versionSupport": true}
        },
        "window": {"workDoneProgress": true}
    })
}

impl TestClient {
    /// Starts a server in this runtime and initializes it.
    pub async fn start(
        capabilities: Value,
        options: Value,
        root: Option<&std::path::Path>,
    ) -> (TestClient, Value) {
        let (client_io, server_io) = tokio::io::duplex(1 << 22);
        let (server_read, server_write) = tokio::io::split(server_io);
        tokio::spawn(concur::lsp::serve(server_read, server_write));
        let (client_read, writer) = tokio::io::split(client_io);
        let (sender, incoming) = unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(client_read);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(value) = line.strip_prefix("Content-Length: ") {
                        length = value.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; length.expect("a Content-Length header")];
                if reader.read_exact(&mut body).await.is_err() {
                    return;
                }
                let value: Value = serde_json::from_slice(&body).expect("the server sends JSON");
                if sender.send(value).is_err() {
                    return;
                }
            }
        });
        let mut client = TestClient {
            writer,
            incoming,
            next_id: 1,
            notifications: Vec::new(),
            encoding: "utf-16".to_owned(),
            docs: HashMap::new(),
            policy: ApplyPolicy::CheckVersion,
            edit_requests: Vec::new(),
            configuration: Value::Null,
            before_apply: None,
            after_apply: None,
        };
        let root_uri = root.map(|root| format!("file://{}", root.display()));
        let folders = root_uri
            .as_ref()
            .map(|uri| json!([{"uri": uri, "name": "root"}]))
            .unwrap_or(Value::Null);
        let result = client
            .request(
                "initialize",
                json!({
                    "processId": null,
                    "rootUri": root_uri,
                    "capabilities": capabilities,
                    "initializationOptions": options,
                    "workspaceFolders": folders,
                }),
            )
            .await
            .expect("initialize succeeds");
        if let Some(encoding) = result["capabilities"]["positionEncoding"].as_str() {
            client.encoding = encoding.to_owned();
        }
        client.notify("initialized", json!({})).await;
        (client, result)
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let header = format!("Content-Length: {}\r\n\r\n", bytes.len());
        self.writer.write_all(header.as_bytes()).await.unwrap();
        self.writer.write_all(bytes).await.unwrap();
        self.writer.flush().await.unwrap();
    }

    async fn send(&mut self, message: Value) {
        let bytes = serde_json::to_vec(&message).unwrap();
        self.send_raw(&bytes).await;
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// Sends a request without waiting; returns its id.
    pub async fn send_request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        id
    }

    /// Sends a request and serves the server's requests until the answer
    /// arrives: `Ok(result)` or `Err(error)`.
    pub async fn request(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.send_request(method, params).await;
        self.response(id).await
    }

    /// Waits for the response to request `id`.
    pub async fn response(&mut self, id: i64) -> Result<Value, Value> {
        loop {
            let message = self.next_message().await;
            if message.get("method").is_none() && message["id"] == json!(id) {
                return match message.get("error") {
                    Some(error) => Err(error.clone()),
                    None => Ok(message["result"].clone()),
                };
            }
            if message.get("method").is_none() {
                // A response to some other request (such as a raw one).
                self.notifications.push(message);
            }
        }
    }

    /// The next message that is not a server request (those are answered
    /// here).
    async fn next_message(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(60), self.incoming.recv())
                .await
                .expect("the server answers within 60 s")
                .expect("the server is running");
            match (
                message.get("id"),
                message.get("method").and_then(Value::as_str),
            ) {
                (Some(id), Some(method)) => {
                    let id = id.clone();
                    let method = method.to_owned();
                    let answer = self.serve(&method, &message["params"]).await;
                    let reply = match answer {
                        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
                        Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
                    };
                    self.send(reply).await;
                    if method == "workspace/applyEdit" {
                        if let Some(mut hook) = self.after_apply.take() {
                            let mut typed = Vec::new();
                            hook(&mut typed);
                            for (uri, change) in typed {
                                self.type_change(&uri, change).await;
                            }
                        }
                    }
                }
                (None, Some(_)) => {
                    self.notifications.push(message.clone());
                    return message;
                }
                _ => return message,
            }
        }
    }

    async fn serve(&mut self, method: &str, params: &Value) -> Result<Value, Value> {
        match method {
            "workspace/applyEdit" => {
                self.edit_requests.push(params.clone());
                if let Some(mut hook) = self.before_apply.take() {
                    let mut typed = Vec::new();
                    hook(&mut typed);
                    for (uri, change) in typed {
                        self.type_change(&uri, change).await;
                    }
                }
                if self.policy == ApplyPolicy::RejectAll {
                    return Ok(json!({"applied": false, "failureReason": "the user said no"}));
                }
                match self.apply_workspace_edit(&params["edit"]).await {
                    Ok(()) => Ok(json!({"applied": true})),
                    Err(reason) => Ok(json!({"applied": false, "failureReason": reason})),
                }
            }
            "workspace/configuration" => {
                let count = params["items"].as_array().map_or(1, Vec::len);
                Ok(Value::Array(vec![self.configuration.clone(); count]))
            }
            "client/registerCapability" | "window/workDoneProgress/create" => Ok(Value::Null),
            other => Err(json!({"code": -32601, "message": format!("test client: no {other}")})),
        }
    }

    /// Applies a `WorkspaceEdit` to the client's documents and sends the
    /// `didChange` of each changed one.
    pub async fn apply_workspace_edit(&mut self, edit: &Value) -> Result<(), String> {
        let mut per_doc: Vec<(String, Option<i64>, Vec<Value>)> = Vec::new();
        if let Some(changes) = edit["documentChanges"].as_array() {
            for change in changes {
                per_doc.push((
                    change["textDocument"]["uri"].as_str().unwrap().to_owned(),
                    change["textDocument"]["version"].as_i64(),
                    change["edits"].as_array().unwrap().clone(),
                ));
            }
        } else if let Some(changes) = edit["changes"].as_object() {
            for (uri, edits) in changes {
                per_doc.push((uri.clone(), None, edits.as_array().unwrap().clone()));
            }
        }
        for (uri, version, _) in &per_doc {
            if let (Some(version), Some(doc)) = (version, self.docs.get(uri)) {
                if i64::from(doc.version) != *version {
                    return Err(format!(
                        "version {version} of {uri} is not the current version {}",
                        doc.version
                    ));
                }
            }
        }
        for (uri, _, edits) in per_doc {
            let Some(doc) = self.docs.get(&uri) else {
                // A file that is not open: the test reads it from disk.
                continue;
            };
            let mut spans: Vec<(usize, usize, String)> = edits
                .iter()
                .map(|edit| {
                    let start = offset(&doc.text, &edit["range"]["start"], &self.encoding);
                    let end = offset(&doc.text, &edit["range"]["end"], &self.encoding);
                    (start, end, edit["newText"].as_str().unwrap().to_owned())
                })
                .collect();
            spans.sort_by_key(|span| (span.0, span.1));
            for pair in spans.windows(2) {
                assert!(pair[0].1 <= pair[1].0, "edits overlap: {edits:?}");
                assert!(
                    pair[0].0 != pair[1].0,
                    "two edits start at one position: {edits:?}"
                );
            }
            // Later edits first, so each range still refers to the text
            // the server has when it applies the change before it.
            let mut ordered = edits.clone();
            ordered.sort_by_key(|edit| {
                let start = offset(&doc.text, &edit["range"]["start"], &self.encoding);
                std::cmp::Reverse(start)
            });
            let doc = self.docs.get_mut(&uri).unwrap();
            for (start, end, text) in spans.into_iter().rev() {
                doc.text.replace_range(start..end, &text);
            }
            doc.version += 1;
            let version = doc.version;
            let changes: Vec<Value> = ordered
                .iter()
                .map(|edit| json!({"range": edit["range"], "text": edit["newText"]}))
                .collect();
            self.notify(
                "textDocument/didChange",
                json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": changes}),
            )
            .await;
        }
        Ok(())
    }

    pub async fn open(&mut self, uri: &str, text: &str) {
        self.docs.insert(
            uri.to_owned(),
            ClientDoc {
                text: text.to_owned(),
                version: 1,
            },
        );
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text}}),
        )
        .await;
    }

    /// Replaces the first occurrence of `find` (after byte `from`) with
    /// `with` as the user would, and sends the `didChange`.
    pub async fn type_replace(&mut self, uri: &str, find: &str, with: &str) {
        let doc = &self.docs[uri];
        let start = doc
            .text
            .find(find)
            .unwrap_or_else(|| panic!("{find:?} not in {}", doc.text));
        let range = json!({
            "start": position(&doc.text, start, &self.encoding),
            "end": position(&doc.text, start + find.len(), &self.encoding),
        });
        self.type_change(uri, json!({"range": range, "text": with}))
            .await;
    }

    /// Applies one content change locally and sends it.
    pub async fn type_change(&mut self, uri: &str, change: Value) {
        let encoding = self.encoding.clone();
        let doc = self.docs.get_mut(uri).unwrap();
        let start = offset(&doc.text, &change["range"]["start"], &encoding);
        let end = offset(&doc.text, &change["range"]["end"], &encoding);
        doc.text
            .replace_range(start..end, change["text"].as_str().unwrap());
        doc.version += 1;
        let version = doc.version;
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}),
        )
        .await;
    }

    /// Waits for an error response, such as the one to a malformed
    /// message, which has no id to wait for.
    pub async fn wait_for_response_error(&mut self) -> Value {
        let is_error =
            |message: &Value| message.get("method").is_none() && message.get("error").is_some();
        if let Some(index) = self.notifications.iter().position(is_error) {
            return self.notifications.remove(index)["error"].clone();
        }
        loop {
            let message = self.next_message().await;
            if is_error(&message) {
                return message["error"].clone();
            }
        }
    }

    /// Waits for a notification `method` that satisfies `accept`.
    pub async fn wait_for(&mut self, method: &str, accept: impl Fn(&Value) -> bool) -> Value {
        if let Some(index) = self
            .notifications
            .iter()
            .position(|message| message["method"] == method && accept(&message["params"]))
        {
            return self.notifications.remove(index)["params"].clone();
        }
        loop {
            let message = self.next_message().await;
            if message["method"] == method && accept(&message["params"]) {
                self.notifications.retain(|kept| kept != &message);
                return message["params"].clone();
            }
        }
    }

    /// The diagnostics of `uri` at the client's current version.
    pub async fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let version = self.docs[uri].version;
        let params = self
            .wait_for("textDocument/publishDiagnostics", |params| {
                params["uri"] == uri && params["version"] == json!(version)
            })
            .await;
        params["diagnostics"].as_array().unwrap().clone()
    }

    /// The text a diagnostic's or edit's range covers in the client's copy.
    pub fn covered(&self, uri: &str, range: &Value) -> String {
        let text = &self.docs[uri].text;
        let start = offset(text, &range["start"], &self.encoding);
        let end = offset(text, &range["end"], &self.encoding);
        text[start..end].to_owned()
    }

    pub fn text(&self, uri: &str) -> &str {
        &self.docs[uri].text
    }

    /// Lets queued notifications arrive.
    pub async fn settle(&mut self) {
        while let Ok(Some(message)) =
            tokio::time::timeout(Duration::from_millis(300), self.incoming.recv()).await
        {
            if message.get("id").is_some() && message.get("method").is_some() {
                let method = message["method"].as_str().unwrap().to_owned();
                let answer = self.serve(&method, &message["params"]).await;
                let reply = match answer {
                    Ok(result) => json!({"jsonrpc": "2.0", "id": message["id"], "result": result}),
                    Err(error) => json!({"jsonrpc": "2.0", "id": message["id"], "error": error}),
                };
                self.send(reply).await;
            } else {
                self.notifications.push(message);
            }
        }
    }
}

/// Byte offsets of each line's start; lines end at `\r\n`, `\n` or `\r`.
fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'\r' if bytes.get(index + 1) == Some(&b'\n') => {
                starts.push(index + 2);
                index += 2;
                continue;
            }
            b'\r' | b'\n' => starts.push(index + 1),
            _ => {}
        }
        index += 1;
    }
    starts
}

fn units(c: char, encoding: &str) -> usize {
    match encoding {
        "utf-8" => c.len_utf8(),
        "utf-32" => 1,
        _ => c.len_utf16(),
    }
}

/// Byte offset of an LSP position in `text`.
pub fn offset(text: &str, position: &Value, encoding: &str) -> usize {
    let line = position["line"].as_u64().unwrap() as usize;
    let character = position["character"].as_u64().unwrap() as usize;
    let starts = line_starts(text);
    let start = starts[line.min(starts.len() - 1)];
    let mut counted = 0;
    for (index, c) in text[start..].char_indices() {
        if counted >= character || c == '\n' || c == '\r' {
            return start + index;
        }
        counted += units(c, encoding);
    }
    text.len()
}

/// LSP position of byte offset `at` in `text`.
pub fn position(text: &str, at: usize, encoding: &str) -> Value {
    let starts = line_starts(text);
    let line = starts.partition_point(|start| *start <= at) - 1;
    let character: usize = text[starts[line]..at]
        .chars()
        .map(|c| units(c, encoding))
        .sum();
    json!({"line": line, "character": character})
}
