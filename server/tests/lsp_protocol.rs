//! The language server in process, over a duplex pipe: initialization,
//! diagnostics, code actions and their resolution, commands answered with
//! `workspace/applyEdit`, in every position encoding, with typing during a
//! job, out-of-order changes and bad input.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::lsp_client::{
    full_capabilities, helix_capabilities, position, ApplyPolicy, TestClient,
};

const URI: &str = "file:///virtual/src/lib.rs";

/// Matches of three rules, with emoji, accented and CJK text before and
/// between them.
const SAMPLE: &str = "// é 😀 中文 façade\n\
fn f(v: Vec<u8>) -> Result<(), E> {\n\
    let s = \"😀🎉\"; let t = try!(g(s)); // 中文 ü\n\
    if v.len() == 0 { return Ok(()); }\n\
    let p = P { a: a, b: \"é\" };\n\
    Ok(())\n\
}\n";

const FIXED: &str = "// é 😀 中文 façade\n\
fn f(v: Vec<u8>) -> Result<(), E> {\n\
    let s = \"😀🎉\"; let t = g(s)?; // 中文 ü\n\
    if v.is_empty() { return Ok(()); }\n\
    let p = P { a, b: \"é\" };\n\
    Ok(())\n\
}\n";

fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}

fn codes(diagnostics: &[Value]) -> Vec<String> {
    let mut codes: Vec<String> = diagnostics
        .iter()
        .map(|diagnostic| diagnostic["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    codes
}

async fn start(encodings: &[&str]) -> TestClient {
    TestClient::start(full_capabilities(encodings), Value::Null, None)
        .await
        .0
}

#[tokio::test]
async fn negotiates_the_position_encoding() {
    let cases: [(&[&str], &str); 5] = [
        (&["utf-16", "utf-8"], "utf-8"),
        (&["utf-8"], "utf-8"),
        (&[], "utf-16"),
        (&["utf-32"], "utf-32"),
        (&["utf-32", "utf-16"], "utf-16"),
    ];
    for (offered, expected) in cases {
        let (_, result) = TestClient::start(full_capabilities(offered), Value::Null, None).await;
        assert_eq!(
            result["capabilities"]["positionEncoding"], expected,
            "offered {offered:?}"
        );
    }
    let (_, result) = TestClient::start(json!({}), Value::Null, None).await;
    let capabilities = &result["capabilities"];
    assert_eq!(capabilities["positionEncoding"], "utf-16");
    assert_eq!(capabilities["textDocumentSync"]["change"], 2);
    assert_eq!(capabilities["codeActionProvider"]["resolveProvider"], true);
    let commands = capabilities["executeCommandProvider"]["commands"]
        .as_array()
        .unwrap();
    for command in concur::lsp::COMMANDS {
        assert!(commands.contains(&json!(command)), "{command} missing");
    }
}

/// Every encoding and both line endings: diagnostics cover the matched
/// text, a resolved quick fix and the resolved fix-all edit give the
/// expected text.
#[tokio::test]
async fn diagnostics_and_actions_in_every_encoding() {
    for encoding in ["utf-8", "utf-16", "utf-32"] {
        for line_ending in ["lf", "crlf"] {
            let (sample, fixed) = if line_ending == "crlf" {
                (crlf(SAMPLE), crlf(FIXED))
            } else {
                (SAMPLE.to_owned(), FIXED.to_owned())
            };
            let context = format!("{encoding} {line_ending}");
            let mut client = start(&[encoding]).await;
            assert_eq!(client.encoding, encoding);
            client.open(URI, &sample).await;
            let diagnostics = client.diagnostics(URI).await;
            assert_eq!(
                codes(&diagnostics),
                ["len-zero", "redundant-field-names", "try-macro"],
                "{context}"
            );
            for diagnostic in &diagnostics {
                let covered = client.covered(URI, &diagnostic["range"]);
                let expected = match diagnostic["code"].as_str().unwrap() {
                    "try-macro" => "try!(g(s))",
                    "len-zero" => "v.len() == 0",
                    _ => "a: a",
                };
                assert_eq!(covered, expected, "{context}");
                assert_eq!(diagnostic["source"], "concur");
                assert_eq!(diagnostic["severity"], 4);
            }

            // A quick fix for the match under the cursor, resolved.
            let try_diag = diagnostics
                .iter()
                .find(|d| d["code"] == "try-macro")
                .unwrap();
            let cursor = try_diag["range"]["start"].clone();
            let actions = client
                .request(
                    "textDocument/codeAction",
                    json!({
                        "textDocument": {"uri": URI},
                        "range": {"start": cursor, "end": cursor},
                        "context": {"diagnostics": [], "only": ["quickfix"]}
                    }),
                )
                .await
                .unwrap();
            let actions = actions.as_array().unwrap();
            assert_eq!(actions.len(), 1, "{context}: {actions:?}");
            assert!(actions[0].get("edit").is_none(), "edits wait for resolve");
            let resolved = client
                .request("codeAction/resolve", actions[0].clone())
                .await
                .unwrap();
            client
                .apply_workspace_edit(&resolved["edit"])
                .await
                .unwrap();
            assert!(client.text(URI).contains("let t = g(s)?;"), "{context}");
            assert!(client.text(URI).contains("v.len() == 0"), "{context}");

            // Fix-all on what is left.
            let actions = client
                .request(
                    "textDocument/codeAction",
                    json!({
                        "textDocument": {"uri": URI},
                        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                        "context": {"diagnostics": [], "only": ["source.fixAll"]}
                    }),
                )
                .await
                .unwrap();
            let actions = actions.as_array().unwrap();
            assert_eq!(actions.len(), 1, "{context}: {actions:?}");
            assert_eq!(actions[0]["kind"], "source.fixAll.concur");
            let resolved = client
                .request("codeAction/resolve", actions[0].clone())
                .await
                .unwrap();
            let edit = &resolved["edit"];
            let version = client.docs[URI].version;
            assert_eq!(
                edit["documentChanges"][0]["textDocument"]["version"],
                version
            );
            let annotations = edit["changeAnnotations"].as_object().unwrap();
            assert!(annotations.contains_key("len-zero"), "{context}: {edit}");
            client.apply_workspace_edit(edit).await.unwrap();
            assert_eq!(client.text(URI), fixed, "{context}");
            let after = client.diagnostics(URI).await;
            assert!(after.is_empty(), "{context}: {after:?}");
        }
    }
}

#[tokio::test]
async fn apply_all_command_sends_one_edit_and_reports() {
    for encoding in ["utf-8", "utf-16", "utf-32"] {
        let mut client = start(&[encoding]).await;
        client.open(URI, &crlf(SAMPLE)).await;
        let summary = client
            .request(
                "workspace/executeCommand",
                json!({"command": "concur.applyAll", "arguments": [{"uri": URI}]}),
            )
            .await
            .unwrap();
        assert_eq!(client.edit_requests.len(), 1);
        assert_eq!(client.text(URI), crlf(FIXED), "{encoding}");
        assert_eq!(summary["edit"], "applied");
        assert_eq!(summary["applied"], 3);
        assert_eq!(summary["conflicts"], 0);
        assert_eq!(summary["dropped"], 0);
        assert_eq!(summary["attempts"], 1);
        assert!(summary["rounds"].as_u64().unwrap() >= 1);
        assert!(summary["workers"].as_u64().unwrap() >= 3);
        assert!(summary["report"].as_array().unwrap().len() == 1);
    }
}

#[tokio::test]
async fn apply_rule_runs_only_that_rule() {
    let mut client = start(&["utf-16"]).await;
    client.open(URI, SAMPLE).await;
    let summary = client
        .request(
            "workspace/executeCommand",
            json!({"command": "concur.applyRule", "arguments": [{"uri": URI, "rule": "len-zero"}]}),
        )
        .await
        .unwrap();
    assert_eq!(summary["applied"], 1);
    assert!(client.text(URI).contains("v.is_empty()"));
    assert!(client.text(URI).contains("try!(g(s))"));
    let error = client
        .request(
            "workspace/executeCommand",
            json!({"command": "concur.applyRule", "arguments": [{"uri": URI, "rule": "no-such-rule"}]}),
        )
        .await
        .unwrap_err();
    assert!(
        error["message"].as_str().unwrap().contains("no-such-rule"),
        "{error}"
    );
}

/// The user types while the job runs: the client rejects the first edit
/// (it names an older version), the server rebases and the final text has
/// both the typing and the refactor.
#[tokio::test]
async fn typing_during_a_job_is_kept() {
    for encoding in ["utf-8", "utf-16"] {
        let mut client = start(&[encoding]).await;
        client.open(URI, SAMPLE).await;
        let id = client
            .send_request(
                "workspace/executeCommand",
                json!({"command": "concur.applyAll", "arguments": [{"uri": URI}]}),
            )
            .await;
        // Typing sent after the command and before its reply.
        client.type_replace(URI, "façade", "façades 🚀").await;
        client
            .type_replace(URI, "Ok(())\n}", "Ok(()) // done ✓\n}")
            .await;
        // And more typing once the first edit is on its way: the client
        // rejects that edit because its version moved on.
        client.before_apply = Some(Box::new(|typed| {
            typed.push((
                URI.to_owned(),
                json!({"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "//! top\n"}),
            ));
        }));
        let summary = client.response(id).await.unwrap();
        assert_eq!(summary["edit"], "applied", "{encoding}: {summary}");
        let expected = format!(
            "//! top\n{}",
            FIXED
                .replace("façade", "façades 🚀")
                .replace("Ok(())\n}", "Ok(()) // done ✓\n}")
        );
        assert_eq!(client.text(URI), expected, "{encoding}");
        assert!(summary["attempts"].as_u64().unwrap() >= 2, "{summary}");
        let last = client.edit_requests.last().unwrap();
        assert_eq!(
            last["edit"]["documentChanges"][0]["textDocument"]["version"],
            client.docs[URI].version - 1
        );
    }
}

/// Neovim numbers versions by its changedtick, which skips numbers. A code
/// action sent right after such a change must see it, although the change
/// waits for its missing predecessor until the gap timeout.
#[tokio::test]
async fn skipped_versions_reach_the_next_request() {
    for encoding in ["utf-8", "utf-16"] {
        let mut client = start(&[encoding]).await;
        client.open(URI, SAMPLE).await;
        client.diagnostics(URI).await;
        client.docs.get_mut(URI).unwrap().version += 7;
        client
            .type_replace(URI, "// é", "// ✓ new line\n// é")
            .await;
        let version = client.docs[URI].version;
        assert_eq!(version, 9);

        let started = std::time::Instant::now();
        let actions = client
            .request(
                "textDocument/codeAction",
                json!({
                    "textDocument": {"uri": URI},
                    "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                    "context": {"diagnostics": [], "only": ["source.fixAll.concur"]}
                }),
            )
            .await
            .unwrap();
        let action = actions[0].clone();
        let resolved = client.request("codeAction/resolve", action).await.unwrap();
        let edit = &resolved["edit"];
        assert_eq!(
            edit["documentChanges"][0]["textDocument"]["version"], version,
            "{encoding}: the edit names the version the client just sent"
        );
        assert!(
            started.elapsed() < Duration::from_millis(200),
            "{encoding}: the request waited {:?}, as long as the gap timeout",
            started.elapsed()
        );
        client.apply_workspace_edit(edit).await.unwrap();
        assert_eq!(
            client.text(URI),
            FIXED.replace("// é", "// ✓ new line\n// é"),
            "{encoding}"
        );
    }
}

/// Typing over a match while the job runs drops that hunk and counts it.
#[tokio::test]
async fn typing_over_a_match_drops_its_hunk() {
    let mut client = start(&["utf-16"]).await;
    client.open(URI, SAMPLE).await;
    let start = SAMPLE.find("v.len() == 0").unwrap();
    let range = json!({
        "start": position(SAMPLE, start, "utf-16"),
        "end": position(SAMPLE, start + "v.len() == 0".len(), "utf-16"),
    });
    client.before_apply = Some(Box::new(move |typed| {
        // The user rewrites "v.len() == 0" their own way.
        typed.push((
            URI.to_owned(),
            json!({"range": range, "text": "v.is_empty() && true"}),
        ));
    }));
    let summary = client
        .request(
            "workspace/executeCommand",
            json!({"command": "concur.applyAll", "arguments": [{"uri": URI}]}),
        )
        .await
        .unwrap();
    assert_eq!(summary["edit"], "applied", "{summary}");
    assert_eq!(summary["dropped"], 1, "{summary}");
    assert_eq!(summary["report"][0]["droppedForUserEdit"], 1);
    let text = client.text(URI);
    assert!(text.contains("if v.is_empty() && true {"), "{text}");
    assert!(text.contains("let t = g(s)?;"), "{text}");
    assert!(text.contains("P { a, b"), "{text}");
}

#[tokio::test]
async fn a_rejected_edit_is_reported_and_changes_nothing() {
    let mut client = start(&["utf-16"]).await;
    client.open(URI, SAMPLE).await;
    client.policy = ApplyPolicy::RejectAll;
    let summary = client
        .request(
            "workspace/executeCommand",
            json!({"command": "concur.applyAll", "arguments": [{"uri": URI}]}),
        )
        .await
        .unwrap();
    assert_eq!(summary["edit"], "rejected");
    assert_eq!(summary["failureReason"], "the user said no");
    assert_eq!(summary["attempts"], 1);
    assert_eq!(client.text(URI), SAMPLE);
    client.policy = ApplyPolicy::CheckVersion;
    let summary = client
        .request(
            "workspace/executeCommand",
            json!({"command": "concur.applyAll", "arguments": [{"uri": URI}]}),
        )
        .await
        .unwrap();
    assert_eq!(summary["edit"], "applied");
    assert_eq!(client.text(URI), FIXED);
}

/// A declined edit stays declined when the user types after answering.
#[tokio::test]
async fn a_declined_edit_is_not_resent_after_typing() {
    let mut client = start(&["utf-16"]).await;
    client.open(URI, SAMPLE).await;
    client.policy = ApplyPolicy::RejectAll;
    client.after_apply = Some(Box::new(|typed| {
        typed.push((
            URI.to_owned(),
            json!({"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "// later\n"}),
        ));
    }));
    let summary = client
        .request(
            "workspace/executeCommand",
            json!({"command": "concur.applyAll", "arguments": [{"uri": URI}]}),
        )
        .await
        .unwrap();
    assert_eq!(summary["edit"], "rejected", "{summary}");
    assert_eq!(summary["attempts"], 1, "{summary}");
    assert_eq!(client.edit_requests.len(), 1);
    assert_eq!(client.text(URI), format!("// later\n{SAMPLE}"));
}

/// `didChange` notifications delivered out of order reach the same text.
#[tokio::test]
async fn out_of_order_changes_reach_the_same_text() {
    let mut client = start(&["utf-16"]).await;
    client.open(URI, "fn main() {}\n").await;
    let change = |version: i32, character: u32, text: &str| {
        json!({
            "textDocument": {"uri": URI, "version": version},
            "contentChanges": [{"range": {"start": {"line": 0, "character": character}, "end": {"line": 0, "character": character}}, "text": text}]
        })
    };
    // Version 2 inserts at 11, version 3 at 28, past the end of version
    // 1: applied 3 before 2, the text would differ.
    client
        .notify(
            "textDocument/didChange",
            change(3, 28, " let b = x.len() == 0; "),
        )
        .await;
    client
        .notify("textDocument/didChange", change(2, 11, " let a = try!(y);"))
        .await;
    client.docs.get_mut(URI).unwrap().text =
        "fn main() { let a = try!(y); let b = x.len() == 0; }\n".to_owned();
    client.docs.get_mut(URI).unwrap().version = 3;
    let diagnostics = client.diagnostics(URI).await;
    assert_eq!(codes(&diagnostics), ["len-zero", "try-macro"]);
    for diagnostic in &diagnostics {
        let covered = client.covered(URI, &diagnostic["range"]);
        assert!(
            covered == "try!(y)" || covered == "x.len() == 0",
            "{covered}"
        );
    }
    let summary = client
        .request(
            "workspace/executeCommand",
            json!({"command": "concur.applyAll", "arguments": [{"uri": URI}]}),
        )
        .await
        .unwrap();
    assert_eq!(summary["edit"], "applied");
    assert_eq!(
        client.text(URI),
        "fn main() { let a = y?; let b = x.is_empty(); }\n"
    );
}

#[tokio::test]
async fn helix_gets_plain_versioned_edits_in_utf8() {
    let (mut client, result) = TestClient::start(helix_capabilities(), Value::Null, None).await;
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-8");
    client.open(URI, SAMPLE).await;
    let actions = client
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": URI},
                "range": {"start": {"line": 2, "character": 0}, "end": {"line": 2, "character": 0}},
                "context": {"diagnostics": []}
            }),
        )
        .await
        .unwrap();
    let fix_all = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|action| action["kind"] == "source.fixAll.concur")
        .expect("a fix-all action")
        .clone();
    let resolved = client.request("codeAction/resolve", fix_all).await.unwrap();
    let edit = &resolved["edit"];
    assert!(edit.get("changeAnnotations").is_none(), "{edit}");
    for text_edit in edit["documentChanges"][0]["edits"].as_array().unwrap() {
        assert!(text_edit.get("annotationId").is_none(), "{text_edit}");
    }
    client.apply_workspace_edit(edit).await.unwrap();
    assert_eq!(client.text(URI), FIXED);
}

/// A client without `codeAction/resolve` gets the edits in the listing,
/// and one without `documentChanges` gets `changes`.
#[tokio::test]
async fn clients_without_resolve_or_versioned_edits() {
    let capabilities = json!({
        "general": {"positionEncodings": ["utf-16"]},
        "workspace": {"applyEdit": true}
    });
    let (mut client, _) = TestClient::start(capabilities, Value::Null, None).await;
    client.open(URI, SAMPLE).await;
    let actions = client
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": URI},
                "range": {"start": {"line": 3, "character": 8}, "end": {"line": 3, "character": 8}},
                "context": {"diagnostics": []}
            }),
        )
        .await
        .unwrap();
    let actions = actions.as_array().unwrap();
    let quick = actions
        .iter()
        .find(|action| action["kind"] == "quickfix")
        .unwrap();
    assert!(quick["edit"]["changes"][URI].is_array(), "{quick}");
    let fix_all = actions
        .iter()
        .find(|action| action["kind"] == "source.fixAll.concur")
        .unwrap();
    client.apply_workspace_edit(&fix_all["edit"]).await.unwrap();
    assert_eq!(client.text(URI), FIXED);
}

#[tokio::test]
async fn merge_proposals_merges_and_reports() {
    let mut client = start(&["utf-16"]).await;
    let base = "fn a() { old(); }\nfn b() {}\nfn c() {}\n";
    client.open(URI, base).await;
    let proposals = [
        "fn a() { one(); }\nfn b() {}\nfn c() {}\n",
        "fn a() { old(); }\nfn b() { two(); }\nfn c() {}\n",
        "fn a() { three(); }\nfn b() {}\nfn c() {}\n",
    ];
    let summary = client
        .request(
            "workspace/executeCommand",
            json!({"command": "concur.mergeProposals", "arguments": [{"uri": URI, "version": 1, "proposals": proposals}]}),
        )
        .await
        .unwrap();
    assert_eq!(summary["edit"], "applied", "{summary}");
    assert_eq!(summary["conflicts"], 1, "{summary}");
    assert_eq!(
        client.text(URI),
        "fn a() { one(); }\nfn b() { two(); }\nfn c() {}\n"
    );
    let error = client
        .request(
            "workspace/executeCommand",
            json!({"command": "concur.mergeProposals", "arguments": [{"uri": URI, "version": 99, "proposals": []}]}),
        )
        .await
        .unwrap_err();
    assert!(
        error["message"].as_str().unwrap().contains("version 99"),
        "{error}"
    );
}

/// Each bad input gets an error or a message naming the value, and the
/// server keeps serving.
#[tokio::test]
async fn bad_input_is_answered_and_the_server_keeps_going() {
    let mut client = start(&["utf-16"]).await;
    client.open(URI, SAMPLE).await;

    // Malformed JSON.
    client
        .send_raw(b"{\"jsonrpc\": \"2.0\", \"id\": 7, \"method\": ")
        .await;
    let parse_error = client.wait_for_response_error().await;
    assert_eq!(parse_error["code"], -32700, "{parse_error}");

    // Unknown method.
    let error = client
        .request("concur/unknown", json!({}))
        .await
        .unwrap_err();
    assert_eq!(error["code"], -32601);

    // Invalid params.
    let error = client
        .request("textDocument/codeAction", json!({"textDocument": 5}))
        .await
        .unwrap_err();
    assert_eq!(error["code"], -32602);

    // Unknown URI.
    let error = client
        .request(
            "workspace/executeCommand",
            json!({"command": "concur.applyAll", "arguments": [{"uri": "file:///nowhere.rs"}]}),
        )
        .await
        .unwrap_err();
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("file:///nowhere.rs"),
        "{error}"
    );

    // Missing and malformed command arguments; unknown command.
    for (command, arguments, needle) in [
        ("concur.applyAll", json!([]), "one object argument"),
        ("concur.applyAll", json!([{"uri": 5}]), "must be a string"),
        ("concur.applyRule", json!([{"uri": URI}]), "\"rule\""),
        (
            "concur.mergeProposals",
            json!([{"uri": URI, "version": 1, "proposals": [1]}]),
            "proposals",
        ),
        ("concur.nothing", json!([]), "unknown command"),
    ] {
        let error = client
            .request(
                "workspace/executeCommand",
                json!({"command": command, "arguments": arguments}),
            )
            .await
            .unwrap_err();
        assert!(
            error["message"].as_str().unwrap().contains(needle),
            "{command}: {error}"
        );
    }

    // A range past the end of the document.
    let error = client
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": URI},
                "range": {"start": {"line": 500, "character": 0}, "end": {"line": 500, "character": 3}},
                "context": {"diagnostics": []}
            }),
        )
        .await
        .unwrap_err();
    assert!(
        error["message"].as_str().unwrap().contains("500:0"),
        "{error}"
    );

    // Stale and repeated versions: a message names the version; the
    // document keeps its text.
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": 1}, "contentChanges": [{"text": "garbage"}]}),
        )
        .await;
    let message = client
        .wait_for("window/showMessage", |params| {
            params["message"]
                .as_str()
                .unwrap_or_default()
                .contains("version 1")
        })
        .await;
    assert!(message["message"].as_str().unwrap().contains(URI));
    // A change to an unknown document.
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": "file:///ghost.rs", "version": 2}, "contentChanges": [{"text": "x"}]}),
        )
        .await;
    client
        .wait_for("window/showMessage", |params| {
            params["message"]
                .as_str()
                .unwrap_or_default()
                .contains("file:///ghost.rs")
        })
        .await;
    // Resolving an action concur never listed.
    let error = client
        .request(
            "codeAction/resolve",
            json!({"title": "x", "data": {"kind": "bogus"}}),
        )
        .await
        .unwrap_err();
    assert!(
        error["message"].as_str().unwrap().contains("bogus"),
        "{error}"
    );

    // Everything still works, on the unchanged document.
    let summary = client
        .request(
            "workspace/executeCommand",
            json!({"command": "concur.applyAll", "arguments": [{"uri": URI}]}),
        )
        .await
        .unwrap();
    assert_eq!(summary["edit"], "applied");
    assert_eq!(client.text(URI), FIXED);
}

#[tokio::test]
async fn settings_choose_the_rules() {
    let (mut client, _) = TestClient::start(
        full_capabilities(&["utf-16"]),
        json!({"disable": ["try-macro"]}),
        None,
    )
    .await;
    client.configuration = json!({"disable": ["try-macro"]});
    client.open(URI, SAMPLE).await;
    assert_eq!(
        codes(&client.diagnostics(URI).await),
        ["len-zero", "redundant-field-names"]
    );

    // The client pulls settings: the new response switches rules back on.
    client.configuration = json!({"disable": ["len-zero"]});
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": null}),
        )
        .await;
    let params = client
        .wait_for("textDocument/publishDiagnostics", |params| {
            params["diagnostics"]
                .as_array()
                .is_some_and(|list| list.iter().any(|d| d["code"] == "try-macro"))
        })
        .await;
    assert_eq!(
        codes(params["diagnostics"].as_array().unwrap()),
        ["redundant-field-names", "try-macro"]
    );

    // An invalid value is shown and the previous settings stay.
    client.configuration = json!({"maxRounds": "many"});
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": null}),
        )
        .await;
    let message = client
        .wait_for("window/showMessage", |params| {
            params["message"]
                .as_str()
                .unwrap_or_default()
                .contains("maxRounds")
        })
        .await;
    assert!(message["message"].as_str().unwrap().contains("\"many\""));
}

/// A client that answers `null` for the section (Neovim does when the
/// user set nothing) keeps the initialization options.
#[tokio::test]
async fn initialization_options_survive_an_empty_pull() {
    for answer in [Value::Null, json!({}), json!({"other": 1})] {
        let (mut client, _) = TestClient::start(
            full_capabilities(&["utf-16"]),
            json!({"concur": {"disable": ["len-zero"]}}),
            None,
        )
        .await;
        client.configuration = answer.clone();
        client.open(URI, SAMPLE).await;
        let diagnostics = client.diagnostics(URI).await;
        assert_eq!(
            codes(&diagnostics),
            ["redundant-field-names", "try-macro"],
            "answer {answer}"
        );
    }
}

/// Diagnostics computed for a closed document never reach the reopened
/// one, even at the same version number.
#[tokio::test]
async fn reopening_drops_the_old_diagnostics() {
    let mut client = start(&["utf-16"]).await;
    let big = SAMPLE.repeat(300);
    client.open(URI, &big).await;
    client
        .notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": URI}}),
        )
        .await;
    client.open(URI, "fn f() { try!(x); }\n").await;
    let diagnostics = client.diagnostics(URI).await;
    assert_eq!(codes(&diagnostics), ["try-macro"]);
    client.settle().await;
    let later: Vec<&Value> = client
        .notifications
        .iter()
        .filter(|message| {
            message["method"] == "textDocument/publishDiagnostics"
                && message["params"]["uri"] == URI
                && message["params"]["diagnostics"]
                    .as_array()
                    .is_some_and(|list| list.len() > 1)
        })
        .collect();
    assert!(later.is_empty(), "stale diagnostics: {} sets", later.len());
    // Code actions see the new text only.
    let actions = client
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": URI},
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                "context": {"diagnostics": [], "only": ["source.fixAll.concur"]}
            }),
        )
        .await
        .unwrap();
    let resolved = client
        .request("codeAction/resolve", actions[0].clone())
        .await
        .unwrap();
    client
        .apply_workspace_edit(&resolved["edit"])
        .await
        .unwrap();
    assert_eq!(client.text(URI), "fn f() { x?; }\n");
}

/// Neovim encodes an empty Lua table as `[]`, so `settings = { concur = {} }`
/// arrives as `{"concur": []}` and its `workspace/configuration` result as
/// `[[]]`. Both mean "no settings", not an invalid value.
#[tokio::test]
async fn empty_lua_tables_are_empty_settings() {
    let (mut client, _) =
        TestClient::start(full_capabilities(&["utf-8"]), json!({"concur": []}), None).await;
    client.configuration = json!([]);
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"concur": []}}),
        )
        .await;
    client.open(URI, SAMPLE).await;
    assert_eq!(
        codes(&client.diagnostics(URI).await),
        ["len-zero", "redundant-field-names", "try-macro"]
    );
    client.settle().await;
    let shown: Vec<&Value> = client
        .notifications
        .iter()
        .filter(|message| message["method"] == "window/showMessage")
        .collect();
    assert!(shown.is_empty(), "no settings error is shown: {shown:?}");
}

/// A match whose rewrite leaves its text as it was gets no hint: there is
/// nothing to fix.
#[tokio::test]
async fn matches_that_change_nothing_get_no_hint() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(
        root.path().join("concur.toml"),
        "[config]\nbuiltin = false\n\n[[rule]]\nid = \"unwrap-paren\"\nlanguage = \"rust\"\nmessage = \"drop the parentheses\"\nquery = '(parenthesized_expression (_) @inner) @match'\nreplace = \"$inner\"\n",
    )
    .unwrap();
    let (mut client, _) = TestClient::start(
        full_capabilities(&["utf-16"]),
        Value::Null,
        Some(root.path()),
    )
    .await;
    let uri = format!("file://{}/src/lib.rs", root.path().display());
    // The template wraps `a + b` in parentheses again where `* 2` needs
    // them, so only the first match changes anything.
    client
        .open(
            &uri,
            "fn f(a: i32, b: i32) -> i32 {\n    let c = (a);\n    (a + b) * 2 + c\n}\n",
        )
        .await;
    let diagnostics = client.diagnostics(&uri).await;
    assert_eq!(codes(&diagnostics), ["unwrap-paren"]);
    assert_eq!(diagnostics[0]["range"]["start"]["line"], 1);
}

#[tokio::test]
async fn concur_toml_is_loaded_watched_and_kept_when_invalid() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("concur.toml");
    std::fs::write(
        &config,
        "[config]\nbuiltin = false\n\n[[rule]]\nid = \"no-dbg\"\nlanguage = \"rust\"\nmessage = \"remove dbg!\"\nquery = '(macro_invocation macro: (identifier) @m (#eq? @m \"dbg\") (token_tree (identifier) @x)) @match'\nreplace = \"$x\"\n",
    )
    .unwrap();
    let (mut client, _) = TestClient::start(
        full_capabilities(&["utf-16"]),
        Value::Null,
        Some(root.path()),
    )
    .await;
    let uri = format!("file://{}/src/main.rs", root.path().display());
    client
        .open(&uri, "fn main() { let a = dbg!(b); let c = try!(d); }\n")
        .await;
    assert_eq!(codes(&client.diagnostics(&uri).await), ["no-dbg"]);

    // An invalid file: shown, and the previous rules stay in force.
    std::fs::write(&config, "[[rule]]\nid = \"broken\"\n").unwrap();
    let config_uri = format!("file://{}", config.display());
    client
        .notify(
            "workspace/didChangeWatchedFiles",
            json!({"changes": [{"uri": config_uri, "type": 2}]}),
        )
        .await;
    let message = client
        .wait_for("window/showMessage", |params| {
            params["message"]
                .as_str()
                .unwrap_or_default()
                .contains("concur.toml")
        })
        .await;
    assert_eq!(message["type"], 1);
    let summary = client
        .request(
            "workspace/executeCommand",
            json!({"command": "concur.applyAll", "arguments": [{"uri": uri}]}),
        )
        .await
        .unwrap();
    assert_eq!(summary["edit"], "applied");
    assert_eq!(
        client.text(&uri),
        "fn main() { let a = b; let c = try!(d); }\n"
    );

    // A valid file again: the built-in rules come back.
    std::fs::write(&config, "[config]\nbuiltin = true\n").unwrap();
    client
        .notify(
            "workspace/didChangeWatchedFiles",
            json!({"changes": [{"uri": config_uri, "type": 2}]}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let summary = client
        .request(
            "workspace/executeCommand",
            json!({"command": "concur.applyAll", "arguments": [{"uri": uri}]}),
        )
        .await
        .unwrap();
    assert_eq!(summary["edit"], "applied");
    assert_eq!(client.text(&uri), "fn main() { let a = b; let c = d?; }\n");
}

#[tokio::test]
async fn workspace_command_edits_open_and_closed_files() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("src")).unwrap();
    std::fs::write(root.path().join("src/a.rs"), "fn a() -> () { try!(x); }\n").unwrap();
    std::fs::write(
        root.path().join("src/b.rs"),
        "fn b(v: &[u8]) -> bool { v.len() == 0 }\n",
    )
    .unwrap();
    std::fs::write(root.path().join(".gitignore"), "ignored/\n").unwrap();
    std::fs::create_dir_all(root.path().join("ignored")).unwrap();
    std::fs::write(root.path().join("ignored/c.rs"), "fn c() { try!(y); }\n").unwrap();
    std::process::Command::new("git")
        .arg("init")
        .arg("-q")
        .arg(root.path())
        .status()
        .ok();
    let (mut client, _) = TestClient::start(
        full_capabilities(&["utf-8"]),
        Value::Null,
        Some(root.path()),
    )
    .await;
    let open_uri = format!("file://{}/src/a.rs", root.path().display());
    // The buffer differs from the disk: the edit must use the buffer.
    client
        .open(&open_uri, "fn a() -> () { try!(x); } // unsaved\n")
        .await;
    let summary = client
        .request(
            "workspace/executeCommand",
            json!({"command": "concur.applyWorkspace"}),
        )
        .await
        .unwrap();
    assert_eq!(summary["edit"], "applied", "{summary}");
    assert_eq!(client.text(&open_uri), "fn a() { x?; } // unsaved\n");
    let request = client.edit_requests.last().unwrap();
    let changes = request["edit"]["documentChanges"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{changes:?}");
    let closed = changes
        .iter()
        .find(|change| {
            change["textDocument"]["uri"]
                .as_str()
                .unwrap()
                .ends_with("/src/b.rs")
        })
        .unwrap();
    assert!(closed["textDocument"]["version"].is_null());
    let disk = std::fs::read_to_string(root.path().join("src/b.rs")).unwrap();
    assert_eq!(
        apply_edits(&disk, closed["edits"].as_array().unwrap(), "utf-8"),
        "fn b(v: &[u8]) -> bool { v.is_empty() }\n"
    );
    assert!(!changes.iter().any(|change| change["textDocument"]["uri"]
        .as_str()
        .unwrap()
        .contains("ignored")));
}

/// Applies text edits to `text` as a client would.
fn apply_edits(text: &str, edits: &[Value], encoding: &str) -> String {
    let mut spans: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|edit| {
            (
                support::lsp_client::offset(text, &edit["range"]["start"], encoding),
                support::lsp_client::offset(text, &edit["range"]["end"], encoding),
                edit["newText"].as_str().unwrap(),
            )
        })
        .collect();
    spans.sort_by_key(|span| std::cmp::Reverse(span.0));
    let mut out = text.to_owned();
    for (start, end, new_text) in spans {
        out.replace_range(start..end, new_text);
    }
    out
}

/// The server keeps a window of recent versions: proposals made from an
/// older one are refused with the span it keeps.
#[tokio::test]
async fn old_versions_leave_the_window() {
    let mut client = start(&["utf-16"]).await;
    client.open(URI, "fn main() {}\n").await;
    for _ in 0..100 {
        client.type_replace(URI, "}", " }").await;
    }
    let _ = client.diagnostics(URI).await;
    let error = client
        .request(
            "workspace/executeCommand",
            json!({"command": "concur.mergeProposals", "arguments": [{"uri": URI, "version": 2, "proposals": ["x"]}]}),
        )
        .await
        .unwrap_err();
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("versions 38 to 101 are kept"), "{message}");
    let text = client.text(URI).to_owned();
    let proposal = text.replace("main", "start");
    let summary = client
        .request(
            "workspace/executeCommand",
            json!({"command": "concur.mergeProposals", "arguments": [{"uri": URI, "version": 60, "proposals": [proposal]}]}),
        )
        .await;
    // Version 60 is in the window but its text differs from the newest,
    // so the proposal, diffed against version 60, also undoes typing:
    // those hunks overlap the user's later edits and are dropped.
    let summary = summary.unwrap();
    assert_eq!(summary["edit"], "applied", "{summary}");
    assert!(
        client.text(URI).starts_with("fn start()"),
        "{}",
        client.text(URI)
    );
}

#[tokio::test]
async fn positions_in_the_sample_agree_with_the_client_helper() {
    // The client helper's conversion is what every other test relies on.
    let text = "a😀b\r\nc";
    assert_eq!(
        position(text, 5, "utf-16"),
        json!({"line": 0, "character": 3})
    );
    assert_eq!(
        position(text, 5, "utf-8"),
        json!({"line": 0, "character": 5})
    );
    assert_eq!(
        position(text, 5, "utf-32"),
        json!({"line": 0, "character": 2})
    );
    assert_eq!(
        position(text, 8, "utf-16"),
        json!({"line": 1, "character": 0})
    );
}
