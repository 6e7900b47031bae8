//! `ChangeEvent`: what a write changed, for the watch manager to match
//! against watchers. No delivery logic here.

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
    /// The zxid of the write that made the change.
    pub zxid: i64,
    /// The node the event is about.
    pub path: String,
    /// What happened to it.
    pub kind: ChangeKind,
}
