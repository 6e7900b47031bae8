//! The real-client suites, each a function of the server it runs
//! against, so that the same suite runs against Corral standalone, a
//! Corral ensemble and the reference ZooKeeper.

use std::process::Command;
use std::time::Duration;

use zookeeper_client as zk;

use std::collections::BTreeSet;

use crate::{
    CLI_MT, Conversation, CorralEnsemble, Finished, JAVA_DIR, PYTHON, Target, ZKCLI, clients_dir,
    require_file, require_kazoo, run_with_timeout,
};

// ------------------------------------------------------------------ kazoo

/// Bound on one run of the suite (it takes about a second; its own watchdog
/// stops it after 100 s).
const KAZOO_TIMEOUT: Duration = Duration::from_secs(120);

/// `exists_needs_read`: the server checks READ on `exists` of an existing
/// node (ZooKeeper 3.8.4+, ZOOKEEPER-2590; Corral follows it), unlike the
/// Debian reference ZooKeeper 3.8.0. The suite asserts the one or the other.
pub fn kazoo(target: &dyn Target, exists_needs_read: bool) {
    require_kazoo();
    let script = clients_dir().join("kazoo_suite.py");
    let mut cmd = Command::new(PYTHON);
    cmd.arg(&script)
        .arg(target.connect_string())
        .env(
            "EXISTS_NEEDS_READ",
            if exists_needs_read { "1" } else { "0" },
        )
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = run_with_timeout(cmd, b"", KAZOO_TIMEOUT);
    println!(
        "kazoo suite against {} ({}), {:.1?}:\n{}",
        target.name(),
        target.connect_string(),
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
        target.connect_string(),
        out.transcript(),
        target.diagnostics()
    );
}

// ---------------------------------------------------------------- Curator

/// Bound on one run of the program (about 10 s of work, plus the JVM
/// compiling the source).
const CURATOR_TIMEOUT: Duration = Duration::from_secs(240);

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

/// The Netty jars ZooKeeper's Netty client needs that zookeeper.jar's
/// manifest leaves out (Debian's netty-all.jar is an empty aggregate).
pub const NETTY_EXTRA: [&str; 3] = [
    "netty-codec.jar",
    "netty-resolver.jar",
    "netty-transport-native-unix-common.jar",
];

/// What every run must print, in order.
const RECIPES: [&str; 7] = [
    "mutex",
    "leader_latch",
    "cache",
    "shared_count",
    "barriers",
    "transactions",
    "acl",
];

/// Runs `clients/CuratorSuite.java` (Curator's recipes) against `target`
/// and asserts that every recipe passed. `exists_needs_read` as for
/// [`kazoo`].
pub fn curator(target: &dyn Target, exists_needs_read: bool) {
    curator_recipes(target, exists_needs_read, &RECIPES);
}

/// Runs the named recipes of `clients/CuratorSuite.java` against
/// `target` and asserts that each passed, in order.
pub fn curator_recipes(target: &dyn Target, exists_needs_read: bool, recipes: &[&str]) {
    let mut cmd = curator_program("CuratorSuite.java", target);
    cmd.env("RECIPES", recipes.join(",")).env(
        "EXISTS_NEEDS_READ",
        if exists_needs_read { "1" } else { "0" },
    );
    let out = run_with_timeout(cmd, b"", CURATOR_TIMEOUT);
    println!(
        "Curator against {} ({}), {:.1?}:\n{}",
        target.name(),
        target.connect_string(),
        out.elapsed,
        out.stdout
    );
    let passed: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ok "))
        .collect();
    assert!(
        out.success() && passed == recipes,
        "Curator FAILED against {} ({}): passed {passed:?} of {recipes:?}\n\n{}\n{}",
        target.name(),
        target.connect_string(),
        out.transcript(),
        target.diagnostics()
    );
}

/// `java` running the single-file program `clients/<file>` on Curator's
/// class path, given `target`'s connect string.
fn curator_program(file: &str, target: &dyn Target) -> Command {
    java_program(file, &[], &[&target.connect_string()])
}

/// Runs `clients/CuratorSasl.java` against `addr` in `mode` (`good`:
/// authenticate and use a node whose ACL names `user`; `bad`: expect
/// AuthFailed), with `jvm` options (the JAAS file, Kerberos settings); its
/// one line of verdict, `ok …` or `FAILED …`.
pub fn curator_sasl(jvm: &[String], addr: std::net::SocketAddr, mode: &str, user: &str) -> String {
    let jvm: Vec<&str> = jvm.iter().map(String::as_str).collect();
    let mut cmd = java_program("CuratorSasl.java", &jvm, &[&addr.to_string(), mode]);
    cmd.env("SASL_USER", user);
    let out = run_with_timeout(cmd, b"", CURATOR_TIMEOUT);
    out.stdout
        .lines()
        .find(|l| l.starts_with("ok ") || l.starts_with("FAILED"))
        .unwrap_or_else(|| panic!("CuratorSasl said nothing:\n{}", out.transcript()))
        .to_owned()
}

/// `java` with `jvm` options running the single-file program
/// `clients/<file>` on Curator's (and ZooKeeper's) class path, with
/// `args`.
pub fn java_program(file: &str, jvm: &[&str], args: &[&str]) -> Command {
    require_file("/usr/bin/java", "Java (Debian default-jdk-headless)");
    let jars: Vec<String> = JARS
        .iter()
        .map(|j| {
            let path = format!("{JAVA_DIR}/{j}");
            require_file(&path, "a Curator jar (Debian libcurator-recipes-java)");
            path
        })
        .collect();
    let mut cp = jars.join(":");
    // The Netty client (TLS) needs these beside what zookeeper.jar's
    // manifest names.
    for j in NETTY_EXTRA {
        let path = format!("{JAVA_DIR}/{j}");
        if std::path::Path::new(&path).exists() {
            cp.push(':');
            cp.push_str(&path);
        }
    }
    let mut cmd = Command::new("/usr/bin/java");
    cmd.arg("-Xmx256m")
        .arg("-XX:TieredStopAtLevel=1")
        .args(jvm)
        .arg("-cp")
        .arg(cp)
        .arg(clients_dir().join(file))
        .args(args);
    cmd
}

/// Runs `clients/CuratorFailover.java` against the ensemble: once its
/// client holds a lock, an ephemeral, a cache and a watch, the member its
/// session is on is restarted; the program then checks that the session
/// moved with all of it. Returns the restarted member's index.
///
/// # Panics
/// If the program fails or names a server that is not a member.
pub fn curator_failover(e: &mut CorralEnsemble) -> usize {
    let mut java = Conversation::start(
        curator_program("CuratorFailover.java", e),
        "CuratorFailover",
    );
    let pause = java
        .expect("\"pause <port>\"", CURATOR_TIMEOUT, |l| {
            l.starts_with("pause ") || l.starts_with("FAILED")
        })
        .unwrap_or_else(|m| panic!("CuratorFailover: {m}"));
    let port: u16 = pause
        .last()
        .and_then(|l| l.strip_prefix("pause "))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("CuratorFailover FAILED:\n{}", java.transcript.join("\n")));
    let member = e
        .addrs()
        .iter()
        .position(|a| a.port() == port)
        .unwrap_or_else(|| panic!("CuratorFailover is on port {port}, not a member's"));
    println!("CuratorFailover: its session is on member {member}; restarting it");
    e.restart(member);
    java.send("go").expect("write \"go\" to CuratorFailover");
    let done = java.expect("\"ok failover\"", CURATOR_TIMEOUT, |l| {
        l == "ok failover" || l.starts_with("FAILED")
    });
    let transcript = java.transcript.join("\n");
    let status = java.finish(Duration::from_secs(30));
    println!(
        "CuratorFailover against {}:\n{transcript}",
        e.connect_string()
    );
    assert!(
        done.is_ok_and(|d| d.last().is_some_and(|l| l == "ok failover"))
            && status.is_ok_and(|s| s.success()),
        "CuratorFailover FAILED against {}:\n{transcript}\n{}",
        e.connect_string(),
        e.diagnostics()
    );
    member
}

// ------------------------------------------------------------ Rust client

/// Bound on any single wait for the server or an event.
const WAIT: Duration = Duration::from_secs(10);

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out: {what}"),
    }
}

async fn connect(target: &dyn Target) -> zk::Client {
    let cluster = target.connect_string();
    within(
        "connect",
        zk::Client::connector()
            .with_session_timeout(Duration::from_secs(10))
            .connect(&cluster),
    )
    .await
    .unwrap_or_else(|e| panic!("connect to {} at {cluster}: {e}", target.name()))
}

async fn run_checks(target: &dyn Target) {
    let server = target.name();
    let c = connect(target).await;
    let other = connect(target).await;
    let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let root = "/rust-client";

    // CRUD and Stat fields.
    let (stat, _) = within("create", c.create(root, b"v0", &open))
        .await
        .expect("create");
    assert_eq!(
        (stat.version, stat.num_children, stat.data_length),
        (0, 0, 2),
        "{server}"
    );
    assert_eq!(stat.czxid, stat.mzxid, "{server}");
    let (data, got) = within("get", c.get_data(root)).await.expect("get");
    assert_eq!((data.as_slice(), got), (&b"v0"[..], stat), "{server}");
    let set = within("set", c.set_data(root, b"v1", Some(0)))
        .await
        .expect("set");
    assert_eq!((set.version, set.czxid), (1, stat.czxid), "{server}");
    assert!(set.mzxid > stat.mzxid, "{server}");
    assert_eq!(
        within("bad version", c.set_data(root, b"v2", Some(0))).await,
        Err(zk::Error::BadVersion),
        "{server}"
    );
    assert_eq!(
        within("exists again", c.create(root, b"", &open))
            .await
            .err(),
        Some(zk::Error::NodeExists),
        "{server}"
    );
    assert_eq!(
        within("no parent", c.create("/rust-client/a/b", b"", &open))
            .await
            .err(),
        Some(zk::Error::NoNode),
        "{server}"
    );
    assert_eq!(
        within("missing", c.check_stat("/rust-client/none")).await,
        Ok(None),
        "{server}"
    );

    // Sequential names come from the parent's cversion.
    let seq = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
    let (_, first) = within("seq", c.create("/rust-client/s-", b"", &seq))
        .await
        .expect("seq");
    let (_, second) = within("seq", c.create("/rust-client/s-", b"", &seq))
        .await
        .expect("seq");
    assert_eq!(
        (first.into_i64(), second.into_i64()),
        (0, 1),
        "{server}: sequence numbers"
    );
    let kids = within("children", c.list_children(root))
        .await
        .expect("children");
    let mut kids = kids;
    kids.sort();
    assert_eq!(kids, ["s-0000000000", "s-0000000001"], "{server}");

    // A one-shot data watch fires once, for another client's change.
    let (_, _, watcher) = within("watch data", c.get_and_watch_data(root))
        .await
        .expect("watch data");
    // Another session sees this one's writes after a `sync` (on an
    // ensemble it may be on a member that has not applied them yet).
    within("sync", other.sync(root)).await.expect("sync");
    within("other set", other.set_data(root, b"v2", None))
        .await
        .expect("other set");
    let event = within("data event", watcher.changed()).await;
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (zk::EventType::NodeDataChanged, root),
        "{server}"
    );

    // A child watch.
    let (_, watcher) = within("watch children", c.list_and_watch_children(root))
        .await
        .expect("watch children");
    within("other create", other.create("/rust-client/kid", b"", &open))
        .await
        .expect("other create");
    let event = within("child event", watcher.changed()).await;
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (zk::EventType::NodeChildrenChanged, root),
        "{server}"
    );

    // A persistent recursive watch sees creates, changes and deletes below.
    let mut watcher = within(
        "addWatch",
        c.watch(root, zk::AddWatchMode::PersistentRecursive),
    )
    .await
    .expect("addWatch");
    within(
        "deep create",
        other.create("/rust-client/kid/deep", b"x", &open),
    )
    .await
    .expect("deep create");
    within(
        "deep set",
        other.set_data("/rust-client/kid/deep", b"y", None),
    )
    .await
    .expect("deep set");
    within("deep delete", other.delete("/rust-client/kid/deep", None))
        .await
        .expect("deep delete");
    let mut seen = Vec::new();
    for _ in 0..3 {
        let e = within("recursive event", watcher.changed()).await;
        seen.push((e.event_type, e.path));
    }
    let deep = "/rust-client/kid/deep".to_owned();
    assert_eq!(
        seen,
        [
            (zk::EventType::NodeCreated, deep.clone()),
            (zk::EventType::NodeDataChanged, deep.clone()),
            (zk::EventType::NodeDeleted, deep),
        ],
        "{server}"
    );
    // Dropping a persistent watcher removes it (`removeWatches`).
    drop(watcher);

    // Multi: all of it, or none of it with the failing op's index.
    let mut multi = c.new_multi_writer();
    multi
        .add_create("/rust-client/m1", b"1", &open)
        .expect("op");
    multi.add_set_data(root, b"v3", None).expect("op");
    multi.add_check_version("/rust-client/m1", 0).expect("op");
    let results = within("multi", multi.commit()).await.expect("multi");
    assert_eq!(results.len(), 3, "{server}");
    let mut multi = c.new_multi_writer();
    multi.add_create("/rust-client/m2", b"", &open).expect("op");
    multi
        .add_set_data("/rust-client/m1", b"", Some(7))
        .expect("op");
    match within("failing multi", multi.commit()).await {
        Err(zk::MultiWriteError::OperationFailed { index, source }) => {
            assert_eq!((index, source), (1, zk::Error::BadVersion), "{server}");
        }
        other => panic!("{server}: a failing multi gave {other:?}"),
    }
    assert_eq!(
        within("m2", c.check_stat("/rust-client/m2")).await,
        Ok(None),
        "{server}: nothing of the failed multi"
    );

    // Digest auth and ACLs.
    let secret = connect(target).await;
    within("auth", secret.auth("digest", b"alice:secret"))
        .await
        .expect("auth");
    let mine = zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all());
    within(
        "create private",
        secret.create("/rust-client/private", b"p", &mine),
    )
    .await
    .expect("create private");
    within("sync", other.sync("/rust-client/private"))
        .await
        .expect("sync");
    assert_eq!(
        within("read private", other.get_data("/rust-client/private"))
            .await
            .err(),
        Some(zk::Error::NoAuth),
        "{server}"
    );
    let (data, _) = within("owner reads", secret.get_data("/rust-client/private"))
        .await
        .expect("owner reads");
    assert_eq!(data, b"p", "{server}");

    // Ephemerals, containers, TTL nodes; sync; counts.
    let eph = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
    let (_, n) = within("ephemeral", secret.create("/rust-client/e-", b"", &eph))
        .await
        .expect("ephemeral");
    // Five creates under the parent so far (the failed multi's undone).
    assert_eq!(n.into_i64(), 5, "{server}");
    let owner = within(
        "ephemeral stat",
        secret.check_stat("/rust-client/e-0000000005"),
    )
    .await
    .expect("stat")
    .map(|s| s.ephemeral_owner);
    assert_eq!(owner, Some(secret.session_id().0), "{server}");
    let eph_list = within("getEphemerals", secret.list_ephemerals("/rust-client"))
        .await
        .expect("getEphemerals");
    assert_eq!(eph_list, ["/rust-client/e-0000000005"], "{server}");
    let container = zk::CreateMode::Container.with_acls(zk::Acls::anyone_all());
    within("container", c.create("/rust-client/box", b"", &container))
        .await
        .expect("container");
    let ttl = zk::CreateMode::Persistent
        .with_acls(zk::Acls::anyone_all())
        .with_ttl(Duration::from_secs(3600));
    within("ttl", c.create("/rust-client/ttl", b"", &ttl))
        .await
        .expect("ttl node (extendedTypesEnabled)");
    let owner = within("ttl stat", c.check_stat("/rust-client/ttl"))
        .await
        .expect("stat")
        .map(|s| s.ephemeral_owner);
    assert_eq!(owner, Some(0), "{server}: a TTL node shows owner 0");
    within("sync", other.sync(root)).await.expect("sync");
    let n = within("getAllChildrenNumber", other.count_descendants_number(root))
        .await
        .expect("getAllChildrenNumber");
    // s-0, s-1, kid, m1, private, e-5, box, ttl.
    assert_eq!(n, 8, "{server}");

    // The session ends; its ephemeral goes with it.
    drop(secret);
    let mut gone = false;
    for _ in 0..100 {
        if within("stat", other.check_stat("/rust-client/e-0000000005")).await == Ok(None) {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "{server}: the ephemeral outlived its session");
}

/// The Rust `zookeeper-client` checks, on a runtime of their own (the
/// servers' starters run their own runtimes, which cannot nest).
pub fn rust_client(target: &dyn Target) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run_checks(target));
}

// ----------------------------------------------------------------- zkCli

/// Every command of the brief, with errors on purpose (zkCli prints them and
/// goes on). Nothing depends on timing: the container keeps its child, so
/// no reaper runs while the script does.
pub const ZKCLI_SCRIPT: &str = "\
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

/// zkCli.sh against `addr`, [`ZKCLI_SCRIPT`] on its stdin.
pub fn zkcli_run(addr: std::net::SocketAddr) -> Finished {
    zkcli_run_script(addr, ZKCLI_SCRIPT)
}

/// zkCli.sh against `addr`, `script` on its stdin.
pub fn zkcli_run_script(addr: std::net::SocketAddr, script: &str) -> Finished {
    zkcli_run_with(addr, script, &[])
}

/// zkCli.sh against `addr`, `script` on its stdin, with `jvm` (Java
/// properties, such as the `zookeeper.ssl.*` ones) in `CLIENT_JVMFLAGS`.
pub fn zkcli_run_with(addr: std::net::SocketAddr, script: &str, jvm: &[String]) -> Finished {
    require_file(ZKCLI, "zkCli.sh (Debian package zookeeper)");
    let mut cmd = Command::new(ZKCLI);
    cmd.arg("-server").arg(addr.to_string());
    if !jvm.is_empty() {
        cmd.env("CLIENT_JVMFLAGS", jvm.join(" "));
    }
    run_with_timeout(cmd, script.as_bytes(), ZKCLI_TIMEOUT)
}

/// What zkCli printed, split and masked for comparison.
#[derive(Debug, PartialEq, Eq)]
pub struct ZkCliTranscript {
    /// Command output (stdout), watch notifications taken out.
    pub out: Vec<String>,
    /// The `WatchedEvent ...` lines, in order.
    pub events: Vec<String>,
    /// stderr (`Created ...` and the error messages), SLF4J noise dropped.
    pub err: Vec<String>,
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

/// What zkCli printed against the server on `port`, split into command
/// output, watch events and stderr, and masked for comparison.
pub fn zkcli_transcript(run: &Finished, port: u16) -> ZkCliTranscript {
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
    ZkCliTranscript { out, events, err }
}

/// Asserts that `lines` contains `want` as a subsequence, in order.
fn assert_in_order(what: &str, lines: &[String], want: &[&str], context: &str) {
    let mut it = lines.iter();
    for w in want {
        assert!(
            it.any(|l| l == w),
            "zkCli: {what}: expected the line {w:?} (after the ones before it \
             in {want:#?}); got:\n{}\n{context}",
            lines.join("\n")
        );
    }
}

/// Runs [`ZKCLI_SCRIPT`] through zkCli.sh against `target`'s one address
/// (on a fresh tree: the script lists `/`) and asserts what it must print;
/// returns the masked transcript for a comparison with the reference's.
///
/// # Panics
/// If zkCli fails or prints something else.
pub fn zkcli(target: &dyn Target) -> ZkCliTranscript {
    require_file(ZKCLI, "zkCli.sh (Debian package zookeeper)");
    let run = zkcli_run(target.addr());
    let name = target.name();
    println!(
        "zkCli against {name} ({:.1?}):\n{}\n{}",
        run.elapsed, run.stdout, run.stderr
    );
    assert!(
        run.success(),
        "zkCli against {name} did not exit cleanly:\n{}\n{}",
        run.transcript(),
        target.diagnostics()
    );
    let t = zkcli_transcript(&run, target.addr().port());
    let context = &format!("{}\n{}", run.transcript(), target.diagnostics());
    assert_in_order(
        "created paths and errors (stderr)",
        &t.err,
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
        context,
    );
    assert_in_order(
        "command output (stdout)",
        &t.out,
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
        context,
    );
    assert_eq!(
        t.events,
        [
            "WatchedEvent state:SyncConnected type:None path:null",
            "WatchedEvent state:SyncConnected type:NodeCreated path:/zc/cont/child",
            "WatchedEvent state:Closed type:None path:null",
        ],
        "zkCli against {name}: watch notifications\n{context}"
    );

    t
}

// ------------------------------------------------------------- C client

/// Bound on each wait for an answer.
const CLI_MT_STEP: Duration = Duration::from_secs(10);

/// A line equal to `want` (ignoring trailing blanks).
fn cli_line(want: &'static str) -> impl FnMut(&str) -> bool {
    move |l: &str| l.trim_end() == want
}

/// Sends `cmd`, then expects `answers` in this order (other lines, such as
/// the client's own log, may come in between).
fn cli_step(cli: &mut Conversation, cmd: &str, answers: &[&'static str]) -> Result<(), String> {
    cli.send(cmd).map_err(|e| format!("send {cmd:?}: {e}"))?;
    for want in answers {
        cli.expect(
            &format!("{want:?} after {cmd:?}"),
            CLI_MT_STEP,
            cli_line(want),
        )?;
    }
    Ok(())
}

/// The C client's shell `cli_mt` through one dialogue against `target`
/// (its connect string: `cli_mt -h` takes a list); `Err` carries what went
/// wrong and the transcript.
pub fn c_client_dialogue(target: &dyn Target) -> Result<(), String> {
    require_file(CLI_MT, "cli_mt (Debian package zookeeper-bin)");
    let mut cmd = Command::new(CLI_MT);
    cmd.arg("-h").arg(target.connect_string());
    let mut cli = Conversation::start(cmd, "cli_mt");
    cli.expect("a session", CLI_MT_STEP, |l| {
        l.starts_with("Got a new session id: 0x")
    })?;

    cli_step(&mut cli, "create /cm", &["[/cm]: rc = 0", "\tname = /cm"])?;
    cli_step(&mut cli, "create /cm", &["[/cm]: rc = -110"])?; // NODEEXISTS
    cli_step(
        &mut cli,
        "create +e /cm/eph",
        &["[/cm/eph]: rc = 0", "\tname = /cm/eph"],
    )?;
    cli_step(
        &mut cli,
        "create +s /cm/seq-",
        &["[/cm/seq-]: rc = 0", "\tname = /cm/seq-0000000001"],
    )?;
    cli_step(
        &mut cli,
        "set /cm hello",
        &[
            "/cm: rc = 0 Stat:",
            "\tversion=1\taversion=0",
            "\tephemeralOwner = 0",
        ],
    )?;
    cli_step(
        &mut cli,
        "get /cm",
        &[
            "/cm: rc = 0",
            " value_len = 5",
            "hello",
            "Stat:",
            "\tversion=1\taversion=0",
        ],
    )?;
    cli_step(&mut cli, "get /cm/none", &["/cm/none: rc = -101"])?; // NONODE

    // ls (which also leaves a child watch on /cm): the children, in any
    // order, up to the "time = ..." line that ends the listing.
    cli_step(&mut cli, "ls /cm", &["/cm: rc = 0"])?;
    let listing = cli.expect("the end of the listing", CLI_MT_STEP, |l| {
        l.starts_with("time = ")
    })?;
    let children: BTreeSet<&str> = listing
        .iter()
        .filter_map(|l| l.strip_prefix('\t'))
        .collect();
    if children != BTreeSet::from(["eph", "seq-0000000001"]) {
        return Err(format!(
            "ls /cm listed {children:?}; transcript:\n{}",
            cli.transcript.join("\n")
        ));
    }

    cli_step(&mut cli, "exists /cm/none", &["Error -101 for /cm/none"])?;
    // An exists watch on a missing node, then the create that fires it: the
    // notification is delivered before the create's own completion, and the
    // child watch left by ls fires too.
    cli_step(&mut cli, "wexists /cm/later", &["Error -101 for /cm/later"])?;
    cli.send("create /cm/later").map_err(|e| e.to_string())?;
    let got = cli.expect(
        "the create's completion",
        CLI_MT_STEP,
        cli_line("[/cm/later]: rc = 0"),
    )?;
    let created = "Watcher CREATED_EVENT state = CONNECTED_STATE for path /cm/later";
    if !got.iter().any(|l| l.trim_end() == created) {
        return Err(format!(
            "no {created:?} before the completion of the create; transcript:\n{}",
            cli.transcript.join("\n")
        ));
    }
    let child = "Watcher CHILD_EVENT state = CONNECTED_STATE for path /cm";
    if !cli.transcript.iter().any(|l| l.trim_end() == child) {
        cli.expect(&format!("{child:?}"), CLI_MT_STEP, cli_line(child))?;
    }

    cli_step(&mut cli, "delete /cm", &["/cm: rc = -111"])?; // NOTEMPTY
    cli_step(&mut cli, "delete /cm/later", &["/cm/later: rc = 0"])?;
    cli_step(&mut cli, "delete /cm/nope", &["/cm/nope: rc = -101"])?;
    cli_step(&mut cli, "sync /cm", &["[/cm]: rc = 0", "\tname = /cm"])?;
    cli_step(&mut cli, "quit", &["Quitting..."])?;
    let status = cli.finish(CLI_MT_STEP)?;
    if !status.success() {
        return Err(format!(
            "cli_mt exited with {status}; transcript:\n{}",
            cli.transcript.join("\n")
        ));
    }
    Ok(())
}
