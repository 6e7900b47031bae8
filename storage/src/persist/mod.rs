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
use crate::node::{Node, NodeKind};
use crate::path;
use crate::tree::{Changes, Tree, TreeConfig};
use encoding::{decode_i64, decode_node, decode_session, encode_node, encode_session};

const FORMAT_KEY: &str = "format";
/// fjall's block cache for the tree's store.
const CACHE_BYTES: u64 = 4 << 20;
/// Largest memtable of a keyspace before fjall flushes it to a table.
const MEMTABLE_BYTES: u64 = 16 << 20;
const LAST_ZXID_KEY: &str = "last_zxid";

/// How durable a commit must be when it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// In the OS's buffers: survives a crash of the process, not of the
    /// machine. Right when a durable log can replay what a power loss takes.
    Buffered,
    /// `fdatasync`ed: survives power loss.
    Synced,
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
        let db = Database::builder(dir).cache_size(CACHE_BYTES).open()?;
        let options = || KeyspaceCreateOptions::default().max_memtable_size(MEMTABLE_BYTES);
        let nodes = db.keyspace("nodes", options)?;
        let sessions = db.keyspace("sessions", options)?;
        let meta = db.keyspace("meta", options)?;
        let store = Store {
            db,
            nodes,
            sessions,
            meta,
        };
        let tree = match store.meta.get(FORMAT_KEY)? {
            None => {
                let mut tree = Tree::new(config);
                let all = tree.nodes.iter().map(|n| n.path().to_owned()).collect();
                tree.changes = Some(Changes {
                    nodes: all,
                    sessions: Default::default(),
                });
                store.commit(&mut tree, Durability::Synced)?;
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
            Durability::Buffered => PersistMode::Buffer,
            Durability::Synced => PersistMode::SyncData,
        };
        let mut batch = self.db.batch().durability(Some(mode));
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
        let mut changes = Changes::default();
        for kv in self.nodes.iter() {
            let key = kv.key()?;
            let p = std::str::from_utf8(&key)
                .map_err(|e| StorageError::Corrupt(format!("node key: {e}")))?;
            changes.nodes.insert(p.to_owned());
        }
        for kv in self.sessions.iter() {
            changes
                .sessions
                .insert(decode_i64(&kv.key()?, "session key")?);
        }
        changes
            .nodes
            .extend(tree.nodes.iter().map(|n| n.path().to_owned()));
        changes
            .sessions
            .extend(tree.sessions.iter().map(|(id, _)| *id));
        tree.changes = Some(changes);
        self.commit_with(tree, Durability::Synced, extra)
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
    /// # Errors
    /// [`StorageError`] if fjall fails or a stored value is corrupt.
    pub fn load(&self, config: TreeConfig) -> Result<Tree, StorageError> {
        let mut tree = Tree::empty(config);
        tree.nodes.reserve(self.nodes.approximate_len());
        for kv in self.nodes.iter() {
            let (k, v) = kv.into_inner()?;
            let p = std::str::from_utf8(&k)
                .map_err(|e| StorageError::Corrupt(format!("node key: {e}")))?;
            let stored = decode_node(&v)?;
            match path::parent(p) {
                Some(parent) if !tree.nodes.contains(parent) => {
                    return Err(StorageError::Corrupt(format!("{p} has no parent")));
                }
                None if p != "/" => {
                    return Err(StorageError::Corrupt(format!("bad node key {p:?}")));
                }
                _ => {}
            }
            let acl = tree.acls.intern(&stored.acl);
            let mut node = Node::new(stored.data.as_deref(), acl, NodeKind::Persistent, 0, 0);
            node.stat = stored.stat;
            tree.insert(p, node);
        }
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
