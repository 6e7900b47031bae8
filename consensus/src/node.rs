//! Starting a server's Raft: open the log and the tree, build the Raft over
//! the peer transport, and form the ensemble on first start.
//!
//! A standalone server is a one-member ensemble: the same code, with no
//! peers to talk to.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use storage::TreeConfig;
use tokio_util::sync::CancellationToken;

use crate::network::{Faults, Network, PeerClients};
use crate::state_machine::{Host, Replica, SharedReplica, StateMachine};
use crate::{LogStore, NodeId, Peer, Proposer, Raft};

/// Why a server's Raft could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The log store could not be opened.
    #[error("raft log: {0}")]
    Log(#[from] fjall::Error),
    /// A store's journal failed its checksum on recovery (a flipped bit, a
    /// bad sector, a file overwritten): the member refuses to start rather
    /// than serve, or vote with, a state it cannot vouch for. (A journal
    /// torn at its end, as a crash leaves it, is not this: fjall drops the
    /// unfinished batch, which was never synced, hence never acknowledged.)
    #[error(
        "{what} in {} is corrupt ({detail}): refusing to start rather than serve a state \
         it cannot vouch for. Restore the data directory from a backup or, in an \
         ensemble, remove this member (reconfig), empty its data directory and add it \
         back to copy the state from the others",
        dir.display()
    )]
    Corrupt {
        /// Which store.
        what: &'static str,
        /// Its directory.
        dir: std::path::PathBuf,
        /// What failed.
        detail: String,
    },
    /// The tree could not be opened or is corrupt.
    #[error("tree: {0}")]
    Tree(#[from] storage::StorageError),
    /// openraft refused the configuration or failed to start.
    #[error("raft: {0}")]
    Raft(String),
    /// The write path's metrics could not be made.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// Raft's thread or runtime could not be started.
    #[error("raft runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// ZooKeeper's `snapCount`: entries between snapshots (the log behind a
/// snapshot is purged).
pub const DEFAULT_SNAP_COUNT: u64 = 100_000;

/// Everything needed to start one member.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// This server's id (`myid`).
    pub me: NodeId,
    /// The voting members (`server.N` lines without `:observer`), this
    /// server among them unless it is an observer.
    pub voters: BTreeMap<NodeId, Peer>,
    /// Non-voting members (`:observer`): Raft learners.
    pub observers: BTreeMap<NodeId, Peer>,
    /// Directory of the Raft log and vote.
    pub log_dir: PathBuf,
    /// Directory of the tree.
    pub tree_dir: PathBuf,
    /// How the tree behaves.
    pub tree_config: TreeConfig,
    /// Entries between snapshots.
    pub snap_count: u64,
    /// Leader heartbeat period.
    pub heartbeat: Duration,
    /// A follower that hears no leader for a random time in this range
    /// starts an election.
    pub election_timeout: (Duration, Duration),
    /// How long a write may take to commit before its clients are told
    /// the connection is lost (ZooKeeper: `syncLimit` ticks).
    pub commit_timeout: Duration,
    /// Links cut by tests.
    pub faults: Arc<Faults>,
    /// Where the write path's measurements go (`None`: a set of this
    /// member's own, made at start).
    pub metrics: Option<crate::WriteMetrics>,
    /// TLS between members (`sslQuorum`), if on.
    pub peer_tls: Option<crate::network::PeerTls>,
    /// Whether this member joins an ensemble that already runs (a member
    /// of it answered that it holds a log): it never forms one from
    /// `voters`, but waits for the leader to add it (`reconfig`).
    pub join: bool,
    /// Set while this member neither votes nor stands for election: it
    /// lost its stores and is copying the state back from its peers.
    pub abstain: Abstain,
    /// ZooKeeper's `forceSync`: whether appended log entries are
    /// `fdatasync`ed before they count (true) or only written to the
    /// kernel (false: a power loss of a quorum at once loses the latest
    /// acknowledged writes).
    pub force_sync: bool,
    /// Sync the log on the Raft thread, in the append itself
    /// ([`LogStore::set_sync_inline`]): only for a server that can never
    /// have other members.
    pub sync_inline: bool,
}

/// Whether a member abstains from elections: neither grants a vote nor
/// stands. A member that lost its stores (a corrupt journal set aside)
/// forgot its vote and what its log held; a vote from it could elect a
/// candidate that misses entries it had acknowledged, so it abstains
/// until it holds everything the leader had committed when it asked
/// (the server's repair, `leader_tasks::finish_repair`).
#[derive(Debug, Clone, Default)]
pub struct Abstain(Arc<std::sync::atomic::AtomicBool>);

impl Abstain {
    /// Whether the member abstains now.
    pub fn is_set(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Starts or ends abstaining.
    pub fn set(&self, on: bool) {
        self.0.store(on, std::sync::atomic::Ordering::Release);
    }
}

impl NodeConfig {
    /// A one-member ensemble of server `me`.
    pub fn standalone(me: NodeId, peer: Peer, log_dir: PathBuf, tree_dir: PathBuf) -> Self {
        NodeConfig {
            me,
            voters: BTreeMap::from([(me, peer)]),
            observers: BTreeMap::new(),
            log_dir,
            tree_dir,
            tree_config: TreeConfig::default(),
            snap_count: DEFAULT_SNAP_COUNT,
            heartbeat: Duration::from_millis(100),
            election_timeout: (Duration::from_millis(1000), Duration::from_millis(2000)),
            commit_timeout: crate::proposer::DEFAULT_COMMIT_TIMEOUT,
            faults: Arc::default(),
            metrics: None,
            peer_tls: None,
            join: false,
            abstain: Abstain::default(),
            force_sync: true,
            sync_inline: false,
        }
    }

    /// Whether this is a one-member ensemble.
    pub fn is_standalone(&self) -> bool {
        self.voters.len() == 1 && self.observers.is_empty() && self.voters.contains_key(&self.me)
    }
}

/// A started member: its Raft, its replica, the proposer of its writes,
/// and its clients to the other members.
#[derive(Clone)]
pub struct Started<H> {
    /// The Raft handle.
    pub raft: Raft,
    /// The tree and the server's state.
    pub replica: SharedReplica<H>,
    /// Where this server's writes go.
    pub proposer: Proposer,
    /// Connections to the other members.
    pub clients: PeerClients,
    /// The runtime Raft runs on (see [`start`]); the peer listener belongs
    /// there too.
    pub runtime: tokio::runtime::Handle,
    /// Cancelled once Raft has stopped and its runtime is gone, with every
    /// task on it (so the stores are closed).
    pub stopped: CancellationToken,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Starts a member's Raft and, on first start, forms the ensemble from the
/// configured voters. Later starts recover the log, vote, tree and
/// membership from disk.
///
/// Raft runs on a runtime of its own, one thread (`corral-raft`): openraft's
/// core and state-machine tasks, the proposer and the peer connections.
/// On the server's runtime each of the write path's hand-offs (proposer to
/// Raft core, log sync to commit, commit to apply, apply to the next batch)
/// queued behind hundreds of client connection tasks: under load a batch
/// spent more time waiting to be polled than being synced. The thread runs
/// until Raft is shut down.
///
/// # Errors
/// [`StartError`] if the stores cannot be opened or openraft refuses.
pub async fn start<H: Host>(cfg: NodeConfig, host: H) -> Result<Started<H>, StartError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let handle = runtime.handle().clone();
    let stopped = CancellationToken::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (for_started, for_thread) = (stopped.clone(), stopped);
    std::thread::Builder::new()
        .name("corral-raft".into())
        .spawn(move || {
            runtime.block_on(async move {
                let started = start_here(cfg, host, handle, for_started).await;
                let raft = started.as_ref().ok().map(|s| s.raft.clone());
                let _ = tx.send(started);
                if let Some(raft) = raft {
                    let mut m = raft.metrics();
                    while m.borrow_and_update().running_state.is_ok() {
                        if m.changed().await.is_err() {
                            break;
                        }
                    }
                }
            });
            // Ends the proposer, the snapshot timer and the peer tasks.
            drop(runtime);
            for_thread.cancel();
        })?;
    rx.await
        .map_err(|_| StartError::Raft("raft's thread ended while starting".into()))?
}

async fn start_here<H: Host>(
    cfg: NodeConfig,
    host: H,
    runtime: tokio::runtime::Handle,
    stopped: CancellationToken,
) -> Result<Started<H>, StartError> {
    let metrics = match cfg.metrics.clone() {
        Some(m) => m,
        None => crate::WriteMetrics::new()?,
    };
    let mut log = LogStore::open(&cfg.log_dir, metrics.clone()).map_err(|e| match e {
        fjall::Error::JournalRecovery(r) => StartError::Corrupt {
            what: "the Raft log",
            dir: cfg.log_dir.clone(),
            detail: format!("journal recovery: {r:?}"),
        },
        e => StartError::Log(e),
    })?;
    log.set_force_sync(cfg.force_sync);
    log.set_sync_inline(cfg.sync_inline);
    if !cfg.force_sync {
        tracing::warn!(
            "forceSync=no: a write is acknowledged once a quorum has it in memory, not on disk; \
             a power loss of a quorum at once loses the latest acknowledged writes"
        );
    }
    let replica =
        Replica::open(&cfg.tree_dir, cfg.tree_config.clone(), host).map_err(|e| match e {
            storage::StorageError::Fjall(fjall::Error::JournalRecovery(r)) => StartError::Corrupt {
                what: "the tree",
                dir: cfg.tree_dir.clone(),
                detail: format!("journal recovery: {r:?}"),
            },
            e => StartError::Tree(e),
        })?;
    // A journal damaged inside a length or a marker, rather than in a
    // checksummed payload, reads to fjall as a torn tail: it keeps what
    // came before and drops the rest without an error, synced batches
    // too. The tree (another journal) tells: it cannot have applied an
    // entry the log never held, unless a snapshot was installed over a
    // shorter log.
    let state = openraft::storage::RaftLogStorage::get_log_state(&mut log)
        .await
        .map_err(|e| StartError::Raft(e.to_string()))?;
    let (applied, installed) = {
        let r = crate::state_machine::lock(&replica);
        (r.last_applied(), r.installed_snapshot())
    };
    // A log that never held anything under a tree without the mark is a
    // store imported by a version that did not keep it, never started.
    let legacy_import = state.last_log_id.is_none() && installed.is_none();
    if applied.map(|l| l.index) > state.last_log_id.map(|l| l.index)
        && applied != installed
        && !legacy_import
    {
        return Err(StartError::Corrupt {
            what: "the Raft log",
            dir: cfg.log_dir.clone(),
            detail: format!(
                "it ends at entry {} but the tree applied entry {}: the journal lost entries \
                 it had synced",
                state.last_log_id.map_or(0, |l| l.index),
                applied.map_or(0, |l| l.index)
            ),
        });
    }
    let config = openraft::Config {
        cluster_name: "corral".into(),
        heartbeat_interval: millis(cfg.heartbeat),
        election_timeout_min: millis(cfg.election_timeout.0),
        election_timeout_max: millis(cfg.election_timeout.1),
        // Snapshots are asked for by `snapshot_when_due`, counting commands.
        snapshot_policy: openraft::SnapshotPolicy::Never,
        // Keep some log behind a snapshot so a follower a little behind
        // catches up from the log rather than by a whole snapshot.
        max_in_snapshot_log_to_keep: (cfg.snap_count / 4).min(1000),
        // The last chunk's call returns only once the receiver has
        // installed the snapshot (about 4 s for 1 M znodes): with
        // openraft's default of 200 ms the leader gave up on every install
        // and sent the whole snapshot again.
        install_snapshot_timeout: 120_000,
        ..Default::default()
    };
    let config = Arc::new(
        config
            .validate()
            .map_err(|e| StartError::Raft(e.to_string()))?,
    );
    let clients = PeerClients::new(cfg.me, cfg.faults.clone(), cfg.peer_tls.clone());
    let raft = Raft::new(
        cfg.me,
        config,
        Network::new(clients.clone()),
        log,
        StateMachine::new(replica.clone()),
    )
    .await
    .map_err(|e| StartError::Raft(e.to_string()))?;
    if cfg.abstain.is_set() {
        raft.runtime_config().elect(false);
    }
    let initialized = raft
        .is_initialized()
        .await
        .map_err(|e| StartError::Raft(e.to_string()))?;
    // Every voter initialises with the same members (openraft: safe with
    // an identical configuration); an observer, and a member joining a
    // running ensemble, waits to be added by the leader.
    if !initialized && !cfg.join && cfg.voters.contains_key(&cfg.me) {
        match raft.initialize(cfg.voters.clone()).await {
            Ok(()) => {}
            Err(openraft::error::RaftError::APIError(
                openraft::error::InitializeError::NotAllowed(_),
            )) => {}
            Err(e) => return Err(StartError::Raft(e.to_string())),
        }
    }
    tokio::spawn(snapshot_when_due(
        raft.clone(),
        Arc::downgrade(&replica),
        cfg.snap_count,
        cfg.me,
    ));
    let proposer = Proposer::start(
        raft.clone(),
        cfg.me,
        clients.clone(),
        cfg.commit_timeout,
        metrics,
    );
    Ok(Started {
        raft,
        replica,
        proposer,
        clients,
        runtime,
        stopped,
    })
}

/// Asks openraft for a snapshot once `snap_count` commands have been
/// applied since the last one, as ZooKeeper's `SyncRequestProcessor` does
/// after `snapCount` transactions. Like ZooKeeper, each member waits for a
/// count between half and all of `snap_count` (here fixed per member, so
/// that members do not all write snapshots at the same moment). The apply
/// counts and wakes it when a snapshot is due; it also looks every 100 ms,
/// to end when the Raft stops or the replica is dropped. It holds the
/// replica only at start, so that stopping a server releases its store
/// (and fjall's directory lock) at once.
async fn snapshot_when_due<H: Host>(
    raft: Raft,
    replica: std::sync::Weak<std::sync::Mutex<Replica<H>>>,
    snap_count: u64,
    me: NodeId,
) {
    let half = (snap_count / 2).max(1);
    let due_at = half + me.wrapping_mul(0x9e37_79b9_7f4a_7c15) % half;
    let Some(wake) = replica.upgrade().map(|replica| {
        let mut r = crate::state_machine::lock(&replica);
        r.snapshot_due_at = due_at;
        r.snapshot_wake.clone()
    }) else {
        return;
    };
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = wake.notified() => {
                if raft.trigger().snapshot().await.is_err() {
                    return;
                }
            }
            _ = tick.tick() => {
                if raft.metrics().borrow().running_state.is_err()
                    || replica.strong_count() == 0
                {
                    return;
                }
            }
        }
    }
}
