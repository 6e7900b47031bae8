//! Four-letter words against Corral and the reference ZooKeeper 3.8 side by
//! side: the same lines, in the same order, in the same format (values may
//! differ), for every word Corral serves.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use compat_tests::{CorralServer, ZooKeeperServer, line_shape as shape};

fn word(addr: SocketAddr, w: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(w.as_bytes()).expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
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

/// A minimal blocking client: a session, and requests answered in turn.
struct RawClient(TcpStream);

impl RawClient {
    fn connect(addr: SocketAddr) -> RawClient {
        use jute::Encode;
        let s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let req = jute::proto::ConnectRequest {
            time_out: 30_000,
            passwd: bytes::Bytes::from_static(&[0; 16]),
            read_only: Some(false),
            ..Default::default()
        };
        let mut buf = bytes::BytesMut::new();
        req.encode(&mut buf);
        let mut c = RawClient(s);
        c.frame(&buf);
        c.read();
        c
    }

    fn frame(&mut self, body: &[u8]) {
        let len = u32::try_from(body.len()).expect("small").to_be_bytes();
        self.0.write_all(&len).expect("write");
        self.0.write_all(body).expect("write");
    }

    fn read(&mut self) -> Vec<u8> {
        let mut len = [0u8; 4];
        self.0.read_exact(&mut len).expect("length");
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        self.0.read_exact(&mut body).expect("body");
        body
    }

    /// Sends `req` and returns the reply's error code.
    fn call(&mut self, xid: i32, req: jute::Request) -> i32 {
        use jute::Encode;
        let mut buf = bytes::BytesMut::new();
        jute::proto::RequestHeader {
            xid,
            op: req.opcode().into(),
        }
        .encode(&mut buf);
        req.encode(&mut buf);
        self.frame(&buf);
        loop {
            let r = self.read();
            let got = i32::from_be_bytes(r[0..4].try_into().expect("xid"));
            if got == xid {
                return i32::from_be_bytes(r[12..16].try_into().expect("err"));
            }
        }
    }
}

/// The same session-holding clients and watches on a server: one session
/// with a data and an exist watch on /a and a child watch on /.
fn watch_setup(addr: SocketAddr) -> RawClient {
    use jute::Request;
    use jute::proto::*;
    let mut c = RawClient::connect(addr);
    let create = Request::Create(CreateRequest {
        path: "/a".into(),
        data: Some(bytes::Bytes::from_static(b"x")),
        acl: vec![jute::Acl::open()],
        flags: 0,
    });
    assert_eq!(c.call(1, create), 0);
    let get = Request::GetData(GetDataRequest {
        path: "/a".into(),
        watch: true,
    });
    assert_eq!(c.call(2, get), 0);
    let exists = Request::Exists(ExistsRequest {
        path: "/b".into(),
        watch: true,
    });
    assert_eq!(c.call(3, exists), jute::ErrorCode::NoNode as i32);
    let children = Request::GetChildren(GetChildrenRequest {
        path: "/".into(),
        watch: true,
    });
    assert_eq!(c.call(4, children), 0);
    let ephemeral = Request::Create(CreateRequest {
        path: "/e".into(),
        data: None,
        acl: vec![jute::Acl::open()],
        flags: 1,
    });
    assert_eq!(c.call(5, ephemeral), 0);
    c
}

/// Session ids, ports, sizes, paths and times vary between servers; the
/// structure must not.
fn mask(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch == '0' && chars.peek() == Some(&'x') {
            chars.next();
            while chars.peek().is_some_and(char::is_ascii_hexdigit) {
                chars.next();
            }
            out.push_str("0xH");
        } else if ch.is_ascii_digit() {
            while chars
                .peek()
                .is_some_and(|c| c.is_ascii_digit() || *c == '.')
            {
                chars.next();
            }
            out.push('N');
        } else {
            out.push(ch);
        }
    }
    out
}

/// Keys of `key=value` lines.
fn keys(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_once('=').map_or(l, |(k, _)| k).to_owned())
        .collect()
}

#[test]
fn every_served_word_has_zookeepers_shape() {
    let corral = CorralServer::start();
    let zk = ZooKeeperServer::start();
    let _a = watch_setup(corral.addr());
    let _b = watch_setup(zk.addr());
    let both = |w: &str| (word(corral.addr(), w), word(zk.addr(), w));

    // The same text exactly.
    for w in ["isro", "crst", "srst", "ruok"] {
        let (ours, theirs) = both(w);
        assert_eq!(ours, theirs, "{w}");
    }
    // The same lines, numbers and ids aside.
    for w in ["wchs", "wchc", "wchp", "dirs"] {
        let (ours, theirs) = both(w);
        println!("{w}: Corral {ours:?}\n      ZooKeeper {theirs:?}");
        assert_eq!(mask(&ours), mask(&theirs), "{w}");
    }
    // The same keys in the same order.
    for w in ["conf", "envi"] {
        let (ours, theirs) = both(w);
        println!("{w}: Corral {ours:?}\n      ZooKeeper {theirs:?}");
        assert_eq!(keys(&ours), keys(&theirs), "{w}");
    }
    // stat: srvr's lines, plus the client list: one line per connection
    // (the session's and the asking one), each in ZooKeeper's format.
    let (ours, theirs) = both("stat");
    println!("stat: Corral {ours:?}\n      ZooKeeper {theirs:?}");
    assert_eq!(shape(&ours), shape(&theirs), "stat");
    // cons: the session's connection with every field, the asking one
    // brief, then a blank line. ZooKeeper's own [0]/[1] interest flags
    // and field values differ; the field names and their order may not.
    let (ours, theirs) = both("cons");
    println!("cons: Corral {ours:?}\n      ZooKeeper {theirs:?}");
    let fields = |t: &str| -> Vec<Vec<String>> {
        let mut v: Vec<Vec<String>> = t
            .lines()
            .map(|l| {
                l.split(['(', ','])
                    .skip(1)
                    .map(|f| f.split('=').next().unwrap_or("").to_owned())
                    .collect()
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(fields(&ours), fields(&theirs), "cons");
    assert!(ours.ends_with("\n\n") && theirs.ends_with("\n\n"));
    // dump: the session tracker's buckets, the ephemerals by session, the
    // connections' buckets.
    // ZooKeeper's expiry queue keeps buckets that emptied ("0 expire
    // at"), an artefact of its bookkeeping, left out of the comparison.
    let (ours, theirs) = both("dump");
    println!("dump: Corral {ours:?}\n      ZooKeeper {theirs:?}");
    let live = |t: &str| -> String {
        t.lines()
            .filter(|l| !l.starts_with("0 expire at "))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    assert_eq!(mask(&live(&ours)), mask(&live(&theirs)), "dump");
}
