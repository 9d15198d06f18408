//! `concur lsp` as a process: it must exit on the `exit` notification
//! while its stdin is still open, as Neovim 0.11 leaves it, and when the
//! input ends, also while a request to the client is still unanswered.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use concur_e2e::concur_bin;
use serde_json::{json, Value};

/// A client that offers `workspace/configuration`, so the server sends it a
/// request after `initialized` that these tests leave without a response.
fn configuration_capabilities() -> Value {
    json!({"workspace": {"configuration": true}})
}

/// Reads the server's messages on a thread and passes on their methods
/// (an empty string for a response).
fn read_methods(stdout: ChildStdout) -> Receiver<String> {
    let (sender, methods) = channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        loop {
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(value) = line.strip_prefix("Content-Length: ") {
                    length = value.parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            let message: Value = serde_json::from_slice(&body).unwrap();
            let method = message["method"].as_str().unwrap_or_default().to_owned();
            if sender.send(method).is_err() {
                return;
            }
        }
    });
    methods
}

/// Waits up to 10 seconds for the server to send a `method` message, or a
/// response when `method` is empty.
fn wait_for_method(methods: &Receiver<String>, method: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Ok(received) =
        methods.recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        if received == method {
            return;
        }
    }
    panic!("the server sent no {method:?} message within 10 s");
}

fn start(capabilities: Value) -> (Child, ChildStdin, Receiver<String>) {
    let mut server = Command::new(concur_bin())
        .args(["lsp", "--stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("concur lsp starts");
    let methods = read_methods(server.stdout.take().unwrap());
    let mut stdin = server.stdin.take().unwrap();
    send(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"processId": null, "rootUri": null, "capabilities": capabilities}}),
    );
    // The framework drops notifications that arrive before its response to
    // `initialize`, and clients wait for that response.
    wait_for_method(&methods, "");
    send(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    );
    (server, stdin, methods)
}

fn send(stdin: &mut ChildStdin, message: &Value) {
    let body = message.to_string();
    write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    stdin.flush().unwrap();
}

fn shutdown_and_exit(stdin: &mut ChildStdin) {
    send(
        stdin,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}),
    );
    send(stdin, &json!({"jsonrpc": "2.0", "method": "exit"}));
}

/// Waits up to 10 seconds for the process to end; kills it otherwise.
fn wait_for_exit(server: &mut Child) -> Option<ExitStatus> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = server.kill();
            let _ = server.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn exit_ends_the_process_with_stdin_open() {
    let (mut server, mut stdin, _) = start(json!({}));
    shutdown_and_exit(&mut stdin);
    let status = wait_for_exit(&mut server);
    drop(stdin);
    let status = status.expect("concur lsp still ran 10 s after the exit notification");
    assert!(status.success(), "{status}");
}

#[test]
fn exit_ends_a_pending_client_request() {
    let (mut server, mut stdin, methods) = start(configuration_capabilities());
    wait_for_method(&methods, "workspace/configuration");
    shutdown_and_exit(&mut stdin);
    let status = wait_for_exit(&mut server);
    drop(stdin);
    let status = status.expect(
        "concur lsp still ran 10 s after the exit notification, \
         with its workspace/configuration request unanswered",
    );
    assert!(status.success(), "{status}");
}

#[test]
fn closed_input_ends_a_pending_client_request() {
    let (mut server, stdin, methods) = start(configuration_capabilities());
    wait_for_method(&methods, "workspace/configuration");
    drop(stdin);
    let status = wait_for_exit(&mut server).expect(
        "concur lsp still ran 10 s after its input closed, \
         with its workspace/configuration request unanswered",
    );
    // The client left without `shutdown`, so LSP requires exit code 1.
    assert_eq!(status.code(), Some(1), "{status}");
}
