//! TLS between members (issue #17 item 2): `sslQuorum=true` with the
//! members' own `ssl.quorum.*` stores. A 3-member ensemble forms over
//! TLS with mutual authentication, replicates, survives the leader's
//! stop, and keeps out a member whose certificate comes from another CA
//! (it never serves, and the others keep serving without it).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use compat_tests::{CorralEnsemble, four_letter, poll_until};
use zookeeper_client as zk;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA `ca` and a member certificate `name` signed by it, usable as a
/// TLS server and client (a member is both), for 127.0.0.1; the
/// member's PEM key store is `<name>-keystore.pem`.
fn member_cert(dir: &Path, ca: &str, name: &str) {
    if !dir.join(format!("{ca}.pem")).exists() {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN={ca}"),
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
            ],
        );
    }
    std::fs::write(
        dir.join(format!("{name}.ext")),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    .expect("ext");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &format!("{name}.crt"),
            "-extfile",
            &format!("{name}.ext"),
        ],
    );
    let mut pem = std::fs::read(dir.join(format!("{name}.key"))).expect("key");
    pem.extend(std::fs::read(dir.join(format!("{name}.crt"))).expect("cert"));
    std::fs::write(dir.join(format!("{name}-keystore.pem")), pem).expect("key store");
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
        c.quorum_ssl = quorum_ssl(d, "stranger", "other-ca");
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
