//! The N-way merge of worker proposals into one change, with a report of
//! what was applied, deduplicated, conflicted or dropped.

pub mod edit;

pub use edit::{EditError, EditSet, Group, Hunk, WorkerId};
