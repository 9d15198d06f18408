//! Snapshots share the document's text: taking 100 of a 10 MB document must
//! not copy it. This binary has a single test, so the allocation counter
//! counts only this test's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use concur::document::DocumentStore;

/// The system allocator, wrapped to count live bytes.
struct CountingAllocator;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call unchanged to the system allocator and only
// adds counting.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
fn hundred_snapshots_share_text() {
    let line = "fn main() { println!(\"日本語 and emoji 🦀\"); }\n";
    let text = line.repeat(10 * 1024 * 1024 / line.len());
    let store = DocumentStore::new();
    let uri = "file:///big.rs".parse().unwrap();
    store.open(uri, &text, 1, "rust");
    drop(text);
    let uri = "file:///big.rs".parse().unwrap();

    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let snapshots: Vec<_> = (0..100).map(|_| store.snapshot(&uri).unwrap()).collect();
    let extra = LIVE_BYTES.load(Ordering::Relaxed) - before;

    assert!(snapshots[99].text().len_bytes() >= 10 * 1024 * 1024 - line.len());
    assert!(extra < 1024 * 1024, "100 snapshots allocated {extra} bytes");
    assert_eq!(snapshots[0].text(), snapshots[99].text());
}
