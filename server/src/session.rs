//! A connection's view of its session: id, timeout, and the authenticated
//! ids of this connection (ZooKeeper keeps auth per connection: a client
//! re-sends `addauth` after reconnecting).
//!
//! The ids are kept in the order ZooKeeper's `ServerCnxn.authInfo` (a
//! `ConcurrentHashMap`-backed set) iterates them, because that order is
//! visible: in `whoAmI` replies and in how an `auth` ACL expands.

use std::net::SocketAddr;
use std::time::Duration;

use jute::Id;

/// The session a connection serves, and that connection's identities.
/// Not `Clone`: its SASL exchange must have one owner.
#[derive(Debug)]
pub(crate) struct SessionCtx {
    /// Session id.
    pub id: i64,
    /// Negotiated timeout.
    pub timeout: Duration,
    /// This connection's id, to tell it from a newer connection of the
    /// same session.
    pub conn_id: u64,
    /// Authenticated ids, in ZooKeeper's iteration order.
    auth: Vec<Id>,
    /// A read-only member's local session: reads only (writes and `sync`
    /// are NOTREADONLY), known to this member alone.
    pub read_only: bool,
    /// The client's address (the `ip` scheme's id).
    pub peer: std::net::IpAddr,
    /// The SASL exchange under way on this connection, if one began.
    pub sasl: Option<crate::auth::sasl::Exchange>,
}

/// Java's `String.hashCode` over UTF-16 code units.
fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The `ConcurrentHashMap` bin of an `Id` in a table of `bins` (jute's
/// `Id.hashCode`, then CHM's `spread`).
fn bin(id: &Id, bins: u32) -> u32 {
    let h = 37i32
        .wrapping_mul(37i32.wrapping_mul(17).wrapping_add(java_hash(&id.scheme)))
        .wrapping_add(java_hash(&id.id));
    let spread = (h ^ ((h as u32) >> 16) as i32) & 0x7fff_ffff;
    (spread as u32) & (bins - 1)
}

impl SessionCtx {
    /// A session served over a connection from `peer`, which starts with
    /// the id `ip:<peer address>` as in ZooKeeper, the `proven` ids of the
    /// transport (a client certificate's `x509` id), and the record of
    /// the auth `schemes` this server serves (`storage::acl::SCHEMES_ID`,
    /// never shown to the client).
    pub(crate) fn new(
        id: i64,
        timeout: Duration,
        conn_id: u64,
        peer: SocketAddr,
        proven: &[Id],
        schemes: storage::acl::Schemes,
    ) -> Self {
        let mut s = SessionCtx {
            id,
            timeout,
            conn_id,
            auth: Vec::new(),
            read_only: false,
            peer: peer.ip(),
            sasl: None,
        };
        s.add_auth(crate::auth::peer_id(peer.ip()));
        for id in proven {
            s.add_auth(id.clone());
        }
        if let Some(id) = schemes.id() {
            s.add_auth(id);
        }
        s
    }

    /// Adds an authenticated id (a set: duplicates are ignored).
    pub(crate) fn add_auth(&mut self, id: Id) {
        if self.auth.contains(&id) {
            return;
        }
        self.auth.push(id);
        // CHM starts with 16 bins and doubles at 3/4 full; within a bin,
        // insertion order. A stable sort by bin reproduces its iteration.
        let bins = if self.auth.len() >= 12 { 32 } else { 16 };
        self.auth.sort_by_key(|id| bin(id, bins));
    }

    /// The authenticated ids.
    pub(crate) fn auth(&self) -> &[Id] {
        &self.auth
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hashes() {
        assert_eq!(java_hash(""), 0);
        assert_eq!(java_hash("ip"), 3367);
        assert_eq!(java_hash("hello"), 99_162_322);
    }

    #[test]
    fn auth_order_matches_the_golden_who_am_i() {
        // The captured whoAmI reply (java-crud) lists digest:alice before
        // ip:127.0.0.1 although the ip id was there first.
        let peer: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        let mut s = SessionCtx::new(
            1,
            Duration::from_secs(10),
            1,
            peer,
            &[],
            storage::acl::Schemes::default(),
        );
        s.add_auth(Id::new("digest", storage::acl::digest_id("alice:secret")));
        let schemes: Vec<&str> = s.auth().iter().map(|i| i.scheme.as_str()).collect();
        assert_eq!(schemes, vec!["digest", "ip"]);
    }
}
