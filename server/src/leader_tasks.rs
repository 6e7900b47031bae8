//! Periodic work of the server that decides for the ensemble: session
//! expiry and container/TTL reaping. Both change the tree only by proposing
//! ordinary commands through Raft, never locally, so every replica agrees.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jute::Request;
use storage::{CommandOp, NodeKind};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::core::{Core, NO_REPLY, now_ms};

/// Expires sessions whose deadline passed: each becomes a `CloseSession`
/// command (deleting its ephemerals; its connection is closed when it is
/// applied). Checks every half tick, as ZooKeeper's expiry queue works in
/// ticks.
pub(crate) async fn expire_sessions(core: Arc<Core>, shutdown: CancellationToken) {
    let period = (core.config.tick_time / 2).max(Duration::from_millis(10));
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let expired = {
            let mut st = core.lock();
            let expired = st.host.expired(Instant::now());
            // Not expired twice while the close is being committed.
            for s in &expired {
                st.host.deadlines.remove(s);
            }
            expired
        };
        for session in expired {
            info!(
                session_id = format_args!("0x{session:x}"),
                "session expired"
            );
            if let Err(e) = core
                .propose(NO_REPLY, session, Vec::new(), CommandOp::CloseSession)
                .await
            {
                warn!(error = %e, "could not expire a session");
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
        let candidates: Vec<String> = {
            let st = core.lock();
            let now = now_ms();
            st.tree
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
                .collect()
        };
        for path in candidates {
            let op = CommandOp::Write(Request::DeleteContainer(path.clone()));
            let result = core.propose(NO_REPLY, 0, Vec::new(), op).await;
            debug!(%path, ok = result.is_ok(), "reaped");
        }
    }
}
