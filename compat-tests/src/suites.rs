//! The real-client suites, each a function of the server it runs
//! against, so that the same suite runs against Corral standalone, a
//! Corral ensemble and the reference ZooKeeper.

use std::process::Command;
use std::time::Duration;

use zookeeper_client as zk;

use crate::{JAVA_DIR, PYTHON, Target, clients_dir, require_file, require_kazoo, run_with_timeout};

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

/// What every run must print, in order.
const RECIPES: [&str; 6] = [
    "mutex",
    "leader_latch",
    "cache",
    "shared_count",
    "barriers",
    "transactions",
];

/// Runs `clients/CuratorSuite.java` (Curator's recipes) against `target`
/// and asserts that every recipe passed.
pub fn curator(target: &dyn Target) {
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
        .arg(target.connect_string());
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
        out.success() && passed == RECIPES,
        "Curator FAILED against {} ({}): passed {passed:?} of {RECIPES:?}\n\n{}\n{}",
        target.name(),
        target.connect_string(),
        out.transcript(),
        target.diagnostics()
    );
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
