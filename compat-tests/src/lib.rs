//! `compat-tests`: real ZooKeeper clients (zkCli, kazoo, Curator, the C
//! client, the Rust `zookeeper-client`) and a reference ZooKeeper 3.8 driven
//! against Corral. Filled by issues #5 and #7; the wire-level checks against
//! traffic captured from a real ZooKeeper live in `jute/tests/golden.rs`.
