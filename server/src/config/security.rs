//! The security keys: TLS for clients (`ssl.*`), the auth providers
//! (`authProvider.N`, x509, SASL with its JAAS file) and enforced
//! authentication. Each is read under its zoo.cfg name and under the
//! `zookeeper.`-prefixed name ZooKeeper gives it as a Java property
//! (ZooKeeper turns every zoo.cfg key it does not know into
//! `zookeeper.<key>`), so a deployment's settings move over unchanged.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

/// ZooKeeper's `ssl.clientAuth`: whether a TLS client must present a
/// certificate the trust store vouches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// Required (ZooKeeper's default).
    #[default]
    Need,
    /// Checked if presented.
    Want,
    /// Not asked for.
    None,
}

/// A TLS protocol version (`ssl.protocol`, `ssl.enabledProtocols`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLSv1.2.
    Tls12,
    /// TLSv1.3.
    Tls13,
}

/// The `ssl.*` keys of zoo.cfg (`zookeeper.ssl.*` as ZooKeeper's
/// properties) for the client port's TLS.
#[derive(Debug, Clone)]
pub struct SslConfig {
    /// `ssl.keyStore.location`: the server's key and certificate chain.
    pub key_store: Option<PathBuf>,
    /// `ssl.keyStore.type`: PEM (or guessed from the file name).
    pub key_store_type: Option<String>,
    /// `ssl.keyStore.password` (a PKCS#12 store's; PEM keys are read
    /// unencrypted), or the first line of `ssl.keyStore.passwordPath`.
    pub key_store_password: Option<String>,
    /// `ssl.trustStore.location`: the CA certificates clients' must chain to.
    pub trust_store: Option<PathBuf>,
    /// `ssl.trustStore.type`.
    pub trust_store_type: Option<String>,
    /// `ssl.trustStore.password` (a PKCS#12 trust store's).
    pub trust_store_password: Option<String>,
    /// `ssl.clientAuth`.
    pub client_auth: ClientAuth,
    /// `ssl.enabledProtocols`, else `ssl.protocol`: the TLS versions a
    /// client may use. Empty (neither set): TLSv1.2 and TLSv1.3, where
    /// ZooKeeper 3.8 takes TLSv1.2 alone and 3.9 TLSv1.3 alone.
    pub protocols: Vec<TlsVersion>,
    /// `ssl.ciphersuites`: the cipher suites, by their IANA names (as
    /// Java names them); empty: rustls's safe defaults.
    pub cipher_suites: Vec<String>,
    /// `ssl.handshakeDetectionTimeoutMillis` (default 5 s): how long a
    /// new connection has to show whether it speaks TLS, and to finish
    /// the TLS handshake.
    pub handshake_timeout: Duration,
    /// `ssl.hostnameVerification` (default true): between members, a
    /// peer's certificate must name the address it was dialled at. (On
    /// the client port ZooKeeper checks no client's host name, nor does
    /// Corral.)
    pub hostname_verification: bool,
}

impl Default for SslConfig {
    fn default() -> Self {
        SslConfig {
            key_store: None,
            key_store_type: None,
            key_store_password: None,
            trust_store: None,
            trust_store_type: None,
            trust_store_password: None,
            client_auth: ClientAuth::Need,
            protocols: Vec::new(),
            cipher_suites: Vec::new(),
            handshake_timeout: Duration::from_millis(5000),
            hostname_verification: true,
        }
    }
}

/// What a key's handler made of it.
pub(super) enum Taken {
    /// Not a key of this file.
    NotMine,
    /// Read.
    Ok,
    /// A bad value: why.
    Bad(String),
}

fn flag(value: &str) -> Result<bool, String> {
    value.parse().map_err(|_| "true or false".to_owned())
}

/// Reads a password file's first line (ZooKeeper's `*.passwordPath`).
fn password_file(value: &str) -> Result<String, String> {
    std::fs::read_to_string(value)
        .map(|s| s.lines().next().unwrap_or("").to_owned())
        .map_err(|e| format!("cannot read it: {e}"))
}

fn protocol(name: &str) -> Result<Vec<TlsVersion>, String> {
    match name.trim() {
        "TLSv1.3" => Ok(vec![TlsVersion::Tls13]),
        "TLSv1.2" => Ok(vec![TlsVersion::Tls12]),
        "TLS" => Ok(vec![TlsVersion::Tls12, TlsVersion::Tls13]),
        other => Err(format!(
            "{other} is not served (TLSv1.2 and TLSv1.3 are; older versions are unsafe)"
        )),
    }
}

impl SslConfig {
    /// Takes one `ssl.*` key (without `zookeeper.`).
    pub(super) fn take(&mut self, key: &str, value: &str, enabled_set: &mut bool) -> Taken {
        let r: Result<(), String> = match key {
            "ssl.keyStore.location" => {
                self.key_store = Some(PathBuf::from(value));
                Ok(())
            }
            "ssl.keyStore.type" => {
                self.key_store_type = Some(value.to_owned());
                Ok(())
            }
            "ssl.keyStore.password" => {
                self.key_store_password = Some(value.to_owned());
                Ok(())
            }
            "ssl.keyStore.passwordPath" => {
                password_file(value).map(|p| self.key_store_password = Some(p))
            }
            "ssl.trustStore.location" => {
                self.trust_store = Some(PathBuf::from(value));
                Ok(())
            }
            "ssl.trustStore.type" => {
                self.trust_store_type = Some(value.to_owned());
                Ok(())
            }
            "ssl.trustStore.password" => {
                self.trust_store_password = Some(value.to_owned());
                Ok(())
            }
            "ssl.trustStore.passwordPath" => {
                password_file(value).map(|p| self.trust_store_password = Some(p))
            }
            "ssl.clientAuth" => match value.to_ascii_lowercase().as_str() {
                // ZooKeeper: unset or empty is NEED.
                "need" | "" => {
                    self.client_auth = ClientAuth::Need;
                    Ok(())
                }
                "want" => {
                    self.client_auth = ClientAuth::Want;
                    Ok(())
                }
                "none" => {
                    self.client_auth = ClientAuth::None;
                    Ok(())
                }
                _ => Err("need, want or none".into()),
            },
            // enabledProtocols wins over protocol, whatever their order.
            "ssl.protocol" => protocol(value).map(|p| {
                if !*enabled_set {
                    self.protocols = p;
                }
            }),
            "ssl.enabledProtocols" => {
                let mut all = Vec::new();
                let mut err = None;
                for name in value.split(',').filter(|n| !n.trim().is_empty()) {
                    match protocol(name) {
                        Ok(p) => all.extend(p),
                        Err(e) => err = Some(e),
                    }
                }
                all.sort();
                all.dedup();
                match err {
                    Some(e) => Err(e),
                    None if all.is_empty() => Err("no protocol named".into()),
                    None => {
                        *enabled_set = true;
                        self.protocols = all;
                        Ok(())
                    }
                }
            }
            "ssl.ciphersuites" => {
                self.cipher_suites = value
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect();
                Ok(())
            }
            "ssl.handshakeDetectionTimeoutMillis" => value
                .parse::<i64>()
                .map(|ms| {
                    // ZooKeeper: below 1 means the default.
                    let ms = if ms < 1 { 5000 } else { ms.unsigned_abs() };
                    self.handshake_timeout = Duration::from_millis(ms);
                })
                .map_err(|_| "milliseconds".into()),
            "ssl.hostnameVerification" => flag(value).map(|b| self.hostname_verification = b),
            "ssl.allowReverseDnsLookup" => flag(value).map(|_| {
                info!(
                    key,
                    value,
                    "accepted: Corral checks a peer's certificate against the address it dialled, with no reverse lookup"
                )
            }),
            "ssl.crl" | "ssl.ocsp" => match flag(value) {
                Ok(false) => Ok(()),
                Ok(true) => Err(
                    "revocation checking (CRL distribution points, OCSP) is not supported; take the revoked certificate's CA out of the trust store, or keep this false"
                        .into(),
                ),
                Err(e) => Err(e),
            },
            "ssl.context.supplier.class" => {
                Err("a Java SSLContext supplier cannot be loaded by Corral; give the key and trust stores instead".into())
            }
            _ => return Taken::NotMine,
        };
        match r {
            Ok(()) => Taken::Ok,
            Err(why) => Taken::Bad(why),
        }
    }
}

/// The auth providers and what they are configured with.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// `authProvider.N=org.apache.zookeeper.server.auth.SASLAuthenticationProvider`:
    /// the `sasl` scheme is served (in ACLs and for enforcement).
    pub sasl_provider: bool,
    /// `authProvider.N=…X509AuthenticationProvider`, given explicitly
    /// (ZooKeeper registers it anyway when TLS is on).
    pub x509_provider: bool,
    /// `java.security.auth.login.config` (or `CORRAL_JAAS_CONFIG`): the
    /// JAAS file with the DIGEST-MD5 users.
    pub jaas_file: Option<PathBuf>,
    /// `zookeeper.sasl.serverconfig`: the JAAS section (default `Server`).
    pub jaas_section: Option<String>,
    /// The DIGEST-MD5 users (name → password) read from the JAAS
    /// section; `None` without a JAAS file, when ZooKeeper answers SASL
    /// requests without authenticating anyone.
    pub sasl_users: Option<Arc<BTreeMap<String, String>>>,
    /// GSSAPI (Kerberos): the service principal and keytab of a JAAS
    /// section that logs in with `Krb5LoginModule`; DIGEST-MD5 is then
    /// not served, as with ZooKeeper.
    pub(crate) gssapi: Option<crate::auth::gssapi::Acceptor>,
    /// `zookeeper.superUser` and `zookeeper.superUser.<suffix>`: SASL
    /// users who are also `super`.
    pub super_users: Vec<String>,
    /// `zookeeper.SASLAuthenticationProvider.superPassword`: the
    /// password of the SASL user `super`, over the JAAS file's.
    pub sasl_super_password: Option<String>,
    /// `zookeeper.kerberos.removeHostFromPrincipal`.
    pub remove_host_from_principal: bool,
    /// `zookeeper.kerberos.removeRealmFromPrincipal`.
    pub remove_realm_from_principal: bool,
    /// `zookeeper.allowSaslFailedClients`: a failed SASL exchange is
    /// answered OK (no id) instead of closing the connection.
    pub allow_sasl_failed_clients: bool,
    /// `zookeeper.X509AuthenticationProvider.superUser`: the certificate
    /// subject DN that is also `super`.
    pub x509_super_user: Option<String>,
    /// `zookeeper.enforce.auth.enabled`.
    pub enforce_enabled: bool,
    /// `zookeeper.enforce.auth.schemes`.
    pub enforce_schemes: Vec<String>,
    /// `zookeeper.sessionRequireClientSASLAuth`: enforcement with the
    /// `sasl` scheme, whatever the other two say.
    pub session_require_sasl: bool,
}

impl AuthConfig {
    /// Takes one key (without `zookeeper.`).
    pub(super) fn take(&mut self, key: &str, value: &str) -> Taken {
        let r: Result<(), String> = match key {
            k if k.starts_with("authProvider.") => {
                let class = value.rsplit('.').next().unwrap_or(value);
                match class {
                    "DigestAuthenticationProvider" | "IPAuthenticationProvider" => {}
                    "SASLAuthenticationProvider" => self.sasl_provider = true,
                    "X509AuthenticationProvider" => self.x509_provider = true,
                    _ => warn!(
                        key,
                        value,
                        "a custom auth provider cannot be loaded by Corral (digest, ip, x509 and sasl are built in); ignoring"
                    ),
                }
                Ok(())
            }
            "ssl.authProvider" => {
                if value == "x509" {
                    Ok(())
                } else {
                    Err("Corral authenticates TLS clients with the x509 provider only".into())
                }
            }
            "X509AuthenticationProvider.superUser" => {
                self.x509_super_user = Some(value.to_owned());
                Ok(())
            }
            "superUser" => {
                self.super_users.push(value.to_owned());
                Ok(())
            }
            k if k.starts_with("superUser.") => {
                self.super_users.push(value.to_owned());
                Ok(())
            }
            "SASLAuthenticationProvider.superPassword" => {
                self.sasl_super_password = Some(value.to_owned());
                Ok(())
            }
            "java.security.auth.login.config" => {
                self.jaas_file = Some(PathBuf::from(value));
                Ok(())
            }
            "sasl.serverconfig" => {
                self.jaas_section = Some(value.to_owned());
                Ok(())
            }
            "kerberos.removeHostFromPrincipal" => {
                flag(value).map(|b| self.remove_host_from_principal = b)
            }
            "kerberos.removeRealmFromPrincipal" => {
                flag(value).map(|b| self.remove_realm_from_principal = b)
            }
            "allowSaslFailedClients" => flag(value).map(|b| self.allow_sasl_failed_clients = b),
            "enforce.auth.enabled" => flag(value).map(|b| self.enforce_enabled = b),
            "enforce.auth.schemes" => {
                self.enforce_schemes = value
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect();
                Ok(())
            }
            "sessionRequireClientSASLAuth" => flag(value).map(|b| self.session_require_sasl = b),
            _ => return Taken::NotMine,
        };
        match r {
            Ok(()) => Taken::Ok,
            Err(why) => Taken::Bad(why),
        }
    }

    /// The schemes a session must have authenticated with before any
    /// request but `auth` and `sasl` (`AuthenticationHelper`); `None`
    /// when not enforced.
    pub fn enforced(&self) -> Option<&[String]> {
        self.enforce_enabled
            .then_some(self.enforce_schemes.as_slice())
    }

    /// Whether a failed SASL exchange is SESSIONCLOSEDREQUIRESASLAUTH
    /// rather than AUTHFAILED (`isSaslAuthRequired`).
    pub fn sasl_required(&self) -> bool {
        self.enforced()
            .is_some_and(|s| s.iter().any(|s| s == "sasl"))
    }

    /// Reads the JAAS file and checks the combination, once every key is
    /// in (`Config::load` does; a configuration built in code calls it
    /// itself). `tls` says whether TLS for clients is on (which serves
    /// x509).
    ///
    /// # Errors
    /// One line naming what cannot work.
    pub fn finish(&mut self, tls: bool) -> Result<(), String> {
        // sessionRequireClientSASLAuth overrides the other two.
        if self.session_require_sasl {
            self.enforce_enabled = true;
            self.enforce_schemes = vec!["sasl".to_owned()];
        }
        if self.jaas_file.is_none()
            && let Ok(path) = std::env::var("CORRAL_JAAS_CONFIG")
            && !path.is_empty()
        {
            self.jaas_file = Some(PathBuf::from(path));
        }
        if let Some(path) = &self.jaas_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("JAAS file {}: {e}", path.display()))?;
            let jaas = crate::auth::jaas::parse(&text)
                .map_err(|e| format!("JAAS file {}: {e}", path.display()))?;
            let section = self.jaas_section.as_deref().unwrap_or("Server");
            let entries = jaas.get(section).ok_or_else(|| {
                format!(
                    "No JAAS configuration section named '{section}' was found in '{}'.",
                    path.display()
                )
            })?;
            if let Some(e) = entries
                .iter()
                .find(|e| e.class.ends_with("Krb5LoginModule"))
            {
                let opt = |k: &str| {
                    e.options
                        .iter()
                        .find(|(name, _)| name == k)
                        .map(|(_, v)| v.as_str())
                };
                let (Some("true"), Some(keytab), Some(principal)) =
                    (opt("useKeyTab"), opt("keyTab"), opt("principal"))
                else {
                    return Err(format!(
                        "JAAS section '{section}': {} needs useKeyTab=true, keyTab and principal (a server logs in from its keytab)",
                        e.class
                    ));
                };
                let acceptor =
                    crate::auth::gssapi::Acceptor::load(principal, std::path::Path::new(keytab))
                        .map_err(|why| format!("JAAS section '{section}': {why}"))?;
                self.gssapi = Some(acceptor);
                return self.check_enforced(tls);
            }
            self.sasl_users = Some(Arc::new(crate::auth::jaas::digest_users(entries)));
        } else if self.jaas_section.is_some() {
            return Err(
                "zookeeper.sasl.serverconfig is set but no JAAS file is (java.security.auth.login.config or CORRAL_JAAS_CONFIG)"
                    .into(),
            );
        }
        self.check_enforced(tls)
    }

    /// Enforced schemes must be served.
    fn check_enforced(&self, tls: bool) -> Result<(), String> {
        if let Some(schemes) = self.enforced() {
            if schemes.is_empty() {
                return Err(
                    "zookeeper.enforce.auth.enabled is true zookeeper.enforce.auth.schemes must be  configured."
                        .into(),
                );
            }
            let schemes_served = self.schemes(tls);
            for s in schemes {
                let served = match s.as_str() {
                    "digest" | "ip" => true,
                    "x509" => schemes_served.x509,
                    "sasl" => schemes_served.sasl,
                    _ => false,
                };
                if !served {
                    return Err(format!("Authentication scheme {s} is not available."));
                }
            }
        }
        Ok(())
    }

    /// The schemes served beyond digest and ip: x509 with TLS for clients
    /// (ZooKeeper registers its provider then) or when named, sasl when
    /// its provider is named.
    pub fn schemes(&self, tls: bool) -> storage::acl::Schemes {
        storage::acl::Schemes {
            x509: tls || self.x509_provider,
            sasl: self.sasl_provider,
        }
    }
}
