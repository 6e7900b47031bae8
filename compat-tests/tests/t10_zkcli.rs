//! zkCli.sh (the Java client's shell, Debian package `zookeeper`) driven by
//! one command script on stdin, against Corral and against the reference
//! ZooKeeper 3.8 in parallel. The output from Corral is checked line by line
//! for what the script must produce, then compared with the reference's
//! after times, zxids and session ids are masked.
//!
//! zkCli runs the commands one after the other, synchronously; only watch
//! notifications are printed by another thread, so they are compared as
//! their own sequence, apart from the command output.

use std::process::Command;
use std::thread;
use std::time::Duration;

use compat_tests::{
    CorralServer, Finished, Target, ZKCLI, ZooKeeperServer, require_file, run_with_timeout,
};

/// Every command of the brief, with errors on purpose (zkCli prints them and
/// goes on). Nothing depends on timing: the container keeps its child, so
/// no reaper runs while the script does.
const SCRIPT: &str = "\
create /zc hello
create /zc dup
create -e /zc/eph ephemeral
create -s /zc/seq- s
create -e -s /zc/eseq- es
create -c /zc/cont c
create /zc/nodata
create /zc/empty \"\"
ls /zc
get /zc
get -s /zc
get /zc/nodata
get /zc/empty
set /zc world
get /zc
set -v 0 /zc stale
stat /zc
getAcl /zc
addWatch /zc/cont
create /zc/cont/child x
getAllChildrenNumber /zc
getAllChildrenNumber /
getEphemerals
getEphemerals /zc/e
whoami
addauth digest bob:pw
whoami
delete /zc/eph
delete /zc/nope
delete /zc
stat /zc/eph
create /zc/tree t
create /zc/tree/a a
create /zc/tree/a/b b
deleteall /zc/tree
ls /zc
ls -s /
quit
";

/// Bound on one zkCli run (a JVM start plus the script: about a second).
const ZKCLI_TIMEOUT: Duration = Duration::from_secs(60);

fn run_zkcli(addr: std::net::SocketAddr) -> Finished {
    let mut cmd = Command::new(ZKCLI);
    cmd.arg("-server").arg(addr.to_string());
    run_with_timeout(cmd, SCRIPT.as_bytes(), ZKCLI_TIMEOUT)
}

/// What zkCli printed, split and masked for comparison.
#[derive(Debug, PartialEq, Eq)]
struct Transcript {
    /// Command output (stdout), watch notifications taken out.
    out: Vec<String>,
    /// The `WatchedEvent ...` lines, in order.
    events: Vec<String>,
    /// stderr (`Created ...` and the error messages), SLF4J noise dropped.
    err: Vec<String>,
}

/// Masks what legitimately differs between two servers and two runs.
fn mask(line: &str, port: u16) -> String {
    let line = line.replace(&format!("127.0.0.1:{port}"), "127.0.0.1:<port>");
    for key in ["cZxid", "mZxid", "pZxid"] {
        if line.starts_with(&format!("{key} = 0x")) {
            return format!("{key} = <zxid>");
        }
    }
    for key in ["ctime", "mtime"] {
        if line.starts_with(&format!("{key} = ")) {
            return format!("{key} = <time>");
        }
    }
    if line.starts_with("ephemeralOwner = 0x") && line != "ephemeralOwner = 0x0" {
        return "ephemeralOwner = <session>".to_owned();
    }
    // `[a, b]` lists (ls, getEphemerals): the server's order is unspecified.
    if let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
        let mut items: Vec<&str> = inner.split(", ").collect();
        items.sort_unstable();
        return format!("[{}]", items.join(", "));
    }
    line
}

fn transcript(run: &Finished, port: u16) -> Transcript {
    // The watcher prints each of "WATCHER::" and the event with a leading
    // "\n" (one println each), so each comes after one empty line of its own.
    let mut out: Vec<String> = Vec::new();
    let mut events = Vec::new();
    for line in run.stdout.lines() {
        if line == "WATCHER::" || line.starts_with("WatchedEvent ") {
            if out.last().is_some_and(String::is_empty) {
                out.pop();
            }
            if line != "WATCHER::" {
                events.push(line.to_owned());
            }
            continue;
        }
        out.push(mask(line, port));
    }
    let err = run
        .stderr
        .lines()
        .filter(|l| !l.starts_with("SLF4J:"))
        .map(|l| mask(l, port))
        .collect();
    Transcript { out, events, err }
}

/// Asserts that `lines` contains `want` as a subsequence, in order.
fn assert_in_order(what: &str, lines: &[String], want: &[&str], context: &str) {
    let mut it = lines.iter();
    for w in want {
        assert!(
            it.any(|l| l == w),
            "zkCli against Corral: {what}: expected the line {w:?} (after the ones before it \
             in {want:#?}); got:\n{}\n{context}",
            lines.join("\n")
        );
    }
}

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
    require_file(ZKCLI, "zkCli.sh (Debian package zookeeper)");
    // Both servers, and both zkCli runs, in parallel: the JVM starts
    // dominate the time.
    let corral = CorralServer::start();
    let reference = thread::spawn(|| {
        let zk = ZooKeeperServer::start();
        let run = run_zkcli(zk.addr());
        (zk, run)
    });
    let ours = run_zkcli(corral.addr());
    let (zk, theirs) = reference.join().expect("reference zkCli thread");
    println!(
        "zkCli against Corral ({:.1?}):\n{}\n{}",
        ours.elapsed, ours.stdout, ours.stderr
    );
    println!(
        "zkCli against {} ({:.1?}):\n{}\n{}",
        zk.name(),
        theirs.elapsed,
        theirs.stdout,
        theirs.stderr
    );
    assert!(
        ours.success(),
        "zkCli against Corral did not exit cleanly:\n{}",
        ours.transcript()
    );
    assert!(
        theirs.success(),
        "zkCli against {} did not exit cleanly:\n{}\n{}",
        zk.name(),
        theirs.transcript(),
        zk.diagnostics()
    );
    let t_ours = transcript(&ours, corral.addr().port());
    let t_theirs = transcript(&theirs, zk.addr().port());
    let context = ours.transcript();

    // What the script must produce, on Corral.
    assert_in_order(
        "created paths and errors (stderr)",
        &t_ours.err,
        &[
            "Created /zc",
            "Node already exists: /zc",
            "Created /zc/eph",
            "Created /zc/seq-0000000001",
            "Created /zc/eseq-0000000002",
            "Created /zc/cont",
            "Created /zc/nodata",
            "Created /zc/empty",
            "version No is not valid : /zc",
            "Created /zc/cont/child",
            "Node does not exist: /zc/nope",
            "Node not empty: /zc",
            "Node does not exist: /zc/eph",
            "Created /zc/tree",
            "Created /zc/tree/a",
            "Created /zc/tree/a/b",
        ],
        &context,
    );
    assert_in_order(
        "command output (stdout)",
        &t_ours.out,
        &[
            // ls /zc
            "[cont, empty, eph, eseq-0000000002, nodata, seq-0000000001]",
            // get /zc, then get -s /zc
            "hello",
            "hello",
            "cversion = 6",
            "dataVersion = 0",
            "aclVersion = 0",
            "ephemeralOwner = 0x0",
            "dataLength = 5",
            "numChildren = 6",
            // get of null data, then of empty data
            "null",
            "",
            // set, get, stat
            "world",
            "dataVersion = 1",
            "numChildren = 6",
            // getAcl
            "'world,'anyone",
            ": cdrwa",
            // getAllChildrenNumber /zc, then / (zc's 7, /zc itself and
            // /zookeeper, /zookeeper/config, /zookeeper/quota)
            "7",
            "11",
            // getEphemerals, with and without a prefix
            "[/zc/eph, /zc/eseq-0000000002]",
            "[/zc/eph, /zc/eseq-0000000002]",
            // whoami before and after addauth
            "Auth scheme: User",
            "ip: 127.0.0.1",
            "Auth scheme: User",
            "digest: bob",
            "ip: 127.0.0.1",
            // ls /zc after the deletes; ls -s /
            "[cont, empty, eseq-0000000002, nodata, seq-0000000001]",
            "[zc, zookeeper]",
            "numChildren = 2",
        ],
        &context,
    );
    assert_eq!(
        t_ours.events,
        [
            "WatchedEvent state:SyncConnected type:None path:null",
            "WatchedEvent state:SyncConnected type:NodeCreated path:/zc/cont/child",
            "WatchedEvent state:Closed type:None path:null",
        ],
        "zkCli against Corral: watch notifications\n{context}"
    );

    // And the same as ZooKeeper's, line for line.
    assert!(
        t_ours.err == t_theirs.err,
        "zkCli stderr differs between Corral and {}: {}\nCorral:\n{}\nZooKeeper:\n{}",
        zk.name(),
        first_difference(&t_ours.err, &t_theirs.err),
        t_ours.err.join("\n"),
        t_theirs.err.join("\n")
    );
    assert!(
        t_ours.out == t_theirs.out,
        "zkCli stdout differs between Corral and {}: {}\nCorral:\n{}\nZooKeeper:\n{}",
        zk.name(),
        first_difference(&t_ours.out, &t_theirs.out),
        t_ours.out.join("\n"),
        t_theirs.out.join("\n")
    );
    assert_eq!(
        t_ours.events,
        t_theirs.events,
        "zkCli watch notifications differ between Corral and {}",
        zk.name()
    );
}
