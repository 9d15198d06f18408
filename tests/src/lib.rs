//! Helpers for the end-to-end tests: building the real `concur` binary once
//! and locating the shared test data.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Builds the `concur` binary with the cargo running these tests (once per
/// test process) and returns its path, taken from cargo's own build report.
pub fn concur_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(cargo)
            .args(["build", "--quiet", "-p", "concur", "--bin", "concur"])
            .args(["--message-format", "json"])
            .current_dir(workspace_root())
            .output()
            .expect("failed to run cargo build for the concur binary");
        assert!(
            output.status.success(),
            "cargo build of concur failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|message| message["target"]["name"] == "concur")
            .find_map(|message| message["executable"].as_str().map(PathBuf::from))
            .expect("cargo build reported no concur executable")
    })
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits inside the workspace")
        .to_owned()
}

/// Path of a trace in the shared data beside the repository; fails with
/// the path when the data is missing.
pub fn shared_trace(name: &str) -> PathBuf {
    let path = workspace_root()
        .join("../shared/data/editing-traces")
        .join(format!("{name}.json.gz"));
    assert!(
        path.is_file(),
        "missing trace {}; the shared data must sit beside the repository",
        path.display()
    );
    path
}

/// Creates an empty scratch directory for one test under the target dir.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = workspace_root()
        .join("target/e2e-scratch")
        .join(format!("{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir under target/ is writable");
    dir
}
