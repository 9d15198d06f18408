//! `concur apply --write` on real crates from the local cargo registry (the
//! project's own dependencies, present on any machine that built it):
//! every file that parsed cleanly before still parses cleanly after, and no
//! file gains syntax errors.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use concur::syntax::{error_ranges, Language};
use concur_e2e::{concur_bin, scratch_dir};

/// Crates of the lockfile with plenty of Rust to rewrite.
const CRATES: &[&str] = &[
    "ropey",
    "smallvec",
    "dashmap",
    "similar",
    "tower-lsp-server",
];

fn registry_src() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cargo")
        });
    let registry = home.join("registry/src");
    let index = fs::read_dir(&registry)
        .unwrap_or_else(|error| {
            panic!(
                "no cargo registry sources at {}: {error}",
                registry.display()
            )
        })
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.is_dir())
        .expect("one registry index directory");
    index
}

fn find_crate(registry: &Path, name: &str) -> PathBuf {
    let prefix = format!("{name}-");
    fs::read_dir(registry)
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|file| file.to_str())
                .is_some_and(|file| {
                    file.starts_with(&prefix)
                        && file[prefix.len()..].starts_with(|c: char| c.is_ascii_digit())
                })
        })
        .max()
        .unwrap_or_else(|| {
            panic!(
                "crate {name} is not in {}; build the workspace first",
                registry.display()
            )
        })
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else if kind.is_file() {
            fs::copy(entry.path(), &target).unwrap();
            let mut permissions = fs::metadata(&target).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            permissions.set_readonly(false);
            fs::set_permissions(&target, permissions).unwrap();
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

fn error_count(text: &str) -> usize {
    error_ranges(&Language::Rust.parse_str(text).unwrap()).len()
}

#[test]
fn write_keeps_registry_crates_parsing() {
    let registry = registry_src();
    let root = scratch_dir("registry-crates");
    for name in CRATES {
        copy_tree(&find_crate(&registry, name), &root.join(name));
    }
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let before: Vec<(PathBuf, String)> = files
        .iter()
        .map(|path| (path.clone(), fs::read_to_string(path).unwrap()))
        .collect();

    let output = Command::new(concur_bin())
        .args(["apply", "--write", "--json"])
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let changed = report["summary"]["changed_files"].as_u64().unwrap();
    assert!(changed > 0, "the built-in rules find work in real crates");

    let mut rewritten = 0;
    for (path, old) in &before {
        let new = fs::read_to_string(path).unwrap();
        if &new == old {
            continue;
        }
        rewritten += 1;
        assert!(
            error_count(&new) <= error_count(old),
            "{} gained syntax errors",
            path.display()
        );
        if error_count(old) == 0 {
            assert_eq!(error_count(&new), 0, "{} no longer parses", path.display());
        }
    }
    assert_eq!(rewritten as u64, changed);
}
