//! The server's typed configuration, with ZooKeeper's defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::Args;

/// Everything the server needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address for ZooKeeper clients.
    pub client_addr: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// ZooKeeper's `tickTime`.
    pub tick_time: Duration,
    /// ZooKeeper's `minSessionTimeout` (default 2 ticks).
    pub min_session_timeout: Duration,
    /// ZooKeeper's `maxSessionTimeout` (default 20 ticks).
    pub max_session_timeout: Duration,
    /// Largest accepted frame body, bytes.
    pub max_frame_len: usize,
    /// This server's id (`myid`), the top byte of the session ids it creates.
    pub server_id: u8,
    /// ZooKeeper's `extendedTypesEnabled`: TTL nodes allowed.
    pub extended_types_enabled: bool,
    /// ZooKeeper's `znode.container.checkIntervalMs`.
    pub container_check_interval: Duration,
    /// ZooKeeper's `DigestAuthenticationProvider.superDigest`
    /// (`super:<base64 sha1>`): a client that authenticates with the
    /// matching `digest` credentials is the super user.
    pub super_digest: Option<String>,
}

impl Config {
    /// The configuration the command line describes.
    pub fn from_args(args: &Args) -> Self {
        let tick = Duration::from_millis(u64::from(args.tick_time.max(1)));
        Config {
            client_addr: args.client_addr,
            data_dir: args.data_dir.clone(),
            tick_time: tick,
            min_session_timeout: tick * 2,
            max_session_timeout: tick * 20,
            max_frame_len: args.jute_maxbuffer.saturating_add(jute::MAX_BUFFER_EXTRA),
            server_id: 0,
            extended_types_enabled: args.extended_types_enabled,
            container_check_interval: Duration::from_millis(
                args.container_check_interval_ms.max(1),
            ),
            super_digest: args.super_digest.clone(),
        }
    }

    /// A configuration for tests: loopback, ephemeral port, ZooKeeper's
    /// defaults except TTL nodes on and a 200 ms container check.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        let tick = Duration::from_millis(2000);
        Config {
            client_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            tick_time: tick,
            min_session_timeout: tick * 2,
            max_session_timeout: tick * 20,
            max_frame_len: jute::DEFAULT_MAX_FRAME_LEN,
            server_id: 0,
            extended_types_enabled: true,
            container_check_interval: Duration::from_millis(200),
            super_digest: None,
        }
    }
}
