//! Every built-in rule, run on real Rust sources (this workspace and crates
//! from the local cargo registry), proposes only groups that keep the file
//! parseable: one round of a rule's non-overlapping groups adds no ERROR or
//! MISSING node outside the regions that had one before.

use std::ops::Range;
use std::path::{Path, PathBuf};

use concur::merge::Group;
use concur::rules::RuleSet;
use concur::syntax::{error_ranges, touches_any, Language};
use ropey::Rope;

/// Lists the registry packages of this workspace's `Cargo.lock`, as
/// `name-version` directory names. A build fetches them, so every machine
/// that built the project has their sources.
fn locked_registry_packages() -> Vec<String> {
    let lock_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path)
        .unwrap_or_else(|error| panic!("failed to read {}: {error}", lock_path.display()));
    let mut packages = Vec::new();
    for block in lock.split("[[package]]") {
        let field = |key: &str| {
            block.lines().find_map(|line| {
                line.strip_prefix(key)
                    .and_then(|rest| rest.strip_prefix(" = \""))
                    .and_then(|rest| rest.strip_suffix('"'))
            })
        };
        let from_registry = field("source").is_some_and(|source| source.starts_with("registry+"));
        if let (Some(name), Some(version), true) = (field("name"), field("version"), from_registry)
        {
            packages.push(format!("{name}-{version}"));
        }
    }
    packages
}

fn rust_files_under(root: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && name != ".git" {
                rust_files_under(&path, out);
            }
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .expect("CARGO_HOME or HOME is set")
}

fn corpus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    rust_files_under(&workspace, &mut files);

    let registry = cargo_home().join("registry").join("src");
    let packages = locked_registry_packages();
    let mut found = 0;
    for index in std::fs::read_dir(&registry)
        .unwrap_or_else(|error| panic!("failed to read {}: {error}", registry.display()))
        .flatten()
    {
        for package in &packages {
            let dir = index.path().join(package);
            if dir.is_dir() {
                found += 1;
                rust_files_under(&dir, &mut files);
            }
        }
    }
    // Packages for other platforms (windows-sys and the like) are not
    // downloaded by a Linux build; everything else must be there.
    assert!(
        found * 10 >= packages.len() * 9,
        "found only {found} of the {} locked packages in {}; run `cargo fetch` first",
        packages.len(),
        registry.display()
    );
    files.sort();
    files
}

/// Selects the groups of one round: outermost first, skipping any group
/// that overlaps one already accepted.
fn one_round(mut groups: Vec<Group>) -> Vec<Group> {
    groups.sort_by_key(|group| (group.span().start, std::cmp::Reverse(group.span().end)));
    let mut accepted: Vec<Group> = Vec::new();
    for group in groups {
        let span = group.span();
        if !accepted.iter().any(|other| {
            let other = other.span();
            span.start < other.end && other.start < span.end
        }) {
            accepted.push(group);
        }
    }
    accepted
}

/// Maps byte `offset` of the base text through the sorted, disjoint
/// `groups`. An offset inside a replaced range maps to the start of its
/// replacement, or to its end when `end` is set.
fn map_offset(groups: &[Group], offset: usize, end: bool) -> usize {
    let mut shift: isize = 0;
    for hunk in groups.iter().flat_map(Group::hunks) {
        if hunk.range.end <= offset && !(hunk.range.end == offset && hunk.range.is_empty()) {
            shift += hunk.text.len() as isize - hunk.range.len() as isize;
        } else if hunk.range.start <= offset {
            let start = (hunk.range.start as isize + shift) as usize;
            return if end { start + hunk.text.len() } else { start };
        } else {
            break;
        }
    }
    (offset as isize + shift) as usize
}

fn apply(text: &str, groups: &[Group]) -> String {
    let mut out = text.to_owned();
    for hunk in groups
        .iter()
        .flat_map(Group::hunks)
        .collect::<Vec<_>>()
        .iter()
        .rev()
    {
        out.replace_range(hunk.range.clone(), &hunk.text);
    }
    out
}

#[test]
fn builtin_rules_keep_real_files_parseable() {
    let rules = RuleSet::builtin();
    let matcher = rules.matcher(Language::Rust).unwrap();
    let files = corpus();
    assert!(files.len() > 100, "only {} files found", files.len());

    let mut applied_per_rule = vec![0usize; rules.rules().len()];
    let mut failures = Vec::new();
    for path in &files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let rope = Rope::from_str(&text);
        let tree = Language::Rust.parse_rope(&rope, None).unwrap();
        let base_errors = error_ranges(&tree);
        for (index, matches) in matcher.find(&tree, &rope, None).iter().enumerate() {
            if matches.is_empty() {
                continue;
            }
            let groups: Vec<Group> = matches
                .iter()
                .map(|found| matcher.render(index, found, &rope).unwrap())
                .collect();
            let round = one_round(groups);
            for group in &round {
                group.check_against(&text).unwrap();
            }
            applied_per_rule[index] += round.len();
            let result = apply(&text, &round);
            let result_tree = Language::Rust.parse_str(&result).unwrap();
            let mapped: Vec<Range<usize>> = base_errors
                .iter()
                .map(|range| {
                    map_offset(&round, range.start, false)..map_offset(&round, range.end, true)
                })
                .collect();
            let new_errors: Vec<Range<usize>> = error_ranges(&result_tree)
                .into_iter()
                .filter(|range| !touches_any(&mapped, range))
                .collect();
            if let Some(range) = new_errors.first() {
                let context =
                    &result[range.start.saturating_sub(80)..(range.end + 80).min(result.len())];
                failures.push(format!(
                    "{} in {} added an error at {range:?}:\n{context}",
                    rules.rules()[index].id,
                    path.display()
                ));
            }
        }
    }
    let total: usize = applied_per_rule.iter().sum();
    eprintln!("checked {} files; groups applied per rule:", files.len());
    for (rule, count) in rules.rules().iter().zip(&applied_per_rule) {
        eprintln!("  {:<28} {count}", rule.id);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(total > 0, "no rule matched anywhere in the corpus");
}

#[test]
fn offsets_map_through_groups() {
    let groups = vec![
        Group::single(concur::merge::Hunk::new(2..4, "xyz")).unwrap(),
        Group::single(concur::merge::Hunk::new(10..10, "ab")).unwrap(),
    ];
    assert_eq!(map_offset(&groups, 1, false), 1);
    assert_eq!(map_offset(&groups, 3, false), 2);
    assert_eq!(map_offset(&groups, 3, true), 5);
    assert_eq!(map_offset(&groups, 6, false), 7);
    assert_eq!(map_offset(&groups, 12, false), 15);
    assert_eq!(apply("0123456789", &groups), "01xyz456789ab");
}
