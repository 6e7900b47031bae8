//! Periodic work of the server that decides for the ensemble (today, the
//! only server): session expiry and container/TTL reaping. Both change the
//! tree only by applying ordinary commands, never by local deletion, so
//! that once replication exists every replica agrees.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jute::Request;
use storage::{CommandOp, NodeKind};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::core::{Core, Outgoing, now_ms};

/// Expires sessions whose deadline passed: each becomes a `CloseSession`
/// command (deleting its ephemerals) and its connection is closed. Checks
/// every half tick, as ZooKeeper's expiry queue works in ticks.
pub(crate) async fn expire_sessions(core: Arc<Core>, shutdown: CancellationToken) {
    let period = (core.config.tick_time / 2).max(Duration::from_millis(10));
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let mut st = core.lock();
        for session in st.expired(Instant::now()) {
            info!(
                session_id = format_args!("0x{session:x}"),
                "session expired"
            );
            let (_, _, conn) = st.close_session(session);
            if let Some(conn) = conn {
                let _ = conn.tx.send(Outgoing::Close);
            }
        }
    }
}

/// Deletes empty containers (that once had a child) and TTL nodes unchanged
/// for longer than their TTL, every `container_check_interval`
/// (ZooKeeper's `ContainerManager`). The command re-checks the criterion
/// when applied, so a node that changed in between survives.
pub(crate) async fn reap_containers(core: Arc<Core>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(core.config.container_check_interval);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let mut st = core.lock();
        let now = now_ms();
        let candidates: Vec<String> = st
            .tree
            .expirable()
            .filter(|p| {
                st.tree.node(p).is_some_and(|n| {
                    n.num_children() == 0
                        && match n.kind() {
                            NodeKind::Container => n.stat.cversion > 0,
                            NodeKind::Ttl(ttl) => {
                                ttl != 0 && now.saturating_sub(n.stat.mtime) > ttl
                            }
                            _ => false,
                        }
                })
            })
            .cloned()
            .collect();
        for path in candidates {
            let (_, out) = st.write(
                0,
                &[],
                CommandOp::Write(Request::DeleteContainer(path.clone())),
            );
            debug!(%path, result = ?out.result.as_ref().map(|_| ()), "reaped");
        }
    }
}
