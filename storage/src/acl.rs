//! ACL evaluation, validation and interning.
//!
//! - [`check`]: ZooKeeper's `ZooKeeperServer.checkACL`: an empty ACL or a
//!   `super` id allows everything; otherwise some entry must grant the
//!   permission to `world:anyone` or to one of the caller's ids (`digest`,
//!   `x509` by equality, `sasl` by equality or as the SASL user `super`,
//!   `ip` by address and mask).
//! - [`fixup`]: `PrepRequestProcessor.fixupACL`: duplicates removed, `auth`
//!   entries replaced by the caller's authenticated (digest, x509, sasl)
//!   ids, every entry validated; `INVALIDACL` otherwise.
//!
//! `x509` and `sasl` exist only where their providers are configured
//! ([`Schemes`]); ZooKeeper's `ProviderRegistry` has no others. Which
//! are served travels with each request, as an id of the scheme
//! [`SCHEMES_ID`] that the server serving the session puts among its ids:
//! a write is applied on every member as its proposer saw it (ZooKeeper's
//! leader decides in `PrepRequestProcessor`), even while members are
//! configured differently, mid-way through a rolling change.
//! - [`AclTable`]: ACL lists interned with reference counts, like
//!   ZooKeeper's `ReferenceCountedACLCache`, so a million nodes with the same
//!   ACL share one list.
//!
//! Callers pass the session's authenticated ids; nothing here looks up
//! sessions.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use jute::{Acl, ErrorCode, Id, Perms};
use sha1::{Digest as _, Sha1};

/// The id a `digest` credential `user:password` authenticates as:
/// `user:base64(sha1("user:password"))` (`DigestAuthenticationProvider.generateDigest`).
pub fn digest_id(credentials: &str) -> String {
    let user = credentials.split(':').next().unwrap_or("");
    let hash = Sha1::digest(credentials.as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

/// The auth schemes beyond `world`, `digest` and `ip` that are served:
/// ZooKeeper registers `x509` with TLS for clients and `sasl` with
/// `authProvider.N=…SASLAuthenticationProvider`. An ACL of a scheme not
/// served is INVALIDACL and matches nobody.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Schemes {
    /// `X509AuthenticationProvider`.
    pub x509: bool,
    /// `SASLAuthenticationProvider`.
    pub sasl: bool,
}

/// The scheme of the id that records, among a session's ids, the
/// [`Schemes`] its server serves. No provider has it, so no client can
/// authenticate as it, and no ACL can name it.
pub const SCHEMES_ID: &str = "corral.schemes";

impl Schemes {
    /// The id recording these schemes among a session's ids; `None` when
    /// only the built-in ones are served.
    pub fn id(self) -> Option<Id> {
        let names: Vec<&str> = [("x509", self.x509), ("sasl", self.sasl)]
            .into_iter()
            .filter_map(|(n, on)| on.then_some(n))
            .collect();
        (!names.is_empty()).then(|| Id::new(SCHEMES_ID, names.join(",")))
    }

    /// The schemes recorded among `ids` (none beyond the built-in ones
    /// when no id records them).
    pub fn of(ids: &[Id]) -> Self {
        let mut s = Schemes::default();
        for id in ids.iter().filter(|i| i.scheme == SCHEMES_ID) {
            for name in id.id.split(',') {
                match name {
                    "x509" => s.x509 = true,
                    "sasl" => s.sasl = true,
                    _ => {}
                }
            }
        }
        s
    }
}

/// Whether `scheme` is served for a caller with `ids`: digest and ip
/// always; x509 and sasl as the ids record ([`Schemes::of`], looked at
/// only for those two).
fn served(scheme: &str, ids: &[Id]) -> bool {
    match scheme {
        "digest" | "ip" => true,
        "x509" => Schemes::of(ids).x509,
        "sasl" => Schemes::of(ids).sasl,
        _ => false,
    }
}

/// Whether `ids` may do `perm` on a node with `acl`.
pub fn check(acl: &[Acl], perm: Perms, ids: &[Id]) -> Result<(), ErrorCode> {
    if acl.is_empty() || ids.iter().any(|id| id.scheme == "super") {
        return Ok(());
    }
    for entry in acl {
        if entry.perms & perm.bits() == 0 {
            continue;
        }
        let id = &entry.id;
        if id.scheme == "world" && id.id == "anyone" {
            return Ok(());
        }
        if !served(&id.scheme, ids) {
            continue;
        }
        for caller in ids.iter().filter(|c| c.scheme == id.scheme) {
            let matched = match id.scheme.as_str() {
                "digest" | "x509" => caller.id == id.id,
                // SASLAuthenticationProvider.matches: the SASL user
                // `super` matches every sasl entry.
                "sasl" => caller.id == id.id || caller.id == "super",
                "ip" => ip_matches(&caller.id, &id.id),
                _ => false,
            };
            if matched {
                return Ok(());
            }
        }
    }
    Err(ErrorCode::NoAuth)
}

/// Parses a dotted IPv4 address as `IPAuthenticationProvider.addr2Bytes`
/// does: four parts, each `Integer.parseInt` in 0..=255 (so `001` and `+1`
/// are accepted). ZooKeeper's ip scheme knows no IPv6.
fn parse_v4(addr: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = addr.split('.');
    for slot in &mut out {
        let part = parts.next()?;
        let digits = part.strip_prefix('+').unwrap_or(part);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = u8::try_from(digits.parse::<u32>().ok()?).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// Parses `addr[/bits]` as `IPAuthenticationProvider.isValid` does.
fn parse_ip_expr(expr: &str) -> Option<([u8; 4], u32)> {
    let (addr, bits) = match expr.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (expr, None),
    };
    let addr = parse_v4(addr)?;
    let bits = match bits {
        Some(b) => b.parse::<u32>().ok().filter(|b| *b <= 32)?,
        None => 32,
    };
    Some((addr, bits))
}

fn ip_matches(caller: &str, expr: &str) -> bool {
    let (Some((want, bits)), Some(have)) = (parse_ip_expr(expr), parse_v4(caller)) else {
        return false;
    };
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    u32::from_be_bytes(want) & mask == u32::from_be_bytes(have) & mask
}

/// The number of parts Java's `String.split(":")` gives: trailing empty
/// parts are dropped.
fn java_split_colon(s: &str) -> usize {
    let mut parts: Vec<&str> = s.split(':').collect();
    while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts.len()
}

/// Whether an id is valid for its scheme (`AuthenticationProvider.isValid`).
fn valid_id(id: &Id, ids: &[Id]) -> bool {
    match id.scheme.as_str() {
        "world" => id.id == "anyone",
        "digest" => java_split_colon(&id.id) == 2,
        "ip" => parse_ip_expr(&id.id).is_some(),
        "x509" => served("x509", ids) && valid_dn(&id.id),
        "sasl" => served("sasl", ids) && valid_kerberos_name(&id.id),
        _ => false,
    }
}

/// Whether `X500Principal` would parse `dn` (`X509AuthenticationProvider.isValid`):
/// empty, or `type=value` parts split by unescaped `,`, `;` or `+`.
fn valid_dn(dn: &str) -> bool {
    if dn.trim().is_empty() {
        return true;
    }
    let mut parts = Vec::new();
    let (mut start, mut escaped, mut quoted) = (0, false, false);
    for (i, c) in dn.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ',' | ';' | '+' if !quoted => {
                parts.push(&dn[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&dn[start..]);
    !escaped
        && !quoted
        && parts
            .iter()
            .all(|p| p.split_once('=').is_some_and(|(k, _)| !k.trim().is_empty()))
}

/// Whether `KerberosName` takes `name` (`SASLAuthenticationProvider.isValid`):
/// `primary[/instance]@REALM`, or any name without an `@`.
fn valid_kerberos_name(name: &str) -> bool {
    let Some((principal, realm)) = name.split_once('@') else {
        return true;
    };
    !realm.contains(['@', '/'])
        && match principal.split_once('/') {
            Some((primary, instance)) => !primary.contains('@') && !instance.contains(['/', '@']),
            None => true,
        }
}

/// Turns a request's ACL into the one stored, as `fixupACL` does.
///
/// # Errors
/// `INVALIDACL` for an empty list, an `auth` entry when the caller has no
/// authenticated id, an unknown scheme or an invalid id.
pub fn fixup(acl: &[Acl], ids: &[Id]) -> Result<Vec<Acl>, ErrorCode> {
    if acl.is_empty() {
        return Err(ErrorCode::InvalidAcl);
    }
    let mut out: Vec<Acl> = Vec::with_capacity(acl.len());
    let push = |a: Acl, out: &mut Vec<Acl>| {
        if !out.contains(&a) {
            out.push(a);
        }
    };
    for entry in acl {
        if entry.id.scheme == "auth" {
            // Only authenticated ids stand in for `auth`: digest, x509 and
            // sasl ids (an ip id is not "authenticated" in ZooKeeper's
            // sense, and `super` has no provider).
            let mut any = false;
            for id in ids
                .iter()
                .filter(|id| id.scheme != "ip" && served(&id.scheme, ids))
            {
                push(
                    Acl {
                        perms: entry.perms,
                        id: id.clone(),
                    },
                    &mut out,
                );
                any = true;
            }
            if !any {
                return Err(ErrorCode::InvalidAcl);
            }
        } else if valid_id(&entry.id, ids) {
            push(entry.clone(), &mut out);
        } else {
            return Err(ErrorCode::InvalidAcl);
        }
    }
    Ok(out)
}

/// A handle to an interned ACL list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AclRef(pub u32);

/// Interned ACL lists with reference counts. Deterministic: the same
/// sequence of `intern`/`release` calls gives the same refs on every replica.
#[derive(Debug, Default, Clone)]
pub struct AclTable {
    lists: Vec<Option<(Arc<[Acl]>, u64)>>,
    index: HashMap<Arc<[Acl]>, u32>,
    free: Vec<u32>,
}

impl AclTable {
    /// The ref for `acl`, adding one use.
    pub fn intern(&mut self, acl: &[Acl]) -> AclRef {
        if let Some(&i) = self.index.get(acl) {
            if let Some(Some((_, n))) = self.lists.get_mut(i as usize) {
                *n += 1;
            }
            return AclRef(i);
        }
        let list: Arc<[Acl]> = acl.into();
        let i = match self.free.pop() {
            Some(i) => {
                if let Some(slot) = self.lists.get_mut(i as usize) {
                    *slot = Some((list.clone(), 1));
                }
                i
            }
            None => {
                self.lists.push(Some((list.clone(), 1)));
                u32::try_from(self.lists.len() - 1).unwrap_or(u32::MAX)
            }
        };
        self.index.insert(list, i);
        AclRef(i)
    }

    /// Adds one use of `r`, an interned list (loading many nodes that share
    /// one list without hashing it again).
    pub fn add_use(&mut self, r: AclRef) {
        if let Some(Some((_, n))) = self.lists.get_mut(r.0 as usize) {
            *n += 1;
        }
    }

    /// Drops one use of `r`; the list is freed with its last use.
    pub fn release(&mut self, r: AclRef) {
        let Some(slot) = self.lists.get_mut(r.0 as usize) else {
            return;
        };
        let Some((list, n)) = slot else { return };
        *n -= 1;
        if *n == 0 {
            self.index.remove(list);
            *slot = None;
            self.free.push(r.0);
        }
    }

    /// The list behind `r` (empty if unknown, which would be a bug).
    pub fn get(&self, r: AclRef) -> &[Acl] {
        match self.lists.get(r.0 as usize) {
            Some(Some((list, _))) => list,
            _ => &[],
        }
    }

    /// The list behind `r` as a shared handle (for events that outlive the
    /// node, such as a delete's).
    pub fn shared(&self, r: AclRef) -> Arc<[Acl]> {
        match self.lists.get(r.0 as usize) {
            Some(Some((list, _))) => list.clone(),
            _ => Arc::from(Vec::new()),
        }
    }

    /// Number of distinct lists in use.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no list is in use.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::{AclTable, ErrorCode, Id, Perms, Schemes, check, digest_id, fixup};
    use jute::Acl;

    #[test]
    fn the_served_schemes_travel_among_the_ids() {
        let both = Schemes {
            x509: true,
            sasl: true,
        };
        assert_eq!(Schemes::default().id(), None);
        let id = both.id().expect("an id");
        assert_eq!(Schemes::of(&[Id::new("ip", "127.0.0.1"), id]), both);
        assert_eq!(
            Schemes::of(&[Id::new("ip", "127.0.0.1")]),
            Schemes::default()
        );
        let sasl_only = Schemes {
            x509: false,
            sasl: true,
        };
        assert_eq!(Schemes::of(&[sasl_only.id().expect("id")]), sasl_only);
    }

    #[test]
    fn x509_and_sasl_only_where_served() {
        let all = Schemes {
            x509: true,
            sasl: true,
        };
        let me = vec![
            Id::new("ip", "127.0.0.1"),
            Id::new("x509", "CN=app,O=Example"),
            Id::new("sasl", "bob"),
        ];
        // The same caller on a server that serves both schemes.
        let marker = all.id().expect("an id");
        let with: Vec<Id> = me.iter().cloned().chain([marker.clone()]).collect();
        let x = acl(Perms::ALL, "x509", "CN=app,O=Example");
        let s = acl(Perms::ALL, "sasl", "bob");
        assert_eq!(
            fixup(std::slice::from_ref(&x), &me),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fixup(std::slice::from_ref(&s), &me),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fixup(&[x.clone(), s.clone()], &with),
            Ok(vec![x.clone(), s.clone()])
        );
        // `auth` stands for the x509 and sasl ids, not the address.
        assert_eq!(
            fixup(&[acl(Perms::ALL, "auth", "")], &with),
            Ok(vec![x.clone(), s.clone()])
        );
        assert_eq!(
            fixup(&[acl(Perms::ALL, "auth", "")], &me),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(check(std::slice::from_ref(&x), Perms::READ, &with), Ok(()));
        assert_eq!(
            check(std::slice::from_ref(&x), Perms::READ, &me),
            Err(ErrorCode::NoAuth)
        );
        let other = [Id::new("x509", "CN=other"), marker.clone()];
        assert_eq!(
            check(std::slice::from_ref(&x), Perms::READ, &other),
            Err(ErrorCode::NoAuth)
        );
        // The SASL user `super` matches any sasl entry.
        assert_eq!(
            check(&[s], Perms::READ, &[Id::new("sasl", "super"), marker]),
            Ok(())
        );
        for (id, ok) in [
            ("", true),
            ("CN=a", true),
            ("CN=a\\,b,O=x", true),
            ("CN=a+UID=1", true),
            ("nonsense", false),
            ("CN=a,", false),
        ] {
            assert_eq!(
                fixup(&[acl(Perms::ALL, "x509", id)], &with).is_ok(),
                ok,
                "x509:{id}"
            );
        }
        for (id, ok) in [
            ("bob", true),
            ("zk/host@REALM", true),
            ("zk@REALM", true),
            ("a@b@c", false),
            ("a/b/c@R", false),
        ] {
            assert_eq!(
                fixup(&[acl(Perms::ALL, "sasl", id)], &with).is_ok(),
                ok,
                "sasl:{id}"
            );
        }
    }

    fn acl(perms: Perms, scheme: &str, id: &str) -> Acl {
        Acl {
            perms: perms.bits(),
            id: Id::new(scheme, id),
        }
    }

    #[test]
    fn digest_matches_zookeeper() {
        // zkCli: addauth digest super:admin → super:xQJmxLMiHGwaqBvst5y6rkB6HQs=
        assert_eq!(
            digest_id("super:admin"),
            "super:xQJmxLMiHGwaqBvst5y6rkB6HQs="
        );
    }

    #[test]
    fn checks_by_scheme() {
        let user = Id::new("digest", "u:h");
        let list = vec![
            acl(Perms::READ, "digest", "u:h"),
            acl(Perms::WRITE, "ip", "10.0.0.0/8"),
        ];
        assert_eq!(
            check(&list, Perms::READ, std::slice::from_ref(&user)),
            Ok(())
        );
        assert_eq!(
            check(&list, Perms::WRITE, std::slice::from_ref(&user)),
            Err(ErrorCode::NoAuth)
        );
        assert_eq!(
            check(&list, Perms::WRITE, &[Id::new("ip", "10.2.3.4")]),
            Ok(())
        );
        assert_eq!(
            check(&list, Perms::WRITE, &[Id::new("ip", "11.2.3.4")]),
            Err(ErrorCode::NoAuth)
        );
        assert_eq!(check(&list, Perms::ADMIN, &[Id::new("super", "")]), Ok(()));
        assert_eq!(check(&[], Perms::ADMIN, &[]), Ok(()));
        assert_eq!(check(&[Acl::open()], Perms::DELETE, &[]), Ok(()));
        let padded = vec![acl(Perms::READ, "ip", "010.000.0.1/8")];
        assert_eq!(
            check(&padded, Perms::READ, &[Id::new("ip", "10.9.9.9")]),
            Ok(())
        );
        assert_eq!(
            check(&padded, Perms::READ, &[Id::new("ip", "::1")]),
            Err(ErrorCode::NoAuth)
        );
    }

    #[test]
    fn fixup_expands_auth_and_rejects_invalid() {
        let me = vec![Id::new("ip", "127.0.0.1"), Id::new("digest", "u:h")];
        let out = fixup(
            &[acl(Perms::ALL, "auth", ""), acl(Perms::ALL, "auth", "")],
            &me,
        );
        assert_eq!(out, Ok(vec![acl(Perms::ALL, "digest", "u:h")]));
        assert_eq!(
            fixup(&[acl(Perms::ALL, "auth", "")], &me[..1]),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(fixup(&[], &me), Err(ErrorCode::InvalidAcl));
        assert_eq!(
            fixup(&[acl(Perms::ALL, "world", "someone")], &me),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fixup(&[acl(Perms::ALL, "digest", "nocolon")], &me),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fixup(&[acl(Perms::ALL, "ip", "300.1.1.1")], &me),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fixup(&[acl(Perms::ALL, "foo", "bar")], &me),
            Err(ErrorCode::InvalidAcl)
        );
    }

    #[test]
    fn interning_shares_and_frees() {
        let mut t = AclTable::default();
        let a = t.intern(&[Acl::open()]);
        let b = t.intern(&[Acl::open()]);
        assert_eq!(a, b);
        assert_eq!(t.len(), 1);
        t.release(a);
        assert_eq!(t.get(b), &[Acl::open()]);
        t.release(b);
        assert!(t.is_empty());
        let c = t.intern(&[acl(Perms::READ, "world", "anyone")]);
        assert_eq!(c, a, "freed slots are reused");
    }

    #[test]
    fn id_validity_follows_the_java_providers() {
        let me = vec![Id::new("ip", "127.0.0.1")];
        assert_eq!(
            fixup(&[acl(Perms::ALL, "ip", "::1")], &me),
            Err(ErrorCode::InvalidAcl),
            "IPv4 only"
        );
        assert!(fixup(&[acl(Perms::ALL, "ip", "+1.2.3.4/24")], &me).is_ok());
        // Java's split(":") drops trailing empty strings.
        for (id, ok) in [
            ("a:", false),
            (":b", true),
            ("a:b:", true),
            ("a:b:c", false),
            ("a::", false),
        ] {
            assert_eq!(
                fixup(&[acl(Perms::ALL, "digest", id)], &me).is_ok(),
                ok,
                "{id}"
            );
        }
    }
}
