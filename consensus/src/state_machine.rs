//! The Raft state machine: committed entries applied to the tree.
//!
//! [`Replica`] is the one place the tree lives on a server: the tree, its
//! store, the applied log position and membership, and the server's own
//! state (`Host`: watches, connections) behind **one** lock, so that
//! applying an entry, firing its watches and queuing its reply happen
//! together, and a read sees either all of an entry's effects or none.
//!
//! ### Correctness requirements
//! - Entries are applied in log order, each command of an entry's batch at
//!   the next zxid (`next_zxid`: the term, then a counter); the
//!   tree's changes, the applied log id and the membership are committed to
//!   the store in one batch per `apply` call (buffered: the Raft log is the
//!   durable record, and openraft re-applies from the last applied id after
//!   a crash).
//! - `Host::applied` is called once per applied proposal, after the tree
//!   changed and while the lock is held.

use std::io::Cursor;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    Entry, EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, SnapshotMeta, StorageError,
    StorageIOError, StoredMembership,
};
use storage::{ApplyOutcome, Durability, Store, Tree, TreeConfig};

use crate::{Applied, NodeId, Peer, Proposal, TypeConfig, next_zxid};

/// What the server does with applied entries.
pub trait Host: Send + 'static {
    /// Called, under the replica lock, after `proposal` was applied at
    /// `zxid` with `outcome`: fire watches, answer the client if it is
    /// connected here.
    fn applied(&mut self, tree: &Tree, zxid: i64, proposal: &Proposal, outcome: ApplyOutcome);

    /// Called, under the replica lock, after a snapshot replaced the tree.
    fn reset(&mut self, tree: &Tree);
}

/// The replicated state of one server.
pub struct Replica<H> {
    /// The znode tree and session table.
    pub tree: Tree,
    /// The server's state that must change together with the tree.
    pub host: H,
    store: Store,
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, Peer>,
    /// The last snapshot built or installed, served to followers that need
    /// one. (Held in memory; streaming from a file is issue #4's next step.)
    snapshot: Option<(SnapshotMeta<NodeId, Peer>, Vec<u8>)>,
    snapshot_seq: u64,
}

/// The replica behind its lock. Lock rule: never held across `.await`.
pub type SharedReplica<H> = Arc<Mutex<Replica<H>>>;

const APPLIED_KEY: &str = "raft.applied";
const MEMBERSHIP_KEY: &str = "raft.membership";

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl<H: Host> Replica<H> {
    /// Opens the tree under `dir` with the applied position recorded with it.
    ///
    /// # Errors
    /// [`storage::StorageError`] if the store cannot be opened or is corrupt.
    pub fn open(
        dir: &Path,
        config: TreeConfig,
        host: H,
    ) -> Result<SharedReplica<H>, storage::StorageError> {
        let (store, tree) = Store::open(dir, config)?;
        let corrupt =
            |e: postcard::Error| storage::StorageError::Corrupt(format!("raft metadata: {e}"));
        let last_applied = match store.get_meta(APPLIED_KEY)? {
            Some(v) => postcard::from_bytes(&v).map_err(corrupt)?,
            None => None,
        };
        let membership = match store.get_meta(MEMBERSHIP_KEY)? {
            Some(v) => postcard::from_bytes(&v).map_err(corrupt)?,
            None => StoredMembership::default(),
        };
        Ok(Arc::new(Mutex::new(Replica {
            tree,
            host,
            store,
            last_applied,
            membership,
            snapshot: None,
            snapshot_seq: 0,
        })))
    }

    /// The last applied log id.
    pub fn last_applied(&self) -> Option<LogId<NodeId>> {
        self.last_applied
    }

    fn meta(&self) -> Result<(Vec<u8>, Vec<u8>), std::io::Error> {
        Ok((
            postcard::to_allocvec(&self.last_applied).map_err(io_err)?,
            postcard::to_allocvec(&self.membership).map_err(io_err)?,
        ))
    }
}

/// Takes the replica lock. A poisoned lock means a panic half-way through
/// an apply: the state may be inconsistent, so the process stops rather
/// than serve it.
pub fn lock<H>(replica: &SharedReplica<H>) -> MutexGuard<'_, Replica<H>> {
    match replica.lock() {
        Ok(g) => g,
        Err(_) => {
            tracing::error!("replica lock poisoned by a panic; stopping");
            std::process::abort();
        }
    }
}

/// openraft's view of a [`Replica`].
pub struct StateMachine<H> {
    replica: SharedReplica<H>,
}

impl<H> Clone for StateMachine<H> {
    fn clone(&self) -> Self {
        StateMachine {
            replica: self.replica.clone(),
        }
    }
}

impl<H: Host> StateMachine<H> {
    /// The state machine over `replica`.
    pub fn new(replica: SharedReplica<H>) -> Self {
        StateMachine { replica }
    }
}

impl<H: Host> RaftSnapshotBuilder<TypeConfig> for StateMachine<H> {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let mut r = lock(&self.replica);
        let mut bytes = Vec::new();
        storage::snapshot::write(&r.tree, &mut bytes)
            .map_err(|e| StorageIOError::read_state_machine(&e))?;
        r.snapshot_seq += 1;
        let snapshot_id = match r.last_applied {
            Some(id) => format!("{}-{}-{}", id.leader_id.term, id.index, r.snapshot_seq),
            None => format!("--{}", r.snapshot_seq),
        };
        let meta = SnapshotMeta {
            last_log_id: r.last_applied,
            last_membership: r.membership.clone(),
            snapshot_id,
        };
        r.snapshot = Some((meta.clone(), bytes.clone()));
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}

impl<H: Host> RaftStateMachine<TypeConfig> for StateMachine<H> {
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, Peer>), StorageError<NodeId>> {
        let r = lock(&self.replica);
        Ok((r.last_applied, r.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Applied>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut guard = lock(&self.replica);
        let r = &mut *guard;
        let mut replies = Vec::new();
        for entry in entries {
            r.last_applied = Some(entry.log_id);
            match entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Normal(batch) => {
                    for proposal in &batch.0 {
                        let at = next_zxid(entry.log_id.leader_id.term, r.tree.last_zxid());
                        let outcome = storage::apply(&mut r.tree, &proposal.command, at);
                        r.host.applied(&r.tree, at, proposal, outcome);
                    }
                }
                EntryPayload::Membership(m) => {
                    r.membership = StoredMembership::new(Some(entry.log_id), m);
                }
            }
            replies.push(Applied {
                zxid: r.tree.last_zxid(),
            });
        }
        let (applied, membership) = r
            .meta()
            .map_err(|e| StorageIOError::write_state_machine(&e))?;
        r.store
            .commit_with(
                &mut r.tree,
                Durability::Buffered,
                &[(APPLIED_KEY, &applied), (MEMBERSHIP_KEY, &membership)],
            )
            .map_err(|e| StorageIOError::write_state_machine(&io_err(e)))?;
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, Peer>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let bytes = snapshot.into_inner();
        let mut guard = lock(&self.replica);
        let r = &mut *guard;
        let config = r.tree.config().clone();
        let mut tree = storage::snapshot::read(&mut bytes.as_slice(), config)
            .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &io_err(e)))?;
        r.last_applied = meta.last_log_id;
        r.membership = meta.last_membership.clone();
        let (applied, membership) = r
            .meta()
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        r.store
            .replace(
                &mut tree,
                &[(APPLIED_KEY, &applied), (MEMBERSHIP_KEY, &membership)],
            )
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &io_err(e)))?;
        r.tree = tree;
        r.host.reset(&r.tree);
        r.snapshot = Some((meta.clone(), bytes));
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        let r = lock(&self.replica);
        Ok(r.snapshot.as_ref().map(|(meta, bytes)| Snapshot {
            meta: meta.clone(),
            snapshot: Box::new(Cursor::new(bytes.clone())),
        }))
    }
}
