//! `AuthPacket`: `addauth` (opcode 100, xid −4). The SASL token records are
//! in [`super::records`]. No authentication decisions here.

use bytes::Bytes;

use crate::record::record;

record! {
    /// `class AuthPacket { int type; ustring scheme; buffer auth; }`
    pub struct AuthPacket {
        /// `int type`: always 0 in released clients.
        pub kind: i32,
        /// `ustring scheme`: `digest`, `ip`, …
        pub scheme: String,
        /// `buffer auth`: for `digest`, `user:password` in clear.
        pub auth: Bytes,
    }
}
