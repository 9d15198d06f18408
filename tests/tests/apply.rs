//! `concur apply`, `concur merge` and `concur rules` run as a user runs
//! them, on scratch copies of small crates.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use concur_e2e::{concur_bin, scratch_dir};

const BEFORE: &str = "\
use std::mem;

struct P {
    x: i32,
}

fn check(v: &Vec<i32>) -> bool {
    return v.len() == 0;
}

fn read(r: &Result<i32, String>) -> Result<i32, String> {
    let value = try!(*r);
    Ok(value)
}

fn make(x: i32) -> P {
    return P { x: x };
}

fn take(s: &mut String) -> String {
    mem::replace(s, String::new())
}
";

const AFTER: &str = "\
use std::mem;

struct P {
    x: i32,
}

fn check(v: &Vec<i32>) -> bool {
    v.is_empty()
}

fn read(r: &Result<i32, String>) -> Result<i32, String> {
    let value = (*r)?;
    Ok(value)
}

fn make(x: i32) -> P {
    P { x }
}

fn take(s: &mut String) -> String {
    mem::take(s)
}
";

fn concur(dir: &Path, args: &[&str]) -> Output {
    Command::new(concur_bin())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("concur binary runs")
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn project(test: &str) -> std::path::PathBuf {
    let dir = scratch_dir(test);
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::write(dir.join("src/lib.rs"), BEFORE).unwrap();
    dir
}

#[test]
fn diff_is_the_default() {
    let dir = project("apply-diff");
    let output = concur(&dir, &["apply", "src"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let diff = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(
        diff.starts_with("--- a/src/lib.rs\n+++ b/src/lib.rs\n"),
        "{diff}"
    );
    assert!(
        diff.contains("-    let value = try!(*r);\n+    let value = (*r)?;\n"),
        "{diff}"
    );
    assert!(!diff.contains('\x1b'), "no colours when stdout is a pipe");
    assert_eq!(fs::read_to_string(dir.join("src/lib.rs")).unwrap(), BEFORE);
    let summary = stderr_of(&output);
    assert!(
        summary.starts_with("1 file, 1 changed, 15 rules, "),
        "{summary}"
    );
}

#[test]
fn write_applies_nested_rules_once() {
    let dir = project("apply-write");
    let path = dir.join("src/lib.rs");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let output = concur(&dir, &["apply", "--write"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert!(output.stdout.is_empty());
    assert_eq!(fs::read_to_string(&path).unwrap(), AFTER);
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let leftovers: Vec<_> = fs::read_dir(dir.join("src")).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary files stay behind");

    // A second run finds nothing left to do.
    let again = concur(&dir, &["apply", "--check"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr_of(&again));
}

/// Runs `concur` with `args` in `dir` with its output on a pseudo-terminal,
/// made by util-linux `script`, and `NO_COLOR` set to `no_color` or unset.
/// Returns the terminal's output, stdout and stderr together.
fn on_terminal(dir: &Path, args: &str, no_color: Option<&str>) -> String {
    let command = format!("'{}' {args}", concur_bin().display());
    let mut script = Command::new("script");
    script
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .current_dir(dir);
    match no_color {
        Some(value) => script.env("NO_COLOR", value),
        None => script.env_remove("NO_COLOR"),
    };
    let output = script.output().expect("util-linux `script` runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn diff_colour_follows_no_color_and_flag() {
    let dir = project("apply-colour");
    let cases = [
        ("apply src", None, true),
        ("apply src", Some(""), true),
        ("apply src", Some("1"), false),
        ("apply --color always src", Some("1"), true),
        ("apply --color never src", None, false),
        ("apply --color auto src", Some("yes"), false),
    ];
    for (args, no_color, coloured) in cases {
        let screen = on_terminal(&dir, args, no_color);
        assert!(screen.contains("+    let value = (*r)?;"), "{screen}");
        assert_eq!(
            screen.contains("\x1b["),
            coloured,
            "{args} with NO_COLOR {no_color:?}: {screen:?}"
        );
    }
    let piped = concur(&dir, &["apply", "--color", "always", "src"]);
    let diff = String::from_utf8(piped.stdout.clone()).unwrap();
    assert!(
        diff.contains("\x1b[32m+    let value = (*r)?;\x1b[0m"),
        "{diff:?}"
    );
}

#[test]
fn check_exits_1_on_changes() {
    let dir = project("apply-check");
    let output = concur(&dir, &["apply", "--check", "src"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    assert_eq!(fs::read_to_string(dir.join("src/lib.rs")).unwrap(), BEFORE);
    let listing = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(
        listing.starts_with("src/lib.rs: would change ("),
        "{listing}"
    );
    assert!(listing.contains("try-macro"), "{listing}");
}

#[test]
fn only_and_skip_select_rules() {
    let dir = project("apply-only");
    let output = concur(&dir, &["apply", "--only", "try-macro", "src"]);
    let diff = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(diff.contains("(*r)?"), "{diff}");
    assert!(!diff.contains("is_empty"), "{diff}");

    let output = concur(&dir, &["apply", "--skip", "try-macro,len-zero", "src"]);
    let diff = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(!diff.contains("(*r)?"), "{diff}");
    assert!(!diff.contains("is_empty"), "{diff}");
    assert!(diff.contains("mem::take(s)"), "{diff}");

    let unknown = concur(&dir, &["apply", "--only", "no-such-rule", "src"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr_of(&unknown).contains("\"no-such-rule\""),
        "{}",
        stderr_of(&unknown)
    );
}

#[test]
fn summary_singular_for_one() {
    let dir = project("apply-singular");
    let output = concur(&dir, &["apply", "--only", "try-macro", "src"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let summary = stderr_of(&output);
    assert!(
        summary
            .starts_with("1 file, 1 changed, 1 rule, 1 applied, 0 conflicts, 0 dropped, 1 round, "),
        "{summary}"
    );

    let base = "fn a() -> i32 {\n    1\n}\n";
    fs::write(dir.join("base.rs"), base).unwrap();
    fs::write(dir.join("one.rs"), base.replace('1', "2")).unwrap();
    let merged = concur(&dir, &["merge", "base.rs", "one.rs"]);
    assert_eq!(merged.status.code(), Some(0), "{}", stderr_of(&merged));
    let summary = stderr_of(&merged);
    assert!(
        summary.contains("1 proposal, 1 hunk applied, 0 deduplicated, 0 dropped"),
        "{summary}"
    );
}

const CONFIRM_BEFORE: &str = "\
fn port(value: Option<u16>, name: &str) -> u16 {
    value.expect(&format!(\"{name} has no port\"))
}

fn check(v: &Vec<i32>) -> bool {
    return v.len() == 0;
}
";

const CONFIRM_AFTER: &str = "\
fn port(value: Option<u16>, name: &str) -> u16 {
    value.unwrap_or_else(|| panic!(\"{name} has no port\"))
}

fn check(v: &Vec<i32>) -> bool {
    v.is_empty()
}
";

#[test]
fn confirm_rule_held_back_on_write() {
    let dir = scratch_dir("apply-confirm");
    let path = dir.join("a.rs");
    let without_confirm =
        CONFIRM_BEFORE.replace("    return v.len() == 0;\n", "    v.is_empty()\n");

    // The diff shows the change, and stderr explains how to write it.
    fs::write(&path, CONFIRM_BEFORE).unwrap();
    let diff = concur(&dir, &["apply", "a.rs"]);
    assert_eq!(diff.status.code(), Some(0), "{}", stderr_of(&diff));
    let shown = String::from_utf8(diff.stdout.clone()).unwrap();
    assert!(
        shown.contains("+    value.unwrap_or_else(|| panic!("),
        "{shown}"
    );
    let note = stderr_of(&diff);
    assert!(note.contains("marked confirm: expect-fun-call"), "{note}");
    assert!(note.contains("--yes"), "{note}");

    // --write leaves the confirm rule's change out and reports it.
    let write = concur(&dir, &["apply", "--write", "a.rs"]);
    assert_eq!(write.status.code(), Some(0), "{}", stderr_of(&write));
    assert_eq!(fs::read_to_string(&path).unwrap(), without_confirm);
    let stderr = stderr_of(&write);
    assert!(
        stderr.contains(
            "held back: changes of rules marked confirm were not written: expect-fun-call."
        ),
        "{stderr}"
    );
    assert!(stderr.contains("--only expect-fun-call"), "{stderr}");

    // --check does not count it either, unless --yes is given.
    let check = concur(&dir, &["apply", "--check", "a.rs"]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr_of(&check));
    assert!(
        stderr_of(&check).contains("were not counted"),
        "{}",
        stderr_of(&check)
    );
    let check_yes = concur(&dir, &["apply", "--check", "--yes", "a.rs"]);
    assert_eq!(
        check_yes.status.code(),
        Some(1),
        "{}",
        stderr_of(&check_yes)
    );

    // --yes writes it.
    fs::write(&path, CONFIRM_BEFORE).unwrap();
    let yes = concur(&dir, &["apply", "--write", "--yes", "a.rs"]);
    assert_eq!(yes.status.code(), Some(0), "{}", stderr_of(&yes));
    assert_eq!(fs::read_to_string(&path).unwrap(), CONFIRM_AFTER);
    assert!(
        !stderr_of(&yes).contains("held back"),
        "{}",
        stderr_of(&yes)
    );

    // So does naming the rule in --only, which runs only that rule.
    fs::write(&path, CONFIRM_BEFORE).unwrap();
    let only = concur(
        &dir,
        &["apply", "--write", "--only", "expect-fun-call", "a.rs"],
    );
    assert_eq!(only.status.code(), Some(0), "{}", stderr_of(&only));
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        CONFIRM_BEFORE.replace(
            "value.expect(&format!(\"{name} has no port\"))",
            "value.unwrap_or_else(|| panic!(\"{name} has no port\"))"
        )
    );

    // --json lists the held rules.
    fs::write(&path, CONFIRM_BEFORE).unwrap();
    let json = concur(&dir, &["apply", "--write", "--json", "a.rs"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["held_back"], serde_json::json!(["expect-fun-call"]));
    assert_eq!(fs::read_to_string(&path).unwrap(), without_confirm);
}

#[test]
fn user_confirm_rule_held_back() {
    let dir = project("apply-user-confirm");
    fs::write(
        dir.join("concur.toml"),
        "[config]\nbuiltin = false\n\n[[rule]]\nid = \"rename-check\"\nlanguage = \"rust\"\nmessage = \"rename check\"\nconfirm = true\nquery = '((identifier) @match (#eq? @match \"check\"))'\nreplace = \"is_blank\"\n",
    )
    .unwrap();
    let output = concur(&dir, &["apply", "--write", "src"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_eq!(fs::read_to_string(dir.join("src/lib.rs")).unwrap(), BEFORE);
    assert!(
        stderr_of(&output).contains("were not written: rename-check."),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn invalid_rules_file_exits_2() {
    let dir = project("apply-bad-rules");
    fs::write(
        dir.join("rules.toml"),
        "[[rule]]\nid = \"broken\"\nlanguage = \"rust\"\nmessage = \"m\"\nquery = \"(call_expression @match\"\nreplace = \"x\"\n",
    )
    .unwrap();
    let output = concur(&dir, &["apply", "--rules", "rules.toml", "src"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("rules.toml"), "{stderr}");
    assert!(stderr.contains("broken"), "{stderr}");
    assert_eq!(fs::read_to_string(dir.join("src/lib.rs")).unwrap(), BEFORE);
}

#[test]
fn user_rule_from_concur_toml_runs() {
    let dir = project("apply-config");
    fs::write(
        dir.join("concur.toml"),
        "[config]\nbuiltin = false\n\n[[rule]]\nid = \"rename-check\"\nlanguage = \"rust\"\nmessage = \"rename check\"\nquery = '((identifier) @match (#eq? @match \"check\"))'\nreplace = \"is_blank\"\n",
    )
    .unwrap();
    let output = concur(&dir, &["apply", "src"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let diff = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(
        diff.contains("+fn is_blank(v: &Vec<i32>) -> bool {"),
        "{diff}"
    );
    assert!(!diff.contains("(*r)?"), "built-in rules are off: {diff}");
}

#[test]
fn user_rule_with_builtin_id_exits_2() {
    let rule = "[[rule]]\nid = \"len-zero\"\nlanguage = \"rust\"\nmessage = \"mine\"\nquery = '((identifier) @match (#eq? @match \"check\"))'\nreplace = \"is_blank\"\n";
    let dir = project("apply-builtin-id");
    fs::write(dir.join("rules.toml"), rule).unwrap();
    let from_flag = concur(&dir, &["apply", "--rules", "rules.toml", "src"]);
    fs::write(dir.join("concur.toml"), rule).unwrap();
    let from_config = concur(&dir, &["apply", "--write", "src"]);
    let listing = concur(&dir, &["rules"]);
    for (output, file) in [
        (&from_flag, "rules.toml:1: "),
        (&from_config, "concur.toml:1: "),
        (&listing, "concur.toml:1: "),
    ] {
        assert_eq!(output.status.code(), Some(2), "{}", stderr_of(output));
        let stderr = stderr_of(output);
        assert!(stderr.contains(file), "{stderr}");
        assert!(stderr.contains("\"len-zero\""), "{stderr}");
        assert!(stderr.contains("another id"), "{stderr}");
        assert!(stderr.contains("disable = [\"len-zero\"]"), "{stderr}");
        assert!(output.stdout.is_empty(), "{}", stderr_of(output));
    }
    assert_eq!(fs::read_to_string(dir.join("src/lib.rs")).unwrap(), BEFORE);
}

#[test]
fn binary_file_skipped_with_warning() {
    let dir = project("apply-binary");
    fs::write(dir.join("src/blob.rs"), b"fn a() {}\0\0").unwrap();
    let output = concur(&dir, &["apply", "--write", "src"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("blob.rs: skipped"),
        "{}",
        stderr_of(&output)
    );
    assert_eq!(fs::read(dir.join("src/blob.rs")).unwrap(), b"fn a() {}\0\0");
    assert_eq!(fs::read_to_string(dir.join("src/lib.rs")).unwrap(), AFTER);
}

#[test]
fn read_only_file_leaves_all_unchanged() {
    let dir = project("apply-read-only");
    fs::write(
        dir.join("src/other.rs"),
        "fn f(b: bool) -> bool { b == true }\n",
    )
    .unwrap();
    fs::set_permissions(dir.join("src/other.rs"), fs::Permissions::from_mode(0o444)).unwrap();
    let output = concur(&dir, &["apply", "--write", "src"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("other.rs"), "{stderr}");
    assert!(stderr.contains("read-only"), "{stderr}");
    assert_eq!(fs::read_to_string(dir.join("src/lib.rs")).unwrap(), BEFORE);
    assert_eq!(
        fs::read_to_string(dir.join("src/other.rs")).unwrap(),
        "fn f(b: bool) -> bool { b == true }\n"
    );
}

#[test]
fn missing_path_exits_2() {
    let dir = project("apply-missing");
    let output = concur(&dir, &["apply", "no/such/dir"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("no/such/dir"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn json_reports_rounds() {
    let dir = project("apply-json");
    let output = concur(&dir, &["apply", "--json", "src"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["summary"]["changed_files"], 1);
    assert!(report["summary"]["applied"].as_u64().unwrap() >= 5);
    assert_eq!(report["files"][0]["path"], "src/lib.rs");
    assert!(
        report["files"][0]["rounds"][0]["groups"]
            .as_array()
            .unwrap()
            .len()
            >= 5
    );
}

/// Returns the keys of a JSON object, sorted.
fn keys(value: &serde_json::Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[test]
fn json_shape_and_units() {
    let dir = scratch_dir("apply-json-shape");
    // Multi-byte text before the matches makes byte and char offsets differ.
    let source = format!("// héllo wörld\n{BEFORE}");
    fs::write(dir.join("a.rs"), &source).unwrap();
    let output = concur(&dir, &["apply", "--json", "a.rs"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();

    assert_eq!(
        keys(&report),
        ["elapsed_ms", "files", "held_back", "summary"]
    );
    assert_eq!(report["held_back"], serde_json::json!([]));
    assert!(report["elapsed_ms"].as_f64().unwrap() > 0.0);
    let summary = &report["summary"];
    assert_eq!(
        keys(summary),
        [
            "applied",
            "changed_files",
            "conflicts",
            "dropped",
            "failed_workers",
            "files",
            "rounds",
            "workers"
        ]
    );
    for key in keys(summary) {
        assert!(summary[key].is_u64(), "{key}: {}", summary[key]);
    }

    let file = &report["files"][0];
    assert_eq!(keys(file), ["changed", "path", "rounds"]);
    assert_eq!(file["path"], "a.rs");
    assert_eq!(file["changed"], true);
    let round = &file["rounds"][0];
    assert_eq!(keys(round), ["groups", "new_syntax_errors", "workers"]);
    assert_eq!(round["new_syntax_errors"], serde_json::json!([]));

    for worker in round["workers"].as_array().unwrap() {
        assert_eq!(keys(worker), ["elapsed_ms", "error", "label", "worker"]);
        assert!(worker["elapsed_ms"].as_f64().unwrap() >= 0.0, "{worker}");
        assert!(worker["worker"].is_u64(), "{worker}");
        assert!(worker["error"].is_null(), "{worker}");
    }
    let groups = round["groups"].as_array().unwrap();
    for group in groups {
        assert_eq!(
            keys(group),
            ["group", "label", "outcome", "priority", "span"]
        );
        assert_eq!(keys(&group["group"]), ["group", "worker"]);
        assert_eq!(keys(&group["span"]), ["end", "start"]);
        assert!(group["outcome"]["kind"].is_string(), "{group}");
        let worker = &round["workers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|worker| worker["label"] == group["label"])
            .unwrap_or_else(|| panic!("no worker report for {group}"));
        assert_eq!(worker["worker"], group["group"]["worker"]);
    }

    // Spans of the first round are byte offsets into the file as read.
    let try_macro = groups
        .iter()
        .find(|group| group["label"] == "try-macro")
        .expect("try-macro matched");
    let start = try_macro["span"]["start"].as_u64().unwrap() as usize;
    let end = try_macro["span"]["end"].as_u64().unwrap() as usize;
    assert_eq!(&source.as_bytes()[start..end], b"try!(*r)");
    assert_eq!(try_macro["outcome"], serde_json::json!({"kind": "applied"}));
}

#[test]
fn merge_three_proposals() {
    let dir = scratch_dir("merge-three");
    let base =
        "fn a() -> i32 {\n    1\n}\n\nfn b() -> i32 {\n    2\n}\n\nfn c() -> i32 {\n    3\n}\n";
    fs::write(dir.join("base.rs"), base).unwrap();
    fs::write(dir.join("one.rs"), base.replace("    1\n", "    10\n")).unwrap();
    fs::write(dir.join("two.rs"), base.replace("    2\n", "    20\n")).unwrap();
    fs::write(
        dir.join("three.rs"),
        base.replace("    3\n", "    30\n")
            .replace("    1\n", "    100\n"),
    )
    .unwrap();

    let output = concur(&dir, &["merge", "base.rs", "one.rs", "two.rs", "three.rs"]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "the conflicting hunk is dropped"
    );
    let merged = String::from_utf8(output.stdout.clone()).unwrap();
    assert_eq!(
        merged,
        base.replace("    1\n", "    10\n")
            .replace("    2\n", "    20\n")
            .replace("    3\n", "    30\n")
    );
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("dropped: three.rs line 2 of base.rs"),
        "{stderr}"
    );
    assert!(
        stderr.contains("3 proposals, 3 hunks applied, 0 deduplicated, 1 dropped"),
        "{stderr}"
    );
    assert!(stderr.contains("one.rs"), "{stderr}");

    let clean = concur(
        &dir,
        &["merge", "base.rs", "one.rs", "two.rs", "-o", "out.rs"],
    );
    assert_eq!(clean.status.code(), Some(0), "{}", stderr_of(&clean));
    assert_eq!(
        fs::read_to_string(dir.join("out.rs")).unwrap(),
        base.replace("    1\n", "    10\n")
            .replace("    2\n", "    20\n")
    );
}

#[test]
fn rules_lists_and_explains() {
    let dir = scratch_dir("rules-list");
    let output = concur(&dir, &["rules"]);
    assert_eq!(output.status.code(), Some(0));
    let listing = String::from_utf8(output.stdout.clone()).unwrap();
    for id in ["try-macro", "len-zero", "expect-fun-call", "mem-take"] {
        assert!(listing.contains(id), "{listing}");
    }
    assert!(listing.contains(" CONFIRM "), "{listing}");
    let confirm_rules: Vec<&str> = listing
        .lines()
        .filter(|line| line.contains(" built-in  yes "))
        .collect();
    assert_eq!(confirm_rules.len(), 1, "{listing}");
    assert!(
        confirm_rules[0].starts_with("expect-fun-call "),
        "{listing}"
    );
    let explain = concur(&dir, &["rules", "--explain", "try-macro"]);
    assert_eq!(explain.status.code(), Some(0));
    assert!(String::from_utf8(explain.stdout).unwrap().contains("try!"));
    let unknown = concur(&dir, &["rules", "--explain", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn readme_rule_example_works() {
    let readme = std::fs::read_to_string(concur_e2e::workspace_root().join("README.md")).unwrap();
    let start = readme
        .find("```toml\n[[rule]]\nid = \"unwrap-to-question-mark\"")
        .expect("the README shows the unwrap-to-question-mark rule");
    let body_start = start + "```toml\n".len();
    let end = body_start + readme[body_start..].find("```\n").unwrap();
    let dir = scratch_dir("readme-rule");
    fs::write(dir.join("rules.toml"), &readme[body_start..end]).unwrap();
    fs::write(
        dir.join("a.rs"),
        "fn f() -> Result<i32, E> {\n    let x = foo().unwrap();\n    let y = (a + b).unwrap();\n    Ok(x + y)\n}\n",
    )
    .unwrap();
    let output = concur(
        &dir,
        &[
            "apply",
            "--write",
            "--rules",
            "rules.toml",
            "--only",
            "unwrap-to-question-mark",
            "a.rs",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_eq!(
        fs::read_to_string(dir.join("a.rs")).unwrap(),
        "fn f() -> Result<i32, E> {\n    let x = foo()?;\n    let y = (a + b)?;\n    Ok(x + y)\n}\n"
    );
}

#[test]
fn bundled_example_applies() {
    let root = concur_e2e::workspace_root();
    let output = concur(&root, &["apply", "examples/overlap"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let diff = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(diff.contains("+    values.is_empty()\n"), "{diff}");
    assert!(diff.contains("+    Point { x, y }\n"), "{diff}");
    assert!(diff.contains("+    let value = (*result)?;\n"), "{diff}");
    assert!(
        stderr_of(&output).contains("10 applied, 0 conflicts"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn rewrites_keep_comments_and_is_empty() {
    let dir = scratch_dir("apply-comments");
    let source = "\
struct S(Vec<u8>);
impl S {
    pub fn len(&self) -> usize { self.0.len() }
    pub fn is_empty(&self) -> bool { self.len() == 0 }
    pub fn none(&self) -> bool { self.len() == 0 }
}
fn f(a: bool, v: Vec<u8>) -> bool {
    let _ = v.iter().filter(|x| **x > 0) /* why */ .next();
    let _ = v.len() /* why */ == 0;
    a == /* why */ false
}
";
    fs::write(dir.join("a.rs"), source).unwrap();
    let output = concur(&dir, &["apply", "--write", "a.rs"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let result = fs::read_to_string(dir.join("a.rs")).unwrap();
    assert!(
        result.contains("pub fn is_empty(&self) -> bool { self.len() == 0 }"),
        "{result}"
    );
    assert!(
        result.contains("pub fn none(&self) -> bool { self.is_empty() }"),
        "{result}"
    );
    assert_eq!(result.matches("/* why */").count(), 3, "{result}");
}

#[test]
fn zero_jobs_and_rounds_rejected() {
    let dir = project("apply-zero");
    for flag in ["--jobs", "--rounds"] {
        let output = concur(&dir, &["apply", flag, "0", "src"]);
        assert_eq!(output.status.code(), Some(2), "{flag}");
        assert!(stderr_of(&output).contains(flag), "{}", stderr_of(&output));
    }
}

#[test]
fn crlf_diff_keeps_carriage_returns() {
    let dir = scratch_dir("apply-crlf");
    fs::write(
        dir.join("a.rs"),
        "fn f(v: Vec<u8>) -> bool {\r\n    v.len() == 0\r\n}\r\n",
    )
    .unwrap();
    let output = concur(&dir, &["apply", "a.rs"]);
    let diff = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(
        diff.contains("-    v.len() == 0\r\n+    v.is_empty()\r\n"),
        "{diff:?}"
    );
}

#[test]
fn each_file_follows_its_nearest_config() {
    let dir = scratch_dir("apply-nearest-config");
    fs::create_dir_all(dir.join("quiet/deep")).unwrap();
    fs::create_dir_all(dir.join("loud")).unwrap();
    fs::write(
        dir.join("quiet/concur.toml"),
        "[config]\ndisable = [\"len-zero\"]\n",
    )
    .unwrap();
    let source = "fn f(v: Vec<u8>) -> bool {\n    v.len() == 0\n}\n";
    fs::write(dir.join("quiet/deep/a.rs"), source).unwrap();
    fs::write(dir.join("loud/b.rs"), source).unwrap();
    for order in [["quiet/deep", "loud"], ["loud", "quiet/deep"]] {
        let output = concur(&dir, &["apply", order[0], order[1]]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
        let diff = String::from_utf8(output.stdout.clone()).unwrap();
        assert!(diff.contains("+++ b/loud/b.rs"), "{order:?}: {diff}");
        assert!(!diff.contains("quiet/deep/a.rs"), "{order:?}: {diff}");
    }
}
