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
    /// The ensemble's membership as ZooKeeper shows it in
    /// `/zookeeper/config` (`server.N=…` lines and `version=<hex>`),
    /// proposed by a leader that finds the node out of date
    /// (`ZKDatabase.initConfigInZKDatabase`, `DataTree.processReconfig`).
    SetConfig {
        /// The configuration's version: the zxid that made it, 0 for a
        /// static configuration. Becomes the node's `mzxid`. Negative for
        /// a `reconfig`: the version is the command's own zxid, and
        /// `data` holds only the `server.N` lines (the `version=` line is
        /// added when the zxid is known).
        version: i64,
        /// The node's new data.
        data: Bytes,
    },
    /// Replace the whole tree and session table with a snapshot
    /// ([`crate::snapshot`]'s format): the AdminServer's `restore`, made a
    /// replicated command so every member restores the same state and
    /// zxids keep growing.
    Restore {
        /// The snapshot.
        snapshot: Bytes,
    },
}

/// Format version of [`Command::encode`].
const COMMAND_VERSION: u8 = 1;

impl Command {
    /// The length of [`Command::encode`]'s output, without encoding.
    pub fn approx_len(&self) -> usize {
        use jute::Encode;
        let op = match &self.op {
            CommandOp::Write(req) => 5 + req.encoded_len(),
            CommandOp::CreateSession { passwd, .. } => 9 + passwd.len(),
            CommandOp::CloseSession => 1,
            CommandOp::Error { .. } => 5,
            CommandOp::SetConfig { data, .. } => 13 + data.len(),
            CommandOp::Restore { snapshot } => 5 + snapshot.len(),
        };
        17 + self.auth.encoded_len() + op
    }

    /// The command's replicated encoding (the Raft log's payload):
    ///
    /// ```text
    /// [v=1][time i64][session i64][vector<Id> auth][tag u8] then by tag:
    ///   0 Write:         [opcode i32][the request's jute body]
    ///   1 CreateSession: [timeOut i32][buffer passwd]
    ///   2 CloseSession
    ///   3 Error:         [err i32]
    ///   4 SetConfig:     [version i64][buffer data]
    ///   5 Restore:       [buffer snapshot]
    /// ```
    ///
    /// Tags are only ever added: a log written before a tag existed reads
    /// the same.
    pub fn encode(&self, buf: &mut bytes::BytesMut) {
        use bytes::BufMut;
        use jute::Encode;
        buf.put_u8(COMMAND_VERSION);
        self.time.encode(buf);
        self.session_id.encode(buf);
        self.auth.encode(buf);
        match &self.op {
            CommandOp::Write(req) => {
                buf.put_u8(0);
                i32::from(req.opcode()).encode(buf);
                req.encode(buf);
            }
            CommandOp::CreateSession { timeout_ms, passwd } => {
                buf.put_u8(1);
                timeout_ms.encode(buf);
                passwd.encode(buf);
            }
            CommandOp::CloseSession => buf.put_u8(2),
            CommandOp::Error { err } => {
                buf.put_u8(3);
                err.encode(buf);
            }
            CommandOp::SetConfig { version, data } => {
                buf.put_u8(4);
                version.encode(buf);
                data.encode(buf);
            }
            CommandOp::Restore { snapshot } => {
                buf.put_u8(5);
                snapshot.encode(buf);
            }
        }
    }

    /// Decodes [`Command::encode`]'s output.
    ///
    /// # Errors
    /// [`crate::StorageError::Corrupt`] for anything else.
    pub fn decode(bytes: &[u8]) -> Result<Command, crate::StorageError> {
        use jute::Decode;
        let corrupt = |what: &str| crate::StorageError::Corrupt(format!("command: {what}"));
        let rest = match bytes.split_first() {
            Some((&COMMAND_VERSION, rest)) => rest,
            _ => return Err(corrupt("unknown version")),
        };
        let (rest, time) = i64::decode(rest).map_err(|_| corrupt("time"))?;
        let (rest, session_id) = i64::decode(rest).map_err(|_| corrupt("session"))?;
        let (rest, auth) = <Vec<Id>>::decode(rest).map_err(|_| corrupt("auth"))?;
        let (&tag, rest) = rest.split_first().ok_or_else(|| corrupt("tag"))?;
        let op = match tag {
            0 => {
                let (body, opcode) = i32::decode(rest).map_err(|_| corrupt("opcode"))?;
                CommandOp::Write(
                    Request::decode(opcode, body).map_err(|e| corrupt(&e.to_string()))?,
                )
            }
            1 => {
                let (rest, timeout_ms) = i32::decode(rest).map_err(|_| corrupt("timeout"))?;
                let (_, passwd) = Bytes::decode(rest).map_err(|_| corrupt("passwd"))?;
                CommandOp::CreateSession { timeout_ms, passwd }
            }
            2 => CommandOp::CloseSession,
            3 => CommandOp::Error {
                err: i32::decode(rest).map_err(|_| corrupt("err"))?.1,
            },
            4 => {
                let (rest, version) = i64::decode(rest).map_err(|_| corrupt("version"))?;
                let (_, data) = Bytes::decode(rest).map_err(|_| corrupt("config"))?;
                CommandOp::SetConfig { version, data }
            }
            5 => CommandOp::Restore {
                snapshot: Bytes::decode(rest).map_err(|_| corrupt("snapshot"))?.1,
            },
            _ => return Err(corrupt("unknown tag")),
        };
        Ok(Command {
            time,
            session_id,
            auth,
            op,
        })
    }
}
