//! Starting a server's Raft: open the log and the tree, build the Raft,
//! and bootstrap the ensemble on first start.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use storage::TreeConfig;

use crate::network::Standalone;
use crate::state_machine::{Host, Replica, SharedReplica, StateMachine};
use crate::{LogStore, NodeId, Peer, Raft};

/// Why a server's Raft could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The log store could not be opened.
    #[error("raft log: {0}")]
    Log(#[from] fjall::Error),
    /// The tree could not be opened or is corrupt.
    #[error("tree: {0}")]
    Tree(#[from] storage::StorageError),
    /// openraft refused the configuration or failed to start.
    #[error("raft: {0}")]
    Raft(String),
}

/// ZooKeeper's `snapCount`: entries between snapshots (the log behind a
/// snapshot is purged).
pub const DEFAULT_SNAP_COUNT: u64 = 100_000;

/// Starts a standalone server's Raft (a one-member ensemble) with its log
/// under `log_dir` and its tree under `tree_dir`, and initialises the
/// membership on first start.
///
/// # Errors
/// [`StartError`] if the stores cannot be opened or openraft refuses.
pub async fn start_standalone<H: Host>(
    me: NodeId,
    peer: Peer,
    log_dir: &Path,
    tree_dir: &Path,
    tree_config: TreeConfig,
    host: H,
    snap_count: u64,
) -> Result<(Raft, SharedReplica<H>), StartError> {
    let log = LogStore::open(log_dir)?;
    let replica = Replica::open(tree_dir, tree_config, host)?;
    let config = openraft::Config {
        cluster_name: "corral".into(),
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(snap_count),
        max_in_snapshot_log_to_keep: 1000,
        ..Default::default()
    };
    let config = Arc::new(
        config
            .validate()
            .map_err(|e| StartError::Raft(e.to_string()))?,
    );
    let raft = Raft::new(
        me,
        config,
        Standalone,
        log,
        StateMachine::new(replica.clone()),
    )
    .await
    .map_err(|e| StartError::Raft(e.to_string()))?;
    if !raft
        .is_initialized()
        .await
        .map_err(|e| StartError::Raft(e.to_string()))?
    {
        raft.initialize(BTreeMap::from([(me, peer)]))
            .await
            .map_err(|e| StartError::Raft(e.to_string()))?;
    }
    Ok((raft, replica))
}
