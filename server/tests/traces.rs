//! Every editing trace in the shared data replays to its `endContent`,
//! through a `Document` and into a bare rope, and `concur bench-trace`
//! reports it as one JSON line.

use std::path::{Path, PathBuf};
use std::process::Command;

use concur::trace::{self, ReplayMode};

fn traces_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/editing-traces")
}

fn trace_path(name: &str) -> PathBuf {
    let path = traces_dir().join(format!("{name}.json.gz"));
    assert!(
        path.is_file(),
        "missing trace {}; the shared data must sit beside the repository",
        path.display()
    );
    path
}

fn replays_in_both_modes(name: &str) {
    let loaded = trace::load(&trace_path(name)).unwrap();
    for mode in [ReplayMode::Document, ReplayMode::Bare] {
        let report = trace::replay(&loaded, mode)
            .unwrap_or_else(|error| panic!("{name} in {mode:?} mode: {error}"));
        assert_eq!(report.transactions, loaded.txns.len());
        assert_eq!(report.final_length, loaded.end_content.chars().count());
    }
}

#[test]
fn automerge_paper_replays() {
    replays_in_both_modes("sequential-automerge-paper");
}

#[test]
fn rustcode_replays() {
    replays_in_both_modes("sequential-rustcode");
}

#[test]
fn seph_blog_replays() {
    replays_in_both_modes("sequential-seph-blog1");
}

#[test]
fn svelte_component_replays() {
    replays_in_both_modes("sequential-sveltecomponent");
}

#[test]
fn friendsforever_converges() {
    replays_in_both_modes("concurrent-friendsforever");
}

#[test]
fn clownschool_converges() {
    replays_in_both_modes("concurrent-clownschool");
}

#[test]
fn document_logs_one_change_per_transaction() {
    let loaded = trace::load(&trace_path("sequential-rustcode")).unwrap();
    let trace::Replayed::Document(document) =
        trace::replay_sequential(&loaded, ReplayMode::Document).unwrap()
    else {
        panic!("document mode returned a bare rope");
    };
    assert_eq!(document.log().len(), loaded.txns.len());
    assert_eq!(document.version(), loaded.txns.len() as i32);
    // Inverting the first 200 logged changes, newest first, walks back to
    // the start content.
    let mut states = vec![loaded.start_content.clone()];
    let mut forward = ropey::Rope::from_str(&loaded.start_content);
    for entry in document.log().iter().take(200) {
        entry.change.apply(&mut forward).unwrap();
        states.push(forward.to_string());
    }
    let first_200: Vec<_> = document.log().iter().take(200).collect();
    for entry in first_200.iter().rev() {
        let before = ropey::Rope::from_str(&states[states.len() - 2]);
        let inverse = entry.change.invert(&before).unwrap();
        let mut after = ropey::Rope::from_str(states.last().unwrap());
        inverse.apply(&mut after).unwrap();
        assert_eq!(after, before);
        states.pop();
    }
    assert_eq!(states, vec![loaded.start_content.clone()]);
}

fn bench_trace(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_concur"))
        .arg("bench-trace")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn cli_prints_one_json_line() {
    let path = trace_path("sequential-sveltecomponent");
    for extra in [None, Some("--bare")] {
        let mut args = vec![path.to_str().unwrap()];
        args.extend(extra);
        let output = bench_trace(&args);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(report["trace"], "sequential-sveltecomponent");
        assert_eq!(report["transactions"], 18335);
        assert_eq!(report["final_length"], 18451);
        assert!(report["elapsed_ms"].as_f64().unwrap() > 0.0);
        assert!(report["transactions_per_second"].as_f64().unwrap() > 0.0);
        let mode = if extra.is_some() { "bare" } else { "document" };
        assert_eq!(report["mode"], mode);
    }
}

#[test]
fn cli_exits_1_on_mismatch() {
    let dir = tempdir();
    let path = dir.join("wrong-end.json");
    std::fs::write(
        &path,
        r#"{"startContent":"abc","endContent":"abXc","txns":[{"patches":[[2,0,"Y"]]}]}"#,
    )
    .unwrap();
    let output = bench_trace(&[path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("first difference at char 2"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn cli_exits_2_on_unreadable_trace() {
    let dir = tempdir();
    let missing = dir.join("missing.json.gz");
    let output = bench_trace(&[missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("missing.json.gz"), "{stderr}");

    let garbage = dir.join("garbage.json.gz");
    std::fs::write(&garbage, b"not gzip").unwrap();
    let output = bench_trace(&[garbage.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("garbage.json.gz"));

    let bad_patch = dir.join("bad-patch.json");
    std::fs::write(
        &bad_patch,
        r#"{"startContent":"abc","endContent":"abc","txns":[{"patches":[[9,0,"Y"]]}]}"#,
    )
    .unwrap();
    let output = bench_trace(&[bad_patch.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("position 9"), "{stderr}");
}

/// Creates a directory for this test under Cargo's scratch space for
/// integration tests, which `cargo clean` removes.
fn tempdir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "traces-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
