//! `storage`: the znode tree, its ZooKeeper semantics, and its persistence.
//!
//! Not built yet: issue #3 fills this crate (the deterministic `apply`, the
//! session table, fjall persistence). It depends on `jute` only, and never on
//! tokio: applying a command is pure and synchronous.

#![deny(missing_docs)]
