//! `Tree`: the in-memory znode index and the read operations.
//!
//! Reads never mutate; every mutation goes through [`crate::apply`], which
//! uses the crate-private mutators at the bottom of this file.

use std::collections::BTreeSet;

use jute::proto::{GetAclResponse, GetChildren2Response, GetChildrenResponse, GetDataResponse};
use jute::{Acl, ErrorCode, Id, Perms, Stat};

use crate::acl::{self, AclRef, AclTable};
use crate::node::{Node, NodeKind};
use crate::nodes::NodeStore;
use crate::path;
use crate::sessions::Sessions;

/// Settings every replica must share, because they change outcomes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TreeConfig {
    /// ZooKeeper's `extendedTypesEnabled`: TTL nodes allowed.
    pub ttl_enabled: bool,
    /// ZooKeeper's `enforceQuota` (3.7+): hard quota limits refuse writes
    /// with `QUOTAEXCEEDED`, soft ones are reported.
    pub enforce_quota: bool,
}

/// The znode tree plus the session table.
#[derive(Debug, Clone)]
pub struct Tree {
    pub(crate) nodes: NodeStore,
    pub(crate) acls: AclTable,
    pub(crate) sessions: Sessions,
    /// Containers and TTL nodes, for the reaper's scan.
    pub(crate) expirable: BTreeSet<String>,
    /// The quota roots: the paths that have a `zookeeper_limits` node
    /// (ZooKeeper's `pTrie`).
    pub(crate) quota_roots: BTreeSet<String>,
    pub(crate) last_zxid: i64,
    pub(crate) config: TreeConfig,
    /// What changed since the store last persisted, when a store tracks it.
    pub(crate) changes: Option<Changes>,
}

/// The keys a persistent store must rewrite: nodes and sessions touched
/// since the last commit (each either rewritten or deleted, by what the
/// tree holds now).
#[derive(Debug, Clone, Default)]
pub(crate) struct Changes {
    pub nodes: BTreeSet<String>,
    pub sessions: BTreeSet<i64>,
    /// The whole tree was replaced (a restore): the store rewrites
    /// everything.
    pub everything: bool,
}

/// The system subtree ZooKeeper creates in every tree.
pub const ZOOKEEPER: &str = "/zookeeper";
/// Quota definitions.
pub const QUOTA: &str = "/zookeeper/quota";
/// The dynamic configuration (`reconfig`).
pub const CONFIG: &str = "/zookeeper/config";

impl Tree {
    /// A fresh tree: `/`, `/zookeeper`, `/zookeeper/quota` and
    /// `/zookeeper/config`, all with zero stats, as in a new ZooKeeper.
    pub fn new(config: TreeConfig) -> Self {
        let mut acls = AclTable::default();
        let open = vec![Acl::open()];
        let read_only = vec![Acl {
            perms: Perms::READ.bits(),
            id: Id::new("world", "anyone"),
        }];
        let mut nodes = NodeStore::default();
        let mut mk = |path: &str, acl: &[Acl]| {
            let r = acls.intern(acl);
            nodes.insert(path, Node::new(Some(&[]), r, NodeKind::Persistent, 0, 0));
        };
        mk("/", &open);
        mk(ZOOKEEPER, &open);
        mk(QUOTA, &open);
        mk(CONFIG, &read_only);
        if let Some(cfg) = nodes.get_mut(CONFIG) {
            // ZooKeeper installs this ACL with DataTree.setACL(path, acl, -1),
            // which stores -1 as the aversion.
            cfg.stat.aversion = -1;
        }
        Tree {
            nodes,
            acls,
            sessions: Sessions::default(),
            expirable: BTreeSet::new(),
            quota_roots: BTreeSet::new(),
            last_zxid: 0,
            config,
            changes: None,
        }
    }

    /// A tree with no nodes at all, for recovery to fill.
    pub(crate) fn empty(config: TreeConfig) -> Self {
        Tree {
            nodes: NodeStore::default(),
            acls: AclTable::default(),
            sessions: Sessions::default(),
            expirable: BTreeSet::new(),
            quota_roots: BTreeSet::new(),
            last_zxid: 0,
            config,
            changes: None,
        }
    }

    /// The zxid of the last applied command: what reads reply with.
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    /// ZooKeeper's `approximateDataSize`: the path and data bytes of every
    /// node (kept up to date, not computed).
    pub fn approximate_data_size(&self) -> u64 {
        self.nodes.data_size()
    }

    /// Number of znodes (including `/` and the `/zookeeper` subtree).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The node at `path`.
    pub fn node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// The names of a node's children, sorted.
    pub fn child_names<'a>(&'a self, node: &'a Node) -> impl Iterator<Item = &'a str> + 'a {
        self.nodes.child_names(node)
    }

    /// Every node, in no particular order.
    pub fn iter_nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter()
    }

    /// The ACL list of a node.
    pub fn acl_of(&self, node: &Node) -> &[Acl] {
        self.acls.get(node.acl)
    }

    /// The session table.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Containers and TTL nodes, sorted by path.
    pub fn expirable(&self) -> impl Iterator<Item = &String> {
        self.expirable.iter()
    }

    /// The shared settings.
    pub fn config(&self) -> &TreeConfig {
        &self.config
    }

    /// The quota roots, sorted.
    pub fn quota_roots(&self) -> impl Iterator<Item = &String> {
        self.quota_roots.iter()
    }

    /// The deepest quota root at or above `path` (`getMaxPrefixWithQuota`;
    /// never `/`).
    pub fn quota_root_of(&self, path: &str) -> Option<&str> {
        if self.quota_roots.is_empty() {
            return None;
        }
        let mut p = path;
        loop {
            if let Some(root) = self.quota_roots.get(p) {
                return Some(root.as_str());
            }
            match p.rfind('/') {
                Some(0) | None => return None,
                Some(i) => p = &p[..i],
            }
        }
    }

    /// A node by the path a read names: reads do no path validation, and
    /// `""` names the root (ZooKeeper keeps the root under both keys).
    fn lookup(&self, path: &str) -> Option<&Node> {
        self.nodes.get(if path.is_empty() { "/" } else { path })
    }

    fn readable(&self, path: &str, auth: &[Id]) -> Result<&Node, ErrorCode> {
        let node = self.lookup(path).ok_or(ErrorCode::NoNode)?;
        acl::check(self.acls.get(node.acl), Perms::READ, auth)?;
        Ok(node)
    }

    /// `getData`: READ on the node.
    pub fn get_data(&self, path: &str, auth: &[Id]) -> Result<GetDataResponse, ErrorCode> {
        let node = self.readable(path, auth)?;
        Ok(GetDataResponse {
            data: node.data_bytes(),
            stat: node.stat(),
        })
    }

    /// `exists`: with `check_read`, READ on a node that exists (ZooKeeper
    /// 3.7.3, 3.8.4, 3.9.2 onwards, ZOOKEEPER-2590); without, no check at
    /// all (3.5.0 to 3.8.3). A NUL in the path is BADARGUMENTS.
    pub fn exists(&self, path: &str, auth: &[Id], check_read: bool) -> Result<Stat, ErrorCode> {
        if path.contains('\0') {
            return Err(ErrorCode::BadArguments);
        }
        if check_read {
            self.readable(path, auth).map(Node::stat)
        } else {
            self.lookup(path).map(Node::stat).ok_or(ErrorCode::NoNode)
        }
    }

    /// `getChildren`: READ on the node; names sorted (ZooKeeper's order is a
    /// hash set's, which clients do not rely on).
    pub fn get_children(&self, path: &str, auth: &[Id]) -> Result<GetChildrenResponse, ErrorCode> {
        let node = self.readable(path, auth)?;
        Ok(GetChildrenResponse {
            children: self.nodes.child_names(node).map(str::to_owned).collect(),
        })
    }

    /// `getChildren2`: READ on the node; names sorted, with the stat.
    pub fn get_children2(
        &self,
        path: &str,
        auth: &[Id],
    ) -> Result<GetChildren2Response, ErrorCode> {
        let node = self.readable(path, auth)?;
        Ok(GetChildren2Response {
            children: self.nodes.child_names(node).map(str::to_owned).collect(),
            stat: node.stat(),
        })
    }

    /// `getACL`: needs READ or ADMIN (`FinalRequestProcessor`, seen as
    /// NOAUTH in the golden captures); without ADMIN (or super) on the node,
    /// digest ids are shown as `user:x` (since 3.6.0, ZOOKEEPER-1392).
    pub fn get_acl(&self, path: &str, auth: &[Id]) -> Result<GetAclResponse, ErrorCode> {
        let node = self.lookup(path).ok_or(ErrorCode::NoNode)?;
        let list = self.acls.get(node.acl);
        acl::check(list, Perms::READ | Perms::ADMIN, auth)?;
        let admin = acl::check(list, Perms::ADMIN, auth).is_ok();
        let acl = list
            .iter()
            .map(|a| {
                if !admin && a.id.scheme == "digest" {
                    let user = a.id.id.split(':').next().unwrap_or("");
                    Acl {
                        perms: a.perms,
                        id: Id::new("digest", format!("{user}:x")),
                    }
                } else {
                    a.clone()
                }
            })
            .collect();
        Ok(GetAclResponse {
            acl,
            stat: node.stat(),
        })
    }

    /// `getAllChildrenNumber`: READ on the node; the number of its
    /// descendants, not counting itself (for `/` that includes the
    /// `/zookeeper` subtree; for `""` ZooKeeper also counts the root).
    pub fn all_children_number(&self, path: &str, auth: &[Id]) -> Result<i32, ErrorCode> {
        let node = self.readable(path, auth)?;
        let (path, mut count) = if path.is_empty() {
            ("/", 1usize)
        } else {
            (path, 0)
        };
        let _ = path;
        let mut stack: Vec<&Node> = vec![node];
        while let Some(n) = stack.pop() {
            for name in self.nodes.child_names(n) {
                count += 1;
                if let Some(c) = self.nodes.get(&path::join(n.path(), name)) {
                    stack.push(c);
                }
            }
        }
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }

    /// `getEphemerals`: the calling session's ephemerals whose path starts
    /// with `prefix` (a plain string prefix: `/a` matches `/ab`), sorted
    /// (ZooKeeper's order is a hash set's). An empty or `/` prefix lists all.
    pub fn ephemerals(&self, session: i64, prefix: &str) -> Vec<String> {
        let all = prefix.trim().is_empty() || prefix.trim() == "/";
        self.sessions
            .ephemerals_of(session)
            .filter(|p| all || p.starts_with(prefix))
            .cloned()
            .collect()
    }

    // ---- mutators, used by `apply` and recovery only ----

    pub(crate) fn mark_node(&mut self, path: &str) {
        if let Some(c) = self.changes.as_mut() {
            c.nodes.insert(path.to_owned());
        }
    }

    /// Replaces a node's data, marking it changed; the old data and the
    /// node (to update its stat), or `None` if there is no such node.
    pub(crate) fn set_data(
        &mut self,
        path: &str,
        data: Option<Box<[u8]>>,
    ) -> Option<(Option<Box<[u8]>>, &mut Node)> {
        let found = self.nodes.set_data(path, data)?;
        if let Some(c) = self.changes.as_mut() {
            c.nodes.insert(path.to_owned());
        }
        Some(found)
    }

    /// A node to mutate (not its data: [`Tree::set_data`]): marks it
    /// changed for the store.
    pub(crate) fn node_mut(&mut self, path: &str) -> Option<&mut Node> {
        let node = self.nodes.get_mut(path)?;
        if let Some(c) = self.changes.as_mut() {
            c.nodes.insert(path.to_owned());
        }
        Some(node)
    }

    pub(crate) fn open_session(&mut self, id: i64, info: crate::sessions::SessionInfo) -> bool {
        if let Some(c) = self.changes.as_mut() {
            c.sessions.insert(id);
        }
        self.sessions.open(id, info)
    }

    pub(crate) fn close_session(&mut self, id: i64) -> Option<BTreeSet<String>> {
        if let Some(c) = self.changes.as_mut() {
            c.sessions.insert(id);
        }
        self.sessions.close(id)
    }

    pub(crate) fn intern_acl(&mut self, acl: &[Acl]) -> AclRef {
        self.acls.intern(acl)
    }

    /// Inserts a node under its (existing) parent. Does not touch the
    /// parent's cversion/pzxid.
    pub(crate) fn insert(&mut self, path: &str, node: Node) {
        self.mark_node(path);
        self.index_kind(path, node.kind());
        self.index_quota(path, true);
        self.nodes.insert(path, node);
    }

    /// Records (or forgets) the quota root of a `zookeeper_limits` node.
    fn index_quota(&mut self, path: &str, present: bool) {
        if let Some(root) = crate::quota::root_of(path, crate::quota::LIMITS) {
            if present {
                self.quota_roots.insert(root);
            } else {
                self.quota_roots.remove(&root);
            }
        }
    }

    /// Files a new node under its owner's ephemerals, or the reaper's
    /// containers and TTL nodes.
    fn index_kind(&mut self, path: &str, kind: NodeKind) {
        match kind {
            NodeKind::Ephemeral(owner) => self.sessions.add_ephemeral(owner, path),
            NodeKind::Container | NodeKind::Ttl(_) => {
                self.expirable.insert(path.to_owned());
            }
            NodeKind::Persistent => {}
        }
    }

    /// Inserts a node read back from disk (see `NodeStore::insert_loaded`).
    ///
    /// # Errors
    /// The path back if its parent is missing.
    pub(crate) fn insert_loaded(
        &mut self,
        path: Box<str>,
        node: Node,
        hint: &mut u32,
    ) -> Result<(), Box<str>> {
        self.index_kind(&path, node.kind());
        self.index_quota(&path, true);
        self.nodes.insert_loaded(path, node, hint)
    }

    /// Removes a node (which must have no children) and returns it.
    pub(crate) fn remove(&mut self, path: &str) -> Option<Node> {
        let node = self.nodes.remove(path)?;
        self.mark_node(path);
        self.index_quota(path, false);
        self.acls.release(node.acl);
        match node.kind() {
            NodeKind::Ephemeral(owner) => self.sessions.remove_ephemeral(owner, path),
            NodeKind::Container | NodeKind::Ttl(_) => {
                self.expirable.remove(path);
            }
            NodeKind::Persistent => {}
        }
        Some(node)
    }
}
