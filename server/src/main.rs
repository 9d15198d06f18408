//! The `concur` binary: sets up logging on stderr and runs the command line.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

// Edits, change logs and worker results make many small allocations;
// mimalloc serves them faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tree_sitter_on_mimalloc();
    // stdout carries command output (and later the protocol), so logs go to
    // stderr; the level comes from CONCUR_LOG and defaults to warn.
    let filter = match std::env::var("CONCUR_LOG") {
        Err(_) => EnvFilter::new("warn"),
        Ok(value) => EnvFilter::try_new(&value).unwrap_or_else(|error| {
            eprintln!("warning: invalid CONCUR_LOG value {value:?} ({error}); logging at warn");
            EnvFilter::new("warn")
        }),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    concur::cli::run(concur::cli::Cli::parse())
}

/// Makes tree-sitter's C core allocate through mimalloc too. Parsing and
/// freeing syntax trees make millions of small allocations, and the
/// system allocator made a parse of a 400 kB file about 10% slower
/// (BENCHMARKS.md, "Rules end to end").
#[allow(unsafe_code)]
fn tree_sitter_on_mimalloc() {
    // SAFETY: this runs first in `main`, on the only thread, before any
    // parser, tree or query exists, so no block allocated by one allocator
    // is ever freed by the other. mimalloc's four functions have the
    // contracts of malloc, calloc, realloc and free that tree-sitter needs.
    unsafe {
        tree_sitter::set_allocator(
            Some(libmimalloc_sys::mi_malloc),
            Some(libmimalloc_sys::mi_calloc),
            Some(libmimalloc_sys::mi_realloc),
            Some(libmimalloc_sys::mi_free),
        );
    }
}
