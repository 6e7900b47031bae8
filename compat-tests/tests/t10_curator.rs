//! Apache Curator 5.4 (Debian's libcurator-*-java) against Corral, and the
//! same program against the reference ZooKeeper 3.8, so that every
//! expectation in `clients/CuratorSuite.java` is proven to be ZooKeeper's:
//! the mutex, the leader latch, CuratorCache (persistent recursive
//! watches), the shared counter and distributed atomic long, the barrier
//! and double barrier, transactions, and ACLs (a write-only node, a
//! digest ACL seen by its owner and by another user).
//!
//! `checkExists()` on a node the caller may not read answers NoAuth on
//! ZooKeeper 3.8.4+ and Corral by default (ZOOKEEPER-2590), and the Stat
//! on the Debian reference 3.8.0; Corral started with
//! `corral.existsAclCheck=false` answers as 3.8.0 does.
//!
//! The program runs as a single-file Java source (no build step); run the
//! tests with `--nocapture` to see its `ok <recipe>` lines.

use compat_tests::{CorralServer, ZooKeeperServer, suites};

#[test]
fn curator_recipes_against_corral() {
    let corral = CorralServer::start();
    suites::curator(&corral, true);
}

#[test]
fn curator_recipes_against_reference_zookeeper() {
    let zk = ZooKeeperServer::start();
    suites::curator(&zk, false);
}

#[test]
fn curator_acl_against_corral_answering_exists_as_zookeeper_3_8_0() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut config = server::Config::for_tests(dir.path().to_path_buf());
    config.exists_acl_check = false;
    let corral = CorralServer::start_with(config, 0);
    suites::curator_recipes(&corral, false, &["acl"]);
}
