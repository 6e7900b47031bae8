//! `consensus`: the `storage` tree as a replicated state machine, with
//! openraft (pinned at 0.9.25, see `docs/decisions/0001-openraft-0.9.md`).
//!
//! # Layout
//!
//! - this file: the openraft type configuration — a log entry carries a
//!   [`Batch`] of [`Proposal`]s (a `storage::Command` plus where its reply
//!   goes), the state machine answers [`Applied`] — and the zxids.
//! - `proposer`: concurrent writes into batches (group commit), committed
//!   on the leader or forwarded to it; `sync`.
//! - `log_store`: the Raft log and vote on fjall, durable before openraft
//!   is told so.
//! - `network`: the peer transport over TCP: Raft RPCs, forwarded write
//!   batches, read-index requests, the server's own messages.
//! - `node`: starting a server's Raft and bootstrapping its membership.
//! - `state_machine`: applies committed entries to the tree through
//!   `storage::apply`, persists tree and applied log id in one batch, then
//!   hands each outcome to the [`Host`] (the server: watches and replies),
//!   all under the replica lock; builds and installs snapshots.
//!
//! ```text
//!  server ── Proposer ── client_write(Batch) ──► openraft ──► LogStore (fjall, fdatasync)
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

pub mod election;
pub mod log_store;
pub mod metrics;
pub mod network;
pub mod node;
pub mod proposer;
pub mod state_machine;
pub mod zab;

use std::fmt;

use bytes::BytesMut;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use storage::Command;

/// The openraft version the types here come from.
pub use openraft;

pub use log_store::LogStore;
pub use metrics::WriteMetrics;
pub use node::{Abstain, DEFAULT_SNAP_COUNT, NodeConfig, StartError, Started, start};
pub use proposer::{ProposeError, Proposer};
pub use state_machine::{Host, Replica, Seeding, SharedReplica, StateMachine, Timings, seed};

/// Whether this build has its disk-fault failpoints (the `failpoints`
/// feature); without it the `fail_point!`s are compiled out.
pub const FAILPOINTS_BUILT: bool = cfg!(feature = "failpoints");

/// Sets failpoints from a `FAILPOINTS`-style list, `name=actions;...`
/// (fail-rs' syntax, e.g. `raft-log-fsync=50*off->return`), for the fault
/// tests that run `corral` as a process (`docs/reliability.md`). Returns
/// how many were set.
///
/// # Errors
/// The first entry that is not `name=actions` or whose actions fail-rs
/// rejects.
pub fn set_failpoints(list: &str) -> Result<usize, String> {
    let mut set = 0;
    for entry in list.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, actions) = entry
            .split_once('=')
            .ok_or_else(|| format!("{entry:?} is not name=actions"))?;
        fail::cfg(name.trim(), actions.trim()).map_err(|e| format!("{entry:?}: {e}"))?;
        set += 1;
    }
    Ok(set)
}

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

impl Proposal {
    /// The replicated form: origin, xid, then `Command::encode`.
    fn encode(&self, buf: &mut BytesMut) {
        buf.extend_from_slice(&self.origin.to_be_bytes());
        buf.extend_from_slice(&self.xid.to_be_bytes());
        self.command.encode(buf);
    }

    fn decode(b: &[u8]) -> Result<Self, String> {
        let (origin, rest) = b.split_first_chunk::<8>().ok_or("proposal: origin")?;
        let (xid, rest) = rest.split_first_chunk::<4>().ok_or("proposal: xid")?;
        let command = Command::decode(rest).map_err(|e| format!("proposal: {e}"))?;
        Ok(Proposal {
            origin: u64::from_be_bytes(*origin),
            xid: i32::from_be_bytes(*xid),
            command,
        })
    }
}

/// Commands proposed together: one Raft entry, applied in order, each at
/// its own zxid. Batching is what lets many concurrent writes share one
/// entry's trip through Raft and one `fdatasync`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Batch(pub Vec<Proposal>);

/// The replicated form: `[u32 count]` then `[u32 len][proposal]` each.
impl Serialize for Batch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = BytesMut::with_capacity(4 + 96 * self.0.len());
        buf.extend_from_slice(
            &u32::try_from(self.0.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        let mut one = BytesMut::new();
        for p in &self.0 {
            one.clear();
            p.encode(&mut one);
            buf.extend_from_slice(&u32::try_from(one.len()).unwrap_or(u32::MAX).to_be_bytes());
            buf.extend_from_slice(&one);
        }
        s.serialize_bytes(&buf)
    }
}

impl<'de> Deserialize<'de> for Batch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes: serde_bytes_compat::ByteBuf = Deserialize::deserialize(d)?;
        let err = |what: &str| serde::de::Error::custom(format!("batch: {what}"));
        let (count, mut rest) = bytes
            .0
            .split_first_chunk::<4>()
            .map(|(c, r)| (u32::from_be_bytes(*c), r))
            .ok_or_else(|| err("count"))?;
        // Each proposal takes at least 4 bytes: bound the reservation.
        let mut out = Vec::with_capacity((count as usize).min(rest.len() / 4));
        for _ in 0..count {
            let (len, r) = rest.split_first_chunk::<4>().ok_or_else(|| err("length"))?;
            let len = u32::from_be_bytes(*len) as usize;
            let (one, r) = r.split_at_checked(len).ok_or_else(|| err("truncated"))?;
            out.push(Proposal::decode(one).map_err(|e| err(&e))?);
            rest = r;
        }
        Ok(Batch(out))
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
        D = Batch,
        R = Applied,
        NodeId = NodeId,
        Node = Peer,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = tokio::fs::File,
        AsyncRuntime = openraft::TokioRuntime,
);

/// The Raft handle.
pub type Raft = openraft::Raft<TypeConfig>;

/// The zxid of the next command applied in `term`, after `last`:
/// ZooKeeper's layout, the epoch (here the Raft term) in the high 32 bits
/// and a counter in the low 32 that restarts at 1 in each new epoch. It
/// depends only on the log and the applied state, so every replica assigns
/// the same zxids. (A counter past 2^32 within one term would run into the
/// epoch bits; ZooKeeper forces a new epoch there, issue #4 will too.)
pub fn next_zxid(term: u64, last: i64) -> i64 {
    let epoch = (term << 32) as i64;
    if last >> 32 == epoch >> 32 {
        last + 1
    } else {
        epoch | 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use storage::CommandOp;

    #[test]
    fn zxids_count_within_an_epoch_and_restart_with_a_new_one() {
        assert_eq!(next_zxid(1, 0), 0x1_0000_0001);
        assert_eq!(next_zxid(1, 0x1_0000_0001), 0x1_0000_0002);
        assert_eq!(next_zxid(3, 0x1_0000_0002), 0x3_0000_0001);
        assert!(next_zxid(3, 0x1_0000_0002) > 0x1_0000_0002);
    }

    #[test]
    fn batches_round_trip_through_postcard() {
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
        let batch = Batch(vec![p.clone(), Proposal { xid: 9, ..p }]);
        let bytes = postcard::to_allocvec(&batch).expect("serialize");
        assert_eq!(postcard::from_bytes::<Batch>(&bytes).ok(), Some(batch));
        assert!(postcard::from_bytes::<Batch>(&bytes[..9]).is_err());
    }
}
