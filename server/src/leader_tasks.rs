//! Periodic work of the server that decides for the ensemble — session
//! expiry and container/TTL reaping, both run by the leader alone and
//! changing the tree only by proposing ordinary commands through Raft,
//! never locally, so every replica agrees — and the periodic contact of
//! every member with the quorum (`keep_in_touch`): followers report their
//! sessions' touches to the leader, and a member that has been out of
//! touch for `syncLimit` ticks stops serving clients.

use std::sync::Arc;
use std::sync::atomic::Ordering;
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
    let mut leading = false;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now_leading = core.is_leader();
        let became_leader = now_leading && !leading;
        leading = now_leading;
        if !leading {
            continue;
        }
        let expired = {
            let mut st = core.lock();
            if became_leader {
                // A new leader cannot know when the sessions were last
                // heard of elsewhere: every timer starts again (ZooKeeper
                // does the same).
                let st = &mut *st;
                st.host.restart_timers(&st.tree);
                info!(
                    sessions = st.host.deadlines.len(),
                    "leading: session timers restarted"
                );
                continue;
            }
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
        if !core.is_leader() {
            continue;
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

/// How a follower's touches travel: `[u32 count][i64 session]…`.
fn encode_touches(sessions: &[i64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 8 * sessions.len());
    out.extend_from_slice(&u32::try_from(sessions.len()).unwrap_or(0).to_be_bytes());
    for s in sessions {
        out.extend_from_slice(&s.to_be_bytes());
    }
    out
}

fn decode_touches(b: &[u8]) -> Vec<i64> {
    b.get(4..)
        .unwrap_or_default()
        .chunks_exact(8)
        .filter_map(|c| c.try_into().ok().map(i64::from_be_bytes))
        .collect()
}

/// The leader's side of a follower's report: its sessions' timers restart,
/// and the answer says whether the leader is itself in touch with a quorum
/// (first byte 1) or not (0, also from a member that no longer leads), or
/// that the sender is not a member (2: removed by `reconfig`), then gives
/// the leader's applied Raft index (8 bytes, big-endian).
pub(crate) fn on_touches(core: &Core, from: u64, payload: &[u8]) -> Vec<u8> {
    core.heard
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(from, Instant::now());
    let leading = core.is_leader() && core.serving();
    let member = core
        .raft
        .metrics()
        .borrow()
        .membership_config
        .membership()
        .get_node(&from)
        .is_some();
    if leading && !member {
        let mut reply = vec![REMOVED];
        reply.extend_from_slice(&core.raft_view().applied.to_be_bytes());
        return reply;
    }
    if leading {
        let now = Instant::now();
        let mut st = core.lock();
        for s in decode_touches(payload) {
            if let Some(info) = st.tree.sessions().get(s) {
                let timeout = crate::core::millis(info.timeout_ms);
                st.host.deadlines.insert(s, now + timeout);
            }
        }
    }
    let mut reply = vec![u8::from(leading)];
    reply.extend_from_slice(&core.raft_view().applied.to_be_bytes());
    reply
}

/// The leader's answer to a member it does not count among the members.
const REMOVED: u8 = 2;

/// Every half tick: the leader confirms it still leads a quorum (a
/// read-index round), every other member reports its sessions' touches to
/// the leader and learns whether the leader is in touch with a quorum.
/// A member that has not had such a confirmation for `syncLimit` ticks
/// stops serving (closing its clients' connections) until it has one
/// again. The leader also adds configured observers as learners.
/// Stops the member ([`Core::fail`]) once its Raft has stopped on a
/// storage error: a log append or sync, the vote, the tree's commit, a
/// snapshot that could not be written or installed.
///
/// The Raft thread ends once its Raft has stopped (`consensus::start`);
/// this waits for that rather than for a change of openraft's metrics,
/// which change with every append, commit and apply: each would wake a
/// worker of this runtime from the Raft thread, a cross-thread wake-up per
/// write for nothing.
pub(crate) async fn watch_storage(core: Arc<Core>, shutdown: CancellationToken) {
    tokio::select! {
        _ = shutdown.cancelled() => return,
        () = core.raft_stopped.cancelled() => {}
    }
    let fatal = match &core.raft.metrics().borrow().running_state {
        Err(consensus::openraft::error::Fatal::Stopped) | Ok(()) => None,
        Err(fatal) => Some(fatal.to_string()),
    };
    if let Some(why) = fatal {
        core.fail(why);
    }
}

/// Ends a repair from peers (see `Core::open`): once this member has
/// applied everything the leader had committed when asked (a `sync`: the
/// leader's read index, confirmed with a quorum), it holds every entry it
/// could have acknowledged before its store was lost, so its vote can
/// elect no candidate that misses one. Then it votes, stands and serves
/// again, and the marker goes (a restart before that repairs on).
pub(crate) async fn finish_repair(core: Arc<Core>, shutdown: CancellationToken) {
    let started = Instant::now();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            synced = core.proposer.sync() => match synced {
                Ok(()) => break,
                Err(e) => debug!(error = %e, "repair: not caught up with the leader yet"),
            },
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            () = tokio::time::sleep(core.config.tick_time / 2) => {}
        }
    }
    let marker = core.config.data_dir.join(crate::core::REPAIR_MARKER);
    if let Err(e) = std::fs::remove_file(&marker) {
        // Kept, the next start repairs again (harmless, only slower).
        warn!(error = %e, marker = %marker.display(), "repair: could not remove the marker");
    }
    core.abstain.set(false);
    if core.failed.get().is_none() {
        core.raft.runtime_config().elect(true);
    }
    let m = core.raft.metrics().borrow().clone();
    info!(
        applied = m.last_applied.map_or(0, |l| l.index),
        term = m.current_term,
        took_ms = started.elapsed().as_millis() as u64,
        "repaired from peers: this member holds what the leader committed; voting and serving again"
    );
}

pub(crate) async fn keep_in_touch(core: Arc<Core>, shutdown: CancellationToken) {
    if core.config.is_standalone() {
        return;
    }
    let period = (core.config.tick_time / 2).max(Duration::from_millis(10));
    let limit = core.config.tick_time * core.config.sync_limit;
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_ok: Option<Instant> = None;
    // ZooKeeper starts its read-only server this long after it began
    // looking for a quorum (QuorumPeer: "lower-bound grace period").
    let read_only_delay = core.config.tick_time.max(Duration::from_secs(2));
    let mut out_since: Option<Instant> = None;
    let mut joining = core.config.data_dir.join("corral-joining").exists();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let touched: Vec<i64> = {
            let mut st = core.lock();
            st.host.touched.drain().collect()
        };
        // A member that sees itself outside the membership it applied
        // (the leader that removed itself) is removed.
        if !core.is_member() && core.raft.metrics().borrow().last_log_index.is_some() {
            set_removed(&core, true);
        }
        // A configuration a reconfig set is the whole story: removed
        // members (by it or before) stand for nothing; its observers are
        // the leader's to add (`reconcile`), not the static lines'.
        let live = crate::reconfig::live_config(&core);
        let (version, excluded) = (live.1, crate::reconfig::excluded(&live, core.me));
        // Added at last: a restart from now on may form nothing but is no
        // longer waiting either (see `Core::open`).
        if joining && core.is_member() {
            if let Err(e) = std::fs::remove_file(core.config.data_dir.join("corral-joining")) {
                warn!(error = %e, "could not remove the joining marker");
            }
            joining = false;
        }
        if excluded {
            set_removed(&core, true);
        }
        let ok = if core.is_leader() {
            if version == 0 {
                let _ = tokio::time::timeout(limit, add_observers(&core)).await;
            }
            let ok = matches!(
                tokio::time::timeout(limit, core.raft.get_read_log_id()).await,
                Ok(Ok(_))
            );
            if ok {
                publish_config(&core).await;
            }
            ok
        } else if core.removed.load(Ordering::Acquire) {
            // Removed: only the leader's word that it counts this member
            // again (added back by a reconfig) ends it.
            match core.proposer.to_leader(encode_touches(&[]), limit).await {
                Ok((_, reply)) if reply.first() == Some(&1) && core.is_member() && !excluded => {
                    set_removed(&core, false);
                    true
                }
                _ => false,
            }
        } else {
            match core
                .proposer
                .to_leader(encode_touches(&touched), limit)
                .await
            {
                Ok((_, reply)) => {
                    if let Some(index) = reply.get(1..9).and_then(|b| b.try_into().ok()) {
                        core.leader_applied.store(
                            u64::from_be_bytes(index),
                            std::sync::atomic::Ordering::Relaxed,
                        );
                    }
                    if reply.first() == Some(&REMOVED) {
                        set_removed(&core, true);
                    }
                    reply.first() == Some(&1)
                }
                Err(e) => {
                    debug!(error = %e, "no contact with the leader");
                    // Reported again with the next round.
                    core.lock().host.touched.extend(touched);
                    false
                }
            }
        };
        if ok {
            last_ok = Some(Instant::now());
        }
        let serving = last_ok.is_some_and(|t| t.elapsed() <= limit)
            && !core.removed.load(Ordering::Acquire)
            && !core.abstain.is_set();
        if core.config.read_only_mode {
            if serving {
                out_since = None;
                core.set_read_only(false);
            } else {
                let since = *out_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= read_only_delay {
                    core.set_read_only(true);
                }
                core.expire_local_sessions();
            }
        }
        core.set_serving(serving);
    }
}

/// Keeps `/zookeeper/config` showing the ensemble's membership as
/// ZooKeeper does (what zkCli's `config`, kazoo's and the C client's
/// `get_config` read). A static configuration (version 0) is the
/// `server.N` lines: a leader that finds the node different proposes
/// them, so every member serves the same text. Once a `reconfig` (or a
/// versioned `dynamicConfigFile`) has set it, the node is the
/// configuration and the leader drives the membership to it
/// ([`crate::reconfig::reconcile`]), finishing a change a previous leader
/// left half done.
async fn publish_config(core: &Arc<Core>) {
    let (live, version) = crate::reconfig::live_config(core);
    let published = core
        .lock()
        .tree
        .node(storage::CONFIG)
        .and_then(|n| n.data.as_ref().map(|d| d.to_vec()))
        .filter(|d| !d.is_empty());
    if published.is_some() && version != 0 {
        // In a task of its own: a membership change that cannot commit
        // (its new members gone) must not hold up this loop, which
        // decides whether this leader still serves.
        let core = core.clone();
        let limit = core.config.tick_time * core.config.sync_limit;
        tokio::spawn(async move {
            let Ok(_one_at_a_time) = core.reconfig_lock.try_lock() else {
                return;
            };
            match tokio::time::timeout(limit, crate::reconfig::reconcile(&core, &live)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => debug!(error = %e, "membership not at the configuration yet"),
                Err(_) => debug!("membership change still under way"),
            }
            if !core.is_member() {
                set_removed(&core, true);
            }
        });
        return;
    }
    let version = core.config.config_version;
    let want = crate::config::zoo_cfg::dynamic_config(&core.config.servers, version);
    if published.as_deref() == Some(want.as_bytes()) {
        return;
    }
    let op = CommandOp::SetConfig {
        version,
        data: want.into(),
    };
    match core.propose(NO_REPLY, 0, Vec::new(), op).await {
        Ok(_) => info!("/zookeeper/config set to the membership"),
        Err(e) => warn!(error = %e, "could not set /zookeeper/config"),
    }
}

/// Records whether the leader counts this member out. A removed member
/// stops serving at once and stands for no election (its stale view of
/// the membership would have it disturb the ensemble it left).
pub(crate) fn set_removed(core: &Core, removed: bool) {
    if core.removed.swap(removed, Ordering::AcqRel) == removed {
        return;
    }
    core.raft.runtime_config().elect(!removed);
    if removed {
        warn!("not in the ensemble's configuration (removed by reconfig): not serving");
        core.set_serving(false);
    } else {
        info!("in the ensemble's configuration again");
    }
}

/// Makes every configured observer a learner (non-voting member).
async fn add_observers(core: &Core) {
    if core.observers.is_empty() {
        return;
    }
    let known = core.raft.metrics().borrow().membership_config.clone();
    for (id, peer) in &core.observers {
        if known.membership().get_node(id).is_some() {
            continue;
        }
        match core.raft.add_learner(*id, peer.clone(), false).await {
            Ok(_) => info!(observer = id, "observer added as a learner"),
            Err(e) => warn!(observer = id, error = %e, "could not add an observer"),
        }
    }
}
