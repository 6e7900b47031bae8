//! `NodeStore`: the znodes, compactly.
//!
//! Nodes live in a chunked slab (slots of 4,096, so growth never copies or
//! doubles memory), each holding its own path; a hash table of slot numbers
//! finds a node by path (4 bytes a bucket, hashing the path held in the
//! slot); each node lists its children as slot numbers sorted by name.
//! Per znode that is the node itself, its path, its data, ~5 bytes of index
//! and 4 bytes in its parent's list — no second copy of any name.
//!
//! Slot numbers are internal: they never reach an outcome, a reply or the
//! disk, so replicas may number differently.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};
use thin_vec::ThinVec;

use crate::node::Node;
use crate::path;

const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;
const MASK: u32 = (1 << CHUNK_BITS) - 1;

/// The node index and slab.
#[derive(Debug, Clone, Default)]
pub(crate) struct NodeStore {
    index: HashTable<u32>,
    /// foldhash, randomly seeded (hashbrown's default): several times
    /// faster than SipHash on paths, and still seeded per process.
    hasher: DefaultHashBuilder,
    chunks: Vec<Box<[Option<Node>]>>,
    free: Vec<u32>,
    next: u32,
    len: usize,
    /// ZooKeeper's `approximateDataSize`: path plus data bytes of every
    /// node, kept as nodes come and go and data changes.
    data_size: u64,
}

fn size_of(p: &str, data: Option<&[u8]>) -> u64 {
    (p.len() + data.map_or(0, <[u8]>::len)) as u64
}

fn slot(chunks: &[Box<[Option<Node>]>], id: u32) -> Option<&Node> {
    chunks
        .get((id >> CHUNK_BITS) as usize)?
        .get((id & MASK) as usize)?
        .as_ref()
}

fn slot_mut(chunks: &mut [Box<[Option<Node>]>], id: u32) -> Option<&mut Option<Node>> {
    chunks
        .get_mut((id >> CHUNK_BITS) as usize)?
        .get_mut((id & MASK) as usize)
}

fn path_of(chunks: &[Box<[Option<Node>]>], id: u32) -> &str {
    slot(chunks, id).map_or("", |n| &n.path)
}

impl NodeStore {
    /// Makes room for `additional` more nodes in the index (loading a
    /// store of known size rehashes nothing).
    pub(crate) fn reserve(&mut self, additional: usize) {
        let (chunks, hasher) = (&self.chunks, &self.hasher);
        self.index
            .reserve(additional, |&id| hasher.hash_one(path_of(chunks, id)));
    }

    fn id_of(&self, p: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(p);
        let chunks = &self.chunks;
        self.index
            .find(hash, |&id| path_of(chunks, id) == p)
            .copied()
    }

    /// The node at `p`.
    pub(crate) fn get(&self, p: &str) -> Option<&Node> {
        slot(&self.chunks, self.id_of(p)?)
    }

    /// The node at `p`, to mutate (not its path or children).
    pub(crate) fn get_mut(&mut self, p: &str) -> Option<&mut Node> {
        let id = self.id_of(p)?;
        slot_mut(&mut self.chunks, id)?.as_mut()
    }

    pub(crate) fn contains(&self, p: &str) -> bool {
        self.id_of(p).is_some()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Path and data bytes of every node (`approximateDataSize`).
    pub(crate) fn data_size(&self) -> u64 {
        self.data_size
    }

    /// Replaces the data of the node at `p` (one lookup), returning the old
    /// data and the node; `None` if there is no such node.
    pub(crate) fn set_data(
        &mut self,
        p: &str,
        data: Option<Box<[u8]>>,
    ) -> Option<(Option<Box<[u8]>>, &mut Node)> {
        let id = self.id_of(p)?;
        let node = slot_mut(&mut self.chunks, id)?.as_mut()?;
        let before = node.data.as_deref().map_or(0, <[u8]>::len) as u64;
        let old = std::mem::replace(&mut node.data, data);
        let after = node.data.as_deref().map_or(0, <[u8]>::len) as u64;
        self.data_size = (self.data_size + after).saturating_sub(before);
        Some((old, node))
    }

    /// Inserts a node at `p` (replacing none: the caller checked) and links
    /// it into its parent's children, if the parent is there.
    pub(crate) fn insert(&mut self, p: &str, node: Node) {
        let parent = path::parent(p).and_then(|parent| self.id_of(parent));
        self.insert_at(p.into(), node, parent);
    }

    /// Inserts a node read back from disk, whose parent must already be
    /// here. `hint` is the parent's slot from the previous call: keys come
    /// in byte order, so siblings mostly arrive together and the parent's
    /// lookup is skipped.
    ///
    /// # Errors
    /// The path back, inserting nothing, if the parent is missing.
    pub(crate) fn insert_loaded(
        &mut self,
        p: Box<str>,
        node: Node,
        hint: &mut u32,
    ) -> Result<(), Box<str>> {
        let Some(parent) = path::parent(&p) else {
            self.insert_at(p, node, None);
            return Ok(());
        };
        let pid = match slot(&self.chunks, *hint) {
            Some(n) if &*n.path == parent => *hint,
            _ => match self.id_of(parent) {
                Some(pid) => pid,
                None => return Err(p),
            },
        };
        *hint = pid;
        self.insert_at(p, node, Some(pid));
        Ok(())
    }

    fn insert_at(&mut self, p: Box<str>, mut node: Node, parent: Option<u32>) {
        let hash = self.hasher.hash_one(&*p);
        self.data_size += size_of(&p, node.data.as_deref());
        node.path = p;
        node.children = ThinVec::new();
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                let id = self.next;
                self.next += 1;
                if (id >> CHUNK_BITS) as usize >= self.chunks.len() {
                    self.chunks.push((0..CHUNK).map(|_| None).collect());
                }
                id
            }
        };
        if let Some(s) = slot_mut(&mut self.chunks, id) {
            *s = Some(node);
        }
        let (chunks, hasher) = (&self.chunks, &self.hasher);
        self.index
            .insert_unique(hash, id, |&id| hasher.hash_one(path_of(chunks, id)));
        self.len += 1;
        if let Some(pid) = parent {
            self.link(pid, id);
        }
    }

    /// Adds child slot `id` to `parent`'s children, keeping them sorted.
    fn link(&mut self, pid: u32, id: u32) {
        let mut kids = match slot_mut(&mut self.chunks, pid).and_then(Option::as_mut) {
            Some(n) => std::mem::take(&mut n.children),
            None => return,
        };
        let name = path::name(path_of(&self.chunks, id));
        // Loading a store brings children in name order: append.
        let after_last = kids
            .last()
            .is_none_or(|&c| path::name(path_of(&self.chunks, c)) < name);
        if after_last {
            kids.push(id);
        } else {
            let pos = kids
                .binary_search_by(|&c| path::name(path_of(&self.chunks, c)).cmp(name))
                .unwrap_or_else(|e| e);
            kids.insert(pos, id);
        }
        if let Some(n) = slot_mut(&mut self.chunks, pid).and_then(Option::as_mut) {
            n.children = kids;
        }
    }

    /// Removes the node at `p` (unlinking it from its parent) and returns
    /// it; its children, if any, are left unreachable, so callers remove
    /// only childless nodes.
    pub(crate) fn remove(&mut self, p: &str) -> Option<Node> {
        let hash = self.hasher.hash_one(p);
        let chunks = &self.chunks;
        let entry = self
            .index
            .find_entry(hash, |&id| path_of(chunks, id) == p)
            .ok()?;
        let (id, _) = entry.remove();
        if let Some(pid) = path::parent(p).and_then(|parent| self.id_of(parent)) {
            let name = path::name(p);
            let mut kids = match slot_mut(&mut self.chunks, pid).and_then(Option::as_mut) {
                Some(n) => std::mem::take(&mut n.children),
                None => ThinVec::new(),
            };
            if let Ok(pos) =
                kids.binary_search_by(|&c| path::name(path_of(&self.chunks, c)).cmp(name))
            {
                kids.remove(pos);
            }
            if let Some(n) = slot_mut(&mut self.chunks, pid).and_then(Option::as_mut) {
                n.children = kids;
            }
        }
        let node = slot_mut(&mut self.chunks, id)?.take();
        self.free.push(id);
        self.len -= 1;
        if let Some(n) = &node {
            self.data_size = self
                .data_size
                .saturating_sub(size_of(&n.path, n.data.as_deref()));
        }
        node
    }

    /// The names of a node's children, sorted.
    pub(crate) fn child_names<'a>(&'a self, node: &'a Node) -> impl Iterator<Item = &'a str> + 'a {
        node.children
            .iter()
            .map(|&c| path::name(path_of(&self.chunks, c)))
    }

    /// Every node, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Node> {
        self.chunks
            .iter()
            .flat_map(|c| c.iter().filter_map(Option::as_ref))
    }
}
