//! `RequestHeader`, `ReplyHeader` and `MultiHeader`.

use crate::record::record;

record! {
    /// `class RequestHeader { int xid; int type; }`: precedes every request
    /// after the handshake.
    pub struct RequestHeader {
        /// `int xid`: client-chosen, echoed in the reply; see [`crate::xid`]
        /// for the reserved values.
        pub xid: i32,
        /// `int type`: an [`crate::OpCode`] value, kept raw so an unknown one
        /// can be answered with `UNIMPLEMENTED`.
        pub op: i32,
    }
}

record! {
    /// `class ReplyHeader { int xid; long zxid; int err; }`: precedes every
    /// reply and notification.
    pub struct ReplyHeader {
        /// `int xid`: the request's xid, or −1 for a notification.
        pub xid: i32,
        /// `long zxid`: the last zxid the server had processed.
        pub zxid: i64,
        /// `int err`: an [`crate::ErrorCode`] value; a non-zero code comes
        /// with an empty body.
        pub err: i32,
    }
}

record! {
    /// `class MultiHeader { int type; boolean done; int err; }`: precedes each
    /// op of a `multi` / `multiRead` request and response; `{-1, true, -1}`
    /// ends the sequence.
    pub struct MultiHeader {
        /// `int type`
        pub op: i32,
        /// `boolean done`
        pub done: bool,
        /// `int err`
        pub err: i32,
    }
}

impl MultiHeader {
    /// The terminator of a multi sequence.
    pub const END: MultiHeader = MultiHeader {
        op: -1,
        done: true,
        err: -1,
    };
}
