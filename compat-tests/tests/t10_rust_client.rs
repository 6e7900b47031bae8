//! The Rust `zookeeper-client` crate (kezhuw/zookeeper-client-rust 0.11)
//! against Corral, and the same checks against the reference ZooKeeper
//! 3.8, so that every expectation is proven to be ZooKeeper's: CRUD with
//! Stat fields, errors, sequential, ephemeral, container and TTL nodes,
//! one-shot, child and persistent recursive watches, multi (success and
//! all-or-nothing failure), digest auth and ACLs, sync, getEphemerals and
//! getAllChildrenNumber, and a session that ends taking its ephemerals.

use compat_tests::{CorralServer, ZooKeeperServer, suites};

#[test]
fn rust_client_against_corral() {
    let corral = CorralServer::start();
    suites::rust_client(&corral);
}

#[test]
fn rust_client_against_reference_zookeeper() {
    let zk = ZooKeeperServer::start();
    suites::rust_client(&zk);
}
