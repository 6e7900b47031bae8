//! Versioned on-disk encoding of nodes, sessions and metadata. Independent
//! of the client wire format, though it reuses jute's primitives.
//!
//! ```text
//! nodes    key: path (UTF-8)       value: [v=1][StatPersisted 60 B][vector<ACL>][nullable buffer data]
//! sessions key: session id (i64 BE) value: [v=1][timeOut i32][buffer passwd]
//! meta     key: "format"           value: [1]
//!          key: "last_zxid"        value: i64 BE
//! ```

use bytes::{BufMut, Bytes, BytesMut};
use jute::{Acl, Decode, Encode, StatPersisted};

use crate::StorageError;
use crate::sessions::SessionInfo;

/// The format version written in every value's first byte.
pub const VERSION: u8 = 1;

fn corrupt(what: &str, e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(format!("{what}: {e}"))
}

fn versioned<'a>(bytes: &'a [u8], what: &str) -> Result<&'a [u8], StorageError> {
    match bytes.split_first() {
        Some((&VERSION, rest)) => Ok(rest),
        Some((v, _)) => Err(corrupt(what, format_args!("unknown format version {v}"))),
        None => Err(corrupt(what, "empty value")),
    }
}

/// Encodes a node value.
pub fn encode_node(stat: &StatPersisted, acl: &[Acl], data: Option<&[u8]>) -> Bytes {
    let acl_len: usize = 4 + acl.iter().map(Encode::encoded_len).sum::<usize>();
    let mut buf = BytesMut::with_capacity(1 + 60 + acl_len + 4 + data.map_or(0, <[u8]>::len));
    encode_node_into(&mut buf, stat, acl, data);
    buf.freeze()
}

/// Appends a node value to `buf` ([`encode_node`]'s bytes).
pub fn encode_node_into(
    buf: &mut BytesMut,
    stat: &StatPersisted,
    acl: &[Acl],
    data: Option<&[u8]>,
) {
    buf.put_u8(VERSION);
    stat.encode(buf);
    buf.put_i32(i32::try_from(acl.len()).unwrap_or(i32::MAX));
    for a in acl {
        a.encode(buf);
    }
    put_data(buf, data);
}

/// A node's data as jute writes a `buffer` (-1 for null).
fn put_data(buf: &mut BytesMut, data: Option<&[u8]>) {
    match data {
        None => buf.put_i32(-1),
        Some(d) => {
            buf.put_i32(i32::try_from(d.len()).unwrap_or(i32::MAX));
            buf.put_slice(d);
        }
    }
}

/// Appends a node value to `buf`, its stat and ACL list given already
/// encoded (jute's `StatPersisted`, 60 bytes, and `vector<ACL>`, as
/// [`encode_node_into`] writes them).
pub fn encode_node_raw_into(buf: &mut BytesMut, stat: &[u8], acl: &[u8], data: Option<&[u8]>) {
    buf.put_u8(VERSION);
    buf.put_slice(stat);
    buf.put_slice(acl);
    put_data(buf, data);
}

/// A node value, borrowed: the ACL list still encoded (so that a loader
/// can recognise a list it has already decoded by its bytes) and the data
/// not copied.
#[derive(Debug)]
pub struct NodeRef<'a> {
    /// The persisted stat (internal cversion).
    pub stat: StatPersisted,
    /// The encoded `vector<ACL>`; [`decode_acl`] reads it.
    pub acl: &'a [u8],
    /// The data, `None` for null.
    pub data: Option<&'a [u8]>,
}

/// Splits a node value without copying or decoding its ACL list.
///
/// # Errors
/// [`StorageError::Corrupt`] if the bytes are not a node of this version
/// (the ACL list is checked only for its framing: [`decode_acl`] checks it).
pub fn split_node(bytes: &[u8]) -> Result<NodeRef<'_>, StorageError> {
    let rest = versioned(bytes, "node")?;
    let (rest, stat) =
        StatPersisted::decode(rest).map_err(|e| corrupt("node stat", format_args!("{e:?}")))?;
    let after_acl = skip_acl(rest).ok_or_else(|| corrupt("node acl", "truncated"))?;
    let acl = &rest[..rest.len() - after_acl.len()];
    let (rest, data) =
        jute::buffer_ref(after_acl).map_err(|e| corrupt("node data", format_args!("{e:?}")))?;
    if !rest.is_empty() {
        return Err(corrupt(
            "node",
            format_args!("{} trailing bytes", rest.len()),
        ));
    }
    Ok(NodeRef { stat, acl, data })
}

/// The input after an encoded `vector<ACL>` (`int` count, then per entry
/// `int perms`, `ustring scheme`, `ustring id`), without decoding it.
fn skip_acl(input: &[u8]) -> Option<&[u8]> {
    let (mut rest, n) = i32::decode(input).ok()?;
    for _ in 0..n.max(0) {
        rest = i32::decode(rest).ok()?.0;
        rest = jute::buffer_ref(rest).ok()?.0;
        rest = jute::buffer_ref(rest).ok()?.0;
    }
    Some(rest)
}

/// Decodes the ACL list of a [`NodeRef`].
///
/// # Errors
/// [`StorageError::Corrupt`] if it is not a whole `vector<ACL>`.
pub fn decode_acl(bytes: &[u8]) -> Result<Vec<Acl>, StorageError> {
    match <Vec<Acl>>::decode(bytes) {
        Ok(([], acl)) => Ok(acl),
        Ok((rest, _)) => Err(corrupt(
            "node acl",
            format_args!("{} trailing bytes", rest.len()),
        )),
        Err(e) => Err(corrupt("node acl", format_args!("{e:?}"))),
    }
}

/// Encodes a session value.
pub fn encode_session(info: &SessionInfo) -> Bytes {
    let mut buf = BytesMut::with_capacity(1 + 4 + info.passwd.encoded_len());
    buf.put_u8(VERSION);
    info.timeout_ms.encode(&mut buf);
    info.passwd.encode(&mut buf);
    buf.freeze()
}

/// Decodes a session value.
///
/// # Errors
/// [`StorageError::Corrupt`] if the bytes are not a session of this version.
pub fn decode_session(bytes: &[u8]) -> Result<SessionInfo, StorageError> {
    let rest = versioned(bytes, "session")?;
    let (rest, timeout_ms) =
        i32::decode(rest).map_err(|e| corrupt("session timeout", format_args!("{e:?}")))?;
    let (_, passwd) =
        Bytes::decode(rest).map_err(|e| corrupt("session passwd", format_args!("{e:?}")))?;
    Ok(SessionInfo { timeout_ms, passwd })
}

/// Decodes a big-endian i64 key or value.
///
/// # Errors
/// [`StorageError::Corrupt`] unless `bytes` is exactly 8 bytes.
pub fn decode_i64(bytes: &[u8], what: &str) -> Result<i64, StorageError> {
    let arr: [u8; 8] = bytes
        .try_into()
        .map_err(|_| corrupt(what, format_args!("{} bytes, want 8", bytes.len())))?;
    Ok(i64::from_be_bytes(arr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jute::Id;

    #[test]
    fn nodes_and_sessions_round_trip_and_reject_garbage() {
        let stat = StatPersisted {
            czxid: 1,
            mzxid: 2,
            ctime: 3,
            mtime: 4,
            version: 5,
            cversion: 6,
            aversion: 7,
            ephemeral_owner: 8,
            pzxid: 9,
        };
        let acl = vec![
            Acl::open(),
            Acl {
                perms: 1,
                id: Id::new("digest", "u:x"),
            },
        ];
        for data in [None, Some(Bytes::new()), Some(Bytes::from_static(b"hello"))] {
            let v = encode_node(&stat, &acl, data.as_deref());
            let r = split_node(&v).expect("split");
            assert_eq!(
                (r.stat, decode_acl(r.acl).ok(), r.data),
                (stat.clone(), Some(acl.clone()), data.as_deref())
            );
        }
        let s = SessionInfo {
            timeout_ms: 4000,
            passwd: Bytes::from_static(&[3; 16]),
        };
        assert_eq!(decode_session(&encode_session(&s)).ok(), Some(s));
        assert!(split_node(&[]).is_err());
        assert!(split_node(&[2, 0, 0]).is_err());
        assert!(split_node(&[1, 0, 0]).is_err());
        assert!(decode_i64(&[1, 2], "x").is_err());
        let v = encode_node(&stat, &acl, Some(b"data"));
        let r = split_node(&v).expect("split");
        assert_eq!(r.stat, stat);
        assert_eq!(r.data, Some(&b"data"[..]));
        assert_eq!(decode_acl(r.acl).ok(), Some(acl.clone()));
        for cut in 1..v.len() {
            assert!(split_node(&v[..cut]).is_err(), "cut at {cut}");
        }
    }
}
