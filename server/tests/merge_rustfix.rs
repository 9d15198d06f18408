//! The merge against rustc's own suggestions: cargo's rustfix fixtures,
//! where merging every suggestion must give the expected fixed file byte
//! for byte.
//!
//! Each diagnostic is one worker. Each child diagnostic whose spans carry a
//! `suggested_replacement` is one group (rustfix calls it a solution), with
//! one hunk per such span. rustfix applies every solution of a diagnostic
//! and skips one that overlaps a solution applied before it. The merge
//! does the same, because a lower group index wins a conflict within one
//! worker.

use std::fs;
use std::path::{Path, PathBuf};

use concur::merge::{merge, EditSet, Group, GroupOutcome, Hunk, MergeOptions, WorkerId};
use concur::syntax::Language;
use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/rustfix")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|error| {
        panic!(
            "cannot read rustfix fixture {}: {error}; the shared data folder must sit \
             beside the repository",
            path.display()
        )
    })
}

/// The fixture names (NAME of NAME.json), sorted.
fn fixture_names() -> Vec<String> {
    let dir = fixtures_dir();
    let entries = fs::read_dir(&dir).unwrap_or_else(|error| {
        panic!(
            "cannot list the rustfix fixtures in {}: {error}; the shared data folder must \
             sit beside the repository",
            dir.display()
        )
    });
    let mut names: Vec<String> = entries
        .map(|entry| entry.expect("readable directory entry").file_name())
        .filter_map(|name| name.to_str()?.strip_suffix(".json").map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// Builds one edit set per diagnostic that suggests a replacement.
fn edit_sets(json: &str) -> Vec<EditSet> {
    let mut sets = Vec::new();
    let stream = serde_json::Deserializer::from_str(json).into_iter::<Value>();
    for (index, diagnostic) in stream.enumerate() {
        let diagnostic = diagnostic.expect("each fixture holds a stream of JSON objects");
        let children = diagnostic["children"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let groups: Vec<Group> = children
            .iter()
            .filter_map(|child| {
                let hunks: Vec<Hunk> = child["spans"]
                    .as_array()?
                    .iter()
                    .filter_map(|span| {
                        let text = span["suggested_replacement"].as_str()?;
                        let start = span["byte_start"].as_u64()? as usize;
                        let end = span["byte_end"].as_u64()? as usize;
                        Some(Hunk::new(start..end, text))
                    })
                    .collect();
                if hunks.is_empty() {
                    None
                } else {
                    Some(Group::new(hunks).expect("rustc's spans of one suggestion are disjoint"))
                }
            })
            .collect();
        if !groups.is_empty() {
            sets.push(EditSet {
                worker: WorkerId(index as u32),
                priority: 0,
                label: diagnostic["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                groups,
            });
        }
    }
    sets
}

struct Fixture {
    name: String,
    source: String,
    fixed: String,
    sets: Vec<EditSet>,
}

fn fixtures() -> Vec<Fixture> {
    let dir = fixtures_dir();
    let names = fixture_names();
    assert!(
        names.len() >= 7,
        "expected the 7 rustfix fixtures in {}, found {names:?}",
        dir.display()
    );
    names
        .into_iter()
        .map(|name| Fixture {
            source: read(&dir.join(format!("{name}.rs"))),
            fixed: read(&dir.join(format!("{name}.fixed.rs"))),
            sets: edit_sets(&read(&dir.join(format!("{name}.json")))),
            name,
        })
        .collect()
}

#[test]
fn every_fixture_merges_to_its_fixed_file() {
    for options in [
        MergeOptions::default(),
        MergeOptions {
            language: Some(Language::Rust),
            ..MergeOptions::default()
        },
    ] {
        for fixture in fixtures() {
            assert!(!fixture.sets.is_empty(), "{}: no suggestions", fixture.name);
            let merged = merge(&fixture.source, &fixture.sets, &options)
                .unwrap_or_else(|error| panic!("{}: {error}", fixture.name));
            assert_eq!(
                merged.text, fixture.fixed,
                "{} with {options:?}",
                fixture.name
            );
            assert_eq!(
                merged.change.apply_to_str(&fixture.source).unwrap(),
                fixture.fixed,
                "{}: change and text disagree",
                fixture.name
            );
            assert_eq!(merged.report.conflicts(), 0, "{}", fixture.name);
            assert_eq!(merged.report.dropped(), 0, "{}", fixture.name);
        }
    }
}

#[test]
fn every_fixture_merges_in_reverse_order() {
    for fixture in fixtures() {
        let forward = merge(&fixture.source, &fixture.sets, &MergeOptions::default()).unwrap();
        let mut reversed = fixture.sets.clone();
        reversed.reverse();
        let backward = merge(&fixture.source, &reversed, &MergeOptions::default()).unwrap();
        assert_eq!(forward, backward, "{}", fixture.name);
    }
}

#[test]
fn dedup_suggestions_apply_once() {
    let fixture = fixtures()
        .into_iter()
        .find(|fixture| fixture.name == "dedup-suggestions")
        .expect("the dedup-suggestions fixture");
    assert_eq!(fixture.sets.len(), 2);
    let merged = merge(&fixture.source, &fixture.sets, &MergeOptions::default()).unwrap();
    assert_eq!(merged.report.applied(), 1);
    assert_eq!(merged.report.deduplicated(), 1);
    let first = merged.report.groups[0].group;
    assert_eq!(
        merged.report.groups[1].outcome,
        GroupOutcome::Deduplicated { with: first }
    );
}

#[test]
fn multiple_solutions_touching_deletions_apply() {
    let fixture = fixtures()
        .into_iter()
        .find(|fixture| fixture.name == "multiple-solutions")
        .expect("the multiple-solutions fixture");
    let hunks = fixture.sets[0].groups[0].hunks();
    assert!(
        hunks
            .windows(2)
            .any(|pair| pair[0].range.end == pair[1].range.start),
        "the fixture's deletions must touch: {hunks:?}"
    );
    let merged = merge(&fixture.source, &fixture.sets, &MergeOptions::default()).unwrap();
    assert_eq!(merged.text, fixture.fixed);
    assert_eq!(merged.report.applied(), 1);
}
