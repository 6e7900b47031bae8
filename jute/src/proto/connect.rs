//! The handshake: `ConnectRequest` and `ConnectResponse`, each with the
//! optional trailing `readOnly` byte.
//!
//! `zookeeper.jute` does not list `readOnly`: clients since 3.4 append it by
//! hand, and very old clients do not. The server must answer in the dialect
//! the client used (≤3.8 `isOldClient`; 3.9.0–3.9.2 always sent it and broke
//! old clients, ZOOKEEPER-4492; 3.9.3 went back to mirroring the client,
//! ZOOKEEPER-4814, `compat/ProtocolManager.java`). So `read_only` is an
//! `Option`: `None` means the byte was absent and must stay absent.

use bytes::{Bytes, BytesMut};

use crate::record::{Decode, Encode, JResult};

/// Decodes the optional trailing boolean: present iff a byte is left.
fn trailing_bool(input: &[u8]) -> JResult<'_, Option<bool>> {
    if input.is_empty() {
        Ok((input, None))
    } else {
        let (input, b) = bool::decode(input)?;
        Ok((input, Some(b)))
    }
}

/// `class ConnectRequest` + optional `boolean readOnly`: the first frame of a
/// connection, sent without a `RequestHeader`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRequest {
    /// `int protocolVersion`: 0 for every released client.
    pub protocol_version: i32,
    /// `long lastZxidSeen`: the newest zxid the client has seen; a server
    /// behind it must refuse the session.
    pub last_zxid_seen: i64,
    /// `int timeOut`: requested session timeout, ms.
    pub time_out: i32,
    /// `long sessionId`: 0 for a new session, else the one to resume.
    pub session_id: i64,
    /// `buffer passwd`: 16 bytes when resuming, else zeros or empty.
    pub passwd: Bytes,
    /// `boolean readOnly`: `None` when the client did not send the byte.
    pub read_only: Option<bool>,
}

impl Decode for ConnectRequest {
    const MIN_WIRE_LEN: usize = 28;

    fn decode(input: &[u8]) -> JResult<'_, Self> {
        let (input, protocol_version) = i32::decode(input)?;
        let (input, last_zxid_seen) = i64::decode(input)?;
        let (input, time_out) = i32::decode(input)?;
        let (input, session_id) = i64::decode(input)?;
        let (input, passwd) = Bytes::decode(input)?;
        let (input, read_only) = trailing_bool(input)?;
        Ok((
            input,
            ConnectRequest {
                protocol_version,
                last_zxid_seen,
                time_out,
                session_id,
                passwd,
                read_only,
            },
        ))
    }
}

impl Encode for ConnectRequest {
    fn encode(&self, buf: &mut BytesMut) {
        self.protocol_version.encode(buf);
        self.last_zxid_seen.encode(buf);
        self.time_out.encode(buf);
        self.session_id.encode(buf);
        self.passwd.encode(buf);
        if let Some(ro) = self.read_only {
            ro.encode(buf);
        }
    }

    fn encoded_len(&self) -> usize {
        4 + 8 + 4 + 8 + self.passwd.encoded_len() + usize::from(self.read_only.is_some())
    }
}

/// `class ConnectResponse` + optional `boolean readOnly`: the first frame the
/// server sends, without a `ReplyHeader`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectResponse {
    /// `int protocolVersion`
    pub protocol_version: i32,
    /// `int timeOut`: the negotiated timeout, ms; 0 with session id 0 means
    /// the session is expired or the password was wrong.
    pub time_out: i32,
    /// `long sessionId`
    pub session_id: i64,
    /// `buffer passwd`: 16 bytes.
    pub passwd: Bytes,
    /// `boolean readOnly`: present iff the request had it.
    pub read_only: Option<bool>,
}

impl Decode for ConnectResponse {
    const MIN_WIRE_LEN: usize = 20;

    fn decode(input: &[u8]) -> JResult<'_, Self> {
        let (input, protocol_version) = i32::decode(input)?;
        let (input, time_out) = i32::decode(input)?;
        let (input, session_id) = i64::decode(input)?;
        let (input, passwd) = Bytes::decode(input)?;
        let (input, read_only) = trailing_bool(input)?;
        Ok((
            input,
            ConnectResponse {
                protocol_version,
                time_out,
                session_id,
                passwd,
                read_only,
            },
        ))
    }
}

impl Encode for ConnectResponse {
    fn encode(&self, buf: &mut BytesMut) {
        self.protocol_version.encode(buf);
        self.time_out.encode(buf);
        self.session_id.encode(buf);
        self.passwd.encode(buf);
        if let Some(ro) = self.read_only {
            ro.encode(buf);
        }
    }

    fn encoded_len(&self) -> usize {
        4 + 4 + 8 + self.passwd.encoded_len() + usize::from(self.read_only.is_some())
    }
}

#[cfg(feature = "proptest")]
mod arbitrary {
    use super::*;
    use crate::arbitrary::Field;
    use proptest::prelude::*;

    impl Arbitrary for ConnectRequest {
        type Parameters = ();
        type Strategy = BoxedStrategy<Self>;
        fn arbitrary_with(_: ()) -> Self::Strategy {
            (
                any::<i32>(),
                any::<i64>(),
                any::<i32>(),
                any::<i64>(),
                Bytes::strategy(),
                any::<Option<bool>>(),
            )
                .prop_map(
                    |(
                        protocol_version,
                        last_zxid_seen,
                        time_out,
                        session_id,
                        passwd,
                        read_only,
                    )| {
                        ConnectRequest {
                            protocol_version,
                            last_zxid_seen,
                            time_out,
                            session_id,
                            passwd,
                            read_only,
                        }
                    },
                )
                .boxed()
        }
    }

    impl Arbitrary for ConnectResponse {
        type Parameters = ();
        type Strategy = BoxedStrategy<Self>;
        fn arbitrary_with(_: ()) -> Self::Strategy {
            (
                any::<i32>(),
                any::<i32>(),
                any::<i64>(),
                Bytes::strategy(),
                any::<Option<bool>>(),
            )
                .prop_map(
                    |(protocol_version, time_out, session_id, passwd, read_only)| ConnectResponse {
                        protocol_version,
                        time_out,
                        session_id,
                        passwd,
                        read_only,
                    },
                )
                .boxed()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_byte_is_optional_and_preserved() {
        let mut req = ConnectRequest {
            time_out: 30000,
            passwd: Bytes::from(vec![0; 16]),
            ..Default::default()
        };
        let old = req.to_bytes();
        assert_eq!(old.len(), 44);
        assert_eq!(ConnectRequest::decode_from(&old), Ok(req.clone()));
        req.read_only = Some(false);
        let new = req.to_bytes();
        assert_eq!(new.len(), 45);
        assert_eq!(ConnectRequest::decode_from(&new), Ok(req));
    }
}
