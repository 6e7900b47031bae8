//! `ChangeEvent`: what a write changed, for the watch manager to match
//! against watchers. No delivery logic here.

use std::sync::Arc;

use jute::Acl;

/// The kind of change, mirroring ZooKeeper's `EventType`s for tree changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// The node at `path` was created (`NodeCreated`).
    Created,
    /// The node at `path` was deleted (`NodeDeleted`).
    Deleted,
    /// The data of the node at `path` was set (`NodeDataChanged`).
    DataChanged,
    /// A child of the node at `path` was created or deleted
    /// (`NodeChildrenChanged`).
    ChildrenChanged,
}

/// One change, in the order ZooKeeper's `DataTree` triggers watches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChangeEvent {
    /// The ACL a watcher needs READ on to be told (ZooKeeper 3.8.4+,
    /// ZOOKEEPER-4799): the node's own for created, changed and deleted
    /// (as it was before the delete), the parent's for children changed.
    pub acl: Arc<[Acl]>,
    /// The zxid of the write that made the change.
    pub zxid: i64,
    /// The node the event is about.
    pub path: String,
    /// What happened to it.
    pub kind: ChangeKind,
}
