//! `server`: what a ZooKeeper client talks to.
//!
//! # Layout
//!
//! - [`cli`]: the `corral` binary's arguments.
//! - `config`: the typed [`Config`] with ZooKeeper's defaults (zoo.cfg,
//!   myid, flags).
//! - `net`: the accept loop (`net::listener`: the peer listener of an
//!   ensemble member, the periodic tasks, graceful shutdown) and one task
//!   per socket (`net::connection`, framed by [`jute::ServerCodec`]).
//! - `auth`: the ids a credential stands for, one file per scheme.
//! - `pipeline`: every request's handling (reads under the replica lock,
//!   writes handed to Raft).
//! - `core`: the Raft handle, the replica and this server's state
//!   (watches, attached sessions, deadlines), serving or not.
//! - [`migrate`]: `corral import` and `corral export`, ZooKeeper's files
//!   to a data directory and back.
//! - `leader_tasks`: session expiry and container reaping (leader only),
//!   keeping in touch with the quorum (every member).
//! - `monitor`: the four-letter words, the AdminServer, Prometheus
//!   metrics and the counters behind them.
//! - `session`, `watch`: a connection's auth ids, watches.
//! - `view`: what core publishes for `monitor/` (owned copies taken under
//!   its lock, so `monitor/` never holds it).
//!
//! # Pipeline
//!
//! ```text
//! TcpListener ─► connection task ─► ServerCodec ─► Frame
//!                     │  FourLetter ─► monitor::four_letter::answer, then close
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

mod auth;
pub mod cli;
mod config;
mod console;
mod core;
pub mod k8s;
mod leader_tasks;
pub mod migrate;
mod monitor;
mod net;
mod pipeline;
mod reconfig;
mod session;
mod view;
mod watch;

pub use config::zoo_cfg::{ServerLine, parse_server_line};
pub use config::{AuthConfig, ClientAuth, Config, SslConfig, TlsVersion};
pub use net::listener::run;
