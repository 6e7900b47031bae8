//! SASL GSSAPI (Kerberos V5) as ZooKeeper serves it (issue #17 item 4),
//! against a throw-away MIT KDC started by the test: the server's JAAS
//! `Server` section logs in with `Krb5LoginModule` from a keytab, and
//! kazoo (pure-sasl over pykerberos, a ticket from `kinit`) and Curator
//! (a JAAS `Client` section with its own keytab) authenticate to Corral
//! and to the reference ZooKeeper 3.8 with the same files. A ticket for
//! another service principal, though its key is in the keytab, is
//! refused by both.

use std::path::Path;
use std::time::Duration;

use compat_tests::kdc::{Kdc, REALM};
use compat_tests::suites::curator_sasl;
use compat_tests::{
    CorralServer, PYTHON, ZooKeeperServer, clients_dir, require_kazoo, run_with_timeout,
};

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn kazoo_and_curator_authenticate_with_kerberos_on_corral_and_zookeeper() {
    require_kazoo();
    let kdc = Kdc::start();
    let service = format!("zookeeper/127.0.0.1@{REALM}");
    let user = format!("alice@{REALM}");
    let service_keytab = kdc.service(&service);
    // The keytab also holds the key of zookeeper/localhost, a principal
    // the server is not: its tickets must still be refused.
    kdc.service_in(&format!("zookeeper/localhost@{REALM}"), &service_keytab);
    let user_keytab = kdc.user(&user, "alice-pw");
    kdc.kinit(&user, "alice-pw");
    let server_jaas = write(
        kdc.dir(),
        "server.jaas",
        &format!(
            "Server {{\n  com.sun.security.auth.module.Krb5LoginModule required\n  useKeyTab=true\n  keyTab=\"{}\"\n  storeKey=true\n  useTicketCache=false\n  principal=\"{service}\";\n}};\n",
            service_keytab.display()
        ),
    );
    let client_jaas = write(
        kdc.dir(),
        "client.jaas",
        &format!(
            "Client {{\n  com.sun.security.auth.module.Krb5LoginModule required\n  useKeyTab=true\n  keyTab=\"{}\"\n  storeKey=true\n  useTicketCache=false\n  principal=\"{user}\";\n}};\n",
            user_keytab.display()
        ),
    );
    let krb5_conf = format!("-Djava.security.krb5.conf={}", kdc.krb5_conf().display());
    let zk = ZooKeeperServer::start_with(&[
        "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
        &format!(
            "-Djava.security.auth.login.config={}",
            server_jaas.display()
        ),
        &krb5_conf,
        "-Dsun.security.krb5.rcache=none",
    ]);
    let data = tempfile::tempdir().expect("dir");
    let mut config = server::Config::for_tests(data.path().to_path_buf());
    config.auth.sasl_provider = true;
    config.auth.jaas_file = Some(server_jaas.clone());
    config.auth.finish(false).expect("the keytab loads");
    let corral = CorralServer::start_with(config, 0);

    let kazoo = |hosts: &str| {
        let mut cmd = std::process::Command::new(PYTHON);
        cmd.arg(clients_dir().join("kazoo_gssapi.py"))
            .arg(hosts)
            .envs(kdc.env())
            .env("PYTHONDONTWRITEBYTECODE", "1");
        let out = run_with_timeout(cmd, b"", Duration::from_secs(60));
        assert!(out.success(), "kazoo_gssapi.py:\n{}", out.transcript());
        out.stdout.lines().map(str::to_owned).collect::<Vec<_>>()
    };
    let theirs = kazoo(&zk.addr().to_string());
    assert_eq!(
        theirs,
        [
            "connect ok".to_owned(),
            format!("acl sasl:{user} 31"),
            "anon get NoAuthError".to_owned(),
        ],
        "kazoo with Kerberos on ZooKeeper"
    );
    assert_eq!(
        kazoo(&corral.addr().to_string()),
        theirs,
        "Corral as ZooKeeper"
    );
    // A ticket for zookeeper/localhost, which both keytabs could decrypt
    // but which names another principal than the servers'.
    let other_host = |port: u16| kazoo(&format!("localhost:{port}"));
    let refused = other_host(zk.addr().port());
    println!("a ticket for zookeeper/localhost, on ZooKeeper: {refused:?}");
    assert_ne!(refused[0], "connect ok", "{refused:?}");
    assert_eq!(other_host(corral.addr().port()), refused);

    let curator = |port: u16| {
        let jvm = [
            format!(
                "-Djava.security.auth.login.config={}",
                client_jaas.display()
            ),
            krb5_conf.clone(),
            format!("-Dzookeeper.server.principal={service}"),
            "-Dsun.security.krb5.rcache=none".to_owned(),
        ];
        curator_sasl(
            &jvm,
            std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            "good",
            &user,
        )
    };
    let expected = format!("ok sasl ip:127.0.0.1,sasl:{user}");
    assert_eq!(curator(zk.addr().port()), expected, "Curator on ZooKeeper");
    assert_eq!(curator(corral.addr().port()), expected, "Curator on Corral");
}
