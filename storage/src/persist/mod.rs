//! `Store`: the tree and the session table on fjall.
//!
//! Keyspaces `nodes`, `sessions` and `meta` (layout in `encoding`). A commit
//! writes every node and session changed since the previous commit, and the
//! last applied zxid, in **one** atomic batch, so the store always holds the
//! state after some whole number of commands: recovery never sees half a
//! `multi`. Children lists, the ephemeral index, the container/TTL index and
//! ACL interning are derived on load, not stored.

pub mod encoding;

use std::path::Path;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable};

use crate::StorageError;
use crate::acl::AclRef;
use crate::node::Node;
use crate::path;
use crate::tree::{Changes, Tree, TreeConfig};
use bytes::Bytes;
use encoding::{decode_i64, decode_session, encode_node, encode_session};

const FORMAT_KEY: &str = "format";
/// fjall's block cache for the tree's store.
const CACHE_BYTES: u64 = 4 << 20;
/// Largest memtable of a keyspace before fjall flushes it to a table.
const MEMTABLE_BYTES: u64 = 8 << 20;
/// Journal size at which fjall flushes the keyspaces that keep the oldest
/// journal alive (its minimum).
pub const JOURNAL_BYTES: u64 = 64 << 20;
/// fjall's background threads (memtable flushes, compactions) per
/// database. With two or more, fjall 3.1's first worker hands every
/// compaction message back to the queue for another (`worker_tick`), and
/// spins doing so while the other compacts: 3.6 % of the server's CPU
/// under a write load, with as much again in the channel's sends.
pub const FJALL_WORKERS: usize = 1;
const LAST_ZXID_KEY: &str = "last_zxid";

/// How durable a commit must be when it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// In the OS's buffers: survives a crash of the process, not of the
    /// machine. Right when a durable log can replay what a power loss takes.
    Buffered,
    /// `fdatasync`ed: survives power loss.
    Synced,
    /// Left in fjall's journal buffer, in the process, until a later write
    /// fills it: lost even by a crash of the process. Only the fault
    /// harness's deliberately broken build uses it, to make a `kill -9`
    /// lose what a power cut would.
    Unflushed,
}

/// The persistent home of a [`Tree`].
pub struct Store {
    db: Database,
    nodes: Keyspace,
    sessions: Keyspace,
    meta: Keyspace,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the store in `dir` and loads its tree. A new store
    /// starts from ZooKeeper's initial tree, written durably before this
    /// returns.
    ///
    /// # Errors
    /// [`StorageError`] if fjall fails or a stored value is corrupt.
    pub fn open(dir: &Path, config: TreeConfig) -> Result<(Store, Tree), StorageError> {
        // The tree lives in memory; fjall is read only to load it and to
        // write snapshots, so its block cache is kept small, and so are the
        // memtables (fjall's defaults, 32 MiB of cache and 64 MiB per
        // memtable, cost about 100 MiB of resident memory under load for
        // nothing).
        //
        // The journal is capped at fjall's minimum: journals rotate at
        // 64 MB, and one is deleted only once every keyspace written in it
        // has flushed; `meta` and `sessions` fill their memtables slowly, so
        // with the default cap (512 MiB) they pin every journal until half
        // a gigabyte must be replayed after a crash (2 s of a restart with
        // 1 M znodes). At the cap fjall flushes the stragglers.
        let store = Self::open_keyspaces(dir)?;
        let tree = match store.meta.get(FORMAT_KEY)? {
            None => {
                let mut tree = Tree::new(config);
                store.replace(&mut tree, &[])?;
                tree
            }
            Some(v) if v.as_ref() == [encoding::VERSION] => store.load(config)?,
            Some(v) => {
                return Err(StorageError::Corrupt(format!(
                    "unknown store format {:?}",
                    v.as_ref()
                )));
            }
        };
        Ok((store, tree))
    }

    /// Creates a store in `dir`, which must not hold one, holding `tree`
    /// and `extra` (see [`Store::commit_with`]): nodes and sessions are
    /// bulk-ingested as sorted tables (fsynced), then `extra`, the last
    /// zxid and the format are written in one synced batch. Much faster
    /// than a write batch for a whole tree (`corral import`). Returns the
    /// [`Stored`] account of what was written, to compare with
    /// [`Store::stored`] read back. Its `digest` is that of the values as
    /// encoded (each decoded again), which must be `digest`, the tree's.
    ///
    /// A store interrupted before the last batch has no format: callers
    /// build it under a temporary name and rename it when this returns.
    ///
    /// # Errors
    /// [`StorageError`] if fjall fails or `dir` holds a store already.
    pub fn create(
        dir: &Path,
        tree: &Tree,
        digest: i64,
        extra: &[(&str, &[u8])],
    ) -> Result<Stored, StorageError> {
        let store = Self::create_empty(dir)?;
        let mut account = Stored {
            last_zxid: tree.last_zxid,
            digest,
            ..Stored::default()
        };
        let mut nodes: Vec<&Node> = tree.nodes.iter().collect();
        // Slab order: after an import, mostly the sorted order the nodes were
        // loaded in; a stable sort merges the runs that are already sorted.
        nodes.sort_by(|a, b| a.path().as_bytes().cmp(b.path().as_bytes()));
        account.middle = nodes
            .get(nodes.len() / 2)
            .map(|n| n.path().to_owned())
            .unwrap_or_default();
        // One thread encodes (and sums) the values while this one writes
        // them.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(&str, Bytes)>>(8);
        let summed = std::thread::scope(|scope| -> Result<Stored, StorageError> {
            let encoder = scope.spawn(move || -> Result<Stored, StorageError> {
                let mut sum = Stored::default();
                for chunk in nodes.chunks(LOAD_BATCH) {
                    let mut batch: Vec<(&str, Bytes)> = Vec::with_capacity(chunk.len());
                    for n in chunk {
                        let value = encode_node(&n.stat, tree.acls.get(n.acl), n.data.as_deref());
                        sum.add_node(n.path(), &value)?;
                        batch.push((n.path(), value));
                    }
                    if tx.send(batch).is_err() {
                        break;
                    }
                }
                Ok(sum)
            });
            store.ingest_nodes(rx.iter().flatten())?;
            drop(rx);
            encoder
                .join()
                .map_err(|_| StorageError::Corrupt("the encoder panicked".into()))?
        })?;
        if summed.digest != digest {
            return Err(StorageError::Corrupt(format!(
                "the encoded nodes' digest is {}, the tree's {digest}",
                summed.digest
            )));
        }
        account.nodes = summed.nodes;
        account.checksum = summed.checksum;
        let mut sessions: Vec<([u8; 8], Bytes)> = tree
            .sessions
            .iter()
            .map(|(id, info)| (id.to_be_bytes(), encode_session(info)))
            .collect();
        sessions.sort_unstable_by_key(|s| s.0);
        let mut ingest = store.sessions.start_ingestion()?;
        for (key, value) in &sessions {
            account.sessions += 1;
            ingest.write(key.as_slice(), value.as_ref())?;
        }
        ingest.finish()?;
        let batch = store.db.batch().durability(Some(PersistMode::SyncData));
        store.seal(batch, tree, extra)?;
        Ok(account)
    }

    /// Opens a new store in `dir` for [`Store::ingest_nodes`] and
    /// [`Store::seal_import`] (`corral import`), refusing a directory that
    /// holds one. Until sealed it has no format: an interrupted import
    /// leaves nothing a server would open.
    ///
    /// # Errors
    /// [`StorageError`] if fjall fails or `dir` holds a store already.
    pub fn create_empty(dir: &Path) -> Result<Store, StorageError> {
        let store = Self::open_keyspaces(dir)?;
        if store.meta.get(FORMAT_KEY)?.is_some() || store.nodes.iter().next().is_some() {
            return Err(StorageError::Corrupt(format!(
                "{} holds a store already",
                dir.display()
            )));
        }
        Ok(store)
    }

    /// Bulk-ingests nodes, (path, encoded value) in strictly increasing
    /// path order, into the empty store as sorted tables.
    ///
    /// # Errors
    /// [`StorageError::Fjall`], also for keys out of order.
    pub fn ingest_nodes<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        nodes: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), StorageError> {
        self.ingest_nodes_with(|write| -> Result<(), StorageError> {
            for (path, value) in nodes {
                write(path.as_ref(), value.as_ref())?;
            }
            Ok(())
        })
    }

    /// [`Store::ingest_nodes`], the nodes written by `fill` through the
    /// function it is given. Two may run at once on disjoint ranges of
    /// paths, each becoming tables of its own.
    ///
    /// # Errors
    /// What `fill` returns, or [`StorageError`] if fjall fails.
    pub fn ingest_nodes_with<E: From<StorageError>>(
        &self,
        fill: impl FnOnce(&mut dyn FnMut(&[u8], &[u8]) -> Result<(), StorageError>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut ingest = self.nodes.start_ingestion().map_err(StorageError::from)?;
        fill(&mut |path, value| Ok(ingest.write(path, value)?))?;
        ingest.finish().map_err(StorageError::from)?;
        Ok(())
    }

    /// Completes an import begun with [`Store::ingest_nodes`]: writes what
    /// changed in `tree` since (its tracked changes: the transactions
    /// replayed after the snapshot, the sessions), `extra`, the last zxid
    /// and the format, in one synced batch. `account` is that of the
    /// ingested nodes; returned brought up to date with the changes (the
    /// old values read from the store), for [`Store::stored`] to confirm.
    ///
    /// # Errors
    /// [`StorageError`] if fjall fails.
    pub fn seal_import(
        &self,
        tree: &mut Tree,
        mut account: Stored,
        extra: &[(&str, &[u8])],
    ) -> Result<Stored, StorageError> {
        let changes = tree.changes.replace(Changes::default()).unwrap_or_default();
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncData));
        for p in &changes.nodes {
            if let Some(old) = self.nodes.get(p.as_bytes())? {
                account.remove_node(p, &old)?;
            }
            match tree.nodes.get(p.as_str()) {
                Some(n) => {
                    let value = encode_node(&n.stat, tree.acls.get(n.acl), n.data.as_deref());
                    account.add_node(p, &value)?;
                    batch.insert(&self.nodes, p.as_bytes(), value.as_ref());
                }
                None => batch.remove(&self.nodes, p.as_bytes()),
            }
        }
        for (id, info) in tree.sessions.iter() {
            batch.insert(
                &self.sessions,
                id.to_be_bytes().as_slice(),
                encode_session(info).as_ref(),
            );
        }
        account.sessions = tree.sessions.len() as u64;
        account.last_zxid = tree.last_zxid;
        self.seal(batch, tree, extra)?;
        Ok(account)
    }

    /// What the store in `dir` holds, read from its stored values without
    /// building a tree: node count, a checksum of every stored node value,
    /// sessions and the last zxid (not the digest: the writer computed it
    /// from the values it encoded, and equal checksums mean these are
    /// those values; see [`Stored::same_bytes`]).
    ///
    /// # Errors
    /// [`StorageError`] if fjall fails or a value is corrupt.
    pub fn stored(dir: &Path, middle: &str) -> Result<Stored, StorageError> {
        let store = Self::open_keyspaces(dir)?;
        // Two threads, each reading half the nodes (`middle`: a key near
        // the median, from `Stored::middle`).
        let sum =
            |range: Box<dyn Iterator<Item = fjall::Guard> + '_>| -> Result<Stored, StorageError> {
                let mut part = Stored::default();
                for kv in range {
                    let (k, v) = kv.into_inner()?;
                    let p = std::str::from_utf8(&k)
                        .map_err(|e| StorageError::Corrupt(format!("node key: {e}")))?;
                    part.add_bytes(p, &v);
                }
                Ok(part)
            };
        let mid = middle.as_bytes();
        let (low, high) = std::thread::scope(|scope| {
            let low = scope.spawn(|| sum(Box::new(store.nodes.range(..mid))));
            let high = sum(Box::new(store.nodes.range(mid..)));
            let low = low
                .join()
                .map_err(|_| StorageError::Corrupt("a reader panicked".into()));
            (low, high)
        });
        let (low, high) = (low??, high?);
        let mut account = Stored {
            nodes: low.nodes + high.nodes,
            checksum: low.checksum.wrapping_add(high.checksum),
            middle: middle.to_owned(),
            ..Stored::default()
        };
        for kv in store.sessions.iter() {
            kv.into_inner()?;
            account.sessions += 1;
        }
        account.last_zxid = match store.meta.get(LAST_ZXID_KEY)? {
            Some(v) => decode_i64(&v, "last_zxid")?,
            None => 0,
        };
        Ok(account)
    }

    fn open_keyspaces(dir: &Path) -> Result<Store, StorageError> {
        let db = Database::builder(dir)
            .cache_size(CACHE_BYTES)
            .max_journaling_size(JOURNAL_BYTES)
            .worker_threads(FJALL_WORKERS)
            .open()?;
        let options = || KeyspaceCreateOptions::default().max_memtable_size(MEMTABLE_BYTES);
        let nodes = db.keyspace("nodes", || {
            options()
                .data_block_size_policy(fjall::config::BlockSizePolicy::all(64 * 1024))
                .filter_policy(fjall::config::FilterPolicy::disabled())
        })?;
        let sessions = db.keyspace("sessions", options)?;
        let meta = db.keyspace("meta", options)?;
        Ok(Store {
            db,
            nodes,
            sessions,
            meta,
        })
    }

    /// Writes what changed in `tree` since the last commit, with its last
    /// zxid, as one atomic batch.
    ///
    /// # Errors
    /// [`StorageError::Fjall`]: fatal, the node must stop.
    pub fn commit(&self, tree: &mut Tree, durability: Durability) -> Result<(), StorageError> {
        self.commit_with(tree, durability, &[])
    }

    /// [`Store::commit`], plus opaque values of the layer above (the Raft
    /// state machine's last applied log id and membership) written in the
    /// same atomic batch, so they can never disagree with the tree.
    ///
    /// # Errors
    /// [`StorageError::Fjall`]: fatal, the node must stop.
    pub fn commit_with(
        &self,
        tree: &mut Tree,
        durability: Durability,
        extra: &[(&str, &[u8])],
    ) -> Result<(), StorageError> {
        let changes = tree.changes.replace(Changes::default()).unwrap_or_default();
        let mode = match durability {
            Durability::Buffered => Some(PersistMode::Buffer),
            Durability::Synced => Some(PersistMode::SyncData),
            Durability::Unflushed => None,
        };
        if changes.everything {
            return self.replace_with(tree, extra, mode);
        }
        let mut batch = self.db.batch().durability(mode);
        for p in &changes.nodes {
            match tree.nodes.get(p.as_str()) {
                Some(n) => {
                    let value = encode_node(&n.stat, tree.acls.get(n.acl), n.data.as_deref());
                    batch.insert(&self.nodes, p.as_bytes(), value.as_ref());
                }
                None => batch.remove(&self.nodes, p.as_bytes()),
            }
        }
        for id in &changes.sessions {
            let key = id.to_be_bytes();
            match tree.sessions.get(*id) {
                Some(info) => batch.insert(
                    &self.sessions,
                    key.as_slice(),
                    encode_session(info).as_ref(),
                ),
                None => batch.remove(&self.sessions, key.as_slice()),
            }
        }
        self.seal(batch, tree, extra)
    }

    /// Adds `extra`, the last zxid and the format to `batch` and commits it.
    fn seal(
        &self,
        mut batch: fjall::OwnedWriteBatch,
        tree: &Tree,
        extra: &[(&str, &[u8])],
    ) -> Result<(), StorageError> {
        for (key, value) in extra {
            batch.insert(&self.meta, format!("ext.{key}"), *value);
        }
        batch.insert(
            &self.meta,
            LAST_ZXID_KEY,
            tree.last_zxid.to_be_bytes().as_slice(),
        );
        batch.insert(&self.meta, FORMAT_KEY, [encoding::VERSION].as_slice());
        batch.commit()?;
        Ok(())
    }

    /// Replaces everything stored with `tree` (a snapshot just installed),
    /// with `extra` (see [`Store::commit_with`]), in **one** synced batch:
    /// every stored node and session absent from `tree` is removed and
    /// every one of `tree` written, so a crash leaves either the old state
    /// or the new one.
    ///
    /// # Errors
    /// [`StorageError`]: fatal, the node must stop.
    pub fn replace(&self, tree: &mut Tree, extra: &[(&str, &[u8])]) -> Result<(), StorageError> {
        self.replace_with(tree, extra, Some(PersistMode::SyncData))
    }

    fn replace_with(
        &self,
        tree: &mut Tree,
        extra: &[(&str, &[u8])],
        mode: Option<PersistMode>,
    ) -> Result<(), StorageError> {
        let mut batch = self.db.batch().durability(mode);
        for kv in self.nodes.iter() {
            let key = kv.key()?;
            let gone = std::str::from_utf8(&key).map_or(true, |p| !tree.nodes.contains(p));
            if gone {
                batch.remove(&self.nodes, key.as_ref());
            }
        }
        for n in tree.nodes.iter() {
            let value = encode_node(&n.stat, tree.acls.get(n.acl), n.data.as_deref());
            batch.insert(&self.nodes, n.path().as_bytes(), value.as_ref());
        }
        for kv in self.sessions.iter() {
            let key = kv.key()?;
            if tree
                .sessions
                .get(decode_i64(&key, "session key")?)
                .is_none()
            {
                batch.remove(&self.sessions, key.as_ref());
            }
        }
        for (id, info) in tree.sessions.iter() {
            batch.insert(
                &self.sessions,
                id.to_be_bytes().as_slice(),
                encode_session(info).as_ref(),
            );
        }
        self.seal(batch, tree, extra)?;
        tree.changes = Some(Changes::default());
        Ok(())
    }

    /// Reads a value stored with [`Store::commit_with`].
    ///
    /// # Errors
    /// [`StorageError::Fjall`].
    pub fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.meta.get(format!("ext.{key}"))?.map(|v| v.to_vec()))
    }

    /// A consistent read-only view of the store as of now: later commits
    /// do not show in it. Cheap to take; meant to be taken under the same
    /// lock as commits, and read (to write a snapshot) outside it.
    pub fn view(&self) -> StoreView {
        StoreView {
            snap: self.db.snapshot(),
            nodes: self.nodes.clone(),
            sessions: self.sessions.clone(),
            meta: self.meta.clone(),
        }
    }

    /// Rebuilds the tree from the keyspaces and checks its shape. Keys come
    /// in byte order, so every parent (a proper prefix of its children's
    /// paths) is loaded before its children.
    ///
    /// Two threads share the work: one reads and decodes the nodes from
    /// fjall in batches, the other builds the index from them. A run of
    /// nodes with the same ACL list (the usual case) decodes and interns
    /// the list once.
    ///
    /// # Errors
    /// [`StorageError`] if fjall fails or a stored value is corrupt.
    pub fn load(&self, config: TreeConfig) -> Result<Tree, StorageError> {
        let mut tree = Tree::empty(config);
        tree.nodes.reserve(self.nodes.approximate_len());
        load_nodes(&mut tree, false, |sink| {
            for kv in self.nodes.iter() {
                let (k, v) = kv.into_inner()?;
                if !sink.push(&k, &v)? {
                    break;
                }
            }
            Ok(())
        })?;
        if !tree.nodes.contains("/") {
            return Err(StorageError::Corrupt("no root node".into()));
        }
        for kv in self.sessions.iter() {
            let (k, v) = kv.into_inner()?;
            tree.sessions
                .open(decode_i64(&k, "session key")?, decode_session(&v)?);
        }
        tree.last_zxid = match self.meta.get(LAST_ZXID_KEY)? {
            Some(v) => decode_i64(&v, "last_zxid")?,
            None => 0,
        };
        tree.changes = Some(Changes::default());
        Ok(tree)
    }
}

/// Batches of decoded nodes in flight from the reading thread to the
/// building one.
const LOAD_QUEUE: usize = 8;
const LOAD_BATCH: usize = 2048;

/// Decoded nodes, with the ACL lists first seen in this batch. A node's
/// `acl` is the reader's own number for its list, in order of first sight;
/// the builder maps it to the interned ref.
struct LoadBatch {
    acls: Vec<Vec<jute::Acl>>,
    nodes: Vec<(Box<str>, Node)>,
}

impl LoadBatch {
    fn new() -> Self {
        LoadBatch {
            acls: Vec::new(),
            nodes: Vec::with_capacity(LOAD_BATCH),
        }
    }
}

/// The reading half of [`load_nodes`]: decodes `(path, node value)` pairs
/// and sends them to the builder in batches.
pub(crate) struct NodeSink {
    tx: std::sync::mpsc::SyncSender<Result<LoadBatch, StorageError>>,
    known: std::collections::HashMap<Vec<u8>, u32>,
    last: Option<(Vec<u8>, u32)>,
    batch: LoadBatch,
}

impl NodeSink {
    /// Decodes one node. `Ok(false)`: the builder has stopped (on an
    /// error it reports itself), so reading may stop too.
    ///
    /// # Errors
    /// [`StorageError::Corrupt`] if the key or value is not a node's.
    pub(crate) fn push(&mut self, key: &[u8], value: &[u8]) -> Result<bool, StorageError> {
        let p = std::str::from_utf8(key)
            .map_err(|e| StorageError::Corrupt(format!("node key: {e}")))?;
        let stored = encoding::split_node(value)?;
        let acl = match &self.last {
            Some((bytes, id)) if bytes.as_slice() == stored.acl => *id,
            _ => {
                let id = match self.known.get(stored.acl) {
                    Some(&id) => id,
                    None => {
                        let id = u32::try_from(self.known.len())
                            .map_err(|_| StorageError::Corrupt("too many ACLs".into()))?;
                        self.batch.acls.push(encoding::decode_acl(stored.acl)?);
                        self.known.insert(stored.acl.to_vec(), id);
                        id
                    }
                };
                self.last = Some((stored.acl.to_vec(), id));
                id
            }
        };
        let node = Node {
            data: stored.data.map(Box::from),
            acl: AclRef(acl),
            stat: stored.stat,
            path: Box::from(""),
            children: thin_vec::ThinVec::new(),
        };
        self.batch.nodes.push((Box::from(p), node));
        if self.batch.nodes.len() == LOAD_BATCH {
            let full = std::mem::replace(&mut self.batch, LoadBatch::new());
            return Ok(self.tx.send(Ok(full)).is_ok());
        }
        Ok(true)
    }
}

/// Fills `tree` with nodes on two threads: `read`, on a second thread,
/// hands every `(path, node value)` to the sink, parents before their
/// children; this thread builds the index from them. Returns what `read`
/// returns. A run of nodes with the same encoded ACL list (the usual case)
/// decodes and interns it once.
///
/// `check_new`: refuse a path seen before (input not from fjall, whose
/// keys are unique), at the cost of one more lookup per node.
///
/// # Errors
/// The first [`StorageError`] of either side: a corrupt value, a node
/// without its parent, or `read`'s own.
pub(crate) fn load_nodes<T: Send>(
    tree: &mut Tree,
    check_new: bool,
    read: impl FnOnce(&mut NodeSink) -> Result<T, StorageError> + Send,
) -> Result<T, StorageError> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(LOAD_QUEUE);
        let reader = scope.spawn(move || {
            let mut sink = NodeSink {
                tx,
                known: Default::default(),
                last: None,
                batch: LoadBatch::new(),
            };
            let out = read(&mut sink);
            let NodeSink { tx, batch, .. } = sink;
            match out {
                Ok(t) => {
                    let _ = tx.send(Ok(batch));
                    Some(t)
                }
                Err(e) => {
                    // The builder stops at the first error it receives.
                    let _ = tx.send(Err(e));
                    None
                }
            }
        });
        let built = build_nodes(tree, &rx, check_new);
        // Unblocks the reader if the builder stopped early.
        drop(rx);
        let read = reader
            .join()
            .map_err(|_| StorageError::Corrupt("the node reader panicked".into()))?;
        built?;
        read.ok_or_else(|| StorageError::Corrupt("the node reader failed".into()))
    })
}

/// The building half of [`load_nodes`]: inserts every batch `rx` brings.
fn build_nodes(
    tree: &mut Tree,
    rx: &std::sync::mpsc::Receiver<Result<LoadBatch, StorageError>>,
    check_new: bool,
) -> Result<(), StorageError> {
    let mut refs: Vec<AclRef> = Vec::new();
    let mut hint = 0;
    for batch in rx {
        let batch = batch?;
        for acl in &batch.acls {
            // `intern` counts a use, given back below once every node has
            // added its own.
            refs.push(tree.acls.intern(acl));
        }
        for (p, mut node) in batch.nodes {
            let r = refs
                .get(node.acl.0 as usize)
                .copied()
                .ok_or_else(|| StorageError::Corrupt("ACL out of order".into()))?;
            node.acl = r;
            if path::parent(&p).is_none() && &*p != "/" {
                return Err(StorageError::Corrupt(format!("bad node key {p:?}")));
            }
            if check_new && tree.nodes.contains(&p) {
                return Err(StorageError::Corrupt(format!("{p} appears twice")));
            }
            tree.acls.add_use(r);
            tree.insert_loaded(p, node, &mut hint)
                .map_err(|p| StorageError::Corrupt(format!("{p} has no parent")))?;
        }
    }
    for r in refs {
        tree.acls.release(r);
    }
    Ok(())
}

/// An account of a store's contents, made while writing it
/// ([`Store::create`], an import's ingestion) and again reading it back
/// ([`Store::stored`]): equal accounts ([`Stored::same_bytes`]) mean every
/// byte written was read back.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    /// Nodes.
    pub nodes: u64,
    /// ZooKeeper's digest of them ([`crate::digest`]), each stored value
    /// decoded (by the writer: [`Store::stored`] leaves it 0).
    pub digest: i64,
    /// The sum of a hash of each node's path and stored value.
    pub checksum: u64,
    /// Sessions.
    pub sessions: u64,
    /// The last zxid.
    pub last_zxid: i64,
    /// The path of the node in the middle, in key order (where
    /// [`Store::stored`] splits its work).
    pub middle: String,
}

impl Stored {
    /// One node's share of the checksum (XXH3: a million of these are
    /// summed writing an import and again reading it back).
    fn sum(path: &[u8], value: &[u8]) -> u64 {
        use xxhash_rust::xxh3;
        xxh3::xxh3_64_with_seed(value, xxh3::xxh3_64(path))
    }

    /// Counts a node, its path and stored value.
    pub fn add_bytes(&mut self, path: &str, value: &[u8]) {
        self.nodes += 1;
        self.checksum = self
            .checksum
            .wrapping_add(Self::sum(path.as_bytes(), value));
    }

    /// Takes a node counted by [`Stored::add_bytes`] back out.
    pub fn remove_bytes(&mut self, path: &str, value: &[u8]) {
        self.nodes = self.nodes.saturating_sub(1);
        self.checksum = self
            .checksum
            .wrapping_sub(Self::sum(path.as_bytes(), value));
    }

    /// Adds what `other` counted (nodes, digest and checksum).
    pub fn merge(&mut self, other: &Stored) {
        self.nodes += other.nodes;
        self.digest = self.digest.wrapping_add(other.digest);
        self.checksum = self.checksum.wrapping_add(other.checksum);
    }

    /// Counts a node as [`Stored::add_bytes`] does, and its digest, its
    /// stored value decoded.
    ///
    /// # Errors
    /// [`StorageError::Corrupt`] if the value is not a node's.
    pub fn add_node(&mut self, path: &str, value: &[u8]) -> Result<(), StorageError> {
        self.digest = self.digest.wrapping_add(Self::node_digest(path, value)?);
        self.add_bytes(path, value);
        Ok(())
    }

    /// A stored node's digest, its value decoded.
    fn node_digest(path: &str, value: &[u8]) -> Result<i64, StorageError> {
        let node = encoding::split_node(value)?;
        Ok(crate::digest::node_digest(path, node.data, &node.stat) as i64)
    }

    /// Takes a node counted by [`Stored::add_node`] back out.
    ///
    /// # Errors
    /// [`StorageError::Corrupt`] if the value is not a node's.
    pub fn remove_node(&mut self, path: &str, value: &[u8]) -> Result<(), StorageError> {
        self.digest = self.digest.wrapping_sub(Self::node_digest(path, value)?);
        self.remove_bytes(path, value);
        Ok(())
    }

    /// Whether `other` accounts for the same bytes: nodes, checksum,
    /// sessions and last zxid (the digest and the middle aside).
    pub fn same_bytes(&self, other: &Stored) -> bool {
        (self.nodes, self.checksum, self.sessions, self.last_zxid)
            == (other.nodes, other.checksum, other.sessions, other.last_zxid)
    }
}

/// A consistent, read-only view of a [`Store`] at one instant.
pub struct StoreView {
    snap: fjall::Snapshot,
    nodes: Keyspace,
    sessions: Keyspace,
    meta: Keyspace,
}

impl std::fmt::Debug for StoreView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreView").finish_non_exhaustive()
    }
}

impl StoreView {
    /// A value stored with [`Store::commit_with`], as of the view.
    ///
    /// # Errors
    /// [`StorageError::Fjall`].
    pub fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .snap
            .get(&self.meta, format!("ext.{key}"))?
            .map(|v| v.to_vec()))
    }

    /// Writes the view as a snapshot (`crate::snapshot`'s format), node by
    /// node from disk: memory use does not grow with the tree.
    ///
    /// # Errors
    /// [`StorageError`] if fjall or `out` fails.
    pub fn write_snapshot(&self, out: &mut impl std::io::Write) -> Result<(), StorageError> {
        use crate::snapshot::{VERSION, put_block};
        let io = |e: std::io::Error| StorageError::Corrupt(format!("writing a snapshot: {e}"));
        let last_zxid = match self.snap.get(&self.meta, LAST_ZXID_KEY)? {
            Some(v) => decode_i64(&v, "last_zxid")?,
            None => 0,
        };
        out.write_all(&[VERSION]).map_err(io)?;
        out.write_all(&last_zxid.to_be_bytes()).map_err(io)?;
        for kv in self.snap.iter(&self.nodes) {
            let (k, v) = kv.into_inner()?;
            out.write_all(&[1]).map_err(io)?;
            put_block(out, &k).map_err(io)?;
            put_block(out, &v).map_err(io)?;
        }
        for kv in self.snap.iter(&self.sessions) {
            let (k, v) = kv.into_inner()?;
            out.write_all(&[2]).map_err(io)?;
            out.write_all(&decode_i64(&k, "session key")?.to_be_bytes())
                .map_err(io)?;
            put_block(out, &v).map_err(io)?;
        }
        out.write_all(&[0]).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Command, CommandOp, apply};
    use jute::proto::{CreateRequest, DeleteRequest};
    use jute::{Acl, Id, Request};

    fn run(tree: &mut Tree, op: Request) {
        let zxid = tree.last_zxid() + 1;
        let cmd = Command {
            time: zxid,
            session_id: 1,
            auth: vec![],
            op: CommandOp::Write(op),
        };
        let out = apply(tree, &cmd, zxid);
        assert!(out.result.is_ok(), "{:?}", out.result);
    }

    type Dumped = (String, Vec<Acl>, Option<Vec<u8>>, jute::Stat);

    fn dump(tree: &Tree) -> Vec<Dumped> {
        let mut all: Vec<_> = tree
            .iter_nodes()
            .map(|n| {
                let kids: Vec<&str> = tree.child_names(n).collect();
                let mut sorted = kids.clone();
                sorted.sort_unstable();
                assert_eq!(kids, sorted, "children of {} out of order", n.path());
                (
                    n.path().to_owned(),
                    tree.acl_of(n).to_vec(),
                    n.data.as_deref().map(<[u8]>::to_vec),
                    n.stat(),
                )
            })
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Loading spans many batches and runs of shared ACL lists; the
    /// reloaded tree equals the one written, and the ACL lists' use counts
    /// are right: deleting every node of one list frees it, and no other.
    #[test]
    fn load_rebuilds_the_tree_and_acl_use_counts_across_batches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, mut tree) = Store::open(dir.path(), TreeConfig::default()).expect("open");
        let session = Command {
            time: 0,
            session_id: 1,
            auth: vec![],
            op: CommandOp::CreateSession {
                timeout_ms: 30_000,
                passwd: bytes::Bytes::from_static(&[0; 16]),
            },
        };
        apply(&mut tree, &session, 1);
        let open = vec![Acl::open()];
        // Not ALL, so a list of its own, and not READ alone, which is
        // `/zookeeper/config`'s.
        let read = vec![Acl {
            perms: (jute::Perms::READ | jute::Perms::CREATE | jute::Perms::DELETE).bits(),
            id: Id::new("world", "anyone"),
        }];
        let create = |path: String, acl: &Vec<Acl>, data: Option<&[u8]>| {
            Request::Create(CreateRequest {
                path,
                data: data.map(bytes::Bytes::copy_from_slice),
                acl: acl.clone(),
                flags: 0,
            })
        };
        run(&mut tree, create("/a".into(), &open, None));
        run(&mut tree, create("/a-b".into(), &open, Some(b"")));
        let n = 3 * LOAD_BATCH + 17;
        for i in 0..n {
            // Runs of 700 nodes per list, alternating.
            let acl = if (i / 700) % 2 == 0 { &read } else { &open };
            run(&mut tree, create(format!("/a/n{i:05}"), acl, Some(b"x")));
            if i % 1000 == 0 {
                run(&mut tree, create(format!("/a/n{i:05}/c"), &open, None));
            }
        }
        store.commit(&mut tree, Durability::Synced).expect("commit");
        let before = dump(&tree);
        let lists = tree.acls.len();
        drop(store);
        drop(tree);

        let (_store, mut tree) = Store::open(dir.path(), TreeConfig::default()).expect("reopen");
        assert_eq!(dump(&tree), before);
        assert_eq!(tree.acls.len(), lists);
        // Delete every node with the read-only list but one.
        for i in 0..n {
            if (i / 700) % 2 == 0 && i != 1 {
                if i % 1000 == 0 {
                    run(
                        &mut tree,
                        Request::Delete(DeleteRequest {
                            path: format!("/a/n{i:05}/c"),
                            version: -1,
                        }),
                    );
                }
                run(
                    &mut tree,
                    Request::Delete(DeleteRequest {
                        path: format!("/a/n{i:05}"),
                        version: -1,
                    }),
                );
            }
        }
        assert_eq!(tree.acls.len(), lists, "a list still in use was freed");
        let last = tree.node("/a/n00001").expect("kept");
        assert_eq!(tree.acl_of(last), read.as_slice());
        run(
            &mut tree,
            Request::Delete(DeleteRequest {
                path: "/a/n00001".into(),
                version: -1,
            }),
        );
        assert_eq!(tree.acls.len(), lists - 1, "the last use freed the list");
    }
}
