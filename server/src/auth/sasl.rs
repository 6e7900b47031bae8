//! SASL, the `sasl` request (opcode 102): DIGEST-MD5 (RFC 2831) as
//! ZooKeeper's server runs it, the mechanism of ZooKeeper's Java client
//! (a JAAS `Client` section with `DigestLoginModule`) and of kazoo
//! (pure-sasl). No SASL crate serves DIGEST-MD5 (rsasl has none), so
//! the server side is here, on the `md-5` crate.
//!
//! ZooKeeper creates the Java `SaslServer` with protocol `zookeeper`,
//! server name `zk-sasl-md5` and no properties, so: one realm,
//! `zk-sasl-md5`; quality of protection `auth` only (no integrity or
//! privacy layer); `charset=utf-8`; `algorithm=md5-sess`. The client
//! sends an empty token, the server a challenge, the client its digest
//! response, the server `rspauth`; the session is then `sasl:<user>`
//! (ZooKeeper ignores a requested authorization id and uses the
//! authenticated one).

use std::collections::BTreeMap;
use std::sync::Arc;

use md5::{Digest as _, Md5};
use rand::RngCore;

/// ZooKeeper's DIGEST-MD5 realm and server name
/// (`SecurityUtils.createSaslServer`).
pub(crate) const REALM: &str = "zk-sasl-md5";
/// The SASL protocol (service) name.
const PROTOCOL: &str = "zookeeper";

/// The id an authenticated user gets (`SaslServerCallbackHandler`'s
/// authorized id): `primary[/host][@REALM]`, without the host with
/// `kerberos.removeHostFromPrincipal`, without the realm with
/// `kerberos.removeRealmFromPrincipal` — the realm only when it is the
/// server's own (ZooKeeper's short-name rule fails for another realm and
/// keeps the name whole, so a foreign `alice@OTHER` never becomes the
/// local `alice`). A DIGEST-MD5 user is its name.
pub(crate) fn principal(auth: &crate::config::AuthConfig, user: &str) -> String {
    let (name, realm) = match user.split_once('@') {
        Some((n, r)) => (n, Some(r)),
        None => (user, None),
    };
    let (primary, host) = match name.split_once('/') {
        Some((p, h)) => (p, Some(h)),
        None => (name, None),
    };
    let mut id = primary.to_owned();
    if let Some(h) = host.filter(|_| !auth.remove_host_from_principal) {
        id.push('/');
        id.push_str(h);
    }
    let own_realm = auth
        .gssapi
        .as_ref()
        .and_then(|g| g.principal.rsplit_once('@'))
        .map(|(_, r)| r);
    if let Some(r) = realm.filter(|r| !auth.remove_realm_from_principal || own_realm != Some(r)) {
        id.push('@');
        id.push_str(r);
    }
    id
}

/// Why an exchange failed; the client is refused (AUTHFAILED).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum SaslError {
    /// The first token was not empty (DIGEST-MD5 has no initial response).
    #[error("DIGEST-MD5 must not have an initial response")]
    InitialResponse,
    /// The response does not parse, or lacks a directive.
    #[error("DIGEST-MD5: digest response format violation: {0}")]
    Format(String),
    /// No such user, or a wrong password.
    #[error("DIGEST-MD5: authentication failed for {0}")]
    Failed(String),
    /// A token after the exchange completed.
    #[error("SASL authentication already complete")]
    Complete,
    /// A GSSAPI exchange failed (a bad or replayed ticket, a ticket for
    /// another principal, a bad wrap token).
    #[error("GSSAPI: {0}")]
    Gssapi(String),
}

/// A connection's SASL exchange: the mechanism the server's JAAS section
/// gives (GSSAPI with `Krb5LoginModule`, else DIGEST-MD5), as
/// ZooKeeper's `SecurityUtils.createSaslServer` picks it.
#[derive(Debug)]
pub(crate) enum Exchange {
    /// DIGEST-MD5.
    Digest(DigestMd5),
    /// Kerberos V5.
    Gssapi(super::gssapi::Gssapi),
}

impl Exchange {
    /// Takes the client's token, gives the next one.
    ///
    /// # Errors
    /// [`SaslError`]: the exchange fails.
    pub(crate) fn step(&mut self, token: &[u8]) -> Result<Step, SaslError> {
        match self {
            Exchange::Digest(d) => d.step(token),
            Exchange::Gssapi(g) => g.step(token),
        }
    }
}

/// The next token to send, and, once authenticated, who the client is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// A challenge; the exchange goes on.
    Challenge(Vec<u8>),
    /// The last token (`rspauth=…`); the client is this user.
    Done {
        /// The token to send.
        token: Vec<u8>,
        /// The authenticated user.
        user: String,
    },
}

/// One connection's DIGEST-MD5 exchange. Not `Clone`: a copy would
/// answer the same nonce twice.
#[derive(Debug)]
pub(crate) struct DigestMd5 {
    users: Arc<BTreeMap<String, String>>,
    /// The password of `super`, when ZooKeeper's
    /// `SASLAuthenticationProvider.superPassword` overrides the file's.
    super_password: Option<String>,
    state: State,
}

#[derive(Debug)]
enum State {
    Start,
    Challenged { nonce: String },
    Done,
}

impl DigestMd5 {
    /// A new exchange against `users` (name → password).
    pub(crate) fn new(
        users: Arc<BTreeMap<String, String>>,
        super_password: Option<String>,
    ) -> Self {
        DigestMd5 {
            users,
            super_password,
            state: State::Start,
        }
    }

    /// Takes the client's token, gives the next one.
    ///
    /// # Errors
    /// [`SaslError`]: the exchange fails; nothing more may be sent on it.
    pub(crate) fn step(&mut self, token: &[u8]) -> Result<Step, SaslError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Start => {
                if !token.is_empty() {
                    return Err(SaslError::InitialResponse);
                }
                let mut raw = [0u8; 24];
                rand::rng().fill_bytes(&mut raw);
                let nonce = hex::encode(raw);
                let challenge = format!(
                    "realm=\"{REALM}\",nonce=\"{nonce}\",qop=\"auth\",charset=utf-8,algorithm=md5-sess"
                );
                self.state = State::Challenged { nonce };
                Ok(Step::Challenge(challenge.into_bytes()))
            }
            State::Challenged { nonce } => self.respond(token, &nonce),
            State::Done => Err(SaslError::Complete),
        }
    }

    /// Checks the client's digest response (RFC 2831 2.1.2) and answers
    /// with `rspauth`.
    fn respond(&self, token: &[u8], nonce: &str) -> Result<Step, SaslError> {
        let text = std::str::from_utf8(token).map_err(|_| SaslError::Format("not UTF-8".into()))?;
        let d = directives(text).map_err(SaslError::Format)?;
        let get = |k: &str| d.get(k).map(String::as_str);
        let need = |k: &str| get(k).ok_or_else(|| SaslError::Format(format!("no {k}")));
        let user = need("username")?;
        let realm = get("realm").unwrap_or("");
        if !realm.is_empty() && realm != REALM {
            return Err(SaslError::Format(format!("nonexistent realm {realm}")));
        }
        if need("nonce")? != nonce {
            return Err(SaslError::Format("nonce does not match".into()));
        }
        let cnonce = need("cnonce")?;
        let nc = need("nc")?;
        if u32::from_str_radix(nc, 16) != Ok(1) {
            return Err(SaslError::Format(format!("nonce count {nc}")));
        }
        let qop = get("qop").unwrap_or("auth");
        if qop != "auth" {
            return Err(SaslError::Format(format!("qop {qop} was not offered")));
        }
        let uri = need("digest-uri")?;
        if !uri.eq_ignore_ascii_case(&format!("{PROTOCOL}/{REALM}")) {
            return Err(SaslError::Format(format!("digest-uri {uri}")));
        }
        let response = need("response")?;
        let authzid = get("authzid");
        let utf8 = get("charset").is_some_and(|c| c.eq_ignore_ascii_case("utf-8"));
        // superPassword overrides the file's `super`, which must be
        // listed (SaslServerCallbackHandler's name callback).
        let password = match self.users.get(user) {
            Some(_) if user == "super" && self.super_password.is_some() => {
                self.super_password.clone()
            }
            listed => listed.cloned(),
        };
        let Some(password) = password else {
            return Err(SaslError::Failed(user.to_owned()));
        };
        let digest = Digest {
            user,
            realm,
            password: &password,
            nonce,
            cnonce,
            nc,
            authzid,
            uri,
            utf8,
        };
        // In constant time: how much of a guess matched must not leak.
        let expected = digest.response("AUTHENTICATE");
        let given = response.to_ascii_lowercase();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            given.as_bytes(),
        )) {
            return Err(SaslError::Failed(user.to_owned()));
        }
        Ok(Step::Done {
            token: format!("rspauth={}", digest.response("")).into_bytes(),
            user: user.to_owned(),
        })
    }
}

/// What a digest is computed from.
struct Digest<'a> {
    user: &'a str,
    realm: &'a str,
    password: &'a str,
    nonce: &'a str,
    cnonce: &'a str,
    nc: &'a str,
    authzid: Option<&'a str>,
    uri: &'a str,
    utf8: bool,
}

impl Digest<'_> {
    /// RFC 2831 2.1.2.1's `response-value` with A2 = `<method>:digest-uri`
    /// (`AUTHENTICATE` for the client's response, empty for `rspauth`),
    /// qop `auth`.
    fn response(&self, method: &str) -> String {
        let mut h = Md5::new();
        h.update(self.bytes(self.user));
        h.update(b":");
        h.update(self.bytes(self.realm));
        h.update(b":");
        h.update(self.bytes(self.password));
        let secret = h.finalize();
        let mut a1 = Md5::new();
        a1.update(secret);
        a1.update(format!(":{}:{}", self.nonce, self.cnonce));
        if let Some(z) = self.authzid {
            a1.update(b":");
            a1.update(z.as_bytes());
        }
        let ha1 = hex::encode(a1.finalize());
        let ha2 = hex::encode(Md5::digest(format!("{method}:{}", self.uri)));
        hex::encode(Md5::digest(format!(
            "{ha1}:{}:{}:{}:auth:{ha2}",
            self.nonce, self.nc, self.cnonce
        )))
    }

    /// A string as hashed: with `charset=utf-8`, ISO 8859-1 when every
    /// character fits (RFC 2831 2.1.2.1, as Java's `stringToByte_8859_1`),
    /// else UTF-8; without it, ISO 8859-1.
    fn bytes(&self, s: &str) -> Vec<u8> {
        if s.chars().all(|c| u32::from(c) <= 0xff) || !self.utf8 {
            s.chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                .collect()
        } else {
            s.as_bytes().to_vec()
        }
    }
}

/// A digest response's `name=value` directives (values quoted with `\`
/// escapes, or bare), names lower-cased.
fn directives(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' {
                break;
            }
            name.push(c);
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(format!("{name} has no value"));
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => value.push(chars.next().ok_or("an unclosed quote")?),
                    Some(c) => value.push(c),
                    None => return Err("an unclosed quote".into()),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        let name = name.trim().to_ascii_lowercase();
        if out.insert(name.clone(), value.trim().to_owned()).is_some() {
            return Err(format!("{name} is given twice"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_2831_example() {
        let d = Digest {
            user: "chris",
            realm: "elwood.innosoft.com",
            password: "secret",
            nonce: "OA6MG9tEQGm2hh",
            cnonce: "OA6MHXh6VqTrRk",
            nc: "00000001",
            authzid: None,
            uri: "imap/elwood.innosoft.com",
            utf8: true,
        };
        assert_eq!(
            d.response("AUTHENTICATE"),
            "d388dad90d4bbd760a152321f2143af7"
        );
        assert_eq!(d.response(""), "ea40f60335c427b5527b84dbabcdfffd");
    }

    fn users() -> Arc<BTreeMap<String, String>> {
        Arc::new(BTreeMap::from([("bob".to_owned(), "bobsecret".to_owned())]))
    }

    /// A client's response to `challenge` for `user`/`password`.
    fn answer(challenge: &[u8], user: &str, password: &str) -> Vec<u8> {
        let d = directives(std::str::from_utf8(challenge).expect("utf-8")).expect("parses");
        let digest = Digest {
            user,
            realm: REALM,
            password,
            nonce: &d["nonce"],
            cnonce: "client-nonce",
            nc: "00000001",
            authzid: None,
            uri: "zookeeper/zk-sasl-md5",
            utf8: true,
        };
        format!(
            "charset=utf-8,username=\"{user}\",realm=\"{REALM}\",nonce=\"{}\",nc=00000001,cnonce=\"client-nonce\",digest-uri=\"zookeeper/zk-sasl-md5\",maxbuf=65536,response={},qop=auth",
            d["nonce"],
            digest.response("AUTHENTICATE")
        )
        .into_bytes()
    }

    #[test]
    fn an_exchange_authenticates_the_user_and_only_with_the_password() {
        let mut s = DigestMd5::new(users(), None);
        let Ok(Step::Challenge(c)) = s.step(b"") else {
            panic!("a challenge first")
        };
        let text = String::from_utf8_lossy(&c).to_string();
        assert!(text.contains("realm=\"zk-sasl-md5\"") && text.contains("algorithm=md5-sess"));
        match s.step(&answer(&c, "bob", "bobsecret")) {
            Ok(Step::Done { token, user }) => {
                assert_eq!(user, "bob");
                assert!(token.starts_with(b"rspauth="));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.step(b""), Err(SaslError::Complete));

        let mut s = DigestMd5::new(users(), None);
        let Ok(Step::Challenge(c)) = s.step(b"") else {
            panic!("a challenge first")
        };
        assert_eq!(
            s.step(&answer(&c, "bob", "wrong")),
            Err(SaslError::Failed("bob".into()))
        );
        let mut s = DigestMd5::new(users(), None);
        let Ok(Step::Challenge(c)) = s.step(b"") else {
            panic!("a challenge first")
        };
        assert_eq!(
            s.step(&answer(&c, "mallory", "x")),
            Err(SaslError::Failed("mallory".into()))
        );
        // superPassword stands in for the file's `super`, when listed.
        let mut s = DigestMd5::new(users(), Some("su".into()));
        let Ok(Step::Challenge(c)) = s.step(b"") else {
            panic!("a challenge first")
        };
        assert_eq!(
            s.step(&answer(&c, "super", "su")),
            Err(SaslError::Failed("super".into())),
            "no user_super in the file: no super login"
        );
        let mut with_super = (*users()).clone();
        with_super.insert("super".into(), "file-pw".into());
        let mut s = DigestMd5::new(Arc::new(with_super), Some("su".into()));
        let Ok(Step::Challenge(c)) = s.step(b"") else {
            panic!("a challenge first")
        };
        assert!(matches!(
            s.step(&answer(&c, "super", "su")),
            Ok(Step::Done { .. })
        ));
    }

    #[test]
    fn only_the_servers_own_realm_is_removed() {
        let mut auth = crate::config::AuthConfig {
            remove_realm_from_principal: true,
            remove_host_from_principal: true,
            ..Default::default()
        };
        // No GSSAPI: no realm is the server's.
        assert_eq!(principal(&auth, "alice@OTHER"), "alice@OTHER");
        auth.gssapi = Some(super::super::gssapi::Acceptor {
            principal: "zookeeper/h@HOME".into(),
            keytab: Arc::new(krb5::Keytab::new()),
        });
        assert_eq!(principal(&auth, "alice@HOME"), "alice");
        assert_eq!(principal(&auth, "alice@OTHER"), "alice@OTHER");
        assert_eq!(principal(&auth, "svc/host.x@HOME"), "svc");
        assert_eq!(principal(&auth, "bob"), "bob");
    }

    #[test]
    fn malformed_tokens_fail_cleanly() {
        let mut s = DigestMd5::new(users(), None);
        assert_eq!(s.step(b"x"), Err(SaslError::InitialResponse));
        for bad in [
            &b"\xff\xfe"[..],
            b"username",
            b"username=\"open",
            b"username=a,username=b",
            b"username=bob",
            b"",
        ] {
            let mut s = DigestMd5::new(users(), None);
            assert!(matches!(s.step(b""), Ok(Step::Challenge(_))));
            assert!(matches!(s.step(bad), Err(SaslError::Format(_))), "{bad:?}");
        }
    }
}
