//! A throw-away MIT Kerberos KDC (Debian's `krb5-kdc`) for the GSSAPI
//! tests: a realm in a temporary directory, the KDC on a loopback port,
//! service keytabs and client principals made with `kadmin.local`, and
//! the client's ticket cache made with `kinit`. Killed on drop.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{ChildGuard, free_port, poll_until, require_file};

/// The test realm.
pub const REALM: &str = "TEST.REALM";

/// A running KDC and its files.
pub struct Kdc {
    dir: tempfile::TempDir,
    /// The KDC's port on 127.0.0.1.
    pub port: u16,
    _child: ChildGuard,
}

impl Kdc {
    /// Makes the realm and starts its KDC.
    ///
    /// # Panics
    /// If the Kerberos tools are missing or the KDC does not start.
    pub fn start() -> Self {
        for tool in [
            "/usr/sbin/krb5kdc",
            "/usr/sbin/kdb5_util",
            "/usr/sbin/kadmin.local",
            "/usr/bin/kinit",
        ] {
            require_file(
                tool,
                "MIT Kerberos (Debian packages krb5-kdc, krb5-admin-server, krb5-user)",
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("kdc-")
            .tempdir()
            .expect("the KDC's directory");
        let d = dir.path();
        let port = free_port();
        std::fs::write(
            d.join("krb5.conf"),
            format!(
                "[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n \
                 dns_canonicalize_hostname = false\n rdns = false\n udp_preference_limit = 1\n\
                 [realms]\n {REALM} = {{\n  kdc = 127.0.0.1:{port}\n }}\n"
            ),
        )
        .expect("krb5.conf");
        std::fs::write(
            d.join("kdc.conf"),
            format!(
                "[kdcdefaults]\n kdc_listen = 127.0.0.1:{port}\n kdc_tcp_listen = 127.0.0.1:{port}\n\
                 [realms]\n {REALM} = {{\n  database_name = {db}\n  key_stash_file = {stash}\n  acl_file = {acl}\n  \
                 supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal\n }}\n\
                 [logging]\n kdc = FILE:{log}\n",
                db = d.join("principal").display(),
                stash = d.join("stash").display(),
                acl = d.join("kadm5.acl").display(),
                log = d.join("kdc.log").display(),
            ),
        )
        .expect("kdc.conf");
        run_in(
            d,
            "/usr/sbin/kdb5_util",
            &["create", "-s", "-P", "master-pw", "-r", REALM],
        );
        let child = command_in(d, "/usr/sbin/krb5kdc")
            .args(["-n", "-r", REALM])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start krb5kdc");
        let kdc = Kdc {
            port,
            _child: ChildGuard::new(child, "the test KDC"),
            dir,
        };
        let up = poll_until(Duration::from_secs(10), || {
            std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()
        });
        assert!(up.is_some(), "the KDC did not listen on {port}");
        kdc
    }

    /// A command with this realm's environment.
    pub fn command(&self, program: &str) -> Command {
        command_in(self.dir.path(), program)
    }

    fn run(&self, program: &str, args: &[&str]) {
        run_in(self.dir.path(), program, args);
    }

    /// The environment MIT Kerberos clients need: the realm's krb5.conf,
    /// the KDC's profile, the ticket cache, no replay cache.
    pub fn env(&self) -> Vec<(String, String)> {
        env_in(self.dir.path())
    }

    /// The realm's krb5.conf (Java: `-Djava.security.krb5.conf`).
    pub fn krb5_conf(&self) -> PathBuf {
        self.dir.path().join("krb5.conf")
    }

    /// A directory for the test's files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A service principal with random keys, exported to a keytab.
    pub fn service(&self, principal: &str) -> PathBuf {
        let keytab = self
            .dir
            .path()
            .join(format!("{}.keytab", principal.replace(['/', '@'], "_")));
        self.service_in(principal, &keytab);
        keytab
    }

    /// A service principal with random keys, added to `keytab`.
    pub fn service_in(&self, principal: &str, keytab: &Path) {
        self.run(
            "/usr/sbin/kadmin.local",
            &["-r", REALM, "-q", &format!("addprinc -randkey {principal}")],
        );
        self.run(
            "/usr/sbin/kadmin.local",
            &[
                "-r",
                REALM,
                "-q",
                &format!("ktadd -k {} {principal}", keytab.display()),
            ],
        );
    }

    /// A user principal with `password`, also exported (keys kept) to a
    /// keytab for the Java client.
    pub fn user(&self, principal: &str, password: &str) -> PathBuf {
        self.run(
            "/usr/sbin/kadmin.local",
            &[
                "-r",
                REALM,
                "-q",
                &format!("addprinc -pw {password} {principal}"),
            ],
        );
        let keytab = self
            .dir
            .path()
            .join(format!("{}.keytab", principal.replace(['/', '@'], "_")));
        self.run(
            "/usr/sbin/kadmin.local",
            &[
                "-r",
                REALM,
                "-q",
                &format!("ktadd -norandkey -k {} {principal}", keytab.display()),
            ],
        );
        keytab
    }

    /// `kinit` as `principal` into the realm's ticket cache.
    pub fn kinit(&self, principal: &str, password: &str) {
        use std::io::Write;
        let mut child = self
            .command("/usr/bin/kinit")
            .arg(principal)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kinit");
        if let Some(mut stdin) = child.stdin.take() {
            let _ = writeln!(stdin, "{password}");
        }
        let out = child.wait_with_output().expect("kinit");
        assert!(
            out.status.success(),
            "kinit: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn env_in(d: &Path) -> Vec<(String, String)> {
    vec![
        (
            "KRB5_CONFIG".into(),
            d.join("krb5.conf").display().to_string(),
        ),
        (
            "KRB5_KDC_PROFILE".into(),
            d.join("kdc.conf").display().to_string(),
        ),
        (
            "KRB5CCNAME".into(),
            format!("FILE:{}", d.join("ccache").display()),
        ),
        ("KRB5RCACHETYPE".into(), "none".into()),
    ]
}

fn command_in(d: &Path, program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.envs(env_in(d));
    cmd
}

fn run_in(d: &Path, program: &str, args: &[&str]) {
    let out = command_in(d, program).args(args).output().expect(program);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
