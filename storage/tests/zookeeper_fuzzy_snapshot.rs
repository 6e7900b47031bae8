//! A ZooKeeper 3.8 snapshot written while transactions were applied,
//! whose own digest is wrong: ZooKeeper records the digest of the last
//! transaction applied when the snapshot's writing ended, here that of the
//! zxid it started at (0x38a), though the tree already holds part of
//! 0x38b. ZooKeeper loading it logs "Digests are not matching" and goes
//! on. Made by the reference ZooKeeper in `compat-tests/tests/t20_migrate.rs`
//! (kept from a run whose import refused it); the logs are cut at their
//! preallocated end.
//!
//! The import goes on as ZooKeeper does, then requires the transactions'
//! digests (each computed on ZooKeeper's live tree) to match from some
//! point on: here from 0x38b, and the result is the tree ZooKeeper itself
//! loads (its digest, 1495638184296, as ZooKeeper logs on loading it).

use std::path::Path;

use storage::zookeeper::{Options, restore};

#[test]
fn a_snapshot_whose_own_digest_is_wrong_imports_as_zookeeper_loads_it() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zookeeper-fuzzy-snapshot");
    let restored = restore(&dir, &dir, &Options::default(), &mut |_| {}).expect("imported");
    assert_eq!(restored.snapshot_zxid, 0x38a);
    assert_eq!(restored.tree.last_zxid(), 0x3f0);
    assert_eq!(restored.txns, 102);
    assert_eq!(restored.digest, 1_495_638_184_296);
    // Every transaction's digest from 0x38b on was compared and matched.
    assert_eq!(restored.digests_checked, 102);
    assert_eq!(restored.last_digest.map(|d| d.0), Some(0x3f0));
}
