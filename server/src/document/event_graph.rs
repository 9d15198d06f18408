//! Eg-walker merge of a causal graph of text-editing transactions into one linear edit sequence.
//!
//! Each transaction names its parents (earlier transactions) and carries
//! patches whose positions refer to the document as its author saw it after
//! those parents. [`EventGraph::integrate`] adds one transaction and returns
//! what it changes in the merged document, which contains every transaction
//! added so far. The method follows Eg-walker (Gentle and Kleppmann,
//! "Collaborative Text Editing with Eg-walker: Better, Faster, Smaller",
//! EuroSys 2025).
//!
//! # How the merge works
//!
//! The graph keeps a temporary sequence CRDT: one item record per inserted
//! char, in merged document order, including deleted chars. Every item has
//! two states:
//!
//! - the *prepare* state describes the document at the *prepare version*,
//!   which is moved to the parents of each new transaction. An item is not
//!   yet inserted, inserted, or deleted `n` times (concurrent branches can
//!   delete the same char, and each delete is counted so that undoing one of
//!   them leaves the item deleted).
//! - the *effect* state describes the merged document: whether any
//!   transaction added so far deleted the item.
//!
//! A new transaction is handled in three steps:
//!
//! 1. Move the prepare version to the transaction's parents. The transactions
//!    that are in the current prepare version but not in the parents are
//!    *retreated* (their inserts become not yet inserted, their deletes are
//!    uncounted) and those in the parents but not in the prepare version are
//!    *advanced*. Both sets are found by walking back from the two versions
//!    at once, highest transaction index first, and stopping as soon as every
//!    remaining path is shared, so the walk covers only the concurrent region
//!    of the history.
//! 2. Apply the patches in prepare-state positions. A delete marks the
//!    prepare-visible item at that position, and it changes the merged
//!    document only if no concurrent branch deleted that item already. An
//!    insert creates items right after the prepare-visible item to its left
//!    and, when items that are not yet inserted (concurrent inserts) sit at
//!    that place, orders the new item among them with the integration rule
//!    below.
//! 3. Output each change as an [`EffectOp`] at the item's merged document
//!    position (the number of effect-visible items before it), which the
//!    same pass that finds the prepare position counts.
//!
//! # Integration rule
//!
//! Inserts use origin-left/origin-right integration in the style of YjsMod.
//! An item records its *origin left*, the prepare-visible item before it
//! when it was inserted (or the document start). It also records its
//! *origin right*, the first item after it that existed in the prepare
//! version, deleted or not (or the document end). The new item is placed among the
//! concurrent items between its two origins by comparing their origins'
//! positions. Two items with the same origins are ordered by agent number,
//! lower first (to the left), then by transaction index. Chars typed left to
//! right in one run stay together rather than interleaving with a concurrent
//! run typed at the same place.
//!
//! The public concurrent editing traces (friendsforever and clownschool from
//! josephg/editing-traces) never insert concurrently at the same place. The
//! integration scan never runs on them, so they cannot tell the tie-break
//! directions apart, and both directions reproduce their final content. The
//! unit tests pin the direction chosen here.
//!
//! # Storage
//!
//! Items live in chunks of at most `MAX_CHUNK_LEN` item ids, in document
//! order. Each chunk caches its counts of prepare-visible and effect-visible
//! items, so finding a position costs one pass over the chunk counts and one
//! pass inside a chunk. Item states and origins are indexed by item id.
//! Every transaction keeps the range of item ids it inserted and the list of
//! item ids its deletes targeted, so moving the prepare version costs time
//! proportional to the operations moved.

use std::collections::BinaryHeap;

use thiserror::Error;

/// One primitive change to the merged document, in chars, applied in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EffectOp {
    /// Inserts `text` so that its first char ends up at char index `pos`.
    Insert { pos: usize, text: String },
    /// Deletes `len` chars starting at char index `pos`.
    Delete { pos: usize, len: usize },
}

/// One edit in a transaction: deletes `delete` chars at `pos`, then inserts
/// `insert` at `pos`. Positions and lengths count Unicode scalar values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Patch {
    pub pos: usize,
    pub delete: usize,
    pub insert: String,
}

/// Invalid input to [`EventGraph::integrate`]. The graph is unchanged when
/// one of these is returned.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EventGraphError {
    #[error(
        "transaction {txn} lists parent {parent}, which is not an earlier transaction; \
         a parent must be the index of a transaction listed before this one"
    )]
    ParentNotEarlier { txn: usize, parent: usize },

    #[error(
        "transaction {txn}, patch {patch}: position {pos} is past the end of the document, \
         which has {len} chars at that point; use a position from 0 to {len}"
    )]
    PositionPastEnd {
        txn: usize,
        patch: usize,
        pos: usize,
        len: usize,
    },

    #[error(
        "transaction {txn}, patch {patch}: deleting {delete} chars at position {pos} runs past \
         the end of the document, which has {len} chars at that point; delete at most {} chars there",
        .len - .pos
    )]
    DeletePastEnd {
        txn: usize,
        patch: usize,
        pos: usize,
        delete: usize,
        len: usize,
    },

    #[error(
        "transaction {txn} would bring the graph to {count} {resource}, more than the {max} it can \
         index; split the history into smaller documents"
    )]
    CapacityExceeded {
        txn: usize,
        resource: &'static str,
        count: usize,
        max: usize,
    },
}

/// Maximum number of item ids in one chunk. A full chunk is split in half,
/// so chunks hold between half and all of this many ids, except while the
/// document has fewer.
const MAX_CHUNK_LEN: usize = 128;

/// Marks a missing origin: the document start for an origin left, the
/// document end for an origin right.
const NO_ITEM: u32 = u32::MAX;

/// Prepare state of an item whose insert is not in the prepare version.
const NOT_INSERTED: u32 = 0;
/// Prepare state of an item that is inserted and not deleted. Values above
/// this count the deletes in the prepare version that target the item.
const INSERTED: u32 = 1;

/// Per-item state at the two versions the merge tracks.
#[derive(Clone, Copy, Debug)]
struct ItemState {
    /// [`NOT_INSERTED`], [`INSERTED`], or `INSERTED + n` after `n` deletes.
    prepare: u32,
    /// Whether any transaction added so far deleted this item.
    deleted: bool,
}

/// Fixed facts about an item, plus the chunk that currently stores it.
#[derive(Clone, Copy, Debug)]
struct ItemLinks {
    origin_left: u32,
    origin_right: u32,
    txn: u32,
    chunk: u32,
}

/// A run of item ids in document order, with cached visible counts.
#[derive(Debug, Default)]
struct Chunk {
    ids: Vec<u32>,
    /// Index of this chunk in [`EventGraph::order`].
    rank: usize,
    prepare_visible: usize,
    effect_visible: usize,
}

/// A transaction as the merge needs it for retreating and advancing.
#[derive(Debug)]
struct Txn {
    parents: Vec<u32>,
    agent: u32,
    /// Item ids `inserted_start..inserted_end` were created by this transaction.
    inserted_start: u32,
    inserted_end: u32,
    /// `delete_targets[deleted_start..deleted_end]` are the items this
    /// transaction's deletes targeted, in the order they were applied.
    deleted_start: usize,
    deleted_end: usize,
}

/// A place in the item sequence: `offset` within the chunk at `rank` (which
/// may equal the chunk length), with `effect_pos` effect-visible items before.
#[derive(Clone, Copy, Debug)]
struct Cursor {
    rank: usize,
    offset: usize,
    effect_pos: usize,
}

/// A causal graph of text-editing transactions, merged incrementally.
///
/// Transactions are numbered in the order they are added, and every parent
/// must be added before its children.
#[derive(Debug)]
pub struct EventGraph {
    txns: Vec<Txn>,
    states: Vec<ItemState>,
    links: Vec<ItemLinks>,
    delete_targets: Vec<u32>,
    /// Chunks by chunk id. Ids are stable, and chunks are never removed.
    chunks: Vec<Chunk>,
    /// Chunk ids in document order.
    order: Vec<u32>,
    /// Transactions whose ancestors (and themselves) form the prepare
    /// version, sorted and without duplicates.
    prepare_frontier: Vec<u32>,
    prepare_len: usize,
    merged_len: usize,
    /// [`MAX_CHUNK_LEN`] except in tests that force many chunk splits.
    max_chunk_len: usize,
}

impl Default for EventGraph {
    fn default() -> Self {
        Self::new()
    }
}

impl EventGraph {
    /// Creates an empty graph whose merged document is the empty string.
    pub fn new() -> Self {
        Self {
            txns: Vec::new(),
            states: Vec::new(),
            links: Vec::new(),
            delete_targets: Vec::new(),
            chunks: vec![Chunk::default()],
            order: vec![0],
            prepare_frontier: Vec::new(),
            prepare_len: 0,
            merged_len: 0,
            max_chunk_len: MAX_CHUNK_LEN,
        }
    }

    /// Creates a graph whose merged document starts as `text`. Every
    /// transaction starts from that text, so one with no parents edits it.
    pub fn with_start_content(text: &str) -> Self {
        let mut graph = Self::new();
        if !text.is_empty() {
            // The start items belong to no transaction: no retreat ever
            // hides them, and no concurrent insert can tie with them.
            let mut effects = Vec::new();
            graph.apply_insert(NO_ITEM, 0, text, &mut effects);
        }
        graph
    }

    /// Creates an empty graph whose chunks split above `max_chunk_len` ids.
    #[cfg(test)]
    fn with_max_chunk_len(max_chunk_len: usize) -> Self {
        assert!(max_chunk_len >= 2, "a chunk must be able to split in two");
        Self {
            max_chunk_len,
            ..Self::new()
        }
    }

    /// Adds transaction number `self.len()` and returns its effect on the
    /// merged document (all earlier transactions applied), as ops applied in
    /// order.
    ///
    /// `parents` are indexes of earlier transactions (empty for a transaction
    /// made on the empty document). Each patch's position is relative to the
    /// document as `agent` saw it after the parents and after the
    /// transaction's earlier patches.
    pub fn integrate(
        &mut self,
        parents: &[usize],
        agent: u32,
        patches: &[Patch],
    ) -> Result<Vec<EffectOp>, EventGraphError> {
        let txn_index = self.txns.len();
        let txn = to_u32(txn_index, txn_index, "transactions")?;
        let mut parent_ids = Vec::with_capacity(parents.len());
        for &parent in parents {
            if parent >= txn_index {
                return Err(EventGraphError::ParentNotEarlier {
                    txn: txn_index,
                    parent,
                });
            }
            parent_ids.push(parent as u32);
        }
        parent_ids.sort_unstable();
        parent_ids.dedup();

        // The prepare version is a cache that every call first moves to its
        // parents, so moving it before validation leaves no visible change
        // when validation fails.
        self.move_prepare_version(&parent_ids);
        self.validate_patches(txn_index, patches)?;

        let inserted_start = self.states.len() as u32;
        let deleted_start = self.delete_targets.len();
        self.txns.push(Txn {
            parents: parent_ids,
            agent,
            inserted_start,
            inserted_end: inserted_start,
            deleted_start,
            deleted_end: deleted_start,
        });

        let mut effects = Vec::new();
        for patch in patches {
            if patch.delete > 0 {
                self.apply_delete(patch.pos, patch.delete, &mut effects);
            }
            if !patch.insert.is_empty() {
                self.apply_insert(txn, patch.pos, &patch.insert, &mut effects);
            }
        }

        let record = &mut self.txns[txn_index];
        record.inserted_end = self.states.len() as u32;
        record.deleted_end = self.delete_targets.len();
        self.prepare_frontier.clear();
        self.prepare_frontier.push(txn);
        Ok(effects)
    }

    /// Returns the number of transactions added.
    pub fn len(&self) -> usize {
        self.txns.len()
    }

    /// Returns whether no transaction has been added.
    pub fn is_empty(&self) -> bool {
        self.txns.is_empty()
    }

    /// Returns the number of chars in the merged document.
    pub fn merged_len(&self) -> usize {
        self.merged_len
    }

    /// Checks every patch against the document length at the prepare version
    /// (which must already be the transaction's parent version), and checks
    /// that the new items still get `u32` ids below [`NO_ITEM`].
    fn validate_patches(&self, txn: usize, patches: &[Patch]) -> Result<(), EventGraphError> {
        let mut len = self.prepare_len;
        let mut inserted = 0usize;
        for (index, patch) in patches.iter().enumerate() {
            if patch.pos > len {
                return Err(EventGraphError::PositionPastEnd {
                    txn,
                    patch: index,
                    pos: patch.pos,
                    len,
                });
            }
            if patch.delete > len - patch.pos {
                return Err(EventGraphError::DeletePastEnd {
                    txn,
                    patch: index,
                    pos: patch.pos,
                    delete: patch.delete,
                    len,
                });
            }
            let insert_len = patch.insert.chars().count();
            len = len - patch.delete + insert_len;
            inserted += insert_len;
        }
        // Item ids must stay below NO_ITEM, which marks a missing origin.
        let items = self.states.len() + inserted;
        if items >= NO_ITEM as usize {
            return Err(EventGraphError::CapacityExceeded {
                txn,
                resource: "inserted chars",
                count: items,
                max: NO_ITEM as usize - 1,
            });
        }
        Ok(())
    }

    // ---- Moving the prepare version ----

    /// Retreats and advances transactions until the prepare version is the
    /// version named by `target` (sorted, without duplicates).
    ///
    /// NOTE: the cost is the number of transactions on both sides since the
    /// last common ancestor, so two branches that never merge, added in
    /// alternation, make each call walk a whole branch: quadratic overall.
    /// Real traces merge often and stay linear.
    fn move_prepare_version(&mut self, target: &[u32]) {
        if self.prepare_frontier == target {
            return;
        }
        let (only_current, only_target) = self.version_difference(&self.prepare_frontier, target);
        // Both lists are in descending transaction order. Undo children
        // before their parents, and redo parents before their children, so
        // that an item is always inserted while a delete targeting it counts.
        for &txn in &only_current {
            self.retreat(txn);
        }
        for &txn in only_target.iter().rev() {
            self.advance(txn);
        }
        self.prepare_frontier.clear();
        self.prepare_frontier.extend_from_slice(target);
    }

    /// Returns the transactions in the history of `a` but not of `b`, and
    /// those in the history of `b` but not of `a`, each in descending order.
    ///
    /// The walk pops the highest transaction index from a max-heap, so a
    /// transaction is popped only after all its children in the walked
    /// region. Entries reached from both sides are shared, and the walk stops
    /// when only shared entries remain, because everything below them is in
    /// both histories.
    fn version_difference(&self, a: &[u32], b: &[u32]) -> (Vec<u32>, Vec<u32>) {
        const FROM_A: u8 = 1;
        const FROM_B: u8 = 2;
        const SHARED: u8 = FROM_A | FROM_B;

        let mut heap: BinaryHeap<(u32, u8)> = BinaryHeap::new();
        let mut unshared = 0usize;
        for &txn in a {
            heap.push((txn, FROM_A));
            unshared += 1;
        }
        for &txn in b {
            heap.push((txn, FROM_B));
            unshared += 1;
        }

        let mut only_a = Vec::new();
        let mut only_b = Vec::new();
        while unshared > 0 {
            let Some((txn, mut side)) = heap.pop() else {
                break;
            };
            if side != SHARED {
                unshared -= 1;
            }
            // Merge every other entry for the same transaction.
            while let Some(&(next, next_side)) = heap.peek() {
                if next != txn {
                    break;
                }
                heap.pop();
                if next_side != SHARED {
                    unshared -= 1;
                }
                side |= next_side;
            }
            match side {
                FROM_A => only_a.push(txn),
                FROM_B => only_b.push(txn),
                _ => {}
            }
            for &parent in &self.txns[txn as usize].parents {
                heap.push((parent, side));
                if side != SHARED {
                    unshared += 1;
                }
            }
        }
        (only_a, only_b)
    }

    /// Removes one transaction's operations from the prepare version.
    fn retreat(&mut self, txn: u32) {
        let record = &self.txns[txn as usize];
        let (ins_start, ins_end) = (record.inserted_start, record.inserted_end);
        let (del_start, del_end) = (record.deleted_start, record.deleted_end);
        for index in (del_start..del_end).rev() {
            let id = self.delete_targets[index];
            let state = &mut self.states[id as usize];
            debug_assert!(
                state.prepare > INSERTED,
                "retreating a delete of a live item"
            );
            state.prepare -= 1;
            if state.prepare == INSERTED {
                self.adjust_prepare_count(id, true);
            }
        }
        for id in ins_start..ins_end {
            let state = &mut self.states[id as usize];
            debug_assert_eq!(
                state.prepare, INSERTED,
                "retreating an insert of a deleted item"
            );
            state.prepare = NOT_INSERTED;
            self.adjust_prepare_count(id, false);
        }
    }

    /// Adds one transaction's operations back to the prepare version.
    fn advance(&mut self, txn: u32) {
        let record = &self.txns[txn as usize];
        let (ins_start, ins_end) = (record.inserted_start, record.inserted_end);
        let (del_start, del_end) = (record.deleted_start, record.deleted_end);
        for id in ins_start..ins_end {
            let state = &mut self.states[id as usize];
            debug_assert_eq!(state.prepare, NOT_INSERTED, "advancing an inserted item");
            state.prepare = INSERTED;
            self.adjust_prepare_count(id, true);
        }
        for index in del_start..del_end {
            let id = self.delete_targets[index];
            let state = &mut self.states[id as usize];
            debug_assert!(
                state.prepare >= INSERTED,
                "advancing a delete of a missing item"
            );
            state.prepare += 1;
            if state.prepare == INSERTED + 1 {
                self.adjust_prepare_count(id, false);
            }
        }
    }

    /// Counts item `id` as having become prepare-visible (`visible`) or
    /// having stopped being prepare-visible.
    fn adjust_prepare_count(&mut self, id: u32, visible: bool) {
        let chunk = &mut self.chunks[self.links[id as usize].chunk as usize];
        if visible {
            chunk.prepare_visible += 1;
            self.prepare_len += 1;
        } else {
            chunk.prepare_visible -= 1;
            self.prepare_len -= 1;
        }
    }

    // ---- Applying patches ----

    /// Deletes `len` prepare-visible chars starting at prepare position `pos`
    /// and records the delete targets for the current transaction.
    fn apply_delete(&mut self, pos: usize, len: usize, effects: &mut Vec<EffectOp>) {
        let mut cursor = self.find_prepare_visible(pos);
        for remaining in (0..len).rev() {
            let chunk_id = self.order[cursor.rank] as usize;
            let id = self.chunks[chunk_id].ids[cursor.offset];
            let state = &mut self.states[id as usize];
            state.prepare = INSERTED + 1;
            let was_visible = !state.deleted;
            state.deleted = true;
            let chunk = &mut self.chunks[chunk_id];
            chunk.prepare_visible -= 1;
            self.prepare_len -= 1;
            self.delete_targets.push(id);

            // A char that a concurrent branch already deleted is gone from
            // the merged document, so deleting it again changes nothing.
            if was_visible {
                chunk.effect_visible -= 1;
                self.merged_len -= 1;
                push_delete(effects, cursor.effect_pos);
            }
            if remaining > 0 {
                cursor.offset += 1;
                cursor = self.skip_to_prepare_visible(cursor);
            }
        }
    }

    /// Moves `cursor` forward to the next prepare-visible item, counting the
    /// effect-visible items it passes. The caller guarantees one exists.
    fn skip_to_prepare_visible(&self, mut cursor: Cursor) -> Cursor {
        loop {
            let chunk = &self.chunks[self.order[cursor.rank] as usize];
            while cursor.offset < chunk.ids.len() {
                let state = self.states[chunk.ids[cursor.offset] as usize];
                if state.prepare == INSERTED {
                    return cursor;
                }
                if !state.deleted {
                    cursor.effect_pos += 1;
                }
                cursor.offset += 1;
            }
            cursor.rank += 1;
            cursor.offset = 0;
            assert!(
                cursor.rank < self.order.len(),
                "no prepare-visible item after a validated delete position"
            );
        }
    }

    /// Inserts `text` at prepare position `pos` as new items of transaction
    /// `txn`.
    fn apply_insert(&mut self, txn: u32, pos: usize, text: &str, effects: &mut Vec<EffectOp>) {
        let (mut cursor, origin_left) = self.insert_cursor(pos);
        let origin_right = self.first_prepared_from(cursor);

        let first_id = self.states.len() as u32;
        let new_links = ItemLinks {
            origin_left,
            origin_right,
            txn,
            chunk: 0,
        };
        // Concurrent items (not in the prepare version) right at the cursor
        // mean the new item has to be ordered among them.
        if self.is_not_inserted_at(cursor) {
            cursor = self.integrate_among_concurrent(cursor, &new_links);
        }
        let effect_pos = cursor.effect_pos;

        // The later chars of the text go directly after the previous one:
        // integrating them would stop at once, because no existing item has
        // one of the new chars as origin left. Each has the previous char as
        // origin left and the first char's origin right.
        let mut previous = origin_left;
        let mut place = (cursor.rank, cursor.offset);
        for (index, _) in text.chars().enumerate() {
            let id = first_id + index as u32;
            self.states.push(ItemState {
                prepare: INSERTED,
                deleted: false,
            });
            self.links.push(ItemLinks {
                origin_left: previous,
                ..new_links
            });
            place = self.insert_id_at(place.0, place.1, id);
            place.1 += 1;
            previous = id;
        }
        let count = self.states.len() - first_id as usize;
        self.prepare_len += count;
        self.merged_len += count;
        effects.push(EffectOp::Insert {
            pos: effect_pos,
            text: text.to_owned(),
        });
    }

    /// Returns the place right after the prepare-visible item that precedes
    /// prepare position `pos`, and that item's id ([`NO_ITEM`] at the start).
    fn insert_cursor(&self, pos: usize) -> (Cursor, u32) {
        if pos == 0 {
            let start = Cursor {
                rank: 0,
                offset: 0,
                effect_pos: 0,
            };
            return (start, NO_ITEM);
        }
        let mut cursor = self.find_prepare_visible(pos - 1);
        let left = self.chunks[self.order[cursor.rank] as usize].ids[cursor.offset];
        if !self.states[left as usize].deleted {
            cursor.effect_pos += 1;
        }
        cursor.offset += 1;
        (cursor, left)
    }

    /// Returns the place of the prepare-visible item with index `index` among
    /// prepare-visible items. The caller guarantees `index < prepare_len`.
    fn find_prepare_visible(&self, index: usize) -> Cursor {
        let mut remaining = index;
        let mut effect_pos = 0;
        for (rank, &chunk_id) in self.order.iter().enumerate() {
            let chunk = &self.chunks[chunk_id as usize];
            if remaining >= chunk.prepare_visible {
                remaining -= chunk.prepare_visible;
                effect_pos += chunk.effect_visible;
                continue;
            }
            for (offset, &id) in chunk.ids.iter().enumerate() {
                let state = self.states[id as usize];
                if state.prepare == INSERTED {
                    if remaining == 0 {
                        return Cursor {
                            rank,
                            offset,
                            effect_pos,
                        };
                    }
                    remaining -= 1;
                }
                if !state.deleted {
                    effect_pos += 1;
                }
            }
        }
        panic!(
            "prepare position {index} is past the prepare length {}",
            self.prepare_len
        );
    }

    /// Returns the item at `cursor`, moving across chunk ends, or `None` at
    /// the document end.
    fn item_at(&self, cursor: Cursor) -> Option<u32> {
        let mut rank = cursor.rank;
        let mut offset = cursor.offset;
        while rank < self.order.len() {
            let ids = &self.chunks[self.order[rank] as usize].ids;
            if offset < ids.len() {
                return Some(ids[offset]);
            }
            offset -= ids.len();
            rank += 1;
        }
        None
    }

    fn is_not_inserted_at(&self, cursor: Cursor) -> bool {
        self.item_at(cursor)
            .is_some_and(|id| self.states[id as usize].prepare == NOT_INSERTED)
    }

    /// Returns the first item at or after `cursor` that exists in the prepare
    /// version (visible or deleted), or [`NO_ITEM`] if none does. This is the
    /// origin right of an item inserted at `cursor`.
    fn first_prepared_from(&self, cursor: Cursor) -> u32 {
        let mut rank = cursor.rank;
        let mut offset = cursor.offset;
        while rank < self.order.len() {
            let ids = &self.chunks[self.order[rank] as usize].ids;
            for &id in &ids[offset.min(ids.len())..] {
                if self.states[id as usize].prepare != NOT_INSERTED {
                    return id;
                }
            }
            rank += 1;
            offset = 0;
        }
        NO_ITEM
    }

    /// Places a new item among the concurrent items that follow `cursor`, and
    /// returns the place where it goes, with its merged document position.
    ///
    /// The scan covers the not-yet-inserted items up to the new item's origin
    /// right (the first item that exists in the prepare version). For each
    /// scanned item `other`:
    ///
    /// - `other`'s origin left is before the new item's: `other` is not a
    ///   sibling of the new item, so the new item goes before it.
    /// - Same origin left, `other`'s origin right before the new item's:
    ///   `other` was inserted next to an item the new item's author had not
    ///   seen. The scan passes it without moving the place yet (`scanning`),
    ///   and a later sibling decides whether the new item goes after it.
    /// - Same origin left and origin right: the tie-break decides.
    /// - Same origin left, `other`'s origin right after the new item's: the
    ///   new item goes after `other`.
    /// - `other`'s origin left is after the new item's: `other` is nested
    ///   under an item already scanned and follows that item's decision.
    fn integrate_among_concurrent(&self, cursor: Cursor, new: &ItemLinks) -> Cursor {
        let left = self.left_key(new.origin_left);
        let right = self.right_key(new.origin_right);
        let mut place = cursor;
        let mut scan = cursor;
        let mut scanning = false;
        loop {
            scan = self.normalize(scan);
            if !scanning {
                place = scan;
            }
            let Some(other) = self.item_at(scan) else {
                break;
            };
            let other_state = self.states[other as usize];
            if other_state.prepare != NOT_INSERTED {
                break;
            }
            let other_links = self.links[other as usize];
            let other_left = self.left_key(other_links.origin_left);
            if other_left < left {
                break;
            }
            if other_left == left {
                let other_right = self.right_key(other_links.origin_right);
                if other_right < right {
                    scanning = true;
                } else if other_right == right {
                    if self.insert_goes_first(new.txn, other_links.txn) {
                        break;
                    }
                    scanning = false;
                } else {
                    scanning = false;
                }
            }
            if !other_state.deleted {
                scan.effect_pos += 1;
            }
            scan.offset += 1;
        }
        place
    }

    /// Returns whether an insert by transaction `new_txn` goes before a
    /// concurrent insert by `other_txn` that has the same origins.
    ///
    /// The lower agent number goes first. Transactions of one agent are
    /// normally causally ordered and never tie here, so the transaction index
    /// only makes malformed input deterministic.
    fn insert_goes_first(&self, new_txn: u32, other_txn: u32) -> bool {
        let new_agent = self.txns[new_txn as usize].agent;
        let other_agent = self.txns[other_txn as usize].agent;
        (new_agent, new_txn) < (other_agent, other_txn)
    }

    /// Moves a cursor that sits at a chunk end to the start of the next
    /// non-empty chunk, if there is one.
    fn normalize(&self, mut cursor: Cursor) -> Cursor {
        while cursor.rank + 1 < self.order.len()
            && cursor.offset >= self.chunks[self.order[cursor.rank] as usize].ids.len()
        {
            cursor.offset -= self.chunks[self.order[cursor.rank] as usize].ids.len();
            cursor.rank += 1;
        }
        cursor
    }

    /// Returns a sort key for item `id`'s place in the document order.
    fn order_key(&self, id: u32) -> u64 {
        let chunk = &self.chunks[self.links[id as usize].chunk as usize];
        let offset = chunk
            .ids
            .iter()
            .position(|&other| other == id)
            .expect("item is stored in the chunk its links name");
        ((chunk.rank as u64) << 32) | offset as u64
    }

    /// Returns a sort key for an origin left, with the document start first.
    fn left_key(&self, origin: u32) -> u64 {
        if origin == NO_ITEM {
            0
        } else {
            self.order_key(origin) + 1
        }
    }

    /// Returns a sort key for an origin right, with the document end last.
    fn right_key(&self, origin: u32) -> u64 {
        if origin == NO_ITEM {
            u64::MAX
        } else {
            self.order_key(origin) + 1
        }
    }

    /// Stores new item `id` at `offset` in the chunk at `rank`, splitting the
    /// chunk when it overflows, and returns the rank and offset it ends at.
    /// The item counts as visible in both states in the chunk's counts, and
    /// the caller updates the document lengths.
    fn insert_id_at(&mut self, rank: usize, offset: usize, id: u32) -> (usize, usize) {
        let chunk_id = self.order[rank];
        let chunk = &mut self.chunks[chunk_id as usize];
        chunk.ids.insert(offset, id);
        chunk.prepare_visible += 1;
        chunk.effect_visible += 1;
        self.links[id as usize].chunk = chunk_id;
        if chunk.ids.len() <= self.max_chunk_len {
            return (rank, offset);
        }

        let half = chunk.ids.len() / 2;
        let moved = chunk.ids.split_off(half);
        let new_chunk_id = self.chunks.len() as u32;
        let mut prepare_visible = 0;
        let mut effect_visible = 0;
        for &moved_id in &moved {
            let state = self.states[moved_id as usize];
            if state.prepare == INSERTED {
                prepare_visible += 1;
            }
            if !state.deleted {
                effect_visible += 1;
            }
            self.links[moved_id as usize].chunk = new_chunk_id;
        }
        let chunk = &mut self.chunks[chunk_id as usize];
        chunk.prepare_visible -= prepare_visible;
        chunk.effect_visible -= effect_visible;
        self.chunks.push(Chunk {
            ids: moved,
            rank: rank + 1,
            prepare_visible,
            effect_visible,
        });
        self.order.insert(rank + 1, new_chunk_id);
        for later in rank + 2..self.order.len() {
            self.chunks[self.order[later] as usize].rank = later;
        }
        if offset >= half {
            (rank + 1, offset - half)
        } else {
            (rank, offset)
        }
    }
}

/// Appends a one-char delete at `pos`, merging it into the previous op when
/// that op deleted at the same position.
fn push_delete(effects: &mut Vec<EffectOp>, pos: usize) {
    if let Some(EffectOp::Delete { pos: last_pos, len }) = effects.last_mut() {
        if *last_pos == pos {
            *len += 1;
            return;
        }
    }
    effects.push(EffectOp::Delete { pos, len: 1 });
}

fn to_u32(value: usize, txn: usize, resource: &'static str) -> Result<u32, EventGraphError> {
    u32::try_from(value).map_err(|_| EventGraphError::CapacityExceeded {
        txn,
        resource,
        count: value + 1,
        max: u32::MAX as usize,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::path::PathBuf;

    use serde::Deserialize;

    use super::*;

    #[test]
    fn start_content_is_seen_by_roots() {
        let mut graph = EventGraph::with_start_content("héllo");
        let edit = |pos, insert: &str| Patch {
            pos,
            delete: 0,
            insert: insert.to_owned(),
        };
        let first = graph.integrate(&[], 0, &[edit(5, "!")]).unwrap();
        let second = graph.integrate(&[], 1, &[edit(0, ">")]).unwrap();
        assert_eq!(
            first,
            vec![EffectOp::Insert {
                pos: 5,
                text: "!".to_owned()
            }]
        );
        assert_eq!(
            second,
            vec![EffectOp::Insert {
                pos: 0,
                text: ">".to_owned()
            }]
        );
        assert_eq!(graph.merged_len(), 7);
        assert_eq!(graph.len(), 2);
    }

    /// One transaction as tests build it: parents, agent, patches.
    type TxnInput = (Vec<usize>, u32, Vec<Patch>);

    fn patch(pos: usize, delete: usize, insert: &str) -> Patch {
        Patch {
            pos,
            delete,
            insert: insert.to_owned(),
        }
    }

    fn apply_effects(doc: &mut Vec<char>, effects: &[EffectOp]) {
        for effect in effects {
            match effect {
                EffectOp::Insert { pos, text } => {
                    doc.splice(*pos..*pos, text.chars());
                }
                EffectOp::Delete { pos, len } => {
                    doc.drain(*pos..*pos + *len);
                }
            }
        }
    }

    /// Integrates every transaction in order and returns the merged text.
    fn replay(history: &[TxnInput]) -> String {
        replay_with_chunks(history, MAX_CHUNK_LEN)
    }

    /// Like [`replay`], with chunks that split above `max_chunk_len` ids.
    fn replay_with_chunks(history: &[TxnInput], max_chunk_len: usize) -> String {
        let mut graph = EventGraph::with_max_chunk_len(max_chunk_len);
        let mut doc = Vec::new();
        for (index, (parents, agent, patches)) in history.iter().enumerate() {
            let effects = graph
                .integrate(parents, *agent, patches)
                .unwrap_or_else(|error| panic!("transaction {index} failed: {error}"));
            apply_effects(&mut doc, &effects);
            assert_eq!(graph.merged_len(), doc.len(), "merged_len after {index}");
        }
        doc.into_iter().collect()
    }

    /// Returns `history` with its transactions put in `order` (a list of old
    /// indexes that must be a topological order) and parents renumbered.
    fn reorder(history: &[TxnInput], order: &[usize]) -> Vec<TxnInput> {
        let mut new_index = vec![usize::MAX; history.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        order
            .iter()
            .map(|&old| {
                let (parents, agent, patches) = &history[old];
                let parents = parents.iter().map(|&p| new_index[p]).collect();
                (parents, *agent, patches.clone())
            })
            .collect()
    }

    #[test]
    fn concurrent_inserts_order_by_agent() {
        // Both agents insert between "a" and "b" after seeing only "ab".
        let history: Vec<TxnInput> = vec![
            (vec![], 0, vec![patch(0, 0, "ab")]),
            (vec![0], 0, vec![patch(1, 0, "X")]),
            (vec![0], 1, vec![patch(1, 0, "Y")]),
        ];
        assert_eq!(replay(&history), "aXYb");
        assert_eq!(replay(&reorder(&history, &[0, 2, 1])), "aXYb");
    }

    #[test]
    fn agent_order_ignores_add_order() {
        // Agent 1 is added first but agent 0 still goes to the left.
        let history: Vec<TxnInput> = vec![
            (vec![], 1, vec![patch(0, 0, "ab")]),
            (vec![0], 1, vec![patch(1, 0, "Y")]),
            (vec![0], 0, vec![patch(1, 0, "X")]),
        ];
        assert_eq!(replay(&history), "aXYb");
        assert_eq!(replay(&reorder(&history, &[0, 2, 1])), "aXYb");
    }

    #[test]
    fn independent_roots_merge_by_agent() {
        // Two transactions made on the empty document, with no shared parent.
        let history: Vec<TxnInput> = vec![
            (vec![], 1, vec![patch(0, 0, "xyz")]),
            (vec![], 0, vec![patch(0, 0, "abc")]),
            (vec![0, 1], 1, vec![patch(3, 1, "")]),
        ];
        assert_eq!(replay(&history), "abcyz");
        assert_eq!(replay(&reorder(&history, &[1, 0, 2])), "abcyz");
    }

    #[test]
    fn concurrent_typing_runs_do_not_interleave() {
        // Each agent types two chars, one transaction per keystroke.
        let history: Vec<TxnInput> = vec![
            (vec![], 0, vec![patch(0, 0, "ab")]),
            (vec![0], 0, vec![patch(1, 0, "X")]),
            (vec![1], 0, vec![patch(2, 0, "x")]),
            (vec![0], 1, vec![patch(1, 0, "Y")]),
            (vec![3], 1, vec![patch(2, 0, "y")]),
            (vec![2, 4], 1, vec![patch(6, 0, "!")]),
        ];
        let orders: [&[usize]; 4] = [
            &[0, 1, 2, 3, 4, 5],
            &[0, 3, 4, 1, 2, 5],
            &[0, 1, 3, 2, 4, 5],
            &[0, 3, 1, 4, 2, 5],
        ];
        for order in orders {
            let merged = replay(&reorder(&history, order));
            assert_eq!(merged, "aXxYyb!", "order {order:?}");
        }
    }

    #[test]
    fn typing_after_merge_follows_own_insert() {
        // After merging "aXYb", agent 0 types at the end of its own insert.
        let history: Vec<TxnInput> = vec![
            (vec![], 0, vec![patch(0, 0, "ab")]),
            (vec![0], 0, vec![patch(1, 0, "X")]),
            (vec![0], 1, vec![patch(1, 0, "Y")]),
            (vec![1, 2], 0, vec![patch(2, 0, "Z")]),
        ];
        assert_eq!(replay(&history), "aXZYb");
        assert_eq!(replay(&reorder(&history, &[0, 2, 1, 3])), "aXZYb");
    }

    #[test]
    fn concurrent_deletes_apply_once() {
        let mut graph = EventGraph::new();
        let mut doc = Vec::new();
        let first = graph.integrate(&[], 0, &[patch(0, 0, "abc")]).unwrap();
        apply_effects(&mut doc, &first);

        let left = graph.integrate(&[0], 0, &[patch(1, 1, "")]).unwrap();
        assert_eq!(left, vec![EffectOp::Delete { pos: 1, len: 1 }]);
        apply_effects(&mut doc, &left);

        let right = graph.integrate(&[0], 1, &[patch(1, 1, "")]).unwrap();
        assert_eq!(
            right,
            Vec::new(),
            "second delete of 'b' must change nothing"
        );
        assert_eq!(graph.merged_len(), 2);

        // The merge transaction edits "ac" and inserts between the two chars.
        let merge = graph.integrate(&[1, 2], 1, &[patch(1, 0, "X")]).unwrap();
        assert_eq!(
            merge,
            vec![EffectOp::Insert {
                pos: 1,
                text: "X".into()
            }]
        );
        apply_effects(&mut doc, &merge);
        assert_eq!(doc.iter().collect::<String>(), "aXc");
    }

    #[test]
    fn concurrent_overlapping_deletes_delete_union() {
        let history: Vec<TxnInput> = vec![
            (vec![], 0, vec![patch(0, 0, "abcdef")]),
            (vec![0], 0, vec![patch(1, 3, "")]),
            (vec![0], 1, vec![patch(2, 3, "")]),
        ];
        assert_eq!(replay(&history), "af");
        assert_eq!(replay(&reorder(&history, &[0, 2, 1])), "af");
    }

    #[test]
    fn insert_inside_concurrent_delete_survives() {
        let mut graph = EventGraph::new();
        let mut doc = Vec::new();
        let first = graph
            .integrate(&[], 0, &[patch(0, 0, "hello world")])
            .unwrap();
        apply_effects(&mut doc, &first);
        let cleared = graph.integrate(&[0], 0, &[patch(0, 11, "")]).unwrap();
        assert_eq!(cleared, vec![EffectOp::Delete { pos: 0, len: 11 }]);
        apply_effects(&mut doc, &cleared);

        // Agent 1 saw "hello world" and typed inside it.
        let typed = graph.integrate(&[0], 1, &[patch(5, 0, ",")]).unwrap();
        assert_eq!(
            typed,
            vec![EffectOp::Insert {
                pos: 0,
                text: ",".into()
            }]
        );
        apply_effects(&mut doc, &typed);
        assert_eq!(doc.iter().collect::<String>(), ",");
    }

    #[test]
    fn delete_effect_skips_concurrent_insert() {
        // Agent 1 deletes "bc" while agent 0 typed "X" between them, so the
        // delete turns into two separate deletes around "X".
        let mut graph = EventGraph::new();
        graph.integrate(&[], 0, &[patch(0, 0, "abcd")]).unwrap();
        graph.integrate(&[0], 0, &[patch(2, 0, "X")]).unwrap();
        let effects = graph.integrate(&[0], 1, &[patch(1, 2, "")]).unwrap();
        assert_eq!(
            effects,
            vec![
                EffectOp::Delete { pos: 1, len: 1 },
                EffectOp::Delete { pos: 2, len: 1 },
            ]
        );
        assert_eq!(graph.merged_len(), 3);
    }

    #[test]
    fn later_patches_see_earlier_patches() {
        let history: Vec<TxnInput> = vec![
            (vec![], 0, vec![patch(0, 0, "abc")]),
            (
                vec![0],
                0,
                vec![patch(3, 0, "def"), patch(0, 1, "A"), patch(5, 1, "")],
            ),
        ];
        assert_eq!(replay(&history), "Abcde");
    }

    #[test]
    fn non_ascii_positions_count_chars() {
        let history: Vec<TxnInput> = vec![
            (vec![], 0, vec![patch(0, 0, "héllo wörld")]),
            (vec![0], 0, vec![patch(7, 1, "ö")]),
            (vec![0], 1, vec![patch(1, 1, "e")]),
        ];
        assert_eq!(replay(&history), "hello wörld");
    }

    #[test]
    fn parent_not_earlier_is_rejected() {
        let mut graph = EventGraph::new();
        graph.integrate(&[], 0, &[patch(0, 0, "a")]).unwrap();
        let error = graph.integrate(&[1], 0, &[]).unwrap_err();
        assert_eq!(
            error,
            EventGraphError::ParentNotEarlier { txn: 1, parent: 1 }
        );
        assert!(error.to_string().contains("parent 1"), "{error}");
        assert_eq!(graph.len(), 1);
    }

    #[test]
    fn position_past_end_is_rejected() {
        let mut graph = EventGraph::new();
        graph.integrate(&[], 0, &[patch(0, 0, "abc")]).unwrap();
        let error = graph
            .integrate(&[0], 0, &[patch(0, 0, "x"), patch(5, 0, "y")])
            .unwrap_err();
        let expected = EventGraphError::PositionPastEnd {
            txn: 1,
            patch: 1,
            pos: 5,
            len: 4,
        };
        assert_eq!(error, expected);
        assert!(error.to_string().contains("position 5"), "{error}");
        assert_eq!(graph.len(), 1);
        assert_eq!(graph.merged_len(), 3);
    }

    #[test]
    fn delete_past_end_is_rejected() {
        let mut graph = EventGraph::new();
        graph.integrate(&[], 0, &[patch(0, 0, "abc")]).unwrap();
        let error = graph.integrate(&[0], 0, &[patch(1, 3, "")]).unwrap_err();
        let expected = EventGraphError::DeletePastEnd {
            txn: 1,
            patch: 0,
            pos: 1,
            delete: 3,
            len: 3,
        };
        assert_eq!(error, expected);
        assert!(error.to_string().contains("at most 2 chars"), "{error}");
        assert_eq!(graph.len(), 1);
    }

    #[test]
    fn rejected_transaction_leaves_graph_unchanged() {
        // A failed call on a concurrent branch must not change what later
        // calls return.
        let history: Vec<TxnInput> = vec![
            (vec![], 0, vec![patch(0, 0, "abc")]),
            (vec![0], 0, vec![patch(3, 0, "d")]),
            (vec![0], 1, vec![patch(0, 1, "")]),
            (vec![1, 2], 1, vec![patch(3, 0, "e")]),
        ];
        let mut clean = EventGraph::new();
        let mut failed = EventGraph::new();
        for (index, (parents, agent, patches)) in history.iter().enumerate() {
            if index == 2 {
                let bad = failed.integrate(&[1], 0, &[patch(9, 0, "z")]);
                assert!(bad.is_err(), "position 9 must be rejected");
                assert_eq!(failed.len(), 2);
            }
            let expected = clean.integrate(parents, *agent, patches).unwrap();
            let actual = failed.integrate(parents, *agent, patches).unwrap();
            assert_eq!(actual, expected, "transaction {index}");
        }
        assert_eq!(failed.merged_len(), clean.merged_len());
    }

    /// A small deterministic pseudo-random generator (64-bit LCG), so the
    /// random histories are the same on every run.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, bound: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) as usize) % bound
        }
    }

    /// Returns the merged text at the version that contains `heads` and
    /// their ancestors, by replaying only those transactions.
    fn text_at(history: &[TxnInput], heads: &[usize]) -> String {
        let mut included = vec![false; history.len()];
        let mut stack = heads.to_vec();
        while let Some(txn) = stack.pop() {
            if !included[txn] {
                included[txn] = true;
                stack.extend_from_slice(&history[txn].0);
            }
        }
        let order: Vec<usize> = (0..history.len()).filter(|&t| included[t]).collect();
        replay(&reorder(history, &order))
    }

    /// Builds a history where `agents` agents edit concurrently, each
    /// sometimes merging another agent's branch, with many inserts at the
    /// same places so the integration rule decides often.
    fn random_history(rng: &mut Lcg, agents: usize, txns: usize) -> Vec<TxnInput> {
        let mut history: Vec<TxnInput> = vec![(vec![], 0, vec![patch(0, 0, "0123")])];
        let mut heads = vec![0usize; agents];
        for _ in 1..txns {
            let agent = rng.below(agents);
            let other = rng.below(agents);
            let mut parents = vec![heads[agent]];
            if other != agent && heads[other] != heads[agent] && rng.below(3) == 0 {
                parents.push(heads[other]);
            }
            let mut len = text_at(&history, &parents).chars().count();
            let mut patches = Vec::new();
            for _ in 0..1 + rng.below(2) {
                let pos = rng.below(len + 1);
                let delete = if len > pos && rng.below(3) == 0 {
                    1 + rng.below((len - pos).min(3))
                } else {
                    0
                };
                let letter = char::from(b'a' + agent as u8);
                let insert: String = if delete == 0 || rng.below(2) == 0 {
                    std::iter::repeat_n(letter, 1 + rng.below(3)).collect()
                } else {
                    String::new()
                };
                len = len - delete + insert.chars().count();
                patches.push(Patch {
                    pos,
                    delete,
                    insert,
                });
            }
            // A merge is minimal only if neither head contains the other,
            // but the graph accepts redundant parents too.
            history.push((parents, agent as u32, patches));
            heads[agent] = history.len() - 1;
        }
        history
    }

    /// Returns a random topological order of `history`.
    fn random_order(rng: &mut Lcg, history: &[TxnInput]) -> Vec<usize> {
        let mut placed = vec![false; history.len()];
        let mut order = Vec::with_capacity(history.len());
        while order.len() < history.len() {
            let ready: Vec<usize> = (0..history.len())
                .filter(|&t| !placed[t] && history[t].0.iter().all(|&p| placed[p]))
                .collect();
            let next = ready[rng.below(ready.len())];
            placed[next] = true;
            order.push(next);
        }
        order
    }

    #[test]
    fn random_histories_converge_across_orders() {
        let mut rng = Lcg(0x5eed);
        for case in 0..40 {
            let history = random_history(&mut rng, 3, 30);
            let merged = replay(&history);
            for max_chunk_len in [2, 3, 5] {
                let order = random_order(&mut rng, &history);
                let reordered = replay_with_chunks(&reorder(&history, &order), max_chunk_len);
                assert_eq!(
                    reordered, merged,
                    "case {case}, chunks of {max_chunk_len}, order {order:?}"
                );
            }
        }
    }

    #[derive(Deserialize)]
    struct TraceFile {
        #[serde(rename = "startContent", default)]
        start_content: String,
        #[serde(rename = "endContent")]
        end_content: String,
        txns: Vec<TraceTxn>,
    }

    #[derive(Deserialize)]
    struct TraceTxn {
        /// Missing in sequential traces, where each transaction follows the
        /// previous one.
        parents: Option<Vec<usize>>,
        #[serde(default)]
        agent: u32,
        patches: Vec<(usize, usize, String)>,
    }

    fn load_trace(name: &str) -> TraceFile {
        let path: PathBuf = [
            env!("CARGO_MANIFEST_DIR"),
            "..",
            "..",
            "shared",
            "data",
            "editing-traces",
            name,
        ]
        .iter()
        .collect();
        let file = std::fs::File::open(&path).unwrap_or_else(|error| {
            panic!(
                "editing trace {} is missing or unreadable ({error}); \
                 the shared data folder must sit two levels above the server crate",
                path.display()
            )
        });
        let mut json = String::new();
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut json)
            .unwrap_or_else(|error| panic!("failed to decompress {}: {error}", path.display()));
        serde_json::from_str(&json)
            .unwrap_or_else(|error| panic!("failed to parse {}: {error}", path.display()))
    }

    /// Replays a trace file and checks the merged text against its
    /// `endContent`.
    fn check_trace(name: &str) {
        let trace = load_trace(name);
        let mut graph = EventGraph::new();
        let mut doc: Vec<char> = trace.start_content.chars().collect();
        let mut offset = 0;
        if !doc.is_empty() {
            let start = patch(0, 0, &trace.start_content);
            graph.integrate(&[], 0, &[start]).unwrap();
            offset = 1;
            doc.clear();
            doc.extend(trace.start_content.chars());
        }
        for (index, txn) in trace.txns.iter().enumerate() {
            let txn_index = index + offset;
            let parents: Vec<usize> = match &txn.parents {
                Some(parents) => parents.iter().map(|p| p + offset).collect(),
                None => txn_index.checked_sub(1).into_iter().collect(),
            };
            let patches: Vec<Patch> = txn
                .patches
                .iter()
                .map(|(pos, delete, insert)| patch(*pos, *delete, insert))
                .collect();
            let effects = graph
                .integrate(&parents, txn.agent, &patches)
                .unwrap_or_else(|error| panic!("{name}: {error}"));
            apply_effects(&mut doc, &effects);
        }
        assert_eq!(graph.len(), trace.txns.len() + offset);
        assert_eq!(graph.merged_len(), trace.end_content.chars().count());
        let merged: String = doc.into_iter().collect();
        assert!(
            merged == trace.end_content,
            "{name}: merged text differs from endContent"
        );
    }

    #[test]
    fn friendsforever_trace_matches_end_content() {
        check_trace("concurrent-friendsforever.json.gz");
    }

    #[test]
    fn clownschool_trace_matches_end_content() {
        check_trace("concurrent-clownschool.json.gz");
    }

    #[test]
    fn sveltecomponent_trace_matches_end_content() {
        check_trace("sequential-sveltecomponent.json.gz");
    }
}
