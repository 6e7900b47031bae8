//! The accept loop and graceful shutdown.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::Config;
use crate::core::Core;
use crate::leader_tasks;
use crate::net::connection;

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
    mut config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    info!(addr = %local, data_dir = %config.data_dir.display(), "corral listening for ZooKeeper clients");
    // An ensemble member listens for its peers on its `server.N` quorum
    // port (bound first, so a port in use is reported before anything
    // starts).
    let peer_listener = if config.is_standalone() {
        None
    } else {
        let own = config
            .servers
            .iter()
            .find(|s| s.id == u64::from(config.server_id))
            .map(|s| s.quorum_addr.clone())
            .unwrap_or_default();
        let addr = consensus::network::resolve(&own).await?;
        Some(TcpListener::bind(addr).await?)
    };
    // TLS: its settings checked, and the secure port bound, before
    // anything starts.
    let acceptor = if config.secure_client_addr.is_some() || config.client_port_unification {
        let a = crate::net::tls::Acceptor::new(&config.ssl).map_err(std::io::Error::other)?;
        Some(Arc::new(a))
    } else {
        None
    };
    let reload = acceptor.clone().filter(|_| config.client_cert_reload);
    // TLS between members (sslQuorum, portUnification), checked now too.
    config.peer_tls = crate::net::tls::peer_tls(&config).map_err(std::io::Error::other)?;
    let secure = match (config.secure_client_addr, &acceptor) {
        (Some(addr), Some(acceptor)) => {
            let l = TcpListener::bind(addr).await?;
            info!(addr = %l.local_addr().unwrap_or(addr), "corral listening for ZooKeeper clients over TLS");
            Some((l, acceptor.clone()))
        }
        _ => None,
    };
    // client.portUnification: the client port takes TLS too.
    let unified = acceptor.filter(|_| config.client_port_unification);
    let core = Arc::new(Core::open(config).await.map_err(std::io::Error::other)?);
    let tasks = TaskTracker::new();
    if let Some(acceptor) = reload {
        tasks.spawn(crate::net::tls::watch(acceptor, shutdown.clone()));
    }
    if let Some(tls) = core
        .config
        .peer_tls
        .clone()
        .filter(|_| core.config.quorum_cert_reload)
    {
        tasks.spawn(crate::net::tls::watch_quorum(
            core.config.clone(),
            tls,
            shutdown.clone(),
        ));
    }
    // The peer listener outlives the client side at shutdown: a leader
    // hands over (`reconfig::step_down`) after its clients are gone, and
    // needs its peers for that. Stopped after it, or on any early return.
    let peers_stop = CancellationToken::new();
    let _peers_guard = peers_stop.clone().drop_guard();
    let mut peer_task = None;
    if let Some(peers) = peer_listener {
        let handler_core = core.clone();
        let app: consensus::network::AppHandler = Arc::new(move |from, payload| {
            crate::reconfig::on_message(handler_core.clone(), from, payload)
        });
        // On Raft's runtime: AppendEntries go straight to its core.
        let peers = peers.into_std()?;
        let (raft, me, abstain, faults, tls, stop) = (
            core.raft.clone(),
            core.me,
            core.abstain.clone(),
            core.config.peer_faults.clone(),
            core.config.peer_tls.clone(),
            peers_stop.clone(),
        );
        peer_task = Some(core.raft_runtime.spawn(async move {
            match TcpListener::from_std(peers) {
                Ok(peers) => {
                    consensus::network::serve(peers, raft, me, app, abstain, faults, tls, stop)
                        .await
                }
                Err(e) => tracing::error!(error = %e, "peer listener"),
            }
        }));
    }
    tasks.spawn(leader_tasks::keep_in_touch(core.clone(), shutdown.clone()));
    if core.abstain.is_set() {
        tasks.spawn(leader_tasks::finish_repair(core.clone(), shutdown.clone()));
    }
    tasks.spawn(leader_tasks::watch_storage(core.clone(), shutdown.clone()));
    if !core.config.is_standalone() {
        tasks.spawn(crate::reconfig::keep_config_files(
            core.clone(),
            shutdown.clone(),
        ));
        if let Some(after) = core.config.k8s_remove_after {
            tasks.spawn(crate::reconfig::sweep_departed(
                core.clone(),
                after,
                shutdown.clone(),
            ));
        }
    }
    if let Some(addr) = core.config.admin_addr {
        let mut router = crate::monitor::admin::admin_router(core.clone());
        if core.config.console_enabled {
            router = router.merge(crate::console::router(core.clone(), shutdown.clone()));
        }
        tasks.spawn(crate::monitor::admin::serve(
            "AdminServer",
            addr,
            router,
            shutdown.clone(),
        ));
    }
    if let Some(addr) = core.config.metrics_addr {
        let router = crate::monitor::admin::metrics_router(core.clone());
        tasks.spawn(crate::monitor::admin::serve(
            "Prometheus metrics",
            addr,
            router,
            shutdown.clone(),
        ));
    }
    let per_ip: Arc<Mutex<HashMap<IpAddr, u32>>> = Arc::default();
    if let Some((l, acceptor)) = secure {
        tasks.spawn(accept_tls(
            l,
            acceptor,
            core.clone(),
            per_ip.clone(),
            tasks.clone(),
            shutdown.clone(),
        ));
    }
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
                let Some(slot) = PerIp::admit(&per_ip, peer.ip(), core.config.max_client_cnxns)
                else {
                    // ZooKeeper closes the newcomer: "Too many connections".
                    core.metrics
                        .error(crate::monitor::metrics::class::CONNECTION_REFUSED);
                    warn!(%peer, max = core.config.max_client_cnxns, "too many connections from this address; closing");
                    drop(socket);
                    continue;
                };
                let _ = socket.set_nodelay(true);
                let (core, shutdown, unified) = (core.clone(), shutdown.clone(), unified.clone());
                // Every await that is not the connection's own life is
                // boxed: the task's future is as large as its largest
                // state, and a connection spends its life in the smallest.
                tasks.spawn(async move {
                    match unified {
                        // TLS or plaintext by the first byte; anything
                        // else (a handshake's length, a four-letter word)
                        // is plaintext.
                        Some(acceptor)
                            if Box::pin(consensus::network::starts_tls(
                                &socket,
                                core.config.ssl.handshake_timeout,
                            ))
                            .await =>
                        {
                            Box::pin(serve_tls(socket, peer, acceptor.get(), core, shutdown)).await;
                        }
                        _ => {
                            Box::pin(connection::serve(socket, peer, core, shutdown, Vec::new()))
                                .await
                        }
                    }
                    drop(slot);
                });
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
    crate::reconfig::step_down(&core).await;
    peers_stop.cancel();
    if let Some(task) = peer_task {
        let _ = task.await;
    }
    core.shutdown().await;
    info!("shut down");
    Ok(())
}

/// The secure port's accept loop: each socket is counted against
/// `maxClientCnxns` with the plaintext ones, handshaken (bounded by the
/// shortest session timeout, as a handshake that never completes), then
/// served as any connection. A failed handshake ends that socket alone.
async fn accept_tls(
    listener: TcpListener,
    acceptor: Arc<crate::net::tls::Acceptor>,
    core: Arc<Core>,
    per_ip: Arc<Mutex<HashMap<IpAddr, u32>>>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (socket, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                warn!(error = %e, "accept failed on the secure port");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = PerIp::admit(&per_ip, peer.ip(), core.config.max_client_cnxns) else {
            core.metrics
                .error(crate::monitor::metrics::class::CONNECTION_REFUSED);
            warn!(%peer, max = core.config.max_client_cnxns, "too many connections from this address; closing");
            continue;
        };
        let _ = socket.set_nodelay(true);
        let (acceptor, core, shutdown) = (acceptor.get(), core.clone(), shutdown.clone());
        tasks.spawn(async move {
            serve_tls(socket, peer, acceptor, core, shutdown).await;
            drop(slot);
        });
    }
}

/// The TLS handshake (bounded by `ssl.handshakeDetectionTimeoutMillis`),
/// then the connection as any other, with the client certificate's
/// `x509` id when client certificates are asked for (as ZooKeeper's
/// `X509AuthenticationProvider` runs after the handshake). A failed
/// handshake ends that socket alone.
async fn serve_tls(
    socket: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
    core: Arc<Core>,
    shutdown: CancellationToken,
) {
    let limit = core.config.ssl.handshake_timeout;
    match tokio::time::timeout(limit, acceptor.accept(socket)).await {
        Ok(Ok(stream)) => {
            let ids = if core.config.ssl.client_auth == crate::config::ClientAuth::None {
                Vec::new()
            } else {
                let certs = stream.get_ref().1.peer_certificates().unwrap_or_default();
                match certs.first() {
                    // `want`, and none given: no x509 id.
                    None => Vec::new(),
                    Some(cert) => match crate::auth::x509::ids(&core.config, cert) {
                        Some(ids) => ids,
                        None => {
                            core.stats.auth_failed();
                            core.metrics
                                .error(crate::monitor::metrics::class::AUTH_FAILED);
                            info!(%peer, "the client certificate's subject cannot be read; closing");
                            return;
                        }
                    },
                }
            };
            connection::serve(stream, peer, core, shutdown, ids).await
        }
        Ok(Err(e)) => {
            core.stats.auth_failed();
            core.metrics
                .error(crate::monitor::metrics::class::TLS_HANDSHAKE_FAILED);
            info!(%peer, error = %e, "TLS handshake failed; closing");
        }
        Err(_) => {
            core.stats.auth_failed();
            core.metrics
                .error(crate::monitor::metrics::class::TLS_HANDSHAKE_FAILED);
            info!(%peer, "TLS handshake not done in time; closing");
        }
    }
}

/// One connection's place in the per-address count (`maxClientCnxns`),
/// given back when the connection ends.
struct PerIp {
    counts: Arc<Mutex<HashMap<IpAddr, u32>>>,
    ip: IpAddr,
}

impl PerIp {
    /// Takes a place for `ip`, or `None` if it already has `max` (0: no
    /// limit). The lock is held only to count.
    fn admit(counts: &Arc<Mutex<HashMap<IpAddr, u32>>>, ip: IpAddr, max: u32) -> Option<PerIp> {
        let mut map = counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = map.entry(ip).or_insert(0);
        if max != 0 && *n >= max {
            return None;
        }
        *n += 1;
        Some(PerIp {
            counts: counts.clone(),
            ip,
        })
    }
}

impl Drop for PerIp {
    fn drop(&mut self) {
        let mut map = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}
