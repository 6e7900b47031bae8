//! Four-letter words against Corral and the reference ZooKeeper 3.8 side by
//! side: the same lines, in the same order, in the same format (values may
//! differ), for the words Corral serves so far.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use compat_tests::{CorralServer, ZooKeeperServer};

fn word(addr: SocketAddr, w: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(w.as_bytes()).expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

/// Each line's key (text before the first `:`), and the shape of its value.
fn shape(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap_or((l, ""));
            let v = v.trim();
            let kind = if v.starts_with("0x") {
                "hex"
            } else if v.split('/').all(|p| p.parse::<f64>().is_ok()) && !v.is_empty() {
                "numbers"
            } else {
                "text"
            };
            (k.to_owned(), kind.to_owned())
        })
        .collect()
}

#[test]
fn ruok_and_srvr_match_zookeeper_line_for_line() {
    let corral = CorralServer::start();
    let zk = ZooKeeperServer::start();
    assert_eq!(word(corral.addr(), "ruok"), word(zk.addr(), "ruok"));
    let ours = word(corral.addr(), "srvr");
    let theirs = word(zk.addr(), "srvr");
    println!("Corral:\n{ours}\nZooKeeper:\n{theirs}");
    assert_eq!(
        shape(&ours),
        shape(&theirs),
        "srvr lines differ in key or format"
    );
    assert!(ours.starts_with("Zookeeper version: 3.8.0-corral-"));
    let count = |t: &str| {
        t.lines()
            .find_map(|l| l.strip_prefix("Node count: ").map(str::to_owned))
    };
    assert_eq!(count(&ours), count(&theirs), "a fresh tree counts alike");
    assert!(ours.contains("\nMode: standalone\n"));
    assert!(ours.ends_with('\n') && theirs.ends_with('\n'));
}

/// `mntr`: every key Corral reports is one ZooKeeper reports, with the
/// same kind of value, and the ones monitoring scripts key on are there.
#[test]
fn mntr_keys_are_zookeepers() {
    let corral = CorralServer::start();
    let zk = ZooKeeperServer::start();
    let parse = |t: &str| -> std::collections::BTreeMap<String, String> {
        t.lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    };
    let ours = parse(&word(corral.addr(), "mntr"));
    let theirs = parse(&word(zk.addr(), "mntr"));
    for (k, v) in &ours {
        let Some(z) = theirs.get(k) else {
            panic!("{k} is not a ZooKeeper mntr key")
        };
        let numeric = |s: &str| s.parse::<f64>().is_ok();
        assert_eq!(numeric(v), numeric(z), "{k}: {v:?} vs ZooKeeper's {z:?}");
    }
    for k in [
        "zk_server_state",
        "zk_znode_count",
        "zk_watch_count",
        "zk_ephemerals_count",
        "zk_approximate_data_size",
        "zk_outstanding_requests",
        "zk_avg_latency",
        "zk_num_alive_connections",
    ] {
        assert!(ours.contains_key(k), "missing {k}");
    }
    assert_eq!(
        ours.get("zk_znode_count"),
        theirs.get("zk_znode_count"),
        "a fresh tree counts alike"
    );
    assert_eq!(
        ours.get("zk_approximate_data_size"),
        theirs.get("zk_approximate_data_size"),
        "a fresh tree's size alike"
    );
    assert_eq!(
        ours.get("zk_server_state").map(String::as_str),
        Some("standalone")
    );
}
