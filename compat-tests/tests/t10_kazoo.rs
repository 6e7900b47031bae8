//! kazoo (Debian's python3-kazoo 2.8) against Corral, and the same suite
//! against the reference ZooKeeper 3.8, so that every expectation in
//! `clients/kazoo_suite.py` is proven to be ZooKeeper's.
//!
//! The suite prints one line per check; run with `--nocapture` to see them.

use std::process::Command;
use std::time::Duration;

use compat_tests::{
    CorralServer, PYTHON, Target, ZooKeeperServer, clients_dir, require_kazoo, run_with_timeout,
};

/// Bound on one run of the suite (it takes about a second; its own watchdog
/// stops it after 100 s).
const SUITE_TIMEOUT: Duration = Duration::from_secs(120);

/// `exists_needs_read`: the server checks READ on `exists` of an existing
/// node (ZooKeeper 3.8.4+, ZOOKEEPER-2590; Corral follows it), unlike the
/// Debian reference ZooKeeper 3.8.0. The suite asserts the one or the other.
fn run_suite(target: &dyn Target, exists_needs_read: bool) {
    require_kazoo();
    let script = clients_dir().join("kazoo_suite.py");
    let mut cmd = Command::new(PYTHON);
    cmd.arg(&script)
        .arg(target.addr().to_string())
        .env(
            "EXISTS_NEEDS_READ",
            if exists_needs_read { "1" } else { "0" },
        )
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = run_with_timeout(cmd, b"", SUITE_TIMEOUT);
    println!(
        "kazoo suite against {} ({}), {:.1?}:\n{}",
        target.name(),
        target.addr(),
        out.elapsed,
        out.stdout
    );
    let failed = out
        .stdout
        .lines()
        .find(|l| l.starts_with("FAIL"))
        .unwrap_or("(no FAIL line: see the transcript)");
    assert!(
        out.success()
            && out
                .stdout
                .lines()
                .any(|l| l.starts_with("PASS all scenarios")),
        "kazoo suite FAILED against {} ({}):\n  {failed}\n\n{}\n{}",
        target.name(),
        target.addr(),
        out.transcript(),
        target.diagnostics()
    );
}

#[test]
fn kazoo_suite_against_corral() {
    let corral = CorralServer::start();
    run_suite(&corral, true);
}

#[test]
fn kazoo_suite_against_reference_zookeeper() {
    let zk = ZooKeeperServer::start();
    run_suite(&zk, false);
}
