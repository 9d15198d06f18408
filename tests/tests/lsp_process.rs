//! `concur lsp` as a process: it must exit on the `exit` notification
//! while its stdin is still open, as Neovim 0.11 leaves it.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use concur_e2e::concur_bin;
use serde_json::{json, Value};

fn frame(message: &Value) -> Vec<u8> {
    let body = message.to_string();
    let mut bytes = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

#[test]
fn exit_ends_the_process_with_stdin_open() {
    let mut server = Command::new(concur_bin())
        .args(["lsp", "--stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("concur lsp starts");
    let mut stdin = server.stdin.take().unwrap();
    for message in [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
               "params": {"processId": null, "rootUri": null, "capabilities": {}}}),
        json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}),
        json!({"jsonrpc": "2.0", "method": "exit"}),
    ] {
        stdin.write_all(&frame(&message)).unwrap();
    }
    stdin.flush().unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if status.is_none() {
        let _ = server.kill();
        let _ = server.wait();
    }
    drop(stdin);
    let status = status.expect("concur lsp still ran 10 s after the exit notification");
    assert!(status.success(), "{status}");
}
