//! Text primitives: the `ChangeSet` edit algebra, offset units and LSP
//! position encodings. Nothing here depends on documents or versions.

pub mod changeset;
pub mod encoding;
pub mod units;

pub use changeset::{Assoc, ChangeSet, ChangeSetError, Operation};
pub use encoding::PositionEncoding;
pub use units::{ByteOffset, CharOffset};
