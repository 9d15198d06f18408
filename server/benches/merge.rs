//! Benchmarks of the N-way merge: 1,000 workers proposing 10, 100 and
//! 1,000 hunks each (10k, 100k and 1M hunks) on a generated file whose
//! size grows with the hunk count, so that the share of conflicts stays
//! the same. Beside each merge runs a floor, the least work any merge of
//! the same input does: gather the hunks, sort them by position, and copy
//! the base and the texts once. It shows how much of the growth the
//! machine's memory imposes. Results are recorded in BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use concur::merge::{merge, EditSet, Group, Hunk, MergeOptions, WorkerId};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const WORKERS: u32 = 1_000;
/// Hunks per group: a rename touches a few lines together.
const GROUP_SIZE: usize = 4;

/// Byte ranges of the tokens of one line `let name_{i} = value_{i} + {i};\n`.
struct Line {
    name: std::ops::Range<usize>,
    value: std::ops::Range<usize>,
    literal: std::ops::Range<usize>,
    start: usize,
}

/// Generates a file of `count` lines and the byte ranges of their tokens.
fn generate(count: usize) -> (String, Vec<Line>) {
    let mut text = String::new();
    let mut lines = Vec::with_capacity(count);
    for i in 0..count {
        let start = text.len();
        let name = format!("name_{i}");
        let value = format!("value_{i}");
        let literal = i.to_string();
        let name_at = start + "let ".len();
        let value_at = name_at + name.len() + " = ".len();
        let literal_at = value_at + value.len() + " + ".len();
        text.push_str(&format!("let {name} = {value} + {literal};\n"));
        lines.push(Line {
            name: name_at..name_at + name.len(),
            value: value_at..value_at + value.len(),
            literal: literal_at..literal_at + literal.len(),
            start,
        });
    }
    (text, lines)
}

/// A deterministic pseudo-random stream (SplitMix64).
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

/// `WORKERS` edit sets of `per_worker` hunks in groups of `GROUP_SIZE`
/// on a file of `per_worker * WORKERS / 2` lines. 80% of the hunks rename
/// a name or value, a conflict when two workers pick the same token. 15%
/// add a `u32` suffix to the literal, equal hunks when two pick one line.
/// 5% insert a comment line, and inserts at one offset all stay.
fn workload(per_worker: usize) -> (String, Vec<EditSet>) {
    let line_count = (per_worker * WORKERS as usize / 2).max(GROUP_SIZE);
    let (text, lines) = generate(line_count);
    let mut stream = Stream(per_worker as u64);
    let sets = (0..WORKERS)
        .map(|worker| {
            let mut groups = Vec::with_capacity(per_worker / GROUP_SIZE + 1);
            let mut left = per_worker;
            while left > 0 {
                let size = left.min(GROUP_SIZE);
                left -= size;
                let mut picked: Vec<usize> = Vec::with_capacity(size);
                while picked.len() < size {
                    let line = stream.below(line_count);
                    if !picked.contains(&line) {
                        picked.push(line);
                    }
                }
                let hunks = picked
                    .into_iter()
                    .map(|index| {
                        let line = &lines[index];
                        match stream.below(100) {
                            0..=39 => Hunk::new(line.name.clone(), format!("n{worker}")),
                            40..=79 => Hunk::new(line.value.clone(), format!("v{worker}")),
                            80..=94 => {
                                let literal = &text[line.literal.clone()];
                                Hunk::new(line.literal.clone(), format!("{literal}u32"))
                            }
                            _ => Hunk::new(line.start..line.start, format!("// {worker}\n")),
                        }
                    })
                    .collect();
                groups.push(Group::new(hunks).expect("one hunk per distinct line"));
            }
            EditSet {
                worker: WorkerId(worker),
                priority: i64::from(worker % 4),
                label: format!("rule-{worker}"),
                groups,
            }
        })
        .collect();
    (text, sets)
}

/// Gathers every hunk, sorts them by position and builds the text of the
/// hunks that do not overlap an earlier one. This is the floor: no
/// minimising, conflict rules, dedup or report.
fn floor(base: &str, sets: &[EditSet]) -> String {
    let mut hunks: Vec<(usize, usize, &str)> = sets
        .iter()
        .flat_map(|set| &set.groups)
        .flat_map(|group| group.hunks())
        .map(|hunk| (hunk.range.start, hunk.range.end, hunk.text.as_str()))
        .collect();
    hunks.sort_unstable_by_key(|&(start, end, _)| (start, end));
    let mut text = String::with_capacity(base.len());
    let mut cursor = 0;
    for (start, end, inserted) in hunks {
        if start < cursor {
            continue;
        }
        text.push_str(&base[cursor..start]);
        text.push_str(inserted);
        cursor = end;
    }
    text.push_str(&base[cursor..]);
    text
}

fn bench_merge(c: &mut Criterion) {
    let mut group = c.benchmark_group("merge");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for per_worker in [10, 100, 1_000] {
        let (base, sets) = workload(per_worker);
        let hunks = per_worker * WORKERS as usize;
        let merged = merge(&base, &sets, &MergeOptions::default()).expect("valid workload");
        println!(
            "{hunks} hunks, {} bytes: {} groups applied, {} conflicted, {} deduplicated",
            base.len(),
            merged.report.applied(),
            merged.report.conflicts(),
            merged.report.deduplicated()
        );
        group.bench_with_input(BenchmarkId::new("hunks", hunks), &sets, |b, sets| {
            b.iter(|| merge(black_box(&base), black_box(sets), &MergeOptions::default()))
        });
        group.bench_with_input(BenchmarkId::new("floor", hunks), &sets, |b, sets| {
            b.iter(|| floor(black_box(&base), black_box(sets)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_merge);
criterion_main!(benches);
