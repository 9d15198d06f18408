//! End-to-end cost of running 100 rules on a large real Rust file, against
//! the floor of one parse plus one combined query pass and against 100
//! separate query passes. Also the peak memory of many workers against
//! one, and the built-in rules on one long `&&` chain, whose left-nested
//! binary expressions make badly shaped query patterns quadratic. Results
//! are recorded in BENCHMARKS.md.

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use concur::job::{self, JobDocument, JobOptions};
use concur::rules::RuleSet;
use concur::syntax::Language;
use concur::workers::{CancelToken, Pool};
use criterion::{criterion_group, criterion_main, Criterion};
use ropey::Rope;

/// mimalloc, wrapped to track live and peak bytes.
struct PeakAllocator;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grow(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: forwards every call unchanged to mimalloc and only adds counting.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for PeakAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grow(new_size);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: PeakAllocator = PeakAllocator;

/// Makes tree-sitter allocate through mimalloc, as the `concur` binary
/// does at start-up. Every benchmark group calls it first; only the first
/// call, made before any tree-sitter object exists, changes anything.
fn tree_sitter_on_mimalloc() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: the first group runs this before it creates any parser,
    // tree or query, so no block allocated by one allocator is freed by
    // the other. mimalloc's four functions have the contracts of malloc,
    // calloc, realloc and free. tree-sitter's blocks bypass the counting
    // allocator, as they did before on the system allocator.
    #[allow(unsafe_code)]
    ONCE.call_once(|| unsafe {
        tree_sitter::set_allocator(
            Some(libmimalloc_sys::mi_malloc),
            Some(libmimalloc_sys::mi_calloc),
            Some(libmimalloc_sys::mi_realloc),
            Some(libmimalloc_sys::mi_free),
        );
    });
}

/// Real Rust sources from the local cargo registry, concatenated file by
/// file (each file parses on its own) until `lines` lines are reached.
fn real_rust(lines: usize) -> String {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
    let mut files = Vec::new();
    for index in std::fs::read_dir(home.join("registry/src"))
        .unwrap()
        .flatten()
    {
        for krate in std::fs::read_dir(index.path()).unwrap().flatten() {
            let name = krate.file_name().to_string_lossy().into_owned();
            if name.starts_with("serde_json-")
                || name.starts_with("ropey-")
                || name.starts_with("clap_builder-")
            {
                collect(&krate.path(), &mut files);
            }
        }
    }
    files.sort();
    let mut text = String::new();
    for file in files {
        if text.lines().count() >= lines {
            break;
        }
        if let Ok(source) = std::fs::read_to_string(&file) {
            text.push_str(&source);
            text.push('\n');
        }
    }
    text
}

fn collect(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// Builds the 15 built-in rules plus 85 user rules that each rename one
/// identifier of `text`. With `rare`, the identifiers are ones that occur
/// once or twice, so each rule is a worker with little output and the
/// measurement shows the cost of the workers themselves.
fn hundred_rules(text: &str, rare: bool) -> RuleSet {
    // Count the identifiers in the parse tree, so every rename rule matches.
    let tree = Language::Rust.parse_str(text).unwrap();
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    let mut cursor = tree.walk();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        let kind = node.kind();
        if matches!(kind, "identifier" | "field_identifier" | "type_identifier") {
            let word = &text[node.byte_range()];
            if word.len() > 6 {
                *counts.entry(word).or_default() += 1;
            }
        }
        stack.extend(node.children(&mut cursor));
    }
    let names: Vec<&str> = counts
        .iter()
        .filter(|(_, count)| !rare || **count <= 2)
        .map(|(name, _)| *name)
        .collect();
    let step = (names.len() / 85).max(1);
    let mut toml = String::new();
    for (index, name) in names.iter().step_by(step).take(85).enumerate() {
        toml.push_str(&format!(
            "[[rule]]\nid = \"rename-{index}\"\nlanguage = \"rust\"\nmessage = \"rename {name}\"\n\
             query = '([(identifier) (field_identifier) (type_identifier)] @match (#eq? @match \"{name}\"))'\nreplace = \"{name}_renamed\"\n\n"
        ));
    }
    let user = RuleSet::from_toml_str(&toml, std::path::Path::new("bench-rules.toml")).unwrap();
    let rules = RuleSet::combine(user, Some(RuleSet::builtin()), &[]).unwrap();
    assert_eq!(rules.rules().len(), 100);
    rules
}

fn one_round() -> JobOptions {
    JobOptions {
        max_rounds: 1,
        round_time_limit: Duration::from_secs(600),
        validate: true,
        time_limit: Duration::MAX,
    }
}

fn end_to_end(c: &mut Criterion) {
    tree_sitter_on_mimalloc();
    let text = real_rust(10_000);
    let rope = Rope::from_str(&text);
    let rules = hundred_rules(&text, false);
    let matcher = rules.matcher(Language::Rust).unwrap();
    let pool = Pool::with_default_threads().unwrap();
    eprintln!(
        "input: {} lines, {} bytes, {} rules",
        text.lines().count(),
        text.len(),
        rules.rules().len()
    );

    let mut group = c.benchmark_group("rules_100_on_10k_lines");
    group.sample_size(10);
    group.bench_function("floor_parse_and_one_query_pass", |b| {
        b.iter(|| {
            let tree = Language::Rust.parse_rope(&rope, None).unwrap();
            black_box(matcher.find(&tree, &rope, None))
        });
    });
    group.bench_function("end_to_end_one_round", |b| {
        b.iter(|| {
            let documents = vec![JobDocument {
                key: "big.rs".to_owned(),
                language: Language::Rust,
                text: rope.clone(),
            }];
            black_box(
                job::run_rules(
                    &pool,
                    &rules,
                    documents,
                    &one_round(),
                    &CancelToken::new(),
                    |_| {},
                )
                .unwrap(),
            )
        });
    });
    let separate: Vec<_> = rules
        .rules()
        .iter()
        .map(|rule| {
            let single = rules_only(&rules, &rule.id);
            single.matcher(Language::Rust).unwrap()
        })
        .collect();
    group.bench_function("parse_and_100_separate_query_passes", |b| {
        b.iter(|| {
            let tree = Language::Rust.parse_rope(&rope, None).unwrap();
            for single in &separate {
                black_box(single.find(&tree, &rope, None));
            }
        });
    });
    group.finish();
}

/// Returns a rule set holding only rule `id` of `rules`.
fn rules_only(rules: &RuleSet, id: &str) -> RuleSet {
    let others: Vec<String> = rules
        .rules()
        .iter()
        .filter(|rule| rule.id != id)
        .map(|rule| rule.id.clone())
        .collect();
    RuleSet::combine(rules.clone(), None, &others).unwrap()
}

fn peak_memory(_c: &mut Criterion) {
    tree_sitter_on_mimalloc();
    let sample = real_rust(10_000);
    let all = hundred_rules(&sample, true);
    let text = sample.repeat(10 * 1024 * 1024 / sample.len() + 1);
    let rope = Rope::from_str(&text);
    drop(text);
    let pool = Pool::new(2).unwrap();
    let measure = |rules: &RuleSet| {
        let documents = vec![JobDocument {
            key: "big.rs".to_owned(),
            language: Language::Rust,
            text: rope.clone(),
        }];
        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let outcome = job::run_rules(
            &pool,
            rules,
            documents,
            &one_round(),
            &CancelToken::new(),
            |_| {},
        )
        .unwrap();
        let peak = PEAK.load(Ordering::Relaxed) - before;
        let workers: Vec<String> = outcome[0]
            .rounds
            .first()
            .map(|round| {
                round
                    .workers
                    .iter()
                    .map(|worker| worker.label.clone())
                    .collect()
            })
            .unwrap_or_default();
        drop(outcome);
        (peak, workers)
    };
    let (peak_hundred, workers_hundred) = measure(&all);
    // The single worker runs a rule that found matches in the same file.
    let one = rules_only(&all, &workers_hundred[0]);
    let (peak_one, workers_one) = measure(&one);
    let (workers_one, workers_hundred) = (workers_one.len(), workers_hundred.len());
    eprintln!(
        "memory: peak {peak_one} bytes with {workers_one} worker, {peak_hundred} bytes with \
         {workers_hundred} workers ({:.2}x) on a {} byte file",
        peak_hundred as f64 / peak_one as f64,
        rope.len_bytes()
    );
}

/// Returns a function whose body is one `&&` chain of `operands` operands, each
/// made by `operand` from its index.
fn and_chain(operands: usize, operand: impl Fn(usize) -> String) -> String {
    let chain: Vec<String> = (0..operands).map(operand).collect();
    format!("fn f() -> bool {{\n    {}\n}}\n", chain.join(" && "))
}

fn long_and_chain(c: &mut Criterion) {
    tree_sitter_on_mimalloc();
    let rules = RuleSet::builtin();
    let matcher = rules.matcher(Language::Rust).unwrap();
    let pool = Pool::with_default_threads().unwrap();
    let mut group = c.benchmark_group("builtin_rules_on_and_chain");
    group.sample_size(10);
    for operands in [500, 2000] {
        // Plain operands match no rule: the query pass alone.
        let plain = Rope::from_str(&and_chain(operands, |i| format!("a{i}")));
        group.bench_function(format!("find_{operands}_plain_operands"), |b| {
            b.iter(|| {
                let tree = Language::Rust.parse_rope(&plain, None).unwrap();
                black_box(matcher.find(&tree, &plain, None))
            });
        });
        // Every operand is a `bool-comparison` match.
        let compared = Rope::from_str(&and_chain(operands, |i| format!("a{i} == true")));
        group.bench_function(format!("end_to_end_{operands}_compared_operands"), |b| {
            b.iter(|| {
                let documents = vec![JobDocument {
                    key: "chain.rs".to_owned(),
                    language: Language::Rust,
                    text: compared.clone(),
                }];
                black_box(
                    job::run_rules(
                        &pool,
                        &rules,
                        documents,
                        &one_round(),
                        &CancelToken::new(),
                        |_| {},
                    )
                    .unwrap(),
                )
            });
        });
    }
    group.finish();
}

criterion_group!(benches, end_to_end, peak_memory, long_and_chain);
criterion_main!(benches);
