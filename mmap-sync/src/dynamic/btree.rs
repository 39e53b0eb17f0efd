//! `BTreeMap` and `BTreeSet` as rkyv 0.8 archives them: `ArchivedBTreeMap<K, V, 5>`.
//!
//! ```text
//! ArchivedBTreeMap repr(C) { root: i32 (relative, to a node; none when len is 0), len: u32 }
//! ```
//!
//! Nodes are laid out as [`NodeLayout`] says: a kind byte, five keys, five values, then a leaf's
//! entry count or an inner node's six child pointers (`lesser_nodes[i]` before entry `i`,
//! `greater_node` after the last; an offset of 1 is no child). Inner nodes hold five entries;
//! keys are in order, so a lookup descends from the root. A set's values are `()`.

use std::cmp::Ordering;

use crate::schema::{ArchivedLayout, Shape};

use super::archive::DynArchive;
use super::error::DynError;
use super::key::{Key, compare, probe};
use super::layout::{BTREE_ENTRIES, NODE_INNER, NODE_LEAF, NodeLayout, node_layout};
use super::value::Value;

/// The deepest tree read: rkyv's trees of at most `u32::MAX` entries are 13 levels deep.
const MAX_HEIGHT: usize = 16;

/// The relative pointer offset rkyv writes for "no node".
const NO_NODE: i32 = 1;

/// An archived B-tree, its header read.
#[derive(Clone, Copy, Debug)]
pub(super) struct Tree<'a> {
    archive: DynArchive<'a>,
    key: &'a Shape,
    value: Option<&'a Shape>,
    nodes: NodeLayout,
    len: usize,
    /// Where the root pointer is stored (the map's own position).
    root: usize,
}

/// A node, checked to lie inside the archive, aligned, with a valid kind and entry count.
#[derive(Clone, Copy, Debug, Default)]
struct Node {
    position: usize,
    inner: bool,
    /// Entries (at most 5).
    len: u8,
}

impl<'a> Tree<'a> {
    pub(super) fn open(
        map: Value<'a>,
        key: &'a Shape,
        value: Option<&'a Shape>,
    ) -> Result<Tree<'a>, DynError> {
        let archive = map.archive();
        let value_layout = match value {
            Some(shape) => archive.layout(shape)?,
            None => ArchivedLayout { size: 0, align: 1 },
        };
        let nodes = node_layout(archive.layout(key)?, value_layout)
            .ok_or_else(|| DynError::structure("", "B-tree nodes too large"))?;
        let len = archive.u32(map.position() + 4)? as usize;
        Ok(Tree { archive, key, value, nodes, len, root: map.position() })
    }

    pub(super) fn archive(&self) -> DynArchive<'a> {
        self.archive
    }

    /// The length it records.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The node the relative pointer at `pointer` points to.
    fn node(&self, pointer: usize) -> Result<Node, DynError> {
        let nodes = &self.nodes;
        let position = self.archive.follow(pointer, nodes.node.size, nodes.node.align)?;
        let (layout, inner) = match self.archive.u8(position)? {
            NODE_LEAF => (nodes.leaf, false),
            NODE_INNER => (nodes.inner, true),
            kind => return Err(DynError::corrupt(format!("a B-tree node of kind {kind}"))),
        };
        // The leaf or inner node as a whole, as rkyv checks it once the kind is known.
        self.archive.span(position, layout.size as usize)?;
        if !(position as u64).is_multiple_of(layout.align) {
            return Err(DynError::corrupt(format!(
                "a B-tree node at byte {position}, not aligned to {}",
                layout.align
            )));
        }
        let len = if inner {
            BTREE_ENTRIES as u8
        } else {
            let len = self.archive.u32(position + nodes.leaf_len as usize)? as usize;
            if len > BTREE_ENTRIES as usize {
                return Err(DynError::corrupt(format!(
                    "a B-tree leaf of {len} entries (at most {BTREE_ENTRIES})"
                )));
            }
            len as u8
        };
        Ok(Node { position, inner, len })
    }

    fn root(&self) -> Result<Node, DynError> {
        self.node(self.root)
    }

    /// Child `index` of an inner node (0..=4 before entry `index`, 5 after the last entry).
    fn child(&self, node: &Node, index: usize) -> Result<Option<Node>, DynError> {
        let pointer = node.position + self.nodes.inner_children as usize + 4 * index;
        if self.archive.i32(pointer)? == NO_NODE {
            return Ok(None);
        }
        self.node(pointer).map(Some)
    }

    /// Entry `index` of a node: its key, and its value for a map.
    fn entry(&self, node: &Node, index: usize) -> (Value<'a>, Option<Value<'a>>) {
        let nodes = &self.nodes;
        // Inside the node, which `node` checked.
        let key = node.position + (nodes.keys + index as u64 * nodes.key_size) as usize;
        let value = node.position + (nodes.values + index as u64 * nodes.value_size) as usize;
        (
            Value::new(self.archive, self.key, key),
            self.value.map(|shape| Value::new(self.archive, shape, value)),
        )
    }

    /// The entry whose key equals `key`, found by descending as rkyv's `get` does.
    pub(super) fn get(
        &self,
        key: Key<'_>,
    ) -> Result<Option<(Value<'a>, Option<Value<'a>>)>, DynError> {
        let Some(probe) = probe(self.archive.structure(), self.key, key)? else {
            return Ok(None);
        };
        if self.len == 0 {
            return Ok(None);
        }
        let mut node = self.root()?;
        for _ in 0..MAX_HEIGHT {
            let mut lesser = None;
            for index in 0..usize::from(node.len) {
                let (k, v) = self.entry(&node, index);
                match compare(&probe, k)? {
                    Ordering::Equal => return Ok(Some((k, v))),
                    Ordering::Less => {
                        lesser = Some(index);
                        break;
                    }
                    Ordering::Greater => {}
                }
            }
            if !node.inner {
                return Ok(None);
            }
            match self.child(&node, lesser.unwrap_or(BTREE_ENTRIES as usize))? {
                Some(child) => node = child,
                None => return Ok(None),
            }
        }
        Err(too_deep())
    }

    /// The entries in order.
    pub(super) fn iter(self) -> TreeIter<'a> {
        TreeIter {
            tree: self,
            stack: [Frame::default(); MAX_HEIGHT],
            depth: 0,
            left: self.len,
            started: false,
            done: false,
        }
    }
}

fn too_deep() -> DynError {
    DynError::corrupt(format!("a B-tree deeper than {MAX_HEIGHT} levels"))
}

#[derive(Clone, Copy, Debug, Default)]
struct Frame {
    node: Node,
    /// A leaf: the next entry. An inner node: steps 0..=10, even ones descend into child
    /// `step / 2`, odd ones yield entry `step / 2`.
    step: u8,
}

/// The entries of a [`Tree`] in order, on a stack of fixed depth (no allocation). Yields exactly
/// `len` entries or ends in an error: a tree that holds fewer or more than its length, or whose
/// nodes are bad, is corrupt.
#[derive(Clone, Debug)]
pub(super) struct TreeIter<'a> {
    tree: Tree<'a>,
    stack: [Frame; MAX_HEIGHT],
    depth: usize,
    left: usize,
    started: bool,
    done: bool,
}

impl<'a> TreeIter<'a> {
    fn fail(&mut self, error: DynError) -> Option<<Self as Iterator>::Item> {
        self.done = true;
        Some(Err(error))
    }

    fn push(&mut self, node: Node) -> Result<(), DynError> {
        let frame = self.stack.get_mut(self.depth).ok_or_else(too_deep)?;
        *frame = Frame { node, step: 0 };
        self.depth += 1;
        Ok(())
    }

    fn entry(&mut self, node: Node, index: usize) -> Option<<Self as Iterator>::Item> {
        if self.left == 0 {
            let len = self.tree.len;
            return self.fail(DynError::corrupt(format!(
                "a B-tree holds more entries than its length of {len}"
            )));
        }
        self.left -= 1;
        Some(Ok(self.tree.entry(&node, index)))
    }
}

impl<'a> Iterator for TreeIter<'a> {
    type Item = Result<(Value<'a>, Option<Value<'a>>), DynError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if !self.started {
            self.started = true;
            if self.tree.len == 0 {
                self.done = true;
                return None;
            }
            if let Err(e) = self.tree.root().and_then(|root| self.push(root)) {
                return self.fail(e);
            }
        }
        loop {
            let Some(frame) = self.depth.checked_sub(1).and_then(|top| self.stack.get_mut(top))
            else {
                self.done = true;
                if self.left != 0 {
                    let len = self.tree.len;
                    return Some(Err(DynError::corrupt(format!(
                        "a B-tree holds fewer entries than its length of {len}"
                    ))));
                }
                return None;
            };
            let node = frame.node;
            let step = usize::from(frame.step);
            frame.step = frame.step.saturating_add(1);
            if !node.inner {
                if step < usize::from(node.len) {
                    return self.entry(node, step);
                }
                self.depth -= 1;
                continue;
            }
            if step > 2 * BTREE_ENTRIES as usize {
                self.depth -= 1;
                continue;
            }
            if step % 2 == 1 {
                return self.entry(node, step / 2);
            }
            match self.tree.child(&node, step / 2).and_then(|child| match child {
                Some(child) => self.push(child),
                None => Ok(()),
            }) {
                Ok(()) => {}
                Err(e) => return self.fail(e),
            }
        }
    }
}
