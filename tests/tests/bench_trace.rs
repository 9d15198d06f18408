//! `concur bench-trace` run as a user runs it: one JSON line on success,
//! exit 1 with the first differing offset on a mismatch, exit 2 with the
//! offending path or value on input it cannot use.

use std::process::{Command, Output};

use concur_e2e::{concur_bin, scratch_dir, shared_trace, workspace_root};

fn bench_trace(args: &[&str]) -> Output {
    Command::new(concur_bin())
        .arg("bench-trace")
        .args(args)
        .output()
        .expect("concur binary runs")
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn prints_one_json_line() {
    let path = shared_trace("sequential-sveltecomponent");
    for (extra, mode) in [(None, "document"), (Some("--bare"), "bare")] {
        let mut args = vec![path.to_str().unwrap()];
        args.extend(extra);
        let output = bench_trace(&args);
        assert!(output.status.success(), "{}", stderr_of(&output));
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(report["trace"], "sequential-sveltecomponent");
        assert_eq!(report["mode"], mode);
        assert_eq!(report["transactions"], 18335);
        assert_eq!(report["final_length"], 18451);
        assert!(report["elapsed_ms"].as_f64().unwrap() > 0.0);
        assert!(report["transactions_per_second"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn bundled_example_converges() {
    let example = workspace_root().join("examples/traces/concurrent-friendsforever.json.gz");
    let output = bench_trace(&[example.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["concurrent"], true);
    assert_eq!(report["final_length"], 21362);
}

#[test]
fn mismatch_exits_1() {
    let dir = scratch_dir("mismatch");
    let path = dir.join("wrong-end.json");
    std::fs::write(
        &path,
        r#"{"startContent":"日本","endContent":"日本abXc","txns":[{"patches":[[2,0,"abYc"]]}]}"#,
    )
    .unwrap();
    let output = bench_trace(&[path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("first difference at char 4"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn unreadable_trace_exits_2() {
    let dir = scratch_dir("unreadable");
    let missing = dir.join("missing.json.gz");
    let output = bench_trace(&[missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("missing.json.gz"));

    let garbage = dir.join("garbage.json.gz");
    std::fs::write(&garbage, b"not gzip").unwrap();
    let output = bench_trace(&[garbage.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("garbage.json.gz"));
}

#[test]
fn patch_past_end_exits_2() {
    let dir = scratch_dir("patch-past-end");
    let bad_patch = dir.join("bad-patch.json");
    std::fs::write(
        &bad_patch,
        r#"{"startContent":"abc","endContent":"abc","txns":[{"patches":[[9,0,"Y"]]}]}"#,
    )
    .unwrap();
    for extra in [None, Some("--bare")] {
        let mut args = vec![bad_patch.to_str().unwrap()];
        args.extend(extra);
        let output = bench_trace(&args);
        assert_eq!(output.status.code(), Some(2));
        let stderr = stderr_of(&output);
        assert!(stderr.contains("position 9"), "{stderr}");
        assert!(stderr.contains("3 chars"), "{stderr}");
    }
}
