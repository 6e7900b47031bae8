//! SASL GSSAPI (Kerberos V5, RFC 4752) for the `sasl` request, as
//! ZooKeeper's server runs it when its JAAS `Server` section logs in with
//! `Krb5LoginModule`: tickets for the section's `principal`
//! (`zookeeper/<host>@<REALM>`), keys from its `keyTab`, quality of
//! protection `auth` only. The Kerberos work (the AP-REQ's ticket and
//! authenticator checked, replays refused, RFC 4121 wrap tokens) is the
//! pure-Rust `krb5` crate's; see `docs/decisions/0002-gssapi.md`.
//!
//! The exchange: the client's first token carries the AP-REQ; the
//! server answers with the AP-REP when the client asked for mutual
//! authentication (then waits for an empty token), and then offers its
//! security layers in a wrap token (`0x01`: none, with a 64 KiB buffer);
//! the client's wrapped answer picks one (and names an authorization id,
//! which ZooKeeper ignores); the exchange ends with a null token. The
//! session is then `sasl:<client principal>`.

use std::sync::Arc;

use super::sasl::{SaslError, Step};

/// The acceptor's settings, read from the JAAS section at start.
#[derive(Debug, Clone)]
pub(crate) struct Acceptor {
    /// The service principal tickets must be for (the JAAS `principal`).
    pub principal: String,
    /// The keys of the keytab (the JAAS `keyTab`).
    pub keytab: Arc<krb5::Keytab>,
}

impl Acceptor {
    /// Reads `keytab` and checks that it holds keys for `principal`.
    ///
    /// # Errors
    /// One line naming the file and what is wrong.
    pub(crate) fn load(principal: &str, keytab: &std::path::Path) -> Result<Self, String> {
        let kt =
            krb5::Keytab::load(keytab).map_err(|e| format!("keyTab {}: {e}", keytab.display()))?;
        if kt.find_key(principal).is_none() {
            return Err(format!(
                "keyTab {} has no key for {principal}",
                keytab.display()
            ));
        }
        Ok(Acceptor {
            principal: principal.to_owned(),
            keytab: Arc::new(kt),
        })
    }
}

/// The security layers the server offers: none only (bit 0x01), and the
/// largest message it takes, 65536, in three bytes, as Java's GSSAPI
/// server offers them to ZooKeeper's clients.
const OFFER: [u8; 4] = [0x01, 0x01, 0x00, 0x00];

/// RFC 4121's "sealed" flag in a wrap token's flags octet.
const FLAG_SEALED: u8 = 0x02;

/// One connection's GSSAPI exchange (not `Clone`: one owner).
#[derive(Debug)]
pub(crate) struct Gssapi {
    acceptor: Acceptor,
    state: State,
}

#[derive(Debug)]
enum State {
    Start,
    /// The AP-REP was sent; the client answers with an empty token.
    Mutual(Box<krb5::KerberosContext>),
    /// The security layers were offered; the client picks one.
    Offered(Box<krb5::KerberosContext>),
    Done,
}

fn failed(e: impl std::fmt::Display) -> SaslError {
    SaslError::Gssapi(e.to_string())
}

impl Gssapi {
    /// A new exchange for `acceptor`.
    pub(crate) fn new(acceptor: Acceptor) -> Self {
        Gssapi {
            acceptor,
            state: State::Start,
        }
    }

    /// Takes the client's token, gives the next one (an empty
    /// `Step::Done` token is sent as a null one).
    ///
    /// # Errors
    /// [`SaslError`]: the exchange fails; nothing more may be sent on it.
    pub(crate) fn step(&mut self, token: &[u8]) -> Result<Step, SaslError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Start => {
                let (ctx, ap_rep) =
                    krb5::KerberosContext::accept_token(&self.acceptor.keytab, token)
                        .map_err(failed)?;
                if ctx.service_principal != self.acceptor.principal {
                    return Err(failed(format!(
                        "a ticket for {}, not {}",
                        ctx.service_principal, self.acceptor.principal
                    )));
                }
                if ap_rep.is_empty() {
                    let offer = offer(&ctx)?;
                    self.state = State::Offered(Box::new(ctx));
                    Ok(Step::Challenge(offer))
                } else {
                    self.state = State::Mutual(Box::new(ctx));
                    Ok(Step::Challenge(ap_rep))
                }
            }
            State::Mutual(ctx) => {
                if !token.is_empty() {
                    return Err(failed("expected an empty token after the AP-REP"));
                }
                let offer = offer(&ctx)?;
                self.state = State::Offered(ctx);
                Ok(Step::Challenge(offer))
            }
            State::Offered(ctx) => {
                let tokens = ctx.per_message_tokens().map_err(failed)?;
                let sealed = token.get(2).is_some_and(|f| f & FLAG_SEALED != 0);
                let verified = if sealed {
                    tokens.unwrap(token)
                } else {
                    tokens.verify_wrap_unsealed(token)
                }
                .map_err(failed)?;
                let choice = verified.message;
                if choice.len() < 4 {
                    return Err(failed("the security layer choice is shorter than 4 bytes"));
                }
                if choice[0] & OFFER[0] == 0 {
                    return Err(failed(format!(
                        "security layer {:#04x} was not offered (only none is)",
                        choice[0]
                    )));
                }
                Ok(Step::Done {
                    token: Vec::new(),
                    user: ctx.client_principal.clone(),
                })
            }
            State::Done => Err(SaslError::Complete),
        }
    }
}

/// The wrapped security-layer offer (integrity-protected, not sealed).
fn offer(ctx: &krb5::KerberosContext) -> Result<Vec<u8>, SaslError> {
    let tokens = ctx.per_message_tokens().map_err(failed)?;
    tokens
        .emit_wrap_unsealed(u64::from(ctx.acceptor_seq), &OFFER, 0)
        .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_tokens_fail_cleanly() {
        let acceptor = Acceptor {
            principal: "zookeeper/127.0.0.1@TEST.REALM".into(),
            keytab: Arc::new(krb5::Keytab::new()),
        };
        for bad in [
            &b""[..],
            b"\x60\x03\x06\x01\x00",
            &[0xffu8; 300],
            b"\x60\x82\xff\xff",
        ] {
            let mut g = Gssapi::new(acceptor.clone());
            assert!(matches!(g.step(bad), Err(SaslError::Gssapi(_))), "{bad:?}");
            assert_eq!(g.step(b""), Err(SaslError::Complete));
        }
    }
}
