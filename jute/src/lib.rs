//! `jute`: the ZooKeeper client protocol, as Corral speaks it.
//!
//! Every record of ZooKeeper 3.9's client protocol (`zookeeper.jute`, plus
//! the hand-written `readOnly` handshake byte and the `multi` framing),
//! decoded with `nom` `complete` parsers and encoded into `bytes::BytesMut`,
//! and a tokio-util codec for the length-prefixed frames.
//!
//! # Layout
//!
//! - `primitives`: `int`, `long`, `boolean`, `ustring`, `buffer`,
//!   `vector<T>`, with the `-1` = null rule and every length bounded by the
//!   bytes present.
//! - `record`: the [`Decode`] / [`Encode`] traits and the `record!` macro
//!   that declares a record once, field for field in `zookeeper.jute` order.
//! - `data`: [`Id`], [`Acl`], [`Stat`], [`StatPersisted`], [`ClientInfo`].
//! - [`proto`]: handshake, headers, per-op records, [`Request`] (opcode →
//!   request record) and [`Response`] (opcode → reply record).
//! - `opcode`, `error_code`, `modes`, [`xid`]: the wire enums and constants.
//! - `four_letter`: recognising `ruok`, `srvr`, … on a connection's first bytes.
//! - `codec`: [`ServerCodec`] and [`ClientCodec`].
//! - [`txn`]: ZooKeeper's transactions, file header and Zab packets (its
//!   snapshots, logs and learner protocol).
//!
//! # Framing
//!
//! ```text
//!  client                                         server
//!    │ [len][ConnectRequest (+readOnly?)]  ───────► │   no RequestHeader
//!    │ ◄─────── [len][ConnectResponse (+readOnly?)] │   no ReplyHeader
//!    │ [len][RequestHeader{xid,type}][body] ──────► │
//!    │ ◄────── [len][ReplyHeader{xid,zxid,err}][body]│  body empty if err≠0
//!    │ ◄────── [len][ReplyHeader{-1,zxid,0}][WatcherEvent]  notification
//! ```
//!
//! Nothing here knows about sessions, trees or watches.

#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

#[cfg(feature = "proptest")]
pub mod arbitrary;
mod codec;
mod data;
mod error;
mod error_code;
mod four_letter;
mod modes;
mod opcode;
mod primitives;
pub mod proto;
mod record;
pub mod txn;
pub mod xid;

pub use codec::{
    ClientCodec, ClientFrame, DEFAULT_MAX_BUFFER, DEFAULT_MAX_FRAME_LEN, Frame, MAX_BUFFER_EXTRA,
    ServerCodec,
};
pub use data::{Acl, ClientInfo, Id, Stat, StatPersisted};
pub use error::{CodecError, DecodeError};
pub use error_code::ErrorCode;
pub use four_letter::FourLetterWord;
pub use modes::{AddWatchMode, CreateMode, EventType, KeeperState, Perms, WatcherType};
pub use opcode::OpCode;
pub use primitives::buffer_ref;
pub use proto::{Request, Response};
pub use record::{Decode, Encode, JResult, Raw};
