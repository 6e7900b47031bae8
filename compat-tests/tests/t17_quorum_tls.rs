//! TLS between members (issue #17 item 2): `sslQuorum=true` with the
//! members' own `ssl.quorum.*` stores. A 3-member ensemble forms over
//! TLS with mutual authentication, replicates, survives the leader's
//! stop, and keeps out a member whose certificate comes from another CA
//! (it never serves, and the others keep serving without it).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use compat_tests::certs::{self, Usage};
use compat_tests::{CorralEnsemble, four_letter, poll_until};
use zookeeper_client as zk;

/// One ensemble at a time: each test runs three members (and one a
/// ZooKeeper ensemble beside them); all at once on a 2-core machine,
/// members take longer than the harness's 10 s to stop.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A member certificate `name` (and its PEM key store) signed by `ca`.
fn member_cert(dir: &Path, ca: &str, name: &str) {
    certs::cert(dir, ca, name, Usage::Member);
}

fn quorum_ssl(dir: &Path, name: &str, ca: &str) -> server::SslConfig {
    server::SslConfig {
        key_store: Some(dir.join(format!("{name}-keystore.pem"))),
        trust_store: Some(dir.join(format!("{ca}.pem"))),
        ..Default::default()
    }
}

async fn client(addr: std::net::SocketAddr) -> zk::Client {
    zk::Client::connector()
        .with_session_timeout(Duration::from_secs(10))
        .connect(&addr.to_string())
        .await
        .expect("connect")
}

/// Creates `path` with `data` through the member at `addr`.
fn put(rt: &tokio::runtime::Runtime, addr: std::net::SocketAddr, path: &str, data: &[u8]) {
    rt.block_on(async {
        let c = client(addr).await;
        let mode = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        c.create(path, data, &mode).await.expect("create");
    });
}

/// `path`'s data as the member at `addr` has it after a `sync`.
fn get(rt: &tokio::runtime::Runtime, addr: std::net::SocketAddr, path: &str) -> Vec<u8> {
    rt.block_on(async {
        let c = client(addr).await;
        c.sync(path).await.expect("sync");
        c.get_data(path).await.expect("get").0
    })
}

#[test]
fn an_ensemble_over_tls_replicates_survives_its_leader_and_keeps_a_stranger_out() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    for name in ["m1", "m2", "m3"] {
        member_cert(d, "ca", name);
    }
    member_cert(d, "other-ca", "stranger");
    let root = d.to_path_buf();
    let mut e = CorralEnsemble::start_with(3, |c| {
        c.ssl_quorum = true;
        c.quorum_ssl = quorum_ssl(&root, &format!("m{}", c.server_id), "ca");
    });
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let addrs = e.addrs();
    put(&rt, addrs[0], "/over-tls", b"one");
    for a in &addrs {
        assert_eq!(get(&rt, *a, "/over-tls"), b"one", "replicated to {a}");
    }

    // The leader stops; the other two elect one over TLS and go on.
    let leader = e.leader().expect("a leader");
    e.stop(leader);
    let rest: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    let new_leader = poll_until(Duration::from_secs(30), || {
        let modes = e.modes();
        rest.iter().any(|i| modes[*i] == "leader").then_some(())
    });
    assert!(new_leader.is_some(), "no new leader: {:?}", e.modes());
    put(&rt, addrs[rest[0]], "/after-leader", b"two");
    assert_eq!(get(&rt, addrs[rest[1]], "/after-leader"), b"two");
    e.start_member(leader);
    e.wait_serving();
    assert_eq!(
        get(&rt, addrs[leader], "/after-leader"),
        b"two",
        "caught up over TLS"
    );

    // A member whose certificate (and trust) come from another CA.
    let outsider = rest[1];
    e.stop(outsider);
    *e.config_mut(outsider) = {
        let mut c = e.config_mut(outsider).clone();
        // It trusts the ensemble's CA (so its own checks pass): only
        // the others' checks of its certificate keep it out.
        c.quorum_ssl = quorum_ssl(d, "stranger", "ca");
        c
    };
    e.start_member(outsider);
    put(&rt, addrs[leader], "/while-outside", b"three");
    std::thread::sleep(Duration::from_secs(5));
    let modes = e.modes();
    assert_ne!(modes[outsider], "leader", "{modes:?}");
    assert_ne!(modes[outsider], "follower", "{modes:?}");
    let srvr = four_letter(addrs[outsider], "srvr").unwrap_or_default();
    assert!(
        !srvr.contains("Zxid") || srvr.contains("not currently serving"),
        "the stranger does not serve: {srvr}"
    );
    let others: Vec<usize> = (0..3).filter(|i| *i != outsider).collect();
    assert!(
        others
            .iter()
            .all(|i| modes[*i] == "leader" || modes[*i] == "follower"),
        "the others serve without it: {modes:?}"
    );
    assert_eq!(get(&rt, addrs[others[1]], "/while-outside"), b"three");
}

#[test]
fn a_rolling_switch_to_tls_through_port_unification() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    for name in ["m1", "m2", "m3"] {
        member_cert(d, "ca", name);
    }
    // Plaintext to begin with.
    let mut e = CorralEnsemble::start(3);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let addrs = e.addrs();
    let mut n = 0;
    // ZooKeeper's three steps, one member at a time, the ensemble serving
    // throughout: portUnification on; sslQuorum on; portUnification off.
    let steps: [(bool, bool); 3] = [(false, true), (true, true), (true, false)];
    for (ssl_quorum, unified) in steps {
        for i in 0..3 {
            let c = e.config_mut(i);
            c.ssl_quorum = ssl_quorum;
            c.quorum_port_unification = unified;
            c.quorum_ssl = quorum_ssl(d, &format!("m{}", c.server_id), "ca");
            e.restart(i);
            n += 1;
            let path = format!("/step-{n}");
            put(&rt, addrs[(i + 1) % 3], &path, b"x");
            assert_eq!(get(&rt, addrs[i], &path), b"x", "after step {n}");
        }
    }
}

/// Whether a plaintext peer is refused on the quorum port at `addr`:
/// with TLS only, a plaintext frame is not a TLS record, so the
/// connection closes (after at most a TLS alert).
fn plaintext_refused(addr: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.write_all(&[0, 0, 0, 4, 1, 2, 3, 4]);
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            // A TLS alert is all a plaintext peer hears.
            Ok(n) if buf[0] == 0x15 || n == 0 => continue,
            Ok(_) => return false,
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                );
            }
        }
    }
}

#[test]
fn the_same_quorum_tls_settings_run_zookeeper_and_corral() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    // One member certificate for all (each member's address is 127.0.0.1).
    member_cert(d, "ca", "member");
    let key_store = d.join("member-keystore.pem").display().to_string();
    let trust = d.join("ca.pem").display().to_string();
    let lines = [
        "sslQuorum=true".to_owned(),
        format!("ssl.quorum.keyStore.location={key_store}"),
        "ssl.quorum.keyStore.type=PEM".to_owned(),
        format!("ssl.quorum.trustStore.location={trust}"),
        "ssl.quorum.trustStore.type=PEM".to_owned(),
    ];
    let zk = compat_tests::ZooKeeperEnsemble::start_with(
        3,
        &lines.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let formed = poll_until(Duration::from_secs(60), || {
        let modes = zk.modes();
        (modes.iter().filter(|m| *m == "leader").count() == 1
            && modes.iter().filter(|m| *m == "follower").count() == 2)
            .then_some(())
    });
    assert!(
        formed.is_some(),
        "ZooKeeper over quorum TLS: {:?}",
        zk.modes()
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let zk_addrs: Vec<_> = zk.members.iter().map(|m| m.addr()).collect();
    put(&rt, zk_addrs[0], "/zk-over-tls", b"z");
    assert_eq!(get(&rt, zk_addrs[2], "/zk-over-tls"), b"z");
    drop(zk);

    let e = CorralEnsemble::start_with(3, |c| {
        c.ssl_quorum = true;
        c.quorum_ssl = server::SslConfig {
            key_store: Some(d.join("member-keystore.pem")),
            key_store_type: Some("PEM".into()),
            trust_store: Some(d.join("ca.pem")),
            trust_store_type: Some("PEM".into()),
            ..Default::default()
        };
    });
    let addrs = e.addrs();
    put(&rt, addrs[0], "/corral-over-tls", b"c");
    assert_eq!(get(&rt, addrs[2], "/corral-over-tls"), b"c");
    let quorum = e.config_mut_ref(0).servers[0].quorum_addr.clone();
    // The quorum port speaks TLS (a handshake with a member certificate
    // completes), and a plaintext peer is not heard.
    let (host, port) = quorum.rsplit_once(':').expect("host:port");
    let mut cmd = Command::new(compat_tests::PYTHON);
    cmd.arg(compat_tests::clients_dir().join("tls_peer.py"))
        .args([host, port])
        .arg(d.join("ca.pem"))
        .arg(d.join("member.crt"))
        .arg(d.join("member.key"))
        .arg("session");
    let out = compat_tests::run_with_timeout(cmd, b"", Duration::from_secs(30));
    assert!(
        out.stdout.starts_with("TLSv1."),
        "quorum port: {}",
        out.transcript()
    );
    assert!(plaintext_refused(&quorum), "a plaintext peer is not heard");
}

/// The common name of the certificate served on the quorum port `addr`,
/// to a peer presenting `name`'s certificate.
fn quorum_cn(d: &Path, addr: &str, name: &str) -> String {
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let mut cmd = Command::new(compat_tests::PYTHON);
    cmd.arg(compat_tests::clients_dir().join("tls_peer.py"))
        .args([host, port])
        .arg(d.join("ca.pem"))
        .arg(d.join(format!("{name}.crt")))
        .arg(d.join(format!("{name}.key")));
    let out = compat_tests::run_with_timeout(cmd, b"", Duration::from_secs(30));
    out.stdout.trim().to_owned()
}

#[test]
fn a_members_replaced_certificate_is_used_without_a_restart() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    for name in ["m1", "m2", "m3", "m1-renewed"] {
        member_cert(d, "ca", name);
    }
    let root = d.to_path_buf();
    let e = CorralEnsemble::start_with(3, |c| {
        c.ssl_quorum = true;
        c.quorum_cert_reload = true;
        c.quorum_ssl = quorum_ssl(&root, &format!("m{}", c.server_id), "ca");
    });
    let quorum = e.config_mut_ref(0).servers[0].quorum_addr.clone();
    assert_eq!(quorum_cn(d, &quorum, "m2"), "cn m1");
    // Renewed: a new key store written beside the old one and renamed
    // over it, as an operator (or cert-manager) replaces it.
    let tmp = d.join("m1-keystore.new");
    std::fs::copy(d.join("m1-renewed-keystore.pem"), &tmp).expect("copy");
    std::fs::rename(&tmp, d.join("m1-keystore.pem")).expect("rename");
    let renewed = poll_until(Duration::from_secs(10), || {
        (quorum_cn(d, &quorum, "m2") == "cn m1-renewed").then_some(())
    });
    assert!(
        renewed.is_some(),
        "member 1 serves its renewed certificate within 10 s"
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let addrs = e.addrs();
    put(&rt, addrs[0], "/after-renewal", b"r");
    for a in &addrs {
        assert_eq!(get(&rt, *a, "/after-renewal"), b"r");
    }
    e.wait_serving();
}
