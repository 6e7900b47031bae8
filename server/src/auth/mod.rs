//! Authentication: which ids a credential of a scheme stands for, one
//! file per scheme (ZooKeeper's `AuthenticationProvider`s), asked by the
//! pipeline (`addauth`) and by the AdminServer (its `Authorization`
//! header); it asks nothing of them.
//!
//! - `digest`: `user:password` → `digest:user:<base64 sha1>`, and the
//!   super user when it matches `DigestAuthenticationProvider.superDigest`.
//! - `ip`: the caller's address.
//! - `x509`: a TLS client's certificate subject ([`x509`]).
//! - `sasl`: DIGEST-MD5 over the `sasl` request ([`sasl`]), with users
//!   from a JAAS file ([`jaas`]), or GSSAPI (Kerberos, [`gssapi`]) with a
//!   keytab.

mod digest;
pub(crate) mod gssapi;
mod ip;
pub(crate) mod jaas;
pub(crate) mod sasl;
pub(crate) mod x509;

use std::net::IpAddr;

use jute::Id;

use crate::Config;

/// The ids `credentials` of `scheme` authenticate, in the order ZooKeeper
/// adds them; `None` for a scheme no provider serves (AUTHFAILED).
pub(crate) fn authenticate(
    config: &Config,
    scheme: &str,
    credentials: &[u8],
    peer: IpAddr,
) -> Option<Vec<Id>> {
    match scheme {
        "digest" => Some(digest::ids(config, credentials)),
        "ip" => Some(vec![ip::id(peer)]),
        _ => None,
    }
}

/// The id every connection has from the start: its address.
pub(crate) fn peer_id(peer: IpAddr) -> Id {
    ip::id(peer)
}
