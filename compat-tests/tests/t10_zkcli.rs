//! zkCli.sh (the Java client's shell, Debian package `zookeeper`) driven by
//! one command script on stdin ([`compat_tests::suites::zkcli`]), against
//! Corral and against the reference ZooKeeper 3.8 in parallel. Each
//! transcript is checked line by line for what the script must produce;
//! then Corral's is compared with the reference's after times, zxids and
//! session ids are masked.

use std::thread;

use compat_tests::{CorralServer, Target, ZooKeeperServer, suites};

/// Reports the first differing line of two sequences.
fn first_difference(a: &[String], b: &[String]) -> String {
    let n = a.len().max(b.len());
    for i in 0..n {
        let (x, y) = (a.get(i), b.get(i));
        if x != y {
            return format!("line {}: Corral {:?}, ZooKeeper {:?}", i + 1, x, y);
        }
    }
    "no difference".to_owned()
}

#[test]
fn zkcli_script_against_corral_and_reference() {
    // Both servers, and both zkCli runs, in parallel: the JVM starts
    // dominate the time.
    let reference = thread::spawn(|| {
        let zk = ZooKeeperServer::start();
        let t = suites::zkcli(&zk);
        (zk.name(), t)
    });
    let corral = CorralServer::start();
    let t_ours = suites::zkcli(&corral);
    let (zk_name, t_theirs) = reference.join().expect("reference zkCli thread");

    // The same as ZooKeeper's, line for line.
    assert!(
        t_ours.err == t_theirs.err,
        "zkCli stderr differs between Corral and {zk_name}: {}\nCorral:\n{}\nZooKeeper:\n{}",
        first_difference(&t_ours.err, &t_theirs.err),
        t_ours.err.join("\n"),
        t_theirs.err.join("\n")
    );
    assert!(
        t_ours.out == t_theirs.out,
        "zkCli stdout differs between Corral and {zk_name}: {}\nCorral:\n{}\nZooKeeper:\n{}",
        first_difference(&t_ours.out, &t_theirs.out),
        t_ours.out.join("\n"),
        t_theirs.out.join("\n")
    );
    assert_eq!(
        t_ours.events, t_theirs.events,
        "zkCli watch notifications differ between Corral and {zk_name}"
    );
}
