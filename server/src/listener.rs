//! The accept loop and graceful shutdown.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::Config;
use crate::connection;
use crate::core::Core;
use crate::leader_tasks;

/// Serves ZooKeeper clients on `listener` until `shutdown` is cancelled, then
/// closes every connection and returns.
///
/// Tests bind `127.0.0.1:0` and pass the listener in, so they run the same
/// code as the binary.
///
/// # Errors
/// Only a failure of the listening socket itself; errors of single
/// connections are logged and end that connection alone.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    info!(addr = %local, data_dir = %config.data_dir.display(), "corral listening for ZooKeeper clients");
    let core = Arc::new(Core::open(config).await.map_err(std::io::Error::other)?);
    let tasks = TaskTracker::new();
    tasks.spawn(leader_tasks::expire_sessions(
        core.clone(),
        shutdown.clone(),
    ));
    tasks.spawn(leader_tasks::reap_containers(
        core.clone(),
        shutdown.clone(),
    ));
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((socket, peer)) => {
                let _ = socket.set_nodelay(true);
                tasks.spawn(connection::serve(
                    socket,
                    peer,
                    core.clone(),
                    shutdown.clone(),
                ));
            }
            // Running out of file descriptors and similar: keep serving the
            // connections we have, and try again shortly.
            Err(e) => {
                warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
    info!("shutting down: closing connections");
    tasks.close();
    tasks.wait().await;
    core.shutdown().await;
    info!("shut down");
    Ok(())
}
