//! Modules `org.apache.zookeeper.txn`, `org.apache.zookeeper.server.persistence`
//! and `org.apache.zookeeper.server.quorum` of `zookeeper.jute`: the
//! transactions ZooKeeper writes to its logs and sends between servers,
//! the file header of its snapshots and logs, and the Zab packets.
//!
//! A transaction on disk or on the wire is a [`TxnHeader`], then the record
//! its `type` (an opcode) names, then, from 3.6 with `digest.enabled`, a
//! [`TxnDigest`] of the tree after it (`SerializeUtils.deserializeTxn`).

use bytes::Bytes;

use crate::data::{Acl, Id};
use crate::record::record;

/// `FileSnap.SNAP_MAGIC`: "ZKSN", the first int of a snapshot.
pub const SNAP_MAGIC: i32 = 0x5a4b_534e;
/// `FileTxnLog.TXNLOG_MAGIC`: "ZKLG", the first int of a transaction log.
pub const TXNLOG_MAGIC: i32 = 0x5a4b_4c47;

record! {
    /// `class FileHeader { int magic; int version; long dbid; }`
    pub struct FileHeader {
        /// `int magic`: [`SNAP_MAGIC`] or [`TXNLOG_MAGIC`].
        pub magic: i32,
        /// `int version`: 2 since ZooKeeper 3.0.
        pub version: i32,
        /// `long dbid`: -1 in snapshots, 0 in logs.
        pub dbid: i64,
    }
}

record! {
    /// `class TxnDigest { int version; long treeDigest; }`: the tree's
    /// digest after the transaction it follows.
    pub struct TxnDigest {
        /// `int version`: 2 (`DigestCalculator.DIGEST_VERSION`).
        pub version: i32,
        /// `long treeDigest`
        pub tree_digest: i64,
    }
}

record! {
    /// `class TxnHeader { long clientId; int cxid; long zxid; long time; int type; }`
    pub struct TxnHeader {
        /// `long clientId`: the session.
        pub client_id: i64,
        /// `int cxid`: the request's xid.
        pub cxid: i32,
        /// `long zxid`
        pub zxid: i64,
        /// `long time`: the leader's clock, ms since the epoch.
        pub time: i64,
        /// `int type`: the opcode (`OpCode.createSession` -10,
        /// `closeSession` -11, `error` -1, …).
        pub txn_type: i32,
    }
}

record! {
    /// `class CreateTxnV0 { ustring path; buffer data; vector<ACL> acl; boolean ephemeral; }`
    pub struct CreateTxnV0 {
        /// `ustring path`
        pub path: String,
        /// `buffer data`
        pub data: Option<Bytes>,
        /// `vector<ACL> acl`
        pub acl: Vec<Acl>,
        /// `boolean ephemeral`
        pub ephemeral: bool,
    }
}

record! {
    /// `class CreateTxn { ustring path; buffer data; vector<ACL> acl; boolean ephemeral; int parentCVersion; }`
    pub struct CreateTxn {
        /// `ustring path`: the full path, sequence suffix included.
        pub path: String,
        /// `buffer data`
        pub data: Option<Bytes>,
        /// `vector<ACL> acl`
        pub acl: Vec<Acl>,
        /// `boolean ephemeral`: owned by the header's session.
        pub ephemeral: bool,
        /// `int parentCVersion`: the parent's (internal) cversion after
        /// the create; -1 to increment it.
        pub parent_cversion: i32,
    }
}

record! {
    /// `class CreateTTLTxn { ustring path; buffer data; vector<ACL> acl; int parentCVersion; long ttl; }`
    pub struct CreateTtlTxn {
        /// `ustring path`
        pub path: String,
        /// `buffer data`
        pub data: Option<Bytes>,
        /// `vector<ACL> acl`
        pub acl: Vec<Acl>,
        /// `int parentCVersion`
        pub parent_cversion: i32,
        /// `long ttl`, ms.
        pub ttl: i64,
    }
}

record! {
    /// `class CreateContainerTxn { ustring path; buffer data; vector<ACL> acl; int parentCVersion; }`
    pub struct CreateContainerTxn {
        /// `ustring path`
        pub path: String,
        /// `buffer data`
        pub data: Option<Bytes>,
        /// `vector<ACL> acl`
        pub acl: Vec<Acl>,
        /// `int parentCVersion`
        pub parent_cversion: i32,
    }
}

record! {
    /// `class DeleteTxn { ustring path; }`
    pub struct DeleteTxn {
        /// `ustring path`
        pub path: String,
    }
}

record! {
    /// `class SetDataTxn { ustring path; buffer data; int version; }`
    pub struct SetDataTxn {
        /// `ustring path`
        pub path: String,
        /// `buffer data`
        pub data: Option<Bytes>,
        /// `int version`: the node's version after the change.
        pub version: i32,
    }
}

record! {
    /// `class CheckVersionTxn { ustring path; int version; }`
    pub struct CheckVersionTxn {
        /// `ustring path`
        pub path: String,
        /// `int version`
        pub version: i32,
    }
}

record! {
    /// `class SetACLTxn { ustring path; vector<ACL> acl; int version; }`
    pub struct SetAclTxn {
        /// `ustring path`
        pub path: String,
        /// `vector<ACL> acl`
        pub acl: Vec<Acl>,
        /// `int version`: the node's aversion after the change.
        pub version: i32,
    }
}

record! {
    /// `class CreateSessionTxn { int timeOut; }`
    pub struct CreateSessionTxn {
        /// `int timeOut`, ms.
        pub timeout: i32,
    }
}

record! {
    /// `class CloseSessionTxn { vector<ustring> paths2Delete; }` (3.6+,
    /// `closeSessionTxn.enabled`; older logs have no body).
    pub struct CloseSessionTxn {
        /// `vector<ustring> paths2Delete`: the session's ephemerals.
        pub paths_to_delete: Vec<String>,
    }
}

record! {
    /// `class ErrorTxn { int err; }`
    pub struct ErrorTxn {
        /// `int err`: a `KeeperException.Code`.
        pub err: i32,
    }
}

record! {
    /// `class Txn { int type; buffer data; }`: one operation of a
    /// [`MultiTxn`], its record serialised into `data`.
    pub struct Txn {
        /// `int type`: the opcode.
        pub txn_type: i32,
        /// `buffer data`
        pub data: Option<Bytes>,
    }
}

record! {
    /// `class MultiTxn { vector<Txn> txns; }`
    pub struct MultiTxn {
        /// `vector<Txn> txns`
        pub txns: Vec<Txn>,
    }
}

record! {
    /// `class LearnerInfo { long serverid; int protocolVersion; long configVersion; }`:
    /// what a follower or observer tells the leader first.
    pub struct LearnerInfo {
        /// `long serverid`
        pub server_id: i64,
        /// `int protocolVersion`: 0x10000 since 3.4.
        pub protocol_version: i32,
        /// `long configVersion`
        pub config_version: i64,
    }
}

record! {
    /// `class QuorumPacket { int type; long zxid; buffer data; vector<Id> authinfo; }`:
    /// every message of Zab between a leader and its learners.
    pub struct QuorumPacket {
        /// `int type`: `Leader.PROPOSAL` 2, `ACK` 3, `COMMIT` 4, `PING` 5,
        /// `REVALIDATE` 6, `SYNC` 7, `INFORM` 8, `NEWLEADER` 10,
        /// `FOLLOWERINFO` 11, `UPTODATE` 12, `DIFF` 13, `TRUNC` 14, `SNAP` 15,
        /// `OBSERVERINFO` 16, `LEADERINFO` 17, `ACKEPOCH` 18, …
        pub packet_type: i32,
        /// `long zxid`
        pub zxid: i64,
        /// `buffer data`
        pub data: Option<Bytes>,
        /// `vector<Id> authinfo`
        pub authinfo: Vec<Id>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decode, Encode};

    /// Bytes as ZooKeeper's `BinaryOutputArchive` writes them: a create of
    /// "/a" with data "x", world:anyone ALL, not ephemeral, cversion 1.
    #[test]
    fn create_txn_has_zookeepers_layout() {
        let t = CreateTxn {
            path: "/a".into(),
            data: Some(Bytes::from_static(b"x")),
            acl: vec![Acl::open()],
            ephemeral: false,
            parent_cversion: 1,
        };
        let mut want = Vec::new();
        want.extend_from_slice(&2i32.to_be_bytes());
        want.extend_from_slice(b"/a");
        want.extend_from_slice(&1i32.to_be_bytes());
        want.extend_from_slice(b"x");
        want.extend_from_slice(&1i32.to_be_bytes());
        want.extend_from_slice(&31i32.to_be_bytes());
        want.extend_from_slice(&5i32.to_be_bytes());
        want.extend_from_slice(b"world");
        want.extend_from_slice(&6i32.to_be_bytes());
        want.extend_from_slice(b"anyone");
        want.push(0);
        want.extend_from_slice(&1i32.to_be_bytes());
        assert_eq!(t.to_bytes().as_ref(), want.as_slice());
        assert_eq!(CreateTxn::decode_from(&want).expect("decodes"), t);
        // A V0 create is a prefix of the V1 layout.
        let v0 = CreateTxnV0::decode_from(&want).expect("decodes");
        assert_eq!(v0.path, "/a");
        assert!(CreateTxn::decode_from(&want[..want.len() - 4]).is_err());
    }

    #[test]
    fn headers_and_packets_round_trip() {
        let h = TxnHeader {
            client_id: 0x0100_0000_0000_0001,
            cxid: 7,
            zxid: 0x1_0000_0002,
            time: 1_700_000_000_000,
            txn_type: 1,
        };
        assert_eq!(h.encoded_len(), 32);
        assert_eq!(TxnHeader::decode_from(&h.to_bytes()).expect("decodes"), h);
        let p = QuorumPacket {
            packet_type: 16,
            zxid: -1,
            data: None,
            authinfo: vec![],
        };
        assert_eq!(p.encoded_len(), 20);
        assert_eq!(
            QuorumPacket::decode_from(&p.to_bytes()).expect("decodes"),
            p
        );
    }
}
