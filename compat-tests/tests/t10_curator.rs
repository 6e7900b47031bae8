//! Apache Curator 5.4 (Debian's libcurator-*-java) against Corral, and the
//! same program against the reference ZooKeeper 3.8, so that every
//! expectation in `clients/CuratorSuite.java` is proven to be ZooKeeper's:
//! the mutex, the leader latch, CuratorCache (persistent recursive
//! watches), the shared counter and distributed atomic long, the barrier
//! and double barrier, and transactions.
//!
//! The program runs as a single-file Java source (no build step); run the
//! tests with `--nocapture` to see its `ok <recipe>` lines.

use std::process::Command;
use std::time::Duration;

use compat_tests::{
    CorralServer, JAVA_DIR, Target, ZooKeeperServer, clients_dir, require_file, run_with_timeout,
};

/// Bound on one run of the program (about 10 s of work, plus the JVM
/// compiling the source).
const SUITE_TIMEOUT: Duration = Duration::from_secs(240);

/// The Curator recipes and what they load (the jars' manifests name the
/// rest: Jackson, slf4j).
const JARS: [&str; 6] = [
    "curator-recipes.jar",
    "curator-framework.jar",
    "curator-client.jar",
    "guava.jar",
    "zookeeper.jar",
    "zookeeper-jute.jar",
];

/// What every run must print, in order.
const RECIPES: [&str; 6] = [
    "mutex",
    "leader_latch",
    "cache",
    "shared_count",
    "barriers",
    "transactions",
];

fn run_suite(target: &dyn Target) {
    require_file("/usr/bin/java", "Java (Debian default-jdk-headless)");
    let jars: Vec<String> = JARS
        .iter()
        .map(|j| {
            let path = format!("{JAVA_DIR}/{j}");
            require_file(&path, "a Curator jar (Debian libcurator-recipes-java)");
            path
        })
        .collect();
    let mut cmd = Command::new("/usr/bin/java");
    cmd.arg("-Xmx256m")
        .arg("-XX:TieredStopAtLevel=1")
        .arg("-cp")
        .arg(jars.join(":"))
        .arg(clients_dir().join("CuratorSuite.java"))
        .arg(target.addr().to_string());
    let out = run_with_timeout(cmd, b"", SUITE_TIMEOUT);
    println!(
        "Curator against {} ({}), {:.1?}:\n{}",
        target.name(),
        target.addr(),
        out.elapsed,
        out.stdout
    );
    let passed: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ok "))
        .collect();
    assert!(
        out.success() && passed == RECIPES,
        "Curator FAILED against {} ({}): passed {passed:?} of {RECIPES:?}\n\n{}\n{}",
        target.name(),
        target.addr(),
        out.transcript(),
        target.diagnostics()
    );
}

#[test]
fn curator_recipes_against_corral() {
    let corral = CorralServer::start();
    run_suite(&corral);
}

#[test]
fn curator_recipes_against_reference_zookeeper() {
    let zk = ZooKeeperServer::start();
    run_suite(&zk);
}
