//! concur: merges many concurrent refactors of the same files into one edit.
//!
//! `text` owns the edit algebra and position encodings, `document` the
//! versioned buffers and their change logs, `syntax` the parsers and
//! syntax-error accounting, `rules` the rule format, `concur.toml`, the
//! combined query matching and the built-in rules, `merge` the worker
//! proposals and their merge, `workers` the thread pool that runs a job's
//! workers, `job` the rounds of match and merge shared by the CLI and the
//! server, `trace` the editing-trace replay used by `concur bench-trace`,
//! `lsp` the language server, `cli` the command line, and `plural` the
//! counted nouns of its messages.

pub mod cli;
pub mod document;
pub mod job;
pub mod lsp;
pub mod merge;
pub mod plural;
pub mod rules;
pub mod syntax;
pub mod text;
pub mod trace;
pub mod workers;
