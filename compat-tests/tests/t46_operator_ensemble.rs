//! The operator surface of a 3-member Corral ensemble against a 3-member
//! reference ZooKeeper 3.8 ensemble, on the leader and on a follower of
//! each: `srvr` line by line (keys and value kinds), `conf` keys in order,
//! `mntr` keys (each of Corral's is ZooKeeper's, with the same kind of
//! value; the quorum keys are there and agree), and the AdminServer's
//! commands key by key (the same JSON shape); and `/zookeeper/config`
//! as zkCli's `config` and `get -s` show it on every member (the same
//! lines and Stat, ports, times and zxids masked).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::thread;

use compat_tests::{
    CorralEnsemble, Target, ZooKeeperEnsemble, admin_command, assert_monitor_subset, four_letter,
    json_shape, line_shape, suites,
};

/// zkCli's `config` and `get -s /zookeeper/config` on `addr`, with ports
/// and times masked (zxids stay: a static configuration's are 0).
fn config_transcript(addr: SocketAddr) -> Vec<String> {
    let run = suites::zkcli_run_script(addr, "config\nget -s /zookeeper/config\nquit\n");
    assert!(
        run.success(),
        "zkCli config on {addr}:\n{}",
        run.transcript()
    );
    let t = suites::zkcli_transcript(&run, addr.port());
    t.out
        .iter()
        .filter(|l| !l.is_empty() && !l.starts_with("Connecting") && !l.starts_with("Welcome"))
        .filter(|l| !l.starts_with("JLine"))
        .map(|l| {
            // server.N=127.0.0.1:<quorum>:<election>:participant
            match l.split_once('=') {
                Some((k, v)) if k.starts_with("server.") => {
                    let parts: Vec<&str> = v.split(':').collect();
                    format!(
                        "{k}={}:<port>:<port>:{}",
                        parts.first().copied().unwrap_or(""),
                        parts.last().copied().unwrap_or("")
                    )
                }
                _ => l.clone(),
            }
        })
        .collect()
}

fn conf_keys(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_once('=').map_or(l, |(k, _)| k).to_owned())
        .collect()
}

fn mntr(addr: SocketAddr) -> BTreeMap<String, String> {
    four_letter(addr, "mntr")
        .expect("mntr")
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn word(addr: SocketAddr, w: &str) -> String {
    four_letter(addr, w).unwrap_or_else(|e| panic!("{w} on {addr}: {e}"))
}

#[test]
fn ensemble_operator_surface_matches_zookeepers() {
    let reference = thread::spawn(|| ZooKeeperEnsemble::start(3));
    let corral = CorralEnsemble::start(3);
    let zk = reference.join().expect("the reference ensemble");

    let zk_modes = zk.modes();
    let c_modes = corral.modes();
    println!("ZooKeeper {zk_modes:?}, Corral {c_modes:?}");
    let pos = |modes: &[String], m: &str| {
        modes
            .iter()
            .position(|x| x == m)
            .unwrap_or_else(|| panic!("no {m} in {modes:?}"))
    };
    let addrs = corral.addrs();
    for role in ["leader", "follower"] {
        let (ci, zi) = (pos(&c_modes, role), pos(&zk_modes, role));
        let (c, z) = (addrs[ci], zk.members[zi].addr());
        let (c_admin, z_admin) = (corral.admin[ci], zk.admin[zi]);

        let (ours, theirs) = (word(c, "srvr"), word(z, "srvr"));
        println!("{role} srvr:\n{ours}\n--- ZooKeeper:\n{theirs}");
        assert_eq!(line_shape(&ours), line_shape(&theirs), "{role}: srvr");
        assert!(
            ours.contains(&format!("\nMode: {role}\n")),
            "{role}: {ours}"
        );

        let (ours, theirs) = (word(c, "conf"), word(z, "conf"));
        println!("{role} conf:\n{ours}\n--- ZooKeeper:\n{theirs}");
        assert_eq!(conf_keys(&ours), conf_keys(&theirs), "{role}: conf");

        let (ours, theirs) = (mntr(c), mntr(z));
        for (k, v) in &ours {
            let t = theirs
                .get(k)
                .unwrap_or_else(|| panic!("{role}: {k} is not one of ZooKeeper's mntr keys"));
            let numeric = |s: &str| s.parse::<f64>().is_ok();
            assert_eq!(numeric(v), numeric(t), "{role} mntr {k}: {v:?} vs {t:?}");
        }
        let mut agree = vec!["zk_server_state", "zk_peer_state", "zk_quorum_size"];
        if role == "leader" {
            agree.extend(["zk_learners", "zk_synced_followers", "zk_synced_observers"]);
        }
        for k in agree {
            assert_eq!(ours.get(k), theirs.get(k), "{role} mntr {k}");
        }

        for name in [
            "server_stats",
            "stats",
            "configuration",
            "leader",
            "voting_view",
            "watch_summary",
            "is_read_only",
            "connections",
            "ruok",
            "zabstate",
            "observers",
            "last_snapshot",
        ] {
            let (a, b) = (admin_command(c_admin, name), admin_command(z_admin, name));
            println!("{role} {name}:\n  Corral    {a}\n  ZooKeeper {b}");
            assert_eq!(
                json_shape(&a, false),
                json_shape(&b, false),
                "{role} /commands/{name}: Corral {a:#}\nZooKeeper {b:#}"
            );
        }
        let (a, b) = (
            admin_command(c_admin, "leader"),
            admin_command(z_admin, "leader"),
        );
        assert_eq!(a["is_leader"], b["is_leader"], "{role}: leader.is_leader");
        let (a, b) = (
            admin_command(c_admin, "zabstate"),
            admin_command(z_admin, "zabstate"),
        );
        for k in ["is_leader", "voting", "zabstate"] {
            assert_eq!(a[k], b[k], "{role}: zabstate.{k}");
        }
        assert_monitor_subset(
            &admin_command(c_admin, "monitor"),
            &admin_command(z_admin, "monitor"),
            role,
        );
    }

    // /zookeeper/config: the same on every member of both (the leader
    // publishes Corral's once it leads a quorum).
    let theirs = config_transcript(zk.members[0].addr());
    println!("ZooKeeper's /zookeeper/config:\n{}", theirs.join("\n"));
    assert!(
        theirs.iter().any(|l| l == "version=0"),
        "{}",
        theirs.join("\n")
    );
    for (i, addr) in addrs.iter().enumerate() {
        let ours = compat_tests::poll_until(std::time::Duration::from_secs(10), || {
            let t = config_transcript(*addr);
            t.iter().any(|l| l == "version=0").then_some(t)
        })
        .unwrap_or_else(|| config_transcript(*addr));
        let mask_times = |t: &[String]| -> Vec<String> {
            t.iter()
                .filter(|l| !l.starts_with("mtime"))
                .cloned()
                .collect()
        };
        assert_eq!(
            mask_times(&ours),
            mask_times(&theirs),
            "member {i}: /zookeeper/config\nCorral:\n{}\nZooKeeper:\n{}",
            ours.join("\n"),
            theirs.join("\n")
        );
    }
    let _ = zk.members[0].name();
}
