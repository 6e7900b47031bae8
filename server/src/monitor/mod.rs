//! What operators read: the four-letter words, the AdminServer's
//! commands, Prometheus metrics and `/ready`, and the counters behind
//! them.
//!
//! - `stats`: connection and request counters (`srvr`, `cons`, `crst`).
//! - `four_letter`: the four-letter words in ZooKeeper's text formats, and
//!   the `mntr` values the others reuse.
//! - `metrics`: the Prometheus families (ZooKeeper's names and Corral's).
//! - `admin`: the AdminServer's routes and JSON commands, `/ready`,
//!   `/metrics`.
//! - `admin_ops`: the AdminServer commands that export or replace the
//!   tree (`snapshot`, `restore`) with their authorization, and the trace
//!   mask.

pub(crate) mod admin;
pub(crate) mod admin_ops;
pub(crate) mod four_letter;
pub(crate) mod metrics;
pub(crate) mod stats;
