//! ZooKeeper's tree digest (`DigestCalculator`, digest version 2, 3.6+):
//! the sum of a CRC32 per node over its path (`""` for the root), its
//! data and its persisted Stat fields, leaving out everything under
//! `/zookeeper/` (whose quota stats ZooKeeper changes outside the
//! transaction). The Stat is the persisted one (`StatPersisted`): the
//! internal cversion (child creates) and the raw `ephemeralOwner`, as
//! `DigestCalculator` reads `DataNode.stat`. The AdminServer's and the four-letter word's `hash`
//! report it; importing a ZooKeeper snapshot can check against it.

use crate::tree::Tree;

/// The digest version ZooKeeper writes beside a digest.
pub const DIGEST_VERSION: i32 = 2;

/// One node's digest, as `DigestCalculator.calculateDigest` computes it.
pub fn node_digest(path: &str, data: Option<&[u8]>, stat: &jute::StatPersisted) -> u64 {
    if path.starts_with("/zookeeper/") {
        return 0;
    }
    let path = if path == "/" { "" } else { path };
    let mut b = [0u8; 60];
    for (i, v) in [stat.czxid, stat.mzxid, stat.pzxid, stat.ctime, stat.mtime]
        .into_iter()
        .enumerate()
    {
        b[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
    }
    for (i, v) in [stat.version, stat.cversion, stat.aversion]
        .into_iter()
        .enumerate()
    {
        b[40 + i * 4..44 + i * 4].copy_from_slice(&v.to_be_bytes());
    }
    b[52..60].copy_from_slice(&stat.ephemeral_owner.to_be_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(path.as_bytes());
    if let Some(d) = data {
        crc.update(d);
    }
    crc.update(&b);
    u64::from(crc.finalize())
}

/// The whole tree's digest (`NodeHashMapImpl.getDigest`): the sum of the
/// nodes' digests, wrapping as a Java `long`.
pub fn tree_digest(tree: &Tree) -> i64 {
    tree.iter_nodes()
        .map(|n| node_digest(n.path(), n.data.as_deref(), &n.stat))
        .fold(0i64, |acc, d| acc.wrapping_add(d as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_digest_is_a_crc32_of_path_data_and_stat() {
        let stat = jute::StatPersisted {
            czxid: 1,
            mzxid: 2,
            ctime: 3,
            mtime: 4,
            version: 5,
            cversion: 6,
            aversion: 7,
            ephemeral_owner: 8,
            pzxid: 9,
        };
        // The same bytes through a CRC32 by hand: path, data, then czxid,
        // mzxid, pzxid, ctime, mtime, version, cversion, aversion, owner.
        let by_hand = |prefix: &[u8]| {
            let mut bytes = prefix.to_vec();
            for v in [1i64, 2, 9, 3, 4] {
                bytes.extend_from_slice(&v.to_be_bytes());
            }
            for v in [5i32, 6, 7] {
                bytes.extend_from_slice(&v.to_be_bytes());
            }
            bytes.extend_from_slice(&8i64.to_be_bytes());
            u64::from(crc32fast::hash(&bytes))
        };
        assert_eq!(node_digest("/a", Some(b"xy"), &stat), by_hand(b"/axy"));
        assert_eq!(node_digest("/zookeeper/quota", None, &stat), 0);
        // The root hashes as "".
        assert_eq!(node_digest("/", None, &stat), by_hand(b""));
    }
}
