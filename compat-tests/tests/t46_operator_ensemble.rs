//! The operator surface of a 3-member Corral ensemble against a 3-member
//! reference ZooKeeper 3.8 ensemble, on the leader and on a follower of
//! each: `srvr` line by line (keys and value kinds), `conf` keys in order,
//! `mntr` keys (each of Corral's is ZooKeeper's, with the same kind of
//! value; the quorum keys are there and agree), and the AdminServer's
//! commands key by key (the same JSON shape).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::thread;

use compat_tests::{
    CorralEnsemble, ZooKeeperEnsemble, admin_command, assert_monitor_subset, four_letter,
    json_shape, line_shape,
};

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
        assert_monitor_subset(
            &admin_command(c_admin, "monitor"),
            &admin_command(z_admin, "monitor"),
            role,
        );
    }
}
