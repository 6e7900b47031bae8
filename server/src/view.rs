//! What core publishes for `monitor/` (the four-letter words, the
//! AdminServer, Prometheus): each method takes the replica lock for as
//! long as it copies what it returns, and hands back owned values, so
//! nothing in `monitor/` holds or even sees core's lock. The lock rule is
//! core's (never held across `.await`); the cost of a view is the copy,
//! which for `dump` and the watch lists grows with the sessions and
//! watches, as ZooKeeper's own commands do.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use storage::{StoreView, TreeConfig};

use crate::core::Core;

/// The tree's and the host's counts, for `mntr`, `srvr` and the gauges.
#[derive(Debug, Clone)]
pub(crate) struct Counts {
    /// Znodes, counting the root twice as ZooKeeper's map does.
    pub znodes: usize,
    /// Watches held here.
    pub watches: usize,
    /// Ephemeral nodes.
    pub ephemerals: usize,
    /// ZooKeeper's `approximateDataSize`.
    pub data_size: u64,
    /// Sessions in the tree.
    pub sessions: usize,
    /// Snapshots built here (`snapshottime`).
    pub snapshot_builds: consensus::Timings,
    /// Quota limits and usage per namespace.
    pub quotas: BTreeMap<String, storage::quota::NamespaceQuota>,
    /// Hard-limit quota refusals per namespace.
    pub quota_errors: BTreeMap<String, u64>,
}

/// The session tracker and the ephemerals, for `dump`.
#[derive(Debug, Clone)]
pub(crate) struct Sessions {
    /// Every session in the tree with its timeout, ms, by id.
    pub timeouts: Vec<(i64, i32)>,
    /// Each session's deadline on this member.
    pub deadlines: Vec<(i64, Instant)>,
    /// The sessions that own ephemerals, by id, with their paths.
    pub ephemerals: Vec<(i64, Vec<String>)>,
}

impl Core {
    /// The counts behind `mntr`, `srvr` and the Prometheus gauges.
    pub(crate) fn counts(&self) -> Counts {
        let st = self.lock();
        Counts {
            znodes: st.tree.node_count() + 1,
            watches: st.host.watches.len(),
            ephemerals: st.tree.sessions().ephemeral_count(),
            data_size: st.tree.approximate_data_size(),
            sessions: st.tree.sessions().len(),
            snapshot_builds: st.snapshot_builds,
            quotas: storage::quota::by_namespace(&st.tree),
            quota_errors: st.host.quota.errors.clone(),
        }
    }

    /// The last applied zxid and the znodes, counting the root twice as
    /// ZooKeeper's map does (`srvr`, `server_stats`).
    pub(crate) fn zxid_and_znodes(&self) -> (i64, usize) {
        let st = self.lock();
        (st.tree.last_zxid(), st.tree.node_count() + 1)
    }

    /// The last applied zxid.
    pub(crate) fn last_zxid(&self) -> i64 {
        self.lock().tree.last_zxid()
    }

    /// The last applied zxid and the tree's digest there
    /// (`storage::digest`).
    pub(crate) fn digest(&self) -> (i64, i64) {
        let st = self.lock();
        (st.tree.last_zxid(), storage::digest::tree_digest(&st.tree))
    }

    /// Data watches by path (ZooKeeper's `wchp`, `wchc`, `wchs` and their
    /// AdminServer forms).
    pub(crate) fn data_watches(&self) -> BTreeMap<String, BTreeSet<i64>> {
        self.lock().host.watches.data_watches()
    }

    /// Data watches by session, each session's paths in order (`wchc`,
    /// the AdminServer's `watches`, the console's sessions).
    pub(crate) fn data_watches_by_session(&self) -> BTreeMap<i64, Vec<String>> {
        let mut by_session: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for (path, sessions) in self.data_watches() {
            for s in sessions {
                by_session.entry(s).or_default().push(path.clone());
            }
        }
        by_session
    }

    /// Each watching session's number of data watches and its first
    /// `limit` paths (the console's Sessions tab: bounded copying under
    /// the lock, however many watches there are).
    pub(crate) fn data_watches_sample(
        &self,
        limit: usize,
    ) -> std::collections::HashMap<i64, (usize, Vec<String>)> {
        self.lock().host.watches.data_watches_sample(limit)
    }

    /// The sessions, their deadlines and ephemerals (`dump`), sorted by
    /// session id.
    pub(crate) fn sessions_view(&self) -> Sessions {
        let st = self.lock();
        let sessions = st.tree.sessions();
        let mut timeouts: Vec<(i64, i32)> =
            sessions.iter().map(|(id, i)| (*id, i.timeout_ms)).collect();
        timeouts.sort_unstable();
        let mut deadlines: Vec<(i64, Instant)> = st
            .host
            .deadlines
            .iter()
            .map(|(id, at)| (*id, *at))
            .collect();
        deadlines.sort_unstable();
        let ephemerals = timeouts
            .iter()
            .filter_map(|(id, _)| {
                let paths: Vec<String> = sessions
                    .ephemerals_of(*id)
                    .map(ToString::to_string)
                    .collect();
                (!paths.is_empty()).then_some((*id, paths))
            })
            .collect();
        Sessions {
            timeouts,
            deadlines,
            ephemerals,
        }
    }

    /// The zxid and time (seconds) of the last snapshot (`last_snapshot`).
    pub(crate) fn last_snapshot(&self) -> Option<(i64, i64)> {
        self.lock().last_snapshot
    }

    /// The root's ACL (the AdminServer's authorization rule).
    pub(crate) fn root_acl(&self) -> Vec<jute::Acl> {
        let st = self.lock();
        st.tree
            .node("/")
            .map(|n| st.tree.acl_of(n).to_vec())
            .unwrap_or_default()
    }

    /// A consistent view of the stored tree and its zxid, to write a
    /// snapshot from outside the lock.
    pub(crate) fn store_view(&self) -> (StoreView, i64) {
        let st = self.lock();
        (st.store_view(), st.tree.last_zxid())
    }

    /// The settings every replica's tree shares.
    pub(crate) fn tree_config(&self) -> TreeConfig {
        self.lock().tree.config().clone()
    }
}
