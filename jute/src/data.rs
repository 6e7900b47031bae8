//! Module `org.apache.zookeeper.data` of `zookeeper.jute`: `Id`, `ACL`,
//! `Stat`, `StatPersisted`, plus `ClientInfo` (3.7, `whoAmI`).

use crate::record::record;

record! {
    /// `class Id { ustring scheme; ustring id; }`: an identity such as
    /// `world:anyone`, `digest:user:hash` or `ip:10.0.0.0/8`.
    pub struct Id {
        /// `ustring scheme`
        pub scheme: String,
        /// `ustring id`
        pub id: String,
    }
}

impl Id {
    /// An id from its scheme and identity.
    pub fn new(scheme: impl Into<String>, id: impl Into<String>) -> Self {
        Id {
            scheme: scheme.into(),
            id: id.into(),
        }
    }
}

record! {
    /// `class ACL { int perms; Id id; }`
    pub struct Acl {
        /// `int perms`: a bit set of [`crate::Perms`], kept raw.
        pub perms: i32,
        /// `Id id`
        pub id: Id,
    }
}

impl Acl {
    /// `world:anyone` with every permission (`ZooDefs.Ids.OPEN_ACL_UNSAFE`).
    pub fn open() -> Self {
        Acl {
            perms: crate::Perms::ALL.bits(),
            id: Id::new("world", "anyone"),
        }
    }
}

record! {
    /// `class Stat`: a node's metadata as clients see it. 68 bytes; note
    /// `pzxid` comes **last** on the wire, after `numChildren`.
    pub struct Stat {
        /// `long czxid`: zxid of the create.
        pub czxid: i64,
        /// `long mzxid`: zxid of the last data change.
        pub mzxid: i64,
        /// `long ctime`: creation time, ms since the epoch.
        pub ctime: i64,
        /// `long mtime`: last data change time, ms since the epoch.
        pub mtime: i64,
        /// `int version`: data changes (skips −1 on wrap, ZOOKEEPER-4743).
        pub version: i32,
        /// `int cversion`: child creates and deletes.
        pub cversion: i32,
        /// `int aversion`: ACL changes.
        pub aversion: i32,
        /// `long ephemeralOwner`: owning session id, 0 if not ephemeral.
        pub ephemeral_owner: i64,
        /// `int dataLength`
        pub data_length: i32,
        /// `int numChildren`
        pub num_children: i32,
        /// `long pzxid`: zxid of the last child create or delete.
        pub pzxid: i64,
    }
}

record! {
    /// `class StatPersisted`: `Stat` without the derived `dataLength` and
    /// `numChildren`.
    pub struct StatPersisted {
        /// `long czxid`
        pub czxid: i64,
        /// `long mzxid`
        pub mzxid: i64,
        /// `long ctime`
        pub ctime: i64,
        /// `long mtime`
        pub mtime: i64,
        /// `int version`
        pub version: i32,
        /// `int cversion`
        pub cversion: i32,
        /// `int aversion`
        pub aversion: i32,
        /// `long ephemeralOwner`
        pub ephemeral_owner: i64,
        /// `long pzxid`
        pub pzxid: i64,
    }
}

record! {
    /// `class ClientInfo { ustring authScheme; ustring user; }` (3.7).
    pub struct ClientInfo {
        /// `ustring authScheme`
        pub auth_scheme: String,
        /// `ustring user`
        pub user: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decode, Encode};

    #[test]
    fn stat_is_68_bytes_with_pzxid_last() {
        let stat = Stat {
            pzxid: 0x0102_0304_0506_0708,
            num_children: 9,
            ..Stat::default()
        };
        let bytes = stat.to_bytes();
        assert_eq!(bytes.len(), 68);
        assert_eq!(bytes[60..], [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(bytes[56..60], [0, 0, 0, 9]);
        assert_eq!(Stat::decode_from(&bytes), Ok(stat));
        assert_eq!(<Stat as Decode>::MIN_WIRE_LEN, 68);
    }
}
