//! `consensus`: replication of the `storage` state machine with openraft.
//!
//! Not built yet: issue #4 fills this crate (log and vote store on fjall, the
//! state machine adapter, the peer transport, forwarding and `sync`).

#![deny(missing_docs)]
