//! Apache Curator 5.4 (Debian's libcurator-*-java) against Corral, and the
//! same program against the reference ZooKeeper 3.8, so that every
//! expectation in `clients/CuratorSuite.java` is proven to be ZooKeeper's:
//! the mutex, the leader latch, CuratorCache (persistent recursive
//! watches), the shared counter and distributed atomic long, the barrier
//! and double barrier, and transactions.
//!
//! The program runs as a single-file Java source (no build step); run the
//! tests with `--nocapture` to see its `ok <recipe>` lines.

use compat_tests::{CorralServer, ZooKeeperServer, suites};

#[test]
fn curator_recipes_against_corral() {
    let corral = CorralServer::start();
    suites::curator(&corral);
}

#[test]
fn curator_recipes_against_reference_zookeeper() {
    let zk = ZooKeeperServer::start();
    suites::curator(&zk);
}
