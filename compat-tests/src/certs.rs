//! Test certificates, made by `openssl` in a test's temporary directory:
//! CAs, and certificates for a TLS server, a client, or an ensemble
//! member (both), as operators make them for ZooKeeper.

use std::path::Path;
use std::process::Command;

/// Runs `openssl args` in `dir`.
///
/// # Panics
/// If openssl fails (its stderr in the message).
pub fn openssl(dir: &Path, args: &[&str]) {
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

/// What a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// A TLS server at 127.0.0.1 / localhost.
    Server,
    /// A TLS client.
    Client,
    /// An ensemble member at 127.0.0.1: server and client alike.
    Member,
}

/// A CA named `ca` in `dir` (`<ca>.pem`, `<ca>.key`), unless it is there.
pub fn ca(dir: &Path, ca: &str) {
    if dir.join(format!("{ca}.pem")).exists() {
        return;
    }
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

/// A certificate `name` (`<name>.crt`, `<name>.key`, and the PEM key store
/// `<name>-keystore.pem`: key and certificate in one file) for `usage`,
/// signed by `ca` (made if missing), subject `/CN=<name>`.
pub fn cert(dir: &Path, ca_name: &str, name: &str, usage: Usage) {
    cert_for(dir, ca_name, name, &format!("/CN={name}"), usage);
}

/// As [`cert`], with the subject `subj` (openssl's `-subj` form).
pub fn cert_for(dir: &Path, ca_name: &str, name: &str, subj: &str, usage: Usage) {
    ca(dir, ca_name);
    let ext = match usage {
        Usage::Server => "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        Usage::Client => "extendedKeyUsage=clientAuth\n",
        Usage::Member => "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
    };
    std::fs::write(dir.join(format!("{name}.ext")), ext).expect("ext file");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            subj,
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
            &format!("{ca_name}.pem"),
            "-CAkey",
            &format!("{ca_name}.key"),
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
