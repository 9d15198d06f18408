//! `concur lsp` as a process: the protocol on stdin and stdout, logs on
//! stderr only, the `--stdio` flag that vscode-languageclient adds, a
//! malformed frame answered without stopping the server, and a clean exit.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::thread;
use std::time::Duration;

use concur_e2e::concur_bin;
use serde_json::{json, Value};

struct Session {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

impl Session {
    fn start(args: &[&str]) -> Session {
        let mut child = Command::new(concur_bin())
            .args(args)
            .env("CONCUR_LOG", "debug")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("concur lsp starts");
        let stdout = child.stdout.take().unwrap();
        let (sender, messages) = channel();
        thread::spawn(move || {
            // Every byte on stdout must belong to a frame.
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end_matches(['\r', '\n']);
                    if line.is_empty() {
                        break;
                    }
                    let value = line
                        .strip_prefix("Content-Length: ")
                        .unwrap_or_else(|| panic!("stdout carried a non-protocol line: {line:?}"));
                    length = Some(value.parse::<usize>().unwrap());
                }
                let mut body = vec![0; length.expect("a Content-Length header")];
                reader.read_exact(&mut body).unwrap();
                let value: Value = serde_json::from_slice(&body).expect("frames hold JSON");
                if sender.send(value).is_err() {
                    return;
                }
            }
        });
        let stdin = child.stdin.take().unwrap();
        Session {
            child,
            stdin,
            messages,
            next_id: 1,
        }
    }

    fn send_raw(&mut self, body: &[u8]) {
        self.stdin.write_all(&frame(body)).unwrap();
        self.stdin.flush().unwrap();
    }

    fn send(&mut self, message: Value) {
        self.send_raw(message.to_string().as_bytes());
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and returns its response, answering nothing the
    /// server asks (this client announces no capabilities that would make
    /// it ask).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.wait(|message| message["id"] == json!(id) && message.get("method").is_none())
    }

    fn wait(&mut self, accept: impl Fn(&Value) -> bool) -> Value {
        loop {
            let message = self
                .messages
                .recv_timeout(Duration::from_secs(60))
                .expect("the server answers within 60 s");
            if accept(&message) {
                return message;
            }
        }
    }

    /// Shuts down, exits, and returns the exit status and stderr. With
    /// `close_stdin` false the pipe stays open, as some clients leave it.
    fn finish(mut self, close_stdin: bool) -> (std::process::ExitStatus, String) {
        let response = self.request("shutdown", Value::Null);
        assert!(response.get("error").is_none(), "{response}");
        self.notify("exit", Value::Null);
        let _kept = if close_stdin { None } else { Some(self.stdin) };
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = self.child.wait().unwrap();
        (status, stderr)
    }
}

#[test]
fn serves_fix_all_over_stdio_and_exits_cleanly() {
    for args in [&["lsp"][..], &["lsp", "--stdio"][..]] {
        let mut session = Session::start(args);
        let initialized = session.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": null,
                "capabilities": {"general": {"positionEncodings": ["utf-8", "utf-16"]}}
            }),
        );
        assert_eq!(
            initialized["result"]["capabilities"]["positionEncoding"], "utf-8",
            "{initialized}"
        );
        assert_eq!(initialized["result"]["serverInfo"]["name"], "concur");
        session.notify("initialized", json!({}));
        let uri = "file:///tmp/concur-stdio/lib.rs";
        session.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1,
                "text": "fn f(v: Vec<u8>) -> bool { v.len() == 0 }\n"}}),
        );
        let diagnostics =
            session.wait(|message| message["method"] == "textDocument/publishDiagnostics");
        assert_eq!(diagnostics["params"]["diagnostics"][0]["code"], "len-zero");

        // A malformed frame gets a parse error; the server keeps serving.
        session.send_raw(b"{\"jsonrpc\": \"2.0\", \"id\": 99, ");
        let error = session.wait(|message| message.get("error").is_some());
        assert_eq!(error["error"]["code"], -32700, "{error}");

        // This client cannot resolve actions, so the edit comes inline.
        let actions = session.request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": uri},
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                "context": {"diagnostics": [], "only": ["source.fixAll.concur"]}
            }),
        );
        let action = &actions["result"][0];
        assert_eq!(action["kind"], "source.fixAll.concur", "{actions}");
        let edits = &action["edit"]["changes"][uri];
        assert_eq!(edits[0]["newText"], "is_empty", "{action}");

        let (status, stderr) = session.finish(args.len() == 1);
        assert!(status.success(), "{args:?}: exit status {status}\n{stderr}");
        assert!(
            stderr.contains("DEBUG") || stderr.contains("INFO"),
            "CONCUR_LOG=debug should log to stderr:\n{stderr}"
        );
    }
}

/// Waits up to 10 s for the process to end and returns its status.
fn wait_for_exit(child: &mut Child) -> Option<std::process::ExitStatus> {
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    None
}

/// The client goes away while the server waits for its answer to
/// `workspace/applyEdit`: by `exit` without `shutdown`, or by closing
/// stdin. The server must end anyway, with exit code 1.
#[test]
fn exits_while_waiting_for_the_client() {
    for close_stdin in [false, true] {
        let mut session = Session::start(&["lsp"]);
        session.request(
            "initialize",
            json!({"processId": null, "rootUri": null,
                "capabilities": {"workspace": {"applyEdit": true}}}),
        );
        session.notify("initialized", json!({}));
        let uri = "file:///tmp/concur-stdio/pending.rs";
        session.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1,
                "text": "fn f() { try!(x); }\n"}}),
        );
        session.send(
            json!({"jsonrpc": "2.0", "id": 50, "method": "workspace/executeCommand",
            "params": {"command": "concur.applyAll", "arguments": [{"uri": uri}]}}),
        );
        session.wait(|message| message["method"] == "workspace/applyEdit");
        if close_stdin {
            drop(session.stdin);
        } else {
            session.notify("exit", Value::Null);
        }
        let status = wait_for_exit(&mut session.child);
        let status = status.unwrap_or_else(|| {
            panic!("close_stdin={close_stdin}: the server did not exit within 10 s")
        });
        assert_eq!(status.code(), Some(1), "close_stdin={close_stdin}");
    }
}
