//! Reserved xids: `ReplyHeader.xid` / `RequestHeader.xid` values with a fixed
//! meaning (ZooKeeper `ClientCnxn`).

/// A watch notification (server → client), `ReplyHeader.xid` of a `WatcherEvent`.
pub const NOTIFICATION: i32 = -1;
/// A ping request and its reply.
pub const PING: i32 = -2;
/// An `AuthPacket` and its reply.
pub const AUTH: i32 = -4;
/// A `SetWatches` / `SetWatches2` sent by the client on reconnect, and its reply.
pub const SET_WATCHES: i32 = -8;
