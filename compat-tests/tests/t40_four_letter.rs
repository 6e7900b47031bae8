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
