//! SASL and enforced authentication (issue #17 items 4 and 5): DIGEST-MD5
//! with users from a JAAS `Server` section, as ZooKeeper's servers are
//! configured (`authProvider.1=…SASLAuthenticationProvider`,
//! `-Djava.security.auth.login.config`). The same clients run against
//! Corral and the reference ZooKeeper 3.8 with the same files:
//!
//! - kazoo's own SASL tests (`TestSASLDigestAuthentication`,
//!   `TestLegacySASLDigestAuthentication`, with kazoo's test user);
//! - Curator with a JAAS `Client` section, and with a wrong password
//!   (AuthFailed);
//! - `sessionRequireClientSASLAuth` and `enforce.auth.*`: a session that
//!   has not authenticated is refused its first request.

use std::path::{Path, PathBuf};
use std::time::Duration;

use compat_tests::suites::curator_sasl;
use compat_tests::{
    CorralServer, PYTHON, ZooKeeperServer, clients_dir, require_kazoo, run_with_timeout,
};

/// kazoo's test harness's JAAS file (`ZOOKEEPER_JAAS_AUTH=digest`).
const SERVER_JAAS: &str = r#"Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="super_secret"
    user_jaasuser="jaas_password";
};
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

/// The reference with SASL on and `extra` lines.
fn zookeeper_sasl(jaas: &Path, extra: &[&str]) -> ZooKeeperServer {
    let prop = format!("-Djava.security.auth.login.config={}", jaas.display());
    let mut cfg = vec![
        "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
        prop.as_str(),
    ];
    cfg.extend_from_slice(extra);
    ZooKeeperServer::start_with(&cfg)
}

/// Corral with the same settings; `tweak` for the rest.
fn corral_sasl(
    jaas: &Path,
    tweak: impl FnOnce(&mut server::AuthConfig),
) -> (CorralServer, tempfile::TempDir) {
    let data = tempfile::tempdir().expect("dir");
    let mut config = server::Config::for_tests(data.path().to_path_buf());
    config.auth.sasl_provider = true;
    config.auth.jaas_file = Some(jaas.to_path_buf());
    tweak(&mut config.auth);
    config.auth.finish(false).expect("the JAAS file loads");
    (CorralServer::start_with(config, 0), data)
}

fn python(script: &str, args: &[&str]) -> Vec<String> {
    let mut cmd = std::process::Command::new(PYTHON);
    cmd.arg(clients_dir().join(script))
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = run_with_timeout(cmd, b"", Duration::from_secs(120));
    assert!(out.success(), "{script}:\n{}", out.transcript());
    out.stdout.lines().map(str::to_owned).collect()
}

#[test]
fn kazoos_sasl_digest_tests_pass_on_corral_as_on_zookeeper() {
    require_kazoo();
    let dir = tempfile::tempdir().expect("dir");
    let jaas = write(dir.path(), "server.jaas", SERVER_JAAS);
    let zk = zookeeper_sasl(&jaas, &[]);
    let (corral, _data) = corral_sasl(&jaas, |_| {});
    let theirs = python("kazoo_sasl.py", &[&zk.addr().to_string()]);
    let ours = python("kazoo_sasl.py", &[&corral.addr().to_string()]);
    assert_eq!(theirs.len(), 5, "ZooKeeper ran every test: {theirs:#?}");
    for line in &theirs {
        assert!(line.ends_with(" ok"), "on ZooKeeper: {line}");
    }
    assert_eq!(ours, theirs, "Corral as ZooKeeper");
}

#[test]
fn curator_authenticates_from_a_jaas_client_section() {
    let dir = tempfile::tempdir().expect("dir");
    let jaas = write(dir.path(), "server.jaas", SERVER_JAAS);
    let client = |name: &str, password: &str| {
        write(
            dir.path(),
            name,
            &format!(
                "Client {{\n    org.apache.zookeeper.server.auth.DigestLoginModule required\n    username=\"jaasuser\"\n    password=\"{password}\";\n}};\n"
            ),
        )
    };
    let good = client("good.jaas", "jaas_password");
    let bad = client("bad.jaas", "wrong");
    let zk = zookeeper_sasl(&jaas, &[]);
    let (corral, _data) = corral_sasl(&jaas, |_| {});
    let run = |addr: std::net::SocketAddr, jaas: &Path, mode: &str| {
        let prop = format!("-Djava.security.auth.login.config={}", jaas.display());
        curator_sasl(&[prop], addr, mode, "jaasuser")
    };
    for (name, addr) in [("ZooKeeper", zk.addr()), ("Corral", corral.addr())] {
        assert_eq!(
            run(addr, &good, "good"),
            "ok sasl ip:127.0.0.1,sasl:jaasuser",
            "{name}: authenticated"
        );
        assert_eq!(
            run(addr, &bad, "bad"),
            "ok authfailed",
            "{name}: a wrong password"
        );
    }
}

#[test]
fn enforced_authentication_refuses_sessions_that_did_not_authenticate() {
    require_kazoo();
    let dir = tempfile::tempdir().expect("dir");
    let jaas = write(dir.path(), "server.jaas", SERVER_JAAS);

    // sessionRequireClientSASLAuth: SASL or nothing.
    let zk = zookeeper_sasl(&jaas, &["sessionRequireClientSASLAuth=true"]);
    let (corral, _data) = corral_sasl(&jaas, |a| a.session_require_sasl = true);
    let theirs = python("kazoo_enforced.py", &[&zk.addr().to_string(), "sasl"]);
    let ours = python("kazoo_enforced.py", &[&corral.addr().to_string(), "sasl"]);
    println!("sessionRequireClientSASLAuth, ZooKeeper: {theirs:?}");
    assert_eq!(theirs[0], "anon connect ok", "{theirs:?}");
    assert_ne!(theirs[1], "anon get ok", "{theirs:?}");
    assert_eq!(theirs[2], "authed get ok", "{theirs:?}");
    assert_eq!(
        ours, theirs,
        "sessionRequireClientSASLAuth: Corral as ZooKeeper"
    );
    drop((zk, corral));

    // enforce.auth.enabled with the digest scheme.
    let zk = zookeeper_sasl(
        &jaas,
        &["enforce.auth.enabled=true", "enforce.auth.schemes=digest"],
    );
    let (corral, _data2) = corral_sasl(&jaas, |a| {
        a.enforce_enabled = true;
        a.enforce_schemes = vec!["digest".into()];
    });
    let theirs = python("kazoo_enforced.py", &[&zk.addr().to_string(), "digest"]);
    let ours = python("kazoo_enforced.py", &[&corral.addr().to_string(), "digest"]);
    assert_eq!(theirs[2], "authed get ok", "{theirs:?}");
    assert_ne!(theirs[1], "anon get ok", "{theirs:?}");
    assert_eq!(
        ours, theirs,
        "enforce.auth.schemes=digest: Corral as ZooKeeper"
    );
}

#[test]
fn bad_security_settings_stop_the_start_with_the_key() {
    let dir = tempfile::tempdir().expect("dir");
    let no_section = write(
        dir.path(),
        "client-only.jaas",
        "Client { m required a=\"b\"; };\n",
    );
    let mut a = server::AuthConfig::default();
    a.jaas_file = Some(no_section);
    let e = a.finish(false).err().unwrap_or_default();
    assert!(
        e.contains("No JAAS configuration section named 'Server'"),
        "{e}"
    );
    let mut a = server::AuthConfig::default();
    a.enforce_enabled = true;
    a.enforce_schemes = vec!["sasl".into()];
    let e = a.finish(false).err().unwrap_or_default();
    assert_eq!(e, "Authentication scheme sasl is not available.");
    let krb = write(
        dir.path(),
        "krb.jaas",
        "Server { com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true keyTab=\"/nonexistent/k\" principal=\"zookeeper/h@R\"; };\n",
    );
    let mut a = server::AuthConfig::default();
    a.jaas_file = Some(krb);
    let e = a.finish(false).err().unwrap_or_default();
    assert!(e.contains("keyTab /nonexistent/k"), "{e}");
    let no_keytab = write(
        dir.path(),
        "ticket-cache.jaas",
        "Server { com.sun.security.auth.module.Krb5LoginModule required useTicketCache=true principal=\"zookeeper/h@R\"; };\n",
    );
    let mut a = server::AuthConfig::default();
    a.jaas_file = Some(no_keytab);
    let e = a.finish(false).err().unwrap_or_default();
    assert!(
        e.contains("needs useKeyTab=true, keyTab and principal"),
        "{e}"
    );
}

/// Mid-way through enabling SASL member by member, a member with the SASL
/// provider accepts a `sasl` ACL that one without it would refuse. The
/// write is applied everywhere as its proposer judged it (ZooKeeper's
/// leader decides for everyone), so every member holds the same node.
#[test]
fn a_sasl_acl_is_applied_alike_on_members_configured_differently() {
    require_kazoo();
    let dir = tempfile::tempdir().expect("dir");
    let jaas = write(dir.path(), "server.jaas", SERVER_JAAS);
    let e = compat_tests::CorralEnsemble::start_with(3, |c| {
        if c.server_id == 1 {
            c.auth.sasl_provider = true;
            c.auth.jaas_file = Some(jaas.clone());
            c.auth.finish(false).expect("the JAAS file loads");
        }
    });
    let addrs: Vec<String> = e.addrs().iter().map(ToString::to_string).collect();
    let out = python(
        "kazoo_sasl_acl_spread.py",
        &[&addrs[0], &addrs[1], &addrs[2]],
    );
    assert_eq!(out[0], "created", "{out:?}");
    for (line, addr) in out[1..].iter().zip(&addrs[1..]) {
        assert_eq!(
            *line,
            format!("{addr} sasl:jaasuser 31,world:anyone 1"),
            "the node as member {addr} has it"
        );
    }
}
