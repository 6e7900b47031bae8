//! `corral import` and `corral export` against the reference ZooKeeper
//! (issue 19, docs/migration.md): a tree ZooKeeper wrote, with live
//! sessions, imported into Corral equals ZooKeeper's node for node as a
//! client reads it from both; the sessions resume on Corral with the
//! passwords their clients hold; the tree exported back starts a
//! ZooKeeper that serves the same; ZooKeeper's files are never written;
//! and damaged files are refused with the file and the offset.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use compat_tests::{
    Conversation, CorralServer, PYTHON, ZooKeeperServer, clients_dir, free_port, require_kazoo,
    run_with_timeout,
};
use server::migrate::{ExportArgs, ImportArgs};

fn kazoo(args: &[&str]) -> String {
    require_kazoo();
    let mut cmd = Command::new(PYTHON);
    cmd.arg(clients_dir().join("kazoo_migrate.py"))
        .args(args)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let run = run_with_timeout(cmd, b"", Duration::from_secs(300));
    assert!(
        run.success(),
        "kazoo_migrate {args:?}: {}",
        run.transcript()
    );
    run.stdout
}

/// Every node as a client reads it from `addr`, one JSON line each;
/// `/zookeeper/config` left out (each server publishes its own).
fn dump(addr: &str, dir: &Path, name: &str) -> Vec<String> {
    let out = dir.join(name);
    kazoo(&["dump", addr, out.to_str().expect("utf-8 path")]);
    fs::read_to_string(&out)
        .expect("dump written")
        .lines()
        .filter(|l| !l.contains("\"path\": \"/zookeeper/config\""))
        .map(str::to_owned)
        .collect()
}

/// Where two dumps differ, for the failure message.
fn differences(a: &[String], b: &[String]) -> String {
    let mut out = Vec::new();
    for (x, y) in a.iter().zip(b) {
        if x != y {
            out.push(format!("  zookeeper: {x}\n  corral:    {y}"));
        }
        if out.len() == 10 {
            break;
        }
    }
    format!(
        "{} and {} nodes; first differences:\n{}",
        a.len(),
        b.len(),
        out.join("\n")
    )
}

/// Every file under `dir` with its bytes, to prove it was not written.
fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), fs::read(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}

/// `kazoo_migrate.py populate` against `hosts`: the tree, and live
/// sessions written to `sessions`; held open until the returned
/// conversation is dropped (which kills it, closing no session).
fn populate(hosts: &str, sessions: &Path, nodes: u32) -> Conversation {
    require_kazoo();
    let mut cmd = Command::new(PYTHON);
    cmd.arg(clients_dir().join("kazoo_migrate.py"))
        .args([
            "populate",
            hosts,
            sessions.to_str().expect("utf-8"),
            &nodes.to_string(),
        ])
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let mut writer = Conversation::start(cmd, "kazoo_migrate populate");
    writer
        .expect("ready", Duration::from_secs(240), |l| l == "ready")
        .expect("the tree written");
    writer
}

fn corral_config(data: &Path, port: u16) -> server::Config {
    let mut config = server::Config::for_tests(data.to_path_buf());
    config.client_addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    config
}

fn import(
    config: &server::Config,
    zk_data: &Path,
    accept_torn: bool,
) -> Result<server::migrate::ImportReport, String> {
    server::migrate::import(
        config,
        &ImportArgs {
            zookeeper_data_dir: zk_data.to_path_buf(),
            zookeeper_log_dir: None,
            accept_truncated_tail: accept_torn,
        },
    )
}

#[test]
fn a_zookeeper_tree_moves_to_corral_and_back_with_its_sessions() {
    let work = tempfile::tempdir().expect("tempdir");
    // Small snapshots, so the tree is a snapshot plus logs after it.
    let mut zk = ZooKeeperServer::start_with(&["-Dzookeeper.snapCount=400"]);
    let zk_addr = zk.addr().to_string();
    let sessions = work.path().join("sessions.json");
    let writer = populate(&zk_addr, &sessions, 3000);
    // ZooKeeper dies with the sessions open; their clients are gone too,
    // without closing them.
    zk.stop();
    drop(writer);
    let zk_data = zk.data_dir();
    let before = contents(&zk_data);
    let snapshots = before
        .iter()
        .filter(|(p, _)| p.to_string_lossy().contains("snapshot."))
        .count();
    let logs = before
        .iter()
        .filter(|(p, _)| p.to_string_lossy().contains("/log."))
        .count();
    assert!(
        snapshots >= 2 && logs >= 2,
        "expected several snapshots and logs: {snapshots} and {logs}"
    );

    let corral_data = work.path().join("corral");
    let port = free_port();
    let config = corral_config(&corral_data, port);
    let report = import(&config, &zk_data, false).expect("import");
    assert!(
        report.digests_checked > 0,
        "no ZooKeeper digest was compared: {report:?}"
    );
    // The five holding ephemerals, and the writer's own.
    assert_eq!(report.sessions, 6, "{report:?}");
    assert_eq!(
        contents(&zk_data),
        before,
        "the import wrote into ZooKeeper's directory"
    );
    // A second import into the same directory is refused.
    let again = import(&config, &zk_data, false).expect_err("a used data directory");
    assert!(again.contains("already holds data"), "{again}");

    let corral = CorralServer::start_with(config.clone(), port);
    let corral_addr = corral.addr().to_string();
    let ours = dump(&corral_addr, work.path(), "corral.jsonl");
    zk.start_again();
    compat_tests::poll_until(Duration::from_secs(60), || {
        compat_tests::four_letter(zk.addr(), "srvr")
            .ok()
            .filter(|a| a.contains("Mode:"))
    })
    .expect("ZooKeeper up again on its files");
    let theirs = dump(&zk_addr, work.path(), "zookeeper.jsonl");
    assert!(theirs.len() > 2500, "{} nodes", theirs.len());
    assert!(
        theirs == ours,
        "the imported tree differs: {}",
        differences(&theirs, &ours)
    );
    assert!(ours.iter().any(|l| l.contains("\"path\": \"/cont/c0\"")));
    assert!(
        !ours.iter().any(|l| l.contains("/cont-gone")
            || l.contains("/ttl/short")
            || l.contains("/gone-eph"))
    );

    // The sessions resume on Corral with the passwords their clients hold.
    let resumed = kazoo(&["resume", &corral_addr, sessions.to_str().expect("utf-8")]);
    let lines: Vec<&str> = resumed
        .lines()
        .filter(|l| l.starts_with("ok ") || l.starts_with("FAIL "))
        .collect();
    assert_eq!(lines.len(), 5, "{resumed}");
    assert!(lines.iter().all(|l| l.starts_with("ok ")), "{resumed}");

    // New zxids come after the imported ones.
    let srvr = compat_tests::four_letter(corral.addr(), "srvr").expect("srvr");
    let zxid = srvr
        .lines()
        .find_map(|l| l.strip_prefix("Zxid: 0x"))
        .and_then(|h| i64::from_str_radix(h.trim(), 16).ok())
        .expect("Zxid in srvr");
    assert!(
        zxid > report.last_zxid && zxid >> 32 > report.last_zxid >> 32,
        "{zxid:#x} after {:#x}",
        report.last_zxid
    );

    // And back: the tree exported starts a ZooKeeper serving the same.
    let ours = dump(&corral_addr, work.path(), "corral-after.jsonl");
    drop(corral);
    let out = work.path().join("exported");
    server::migrate::export(&config, &ExportArgs { to: out.clone() }).expect("export");
    let data_dir = format!("dataDir={}", out.display());
    let back = ZooKeeperServer::start_with(&[data_dir.as_str()]);
    let served = dump(&back.addr().to_string(), work.path(), "exported.jsonl");
    assert!(
        served == ours,
        "the exported tree differs: {}",
        differences(&ours, &served)
    );
    let log = back.log();
    assert!(
        !log.contains("Digests are not matching"),
        "ZooKeeper found a digest mismatch in the export"
    );
    assert!(
        log.contains("The digest in the snapshot has digest version of 2"),
        "ZooKeeper did not read the export's digest"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    for (p, bytes) in contents(from) {
        let rel = p.strip_prefix(from).expect("under from");
        let dest = to.join(rel);
        fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        fs::write(dest, bytes).expect("copy");
    }
}

/// The newest file of ZooKeeper's named `<prefix>.<hex>…` in `dir`.
fn newest(dir: &Path, prefix: &str) -> PathBuf {
    let mut files: Vec<(u64, PathBuf)> = fs::read_dir(dir.join("version-2"))
        .expect("version-2")
        .filter_map(|e| {
            let p = e.ok()?.path();
            let name = p.file_name()?.to_str()?.to_owned();
            let hex = name
                .strip_prefix(prefix)?
                .strip_prefix('.')?
                .split('.')
                .next()?
                .to_owned();
            Some((u64::from_str_radix(&hex, 16).ok()?, p))
        })
        .collect();
    files.sort();
    files.pop().expect("a file").1
}

#[test]
fn snappy_snapshots_import_and_damaged_files_are_refused_or_skipped_as_zookeeper_does() {
    let work = tempfile::tempdir().expect("tempdir");
    let mut zk = ZooKeeperServer::start_with(&[
        "-Dzookeeper.snapCount=200",
        "-Dzookeeper.snapshot.compression.method=snappy",
    ]);
    let sessions = work.path().join("sessions.json");
    let writer = populate(&zk.addr().to_string(), &sessions, 600);
    zk.stop();
    drop(writer);
    let source = zk.data_dir();
    let snapshot = newest(&source, "snapshot");
    assert!(
        snapshot.to_string_lossy().ends_with(".snappy"),
        "{}",
        snapshot.display()
    );

    // A torn last record: refused with its file and offset, nothing
    // written; accepted when asked, as ZooKeeper drops it.
    let torn = work.path().join("torn");
    copy_dir(&source, &torn);
    let log = newest(&torn, "log");
    let mut bytes = fs::read(&log).expect("log");
    let end = bytes.iter().rposition(|&b| b != 0).expect("records");
    bytes.truncate(end - 2);
    fs::write(&log, &bytes).expect("tear");
    let target = work.path().join("corral-torn");
    let config = corral_config(&target, free_port());
    let e = import(&config, &torn, false).expect_err("a torn tail");
    let name = log.file_name().and_then(|n| n.to_str()).expect("name");
    assert!(
        e.contains(name) && e.contains("torn record at offset"),
        "{e}"
    );
    assert!(
        !target.join("tree").exists() && !target.join("raft").exists(),
        "a failed import wrote data"
    );
    import(&config, &torn, true).expect("the torn record dropped");

    // Every snapshot damaged (cut in half: a flipped byte of a compressed
    // stream can decode to the same bytes): a clear error, naming why.
    let broken = work.path().join("broken");
    copy_dir(&source, &broken);
    for (p, _) in contents(&broken) {
        if p.to_string_lossy().contains("snapshot.") {
            let b = fs::read(&p).expect("snapshot");
            fs::write(&p, &b[..b.len() / 2]).expect("damage");
        }
    }
    let e = import(
        &corral_config(&work.path().join("corral-broken"), free_port()),
        &broken,
        false,
    )
    .expect_err("no valid snapshot");
    assert!(
        e.contains("no valid snapshot") && e.contains("offset"),
        "{e}"
    );

    // The newest snapshot damaged: skipped for the one before it, as
    // ZooKeeper does; the result equals what ZooKeeper serves from the
    // same damaged directory.
    let older = work.path().join("older");
    copy_dir(&source, &older);
    let newest_snapshot = newest(&older, "snapshot");
    let b = fs::read(&newest_snapshot).expect("snapshot");
    fs::write(&newest_snapshot, &b[..b.len() / 2]).expect("damage");
    let port = free_port();
    let config = corral_config(&work.path().join("corral-older"), port);
    let report = import(&config, &older, false).expect("falls back to an older snapshot");
    assert!(report.nodes > 600, "{report:?}");
    let corral = CorralServer::start_with(config, port);
    let ours = dump(
        &corral.addr().to_string(),
        work.path(),
        "corral-older.jsonl",
    );
    let data_dir = format!("dataDir={}", older.display());
    let zk2 = ZooKeeperServer::start_with(&[data_dir.as_str()]);
    assert!(
        zk2.log().contains("problem reading snap file"),
        "ZooKeeper did not skip the damaged snapshot"
    );
    let theirs = dump(
        &zk2.addr().to_string(),
        work.path(),
        "zookeeper-older.jsonl",
    );
    assert!(
        theirs == ours,
        "the import differs: {}",
        differences(&theirs, &ours)
    );
}

/// The highest `Zxid` any member reports in `srvr`.
fn ensemble_zxid(zk: &compat_tests::ZooKeeperEnsemble) -> i64 {
    zk.members
        .iter()
        .filter_map(|m| compat_tests::four_letter(m.addr(), "srvr").ok())
        .filter_map(|a| {
            a.lines()
                .find_map(|l| l.strip_prefix("Zxid: 0x"))
                .and_then(|h| i64::from_str_radix(h.trim(), 16).ok())
        })
        .max()
        .unwrap_or(0)
}

/// `corral migrate follow --cutover` on a thread of this process: `zk`
/// followed as observer 4 (the line the ensemble was started with), the
/// cut-over checked against the members' own files.
fn follow_in_thread(
    zk: &compat_tests::ZooKeeperEnsemble,
    config: &server::Config,
    gone_after_ms: u64,
) -> std::thread::JoinHandle<Result<String, String>> {
    let args = server::migrate::FollowArgs {
        zookeeper: zk.voter_lines(),
        observer_id: 4,
        cutover: true,
        verify_against: zk.members.iter().map(ZooKeeperServer::data_dir).collect(),
        gone_after_ms,
        serve: false,
    };
    let config = config.clone();
    std::thread::spawn(move || server::migrate::follow(&config, &args))
}

/// A 3-member reference ensemble that lists an observer, server 4.
fn ensemble_with_an_observer() -> compat_tests::ZooKeeperEnsemble {
    let line = format!(
        "server.4=127.0.0.1:{}:{}:observer",
        free_port(),
        free_port()
    );
    compat_tests::ZooKeeperEnsemble::start_with(3, &[line.as_str()])
}

#[test]
fn a_corral_observer_follows_a_zookeeper_ensemble_and_cuts_over() {
    let work = tempfile::tempdir().expect("tempdir");
    let mut zk = ensemble_with_an_observer();
    let hosts = zk.connect_string();
    // Written before the observer comes: it gets them in its sync.
    let sessions = work.path().join("sessions.json");
    let writer = populate(&hosts, &sessions, 400);

    let port = free_port();
    let config = corral_config(&work.path().join("corral"), port);
    let follower = follow_in_thread(&zk, &config, 2000);
    let status = || server::migrate::status(&config).unwrap_or_default();
    compat_tests::poll_until(Duration::from_secs(60), || {
        status().contains("\"synced\": true").then_some(())
    })
    .unwrap_or_else(|| panic!("the observer never synced: {}", status()));
    // Written while it follows: INFORM packets.
    kazoo(&["write", &hosts, "during", "300"]);
    let target = ensemble_zxid(&zk);
    let want = format!("\"last_zxid\": \"{target:#x}\"");
    compat_tests::poll_until(Duration::from_secs(60), || {
        status().contains(&want).then_some(())
    })
    .unwrap_or_else(|| panic!("the observer did not reach {target:#x}: {}", status()));
    let followed = status();
    assert!(followed.contains("\"lag_zxids\": 0"), "{followed}");
    assert!(
        followed.contains("\"last_sync\": \"SNAP\"")
            || followed.contains("\"last_sync\": \"DIFF\""),
        "{followed}"
    );
    let applied: u64 = followed
        .split("\"applied\": ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(
        applied >= 300,
        "the writes while following came as transactions: {followed}"
    );

    // The cut-over: ZooKeeper stops; the observer checks and hands over.
    for m in &mut zk.members {
        m.stop();
    }
    drop(writer);
    let done = follower
        .join()
        .expect("the follower thread")
        .expect("cut over");
    assert!(done.contains(&format!("{target:#x}")), "{done}");

    let corral = CorralServer::start_with(config.clone(), port);
    let ours = dump(&corral.addr().to_string(), work.path(), "corral.jsonl");
    for m in &mut zk.members {
        m.start_again();
    }
    compat_tests::poll_until(Duration::from_secs(90), || {
        zk.modes().iter().all(|m| m != "not serving").then_some(())
    })
    .expect("ZooKeeper up again on its files");
    let theirs = dump(&hosts, work.path(), "zookeeper.jsonl");
    assert!(
        theirs == ours,
        "the observer's tree differs: {}",
        differences(&theirs, &ours)
    );
    let resumed = kazoo(&[
        "resume",
        &corral.addr().to_string(),
        sessions.to_str().expect("utf-8"),
    ]);
    let ok = resumed.lines().filter(|l| l.starts_with("ok ")).count();
    assert_eq!(ok, 5, "{resumed}");
}

/// The observer's status once it is synced with the leader.
fn wait_synced(config: &server::Config) -> String {
    let status = || server::migrate::status(config).unwrap_or_default();
    compat_tests::poll_until(Duration::from_secs(60), || {
        let s = status();
        s.contains("\"synced\": true").then_some(s)
    })
    .unwrap_or_else(|| panic!("the observer never synced: {}", status()))
}

/// The observer's status once it holds the ensemble's last zxid.
fn wait_caught_up(zk: &compat_tests::ZooKeeperEnsemble, config: &server::Config) -> String {
    let target = ensemble_zxid(zk);
    let want = format!("\"last_zxid\": \"{target:#x}\"");
    let status = || server::migrate::status(config).unwrap_or_default();
    compat_tests::poll_until(Duration::from_secs(60), || {
        let s = status();
        s.contains(&want).then_some(s)
    })
    .unwrap_or_else(|| panic!("the observer did not reach {target:#x}: {}", status()))
}

/// Reads every node from the ensemble, stops it, lets the observer of
/// `config` (on `follower`'s thread) cut over, and serves its directory on
/// `port`: the cut-over reached the ensemble's last zxid and the tree
/// served equals the one read.
fn cut_over_and_compare(
    zk: &mut compat_tests::ZooKeeperEnsemble,
    follower: std::thread::JoinHandle<Result<String, String>>,
    config: &server::Config,
    port: u16,
    work: &Path,
) -> CorralServer {
    let theirs = dump(&zk.connect_string(), work, "zookeeper.jsonl");
    // The dump's own session is transactions too: the last zxid is now.
    let last = ensemble_zxid(zk);
    for m in &mut zk.members {
        m.stop();
    }
    let done = follower
        .join()
        .expect("the follower thread")
        .expect("cut over");
    assert!(done.contains(&format!("{last:#x}")), "{done}");
    let served = CorralServer::start_with(config.clone(), port);
    let ours = dump(&served.addr().to_string(), work, "corral.jsonl");
    assert!(
        theirs == ours,
        "the observer's tree differs: {}",
        differences(&theirs, &ours)
    );
    served
}

/// An observer that no configuration file lists: ZooKeeper's own
/// `reconfig` adds `server.4` as an observer to a running ensemble (as the
/// super user), and only then does Corral join as it, sync, follow a
/// second reconfig (an INFORMANDACTIVATE) and the writes on one
/// connection, and cut over with the ensemble's tree.
#[test]
fn an_observer_added_by_zookeepers_reconfig_follows_and_cuts_over() {
    let work = tempfile::tempdir().expect("tempdir");
    let mut zk = compat_tests::ZooKeeperEnsemble::start_with(
        3,
        &[
            "reconfigEnabled=true",
            "DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=",
        ],
    );
    let hosts = zk.connect_string();
    kazoo(&["write", &hosts, "before", "100"]);
    let joining = format!(
        "server.4=127.0.0.1:{}:{}:observer;127.0.0.1:{}",
        free_port(),
        free_port(),
        free_port()
    );
    let config = kazoo(&["reconfig", &hosts, &joining]);
    assert!(
        config
            .lines()
            .any(|l| l.starts_with("server.4=") && l.contains(":observer")),
        "the reconfig's answer lists no observer 4: {config}"
    );

    let port = free_port();
    let corral = corral_config(&work.path().join("corral"), port);
    let follower = follow_in_thread(&zk, &corral, 2000);
    let synced = wait_synced(&corral);
    let counts = |text: &str| {
        let v: serde_json::Value = serde_json::from_str(text).expect("the status is JSON");
        let zxid = v["last_zxid"]
            .as_str()
            .and_then(|h| i64::from_str_radix(h.trim_start_matches("0x"), 16).ok())
            .expect("last_zxid");
        (zxid, v["applied"].as_i64().expect("applied"))
    };
    let (synced_at, applied_before) = counts(&synced);
    // A reconfig while it follows comes as INFORMANDACTIVATE.
    let another = format!(
        "server.5=127.0.0.1:{}:{}:observer;127.0.0.1:{}",
        free_port(),
        free_port(),
        free_port()
    );
    kazoo(&["reconfig", &hosts, &another]);
    kazoo(&["write", &hosts, "after", "200"]);
    let followed = wait_caught_up(&zk, &corral);
    assert!(
        followed.contains("\"connections\": 1,") && followed.contains("\"digest_mismatches\": 0"),
        "the observer followed both reconfigs on one connection, every digest matching: {followed}"
    );
    // Every transaction since the sync was applied, the reconfig's too
    // (zxids of one epoch count up by one).
    let (reached, applied_after) = counts(&followed);
    assert_eq!(
        applied_after - applied_before,
        reached - synced_at,
        "transactions applied while following, against zxids passed: {followed}"
    );
    let served = cut_over_and_compare(&mut zk, follower, &corral, port, work.path());
    // Corral serves writes on it: ZooKeeper's reconfigured membership,
    // in the tree it cut over with, is not taken for Corral's own.
    kazoo(&["write", &served.addr().to_string(), "corral", "20"]);
}

/// `sslQuorum=true`: the ensemble's members speak TLS to each other, and
/// the observer dials the leader's quorum port with TLS too, with a
/// member certificate the ensemble's trust store vouches for. One from
/// another authority is refused and never syncs.
#[test]
fn an_observer_follows_an_ensemble_over_quorum_tls() {
    let work = tempfile::tempdir().expect("tempdir");
    let d = work.path();
    let member = |ca: &str, name: &str| {
        compat_tests::certs::cert(d, ca, name, compat_tests::certs::Usage::Member);
    };
    member("ca", "member");
    member("stranger-ca", "stranger");
    let store = |name: &str| d.join(format!("{name}-keystore.pem"));
    let observer = format!(
        "server.4=127.0.0.1:{}:{}:observer",
        free_port(),
        free_port()
    );
    let lines = [
        "sslQuorum=true".to_owned(),
        format!("ssl.quorum.keyStore.location={}", store("member").display()),
        "ssl.quorum.keyStore.type=PEM".to_owned(),
        format!(
            "ssl.quorum.trustStore.location={}",
            d.join("ca.pem").display()
        ),
        "ssl.quorum.trustStore.type=PEM".to_owned(),
        observer,
    ];
    let mut zk = compat_tests::ZooKeeperEnsemble::start_with(
        3,
        &lines.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let hosts = zk.connect_string();
    kazoo(&["write", &hosts, "before", "100"]);
    let tls_config = |dir: &Path, key: &str| {
        let mut c = corral_config(dir, free_port());
        c.ssl_quorum = true;
        c.quorum_ssl = server::SslConfig {
            key_store: Some(store(key)),
            key_store_type: Some("PEM".into()),
            trust_store: Some(d.join("ca.pem")),
            trust_store_type: Some("PEM".into()),
            ..Default::default()
        };
        c
    };

    // A certificate the ensemble does not trust: no sync, the reason kept.
    let stranger = tls_config(&d.join("stranger"), "stranger");
    let args = server::migrate::FollowArgs {
        zookeeper: zk.voter_lines(),
        observer_id: 4,
        cutover: false,
        verify_against: Vec::new(),
        gone_after_ms: 2000,
        serve: false,
    };
    let refused = {
        let (config, args) = (stranger.clone(), args.clone());
        std::thread::spawn(move || {
            let status = std::sync::Arc::new(std::sync::Mutex::new(Default::default()));
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let s = status.clone();
            let stopper = stop.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(8));
                stopper.store(true, std::sync::atomic::Ordering::Relaxed);
            });
            let outcome = server::migrate::follow_with(&config, &args, &s, &stop);
            let status: consensus::zab::Status = status.lock().expect("status").clone();
            (outcome, status)
        })
    };
    let (outcome, status) = refused.join().expect("the stranger's thread");
    assert!(outcome.is_err(), "a stranger synced: {outcome:?}");
    assert!(!status.synced, "{status:?}");

    let port = free_port();
    let mut corral = tls_config(&work.path().join("corral"), "member");
    corral.client_addr.set_port(port);
    let follower = follow_in_thread(&zk, &corral, 2000);
    wait_synced(&corral);
    kazoo(&["write", &hosts, "after", "200"]);
    wait_caught_up(&zk, &corral);
    cut_over_and_compare(&mut zk, follower, &corral, port, work.path());
}

#[test]
fn curator_keeps_its_lock_latch_and_cache_across_the_cutover() {
    let work = tempfile::tempdir().expect("tempdir");
    let mut zk = ensemble_with_an_observer();
    // `--serve`: the observer answers on Corral's client address and
    // AdminServer while it follows, and serves clients there after the
    // cut-over, in the same process.
    let port = free_port();
    let admin = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut config = corral_config(&work.path().join("corral"), port);
    config.admin_addr = Some(admin);
    config.four_letter_whitelist = None;
    let args = server::migrate::FollowArgs {
        zookeeper: zk.voter_lines(),
        observer_id: 4,
        cutover: true,
        verify_against: zk.members.iter().map(ZooKeeperServer::data_dir).collect(),
        gone_after_ms: 1500,
        serve: true,
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    let observer = {
        let (config, shutdown) = (config.clone(), shutdown.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                    .await
                    .expect("bind Corral's client address");
                server::migrate::follow_and_serve(config, args, listener, shutdown).await
            })
        })
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mntr = || compat_tests::four_letter(addr, "mntr").unwrap_or_default();
    compat_tests::poll_until(Duration::from_secs(60), || {
        mntr().contains("zk_migrate_synced\t1").then_some(())
    })
    .unwrap_or_else(|| panic!("the observer never synced: {}", mntr()));
    assert!(mntr().contains("zk_server_state\tobserver"), "{}", mntr());
    let srvr = compat_tests::four_letter(addr, "srvr").expect("srvr");
    assert!(srvr.contains("Mode: observer"), "{srvr}");
    let (code, body) = compat_tests::http_get(admin, "/commands/mntr").expect("AdminServer mntr");
    assert!(
        code == 200
            && body.contains("\"server_state\": \"observer\"")
            && body.contains("\"migrate_lag_zxids\""),
        "{body}"
    );
    let (code, body) =
        compat_tests::http_get(admin, "/commands/migration").expect("AdminServer migration");
    assert!(code == 200 && body.contains("\"synced\": true"), "{body}");

    // The clients know ZooKeeper's servers and Corral's address.
    let connect = format!("{},127.0.0.1:{port}", zk.connect_string());
    let mut java = Conversation::start(
        compat_tests::suites::java_program("CuratorCutover.java", &[], &[&connect]),
        "CuratorCutover",
    );
    java.expect("ready", Duration::from_secs(120), |l| {
        l == "ready" || l.starts_with("FAILED")
    })
    .expect("Curator set up on ZooKeeper");
    // MIGRATE_FOLLOW_SECS: how long the observer follows under the load
    // before the cut-over (2 s in the test command; docs/migration.md
    // records a run of 60).
    let secs = std::env::var("MIGRATE_FOLLOW_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    std::thread::sleep(Duration::from_secs(secs));
    println!("{}", mntr());

    // The cut-over: ZooKeeper stops under load; the observer checks, writes
    // the state and serves it on the same address.
    for m in &mut zk.members {
        m.stop();
    }
    compat_tests::poll_until(Duration::from_secs(60), || {
        compat_tests::four_letter(addr, "srvr")
            .ok()
            .filter(|a| a.contains("Mode: standalone"))
    })
    .unwrap_or_else(|| {
        panic!(
            "Corral never served after the cut-over: {}",
            server::migrate::status(&config).unwrap_or_default()
        )
    });
    java.send("stop").expect("tell CuratorCutover to stop");
    let verdict = java
        .expect("\"ok cutover\"", Duration::from_secs(120), |l| {
            l.starts_with("ok cutover") || l.starts_with("FAILED")
        })
        .unwrap_or_else(|m| panic!("CuratorCutover: {m}"));
    let last = verdict.last().cloned().unwrap_or_default();
    println!("CuratorCutover: {last}");
    assert!(
        last.starts_with("ok cutover"),
        "{}",
        java.transcript.join("\n")
    );
    shutdown.cancel();
    let cut = observer
        .join()
        .expect("the observer's thread")
        .expect("cut over and served");
    println!("{cut}");
}
