//! `server`: what a ZooKeeper client talks to.
//!
//! # Layout
//!
//! - [`cli`]: the `corral` binary's arguments.
//! - `config`: the typed [`Config`] with ZooKeeper's defaults.
//! - `listener`: the accept loop and graceful shutdown.
//! - `connection`: one task per socket, framed by [`jute::ServerCodec`].
//! - `session`: handshake validation, timeout negotiation, session ids.
//!
//! # Pipeline (so far)
//!
//! ```text
//! TcpListener ─► connection task ─► ServerCodec ─► Frame
//!                     │  FourLetter ─► "imok" for ruok, then close
//!                     │  Connect    ─► session::accept ─► ConnectResponse
//!                     │  Request    ─► ping / closeSession answered here;
//!                     │                every other op: UNIMPLEMENTED until
//!                     │                the tree (#3), consensus (#4) and
//!                     │                the request pipeline (#5) land
//!                     ▼
//!                 Framed sink (replies in request order)
//! ```

#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod cli;
mod config;
mod connection;
mod core;
mod four_letter;
mod leader_tasks;
mod listener;
mod pipeline;
mod session;
mod stats;
mod watch;

pub use config::Config;
pub use config::zoo_cfg::{ServerLine, parse_server_line};
pub use listener::run;
