//! Read-only mode (`readonlymode.enabled`, with `localSessionsEnabled` as
//! ZooKeeper 3.8 needs it) on a 3-member Corral ensemble and a 3-member
//! reference ZooKeeper 3.8 ensemble, the same steps on each: a kazoo
//! client with `read_only=True`; two members stopped; the client gets a
//! read-only session on the survivor (CONNECTED_RO), reads, and its write
//! is refused (NOTREADONLY); the survivor answers `isro` with `ro` and
//! `srvr` with `Mode: read-only`, and closes a client that did not ask
//! for read-only; the two members come back, and the client moves to a
//! read-write server and writes again.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use compat_tests::{
    Conversation, CorralEnsemble, PYTHON, ZooKeeperEnsemble, clients_dir, four_letter,
    require_kazoo,
};
use jute::Encode;
use jute::proto::ConnectRequest;

/// Whether a client that does not ask for read-only is closed without a
/// handshake reply.
fn read_write_client_refused(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return true;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let req = ConnectRequest {
        time_out: 10_000,
        read_only: Some(false),
        ..Default::default()
    };
    let mut body = bytes::BytesMut::new();
    req.encode(&mut body);
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    if s.write_all(&frame).is_err() {
        return true;
    }
    let mut buf = [0u8; 64];
    matches!(s.read(&mut buf), Ok(0) | Err(_))
}

/// The scenario against one ensemble; returns what the client printed.
fn scenario(
    what: &str,
    addrs: &[SocketAddr],
    stop: &mut dyn FnMut(usize),
    start: &mut dyn FnMut(usize),
) -> Vec<String> {
    require_kazoo();
    let connect: Vec<String> = addrs.iter().map(SocketAddr::to_string).collect();
    let mut cmd = Command::new(PYTHON);
    cmd.arg(clients_dir().join("kazoo_readonly.py"))
        .arg(connect.join(","))
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let mut c = Conversation::start(cmd, &format!("kazoo read-only client ({what})"));
    let mut seen = Vec::new();
    let mut step = |c: &mut Conversation, send: Option<&str>, want: &str, secs: u64| {
        if let Some(line) = send {
            c.send(line).expect("send to kazoo");
        }
        let lines = c
            .expect(want, Duration::from_secs(secs), |l| l.starts_with("> "))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let got = lines
            .last()
            .and_then(|l| l.strip_prefix("> "))
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            got,
            want,
            "{what}: after {send:?}\n{}",
            c.transcript.join("\n")
        );
        seen.push(got);
    };
    step(&mut c, None, "ready", 60);
    stop(1);
    stop(2);
    step(&mut c, Some("wait_ro"), "ro", 90);
    let survivor = addrs[0];
    assert_eq!(four_letter(survivor, "isro").expect("isro"), "ro", "{what}");
    let srvr = four_letter(survivor, "srvr").expect("srvr");
    assert!(srvr.contains("\nMode: read-only\n"), "{what}: {srvr}");
    step(&mut c, Some("read"), "read ['child'] x", 30);
    step(&mut c, Some("write"), "NotReadOnlyCallError", 30);
    assert!(
        read_write_client_refused(survivor),
        "{what}: a read-write client is closed by a read-only server"
    );
    start(1);
    start(2);
    step(&mut c, Some("wait_rw"), "rw", 90);
    step(&mut c, Some("write"), "written", 30);
    assert_eq!(four_letter(survivor, "isro").expect("isro"), "rw", "{what}");
    c.send("quit").expect("quit");
    let _ = c.finish(Duration::from_secs(30));
    seen
}

#[test]
fn read_only_mode_on_corral_and_on_zookeeper() {
    let mut zk = ZooKeeperEnsemble::start_with(
        3,
        &[
            "syncLimit=2",
            "localSessionsEnabled=true",
            "-Dreadonlymode.enabled=true",
        ],
    );
    let addrs: Vec<SocketAddr> = zk.members.iter().map(|m| m.addr()).collect();
    let theirs = {
        let members = std::cell::RefCell::new(&mut zk.members);
        scenario(
            "ZooKeeper",
            &addrs,
            &mut |i| members.borrow_mut()[i].stop(),
            &mut |i| members.borrow_mut()[i].start_again(),
        )
    };
    drop(zk);

    let mut corral = CorralEnsemble::start_with(3, |c| {
        c.read_only_mode = true;
        c.local_sessions_enabled = true;
        c.sync_limit = 2;
    });
    let addrs = corral.addrs();
    let ours = {
        let e = std::cell::RefCell::new(&mut corral);
        scenario(
            "Corral",
            &addrs,
            &mut |i| e.borrow_mut().stop(i),
            &mut |i| e.borrow_mut().start_member(i),
        )
    };
    assert_eq!(ours, theirs);
}
