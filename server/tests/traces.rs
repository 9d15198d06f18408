//! Every editing trace in the shared data replays to its `endContent`,
//! through a `Document` and into a bare rope.

use std::path::{Path, PathBuf};

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
