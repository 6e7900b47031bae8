//! Length-prefixed framing for both ends of a connection, as tokio-util
//! `Decoder`/`Encoder`s.
//!
//! ```text
//!  ┌──────────── 4 bytes ────────────┬──────────── len bytes ────────────┐
//!  │ len (i32, big-endian)           │ record(s)                         │
//!  └─────────────────────────────────┴───────────────────────────────────┘
//!
//!  server side (ServerCodec)                 client side (ClientCodec)
//!  first 4 bytes a 4-letter word?  ─► FourLetter
//!  first frame  ─► Connect(ConnectRequest)   first frame ─► Connect(ConnectResponse)
//!  later frames ─► Request{RequestHeader, body} later     ─► Reply{ReplyHeader, body}
//! ```
//!
//! The length is checked (`0 ≤ len ≤ max_frame_len`) as soon as its 4 bytes
//! are in, and nothing is ever reserved from it: memory follows the bytes
//! that actually arrived, and a peer that declares 2 GiB costs nothing but a
//! closed connection. Bodies are handed on undecoded (`Bytes`, no copy): the
//! server must still answer an unknown opcode with `UNIMPLEMENTED` and a bad
//! body with `MARSHALLINGERROR`, which needs the header.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::four_letter::FourLetterWord;
use crate::proto::{ConnectRequest, ConnectResponse, ReplyHeader, RequestHeader};
use crate::record::{Decode, Encode};
use crate::{CodecError, DecodeError};

/// ZooKeeper's default `jute.maxbuffer`: 0xfffff bytes (1 MiB − 1).
pub const DEFAULT_MAX_BUFFER: usize = 0xfffff;

/// ZooKeeper's default `zookeeper.jute.maxbuffer.extrasize` (ZOOKEEPER-3496):
/// the slack its record reader allows above `jute.maxbuffer`.
pub const MAX_BUFFER_EXTRA: usize = 1024;

/// The default frame limit: `jute.maxbuffer` plus ZooKeeper's slack.
pub const DEFAULT_MAX_FRAME_LEN: usize = DEFAULT_MAX_BUFFER + MAX_BUFFER_EXTRA;

/// Takes one whole frame body off the front of `src`, or `None` if it has not
/// all arrived yet.
///
/// # Errors
/// [`DecodeError::FrameLength`] for a negative length or one above `max`;
/// nothing is reserved for such a frame.
fn split_frame(src: &mut BytesMut, max: usize) -> Result<Option<Bytes>, DecodeError> {
    let Some(prefix) = src.first_chunk::<4>() else {
        return Ok(None);
    };
    let len = i32::from_be_bytes(*prefix);
    let n = usize::try_from(len)
        .ok()
        .filter(|n| *n <= max)
        .ok_or(DecodeError::FrameLength { len, max })?;
    if src.len() < 4 + n {
        // No reservation from the declared length: the buffer grows only with
        // bytes that really arrived, so a thousand connections that each
        // declare a 1 MiB frame and send 10 bytes cost 10 KB, not 1 GB.
        return Ok(None);
    }
    src.advance(4);
    Ok(Some(src.split_to(n).freeze()))
}

/// Writes `item` as one frame: length prefix, then the record(s).
fn put_frame<T: Encode>(item: T, dst: &mut BytesMut) -> Result<(), CodecError> {
    let len = item.encoded_len();
    let prefix = i32::try_from(len).map_err(|_| {
        CodecError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("frame of {len} bytes is larger than the protocol allows"),
        ))
    })?;
    dst.reserve(4 + len);
    dst.put_i32(prefix);
    item.encode(dst);
    Ok(())
}

/// What the server reads from a client connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A four-letter word, only possible as the first bytes of a connection.
    /// `stmk` carries its 8-byte trace mask.
    FourLetter {
        /// The word.
        word: FourLetterWord,
        /// The trace mask that follows `stmk`.
        mask: Option<i64>,
    },
    /// The handshake (first frame).
    Connect(ConnectRequest),
    /// A request: its header and its still-encoded body.
    Request {
        /// The request header.
        header: RequestHeader,
        /// The body, decode with [`crate::Request::decode`].
        body: Bytes,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing read yet: a four-letter word or a `ConnectRequest` may come.
    AwaitConnect,
    /// After the handshake: request frames.
    Session,
    /// After a four-letter word: the connection only awaits its close.
    Done,
}

/// The server side of a client connection: decodes [`Frame`]s, encodes any
/// [`Encode`] value as one frame (a `ConnectResponse`, or a
/// `(ReplyHeader, Response)` pair).
#[derive(Debug, Clone)]
pub struct ServerCodec {
    phase: Phase,
    max_frame_len: usize,
}

impl ServerCodec {
    /// A codec for a new connection, with the frame limit `max_frame_len`
    /// (see [`DEFAULT_MAX_FRAME_LEN`]).
    pub fn new(max_frame_len: usize) -> Self {
        ServerCodec {
            phase: Phase::AwaitConnect,
            max_frame_len,
        }
    }

    /// Whether the handshake frame has been read.
    pub fn is_connected(&self) -> bool {
        self.phase == Phase::Session
    }
}

impl Default for ServerCodec {
    fn default() -> Self {
        ServerCodec::new(DEFAULT_MAX_FRAME_LEN)
    }
}

impl Decoder for ServerCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        match self.phase {
            Phase::Done => {
                src.clear();
                Ok(None)
            }
            Phase::AwaitConnect => {
                let Some(first) = src.first_chunk::<4>() else {
                    return Ok(None);
                };
                if let Some(word) = FourLetterWord::from_bytes(*first) {
                    let mask = if word == FourLetterWord::Stmk {
                        let Some(bytes) = src.get(4..12) else {
                            return Ok(None);
                        };
                        Some(i64::decode_from(bytes)?)
                    } else {
                        None
                    };
                    self.phase = Phase::Done;
                    src.clear();
                    return Ok(Some(Frame::FourLetter { word, mask }));
                }
                let Some(body) = split_frame(src, self.max_frame_len)? else {
                    return Ok(None);
                };
                let connect = ConnectRequest::decode_from(&body)?;
                self.phase = Phase::Session;
                Ok(Some(Frame::Connect(connect)))
            }
            Phase::Session => {
                let Some(mut body) = split_frame(src, self.max_frame_len)? else {
                    return Ok(None);
                };
                if body.len() < 8 {
                    return Err(DecodeError::ShortFrame(body.len()).into());
                }
                let header = RequestHeader::decode_from(&body)?;
                body.advance(8);
                Ok(Some(Frame::Request { header, body }))
            }
        }
    }
}

impl<T: Encode> Encoder<T> for ServerCodec {
    type Error = CodecError;

    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), CodecError> {
        put_frame(item, dst)
    }
}

/// What a client reads from a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    /// The handshake reply (first frame).
    Connect(ConnectResponse),
    /// A reply or notification: its header and still-encoded body (decode
    /// with [`crate::Response::decode`] and the opcode of the request whose
    /// xid it carries).
    Reply {
        /// The reply header.
        header: ReplyHeader,
        /// The body.
        body: Bytes,
    },
}

/// The client side of a connection (load generators, differential tests,
/// golden-vector checks): decodes [`ClientFrame`]s, encodes any [`Encode`]
/// value as one frame (a `ConnectRequest`, or a `(RequestHeader, Request)`
/// pair).
#[derive(Debug, Clone)]
pub struct ClientCodec {
    connected: bool,
    max_frame_len: usize,
}

impl ClientCodec {
    /// A codec for a new connection with the frame limit `max_frame_len`.
    pub fn new(max_frame_len: usize) -> Self {
        ClientCodec {
            connected: false,
            max_frame_len,
        }
    }
}

impl Default for ClientCodec {
    /// The Java client's default limit (`jute.maxbuffer` 4 MB on clients).
    fn default() -> Self {
        ClientCodec::new(4 * 1024 * 1024)
    }
}

impl Decoder for ClientCodec {
    type Item = ClientFrame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<ClientFrame>, CodecError> {
        let Some(mut body) = split_frame(src, self.max_frame_len)? else {
            return Ok(None);
        };
        if !self.connected {
            self.connected = true;
            return Ok(Some(ClientFrame::Connect(ConnectResponse::decode_from(
                &body,
            )?)));
        }
        if body.len() < 16 {
            return Err(DecodeError::ShortFrame(body.len()).into());
        }
        let header = ReplyHeader::decode_from(&body)?;
        body.advance(16);
        Ok(Some(ClientFrame::Reply { header, body }))
    }
}

impl<T: Encode> Encoder<T> for ClientCodec {
    type Error = CodecError;

    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), CodecError> {
        put_frame(item, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &[u8]) -> BytesMut {
        let mut b = BytesMut::new();
        b.put_i32(i32::try_from(body.len()).unwrap_or(i32::MAX));
        b.put_slice(body);
        b
    }

    #[test]
    fn huge_declared_length_is_rejected_before_reserving() {
        let mut codec = ServerCodec::default();
        let mut src = BytesMut::from(&[0x7f, 0xff, 0xff, 0xff, 1, 2][..]);
        let err = codec.decode(&mut src);
        assert!(matches!(
            err,
            Err(CodecError::Decode(DecodeError::FrameLength {
                len: i32::MAX,
                ..
            }))
        ));
        assert!(src.capacity() < 1024, "no reservation for a rejected frame");
        let mut src = BytesMut::from(&[0xff, 0xff, 0xff, 0xf0][..]);
        assert!(codec.decode(&mut src).is_err());
    }

    #[test]
    fn partial_frames_wait_and_whole_ones_decode() {
        let mut codec = ServerCodec::default();
        let connect = ConnectRequest {
            time_out: 10_000,
            passwd: Bytes::from(vec![0; 16]),
            read_only: Some(false),
            ..Default::default()
        };
        let mut all = frame(&connect.to_bytes());
        all.extend_from_slice(&frame(&[0, 0, 0, 7, 0, 0, 0, 11]));
        let mut src = BytesMut::new();
        let mut frames = Vec::new();
        for b in all.iter() {
            src.put_u8(*b);
            while let Some(f) = codec.decode(&mut src).ok().flatten() {
                frames.push(f);
            }
        }
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0], Frame::Connect(connect));
        assert_eq!(
            frames[1],
            Frame::Request {
                header: RequestHeader { xid: 7, op: 11 },
                body: Bytes::new()
            }
        );
    }

    #[test]
    fn four_letter_words_only_before_the_handshake() {
        let mut codec = ServerCodec::default();
        let mut src = BytesMut::from(&b"ruok"[..]);
        assert_eq!(
            codec.decode(&mut src).ok().flatten(),
            Some(Frame::FourLetter {
                word: FourLetterWord::Ruok,
                mask: None
            })
        );
        let mut codec = ServerCodec::default();
        let mut src = BytesMut::from(&b"stmk\0\0\0\0\0\0\0"[..]);
        assert_eq!(
            codec.decode(&mut src).ok().flatten(),
            None,
            "stmk waits for its mask"
        );
        src.put_u8(5);
        assert_eq!(
            codec.decode(&mut src).ok().flatten(),
            Some(Frame::FourLetter {
                word: FourLetterWord::Stmk,
                mask: Some(5)
            })
        );
        // After a handshake, "ruok" is a length of 0x72756f6b: too large.
        let mut codec = ServerCodec::default();
        let mut src = frame(&ConnectRequest::default().to_bytes());
        assert!(matches!(
            codec.decode(&mut src),
            Ok(Some(Frame::Connect(_)))
        ));
        src.put_slice(b"ruok");
        assert!(codec.decode(&mut src).is_err());
    }

    #[test]
    fn short_request_frames_are_errors() {
        let mut codec = ServerCodec::default();
        let mut src = frame(&ConnectRequest::default().to_bytes());
        src.extend_from_slice(&frame(&[0, 0, 0, 1]));
        assert!(matches!(
            codec.decode(&mut src),
            Ok(Some(Frame::Connect(_)))
        ));
        assert!(matches!(
            codec.decode(&mut src),
            Err(CodecError::Decode(DecodeError::ShortFrame(4)))
        ));
    }
}
