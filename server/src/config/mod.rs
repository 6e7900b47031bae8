//! The server's typed configuration, with ZooKeeper's defaults, layered:
//! defaults, then a zoo.cfg (`zoo_cfg`), then command-line flags.

pub mod security;
pub mod zoo_cfg;

pub use security::{AuthConfig, ClientAuth, SslConfig, TlsVersion};

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use tracing::{info, warn};

use crate::cli::Args;
use zoo_cfg::{Properties, ServerLine};

/// Why the configuration is unusable. Each is one line naming the key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A key has a value that is not valid for it.
    #[error("{file}:{line}: bad value {value:?} for {key}: {why}")]
    BadValue {
        /// The file.
        file: String,
        /// Line number.
        line: usize,
        /// The key.
        key: String,
        /// The value as written.
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// A combination Corral does not (yet) run.
    #[error("{0}")]
    Unsupported(String),
}

/// Everything the server needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address for ZooKeeper clients.
    pub client_addr: SocketAddr,
    /// ZooKeeper's `secureClientPort` and `secureClientPortAddress`: TLS
    /// for clients, configured by [`Config::ssl`]; `None` without one.
    pub secure_client_addr: Option<SocketAddr>,
    /// The `ssl.*` keys.
    pub ssl: SslConfig,
    /// The auth providers, SASL's users and enforced authentication.
    pub auth: AuthConfig,
    /// ZooKeeper's `sslQuorum`: members talk over TLS with mutual
    /// authentication, configured by [`Config::quorum_ssl`].
    pub ssl_quorum: bool,
    /// ZooKeeper's `portUnification`: the quorum port takes TLS and
    /// plaintext peers (a rolling switch to or from `sslQuorum`).
    pub quorum_port_unification: bool,
    /// The `ssl.quorum.*` keys: the members' own stores.
    pub quorum_ssl: SslConfig,
    /// ZooKeeper's `sslQuorumReloadCertFiles`: the members' stores are
    /// read again when their files change.
    pub quorum_cert_reload: bool,
    /// The members' TLS, built from [`Config::quorum_ssl`] at start.
    pub peer_tls: Option<consensus::network::PeerTls>,
    /// ZooKeeper's `client.portUnification`: the client port takes TLS
    /// and plaintext clients alike, told apart by their first byte.
    pub client_port_unification: bool,
    /// ZooKeeper's `client.certReload`: the key and trust stores are read
    /// again when their files change.
    pub client_cert_reload: bool,
    /// Data directory (the tree).
    pub data_dir: PathBuf,
    /// Directory of the Raft log (`dataLogDir`, else under `data_dir`).
    pub data_log_dir: Option<PathBuf>,
    /// ZooKeeper's `tickTime`.
    pub tick_time: Duration,
    /// ZooKeeper's `minSessionTimeout` (default 2 ticks).
    pub min_session_timeout: Duration,
    /// ZooKeeper's `maxSessionTimeout` (default 20 ticks).
    pub max_session_timeout: Duration,
    /// ZooKeeper's `maxClientCnxns` per client IP; 0 is unlimited.
    pub max_client_cnxns: u32,
    /// Largest accepted frame body, bytes.
    pub max_frame_len: usize,
    /// This server's id (`myid`), the top byte of the session ids it creates.
    pub server_id: u8,
    /// ZooKeeper's `extendedTypesEnabled`: TTL nodes allowed.
    pub extended_types_enabled: bool,
    /// ZooKeeper's `enforceQuota` (the `zookeeper.enforceQuota` property,
    /// 3.7+): writes past a hard quota limit fail with QUOTAEXCEEDED, and
    /// writes past a soft one are logged. Every member must agree.
    pub enforce_quota: bool,
    /// ZooKeeper's `znode.container.checkIntervalMs`.
    pub container_check_interval: Duration,
    /// ZooKeeper's `snapCount`.
    pub snap_count: u64,
    /// ZooKeeper's `4lw.commands.whitelist`; `None` allows every word.
    pub four_letter_whitelist: Option<BTreeSet<String>>,
    /// ZooKeeper's `DigestAuthenticationProvider.superDigest`
    /// (`super:<base64 sha1>`): a client that authenticates with the
    /// matching `digest` credentials is the super user.
    pub super_digest: Option<String>,
    /// The `server.N` lines of the ensemble, if any.
    pub servers: Vec<ServerLine>,
    /// ZooKeeper's `syncLimit`, ticks: a member that has not been in touch
    /// with a quorum for this long stops serving its clients.
    pub sync_limit: u32,
    /// ZooKeeper's `initLimit`, ticks (accepted; Raft needs no separate
    /// initial sync limit).
    pub init_limit: u32,
    /// Corral's own: serve every read only after confirming with the
    /// leader (read index), making reads linearizable rather than
    /// ZooKeeper's sequentially consistent (`corral.linearizableReads`).
    pub linearizable_reads: bool,
    /// Corral's own: a member of an ensemble whose store fails its
    /// checksum at start sets it aside and copies the state back from its
    /// peers, abstaining from elections until it has it
    /// (`corral.repairFromPeers`, on by default; off, it refuses to start
    /// as a standalone server always does).
    pub repair_from_peers: bool,
    /// Corral's own: the web console on the AdminServer's port, `/ui`
    /// (`corral.console.enabled`, on by default).
    pub console_enabled: bool,
    /// Corral's own: the console only reads (`corral.console.readOnly`,
    /// true by default); false lets a user logged in with a ZooKeeper
    /// scheme create, set, delete and set ACLs, as that user's session.
    pub console_read_only: bool,
    /// ZooKeeper's `readonlymode.enabled` (a `-D` property for ZooKeeper,
    /// a key here): a member cut off from the quorum serves reads to
    /// clients that asked for read-only sessions.
    pub read_only_mode: bool,
    /// ZooKeeper's `localSessionsEnabled`. ZooKeeper 3.8 creates a
    /// read-only member's sessions only as local sessions, so read-only
    /// mode needs it; sessions on a read-write member stay global in
    /// Corral (they survive a move to another member).
    pub local_sessions_enabled: bool,
    /// ZooKeeper's `zookeeper.admin.rateLimiterIntervalInMS` (default
    /// 5 minutes): the AdminServer's `restore` runs at most once per
    /// interval, `snapshot` once per interval read as microseconds (as
    /// ZooKeeper 3.9's `SnapshotCommand` builds its limiter).
    pub admin_rate_limit_interval: Duration,
    /// ZooKeeper's `zookeeper.admin.snapshot.enabled` (default true).
    pub admin_snapshot_enabled: bool,
    /// ZooKeeper's `zookeeper.admin.restore.enabled` (default true).
    pub admin_restore_enabled: bool,
    /// Corral's own (`corral.existsAclCheck`): whether `exists` needs READ
    /// on a node that exists. `true` is ZooKeeper 3.7.3, 3.8.4 and 3.9.2
    /// onwards (ZOOKEEPER-2590, a security fix); `false` answers as 3.5.0
    /// to 3.8.3 did, with the Stat whatever the ACL, for applications that
    /// rely on it.
    pub exists_acl_check: bool,
    /// The AdminServer (`admin.enableServer`, `admin.serverAddress`,
    /// `admin.serverPort`): `None` when disabled. The address defaults to
    /// the client address's IP (ZooKeeper's is 0.0.0.0; Corral's client
    /// default is loopback), the port to 8080.
    pub admin_addr: Option<SocketAddr>,
    /// The Prometheus endpoint (`metricsProvider.httpHost`,
    /// `metricsProvider.httpPort`): `None` when disabled (port 0). On by
    /// default at the client address's IP, port 7000, whatever
    /// `metricsProvider.className` says.
    pub metrics_addr: Option<SocketAddr>,
    /// The text of the config file the server started with (the admin
    /// command `initial_configuration`).
    pub initial_configuration: Option<String>,
    /// Corral's own (`corral.readyMaxLag`): how many Raft entries a
    /// member's applied index may trail the leader's and still answer
    /// `/ready` with 200.
    pub ready_max_lag: u64,
    /// Links between members that a test has cut (a partition without
    /// touching the operating system). Empty outside tests.
    pub peer_faults: std::sync::Arc<consensus::network::Faults>,
    /// ZooKeeper's `reconfigEnabled`: whether `reconfig` changes the
    /// membership (default false: RECONFIGDISABLED).
    pub reconfig_enabled: bool,
    /// ZooKeeper's `standaloneEnabled` (default true): a server with one
    /// `server.N` line (or none) runs standalone. With false, one line
    /// makes a one-member ensemble that `reconfig` can grow.
    pub standalone_enabled: bool,
    /// ZooKeeper's `skipACL=yes` (`zookeeper.skipACL`): here only
    /// `reconfig`'s check (the super user) is skipped.
    pub skip_acl: bool,
    /// ZooKeeper's `forceSync` (`zookeeper.forceSync`, default yes): with
    /// `no`, writes are acknowledged once a quorum has them in the kernel's
    /// page cache, without `fdatasync` (faster; a power loss of a quorum
    /// at once loses the latest acknowledged writes).
    pub force_sync: bool,
    /// The zoo.cfg the server was started from: rewritten to point at the
    /// new `dynamicConfigFile` after each `reconfig`, as ZooKeeper does.
    pub config_file: Option<PathBuf>,
    /// ZooKeeper's `dynamicConfigFile`: where the `server.N` lines were read.
    pub dynamic_config_file: Option<PathBuf>,
    /// The configuration's version: from the dynamic file's name
    /// (`zoo.cfg.dynamic.<hex>`), 0 for a static configuration.
    pub config_version: i64,
    /// Corral's own (`corral.k8s.removeAfterMs`, set by `corral --k8s`'s
    /// charts): the leader removes a member that has left the Service's
    /// DNS and stopped replicating for this long. `None`: never.
    pub k8s_remove_after: Option<Duration>,
    /// Corral's own (`corral.maxOutboundBytes`, default 64 MiB): the
    /// replies and notifications a connection may have queued for a
    /// client that is not reading them before it is closed; its requests
    /// wait from half of it.
    pub max_outbound_bytes: usize,
    /// Corral's own (`corral.maxOutboundBytesTotal`, default 1 GiB): the
    /// same across every connection (at least 1 MiB).
    pub max_outbound_bytes_total: usize,
    /// Corral's own (`corral.electionTimeoutMs`): Raft's election timeout
    /// (the least; the most is twice it, heartbeats every fifth of it).
    /// `None`: from `tickTime` (see `core::node_config`).
    pub election_timeout: Option<Duration>,
}

/// ZooKeeper's `admin.serverPort` default.
pub const DEFAULT_ADMIN_PORT: u16 = 8080;
/// ZooKeeper's `metricsProvider.httpPort` default.
pub const DEFAULT_METRICS_PORT: u16 = 7000;

/// Parses a `4lw.commands.whitelist` value (`*` = every word).
fn parse_whitelist(v: &str) -> Option<BTreeSet<String>> {
    let words: BTreeSet<String> = v
        .split(',')
        .map(|w| w.trim().to_owned())
        .filter(|w| !w.is_empty())
        .collect();
    if words.contains("*") {
        None
    } else {
        Some(words)
    }
}

impl Config {
    /// ZooKeeper's defaults, standalone on 127.0.0.1:2181 with data in
    /// `./data`.
    pub fn defaults() -> Self {
        let tick = Duration::from_millis(2000);
        Config {
            client_addr: SocketAddr::from(([127, 0, 0, 1], 2181)),
            secure_client_addr: None,
            ssl: SslConfig::default(),
            auth: AuthConfig::default(),
            ssl_quorum: false,
            quorum_port_unification: false,
            quorum_ssl: SslConfig::default(),
            quorum_cert_reload: false,
            peer_tls: None,
            client_port_unification: false,
            client_cert_reload: false,
            data_dir: PathBuf::from("./data"),
            data_log_dir: None,
            tick_time: tick,
            min_session_timeout: tick * 2,
            max_session_timeout: tick * 20,
            max_client_cnxns: 60,
            max_frame_len: jute::DEFAULT_MAX_FRAME_LEN,
            server_id: 1,
            extended_types_enabled: false,
            enforce_quota: false,
            container_check_interval: Duration::from_secs(60),
            snap_count: 100_000,
            four_letter_whitelist: Some(BTreeSet::from(["srvr".to_owned()])),
            super_digest: None,
            servers: Vec::new(),
            sync_limit: 5,
            init_limit: 10,
            linearizable_reads: false,
            repair_from_peers: true,
            console_enabled: true,
            console_read_only: true,
            exists_acl_check: true,
            read_only_mode: false,
            local_sessions_enabled: false,
            admin_rate_limit_interval: Duration::from_millis(300_000),
            admin_snapshot_enabled: true,
            admin_restore_enabled: true,
            admin_addr: Some(SocketAddr::from(([127, 0, 0, 1], DEFAULT_ADMIN_PORT))),
            metrics_addr: Some(SocketAddr::from(([127, 0, 0, 1], DEFAULT_METRICS_PORT))),
            initial_configuration: None,
            ready_max_lag: 1000,
            peer_faults: std::sync::Arc::default(),
            reconfig_enabled: false,
            standalone_enabled: true,
            skip_acl: false,
            force_sync: true,
            config_file: None,
            dynamic_config_file: None,
            config_version: 0,
            k8s_remove_after: None,
            max_outbound_bytes: 64 << 20,
            max_outbound_bytes_total: 1 << 30,
            election_timeout: None,
        }
    }

    /// Defaults, then the zoo.cfg named by `--config` (and `myid` in its
    /// data directory), then the flags.
    ///
    /// # Errors
    /// [`ConfigError`]: an unreadable file, a bad value (naming the key and
    /// line), or a setup Corral does not run yet.
    pub fn load(args: &Args) -> Result<Self, ConfigError> {
        let mut c = Config::defaults();
        let mut min_timeout_ms: Option<u32> = None;
        let mut max_timeout_ms: Option<u32> = None;
        let mut jute_maxbuffer = jute::DEFAULT_MAX_BUFFER;
        let mut client_port: Option<u16> = None;
        let mut client_host: Option<IpAddr> = None;
        let mut secure_port: Option<u16> = None;
        let mut secure_host: Option<IpAddr> = None;
        let mut admin_enabled = true;
        let mut admin_host: Option<IpAddr> = None;
        let mut admin_port = DEFAULT_ADMIN_PORT;
        let mut metrics_host: Option<IpAddr> = None;
        let mut metrics_port = DEFAULT_METRICS_PORT;
        let mut enabled_protocols_set = false;
        let mut quorum_protocols_set = false;
        if let Some(path) = &args.config {
            let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
                path: path.clone(),
                error,
            })?;
            let file = path.display().to_string();
            c.initial_configuration = Some(text.clone());
            c.config_file = Some(path.clone());
            let props = Properties::parse(&text);
            let has_dynamic_file = props.iter().any(|(k, _, _)| k == "dynamicConfigFile");
            for (key, value, line) in props.iter() {
                let bad = |why: &str| ConfigError::BadValue {
                    file: file.clone(),
                    line,
                    key: key.to_owned(),
                    value: value.to_owned(),
                    why: why.to_owned(),
                };
                let num = |why: &str| value.parse::<u64>().map_err(|_| bad(why));
                let ms32 = |why: &str| value.parse::<i64>().map_err(|_| bad(why));
                let port = |why: &str| {
                    value
                        .parse::<u64>()
                        .ok()
                        .and_then(|p| u16::try_from(p).ok())
                        .ok_or_else(|| bad(why))
                };
                // The security keys, as zoo.cfg names them or as
                // ZooKeeper's `zookeeper.*` properties.
                let bare = key.strip_prefix("zookeeper.").unwrap_or(key);
                let taken = if let Some(rest) = bare.strip_prefix("ssl.quorum.") {
                    c.quorum_ssl
                        .take(&format!("ssl.{rest}"), value, &mut quorum_protocols_set)
                } else {
                    match c.ssl.take(bare, value, &mut enabled_protocols_set) {
                        security::Taken::NotMine => c.auth.take(bare, value),
                        t => t,
                    }
                };
                match taken {
                    security::Taken::Ok => continue,
                    security::Taken::Bad(why) => return Err(bad(&why)),
                    security::Taken::NotMine => {}
                }
                match key {
                    "tickTime" => {
                        let t = num("a positive number of milliseconds")?;
                        if t == 0 {
                            return Err(bad("must be positive"));
                        }
                        c.tick_time = Duration::from_millis(t);
                    }
                    "dataDir" => c.data_dir = PathBuf::from(value),
                    "dataLogDir" => c.data_log_dir = Some(PathBuf::from(value)),
                    "clientPort" => {
                        client_port =
                            Some(u16::try_from(num("a port")?).map_err(|_| bad("a port"))?)
                    }
                    "clientPortAddress" => {
                        client_host = Some(value.parse().map_err(|_| bad("an IP address"))?)
                    }
                    "maxClientCnxns" => {
                        c.max_client_cnxns =
                            u32::try_from(num("a count")?).map_err(|_| bad("a count"))?
                    }
                    // -1 (ZooKeeper's "unset") keeps the tick-based default.
                    "minSessionTimeout" => {
                        min_timeout_ms = u32::try_from(ms32("milliseconds")?).ok()
                    }
                    "maxSessionTimeout" => {
                        max_timeout_ms = u32::try_from(ms32("milliseconds")?).ok()
                    }
                    "jute.maxbuffer" => {
                        jute_maxbuffer = usize::try_from(num("bytes")?).map_err(|_| bad("bytes"))?
                    }
                    "extendedTypesEnabled" | "zookeeper.extendedTypesEnabled" => {
                        c.extended_types_enabled =
                            value.parse().map_err(|_| bad("true or false"))?;
                    }
                    "enforceQuota" | "zookeeper.enforceQuota" => {
                        c.enforce_quota = value.parse().map_err(|_| bad("true or false"))?;
                    }
                    "znode.container.checkIntervalMs" => {
                        c.container_check_interval =
                            Duration::from_millis(num("milliseconds")?.max(1));
                    }
                    "snapCount" => c.snap_count = num("a count")?.max(1),
                    "4lw.commands.whitelist" => c.four_letter_whitelist = parse_whitelist(value),
                    "DigestAuthenticationProvider.superDigest"
                    | "zookeeper.DigestAuthenticationProvider.superDigest" => {
                        if value.split(':').count() != 2 {
                            return Err(bad("super:<base64 sha1>"));
                        }
                        c.super_digest = Some(value.to_owned());
                    }
                    k if k.starts_with("server.") && has_dynamic_file => {
                        return Err(bad("must be in the separate dynamicConfigFile"));
                    }
                    k if k.starts_with("server.") => {
                        let id = k["server.".len()..]
                            .parse::<u64>()
                            .map_err(|_| bad("server.N needs a number N"))?;
                        c.servers
                            .push(zoo_cfg::parse_server_line(id, value).map_err(|why| bad(&why))?);
                    }
                    "initLimit" | "syncLimit" => {
                        let n = u32::try_from(num("a number of ticks")?)
                            .map_err(|_| bad("a number of ticks"))?
                            .max(1);
                        if key == "syncLimit" {
                            c.sync_limit = n;
                        } else {
                            c.init_limit = n;
                        }
                    }
                    "corral.linearizableReads" => {
                        c.linearizable_reads = value.parse().map_err(|_| bad("true or false"))?;
                    }
                    "corral.repairFromPeers" => {
                        c.repair_from_peers = value.parse().map_err(|_| bad("true or false"))?;
                    }
                    "corral.console.enabled" => {
                        c.console_enabled = value.parse().map_err(|_| bad("true or false"))?;
                    }
                    "corral.console.readOnly" => {
                        c.console_read_only = value.parse().map_err(|_| bad("true or false"))?;
                    }
                    "autopurge.snapRetainCount" | "autopurge.purgeInterval" => {
                        num("a number")?;
                        info!(
                            key,
                            "accepted: the Raft log is purged behind every snapshot, so no separate purge runs"
                        );
                    }
                    "admin.enableServer" => {
                        admin_enabled = value.parse().map_err(|_| bad("true or false"))?;
                    }
                    "admin.serverAddress" => {
                        admin_host = Some(value.parse().map_err(|_| bad("an IP address"))?)
                    }
                    "admin.serverPort" => admin_port = port("a port")?,
                    "metricsProvider.httpHost" => {
                        metrics_host = Some(value.parse().map_err(|_| bad("an IP address"))?)
                    }
                    "metricsProvider.httpPort" => metrics_port = port("a port, or 0 for none")?,
                    "metricsProvider.className" => {
                        if !value.ends_with("PrometheusMetricsProvider") {
                            info!(
                                key,
                                value,
                                "Corral always serves Prometheus metrics (metricsProvider.httpPort=0 turns them off)"
                            );
                        }
                    }
                    "admin.rateLimiterIntervalInMS" | "zookeeper.admin.rateLimiterIntervalInMS" => {
                        c.admin_rate_limit_interval = Duration::from_millis(num("milliseconds")?);
                    }
                    "admin.snapshot.enabled" | "zookeeper.admin.snapshot.enabled" => {
                        c.admin_snapshot_enabled =
                            value.parse().map_err(|_| bad("true or false"))?;
                    }
                    "admin.restore.enabled" | "zookeeper.admin.restore.enabled" => {
                        c.admin_restore_enabled =
                            value.parse().map_err(|_| bad("true or false"))?;
                    }
                    "secureClientPort" => secure_port = Some(port("a port")?),
                    "secureClientPortAddress" => {
                        secure_host = Some(value.parse().map_err(|_| bad("an IP address"))?)
                    }
                    "client.certReload" | "zookeeper.client.certReload" => {
                        c.client_cert_reload = value.parse().map_err(|_| bad("true or false"))?;
                    }
                    "client.portUnification" | "zookeeper.client.portUnification" => {
                        c.client_port_unification =
                            value.parse().map_err(|_| bad("true or false"))?;
                    }
                    "serverCnxnFactory" => {
                        info!(
                            key,
                            value, "accepted: Corral has one connection layer, TLS included"
                        );
                    }
                    "readonlymode.enabled" | "zookeeper.readonlymode.enabled" => {
                        c.read_only_mode = value.parse().map_err(|_| bad("true or false"))?;
                    }
                    "localSessionsEnabled" => {
                        c.local_sessions_enabled =
                            value.parse().map_err(|_| bad("true or false"))?;
                    }
                    "localSessionsUpgradingEnabled" => {
                        value.parse::<bool>().map_err(|_| bad("true or false"))?;
                        info!(
                            key,
                            value,
                            "accepted: a read-write member's sessions are global in Corral, so none needs upgrading"
                        );
                    }
                    "corral.existsAclCheck" => {
                        c.exists_acl_check = value.parse().map_err(|_| bad("true or false"))?;
                    }
                    "corral.readyMaxLag" => c.ready_max_lag = num("a number of Raft entries")?,
                    "corral.maxOutboundBytes" => {
                        c.max_outbound_bytes = usize::try_from(num("bytes")?)
                            .map_err(|_| bad("bytes"))?
                            .max(1 << 20);
                    }
                    "corral.electionTimeoutMs" => {
                        let ms = num("milliseconds")?;
                        if ms < 50 {
                            return Err(bad("at least 50 milliseconds"));
                        }
                        c.election_timeout = Some(Duration::from_millis(ms));
                    }
                    "corral.maxOutboundBytesTotal" => {
                        c.max_outbound_bytes_total = usize::try_from(num("bytes")?)
                            .map_err(|_| bad("bytes"))?
                            .max(1 << 20);
                    }
                    "corral.k8s.removeAfterMs" => {
                        c.k8s_remove_after = Some(Duration::from_millis(num("milliseconds")?));
                    }
                    "admin.idleTimeout" | "admin.commandURL" | "metricsProvider.exportJvmInfo" => {
                        info!(key, value, "accepted; Corral uses its fixed value");
                    }
                    "reconfigEnabled" => {
                        c.reconfig_enabled = value.parse().map_err(|_| bad("true or false"))?;
                    }
                    "standaloneEnabled" => {
                        c.standalone_enabled = value.parse().map_err(|_| bad("true or false"))?;
                    }
                    // A system property in ZooKeeper: "yes" turns it on.
                    "skipACL" | "zookeeper.skipACL" => {
                        c.skip_acl = value == "yes";
                        warn!(
                            key,
                            value,
                            "skipACL: Corral skips only reconfig's ACL check; every other check stays"
                        );
                    }
                    // A system property in ZooKeeper: anything but "no"
                    // keeps it on (`FileTxnLog`'s `forceSync`).
                    "forceSync" | "zookeeper.forceSync" => c.force_sync = value != "no",
                    "dynamicConfigFile" => {
                        let path = PathBuf::from(value);
                        let (servers, version) =
                            read_dynamic_file(&path).map_err(|why| bad(&why))?;
                        c.servers.extend(servers);
                        c.config_version = version;
                        c.dynamic_config_file = Some(path);
                    }
                    "quorumListenOnAllIPs"
                    | "globalOutstandingLimit"
                    | "preAllocSize"
                    | "syncEnabled"
                    | "peerType"
                    | "electionAlg"
                    | "leaderServes"
                    | "cnxTimeout" => {
                        warn!(
                            key,
                            value,
                            "known ZooKeeper setting that Corral does not implement yet; ignored"
                        );
                    }
                    "sslQuorum" => {
                        c.ssl_quorum = value.parse().map_err(|_| bad("true or false"))?;
                    }
                    "portUnification" => {
                        c.quorum_port_unification =
                            value.parse().map_err(|_| bad("true or false"))?;
                    }
                    "sslQuorumReloadCertFiles" => {
                        c.quorum_cert_reload = value.parse().map_err(|_| bad("true or false"))?;
                    }
                    k if k.starts_with("metricsProvider.")
                        || k.starts_with("ssl.")
                        || k.starts_with("sslQuorum") =>
                    {
                        warn!(
                            key,
                            "known ZooKeeper setting that Corral does not implement yet; ignored"
                        );
                    }
                    _ => warn!(key, value, line, "unknown setting; ignored"),
                }
            }
        }
        // Flags win over the file.
        if let Some(v) = args.tick_time {
            c.tick_time = Duration::from_millis(u64::from(v.max(1)));
        }
        if let Some(v) = &args.data_dir {
            c.data_dir = v.clone();
        }
        if let Some(v) = &args.data_log_dir {
            c.data_log_dir = Some(v.clone());
        }
        if let Some(v) = args.min_session_timeout {
            min_timeout_ms = Some(v);
        }
        if let Some(v) = args.max_session_timeout {
            max_timeout_ms = Some(v);
        }
        if let Some(v) = args.max_client_cnxns {
            c.max_client_cnxns = v;
        }
        if let Some(v) = args.jute_maxbuffer {
            jute_maxbuffer = v;
        }
        if args.extended_types_enabled {
            c.extended_types_enabled = true;
        }
        if let Some(v) = args.container_check_interval_ms {
            c.container_check_interval = Duration::from_millis(v.max(1));
        }
        if let Some(v) = args.snap_count {
            c.snap_count = v.max(1);
        }
        if let Some(v) = &args.four_letter_whitelist {
            c.four_letter_whitelist = parse_whitelist(v);
        }
        if let Some(v) = &args.super_digest {
            c.super_digest = Some(v.clone());
        }
        if let Some(v) = args.admin_port {
            admin_port = v;
            admin_enabled = v != 0;
        }
        if let Some(v) = args.admin_address {
            admin_host = Some(v);
        }
        if let Some(v) = args.metrics_port {
            metrics_port = v;
        }
        if let Some(v) = args.metrics_host {
            metrics_host = Some(v);
        }
        if let Some(v) = args.ready_max_lag {
            c.ready_max_lag = v;
        }
        // myid lives in the data directory, as with ZooKeeper.
        let myid_path = c.data_dir.join("myid");
        if let Ok(text) = std::fs::read_to_string(&myid_path) {
            let id = text
                .trim()
                .parse::<u8>()
                .map_err(|_| ConfigError::BadValue {
                    file: myid_path.display().to_string(),
                    line: 1,
                    key: "myid".into(),
                    value: text.trim().to_owned(),
                    why: "a server id from 1 to 255".into(),
                })?;
            c.server_id = id.max(1);
        }
        // No clientPort: the client address of this server's own line
        // (ZooKeeper 3.5+'s `server.N=…;[host:]port`).
        let own_client = c
            .servers
            .iter()
            .find(|s| s.id == u64::from(c.server_id))
            .and_then(|s| s.client_shown.as_deref())
            .and_then(|a| a.rsplit_once(':'))
            .and_then(|(h, p)| Some((h.parse::<IpAddr>().ok(), p.parse::<u16>().ok()?)));
        c.client_addr = match (args.client_addr, client_port, own_client) {
            (Some(addr), _, _) => addr,
            (None, Some(port), _) => {
                SocketAddr::new(client_host.unwrap_or(IpAddr::from([0, 0, 0, 0])), port)
            }
            (None, None, Some((host, port))) => {
                SocketAddr::new(host.unwrap_or(IpAddr::from([0, 0, 0, 0])), port)
            }
            (None, None, None) => c.client_addr,
        };
        let ip = c.client_addr.ip();
        c.secure_client_addr = secure_port.map(|p| SocketAddr::new(secure_host.unwrap_or(ip), p));
        c.admin_addr = (admin_enabled && admin_port != 0)
            .then(|| SocketAddr::new(admin_host.unwrap_or(ip), admin_port));
        c.metrics_addr =
            (metrics_port != 0).then(|| SocketAddr::new(metrics_host.unwrap_or(ip), metrics_port));
        c.min_session_timeout =
            min_timeout_ms.map_or(c.tick_time * 2, |ms| Duration::from_millis(u64::from(ms)));
        c.max_session_timeout =
            max_timeout_ms.map_or(c.tick_time * 20, |ms| Duration::from_millis(u64::from(ms)));
        if c.min_session_timeout > c.max_session_timeout {
            return Err(ConfigError::Unsupported(format!(
                "minSessionTimeout {:?} is above maxSessionTimeout {:?}",
                c.min_session_timeout, c.max_session_timeout
            )));
        }
        c.max_frame_len = jute_maxbuffer.saturating_add(jute::MAX_BUFFER_EXTRA);
        let tls = c.tls_enabled();
        c.auth.finish(tls).map_err(ConfigError::Unsupported)?;
        c.check_ensemble()?;
        Ok(c)
    }

    /// An ensemble's `server.N` lines must name this server (`myid`), once
    /// each, with at least one voter.
    fn check_ensemble(&self) -> Result<(), ConfigError> {
        if self.servers.is_empty() {
            return Ok(());
        }
        let mut ids = BTreeSet::new();
        for s in &self.servers {
            if !ids.insert(s.id) {
                return Err(ConfigError::Unsupported(format!(
                    "server.{} is given twice",
                    s.id
                )));
            }
        }
        if !ids.contains(&u64::from(self.server_id)) {
            return Err(ConfigError::Unsupported(format!(
                "myid is {} but there is no server.{} line",
                self.server_id, self.server_id
            )));
        }
        if self.servers.iter().all(|s| s.observer) {
            return Err(ConfigError::Unsupported(
                "every server.N line is an observer: an ensemble needs voters".into(),
            ));
        }
        Ok(())
    }

    /// Whether TLS for clients is on (a secure port, or the client port
    /// unified).
    pub fn tls_enabled(&self) -> bool {
        self.secure_client_addr.is_some() || self.client_port_unification
    }

    /// The auth schemes served beyond digest and ip.
    pub fn acl_schemes(&self) -> storage::acl::Schemes {
        self.auth.schemes(self.tls_enabled())
    }

    /// Whether this server runs alone (no `server.N` lines, or only its
    /// own with `standaloneEnabled` on): ZooKeeper's "standalone" mode.
    pub fn is_standalone(&self) -> bool {
        self.servers.is_empty() || (self.servers.len() == 1 && self.standalone_enabled)
    }

    /// A configuration for tests: loopback, ephemeral port, ZooKeeper's
    /// defaults except TTL nodes on, every four-letter word allowed, no
    /// connection limit, a 200 ms container check, and no AdminServer or
    /// metrics port (a test that wants them picks free ports).
    pub fn for_tests(data_dir: PathBuf) -> Self {
        Config {
            client_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            extended_types_enabled: true,
            container_check_interval: Duration::from_millis(200),
            four_letter_whitelist: None,
            max_client_cnxns: 0,
            admin_addr: None,
            metrics_addr: None,
            ..Config::defaults()
        }
    }
}

/// Reads a `dynamicConfigFile`: its `server.N` lines, and the version its
/// name carries (`zoo.cfg.dynamic.<hex>`; 0 without one), as ZooKeeper's
/// `QuorumPeerConfig.parse` does. A `version` key inside is refused, as
/// there.
pub(crate) fn read_dynamic_file(path: &std::path::Path) -> Result<(Vec<ServerLine>, i64), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    let (servers, version) = zoo_cfg::parse_dynamic_config(&text)?;
    if version.is_some() {
        return Err("a dynamic file has no version inside (its name carries it)".into());
    }
    let version = path
        .extension()
        .and_then(|e| e.to_str())
        .and_then(|hex| i64::from_str_radix(hex, 16).ok())
        .unwrap_or(0);
    Ok((servers, version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn load(cfg: &str, extra: impl FnOnce(&mut Args)) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().map_err(|e| ConfigError::Unsupported(e.to_string()))?;
        let path = dir.path().join("zoo.cfg");
        let cfg = cfg.replace("$DIR", &dir.path().display().to_string());
        std::fs::write(&path, cfg).map_err(|e| ConfigError::Unsupported(e.to_string()))?;
        let mut args = Args {
            config: Some(path),
            ..Args::default()
        };
        extra(&mut args);
        Config::load(&args)
    }

    #[test]
    fn a_typical_zoo_cfg() {
        let c = load(
            "tickTime=3000\ninitLimit=10\nsyncLimit=5\ndataDir=$DIR\nclientPort=2182\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\n4lw.commands.whitelist=ruok, srvr,mntr\nextendedTypesEnabled=true\nsomething.else=1\n",
            |_| {},
        )
        .expect("valid");
        assert_eq!(c.tick_time, Duration::from_secs(3));
        assert_eq!(c.min_session_timeout, Duration::from_secs(6));
        assert_eq!(c.max_session_timeout, Duration::from_secs(60));
        assert_eq!(c.client_addr, "127.0.0.1:2182".parse().expect("addr"));
        assert_eq!(c.max_client_cnxns, 0);
        assert!(c.extended_types_enabled);
        let words: Vec<&str> = c
            .four_letter_whitelist
            .iter()
            .flatten()
            .map(String::as_str)
            .collect();
        assert_eq!(words, vec!["mntr", "ruok", "srvr"]);
    }

    #[test]
    fn force_sync_is_on_unless_no() {
        let force_sync = |text: &str| load(text, |_| {}).expect("valid").force_sync;
        assert!(force_sync(""));
        assert!(!force_sync("forceSync=no\n"));
        assert!(!force_sync("zookeeper.forceSync=no\n"));
        assert!(force_sync("forceSync=yes\n"));
        assert!(
            force_sync("forceSync=false\n"),
            "ZooKeeper turns it off only for \"no\""
        );
    }

    #[test]
    fn console_keys() {
        let c = load("", |_| {}).expect("valid");
        assert!(
            c.console_enabled && c.console_read_only,
            "on and read-only by default"
        );
        let c = load(
            "corral.console.enabled=false\ncorral.console.readOnly=false\n",
            |_| {},
        )
        .expect("valid");
        assert!(!c.console_enabled && !c.console_read_only);
        assert!(load("corral.console.readOnly=maybe\n", |_| {}).is_err());
    }

    #[test]
    fn reconfiguration_keys() {
        let dir = tempfile::tempdir().expect("a directory");
        let dynamic = dir.path().join("zoo.cfg.dynamic.100000004");
        std::fs::write(
            &dynamic,
            "server.1=127.0.0.1:2888:3888:participant;2181\nserver.2=127.0.0.2:2888:3888:observer;127.0.0.2:2182\n",
        )
        .expect("write");
        let c = load(
            &format!(
                "reconfigEnabled=true\nstandaloneEnabled=false\nskipACL=yes\ndynamicConfigFile={}\n",
                dynamic.display()
            ),
            |_| {},
        )
        .expect("valid");
        assert!(c.reconfig_enabled && !c.standalone_enabled && c.skip_acl);
        assert_eq!(c.config_version, 0x1_0000_0004);
        assert_eq!(c.servers.len(), 2);
        assert!(c.servers[1].observer);
        // No clientPort: this server's own line gives it.
        assert_eq!(c.client_addr, "0.0.0.0:2181".parse().expect("an address"));
        assert!(c.dynamic_config_file.is_some() && c.config_file.is_some());
        assert!(!c.is_standalone());
        // A commented-out dynamicConfigFile is no dynamicConfigFile.
        let c = load(
            "#dynamicConfigFile=/x\nserver.1=a:1:2\nserver.2=b:1:2\n",
            |_| {},
        )
        .expect("valid");
        assert_eq!(c.servers.len(), 2);
        // server.N beside dynamicConfigFile: refused, as ZooKeeper does.
        let err = load(
            &format!("dynamicConfigFile={}\nserver.3=c:1:2\n", dynamic.display()),
            |_| {},
        )
        .expect_err("server lines belong in the dynamic file");
        assert!(err.to_string().contains("dynamicConfigFile"), "{err}");
        // A version inside the dynamic file: refused.
        std::fs::write(&dynamic, "server.1=a:1:2;3\nversion=5\n").expect("write");
        assert!(
            load(
                &format!("dynamicConfigFile={}\n", dynamic.display()),
                |_| {}
            )
            .is_err()
        );
        // One line: standalone unless standaloneEnabled=false.
        let c = load("server.1=127.0.0.1:2888:3888;2181\n", |_| {}).expect("valid");
        assert!(c.is_standalone());
    }

    #[test]
    fn tree_and_auth_keys() {
        let c = load(
            "znode.container.checkIntervalMs=1500\nsnapCount=5000\njute.maxbuffer=2048\nDigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\nminSessionTimeout=3000\nmaxSessionTimeout=9000\nautopurge.purgeInterval=1\nauthProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\nreconfigEnabled=true\ndataLogDir=/var/lib/zk-log\n",
            |_| {},
        )
        .expect("valid");
        assert_eq!(c.data_log_dir, Some(PathBuf::from("/var/lib/zk-log")));
        assert_eq!(c.container_check_interval, Duration::from_millis(1500));
        assert_eq!(c.snap_count, 5000);
        assert_eq!(c.max_frame_len, 2048 + jute::MAX_BUFFER_EXTRA);
        assert_eq!(
            c.super_digest.as_deref(),
            Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU=")
        );
        assert_eq!(
            (c.min_session_timeout, c.max_session_timeout),
            (Duration::from_secs(3), Duration::from_secs(9))
        );
        assert!(
            c.exists_acl_check,
            "exists checks READ by default, as 3.8.4+"
        );
        let c = load("corral.existsAclCheck=false\n", |_| {}).expect("valid");
        assert!(!c.exists_acl_check);
        assert!(load("corral.existsAclCheck=maybe\n", |_| {}).is_err());
        assert!(!c.enforce_quota);
        let c = load("zookeeper.enforceQuota=true\n", |_| {}).expect("valid");
        assert!(c.enforce_quota);
        let c = load(
            "secureClientPort=2281\nssl.keyStore.location=/k.pem\nssl.keyStore.type=PEM\nzookeeper.ssl.trustStore.location=/t.pem\nssl.clientAuth=want\nserverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n",
            |_| {},
        )
        .expect("valid");
        assert_eq!(c.secure_client_addr.map(|a| a.port()), Some(2281));
        assert_eq!(c.ssl.key_store.as_deref(), Some(Path::new("/k.pem")));
        assert_eq!(c.ssl.trust_store.as_deref(), Some(Path::new("/t.pem")));
        assert_eq!(c.ssl.client_auth, ClientAuth::Want);
        assert!(load("ssl.clientAuth=maybe\n", |_| {}).is_err());
        assert!(
            load("client.portUnification=true\n", |_| {})
                .expect("valid")
                .client_port_unification
        );
        assert!(
            load("zookeeper.client.certReload=true\n", |_| {})
                .expect("valid")
                .client_cert_reload
        );
        assert!(!c.read_only_mode && !c.local_sessions_enabled);
        let c = load(
            "readonlymode.enabled=true\nlocalSessionsEnabled=true\nlocalSessionsUpgradingEnabled=true\n",
            |_| {},
        )
        .expect("valid");
        assert!(c.read_only_mode && c.local_sessions_enabled);
    }

    #[test]
    fn security_keys_as_zoo_cfg_or_properties() {
        let dir = tempfile::tempdir().expect("dir");
        let jaas = dir.path().join("jaas.conf");
        std::fs::write(
            &jaas,
            "Server { org.apache.zookeeper.server.auth.DigestLoginModule required user_bob=\"pw\"; };\n",
        )
        .expect("jaas");
        let c = load(
            &format!(
                "secureClientPort=2281\nauthProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n\
                 java.security.auth.login.config={}\nzookeeper.superUser=bob\nsuperUser.2=carol\n\
                 X509AuthenticationProvider.superUser=CN=admin\nsessionRequireClientSASLAuth=true\n\
                 kerberos.removeRealmFromPrincipal=true\nssl.protocol=TLSv1.3\nssl.enabledProtocols=TLSv1.2\n\
                 zookeeper.ssl.ciphersuites=TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n\
                 ssl.handshakeDetectionTimeoutMillis=0\nssl.hostnameVerification=false\n\
                 sslQuorum=true\nportUnification=true\nssl.quorum.keyStore.location=/q.pem\n\
                 zookeeper.ssl.quorum.hostnameVerification=false\nsslQuorumReloadCertFiles=true\n",
                jaas.display()
            ),
            |_| {},
        )
        .expect("valid");
        let a = &c.auth;
        assert!(a.sasl_provider && a.remove_realm_from_principal);
        let mut supers = a.super_users.clone();
        supers.sort();
        assert_eq!(supers, ["bob", "carol"]);
        assert_eq!(a.x509_super_user.as_deref(), Some("CN=admin"));
        assert_eq!(a.enforced(), Some(&["sasl".to_owned()][..]));
        assert_eq!(
            a.sasl_users.as_deref().map(|u| u["bob"].as_str()),
            Some("pw")
        );
        assert_eq!(
            c.acl_schemes(),
            storage::acl::Schemes {
                x509: true,
                sasl: true
            }
        );
        // enabledProtocols wins over protocol.
        assert_eq!(c.ssl.protocols, [TlsVersion::Tls12]);
        assert_eq!(c.ssl.cipher_suites.len(), 2);
        assert_eq!(c.ssl.handshake_timeout, Duration::from_millis(5000));
        assert!(c.ssl_quorum && c.quorum_port_unification && c.quorum_cert_reload);
        assert_eq!(c.quorum_ssl.key_store.as_deref(), Some(Path::new("/q.pem")));
        assert!(!c.quorum_ssl.hostname_verification && !c.ssl.hostname_verification);
        assert!(c.quorum_ssl.trust_store.is_none());
        for bad in [
            "ssl.quorum.protocol=SSLv3\n",
            "ssl.crl=true\n",
            "ssl.protocol=SSLv3\n",
            "ssl.authProvider=sasl\n",
            "enforce.auth.enabled=true\n",
            "enforce.auth.enabled=true\nenforce.auth.schemes=x509\n",
            "zookeeper.sasl.serverconfig=Server\n",
        ] {
            assert!(load(bad, |_| {}).is_err(), "{bad}");
        }
        // x509 is served with TLS on, as ZooKeeper registers it then.
        assert!(
            load(
                "secureClientPort=2281\nenforce.auth.enabled=true\nenforce.auth.schemes=x509\n",
                |_| {}
            )
            .is_ok()
        );
    }

    #[test]
    fn flags_override_the_file_and_star_allows_all() {
        let c = load("clientPort=2182\n4lw.commands.whitelist=*\n", |a| {
            a.client_addr = Some("127.0.0.1:9999".parse().expect("addr"));
            a.tick_time = Some(500);
        })
        .expect("valid");
        assert_eq!(c.client_addr.port(), 9999);
        assert_eq!(c.min_session_timeout, Duration::from_millis(1000));
        assert!(c.four_letter_whitelist.is_none());
    }

    #[test]
    fn bad_values_name_the_key_and_line() {
        let err = load("tickTime=2000\nclientPort=notaport\n", |_| {}).expect_err("invalid");
        let msg = err.to_string();
        assert!(msg.contains(":2:") && msg.contains("clientPort"), "{msg}");
        let err = load("server.2=b:1:2\nserver.3=c:1:2\n", |_| {}).expect_err("not a member");
        assert!(err.to_string().contains("no server.1 line"), "{err}");
        let c = load("server.1=a:1:2\nserver.2=b:1:2\nsyncLimit=3\n", |_| {}).expect("ensemble");
        assert_eq!((c.servers.len(), c.sync_limit), (2, 3));
        let err =
            load("minSessionTimeout=9000\nmaxSessionTimeout=100\n", |_| {}).expect_err("order");
        assert!(err.to_string().contains("minSessionTimeout"), "{err}");
    }

    #[test]
    fn myid_is_read_from_the_data_dir() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("myid"), "7\n").expect("myid");
        let c = Config::load(&Args {
            data_dir: Some(dir.path().to_path_buf()),
            ..Args::default()
        })
        .expect("valid");
        assert_eq!(c.server_id, 7);
        std::fs::write(dir.path().join("myid"), "x\n").expect("myid");
        let err = Config::load(&Args {
            data_dir: Some(dir.path().to_path_buf()),
            ..Args::default()
        });
        assert!(err.is_err_and(|e| e.to_string().contains("myid")));
    }

    #[test]
    fn corrals_own_bounds_and_timers() {
        let c = load("", |_| {}).expect("valid");
        assert_eq!(c.election_timeout, None);
        assert_eq!(
            (c.max_outbound_bytes, c.max_outbound_bytes_total),
            (64 << 20, 1 << 30)
        );
        let c = load(
            "corral.electionTimeoutMs=750
corral.maxOutboundBytes=1000
corral.maxOutboundBytesTotal=8388608
",
            |_| {},
        )
        .expect("valid");
        assert_eq!(c.election_timeout, Some(Duration::from_millis(750)));
        // At least 1 MiB each.
        assert_eq!(
            (c.max_outbound_bytes, c.max_outbound_bytes_total),
            (1 << 20, 8 << 20)
        );
        for bad in [
            "corral.electionTimeoutMs=10\n",
            "corral.electionTimeoutMs=soon\n",
        ] {
            assert!(load(bad, |_| {}).is_err(), "{bad} accepted");
        }
        // From tickTime when not set.
        use crate::core::default_election_timeout as e;
        assert_eq!(e(Duration::from_millis(2000)), Duration::from_millis(300));
        assert_eq!(e(Duration::from_millis(100)), Duration::from_millis(200));
        assert_eq!(e(Duration::from_secs(60)), Duration::from_secs(1));
    }

    #[test]
    fn admin_and_metrics_ports() {
        // Defaults: on, at the client address's IP.
        let c = load("clientPort=2182\nclientPortAddress=127.0.0.2\n", |_| {}).expect("valid");
        assert_eq!(c.admin_addr, Some("127.0.0.2:8080".parse().expect("addr")));
        assert_eq!(
            c.metrics_addr,
            Some("127.0.0.2:7000".parse().expect("addr"))
        );
        assert_eq!(
            c.initial_configuration.as_deref(),
            Some("clientPort=2182\nclientPortAddress=127.0.0.2\n")
        );
        // ZooKeeper's keys.
        let c = load(
            "admin.serverAddress=127.0.0.3\nadmin.serverPort=9090\nmetricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\nmetricsProvider.httpHost=127.0.0.4\nmetricsProvider.httpPort=7001\ncorral.readyMaxLag=5\n",
            |_| {},
        )
        .expect("valid");
        assert_eq!(c.admin_addr, Some("127.0.0.3:9090".parse().expect("addr")));
        assert_eq!(
            c.metrics_addr,
            Some("127.0.0.4:7001".parse().expect("addr"))
        );
        assert_eq!(c.ready_max_lag, 5);
        // Off.
        let c = load(
            "admin.enableServer=false\nmetricsProvider.httpPort=0\n",
            |_| {},
        )
        .expect("valid");
        assert_eq!((c.admin_addr, c.metrics_addr), (None, None));
        // Flags win; port 0 turns the AdminServer off.
        let c = load("admin.serverPort=9090\n", |a| {
            a.admin_port = Some(0);
            a.metrics_port = Some(7100);
        })
        .expect("valid");
        assert_eq!(c.admin_addr, None);
        assert_eq!(c.metrics_addr.map(|a| a.port()), Some(7100));
        // A bad value names its key.
        let err = load("admin.serverPort=http\n", |_| {}).expect_err("bad port");
        assert!(err.to_string().contains("admin.serverPort"), "{err}");
    }
}
