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

use std::io::{BufReader, BufWriter, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    Entry, EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, SnapshotMeta, StorageError,
    StorageIOError, StoredMembership,
};
use storage::{ApplyOutcome, CommandOp, Durability, Store, Tree, TreeConfig};

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

/// Durations of one kind of event, in ms: ZooKeeper's BASIC summary
/// (`AvgMinMaxCounter`), which `mntr` prints as `avg_`, `min_`, `max_`,
/// `cnt_` and `sum_` keys.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// Events recorded.
    pub count: u64,
    /// Their total, ms.
    pub sum_ms: u64,
    /// The shortest, ms (0 before the first).
    pub min_ms: u64,
    /// The longest, ms.
    pub max_ms: u64,
}

impl Timings {
    /// Records one event of `ms`.
    pub fn add(&mut self, ms: u64) {
        self.min_ms = if self.count == 0 {
            ms
        } else {
            self.min_ms.min(ms)
        };
        self.max_ms = self.max_ms.max(ms);
        self.count += 1;
        self.sum_ms = self.sum_ms.saturating_add(ms);
    }

    /// The mean, ms (0 before the first).
    pub fn avg_ms(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_ms as f64 / self.count as f64
        }
    }
}

/// Elapsed ms since `t`.
fn ms_since(t: std::time::Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The replicated state of one server.
pub struct Replica<H> {
    /// Snapshots built here: ZooKeeper's `snapshottime`.
    pub snapshot_builds: Timings,
    /// Snapshots received from a leader and installed.
    pub snapshot_installs: Timings,
    /// Commands applied since the last snapshot was asked for (ZooKeeper
    /// counts `snapCount` in transactions, not in our batched entries).
    pub(crate) since_snapshot: u64,
    /// The count at which a snapshot is due (set by the snapshot task).
    pub(crate) snapshot_due_at: u64,
    /// Woken (and `since_snapshot` reset) by the apply that brings
    /// `since_snapshot` to `snapshot_due_at`: the snapshot task then asks
    /// openraft for a snapshot.
    pub(crate) snapshot_wake: Arc<tokio::sync::Notify>,
    /// The znode tree and session table.
    pub tree: Tree,
    /// The server's state that must change together with the tree.
    pub host: H,
    store: Store,
    last_applied: Option<LogId<NodeId>>,
    /// See [`INSTALLED_KEY`].
    installed: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, Peer>,
    /// The last snapshot built or installed, served to followers that need
    /// one: its metadata and its file.
    snapshot: Option<(SnapshotMeta<NodeId, Peer>, PathBuf)>,
    snapshot_seq: u64,
    /// Where snapshot files live (emptied on start: a snapshot is rebuilt
    /// from the store whenever one is needed).
    snap_dir: PathBuf,
    /// The file a snapshot from the leader is being received into.
    receiving: Option<PathBuf>,
    /// The zxid and time (seconds since the epoch) of the last snapshot
    /// built, installed or restored here, or of the state loaded at start
    /// (ZooKeeper's `last_snapshot`).
    pub last_snapshot: Option<(i64, i64)>,
}

/// The replica behind its lock. Lock rule: never held across `.await`.
pub type SharedReplica<H> = Arc<Mutex<Replica<H>>>;

const APPLIED_KEY: &str = "raft.applied";
const MEMBERSHIP_KEY: &str = "raft.membership";
/// The last log id of the last snapshot installed from a leader, or of a
/// seeded tree (`corral import`): the cases where the tree is legitimately
/// ahead of the Raft log (a crash after the install, before openraft
/// purged the log behind it; an import not started yet).
const INSTALLED_KEY: &str = "raft.installed";

/// Seconds since the epoch (ZooKeeper's snapshot timestamps).
fn unix_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

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
        let snap_dir = dir.parent().unwrap_or(dir).join(format!(
            "{}-snapshots",
            dir.file_name().and_then(|n| n.to_str()).unwrap_or("tree")
        ));
        let _ = std::fs::remove_dir_all(&snap_dir);
        std::fs::create_dir_all(&snap_dir)
            .map_err(|e| storage::StorageError::Corrupt(format!("snapshot directory: {e}")))?;
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
        // Absent in stores written before it was kept: no install known.
        let installed = match store.get_meta(INSTALLED_KEY)? {
            Some(v) => postcard::from_bytes(&v).map_err(corrupt)?,
            None => None,
        };
        let last_snapshot = Some((tree.last_zxid(), unix_secs()));
        Ok(Arc::new(Mutex::new(Replica {
            last_snapshot,
            snapshot_builds: Timings::default(),
            snapshot_installs: Timings::default(),
            since_snapshot: 0,
            snapshot_due_at: u64::MAX,
            snapshot_wake: Arc::default(),
            tree,
            host,
            store,
            last_applied,
            installed,
            membership,
            snapshot: None,
            snapshot_seq: 0,
            snap_dir,
            receiving: None,
        })))
    }

    /// A consistent view of the stored tree (an instant, under the lock),
    /// to write a snapshot from outside it.
    pub fn store_view(&self) -> storage::StoreView {
        self.store.view()
    }

    /// The last applied log id.
    pub fn last_applied(&self) -> Option<LogId<NodeId>> {
        self.last_applied
    }

    /// The last log id of the last snapshot installed from a leader, if
    /// the store recorded one.
    pub fn installed_snapshot(&self) -> Option<LogId<NodeId>> {
        self.installed
    }

    fn meta(&self) -> Result<(Vec<u8>, Vec<u8>), std::io::Error> {
        Ok((
            postcard::to_allocvec(&self.last_applied).map_err(io_err)?,
            postcard::to_allocvec(&self.membership).map_err(io_err)?,
        ))
    }
}

/// Makes `tree` (read from elsewhere: `corral import`), whose digest is
/// `digest`, the state of a new member: the tree store under
/// `cfg.tree_dir` holds it, applied at a log position of term `epoch` (the
/// imported last zxid's), with `cfg.voters` as the membership; the Raft log
/// under `cfg.log_dir` is empty (openraft treats everything up to the
/// applied position as purged) and its vote is at term `epoch`, so the
/// first leader's term, and with it every new zxid's epoch, is above the
/// imported zxids. Every voter seeded from the same tree holds the same
/// state at the same log position.
///
/// Both are built under temporary names (`<dir>.importing`) and renamed
/// into place at the end, the log first: a server never starts on half an
/// import. The store is then read back; the returned account of what was
/// written equals the one read, or this fails.
///
/// # Errors
/// [`crate::StartError`] if a store cannot be written or read back the
/// same, or either directory already holds data.
pub fn seed(
    cfg: &crate::NodeConfig,
    tree: &Tree,
    digest: i64,
) -> Result<storage::Stored, crate::StartError> {
    let seeding = Seeding::stage(cfg)?;
    let outcome = seeding.meta(tree).and_then(|(applied, membership)| {
        let written = Store::create(
            &seeding.tree_tmp,
            tree,
            digest,
            &[
                (APPLIED_KEY, &applied),
                (MEMBERSHIP_KEY, &membership),
                (INSTALLED_KEY, &applied),
            ],
        )?;
        seeding.complete(tree, written, None)
    });
    if outcome.is_err() {
        seeding.remove_staged();
    }
    outcome
}

/// [`seed`] in two steps, for an import that writes the store while it
/// reads ZooKeeper's files: [`Seeding::begin`] stages the directories and
/// opens the new store, the caller ingests the snapshot's nodes into it
/// and tracks what changes after, and [`Seeding::finish`] writes those
/// changes, reads the store back and moves both into place.
#[derive(Debug)]
pub struct Seeding {
    tree_dir: std::path::PathBuf,
    log_dir: std::path::PathBuf,
    tree_tmp: std::path::PathBuf,
    log_tmp: std::path::PathBuf,
    voters: std::collections::BTreeMap<NodeId, crate::Peer>,
    /// The new Raft log, opened ahead by [`Seeding::begin`].
    log: Option<crate::LogStore>,
}

impl Seeding {
    /// Stages an import into `cfg`'s directories, which must hold no data,
    /// and opens its new, empty tree store.
    ///
    /// # Errors
    /// [`crate::StartError`] if a directory holds data or the store cannot
    /// be created.
    pub fn begin(cfg: &crate::NodeConfig) -> Result<(Seeding, Store), crate::StartError> {
        let mut seeding = Seeding::stage(cfg)?;
        let store = Store::create_empty(&seeding.tree_tmp)?;
        seeding.log = Some(crate::LogStore::open(
            &seeding.log_tmp,
            crate::WriteMetrics::new()?,
        )?);
        Ok((seeding, store))
    }

    /// Completes the import: `tree`'s changes since the ingested nodes
    /// (`ingested`, their account) are written to `store` with the applied
    /// position and membership; the digest of the stored values (each
    /// decoded as it was written) must be `digest`, the store read back
    /// must hold the same bytes, and both directories move into place.
    ///
    /// # Errors
    /// [`crate::StartError`] if a store cannot be written or read back the
    /// same.
    pub fn finish(
        mut self,
        store: Store,
        tree: &mut Tree,
        digest: i64,
        ingested: storage::Stored,
    ) -> Result<storage::Stored, crate::StartError> {
        let sealed = self.meta(tree).and_then(|(applied, membership)| {
            Ok(store.seal_import(
                tree,
                ingested,
                &[
                    (APPLIED_KEY, &applied),
                    (MEMBERSHIP_KEY, &membership),
                    (INSTALLED_KEY, &applied),
                ],
            )?)
        });
        drop(store);
        let log = self.log.take();
        let outcome = sealed.and_then(|written| {
            if written.digest != digest {
                return Err(crate::StartError::Raft(format!(
                    "the stored nodes' digest is {}, the imported tree's {digest}",
                    written.digest
                )));
            }
            self.complete(tree, written, log)
        });
        if outcome.is_err() {
            self.remove_staged();
        }
        outcome
    }

    /// Gives the import up: the store is closed and the staged directories
    /// removed (the data directory is left as it was).
    pub fn abandon(mut self, store: Store) {
        drop(store);
        drop(self.log.take());
        self.remove_staged();
    }

    fn remove_staged(&self) {
        for dir in [&self.tree_tmp, &self.log_tmp] {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    fn stage(cfg: &crate::NodeConfig) -> Result<Seeding, crate::StartError> {
        for dir in [&cfg.tree_dir, &cfg.log_dir] {
            if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
                return Err(crate::StartError::Raft(format!(
                    "{} already holds data: import into an empty data directory",
                    dir.display()
                )));
            }
        }
        let staging = |dir: &Path| {
            let mut name = dir.file_name().unwrap_or_default().to_os_string();
            name.push(".importing");
            dir.with_file_name(name)
        };
        let seeding = Seeding {
            tree_tmp: staging(&cfg.tree_dir),
            log_tmp: staging(&cfg.log_dir),
            tree_dir: cfg.tree_dir.clone(),
            log_dir: cfg.log_dir.clone(),
            voters: cfg.voters.clone(),
            log: None,
        };
        for dir in [&seeding.tree_tmp, &seeding.log_tmp] {
            // Left by an import that was interrupted.
            let _ = std::fs::remove_dir_all(dir);
        }
        Ok(seeding)
    }

    /// The imported epoch (the term of the applied position and the vote).
    fn epoch(tree: &Tree) -> u64 {
        u64::try_from(tree.last_zxid() >> 32).unwrap_or(0).max(1)
    }

    /// The applied log id and the membership, encoded for the store.
    fn meta(&self, tree: &Tree) -> Result<(Vec<u8>, Vec<u8>), crate::StartError> {
        let log_id = LogId::new(openraft::CommittedLeaderId::new(Self::epoch(tree), 0), 1);
        let voters: std::collections::BTreeSet<NodeId> = self.voters.keys().copied().collect();
        let membership = StoredMembership::new(
            Some(log_id),
            openraft::Membership::new(vec![voters], self.voters.clone()),
        );
        let encode_err = |e: postcard::Error| crate::StartError::Raft(e.to_string());
        Ok((
            postcard::to_allocvec(&Some(log_id)).map_err(encode_err)?,
            postcard::to_allocvec(&membership).map_err(encode_err)?,
        ))
    }

    /// Reads the store back and compares it with `written`, seeds the
    /// vote of the log (`log`, or opened here), and renames both into place
    /// (the log first).
    fn complete(
        &self,
        tree: &Tree,
        written: storage::Stored,
        log: Option<crate::LogStore>,
    ) -> Result<storage::Stored, crate::StartError> {
        let began = std::time::Instant::now();
        let mut read = Store::stored(&self.tree_tmp, &written.middle)?;
        tracing::debug!(ms = began.elapsed().as_millis() as u64, "store read back");
        if !read.same_bytes(&written) {
            return Err(crate::StartError::Raft(format!(
                "the store read back differs from what was written: {read:?} against {written:?}"
            )));
        }
        let log = match log {
            Some(log) => log,
            None => crate::LogStore::open(&self.log_tmp, crate::WriteMetrics::new()?)?,
        };
        log.seed_vote(&openraft::Vote::new(Self::epoch(tree), 0))
            .map_err(|e| crate::StartError::Raft(e.to_string()))?;
        drop(log);
        for (from, to) in [
            (&self.log_tmp, &self.log_dir),
            (&self.tree_tmp, &self.tree_dir),
        ] {
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(from, to)?;
        }
        // The same bytes: the digest their writer computed is theirs.
        read.digest = written.digest;
        Ok(read)
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
    /// Takes a consistent view of the store under the lock (an instant),
    /// then writes it to a file outside the lock, node by node from disk:
    /// applying goes on meanwhile, and memory does not grow with the tree.
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let started = std::time::Instant::now();
        let (view, meta, path) = {
            let mut r = lock(&self.replica);
            r.last_snapshot = Some((r.tree.last_zxid(), unix_secs()));
            r.snapshot_seq += 1;
            let snapshot_id = match r.last_applied {
                Some(id) => format!("{}-{}-{}", id.leader_id.term, id.index, r.snapshot_seq),
                None => format!("--{}", r.snapshot_seq),
            };
            let path = r.snap_dir.join(format!("{snapshot_id}.snap"));
            let meta = SnapshotMeta {
                last_log_id: r.last_applied,
                last_membership: r.membership.clone(),
                snapshot_id,
            };
            (r.store.view(), meta, path)
        };
        let tmp = path.with_extension("tmp");
        let target = path.clone();
        let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            fail::fail_point!("snapshot-build", |_| Err(std::io::Error::other(
                "injected write failure (failpoint snapshot-build)"
            )));
            let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
            view.write_snapshot(&mut out).map_err(io_err)?;
            // Durable before it takes the name: the log behind it may be
            // purged, and a follower may be sent it, after a power loss.
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            std::fs::rename(&tmp, &target)?;
            if let Some(dir) = target.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        })
        .await
        .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &io_err(e)))?;
        written.map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &e))?;
        let bytes = file.metadata().await.map_or(0, |m| m.len());
        let old = {
            let mut r = lock(&self.replica);
            let ms = ms_since(started);
            r.snapshot_builds.add(ms);
            tracing::info!(id = %meta.snapshot_id, ms, bytes, znodes = r.tree.node_count(), "snapshot built");
            r.snapshot.replace((meta.clone(), path))
        };
        if let Some((_, old)) = old {
            // A transfer still reading it keeps its open file.
            let _ = std::fs::remove_file(old);
        }
        Ok(Snapshot {
            meta,
            snapshot: Box::new(file),
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
                        let restored = matches!(proposal.command.op, CommandOp::Restore { .. })
                            && outcome.result.is_ok();
                        r.host.applied(&r.tree, at, proposal, outcome);
                        if restored {
                            // A new tree: what the host kept about the old
                            // one (watches, connections) goes, as after an
                            // installed snapshot.
                            tracing::warn!(
                                zxid = at,
                                znodes = r.tree.node_count(),
                                sessions = r.tree.sessions().len(),
                                "tree restored from a snapshot"
                            );
                            r.last_snapshot = Some((r.tree.last_zxid(), unix_secs()));
                            r.host.reset(&r.tree);
                        }
                    }
                    r.since_snapshot += batch.0.len() as u64;
                    // As ZooKeeper's SyncRequestProcessor: counted and reset
                    // where the commands are, the snapshot taken elsewhere
                    // (one asked for while another is built is skipped).
                    if r.since_snapshot >= r.snapshot_due_at {
                        r.since_snapshot = 0;
                        r.snapshot_wake.notify_one();
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
        fail::fail_point!("tree-commit", |_| Err(StorageIOError::write_state_machine(
            &std::io::Error::other("injected write failure (failpoint tree-commit)")
        )
        .into()));
        // The broken build keeps what it applied in the process, as it
        // keeps its log (`raft-log-ack-before-fsync`).
        let durability = if crate::log_store::ack_before_fsync() {
            Durability::Unflushed
        } else {
            Durability::Buffered
        };
        r.store
            .commit_with(
                &mut r.tree,
                durability,
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
    ) -> Result<Box<tokio::fs::File>, StorageError<NodeId>> {
        let path = {
            let mut r = lock(&self.replica);
            r.snapshot_seq += 1;
            let path = r.snap_dir.join(format!("receiving-{}.tmp", r.snapshot_seq));
            if let Some(old) = r.receiving.replace(path.clone()) {
                let _ = std::fs::remove_file(old);
            }
            path
        };
        let file = tokio::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .await
            .map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        Ok(Box::new(file))
    }

    /// Reads the received file into the tree, streaming: the old tree is
    /// dropped first, so one tree is in memory (if the snapshot turns out
    /// damaged, the old tree is reloaded from the untouched store).
    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, Peer>,
        snapshot: Box<tokio::fs::File>,
    ) -> Result<(), StorageError<NodeId>> {
        let sig = meta.signature();
        let mut file = *snapshot;
        tokio::io::AsyncWriteExt::flush(&mut file)
            .await
            .map_err(|e| StorageIOError::write_snapshot(Some(sig.clone()), &e))?;
        let file = file.into_std().await;
        let replica = self.replica.clone();
        let meta = meta.clone();
        let installed = tokio::task::spawn_blocking(move || -> Result<(), String> {
            fail::fail_point!("snapshot-install", |_| Err(
                "injected read failure (failpoint snapshot-install)".to_owned()
            ));
            let started = std::time::Instant::now();
            let mut file = file;
            file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
            let mut input = BufReader::with_capacity(1 << 20, file);
            let mut guard = lock(&replica);
            let r = &mut *guard;
            let config = r.tree.config().clone();
            r.tree = storage::Tree::new(config.clone());
            let mut tree = match storage::snapshot::read(&mut input, config.clone()) {
                Ok(t) => t,
                Err(e) => {
                    r.tree = r.store.load(config).map_err(|e| e.to_string())?;
                    return Err(format!("damaged snapshot: {e}"));
                }
            };
            r.last_applied = meta.last_log_id;
            r.installed = meta.last_log_id;
            r.membership = meta.last_membership.clone();
            let (applied, membership) = r.meta().map_err(|e| e.to_string())?;
            let installed = postcard::to_allocvec(&r.installed).map_err(|e| e.to_string())?;
            r.store
                .replace(
                    &mut tree,
                    &[
                        (APPLIED_KEY, &applied),
                        (MEMBERSHIP_KEY, &membership),
                        (INSTALLED_KEY, &installed),
                    ],
                )
                .map_err(|e| e.to_string())?;
            r.tree = tree;
            r.last_snapshot = Some((r.tree.last_zxid(), unix_secs()));
            r.host.reset(&r.tree);
            let ms = ms_since(started);
            r.snapshot_installs.add(ms);
            r.since_snapshot = 0;
            tracing::info!(id = %meta.snapshot_id, ms, znodes = r.tree.node_count(), "snapshot installed");
            // The received file is now this server's current snapshot.
            if let Some(received) = r.receiving.take() {
                let path = r.snap_dir.join(format!("{}.snap", meta.snapshot_id));
                if std::fs::rename(&received, &path).is_ok()
                    && let Some((_, old)) = r.snapshot.replace((meta.clone(), path))
                {
                    let _ = std::fs::remove_file(old);
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| StorageIOError::write_snapshot(Some(sig.clone()), &io_err(e)))?;
        installed.map_err(|e| StorageIOError::write_snapshot(Some(sig), &io_err(e)).into())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        let current = lock(&self.replica).snapshot.clone();
        let Some((meta, path)) = current else {
            return Ok(None);
        };
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &e))?;
        Ok(Some(Snapshot {
            meta,
            snapshot: Box::new(file),
        }))
    }
}
