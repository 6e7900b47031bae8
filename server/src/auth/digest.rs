//! The `digest` scheme (`DigestAuthenticationProvider`): the credential
//! `user:password` is the id `user:base64(sha1(user:password))`; when that
//! equals the configured super digest, the caller is also `super`.

use jute::Id;

use crate::Config;

/// The ids `credentials` authenticate: `super` first when it is the super
/// digest (as ZooKeeper adds them), then the digest id.
pub(super) fn ids(config: &Config, credentials: &[u8]) -> Vec<Id> {
    let id = storage::acl::digest_id(&String::from_utf8_lossy(credentials));
    let mut ids = Vec::with_capacity(2);
    if config.super_digest.as_deref() == Some(id.as_str()) {
        ids.push(Id::new("super", ""));
    }
    ids.push(Id::new("digest", id));
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_super_digest_adds_the_super_user() {
        let mut config = Config::defaults();
        let alice = ids(&config, b"alice:pw");
        assert_eq!(
            alice,
            vec![Id::new("digest", "alice:V55/p2T0OpjQ+low3NVAH4aLvm0=")]
        );
        config.super_digest = Some("super:0bX78nEegDzJM3ju0iLBEJdWzjg=".into());
        let su = ids(&config, b"super:pw");
        assert_eq!(su[0], Id::new("super", ""));
        assert_eq!(su[1].scheme, "digest");
        assert_eq!(ids(&config, b"super:wrong").len(), 1);
    }
}
