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

#[test]
fn kazoo_suite_against_corral_answering_exists_as_zookeeper_3_8_0() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut config = server::Config::for_tests(dir.path().to_path_buf());
    config.exists_acl_check = false;
    let corral = CorralServer::start_with(config, 0);
    suites::kazoo(&corral, false);
}
