//! Benchmarks of the document model: trace replay through a `Document`
//! against a bare rope, rebasing over a long log, and the memory that
//! snapshots take. Results are recorded in BENCHMARKS.md.

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use concur::document::event_graph::{EventGraph, Patch};
use concur::document::{Document, Origin};
use concur::text::{ChangeSet, CharOffset};
use concur::trace::{self, ReplayMode};
use criterion::{criterion_group, criterion_main, Criterion};

/// The binary's allocator, wrapped to count live bytes.
struct CountingAllocator;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call unchanged to mimalloc and only adds counting.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn trace_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/editing-traces")
        .join(format!("{name}.json.gz"))
}

fn replay(c: &mut Criterion) {
    let mut group = c.benchmark_group("replay");
    group.sample_size(20);
    for name in ["sequential-automerge-paper", "sequential-rustcode"] {
        let loaded = trace::load(&trace_path(name)).expect("trace in ../shared/data");
        if let trace::Replayed::Document(document) =
            trace::replay_sequential(&loaded, ReplayMode::Document).unwrap()
        {
            eprintln!(
                "memory: change log of {name}: {} bytes for {} entries",
                document.log().heap_bytes(),
                document.log().len()
            );
        }
        for mode in [ReplayMode::Document, ReplayMode::Bare] {
            let label = format!(
                "{name}/{}",
                if mode == ReplayMode::Bare {
                    "bare"
                } else {
                    "document"
                }
            );
            group.bench_function(label, |b| {
                // Freeing the log is not part of a replay, as in `bench-trace`.
                b.iter_with_large_drop(|| trace::replay_sequential(&loaded, mode).unwrap());
            });
        }
    }
    let loaded =
        trace::load(&trace_path("concurrent-friendsforever")).expect("trace in ../shared/data");
    for mode in [ReplayMode::Document, ReplayMode::Bare] {
        let label = format!(
            "concurrent-friendsforever/{}",
            if mode == ReplayMode::Bare {
                "bare"
            } else {
                "document"
            }
        );
        group.bench_function(label, |b| {
            b.iter_with_large_drop(|| trace::replay_concurrent(&loaded, mode).unwrap());
        });
    }
    group.finish();
}

/// Two branches from one root that never merge, their transactions added
/// in alternation: the worst case for the event graph, since every
/// transaction moves the prepare version across a whole branch.
fn alternating_branches(c: &mut Criterion) {
    let mut group = c.benchmark_group("event_graph_alternating_branches");
    group.sample_size(10);
    for transactions in [1_000usize, 4_000] {
        group.bench_function(transactions.to_string(), |b| {
            b.iter(|| {
                let mut graph = EventGraph::new();
                let root = Patch {
                    pos: 0,
                    delete: 0,
                    insert: "ab".to_owned(),
                };
                graph.integrate(&[], 0, &[root]).unwrap();
                let mut tips = [0usize, 0];
                for index in 1..transactions {
                    let branch = index % 2;
                    let patch = Patch {
                        pos: if branch == 0 { 1 } else { 0 },
                        delete: 0,
                        insert: "x".to_owned(),
                    };
                    graph
                        .integrate(&[tips[branch]], branch as u32, &[patch])
                        .unwrap();
                    tips[branch] = index;
                }
                black_box(graph.merged_len())
            });
        });
    }
    group.finish();
}

/// Builds a 65,000-char Rust document, a job change on it with 200
/// replacements, and 10,000 single-char edits typed after it, spread over the file.
fn rebase_setup() -> (Document, ChangeSet) {
    let loaded = trace::load(&trace_path("sequential-rustcode")).expect("trace in ../shared/data");
    let mut document = Document::new(&loaded.end_content, 1, "rust");
    let len = document.text().len_chars();
    let job = ChangeSet::from_replacements(
        len,
        (0..200).map(|i| {
            let start = i * (len / 200);
            (CharOffset(start)..CharOffset(start + 3), "job")
        }),
    )
    .unwrap();
    // A fixed linear congruential sequence, so every run types the same.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for step in 0..10_000 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let current = document.text().len_chars();
        let at = (seed >> 33) as usize % current;
        let change = if step % 3 == 2 {
            ChangeSet::replace(current, CharOffset(at)..CharOffset(at + 1), "")
        } else {
            ChangeSet::replace(current, CharOffset(at)..CharOffset(at), "x")
        }
        .unwrap();
        document.apply(change, step + 2, Origin::Editor).unwrap();
    }
    (document, job)
}

fn rebase(c: &mut Criterion) {
    let (document, job) = rebase_setup();
    let single = ChangeSet::replace(job.len(), CharOffset(100)..CharOffset(104), "let").unwrap();
    let mut group = c.benchmark_group("rebase_over_10000_edits");
    group.bench_function("one_replacement", |b| {
        b.iter(|| black_box(document.rebase(&single, 1).unwrap()));
    });
    group.bench_function("200_replacements", |b| {
        b.iter(|| black_box(document.rebase(&job, 1).unwrap()));
    });
    group.finish();
}

fn snapshots(c: &mut Criterion) {
    let line = "let value = compute(input, &mut state); // a line of code\n";
    let text = line.repeat(10 * 1024 * 1024 / line.len());
    let document = Document::new(&text, 1, "rust");
    drop(text);

    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let taken: Vec<_> = (0..100).map(|_| document.snapshot()).collect();
    let extra = LIVE_BYTES.load(Ordering::Relaxed) - before;
    eprintln!(
        "memory: 100 snapshots of a {} byte document hold {} extra bytes",
        document.text().len_bytes(),
        extra
    );
    drop(taken);

    c.bench_function("snapshot_10mb", |b| {
        b.iter(|| black_box(document.snapshot()))
    });
}

criterion_group!(benches, replay, alternating_branches, rebase, snapshots);
criterion_main!(benches);
