//! Dynamic reconfiguration (`reconfigEnabled=true`), on a 3-member Corral
//! ensemble and a 3-member reference ZooKeeper 3.8 ensemble, the same
//! steps and the same answers on each:
//!
//! - kazoo's own `TestReconfig` cases (no super user: NOAUTH; an observer
//!   added and removed; a future `from_config`: BADVERSION; a bad server
//!   string: BADARGUMENTS) and a `getConfig` watch that fires on a change;
//! - the errors of a server without `reconfigEnabled` (RECONFIGDISABLED).

use std::process::Command;
use std::time::Duration;

use compat_tests::{
    CorralEnsemble, PYTHON, Target, ZooKeeperEnsemble, clients_dir, free_port, require_kazoo,
    run_with_timeout,
};

/// `super:test`, kazoo's tests' super user.
const SUPER_DIGEST: &str = "super:D/InIHSb7yEEbrWz8b9l71RjZJU=";

/// A Corral ensemble of `n` with `reconfigEnabled` and the super user,
/// then `tweak`.
fn corral(n: u64, tweak: impl Fn(&mut server::Config)) -> CorralEnsemble {
    CorralEnsemble::start_with(n, |c| {
        c.reconfig_enabled = true;
        c.super_digest = Some(SUPER_DIGEST.into());
        tweak(c);
    })
}

/// The reference ensemble of `n`, configured as [`corral`]'s, plus `extra`.
fn zookeeper(n: u64, extra: &[&str]) -> ZooKeeperEnsemble {
    let digest = format!("DigestAuthenticationProvider.superDigest={SUPER_DIGEST}");
    let mut cfg = vec!["reconfigEnabled=true", digest.as_str()];
    cfg.extend_from_slice(extra);
    ZooKeeperEnsemble::start_with(n, &cfg)
}

fn kazoo_reconfig(what: &str, hosts: &str) -> String {
    require_kazoo();
    let mut cmd = Command::new(PYTHON);
    cmd.arg(clients_dir().join("kazoo_reconfig.py"))
        .arg(hosts)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let run = run_with_timeout(cmd, b"", Duration::from_secs(260));
    assert!(run.success(), "{what}: {}", run.transcript());
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("ok ") || l.starts_with("FAIL ") || *l == "done")
        .collect();
    lines.join("\n")
}

const ALL_OK: &str = "ok test_no_super_auth\nok test_add_remove_observer\nok test_bad_input\nok test_leaving_not_a_number\nok test_config_watch\ndone";

#[test]
fn kazoo_reconfig_cases_on_corral_and_zookeeper() {
    let corral = corral(3, |_| {});
    let ours = kazoo_reconfig("Corral", &corral.connect_string());
    drop(corral);
    let zk = zookeeper(3, &[]);
    let theirs = kazoo_reconfig("ZooKeeper", &zk.connect_string());
    assert_eq!(theirs, ALL_OK, "the reference ZooKeeper");
    assert_eq!(ours, theirs, "Corral and ZooKeeper 3.8 differ");
}

/// Grown from 3 to 5 and shrunk to 3 (the leader among the removed)
/// under a steady writer, on Corral and on ZooKeeper 3.8: nothing
/// acknowledged is lost, the writer's session survives, and Corral's
/// longest pause between acknowledgements stays under 2 s (reported
/// beside ZooKeeper's).
#[test]
fn grow_and_shrink_under_load_on_corral_and_zookeeper() {
    let mut corral = corral(3, |_| {});
    let ours = compat_tests::membership::grow_and_shrink(&mut corral);
    drop(corral);
    let mut zk = zookeeper(3, &[]);
    let theirs = compat_tests::membership::grow_and_shrink(&mut zk);
    drop(zk);
    eprintln!("Corral:        {ours:?}\nZooKeeper 3.8: {theirs:?}");
    eprintln!(
        "longest pause between acknowledgements: Corral {:?}, ZooKeeper 3.8 {:?}",
        ours.longest_pause, theirs.longest_pause
    );
    for (what, r) in [("Corral", &ours), ("ZooKeeper 3.8", &theirs)] {
        assert!(r.acked > 100, "{what}: the writer hardly wrote: {r:?}");
        assert!(
            r.lost.iter().all(|(_, n)| *n == 0),
            "{what} lost writes: {r:?}"
        );
        assert!(r.session_kept, "{what}: the writer's session ended: {r:?}");
        assert_eq!(
            r.final_config.matches(":participant").count(),
            3,
            "{what}: {r:?}"
        );
    }
    // A removed member says so in `srvr` (ZooKeeper 3.8's removed
    // followers still say "follower" until they notice; reported above).
    assert!(
        ours.removed_modes.iter().all(|m| m == "not serving"),
        "Corral's removed members: {:?}",
        ours.removed_modes
    );
    assert!(
        ours.longest_pause < Duration::from_secs(2),
        "Corral paused its writer for {:?}: {ours:?}",
        ours.longest_pause
    );
}

fn curator_reconfig(what: &str, connect: &str) -> String {
    let observer = format!(
        "server.100=127.0.0.1:{}:{}:observer;127.0.0.1:{}",
        free_port(),
        free_port(),
        free_port()
    );
    let cmd =
        compat_tests::suites::java_program("CuratorReconfig.java", &[], &[connect, &observer]);
    let run = run_with_timeout(cmd, b"", Duration::from_secs(180));
    assert!(run.success(), "{what}: {}", run.transcript());
    run.stdout
        .lines()
        .filter(|l| l.starts_with("ok ") || l.starts_with("FAILED") || *l == "done")
        .collect::<Vec<_>>()
        .join("\n")
}

/// Curator's `reconfig()` (joining, leaving, `withNewMembers`,
/// `fromConfig`) and `getConfig()` with a watcher, a client without the
/// super user, and `updateServerList`, on Corral and on ZooKeeper 3.8.
#[test]
fn curator_reconfig_on_corral_and_zookeeper() {
    let corral = corral(3, |_| {});
    let ours = curator_reconfig("Corral", &corral.connect_string());
    drop(corral);
    let zk = zookeeper(3, &[]);
    let theirs = curator_reconfig("ZooKeeper", &zk.connect_string());
    assert!(
        theirs.ends_with("done"),
        "the reference ZooKeeper:\n{theirs}"
    );
    assert_eq!(ours, theirs, "Corral and ZooKeeper 3.8 differ");
}

/// A zkCli line with what differs between runs masked: ports in server
/// lines, configuration versions.
fn mask_config_line(l: &str) -> String {
    if let Some((k, v)) = l.split_once('=')
        && k.starts_with("server.")
    {
        let role = if v.contains(":observer") {
            "observer"
        } else {
            "participant"
        };
        return format!("{k}=<addr>:{role}");
    }
    if l.starts_with("version=") {
        return "version=<version>".into();
    }
    l.to_owned()
}

/// zkCli's `config` and `reconfig -add`/`-remove`/`-members`/`-v`, with
/// and without the super user, on `addr`; what it printed, masked.
fn zkcli_reconfig(addr: std::net::SocketAddr) -> Vec<String> {
    let first = compat_tests::suites::zkcli_run_script(addr, "config\nquit\n");
    assert!(first.success(), "zkCli config:\n{}", first.transcript());
    let members: Vec<&str> = first
        .stdout
        .lines()
        .filter(|l| l.starts_with("server."))
        .collect();
    assert_eq!(members.len(), 3, "{}", first.transcript());
    let observer = format!(
        "server.100=127.0.0.1:{}:{}:observer;127.0.0.1:{}",
        free_port(),
        free_port(),
        free_port()
    );
    let script = format!(
        "reconfig -remove 100\n\
         addauth digest super:test\n\
         reconfig -add {observer}\n\
         reconfig -remove 100\n\
         reconfig -members {}\n\
         reconfig -v 1 -remove 100\n\
         config\n\
         quit\n",
        members.join(",")
    );
    let run = compat_tests::suites::zkcli_run_script(addr, &script);
    assert!(run.success(), "zkCli reconfig:\n{}", run.transcript());
    let t = compat_tests::suites::zkcli_transcript(&run, addr.port());
    t.out
        .iter()
        .chain(t.err.iter())
        .filter(|l| !l.is_empty() && !l.starts_with("Connecting") && !l.starts_with("Welcome"))
        .filter(|l| !l.starts_with("JLine") && !l.starts_with("WATCHER"))
        .map(|l| mask_config_line(l))
        .collect()
}

/// zkCli.sh's `reconfig` and `config` on Corral and ZooKeeper 3.8: the
/// same output, ports and versions masked.
#[test]
fn zkcli_reconfig_on_corral_and_zookeeper() {
    let corral = corral(3, |_| {});
    let ours = zkcli_reconfig(corral.addrs()[1]);
    drop(corral);
    let zk = zookeeper(3, &[]);
    let theirs = zkcli_reconfig(zk.members[1].addr());
    println!("zkCli against ZooKeeper:\n{}", theirs.join("\n"));
    assert!(
        theirs
            .iter()
            .any(|l| l.starts_with("Committed new configuration")),
        "{theirs:?}"
    );
    assert_eq!(ours, theirs, "Corral and ZooKeeper 3.8 differ");
}

/// An observer added by `reconfig`, promoted to a participant and demoted
/// back, on Corral and on ZooKeeper 3.8: the same steps seen.
#[test]
fn observer_promoted_and_demoted_on_corral_and_zookeeper() {
    let mut corral = corral(3, |_| {});
    let ours = compat_tests::membership::observer_promotion(&mut corral);
    drop(corral);
    let mut zk = zookeeper(3, &[]);
    let theirs = compat_tests::membership::observer_promotion(&mut zk);
    drop(zk);
    println!("Corral: {ours:#?}\nZooKeeper 3.8: {theirs:#?}");
    assert_eq!(theirs[1], "srvr: observer", "{theirs:?}");
    assert_eq!(ours, theirs, "Corral and ZooKeeper 3.8 differ");
}

/// `standaloneEnabled=false`: one server is a one-member ensemble that
/// `reconfig` grows to three, on Corral and on ZooKeeper 3.8.
#[test]
fn a_one_member_ensemble_grows_on_corral_and_zookeeper() {
    let mut corral = corral(1, |c| c.standalone_enabled = false);
    let ours = compat_tests::membership::grow_from_one(&mut corral);
    drop(corral);
    let mut zk = zookeeper(1, &["standaloneEnabled=false"]);
    let theirs = compat_tests::membership::grow_from_one(&mut zk);
    drop(zk);
    println!("Corral: {ours:?}\nZooKeeper 3.8: {theirs:?}");
    assert_eq!(
        theirs.first().map(String::as_str),
        Some("alone: leader"),
        "{theirs:?}"
    );
    assert_eq!(ours, theirs, "Corral and ZooKeeper 3.8 differ");
}

/// Four participants that do not run, added to three: the new
/// configuration would have no synced majority, so NEWCONFIGNOQUORUM and
/// nothing changes; what the client saw.
fn no_quorum(connect: &str) -> (Result<(), String>, usize) {
    use zookeeper_client as zk;
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(async {
        let c = zk::Client::connector()
            .with_session_timeout(Duration::from_secs(15))
            .with_auth("digest", b"super:test")
            .connect(connect)
            .await
            .expect("connect");
        let joining: Vec<String> = (11..=14)
            .map(|id| {
                format!(
                    "server.{id}=127.0.0.1:{}:{}:participant;127.0.0.1:{}",
                    free_port(),
                    free_port(),
                    free_port()
                )
            })
            .collect();
        let none: Vec<String> = Vec::new();
        let update = zookeeper_client::EnsembleUpdate::Incremental {
            joinings: joining.iter().map(String::as_str),
            leavings: none.iter().map(String::as_str),
        };
        let r = tokio::time::timeout(Duration::from_secs(60), c.update_ensemble(update, None))
            .await
            .expect("an answer in time");
        let (config, _) = c.get_config().await.expect("getConfig");
        let members = String::from_utf8_lossy(&config).matches("server.").count();
        (r.map(|_| ()).map_err(|e| e.to_string()), members)
    })
}

/// NEWCONFIGNOQUORUM on Corral and on ZooKeeper 3.8 (Corral waits
/// `initLimit` ticks for the new participants to catch up first: 2 here).
#[test]
fn a_new_configuration_without_a_quorum_is_refused_on_corral_and_zookeeper() {
    let corral = corral(3, |c| c.init_limit = 2);
    let ours = no_quorum(&corral.connect_string());
    drop(corral);
    let zk = zookeeper(3, &[]);
    let theirs = no_quorum(&zk.connect_string());
    println!("Corral {ours:?}, ZooKeeper 3.8 {theirs:?}");
    assert_eq!(
        theirs,
        (Err("unexpected error code: -13".into()), 3),
        "the reference"
    );
    assert_eq!(ours, theirs, "Corral and ZooKeeper 3.8 differ");
}

/// One change at a time: while a `reconfig` waits for a new participant
/// that does not run to catch up (up to `initLimit` ticks), a second one
/// is RECONFIGINPROGRESS (-14). Corral only: ZooKeeper's answers without
/// waiting, so it cannot be caught in the middle this way.
#[test]
fn a_second_reconfig_while_one_runs_is_reconfig_in_progress() {
    use zookeeper_client as zk;
    let corral = corral(3, |c| c.init_limit = 3);
    let connect = corral.connect_string();
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(async {
        let client = || async {
            zk::Client::connector()
                .with_session_timeout(Duration::from_secs(20))
                .with_auth("digest", b"super:test")
                .connect(&connect)
                .await
                .expect("connect")
        };
        let (first, second) = (client().await, client().await);
        let line = |id: u64| {
            format!(
                "server.{id}=127.0.0.1:{}:{}:participant;127.0.0.1:{}",
                free_port(),
                free_port(),
                free_port()
            )
        };
        let (a, b) = (line(21), line(22));
        let slow = tokio::spawn(async move {
            let (joining, none) = (vec![a], Vec::<String>::new());
            first
                .update_ensemble(
                    zk::EnsembleUpdate::Incremental {
                        joinings: joining.iter().map(String::as_str),
                        leavings: none.iter().map(String::as_str),
                    },
                    None,
                )
                .await
        });
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let (joining, none) = (vec![b], Vec::<String>::new());
        let r = second
            .update_ensemble(
                zk::EnsembleUpdate::Incremental {
                    joinings: joining.iter().map(String::as_str),
                    leavings: none.iter().map(String::as_str),
                },
                None,
            )
            .await;
        assert_eq!(
            r.map(|_| ()).map_err(|e| e.to_string()),
            Err("unexpected error code: -14".into())
        );
        // The first goes through: four voters, three of them synced.
        let (config, _) = slow.await.expect("the first reconfig").expect("committed");
        assert!(String::from_utf8_lossy(&config).contains("server.21="));
    });
}
