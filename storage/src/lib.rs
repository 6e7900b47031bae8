//! `storage`: the znode tree, its ZooKeeper semantics, and its persistence
//! on fjall.
//!
//! # Determinism contract
//!
//! Same tree + same [`Command`] + same zxid ⇒ same [`ApplyOutcome`] and same
//! resulting tree, on every replica. [`apply`] reads no clock, draws no
//! random number and does no I/O: the leader stamps the time and chooses
//! session passwords before a command is replicated.
//!
//! # Layout
//!
//! - `path`: ZooKeeper's path rules and path arithmetic.
//! - `acl`: ACL checks, `fixupACL`, digest ids, the interned ACL table.
//! - `node`: one znode, its kind encoded in `ephemeralOwner` as ZooKeeper does.
//! - `tree`: the index and the read operations.
//! - `command`: the replicated write.
//! - `apply`: the only mutator — validation in ZooKeeper's order, mutation,
//!   change events; `multi` with rollback.
//! - `sessions`: the session table and ephemeral owners.
//! - [`quota`]: quota roots, `StatsTrack`, the stats kept by `apply` and
//!   the `enforceQuota` checks.
//! - `events`: the change events handed to the watch manager.
//! - [`digest`]: ZooKeeper's tree digest (CRC32 per node, summed).
//! - [`snapshot`]: the whole tree as one stream, for replicas that fell
//!   behind.
//! - [`zookeeper`]: ZooKeeper's snapshots and transaction logs, read into
//!   a tree (`corral import`) and written from one (`corral export`).
//! - [`persist`]: the [`Store`] on fjall — one atomic batch per commit,
//!   the tree rebuilt on open.
//!
//! ```text
//! Command ──► apply(tree, cmd, zxid) ──► ApplyOutcome { result, events }
//!                  │ validate (PrepRequestProcessor order)
//!                  │ mutate   (DataTree.processTxn)
//!                  ▼
//!                Tree (nodes, ACL table, sessions)
//! ```

#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod acl;
mod apply;
mod command;
pub mod digest;
mod error;
mod events;
pub mod node;
mod nodes;
pub mod path;
pub mod persist;
pub mod quota;
mod sessions;
pub mod snapshot;
mod tree;
pub mod zookeeper;

pub use apply::{ApplyOutcome, apply};
pub use command::{Command, CommandOp};
pub use error::StorageError;
pub use events::{ChangeEvent, ChangeKind};
pub use node::{Node, NodeKind};
pub use persist::{Durability, FJALL_WORKERS, JOURNAL_BYTES, Store, StoreView, Stored};
pub use sessions::{SessionInfo, Sessions};
pub use tree::{CONFIG, QUOTA, Tree, TreeConfig, ZOOKEEPER};
