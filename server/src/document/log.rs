//! `ChangeLog`: a document's append-only history of version steps, packed
//! into one byte buffer so that logging a keystroke costs tens of bytes and
//! no allocation of its own.
//!
//! Each entry is a header (version, origin, where its change starts) plus
//! its `ChangeSet` encoded as one varint `n << 2 | tag` per operation. Tag 0
//! is retain, 1 delete and 2 insert. An insert's `n` is its length in bytes,
//! and its UTF-8 text follows. Entries are decoded back into `ChangeSet`s
//! when read.

use super::{JobId, Origin, Version};
use crate::text::{ChangeSet, Operation};

const TAG_RETAIN: u64 = 0;
const TAG_DELETE: u64 = 1;
const TAG_INSERT: u64 = 2;

/// One step of the change log: `change` took the document from the
/// previous entry's version (or the version it was opened at) to `version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    pub version: Version,
    pub change: ChangeSet,
    pub origin: Origin,
}

#[derive(Clone, Copy, Debug)]
struct Header {
    version: Version,
    /// `None` for the editor, the job id otherwise.
    job: Option<JobId>,
    /// Offset of the encoded change in `ChangeLog::bytes`.
    start: usize,
}

/// The entries of one document's history, oldest first.
#[derive(Clone, Debug, Default)]
pub struct ChangeLog {
    headers: Vec<Header>,
    bytes: Vec<u8>,
}

impl ChangeLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// Returns true when the log has no entries.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// Reserves room for `additional` more entries.
    pub fn reserve(&mut self, additional: usize) {
        self.headers.reserve(additional);
        // A keystroke encodes to about eight bytes.
        self.bytes.reserve(additional.saturating_mul(8));
    }

    /// Appends an entry. Versions must grow, which the caller checks.
    pub fn push(&mut self, version: Version, change: &ChangeSet, origin: Origin) {
        self.push_header(version, origin);
        for op in change.ops() {
            match op {
                Operation::Retain(n) => self.write_op(TAG_RETAIN, *n),
                Operation::Delete(n) => self.write_op(TAG_DELETE, *n),
                Operation::Insert(text) => self.write_insert(text),
            }
        }
    }

    /// Appends an entry whose change replaces `start..end` of a document of
    /// `len` chars with `text`, encoded as `ChangeSet::replace` would be
    /// without building it. The range must be valid, which the caller checks.
    pub fn push_replace(
        &mut self,
        version: Version,
        len: usize,
        range: std::ops::Range<usize>,
        text: &str,
        origin: Origin,
    ) {
        debug_assert!(range.start <= range.end && range.end <= len);
        self.push_header(version, origin);
        if range.start > 0 {
            self.write_op(TAG_RETAIN, range.start);
        }
        if !text.is_empty() {
            self.write_insert(text);
        }
        if range.end > range.start {
            self.write_op(TAG_DELETE, range.end - range.start);
        }
        if len > range.end {
            self.write_op(TAG_RETAIN, len - range.end);
        }
    }

    fn write_op(&mut self, tag: u64, count: usize) {
        write_varint(&mut self.bytes, (count as u64) << 2 | tag);
    }

    fn write_insert(&mut self, text: &str) {
        self.write_op(TAG_INSERT, text.len());
        self.bytes.extend_from_slice(text.as_bytes());
    }

    fn push_header(&mut self, version: Version, origin: Origin) {
        debug_assert!(self
            .headers
            .last()
            .is_none_or(|last| last.version < version));
        let job = match origin {
            Origin::Editor => None,
            Origin::Job(id) => Some(id),
        };
        self.headers.push(Header {
            version,
            job,
            start: self.bytes.len(),
        });
    }

    /// Decodes entry `index`, or returns `None` past the end.
    pub fn get(&self, index: usize) -> Option<LogEntry> {
        let header = self.headers.get(index)?;
        let end = self
            .headers
            .get(index + 1)
            .map_or(self.bytes.len(), |next| next.start);
        Some(LogEntry {
            version: header.version,
            change: decode(&self.bytes[header.start..end]),
            origin: header.job.map_or(Origin::Editor, Origin::Job),
        })
    }

    /// The version entry `index` produced.
    pub fn version_at(&self, index: usize) -> Option<Version> {
        self.headers.get(index).map(|header| header.version)
    }

    /// Index of the entry that produced `version`, by binary search.
    pub fn index_of(&self, version: Version) -> Option<usize> {
        self.headers
            .binary_search_by_key(&version, |header| header.version)
            .ok()
    }

    /// Decodes the entries from `index` on, oldest first.
    pub fn iter_from(&self, index: usize) -> impl DoubleEndedIterator<Item = LogEntry> + '_ {
        (index.min(self.len())..self.len()).filter_map(|i| self.get(i))
    }

    /// Decodes every entry, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = LogEntry> + '_ {
        self.iter_from(0)
    }

    /// Drops the oldest `count` entries.
    pub fn drop_oldest(&mut self, count: usize) {
        let count = count.min(self.len());
        let cut = self
            .headers
            .get(count)
            .map_or(self.bytes.len(), |header| header.start);
        self.headers.drain(..count);
        self.bytes.drain(..cut);
        for header in &mut self.headers {
            header.start -= cut;
        }
    }

    /// Bytes held by the log, headers included.
    pub fn heap_bytes(&self) -> usize {
        self.headers.capacity() * std::mem::size_of::<Header>() + self.bytes.capacity()
    }
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn read_varint(bytes: &[u8], pos: &mut usize) -> u64 {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let byte = bytes[*pos];
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return value;
        }
        shift += 7;
    }
}

/// Decodes one change written by `ChangeLog::push` or `push_replace`. The
/// bytes come only from those, so they are well formed.
fn decode(bytes: &[u8]) -> ChangeSet {
    let mut change = ChangeSet::empty();
    let mut pos = 0;
    while pos < bytes.len() {
        let value = read_varint(bytes, &mut pos);
        let n = (value >> 2) as usize;
        match value & 3 {
            TAG_RETAIN => change.retain(n),
            TAG_DELETE => change.delete(n),
            _ => {
                let text = std::str::from_utf8(&bytes[pos..pos + n])
                    .expect("the log stores only text that came from a &str");
                change.insert(text);
                pos += n;
            }
        }
    }
    change
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::CharOffset;

    #[test]
    fn entries_round_trip() {
        let mut log = ChangeLog::new();
        let first = ChangeSet::replace(5, CharOffset(1)..CharOffset(3), "日本🦀").unwrap();
        let second = ChangeSet::replace(6, CharOffset(0)..CharOffset(6), "").unwrap();
        let big =
            ChangeSet::replace(0, CharOffset(0)..CharOffset(0), &"x".repeat(100_000)).unwrap();
        log.push(2, &first, Origin::Editor);
        log.push(5, &second, Origin::Job(JobId(u64::MAX)));
        log.push(6, &big, Origin::Editor);
        assert_eq!(log.len(), 3);
        assert_eq!(log.get(0).unwrap().change, first);
        assert_eq!(log.get(1).unwrap().change, second);
        assert_eq!(log.get(1).unwrap().origin, Origin::Job(JobId(u64::MAX)));
        assert_eq!(log.get(2).unwrap().change, big);
        assert_eq!(log.index_of(5), Some(1));
        assert_eq!(log.index_of(4), None);
        assert!(log.get(3).is_none());
    }

    #[test]
    fn push_replace_matches_push() {
        let cases = [
            (0, 0, ""),
            (0, 0, "ab"),
            (0, 5, ""),
            (2, 2, "日本"),
            (2, 4, "x"),
            (5, 5, "🦀"),
        ];
        for (start, end, text) in cases {
            let change = ChangeSet::replace(5, CharOffset(start)..CharOffset(end), text).unwrap();
            let mut direct = ChangeLog::new();
            direct.push_replace(1, 5, start..end, text, Origin::Editor);
            assert_eq!(
                direct.get(0).unwrap().change,
                change,
                "{start}..{end} {text:?}"
            );
        }
    }

    #[test]
    fn drop_oldest_keeps_the_rest() {
        let mut log = ChangeLog::new();
        let changes: Vec<_> = (0..4)
            .map(|i| ChangeSet::replace(i, CharOffset(i)..CharOffset(i), "é").unwrap())
            .collect();
        for (i, change) in changes.iter().enumerate() {
            log.push(i as Version + 1, change, Origin::Editor);
        }
        log.drop_oldest(2);
        let kept: Vec<_> = log.iter().map(|entry| entry.change).collect();
        assert_eq!(kept, changes[2..]);
        assert_eq!(log.version_at(0), Some(3));
    }

    #[test]
    fn keystroke_costs_few_bytes() {
        let mut log = ChangeLog::new();
        let keystroke =
            ChangeSet::replace(70_000, CharOffset(35_000)..CharOffset(35_000), "a").unwrap();
        log.push(1, &keystroke, Origin::Editor);
        assert!(log.bytes.len() <= 8, "{} bytes", log.bytes.len());
    }
}
