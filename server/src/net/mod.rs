//! The network side: the accept loop and the connection tasks.
//!
//! - `listener`: binds the client port, accepts (with ZooKeeper's
//!   per-address `maxClientCnxns`), starts the peer listener of an
//!   ensemble member and the periodic tasks, and shuts down gracefully.
//! - `connection`: one task per socket: the handshake (a new, resumed or
//!   read-only session), then requests in order through
//!   [`crate::pipeline`]; a writer task drains the session's outbound
//!   queue, the only path to the socket.
//! - `framing`: frames in and out of a socket with buffers that cost
//!   nothing while the connection is idle.
//!
//! - `tls`: the rustls acceptor of `secureClientPort` from ZooKeeper's
//!   `ssl.*` keys; accepted sockets are handshaken, then served by the
//!   same connection task (port unification and certificate reload come
//!   next, issue #17).

pub(crate) mod connection;
pub(crate) mod framing;
pub(crate) mod listener;
pub(crate) mod tls;
