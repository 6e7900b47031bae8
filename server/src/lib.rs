//! `server`: what a ZooKeeper client talks to.
//!
//! # Layout
//!
//! - [`cli`]: the `corral` binary's arguments.
//! - `config`: the typed [`Config`] with ZooKeeper's defaults (zoo.cfg,
//!   myid, flags).
//! - `listener`: the accept loop, the peer listener of an ensemble member,
//!   the periodic tasks, graceful shutdown.
//! - `connection`: one task per socket, framed by [`jute::ServerCodec`].
//! - `pipeline`: every request's handling (reads under the replica lock,
//!   writes handed to Raft).
//! - `core`: the Raft handle, the replica and this server's state
//!   (watches, attached sessions, deadlines), serving or not.
//! - `leader_tasks`: session expiry and container reaping (leader only),
//!   keeping in touch with the quorum (every member).
//! - `four_letter`: the four-letter words in ZooKeeper's formats.
//! - `session`, `watch`, `stats`: a connection's auth ids, watches,
//!   counters.
//!
//! # Pipeline
//!
//! ```text
//! TcpListener ─► connection task ─► ServerCodec ─► Frame
//!                     │  FourLetter ─► four_letter::answer, then close
//!                     │  Connect    ─► handshake (a new session through Raft,
//!                     │                or a resumed one) ─► ConnectResponse
//!                     │  Request    ─► pipeline::serve: reads answered under
//!                     │                the replica lock; writes proposed
//!                     │                (forwarded to the leader from a
//!                     │                follower) and answered when applied
//!                     ▼
//!                 outbound queue ─► writer task ─► socket
//! ```

#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod admin;
mod admin_ops;
pub mod cli;
mod config;
mod connection;
mod core;
mod four_letter;
mod leader_tasks;
mod listener;
mod metrics;
mod pipeline;
mod session;
mod stats;
mod watch;

pub use config::Config;
pub use config::zoo_cfg::{ServerLine, parse_server_line};
pub use listener::run;
