//! TLS for clients on `secureClientPort` (and the unified client port),
//! with rustls (no OpenSSL), from the keys ZooKeeper operators already
//! set (X509Util's):
//!
//! - `ssl.keyStore.location` (`.type`, `.password`): the server's key and
//!   certificate chain, as PEM (the key unencrypted, PKCS#8, PKCS#1 or
//!   SEC1) or PKCS#12; JKS and BCFKS are refused at start with the
//!   `keytool` command that converts them;
//! - `ssl.trustStore.location` (`.type`, `.password`): the CA
//!   certificates a client's certificate must chain to;
//! - `ssl.clientAuth`: `need` (ZooKeeper's default: a trusted client
//!   certificate is required), `want` (checked if presented), `none`;
//! - `ssl.enabledProtocols` / `ssl.protocol`: TLSv1.2, TLSv1.3 (both when
//!   unset); `ssl.ciphersuites`: by IANA name.
//!
//! The handshake is bounded by `ssl.handshakeDetectionTimeoutMillis`; a
//! client that fails it (no certificate, an untrusted one, not TLS at
//! all, malformed records) loses only its own connection.

use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio_rustls::TlsAcceptor;

use crate::config::{ClientAuth, SslConfig, TlsVersion};

/// Why the TLS settings cannot be used; one line naming the key.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsError {
    /// A key TLS needs is missing.
    #[error("TLS needs {0}")]
    Missing(&'static str),
    /// A store type Corral does not read.
    #[error(
        "{key}={kind} is not read by Corral (PEM and PKCS12 are); convert the store, e.g. `keytool -importkeystore -srckeystore store.jks -destkeystore store.p12 -deststoretype PKCS12`"
    )]
    StoreType {
        /// The key.
        key: &'static str,
        /// Its value.
        kind: String,
    },
    /// A store could not be read or parsed.
    #[error("{key} {path}: {why}")]
    Store {
        /// The key.
        key: &'static str,
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// No cipher suite left for any enabled protocol.
    #[error(
        "ssl.ciphersuites and ssl.enabledProtocols leave no cipher suite to use (rustls serves the TLSv1.3 suites and TLSv1.2's ECDHE AES-GCM and ChaCha20 ones)"
    )]
    NoSuites,
    /// rustls refused the combination.
    #[error("TLS settings: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A store's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreKind {
    Pem,
    Pkcs12,
}

/// The store's type as given, or guessed from the file's extension as
/// ZooKeeper's `KeyStoreFileType.fromFilename` does; PEM and PKCS#12 are
/// read, JKS and BCFKS refused with the conversion command.
fn store_kind(key: &'static str, kind: Option<&str>, path: &Path) -> Result<StoreKind, TlsError> {
    let kind = kind.map(str::to_ascii_uppercase).unwrap_or_else(|| {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
        {
            Some(e) if e == "p12" || e == "pfx" => "PKCS12".into(),
            Some(e) if e == "jks" => "JKS".into(),
            Some(e) if e == "bcfks" => "BCFKS".into(),
            _ => "PEM".into(),
        }
    });
    match kind.as_str() {
        "PEM" => Ok(StoreKind::Pem),
        "PKCS12" => Ok(StoreKind::Pkcs12),
        _ => Err(TlsError::StoreType { key, kind }),
    }
}

fn store_err(key: &'static str, path: &Path, why: impl std::fmt::Display) -> TlsError {
    TlsError::Store {
        key,
        path: path.display().to_string(),
        why: why.to_string(),
    }
}

fn read(key: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| store_err(key, path, e))
}

/// The certificates of a PEM file, in order.
fn certificates(key: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(key, path)?;
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_reader_iter(&mut BufReader::new(bytes.as_slice()))
            .collect::<Result<_, _>>()
            .map_err(|e| store_err(key, path, e))?;
    if certs.is_empty() {
        return Err(store_err(key, path, "no CERTIFICATE in it"));
    }
    Ok(certs)
}

/// The acceptor in use, replaced when its files change (ZooKeeper's
/// `client.certReload`): each new connection takes the current one, so a
/// certificate replaced on disk serves new clients within a second while
/// the connections already made keep theirs.
pub(crate) struct Acceptor {
    current: std::sync::RwLock<TlsAcceptor>,
    ssl: SslConfig,
    /// The key and trust stores' (modified time, length) when last read.
    stamp: std::sync::Mutex<Vec<Option<(std::time::SystemTime, u64)>>>,
}

impl Acceptor {
    /// The acceptor for `ssl` (see [`acceptor`]).
    ///
    /// # Errors
    /// As [`acceptor`].
    pub(crate) fn new(ssl: &SslConfig) -> Result<Self, TlsError> {
        Ok(Acceptor {
            current: std::sync::RwLock::new(acceptor(ssl)?),
            stamp: std::sync::Mutex::new(stamps(ssl)),
            ssl: ssl.clone(),
        })
    }

    /// The acceptor for the next connection.
    pub(crate) fn get(&self) -> TlsAcceptor {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Reads the stores again if they changed since last read, and
    /// swaps the acceptor if they make a good one; a store caught half
    /// written (or wrong) leaves the old acceptor in place, and is read
    /// again at the next change.
    pub(crate) fn reload_if_changed(&self) {
        let now = stamps(&self.ssl);
        {
            let mut last = self
                .stamp
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if *last == now {
                return;
            }
            *last = now;
        }
        match acceptor(&self.ssl) {
            Ok(fresh) => {
                *self
                    .current
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
                tracing::info!("TLS key or trust store changed: new connections use the new one");
            }
            Err(e) => {
                tracing::warn!(error = %e, "TLS stores changed but cannot be used; keeping the old ones")
            }
        }
    }
}

/// The stores' modification times and lengths.
fn stamps(ssl: &SslConfig) -> Vec<Option<(std::time::SystemTime, u64)>> {
    [&ssl.key_store, &ssl.trust_store]
        .into_iter()
        .map(|p| {
            p.as_deref()
                .and_then(|p| std::fs::metadata(p).ok())
                .and_then(|m| m.modified().ok().map(|t| (t, m.len())))
        })
        .collect()
}

/// Watches the stores (`client.certReload`), every second, until
/// `shutdown`.
pub(crate) async fn watch(
    acceptor: std::sync::Arc<Acceptor>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let a = acceptor.clone();
        // Reading and parsing the files is blocking work.
        let _ = tokio::task::spawn_blocking(move || a.reload_if_changed()).await;
    }
}

/// A PKCS#12 store, opened with its password (empty if none is set).
fn pkcs12(
    key: &'static str,
    path: &Path,
    password: Option<&str>,
    policy: p12_keystore::Pkcs12ImportPolicy,
) -> Result<p12_keystore::KeyStore, TlsError> {
    let bytes = read(key, path)?;
    p12_keystore::KeyStore::from_pkcs12(&bytes, password.unwrap_or(""), policy)
        .map_err(|e| store_err(key, path, format!("cannot open it as PKCS#12: {e}")))
}

type KeyAndChain = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// The server's key and certificate chain from the key store.
fn key_store(ssl: &SslConfig) -> Result<KeyAndChain, TlsError> {
    const KEY_STORE: &str = "ssl.keyStore.location";
    let path = ssl
        .key_store
        .as_deref()
        .ok_or(TlsError::Missing(KEY_STORE))?;
    match store_kind("ssl.keyStore.type", ssl.key_store_type.as_deref(), path)? {
        StoreKind::Pem => {
            let chain = certificates(KEY_STORE, path)?;
            let bytes = read(KEY_STORE, path)?;
            if String::from_utf8_lossy(&bytes).contains("ENCRYPTED PRIVATE KEY") {
                return Err(store_err(
                    KEY_STORE,
                    path,
                    "the private key is encrypted; store it unencrypted (`openssl pkcs8 -in key.pem -out plain.pem`), or use a PKCS12 store with ssl.keyStore.password",
                ));
            }
            let key =
                PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| store_err(KEY_STORE, path, e))?;
            Ok((chain, key))
        }
        StoreKind::Pkcs12 => {
            let store = pkcs12(
                KEY_STORE,
                path,
                ssl.key_store_password.as_deref(),
                p12_keystore::Pkcs12ImportPolicy::Relaxed,
            )?;
            store
                .entries()
                .find_map(|(_, e)| match e {
                    p12_keystore::KeyStoreEntry::PrivateKeyChain(c) if !c.certs().is_empty() => {
                        let chain = c
                            .certs()
                            .iter()
                            .map(|cert| CertificateDer::from(cert.as_der().to_vec()))
                            .collect();
                        let key = PrivateKeyDer::Pkcs8(c.key().as_der().to_vec().into());
                        Some((chain, key))
                    }
                    _ => None,
                })
                .ok_or_else(|| {
                    store_err(KEY_STORE, path, "no private key with its certificate in it")
                })
        }
    }
}

/// The CA certificates of the trust store.
fn trust_store(ssl: &SslConfig) -> Result<(Vec<CertificateDer<'static>>, &Path), TlsError> {
    const TRUST_STORE: &str = "ssl.trustStore.location";
    let path = ssl
        .trust_store
        .as_deref()
        .ok_or(TlsError::Missing(TRUST_STORE))?;
    let certs = match store_kind("ssl.trustStore.type", ssl.trust_store_type.as_deref(), path)? {
        StoreKind::Pem => certificates(TRUST_STORE, path)?,
        StoreKind::Pkcs12 => {
            // Raw: every certificate, whether or not a tool marked it
            // trusted (Java's keytool does, openssl does not).
            let store = pkcs12(
                TRUST_STORE,
                path,
                ssl.trust_store_password.as_deref(),
                p12_keystore::Pkcs12ImportPolicy::Raw,
            )?;
            store
                .entries()
                .filter_map(|(_, e)| match e {
                    p12_keystore::KeyStoreEntry::Certificate(c) => {
                        Some(CertificateDer::from(c.as_der().to_vec()))
                    }
                    _ => None,
                })
                .collect()
        }
    };
    if certs.is_empty() {
        return Err(store_err(TRUST_STORE, path, "no certificate in it"));
    }
    Ok((certs, path))
}

/// The acceptor for `ssl`, checked now so that a bad setting stops the
/// start with one line rather than failing every handshake.
///
/// # Errors
/// [`TlsError`]: a missing key, a store of another type or that does not
/// open, or settings rustls refuses.
pub(crate) fn acceptor(ssl: &SslConfig) -> Result<TlsAcceptor, TlsError> {
    let (chain, key) = key_store(ssl)?;
    let (provider, versions) = provider(ssl)?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)?;
    let builder = if ssl.client_auth == ClientAuth::None {
        builder.with_no_client_auth()
    } else {
        let (roots, path) = roots(ssl)?;
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
        let verifier = if ssl.client_auth == ClientAuth::Want {
            verifier.allow_unauthenticated()
        } else {
            verifier
        };
        let verifier = verifier
            .build()
            .map_err(|e| store_err("ssl.trustStore.location", path, e))?;
        builder.with_client_cert_verifier(verifier)
    };
    let config = builder.with_single_cert(chain, key)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

type Versions = Vec<&'static rustls::SupportedProtocolVersion>;

/// The crypto provider with `ssl.ciphersuites` (by IANA name, which is
/// Java's too), and the protocol versions of `ssl.enabledProtocols` /
/// `ssl.protocol` that the suites leave usable.
fn provider(ssl: &SslConfig) -> Result<(Arc<rustls::crypto::CryptoProvider>, Versions), TlsError> {
    // ring, not aws-lc-rs: no cmake or large C build on the 2-core CI.
    // rustls deprecates it for lacking post-quantum key exchange, which
    // no ZooKeeper client offers yet.
    #[allow(deprecated)]
    let mut provider = rustls::crypto::ring::default_provider();
    if !ssl.cipher_suites.is_empty() {
        provider.cipher_suites.retain(|s| {
            let name = format!("{:?}", s.suite());
            ssl.cipher_suites.contains(&name)
        });
        for c in &ssl.cipher_suites {
            if !rustls::crypto::ring::ALL_CIPHER_SUITES
                .iter()
                .any(|s| format!("{:?}", s.suite()) == *c)
            {
                tracing::warn!(suite = %c, "ssl.ciphersuites: not a suite rustls serves; left out");
            }
        }
    }
    let wanted: Versions = if ssl.protocols.is_empty() {
        vec![&rustls::version::TLS12, &rustls::version::TLS13]
    } else {
        ssl.protocols
            .iter()
            .map(|v| match v {
                TlsVersion::Tls12 => &rustls::version::TLS12,
                TlsVersion::Tls13 => &rustls::version::TLS13,
            })
            .collect()
    };
    let versions: Versions = wanted
        .into_iter()
        .filter(|v| provider.cipher_suites.iter().any(|s| s.version() == *v))
        .collect();
    if versions.is_empty() {
        return Err(TlsError::NoSuites);
    }
    Ok((Arc::new(provider), versions))
}

/// The trust store as rustls roots.
fn roots(ssl: &SslConfig) -> Result<(RootCertStore, &Path), TlsError> {
    let (certs, path) = trust_store(ssl)?;
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| store_err("ssl.trustStore.location", path, e))?;
    }
    Ok((roots, path))
}

/// A peer's certificate checked against the trust store but not against
/// the address dialled (`ssl.quorum.hostnameVerification=false`).
#[derive(Debug)]
struct AnyName(Arc<dyn rustls::client::danger::ServerCertVerifier>);

impl rustls::client::danger::ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(rustls::client::danger::ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// How a member dials its peers: with its own certificate, checking
/// theirs against the trust store (and, with hostname verification, the
/// address dialled, as ZooKeeper's quorum `ZKTrustManager` does).
fn connector(ssl: &SslConfig) -> Result<tokio_rustls::TlsConnector, TlsError> {
    let (chain, key) = key_store(ssl)?;
    let (provider, versions) = provider(ssl)?;
    let (roots, path) = roots(ssl)?;
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| store_err("ssl.trustStore.location", path, e))?;
    let verifier: Arc<dyn rustls::client::danger::ServerCertVerifier> = if ssl.hostname_verification
    {
        verifier
    } else {
        Arc::new(AnyName(verifier))
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(chain, key)?;
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// TLS between members from `sslQuorum`, `portUnification` and the
/// `ssl.quorum.*` stores (`None` with neither key on): mutual
/// authentication, a peer without a certificate the trust store vouches
/// for is refused whatever `ssl.quorum.clientAuth` says.
///
/// # Errors
/// As [`acceptor`], the keys named without their `quorum.` part.
pub(crate) fn peer_tls(
    config: &crate::Config,
) -> Result<Option<consensus::network::PeerTls>, TlsError> {
    if !config.ssl_quorum && !config.quorum_port_unification {
        return Ok(None);
    }
    let ssl = quorum_ssl(config)?;
    Ok(Some(consensus::network::PeerTls::new(
        connector(&ssl)?,
        acceptor(&ssl)?,
        config.ssl_quorum,
        config.quorum_port_unification,
        ssl.handshake_timeout,
    )))
}

/// The client side of `sslQuorum=true` alone: this server's certificate
/// and the trust store, for dialing a quorum port (the Zab observer of
/// `corral migrate follow`); `None` without `sslQuorum`.
///
/// # Errors
/// [`TlsError`] if a store is missing or cannot be read.
pub(crate) fn quorum_client_config(
    config: &crate::Config,
) -> Result<Option<Arc<rustls::ClientConfig>>, TlsError> {
    if !config.ssl_quorum {
        return Ok(None);
    }
    Ok(Some(connector(&quorum_ssl(config)?)?.config().clone()))
}

/// The members' stores, client certificates always required.
///
/// # Errors
/// [`TlsError::Missing`] without a key store or a trust store.
fn quorum_ssl(config: &crate::Config) -> Result<SslConfig, TlsError> {
    let mut ssl = config.quorum_ssl.clone();
    ssl.client_auth = ClientAuth::Need;
    if ssl.key_store.is_none() {
        return Err(TlsError::Missing("ssl.quorum.keyStore.location"));
    }
    if ssl.trust_store.is_none() {
        return Err(TlsError::Missing("ssl.quorum.trustStore.location"));
    }
    Ok(ssl)
}

/// Reads the members' stores again when they change
/// (`sslQuorumReloadCertFiles`), every second until `shutdown`: new peer
/// connections use the new certificates, those made keep theirs. Stores
/// caught half written, or wrong, leave the old ones in use.
pub(crate) async fn watch_quorum(
    config: crate::Config,
    tls: consensus::network::PeerTls,
    shutdown: tokio_util::sync::CancellationToken,
) {
    // Started once `peer_tls` found both stores named.
    let Ok(ssl) = quorum_ssl(&config) else { return };
    let mut last = stamps(&ssl);
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = stamps(&ssl);
        if now == last {
            continue;
        }
        last = now;
        let (ssl2, tls2) = (ssl.clone(), tls.clone());
        let rebuilt = tokio::task::spawn_blocking(move || {
            let fresh = connector(&ssl2).and_then(|c| Ok((c, acceptor(&ssl2)?)));
            match fresh {
                Ok((c, a)) => {
                    tls2.replace(c, a);
                    tracing::info!("member TLS stores changed: new peer connections use them");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "member TLS stores changed but cannot be used; keeping the old ones")
                }
            }
        });
        let _ = rebuilt.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_that_cannot_work_are_refused_with_the_key() {
        let none = SslConfig::default();
        let e = acceptor(&none)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("ssl.keyStore.location"), "{e}");
        let p12 = SslConfig {
            key_store: Some("/etc/zk/keystore.p12".into()),
            ..SslConfig::default()
        };
        let e = acceptor(&p12)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("/etc/zk/keystore.p12"), "{e}");
        let jks = SslConfig {
            key_store: Some("/etc/zk/keystore".into()),
            key_store_type: Some("JKS".into()),
            ..SslConfig::default()
        };
        let e = acceptor(&jks)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("JKS") && e.contains("keytool"), "{e}");
        let missing = SslConfig {
            key_store: Some("/nonexistent/keystore.pem".into()),
            ..SslConfig::default()
        };
        let e = acceptor(&missing)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("/nonexistent/keystore.pem"), "{e}");
    }
}
