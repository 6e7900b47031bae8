//! `consensus`: the `storage` tree as a replicated state machine, with
//! openraft (pinned at 0.9.25, see `docs/decisions/0001-openraft-0.9.md`).
//!
//! # Layout
//!
//! - this file: the openraft type configuration — a log entry carries a
//!   [`Proposal`] (a `storage::Command` plus where its reply goes), the
//!   state machine answers [`Applied`] — and the zxid mapping.
//! - `log_store`: the Raft log and vote on fjall, durable before openraft
//!   is told so.
//! - `network`: the Raft transport (today the standalone case).
//! - `node`: starting a server's Raft and bootstrapping its membership.
//! - `state_machine`: applies committed entries to the tree through
//!   `storage::apply`, persists tree and applied log id in one batch, then
//!   hands each outcome to the [`Host`] (the server: watches and replies),
//!   all under the replica lock; builds and installs snapshots.
//!
//! ```text
//!  server ── client_write(Proposal) ──► openraft ──► LogStore (fjall, fdatasync)
//!                                          │ committed
//!                                          ▼
//!                              StateMachine::apply ──► storage::apply(tree, cmd, zxid)
//!                                          │            Store::commit_with(applied log id)
//!                                          ▼
//!                                  Host::applied(zxid, proposal, outcome)
//! ```

#![deny(missing_docs)]
// openraft's storage traits fix the (large) error type; boxing it here would
// only move the conversion.
#![allow(clippy::result_large_err)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod log_store;
pub mod network;
pub mod node;
pub mod state_machine;

use std::fmt;
use std::io::Cursor;

use bytes::BytesMut;
use openraft::LogId;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use storage::Command;

pub use log_store::LogStore;
pub use node::{DEFAULT_SNAP_COUNT, StartError, start_standalone};
pub use state_machine::{Host, Replica, SharedReplica, StateMachine};

/// A server's id in the ensemble (`myid`).
pub type NodeId = u64;

/// How to reach a member of the ensemble (a `server.N` line).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// `host:quorumPort`, where Raft RPCs go.
    pub raft_addr: String,
    /// `host:clientPort`, for ZooKeeper clients.
    pub client_addr: String,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (clients {})", self.raft_addr, self.client_addr)
    }
}

/// A command as proposed: the command, and where its reply goes. Only the
/// server named in `origin` answers the client (with `xid`), once the entry
/// is applied there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The server the client is connected to.
    pub origin: NodeId,
    /// The request's xid (reply routing only; not part of the semantics).
    pub xid: i32,
    /// What to apply.
    pub command: Command,
}

/// The replicated form: origin, xid, then `Command::encode`.
impl Serialize for Proposal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = BytesMut::with_capacity(64);
        buf.extend_from_slice(&self.origin.to_be_bytes());
        buf.extend_from_slice(&self.xid.to_be_bytes());
        self.command.encode(&mut buf);
        s.serialize_bytes(&buf)
    }
}

impl<'de> Deserialize<'de> for Proposal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes: serde_bytes_compat::ByteBuf = Deserialize::deserialize(d)?;
        let b = bytes.0;
        let err = |what: &str| serde::de::Error::custom(format!("proposal: {what}"));
        let (origin, rest) = b.split_first_chunk::<8>().ok_or_else(|| err("origin"))?;
        let (xid, rest) = rest.split_first_chunk::<4>().ok_or_else(|| err("xid"))?;
        let command = Command::decode(rest).map_err(|e| err(&e.to_string()))?;
        Ok(Proposal {
            origin: u64::from_be_bytes(*origin),
            xid: i32::from_be_bytes(*xid),
            command,
        })
    }
}

/// Reads a serialized byte string, whichever way the format hands it over.
mod serde_bytes_compat {
    use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};

    pub struct ByteBuf(pub Vec<u8>);

    impl<'de> Deserialize<'de> for ByteBuf {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = ByteBuf;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_bytes<E>(self, v: &[u8]) -> Result<ByteBuf, E> {
                    Ok(ByteBuf(v.to_vec()))
                }
                fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                    Ok(ByteBuf(v))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ByteBuf, A::Error> {
                    let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                    while let Some(b) = seq.next_element()? {
                        v.push(b);
                    }
                    Ok(ByteBuf(v))
                }
            }
            d.deserialize_bytes(V)
        }
    }
}

/// What the state machine reports to openraft for an entry: its zxid. The
/// outcome itself goes to the [`Host`], which answers the client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The entry's zxid.
    pub zxid: i64,
}

openraft::declare_raft_types!(
    /// Corral's openraft type configuration.
    pub TypeConfig:
        D = Proposal,
        R = Applied,
        NodeId = NodeId,
        Node = Peer,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// The Raft handle.
pub type Raft = openraft::Raft<TypeConfig>;

/// ZooKeeper's zxid for a log position: the term (ZooKeeper's epoch) in the
/// high 32 bits, the log index in the low 32. Both only grow along the log,
/// so zxids grow with it, as ZooKeeper's do; an index past 2^32 would wrap
/// the counter, which ZooKeeper answers by forcing a new epoch.
pub fn zxid(log_id: &LogId<NodeId>) -> i64 {
    let term = log_id.leader_id.term;
    ((term << 32) | (log_id.index & 0xffff_ffff)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::CommittedLeaderId;
    use storage::CommandOp;

    #[test]
    fn zxids_grow_with_the_log() {
        let at = |term, index| zxid(&LogId::new(CommittedLeaderId::new(term, 1), index));
        assert_eq!(at(1, 5), 0x1_0000_0005);
        assert!(at(1, 6) > at(1, 5));
        assert!(at(2, 7) > at(1, 6));
    }

    #[test]
    fn proposals_round_trip_through_postcard() {
        let p = Proposal {
            origin: 3,
            xid: -8,
            command: Command {
                time: 9,
                session_id: 7,
                auth: vec![],
                op: CommandOp::CloseSession,
            },
        };
        let bytes = postcard::to_allocvec(&p).expect("serialize");
        assert_eq!(postcard::from_bytes::<Proposal>(&bytes).ok(), Some(p));
        assert!(postcard::from_bytes::<Proposal>(&bytes[..5]).is_err());
    }
}
