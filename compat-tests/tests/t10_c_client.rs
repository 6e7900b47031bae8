//! The C client (`libzookeeper-mt` 3.8, through its shell `cli_mt` from the
//! Debian package `zookeeper-bin`) against Corral and against the reference
//! ZooKeeper 3.8: the same dialogue must succeed on both.
//!
//! `cli_mt` reads stdin asynchronously; instead of pacing commands with
//! sleeps, each command is sent only once the previous one's answer has been
//! read back.

use std::thread;

use compat_tests::{CorralServer, Target, ZooKeeperServer, suites};

#[test]
fn c_client_against_corral_and_reference() {
    let reference = thread::spawn(|| {
        let zk = ZooKeeperServer::start();
        let result = suites::c_client_dialogue(&zk);
        (zk.name(), result, zk.diagnostics())
    });
    let corral = CorralServer::start();
    let ours = suites::c_client_dialogue(&corral);
    let (zk_name, theirs, zk_log) = reference.join().expect("reference thread");
    let mut failures = Vec::new();
    if let Err(e) = &theirs {
        failures.push(format!("cli_mt against {zk_name} FAILED: {e}\n{zk_log}"));
    }
    if let Err(e) = &ours {
        failures.push(format!("cli_mt against Corral FAILED: {e}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
