//! Errors of the codec itself: malformed or oversized input, and I/O on the
//! framed transport.
//!
//! ZooKeeper result codes (`NONODE`, `BADVERSION`, …) are not here: they are
//! wire values of a reply, see [`crate::ErrorCode`].

use nom::error::{ErrorKind, ParseError};

/// Why a byte sequence is not a valid jute record or frame.
///
/// Every variant is reached only from bad input; none of them is a bug in the
/// caller. A server answers them by closing the connection (frame-level) or
/// with `MARSHALLINGERROR` (body-level), as ZooKeeper does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The record needs more bytes than the frame holds.
    #[error("record truncated: the frame ended inside a field")]
    Truncated,
    /// A length field is negative (other than the `-1` null marker) or larger
    /// than the bytes that are left in the frame.
    #[error("invalid length {len} for {what}")]
    InvalidLength {
        /// Which kind of field carried the length.
        what: &'static str,
        /// The length as read from the wire.
        len: i32,
    },
    /// A frame's 4-byte length prefix is negative or above the configured
    /// maximum (`jute.maxbuffer`).
    #[error("frame length {len} outside 0..={max}")]
    FrameLength {
        /// The declared length.
        len: i32,
        /// The configured maximum.
        max: usize,
    },
    /// An opcode that ZooKeeper 3.9 does not define.
    #[error("unknown opcode {0}")]
    UnknownOpCode(i32),
    /// An opcode that is defined but cannot appear where it was found (for
    /// example `ping` inside a `multi`).
    #[error("opcode {0} is not allowed here")]
    UnexpectedOpCode(i32),
    /// A create `flags` value that is not a `CreateMode`.
    #[error("unknown create mode {0}")]
    UnknownCreateMode(i32),
    /// A value outside the wire enum it belongs to (event type, watcher type…).
    #[error("invalid value {value} for {what}")]
    InvalidEnum {
        /// The enum being decoded.
        what: &'static str,
        /// The value read from the wire.
        value: i32,
    },
    /// A request frame shorter than the 8-byte `RequestHeader`, or a reply
    /// frame shorter than the 16-byte `ReplyHeader`.
    #[error("frame of {0} bytes is too short for its header")]
    ShortFrame(usize),
    /// Any other structural problem reported by the parser.
    #[error("malformed record ({0:?})")]
    Malformed(ErrorKind),
}

impl<I> ParseError<I> for DecodeError {
    fn from_error_kind(_input: I, kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Eof | ErrorKind::Complete => DecodeError::Truncated,
            other => DecodeError::Malformed(other),
        }
    }

    fn append(_input: I, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

impl From<nom::Err<DecodeError>> for DecodeError {
    fn from(e: nom::Err<DecodeError>) -> Self {
        match e {
            nom::Err::Error(e) | nom::Err::Failure(e) => e,
            // Only streaming parsers report Incomplete; every parser here is
            // `complete`, so a short input is a truncated record.
            nom::Err::Incomplete(_) => DecodeError::Truncated,
        }
    }
}

/// Errors of the framed transport ([`crate::ServerCodec`], [`crate::ClientCodec`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The socket failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The peer sent bytes that are not a valid frame.
    #[error("bad frame: {0}")]
    Decode(#[from] DecodeError),
}
