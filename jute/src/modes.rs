//! Small wire enums of requests: `CreateMode`, `Perms`, the watcher types of
//! `checkWatches`/`removeWatches`, and the `addWatch` mode.

use num_enum::{IntoPrimitive, TryFromPrimitive};

/// The `flags` of a create request (ZooKeeper `CreateMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoPrimitive, TryFromPrimitive)]
#[repr(i32)]
pub enum CreateMode {
    /// Persistent node.
    Persistent = 0,
    /// Deleted when its session ends.
    Ephemeral = 1,
    /// Persistent, with a `%010d` suffix from the parent's cversion.
    PersistentSequential = 2,
    /// Ephemeral and sequential.
    EphemeralSequential = 3,
    /// Deleted by the server once its last child is gone (3.5.1).
    Container = 4,
    /// Persistent, deleted after `ttl` ms without changes and children (3.5.3).
    PersistentWithTtl = 5,
    /// Persistent-sequential with a TTL (3.5.3).
    PersistentSequentialWithTtl = 6,
}

impl CreateMode {
    /// Whether the name gets a sequence suffix.
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl
        )
    }

    /// Whether the node belongs to a session.
    pub fn is_ephemeral(self) -> bool {
        matches!(
            self,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential
        )
    }

    /// Whether the node is a container.
    pub fn is_container(self) -> bool {
        self == CreateMode::Container
    }

    /// Whether the node carries a TTL.
    pub fn is_ttl(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl
        )
    }
}

bitflags::bitflags! {
    /// ACL permission bits (`ZooDefs.Perms`). Unknown bits are kept, as
    /// ZooKeeper keeps them.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Perms: i32 {
        /// Read data and list children.
        const READ = 1;
        /// Set data.
        const WRITE = 2;
        /// Create children.
        const CREATE = 4;
        /// Delete children.
        const DELETE = 8;
        /// Set ACLs.
        const ADMIN = 16;
        /// All of the above.
        const ALL = 31;
    }
}

/// The `type` of `checkWatches` / `removeWatches` (`Watcher.WatcherType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoPrimitive, TryFromPrimitive)]
#[repr(i32)]
pub enum WatcherType {
    /// Child watches.
    Children = 1,
    /// Data (and exist) watches.
    Data = 2,
    /// Any watch.
    Any = 3,
    /// Persistent watches (3.6).
    Persistent = 4,
    /// Persistent recursive watches (3.6).
    PersistentRecursive = 5,
}

/// The `mode` of `addWatch` (`AddWatchMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoPrimitive, TryFromPrimitive)]
#[repr(i32)]
pub enum AddWatchMode {
    /// Fires for the node itself, and is not removed when it fires.
    Persistent = 0,
    /// Fires for the node and every descendant, never `NodeChildrenChanged`.
    PersistentRecursive = 1,
}

/// The `type` of a `WatcherEvent` (`Watcher.Event.EventType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoPrimitive, TryFromPrimitive)]
#[repr(i32)]
pub enum EventType {
    /// A connection state change, no path.
    None = -1,
    /// The node was created.
    NodeCreated = 1,
    /// The node was deleted.
    NodeDeleted = 2,
    /// The node's data changed.
    NodeDataChanged = 3,
    /// A child was created or deleted.
    NodeChildrenChanged = 4,
    /// A data watch was removed (3.5).
    DataWatchRemoved = 5,
    /// A child watch was removed (3.5).
    ChildWatchRemoved = 6,
    /// A persistent watch was removed (3.6).
    PersistentWatchRemoved = 7,
}

/// The `state` of a `WatcherEvent` (`Watcher.Event.KeeperState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoPrimitive, TryFromPrimitive)]
#[repr(i32)]
pub enum KeeperState {
    /// The client is disconnected.
    Disconnected = 0,
    /// The client is connected (the state of every tree event).
    SyncConnected = 3,
    /// Authentication failed.
    AuthFailed = 4,
    /// Connected to a read-only server.
    ConnectedReadOnly = 5,
    /// SASL authentication succeeded.
    SaslAuthenticated = 6,
    /// The client closed the session (client-side).
    Closed = 7,
    /// The session expired.
    Expired = -112,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_mode_classes() {
        assert_eq!(
            CreateMode::try_from(6),
            Ok(CreateMode::PersistentSequentialWithTtl)
        );
        assert!(CreateMode::try_from(7).is_err());
        assert!(CreateMode::try_from(-1).is_err());
        assert!(CreateMode::EphemeralSequential.is_sequential());
        assert!(CreateMode::EphemeralSequential.is_ephemeral());
        assert!(!CreateMode::Container.is_ephemeral());
        assert!(CreateMode::PersistentSequentialWithTtl.is_ttl());
    }

    #[test]
    fn perms_keep_unknown_bits() {
        let p = Perms::from_bits_retain(0x41);
        assert!(p.contains(Perms::READ));
        assert_eq!(p.bits(), 0x41);
        assert_eq!(Perms::ALL.bits(), 31);
    }
}
