//! kazoo (Debian's python3-kazoo 2.8) against Corral, and the same suite
//! against the reference ZooKeeper 3.8, so that every expectation in
//! `clients/kazoo_suite.py` is proven to be ZooKeeper's.
//!
//! The suite prints one line per check; run with `--nocapture` to see them.

use compat_tests::{CorralServer, ZooKeeperServer, suites};

#[test]
fn kazoo_suite_against_corral() {
    let corral = CorralServer::start();
    suites::kazoo(&corral, true);
}

#[test]
fn kazoo_suite_against_reference_zookeeper() {
    let zk = ZooKeeperServer::start();
    suites::kazoo(&zk, false);
}
