//! `Command`: the replicated write. It carries everything applying it needs,
//! so that every replica computes the same outcome from the same tree.

use bytes::Bytes;
use jute::{Id, Request};

/// A write to apply: stamped by the leader, replicated in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The leader's wall-clock time when it accepted the write, ms since the
    /// epoch: becomes `ctime` / `mtime`.
    pub time: i64,
    /// The session that sent the write (the owner of new ephemerals).
    pub session_id: i64,
    /// The session's authenticated ids at the time of the write, including
    /// its `ip:` id; `super` grants everything.
    pub auth: Vec<Id>,
    /// What to do.
    pub op: CommandOp,
}

/// The kinds of replicated command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOp {
    /// A client write: `create`, `create2`, `createContainer`, `createTTL`,
    /// `delete`, `setData`, `setACL`, `check`, `multi`, or the leader's
    /// `deleteContainer` for an expired container or TTL node.
    Write(Request),
    /// A new session, with the timeout and password the leader chose.
    CreateSession {
        /// Negotiated timeout, ms.
        timeout_ms: i32,
        /// The session's 16-byte password.
        passwd: Bytes,
    },
    /// End `session_id`, deleting its ephemerals.
    CloseSession,
    /// A write that failed before it could become a command (a body that
    /// did not parse, a disabled feature): ZooKeeper's `ErrorTxn`. It
    /// changes nothing but consumes its zxid, so zxids stay in step with
    /// ZooKeeper's.
    Error {
        /// The error code the client was answered with.
        err: i32,
    },
}
