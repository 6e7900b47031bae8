//! Quotas as ZooKeeper 3.7+ keeps them (`DataTree`'s quota code,
//! `StatsTrack`, `Quotas`, `ZooKeeperServer.checkQuota`).
//!
//! A quota on `/p` is two ordinary nodes: `/zookeeper/quota/p/zookeeper_limits`
//! (`count=…,bytes=…` soft limits, with `countHardLimit`/`byteHardLimit`
//! after a `=;`) and `/zookeeper/quota/p/zookeeper_stats`, the subtree's
//! live node count and data bytes. The tree keeps the set of quota roots
//! (derived from the limits nodes, like ZooKeeper's `PathTrie`), and
//! `apply` keeps the stats current:
//! - creating a `zookeeper_limits` node makes its path a quota root;
//!   deleting it ends the quota;
//! - creating a `zookeeper_stats` node replaces its data with the
//!   subtree's count and bytes at that moment (`updateQuotaForPath`);
//! - a create, delete or `setData` under a quota root adds its node and
//!   bytes to the deepest root's stats (`updateQuotaStat`), without
//!   touching the stats node's Stat (no version, no zxid: ZooKeeper changes
//!   the data in place);
//! - with `enforceQuota`, a create or `setData` that would take the deepest
//!   root past a hard limit fails with `QUOTAEXCEEDED`; past a soft limit
//!   it succeeds and the outcome carries a [`QuotaExceeded`] to log.
//!
//! ### Correctness requirements
//! Pure, as `apply`: every replica keeps the same stats. The stats are
//! stored with the tree and never recomputed at load (ZooKeeper recomputes
//! them at startup, so its members can disagree after a client wrote to a
//! stats node; Corral's cannot).

use std::collections::BTreeMap;

use crate::tree::QUOTA;

/// The limits node's name.
pub const LIMITS: &str = "zookeeper_limits";
/// The stats node's name.
pub const STATS: &str = "zookeeper_stats";

const COUNT: &str = "count";
const BYTES: &str = "bytes";
const COUNT_HARD: &str = "countHardLimit";
const BYTES_HARD: &str = "byteHardLimit";

/// `StatsTrack`: `key=value` pairs separated by `,` or `;`; a key that is
/// absent reads as −1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsTrack {
    pairs: BTreeMap<String, i64>,
}

impl StatsTrack {
    /// Parses a limits or stats node's data as ZooKeeper does, except that
    /// a pair ZooKeeper would throw on (no `=`, a value that is not a
    /// number) is skipped: the apply must not fail on data a client wrote.
    pub fn parse(data: &[u8]) -> Self {
        let text = String::from_utf8_lossy(data);
        let mut pairs = BTreeMap::new();
        for pair in text.split([',', ';']).filter(|p| !p.is_empty()) {
            // Java's split("=") drops trailing empty parts: "bytes=5=" is
            // bytes 5; "count=" has no value.
            let mut kv = pair.split('=');
            let (Some(key), Some(value)) = (kv.next(), kv.next()) else {
                continue;
            };
            let value = if value.is_empty() {
                Some(-1)
            } else {
                value.parse::<i64>().ok()
            };
            if let Some(v) = value {
                pairs.insert(key.to_owned(), v);
            }
        }
        StatsTrack { pairs }
    }

    fn get(&self, key: &str) -> i64 {
        self.pairs.get(key).copied().unwrap_or(-1)
    }

    /// The node count (stats) or soft count limit (limits).
    pub fn count(&self) -> i64 {
        self.get(COUNT)
    }

    /// The data bytes (stats) or soft byte limit (limits).
    pub fn bytes(&self) -> i64 {
        self.get(BYTES)
    }

    /// The hard count limit.
    pub fn count_hard_limit(&self) -> i64 {
        self.get(COUNT_HARD)
    }

    /// The hard byte limit.
    pub fn byte_hard_limit(&self) -> i64 {
        self.get(BYTES_HARD)
    }

    /// Sets the count.
    pub fn set_count(&mut self, v: i64) {
        self.pairs.insert(COUNT.to_owned(), v);
    }

    /// Sets the bytes.
    pub fn set_bytes(&mut self, v: i64) {
        self.pairs.insert(BYTES.to_owned(), v);
    }

    /// The limit a check uses for the count: the hard one if set.
    pub fn count_limit(&self) -> (i64, bool) {
        let hard = self.count_hard_limit();
        if hard > -1 {
            (hard, true)
        } else {
            (self.count(), false)
        }
    }

    /// The limit a check uses for the bytes: the hard one if set.
    pub fn byte_limit(&self) -> (i64, bool) {
        let hard = self.byte_hard_limit();
        if hard > -1 {
            (hard, true)
        } else {
            (self.bytes(), false)
        }
    }

    /// `StatsTrack.toString`: `count=C,bytes=B`, then, if there are other
    /// keys, `=` and `;key=value` for each in sorted order (the `=` keeps
    /// 3.4 parsers reading count and bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{COUNT}={},{BYTES}={}", self.count(), self.bytes());
        let mut rest = self
            .pairs
            .iter()
            .filter(|(k, _)| k.as_str() != COUNT && k.as_str() != BYTES)
            .peekable();
        if rest.peek().is_some() {
            out.push('=');
            for (k, v) in rest {
                out.push(';');
                out.push_str(k);
                out.push('=');
                out.push_str(&v.to_string());
            }
        }
        out.into_bytes()
    }
}

/// The limits node of the quota on `root`.
pub fn limits_path(root: &str) -> String {
    format!("{QUOTA}{root}/{LIMITS}")
}

/// The stats node of the quota on `root`.
pub fn stats_path(root: &str) -> String {
    format!("{QUOTA}{root}/{STATS}")
}

/// If `path` is a node named `name` whose parent starts with
/// `/zookeeper/quota`, the quota root it belongs to (the parent without
/// that prefix, as ZooKeeper's `PathTrie` splits it: empty components
/// dropped). `None` for the quota node's own children of `/zookeeper/quota`,
/// which ZooKeeper cannot record either.
pub(crate) fn root_of(path: &str, name: &str) -> Option<String> {
    let (parent, child) = path.rsplit_once('/')?;
    if child != name || !parent.starts_with(QUOTA) {
        return None;
    }
    let parts: Vec<&str> = parent[QUOTA.len()..]
        .split('/')
        .filter(|p| !p.trim().is_empty())
        .collect();
    if parts.is_empty() {
        return None;
    }
    Some(format!("/{}", parts.join("/")))
}

/// Why a create or `setData` went over a limit of the quota on `root`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaExceeded {
    /// The quota root.
    pub root: String,
    /// The top-level name of the path written (ZooKeeper's
    /// `PathUtils.getTopNamespace`), the label of the quota metrics.
    pub namespace: String,
    /// The count (true) or the bytes (false).
    pub count: bool,
    /// What the count or bytes would become.
    pub current: i64,
    /// The limit passed.
    pub limit: i64,
    /// A hard limit (the write failed) or a soft one (it went ahead).
    pub hard: bool,
}

impl std::fmt::Display for QuotaExceeded {
    /// ZooKeeper's log line (`ZooKeeperServer.checkQuota`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (what, limit) = if self.count {
            ("count", "CountLimit")
        } else {
            ("bytes", "ByteLimit")
        };
        let kind = if self.hard { "hard" } else { "soft" };
        write!(
            f,
            "Quota exceeded: {} [current {what}={}, {kind}{limit}={}]",
            self.root, self.current, self.limit
        )
    }
}

/// Limits and usage summed per namespace (`QuotaMetricsUtils`): over the
/// leaves of `/zookeeper/quota` named `zookeeper_limits` (limits: the hard
/// one if set, else the soft one) and `zookeeper_stats` (usage), each
/// under the top-level name of the quota's path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NamespaceQuota {
    /// `quota_count_limit_per_namespace`.
    pub count_limit: i64,
    /// `quota_bytes_limit_per_namespace`.
    pub bytes_limit: i64,
    /// `quota_count_usage_per_namespace`.
    pub count_usage: i64,
    /// `quota_bytes_usage_per_namespace`.
    pub bytes_usage: i64,
}

/// [`NamespaceQuota`] for every namespace that has a limits or stats node.
pub fn by_namespace(tree: &crate::Tree) -> BTreeMap<String, NamespaceQuota> {
    let mut out: BTreeMap<String, NamespaceQuota> = BTreeMap::new();
    let mut stack: Vec<&crate::Node> = tree.node(QUOTA).into_iter().collect();
    while let Some(n) = stack.pop() {
        if n.num_children() > 0 {
            for name in tree.child_names(n) {
                if let Some(c) = tree.node(&crate::path::join(n.path(), name)) {
                    stack.push(c);
                }
            }
            continue;
        }
        let (is_limits, is_stats) = (
            n.path().ends_with(&format!("/{LIMITS}")),
            n.path().ends_with(&format!("/{STATS}")),
        );
        if !is_limits && !is_stats {
            continue;
        }
        let ns = namespace(&n.path()[QUOTA.len()..]);
        let Some(data) = n.data.as_deref() else {
            continue;
        };
        if ns.is_empty() {
            continue;
        }
        let t = StatsTrack::parse(data);
        let e = out.entry(ns.to_owned()).or_default();
        if is_limits {
            e.count_limit += t.count_limit().0;
            e.bytes_limit += t.byte_limit().0;
        } else {
            e.count_usage += t.count();
            e.bytes_usage += t.bytes();
        }
    }
    out
}

/// The first component of `path` (`/a/b` → `a`), or empty.
pub fn namespace(path: &str) -> &str {
    path.split('/').nth(1).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_track_reads_and_writes_zookeepers_format() {
        let s = StatsTrack::parse(b"count=4,bytes=5=;byteHardLimit=10;countHardLimit=3");
        assert_eq!(
            (
                s.count(),
                s.bytes(),
                s.count_hard_limit(),
                s.byte_hard_limit()
            ),
            (4, 5, 3, 10)
        );
        assert_eq!(
            s.to_bytes(),
            b"count=4,bytes=5=;byteHardLimit=10;countHardLimit=3".to_vec()
        );
        let mut fresh = StatsTrack::default();
        fresh.set_count(0);
        fresh.set_bytes(0);
        assert_eq!(fresh.to_bytes(), b"count=0,bytes=0".to_vec());
        // Absent keys read as -1; what Java would throw on is skipped.
        let odd = StatsTrack::parse(b"count=,bytes=x,junk,;;count=2");
        assert_eq!((odd.count(), odd.bytes()), (2, -1));
        assert_eq!(
            StatsTrack::parse(b"").to_bytes(),
            b"count=-1,bytes=-1".to_vec()
        );
    }

    #[test]
    fn quota_roots_and_namespaces() {
        assert_eq!(
            root_of("/zookeeper/quota/a/b/zookeeper_limits", LIMITS).as_deref(),
            Some("/a/b")
        );
        assert_eq!(root_of("/zookeeper/quota/zookeeper_limits", LIMITS), None);
        assert_eq!(root_of("/zookeeper/quota/a/zookeeper_stats", LIMITS), None);
        assert_eq!(root_of("/other/a/zookeeper_limits", LIMITS), None);
        assert_eq!(limits_path("/a"), "/zookeeper/quota/a/zookeeper_limits");
        assert_eq!(namespace("/a/b/c"), "a");
        assert_eq!(namespace("/"), "");
    }
}
