//! The `ip` scheme (`IPAuthenticationProvider`): the caller is its
//! address. Every connection starts with this id; `addauth ip` adds
//! nothing new. Matching `ip` ACLs (address and mask) is
//! `storage::acl`'s.

use std::net::IpAddr;

use jute::Id;

/// The id of a caller at `peer`.
pub(super) fn id(peer: IpAddr) -> Id {
    Id::new("ip", peer.to_string())
}
