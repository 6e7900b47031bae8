//! `Node`: one znode's data, ACL reference, persisted stat and children.
//!
//! The node kind is encoded in `ephemeral_owner` exactly as ZooKeeper does
//! (`EphemeralType`): 0 persistent, a session id for an ephemeral,
//! `0x8000_0000_0000_0000` for a container, `0xFF` in the top byte plus the
//! TTL in the low 40 bits for a TTL node. Clients see 0 for containers and
//! TTL nodes (`DataNode.getClientEphemeralOwner`).

use bytes::Bytes;
use jute::{Stat, StatPersisted};
use thin_vec::ThinVec;

use crate::acl::AclRef;

/// `ephemeralOwner` of a container (`EphemeralType.CONTAINER_EPHEMERAL_OWNER`).
pub const CONTAINER_OWNER: i64 = i64::MIN;

/// Top byte of an extended ephemeral owner (`EphemeralType.EXTENDED_MASK`).
const EXTENDED_MASK: i64 = 0xff00_0000_0000_0000_u64 as i64;

/// Largest TTL, ms: 40 bits (`EphemeralType.TTL.maxValue`, about 34 years).
pub const MAX_TTL: i64 = 0x00ff_ffff_ffff;

/// What a node is, decoded from its `ephemeralOwner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A persistent node.
    Persistent,
    /// Owned by a session; removed when it ends.
    Ephemeral(i64),
    /// Removed by the leader once empty after having had children.
    Container,
    /// Removed by the leader once empty and unchanged for this many ms.
    Ttl(i64),
}

impl NodeKind {
    /// The `ephemeralOwner` ZooKeeper stores for this kind.
    pub fn owner(self) -> i64 {
        match self {
            NodeKind::Persistent => 0,
            NodeKind::Ephemeral(session) => session,
            NodeKind::Container => CONTAINER_OWNER,
            NodeKind::Ttl(ttl) => EXTENDED_MASK | (ttl & MAX_TTL),
        }
    }

    /// The kind an `ephemeralOwner` value encodes.
    pub fn from_owner(owner: i64) -> Self {
        if owner == 0 {
            NodeKind::Persistent
        } else if owner == CONTAINER_OWNER {
            NodeKind::Container
        } else if owner & EXTENDED_MASK == EXTENDED_MASK {
            NodeKind::Ttl(owner & MAX_TTL)
        } else {
            NodeKind::Ephemeral(owner)
        }
    }
}

/// One znode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The data; `None` if created or set with a null buffer. A boxed slice
    /// (16 bytes, exact allocation): reads copy it out.
    pub data: Option<Box<[u8]>>,
    /// The interned ACL.
    pub acl: AclRef,
    /// The persisted stat (`dataLength` and `numChildren` are derived).
    /// `cversion` here is ZooKeeper's internal one: the number of child
    /// creates, which also numbers sequential children.
    pub stat: StatPersisted,
    /// The node's path (set when it is inserted into a tree).
    pub(crate) path: Box<str>,
    /// The children's slots in the tree's node store, sorted by name
    /// (a thin vector: one pointer, nothing allocated for a leaf).
    pub(crate) children: ThinVec<u32>,
}

impl Node {
    /// A new node created at `zxid`, `time`.
    pub fn new(data: Option<&[u8]>, acl: AclRef, kind: NodeKind, zxid: i64, time: i64) -> Self {
        Node {
            data: data.map(Box::from),
            acl,
            stat: StatPersisted {
                czxid: zxid,
                mzxid: zxid,
                ctime: time,
                mtime: time,
                version: 0,
                cversion: 0,
                aversion: 0,
                ephemeral_owner: kind.owner(),
                pzxid: zxid,
            },
            path: Box::from(""),
            children: ThinVec::new(),
        }
    }

    /// The node's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// How many children it has.
    pub fn num_children(&self) -> usize {
        self.children.len()
    }

    /// The data as a buffer for a reply (a copy).
    pub fn data_bytes(&self) -> Option<Bytes> {
        self.data.as_deref().map(Bytes::copy_from_slice)
    }

    /// The node's kind.
    pub fn kind(&self) -> NodeKind {
        NodeKind::from_owner(self.stat.ephemeral_owner)
    }

    /// The stat as clients see it (`DataNode.copyStat`).
    pub fn stat(&self) -> Stat {
        let s = &self.stat;
        let owner = match self.kind() {
            NodeKind::Ephemeral(session) => session,
            _ => 0,
        };
        let children = i32::try_from(self.children.len()).unwrap_or(i32::MAX);
        Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            // ZooKeeper stores the number of child creates and shows clients
            // creates + deletes, derived as `2 * creates - children`
            // (`DataNode.copyStat`), in wrapping int arithmetic.
            cversion: s.cversion.wrapping_mul(2).wrapping_sub(children),
            aversion: s.aversion,
            ephemeral_owner: owner,
            data_length: self
                .data
                .as_ref()
                .map_or(0, |d| i32::try_from(d.len()).unwrap_or(i32::MAX)),
            num_children: children,
            pzxid: s.pzxid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_encoding_round_trips() {
        for kind in [
            NodeKind::Persistent,
            NodeKind::Ephemeral(0x0100_0000_1234_0001),
            NodeKind::Container,
            NodeKind::Ttl(1),
            NodeKind::Ttl(MAX_TTL),
        ] {
            assert_eq!(NodeKind::from_owner(kind.owner()), kind);
        }
        assert_eq!(
            NodeKind::Ttl(1000).owner(),
            0xff00_0000_0000_03e8_u64 as i64
        );
    }
}
