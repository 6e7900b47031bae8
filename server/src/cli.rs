//! Command-line arguments of the `corral` binary. Every setting can come
//! from a zoo.cfg (`--config`); a flag given here overrides the file.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Corral: a ZooKeeper-compatible coordination server.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "corral", version, about)]
pub struct Args {
    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// A ZooKeeper config file (zoo.cfg). `myid` is read from its dataDir.
    #[arg(long, env = "CORRAL_CONFIG", global = true)]
    pub config: Option<PathBuf>,

    /// Address for ZooKeeper clients (`clientPortAddress:clientPort`;
    /// default 127.0.0.1:2181).
    #[arg(long, env = "CORRAL_CLIENT_ADDR")]
    pub client_addr: Option<SocketAddr>,

    /// Directory for the data (`dataDir`; default ./data).
    #[arg(long, env = "CORRAL_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,

    /// Directory for the Raft log (`dataLogDir`; default: under the data
    /// directory).
    #[arg(long, global = true)]
    pub data_log_dir: Option<PathBuf>,

    /// `tickTime`, ms: the unit of session timeouts (default 2000).
    #[arg(long)]
    pub tick_time: Option<u32>,

    /// `minSessionTimeout`, ms (default 2 ticks).
    #[arg(long)]
    pub min_session_timeout: Option<u32>,

    /// `maxSessionTimeout`, ms (default 20 ticks).
    #[arg(long)]
    pub max_session_timeout: Option<u32>,

    /// `maxClientCnxns`: connections per client IP, 0 for no limit
    /// (default 60).
    #[arg(long)]
    pub max_client_cnxns: Option<u32>,

    /// `jute.maxbuffer`, bytes (the frame limit adds ZooKeeper's 1 KiB of
    /// slack to it; default 0xfffff).
    #[arg(long)]
    pub jute_maxbuffer: Option<usize>,

    /// Allow TTL nodes (`extendedTypesEnabled`).
    #[arg(long)]
    pub extended_types_enabled: bool,

    /// `znode.container.checkIntervalMs`: how often empty containers and
    /// expired TTL nodes are collected (default 60000).
    #[arg(long)]
    pub container_check_interval_ms: Option<u64>,

    /// `snapCount`: log entries between snapshots (default 100000).
    #[arg(long)]
    pub snap_count: Option<u64>,

    /// `4lw.commands.whitelist`: comma-separated words, `*` for all
    /// (default `srvr`).
    #[arg(long = "4lw-commands-whitelist")]
    pub four_letter_whitelist: Option<String>,

    /// The super user's digest id, `super:<base64 sha1>`
    /// (`DigestAuthenticationProvider.superDigest`).
    #[arg(long, env = "CORRAL_SUPER_DIGEST")]
    pub super_digest: Option<String>,

    /// `admin.serverPort`: the AdminServer's port (default 8080; 0 turns
    /// it off).
    #[arg(long)]
    pub admin_port: Option<u16>,

    /// `admin.serverAddress` (default: the client address's IP).
    #[arg(long)]
    pub admin_address: Option<std::net::IpAddr>,

    /// `metricsProvider.httpPort`: the Prometheus endpoint's port (default
    /// 7000; 0 turns it off).
    #[arg(long)]
    pub metrics_port: Option<u16>,

    /// `metricsProvider.httpHost` (default: the client address's IP).
    #[arg(long)]
    pub metrics_host: Option<std::net::IpAddr>,

    /// `corral.readyMaxLag`: Raft entries a member may trail the leader and
    /// still be ready (`/ready`; default 1000).
    #[arg(long)]
    pub ready_max_lag: Option<u64>,

    /// Run as a pod of a Kubernetes StatefulSet: `myid` and the ensemble
    /// from the pod's environment (`POD_NAME`, `POD_IP`, `POD_NAMESPACE`,
    /// `CORRAL_SERVICE`, `CORRAL_REPLICAS`), `--config` the base zoo.cfg;
    /// joins a running ensemble by `reconfig` (see docs/operations.md).
    #[arg(long, env = "CORRAL_K8S")]
    pub k8s: bool,

    /// Log format: `text` (default) or `json` (one object per line).
    #[arg(long, env = "CORRAL_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,

    /// Log filter, in `tracing` `EnvFilter` syntax (`RUST_LOG` also works).
    #[arg(
        long,
        env = "CORRAL_LOG",
        default_value = "info,openraft=warn,fjall=warn,lsm_tree=warn"
    )]
    pub log: String,
}

/// The commands besides serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Build this server's data directory from a ZooKeeper data directory
    /// (its newest snapshot and the logs after it), sessions included.
    Import(crate::migrate::ImportArgs),
    /// Write this server's tree as a ZooKeeper snapshot (the server
    /// stopped), for a ZooKeeper 3.5+ to start from.
    Export(crate::migrate::ExportArgs),
    /// Follow a live ZooKeeper ensemble as an observer, and cut over.
    Migrate(crate::migrate::MigrateArgs),
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, with the span fields.
    Json,
}
