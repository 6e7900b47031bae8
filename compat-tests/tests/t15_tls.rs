//! TLS on the client port (`secureClientPort`, issue #17 item 1, first
//! step): PEM key and trust stores as ZooKeeper 3.6+ reads them
//! (`ssl.keyStore.type=PEM`), `ssl.clientAuth=need`. The same kazoo client
//! (`use_ssl=True` with a client certificate) runs its CRUD against Corral
//! and against the reference ZooKeeper 3.8 (Netty, the same stores); a
//! client whose certificate comes from another CA is refused by both.
//! Certificates are made by `openssl` in a temporary directory.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use compat_tests::certs::{self, Usage, openssl};
use compat_tests::{
    CorralServer, PYTHON, ZooKeeperServer, clients_dir, free_port, require_kazoo, run_with_timeout,
};

fn make_cert(dir: &Path, ca: &str, name: &str, server: bool) {
    let usage = if server { Usage::Server } else { Usage::Client };
    certs::cert(dir, ca, name, usage);
}

/// kazoo's CRUD over TLS with `cert` (or in plaintext, for `plain`); its
/// one line of output.
fn kazoo(port: u16, dir: &Path, cert: &str) -> String {
    let mut cmd = Command::new(PYTHON);
    cmd.arg(clients_dir().join("kazoo_tls.py"))
        .arg(format!("127.0.0.1:{port}"));
    if cert == "plain" {
        cmd.arg("plain");
    } else if cert == "nocert" {
        cmd.arg("nocert").arg(dir.join("ca.pem"));
    } else {
        cmd.arg(dir.join("ca.pem"))
            .arg(dir.join(format!("{cert}.crt")))
            .arg(dir.join(format!("{cert}.key")));
    }
    cmd.env("PYTHONDONTWRITEBYTECODE", "1");
    let out = run_with_timeout(cmd, b"", Duration::from_secs(60));
    out.stdout
        .lines()
        .find(|l| l.starts_with("ok ") || l.starts_with("refused"))
        .unwrap_or_else(|| panic!("kazoo said nothing useful:\n{}", out.transcript()))
        .to_owned()
}

/// The CA, server, client and stranger certificates, and the server's
/// PEM key store, in a fresh directory.
fn certificates() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    certs::ca(d, "ca");
    certs::ca(d, "other-ca");
    make_cert(d, "ca", "server", true);
    make_cert(d, "ca", "client", false);
    make_cert(d, "other-ca", "stranger", false);
    // ZooKeeper's PEM key store: the key and the chain in one file.
    let key_store = d.join("server-keystore.pem");
    let mut pem = std::fs::read(d.join("server.key")).expect("key");
    pem.extend(std::fs::read(d.join("server.crt")).expect("cert"));
    std::fs::write(&key_store, pem).expect("key store");
    let trust = d.join("ca.pem");
    (dir, key_store, trust)
}

/// The reference ZooKeeper's TLS lines (Netty, the PEM stores), then
/// `extra`.
fn zookeeper_tls(key_store: &Path, trust: &Path, extra: &[&str]) -> ZooKeeperServer {
    let mut cfg = vec![
        "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory".to_owned(),
        format!("ssl.keyStore.location={}", key_store.display()),
        "ssl.keyStore.type=PEM".to_owned(),
        format!("ssl.trustStore.location={}", trust.display()),
        "ssl.trustStore.type=PEM".to_owned(),
    ];
    cfg.extend(extra.iter().map(|l| (*l).to_owned()));
    ZooKeeperServer::start_with(&cfg.iter().map(String::as_str).collect::<Vec<_>>())
}

/// ZooKeeper (with `zk_extra`) and Corral (as `tweak` sets it), each with
/// TLS on a secure port of its own from the same stores; both stop when
/// it is dropped.
struct SecurePair {
    _zk: ZooKeeperServer,
    zk_port: u16,
    corral: CorralServer,
    corral_port: u16,
    _data: tempfile::TempDir,
}

fn secure_pair(
    key_store: &Path,
    trust: &Path,
    zk_extra: &[&str],
    tweak: impl FnOnce(&mut server::Config),
) -> SecurePair {
    let zk_port = free_port();
    let port_line = format!("secureClientPort={zk_port}");
    let mut lines = vec![port_line.as_str()];
    lines.extend_from_slice(zk_extra);
    let zk = zookeeper_tls(key_store, trust, &lines);
    let data = tempfile::tempdir().expect("dir");
    let mut config = server::Config::for_tests(data.path().to_path_buf());
    let corral_port = free_port();
    config.secure_client_addr = Some(std::net::SocketAddr::from(([127, 0, 0, 1], corral_port)));
    config.ssl = corral_ssl(key_store, trust);
    tweak(&mut config);
    SecurePair {
        _zk: zk,
        zk_port,
        corral: CorralServer::start_with(config, 0),
        corral_port,
        _data: data,
    }
}

/// Corral's settings for the same stores.
fn corral_ssl(key_store: &Path, trust: &Path) -> server::SslConfig {
    server::SslConfig {
        key_store: Some(key_store.to_path_buf()),
        key_store_type: Some("PEM".into()),
        trust_store: Some(trust.to_path_buf()),
        trust_store_type: Some("PEM".into()),
        ..Default::default()
    }
}

#[test]
fn kazoo_over_tls_against_corral_and_zookeeper() {
    require_kazoo();
    let (dir, key_store, trust) = certificates();
    let d = dir.path();

    let pair = secure_pair(&key_store, &trust, &[], |_| {});
    let (zk_port, corral_port) = (pair.zk_port, pair.corral_port);

    for (name, port) in [("ZooKeeper", zk_port), ("Corral", corral_port)] {
        assert_eq!(
            kazoo(port, d, "client"),
            "ok v2",
            "{name}: a trusted client"
        );
        assert!(
            kazoo(port, d, "stranger").starts_with("refused"),
            "{name}: a client certificate from another CA is refused"
        );
    }
    // Four-letter words over TLS, as ZooKeeper's secure port answers them.
    for (name, port) in [("ZooKeeper", zk_port), ("Corral", corral_port)] {
        let mut cmd = Command::new(PYTHON);
        cmd.arg(clients_dir().join("tls_peer.py"))
            .args(["127.0.0.1", &port.to_string()])
            .arg(d.join("ca.pem"))
            .arg(d.join("client.crt"))
            .arg(d.join("client.key"))
            .args(["word", "ruok"]);
        let out = run_with_timeout(cmd, b"", Duration::from_secs(30));
        assert_eq!(
            out.stdout.trim(),
            "imok",
            "{name}: ruok over TLS\n{}",
            out.transcript()
        );
    }
    // The plaintext port still serves.
    assert_eq!(
        compat_tests::four_letter(pair.corral.addr(), "ruok").expect("ruok"),
        "imok"
    );
    drop(pair);
}

#[test]
fn one_port_for_tls_and_plaintext_on_corral_and_zookeeper() {
    require_kazoo();
    let (dir, key_store, trust) = certificates();
    let d = dir.path();
    let zk = zookeeper_tls(
        &key_store,
        &trust,
        &[
            "client.portUnification=true",
            // Without it ZooKeeper's unified port drops every TLS client
            // ("X509 Auth provider not found: x509").
            "authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider",
        ],
    );
    let data = tempfile::tempdir().expect("dir");
    let mut config = server::Config::for_tests(data.path().to_path_buf());
    config.client_port_unification = true;
    config.ssl = corral_ssl(&key_store, &trust);
    let corral = CorralServer::start_with(config, 0);
    for (name, addr) in [("ZooKeeper", zk.addr()), ("Corral", corral.addr())] {
        let port = addr.port();
        assert_eq!(
            kazoo(port, d, "client"),
            "ok v2",
            "{name}: TLS on the client port"
        );
        assert_eq!(
            kazoo(port, d, "plain"),
            "ok v2",
            "{name}: plaintext on it too"
        );
        assert!(
            kazoo(port, d, "stranger").starts_with("refused"),
            "{name}: an untrusted certificate is refused"
        );
        assert_eq!(
            compat_tests::four_letter(addr, "ruok").expect("ruok"),
            "imok",
            "{name}: four-letter words in plaintext"
        );
    }
}

/// The common name of the certificate Corral's TLS port presents.
fn served_cn(port: u16, d: &Path) -> String {
    let mut cmd = Command::new(PYTHON);
    cmd.arg(clients_dir().join("tls_peer.py"))
        .args(["127.0.0.1", &port.to_string()])
        .arg(d.join("ca.pem"))
        .arg(d.join("client.crt"))
        .arg(d.join("client.key"));
    let out = run_with_timeout(cmd, b"", Duration::from_secs(30));
    out.stdout.trim().to_owned()
}

#[test]
fn a_replaced_certificate_serves_new_clients_and_keeps_old_ones() {
    require_kazoo();
    let (dir, key_store, trust) = certificates();
    let d = dir.path();
    make_cert(d, "ca", "server2", true);
    let data = tempfile::tempdir().expect("dir");
    let mut config = server::Config::for_tests(data.path().to_path_buf());
    let port = free_port();
    config.secure_client_addr = Some(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    config.client_cert_reload = true;
    config.ssl = corral_ssl(&key_store, &trust);
    let _corral = CorralServer::start_with(config, 0);
    assert_eq!(served_cn(port, d), "cn server");

    let mut cmd = Command::new(PYTHON);
    cmd.arg(clients_dir().join("kazoo_tls_hold.py"))
        .arg(format!("127.0.0.1:{port}"))
        .arg(d.join("ca.pem"))
        .arg(d.join("client.crt"))
        .arg(d.join("client.key"))
        .env("PYTHONUNBUFFERED", "1");
    let mut held = compat_tests::Conversation::start(cmd, "kazoo holding a TLS session");
    let connected = held
        .expect("connected", Duration::from_secs(30), |l| {
            l.starts_with("> connected")
        })
        .expect("kazoo connects");
    let session = connected
        .last()
        .cloned()
        .unwrap_or_default()
        .replace("> connected ", "");

    // Replace the key store (written beside it, then renamed over it).
    let mut pem = std::fs::read(d.join("server2.key")).expect("key");
    pem.extend(std::fs::read(d.join("server2.crt")).expect("cert"));
    let tmp = d.join("keystore.new");
    std::fs::write(&tmp, pem).expect("write");
    std::fs::rename(&tmp, &key_store).expect("rename");
    let swapped = compat_tests::poll_until(Duration::from_secs(10), || {
        (served_cn(port, d) == "cn server2").then_some(())
    });
    assert!(
        swapped.is_some(),
        "the new certificate is served within 10 s"
    );

    // The session made before goes on, on its first connection.
    held.send("check").expect("send");
    let lines = held
        .expect("ok", Duration::from_secs(30), |l| l.starts_with("> ok"))
        .expect("the held session still works");
    assert_eq!(
        lines.last().map(String::as_str),
        Some(format!("> ok {session}").as_str())
    );
    assert!(
        !held
            .transcript
            .iter()
            .any(|l| l.contains("Connection dropped")),
        "the connection was not dropped:\n{}",
        held.transcript.join("\n")
    );
    held.send("quit").expect("quit");
    let _ = held.finish(Duration::from_secs(20));
}

#[test]
fn pkcs12_stores_on_corral_and_zookeeper() {
    require_kazoo();
    let (dir, _, pem_trust) = certificates();
    let d = dir.path();
    openssl(
        d,
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "server.key",
            "-in",
            "server.crt",
            "-passout",
            "pass:secret",
            "-out",
            "keystore.p12",
        ],
    );
    openssl(
        d,
        &[
            "pkcs12",
            "-export",
            "-nokeys",
            "-in",
            "ca.pem",
            "-passout",
            "pass:secret",
            "-out",
            "truststore.p12",
        ],
    );
    let key_store = d.join("keystore.p12");
    // Java's PKCS12 trust stores need keytool's trusted-certificate mark,
    // which openssl 3.0 cannot write: the reference keeps a PEM trust
    // store; Corral reads the PKCS12 one.
    let zk_port = free_port();
    let zk = ZooKeeperServer::start_with(&[
        &format!("secureClientPort={zk_port}"),
        "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
        &format!("ssl.keyStore.location={}", key_store.display()),
        "ssl.keyStore.type=PKCS12",
        "ssl.keyStore.password=secret",
        &format!("ssl.trustStore.location={}", pem_trust.display()),
        "ssl.trustStore.type=PEM",
    ]);
    let data = tempfile::tempdir().expect("dir");
    let mut config = server::Config::for_tests(data.path().to_path_buf());
    let corral_port = free_port();
    config.secure_client_addr = Some(std::net::SocketAddr::from(([127, 0, 0, 1], corral_port)));
    config.ssl = server::SslConfig {
        key_store: Some(key_store.clone()),
        key_store_type: Some("PKCS12".into()),
        key_store_password: Some("secret".into()),
        trust_store: Some(d.join("truststore.p12")),
        trust_store_password: Some("secret".into()),
        ..Default::default()
    };
    let _corral = CorralServer::start_with(config, 0);
    for (name, port) in [("ZooKeeper", zk_port), ("Corral", corral_port)] {
        assert_eq!(kazoo(port, d, "client"), "ok v2", "{name}: PKCS12 stores");
        assert!(
            kazoo(port, d, "stranger").starts_with("refused"),
            "{name}: an untrusted certificate is refused"
        );
    }
    drop(zk);
    // A wrong password stops Corral's start with the key's name.
    let bad = server::SslConfig {
        key_store: Some(key_store),
        key_store_password: Some("wrong".into()),
        trust_store: Some(d.join("truststore.p12")),
        trust_store_password: Some("secret".into()),
        ..Default::default()
    };
    let data = tempfile::tempdir().expect("dir");
    let mut config = server::Config::for_tests(data.path().to_path_buf());
    config.secure_client_addr = Some(std::net::SocketAddr::from(([127, 0, 0, 1], free_port())));
    config.ssl = bad;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let refused = rt.block_on(async {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        server::run(config, l, tokio_util::sync::CancellationToken::new()).await
    });
    let e = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("ssl.keyStore.location"), "{e}");
}

#[test]
fn x509_ids_acls_and_super_user_on_corral_and_zookeeper() {
    require_kazoo();
    let (dir, key_store, trust) = certificates();
    let d = dir.path();
    // A subject with what Java's RFC 2253 form escapes, a multi-valued
    // RDN and an attribute without a keyword (printed as #hex).
    certs::cert_for(
        d,
        "ca",
        "client",
        "/C=US/ST=CA/L=San Francisco/O=Corral, Inc./OU=QA+UID=42/CN=client one/emailAddress=c@example.com",
        Usage::Client,
    );
    make_cert(d, "ca", "other", false);
    make_cert(d, "ca", "admin", false);
    let pair = secure_pair(
        &key_store,
        &trust,
        &["X509AuthenticationProvider.superUser=CN=admin"],
        |c| c.auth.x509_super_user = Some("CN=admin".into()),
    );
    let run = |port: u16| {
        let mut cmd = Command::new(PYTHON);
        cmd.arg(clients_dir().join("kazoo_x509.py"))
            .arg(format!("127.0.0.1:{port}"))
            .arg(d)
            .env("PYTHONDONTWRITEBYTECODE", "1");
        let out = run_with_timeout(cmd, b"", Duration::from_secs(60));
        assert!(out.success(), "kazoo_x509.py:\n{}", out.transcript());
        out.stdout.lines().map(str::to_owned).collect::<Vec<_>>()
    };
    let theirs = run(pair.zk_port);
    let ours = run(pair.corral_port);
    println!("ZooKeeper: {theirs:#?}");
    assert_eq!(theirs.len(), 5, "{theirs:?}");
    assert_eq!(theirs[0], "addauth x509 ok");
    assert!(
        theirs[1].starts_with("acl x509:") && theirs[1].contains("O=Corral\\, Inc."),
        "{theirs:?}"
    );
    assert_eq!(
        theirs[2..],
        ["client get ok", "other get NoAuthError", "admin get ok"]
    );
    assert_eq!(
        ours, theirs,
        "Corral names and checks x509 ids as ZooKeeper"
    );
}

/// What a TLS client agrees with the server on `port`: "<version>
/// <cipher>".
fn tls_session(port: u16, d: &Path) -> String {
    let mut cmd = Command::new(PYTHON);
    cmd.arg(clients_dir().join("tls_peer.py"))
        .args(["127.0.0.1", &port.to_string()])
        .arg(d.join("ca.pem"))
        .arg(d.join("client.crt"))
        .arg(d.join("client.key"))
        .arg("session");
    let out = run_with_timeout(cmd, b"", Duration::from_secs(30));
    out.stdout.trim().to_owned()
}

#[test]
fn protocol_and_cipher_suites_as_configured_on_corral_and_zookeeper() {
    let (dir, key_store, trust) = certificates();
    let d = dir.path();
    let pair = secure_pair(
        &key_store,
        &trust,
        &[
            "ssl.protocol=TLSv1.2",
            "ssl.ciphersuites=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        ],
        |c| {
            c.ssl.protocols = vec![server::TlsVersion::Tls12];
            c.ssl.cipher_suites = vec!["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".into()];
        },
    );
    let theirs = tls_session(pair.zk_port, d);
    assert_eq!(theirs, "TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384");
    assert_eq!(tls_session(pair.corral_port, d), theirs);
    drop(pair);

    // Unset, Corral takes TLSv1.3 (and TLSv1.2) with rustls's suites.
    let data = tempfile::tempdir().expect("dir");
    let mut config = server::Config::for_tests(data.path().to_path_buf());
    let port = free_port();
    config.secure_client_addr = Some(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    config.ssl = corral_ssl(&key_store, &trust);
    let _corral = CorralServer::start_with(config, 0);
    assert!(tls_session(port, d).starts_with("TLSv1.3 "));
}

/// The Java client's TLS properties (`zookeeper.client.secure` on the
/// Netty socket, PEM stores) for the `client` certificate in `d`, and the
/// class path its Netty client needs (given as a later `-cp`, which wins
/// over zkCli.sh's own).
fn java_tls_props(d: &Path) -> Vec<String> {
    let key_store = d.join("client-keystore.pem");
    let mut pem = std::fs::read(d.join("client.key")).expect("key");
    pem.extend(std::fs::read(d.join("client.crt")).expect("cert"));
    std::fs::write(&key_store, pem).expect("client key store");
    vec![
        "-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty".to_owned(),
        "-Dzookeeper.client.secure=true".to_owned(),
        format!("-Dzookeeper.ssl.keyStore.location={}", key_store.display()),
        "-Dzookeeper.ssl.keyStore.type=PEM".to_owned(),
        format!(
            "-Dzookeeper.ssl.trustStore.location={}",
            d.join("ca.pem").display()
        ),
        "-Dzookeeper.ssl.trustStore.type=PEM".to_owned(),
    ]
}

#[test]
fn zkcli_and_curator_over_tls_on_corral_and_zookeeper() {
    let (dir, key_store, trust) = certificates();
    let d = dir.path();
    let pair = secure_pair(&key_store, &trust, &[], |_| {});
    let (zk_port, corral_port) = (pair.zk_port, pair.corral_port);
    let props = java_tls_props(d);
    let mut cli = props.clone();
    let mut cp = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar".to_owned();
    for j in compat_tests::suites::NETTY_EXTRA {
        cp.push_str(&format!(":/usr/share/java/{j}"));
    }
    cli.push(format!("-cp {cp}"));
    let script = "create /tls-zkcli hello\nget /tls-zkcli\nset /tls-zkcli bye\nget /tls-zkcli\nls /\ndelete /tls-zkcli\nquit\n";
    let mut transcripts = Vec::new();
    for (name, port) in [("ZooKeeper", zk_port), ("Corral", corral_port)] {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let run = compat_tests::suites::zkcli_run_with(addr, script, &cli);
        let t = compat_tests::suites::zkcli_transcript(&run, port);
        assert!(
            t.out.iter().any(|l| l == "bye"),
            "{name}: zkCli over TLS read its write back:\n{}",
            run.transcript()
        );
        transcripts.push(t.out);

        let jvm: Vec<&str> = props.iter().map(String::as_str).collect();
        let mut cmd = compat_tests::suites::java_program(
            "CuratorSuite.java",
            &jvm,
            &[&format!("127.0.0.1:{port}")],
        );
        cmd.env("RECIPES", "mutex,transactions")
            .env("EXISTS_NEEDS_READ", "1");
        let out = run_with_timeout(cmd, b"", Duration::from_secs(120));
        assert!(
            out.success()
                && out.stdout.contains("ok mutex")
                && out.stdout.contains("ok transactions"),
            "{name}: Curator over TLS:\n{}",
            out.transcript()
        );
    }
    assert_eq!(
        transcripts[1], transcripts[0],
        "zkCli over TLS: Corral as ZooKeeper"
    );
    drop(pair);
}

/// Writes `bytes` to `port` (then half-closes if `eof`) and says whether
/// the server closed the connection within `within`.
fn closed_after(port: u16, bytes: &[u8], eof: bool, within: Duration) -> bool {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let _ = s.write_all(bytes);
    if eof {
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
    let _ = s.set_read_timeout(Some(within));
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn malformed_tls_records_close_only_their_connection() {
    require_kazoo();
    let (dir, key_store, trust) = certificates();
    let d = dir.path();
    let data = tempfile::tempdir().expect("dir");
    let mut config = server::Config::for_tests(data.path().to_path_buf());
    let port = free_port();
    config.secure_client_addr = Some(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    config.client_port_unification = true;
    let metrics = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    config.metrics_addr = Some(metrics);
    let admin = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    config.admin_addr = Some(admin);
    config.ssl = server::SslConfig {
        handshake_timeout: Duration::from_secs(1),
        ..corral_ssl(&key_store, &trust)
    };
    let corral = CorralServer::start_with(config, 0);
    // The secure port is bound as the server starts, after this returns.
    compat_tests::poll_until(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    })
    .expect("the secure port opens");
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
        .collect();
    let mut hello_then_noise = vec![0x16, 0x03, 0x01, 0x10, 0x00];
    hello_then_noise.extend_from_slice(&noise);
    let cases: [(&str, Vec<u8>, bool); 5] = [
        ("a handshake record of noise", hello_then_noise, false),
        (
            "a truncated ClientHello, then EOF",
            vec![0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00],
            true,
        ),
        (
            "a record longer than TLS allows",
            [&[0x16, 0x03, 0x03, 0xff, 0xff][..], &noise].concat(),
            false,
        ),
        (
            "an alert before any handshake",
            vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28],
            false,
        ),
        (
            "a handshake that never finishes",
            vec![0x16, 0x03, 0x01],
            false,
        ),
    ];
    for &p in &[port, corral.addr().port()] {
        for (what, bytes, eof) in &cases {
            // The secure port takes only TLS; the unified one hands
            // non-TLS first bytes to the plaintext path, which closes
            // on garbage too.
            assert!(
                closed_after(p, bytes, *eof, Duration::from_secs(8)),
                "port {p}: {what}: the connection stayed open"
            );
        }
        assert_eq!(
            kazoo(p, d, "client"),
            "ok v2",
            "port {p}: others are served"
        );
    }
    let errors = compat_tests::http_get(metrics, "/metrics")
        .map(|(_, body)| body)
        .unwrap_or_default();
    assert!(
        errors.contains("class=\"tls_handshake_failed\""),
        "failed handshakes are counted"
    );
    // And in ZooKeeper's own counter (its Netty factory counts failed
    // handshakes as failed authentications): the five on the secure port.
    let stats = compat_tests::admin_command(admin, "server_stats");
    let failed = stats["server_stats"]["auth_failed_count"]
        .as_u64()
        .unwrap_or(0);
    assert!(failed >= 5, "auth_failed_count {failed}: {stats}");
}

#[test]
fn client_auth_want_serves_clients_without_a_certificate_on_corral_and_zookeeper() {
    require_kazoo();
    let (dir, key_store, trust) = certificates();
    let d = dir.path();
    let pair = secure_pair(&key_store, &trust, &["ssl.clientAuth=want"], |c| {
        c.ssl.client_auth = server::ClientAuth::Want;
    });
    for (name, port) in [("ZooKeeper", pair.zk_port), ("Corral", pair.corral_port)] {
        assert_eq!(
            kazoo(port, d, "nocert"),
            "ok v2",
            "{name}: no certificate, served"
        );
        assert_eq!(
            kazoo(port, d, "client"),
            "ok v2",
            "{name}: a trusted certificate"
        );
        assert!(
            kazoo(port, d, "stranger").starts_with("refused"),
            "{name}: an untrusted certificate is still refused"
        );
    }
}
