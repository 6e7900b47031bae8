//! Command-line arguments of the `corral` binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Corral: a ZooKeeper-compatible coordination server.
#[derive(Debug, Clone, Parser)]
#[command(name = "corral", version, about)]
pub struct Args {
    /// Address for ZooKeeper clients (ZooKeeper's `clientPortAddress:clientPort`).
    #[arg(long, env = "CORRAL_CLIENT_ADDR", default_value = "127.0.0.1:2181")]
    pub client_addr: SocketAddr,

    /// Directory for the data (ZooKeeper's `dataDir`).
    #[arg(long, env = "CORRAL_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// ZooKeeper's `tickTime`, in milliseconds: the unit of session timeouts.
    #[arg(long, default_value_t = 2000)]
    pub tick_time: u32,

    /// Largest accepted frame, in bytes (ZooKeeper's `jute.maxbuffer`; the
    /// frame limit adds ZooKeeper's 1 KiB of slack to it).
    #[arg(long, default_value_t = jute::DEFAULT_MAX_BUFFER)]
    pub jute_maxbuffer: usize,

    /// Allow TTL nodes (ZooKeeper's `extendedTypesEnabled`).
    #[arg(long)]
    pub extended_types_enabled: bool,

    /// How often empty containers and expired TTL nodes are collected, ms
    /// (ZooKeeper's `znode.container.checkIntervalMs`).
    #[arg(long, default_value_t = 60_000)]
    pub container_check_interval_ms: u64,

    /// The super user's digest id, `super:<base64 sha1>` (ZooKeeper's
    /// `DigestAuthenticationProvider.superDigest`).
    #[arg(long, env = "CORRAL_SUPER_DIGEST")]
    pub super_digest: Option<String>,

    /// Log filter, in `tracing` `EnvFilter` syntax (`RUST_LOG` also works).
    #[arg(long, env = "CORRAL_LOG", default_value = "info,openraft=warn")]
    pub log: String,
}
