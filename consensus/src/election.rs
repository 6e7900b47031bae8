//! Quick elections, where Raft's timers would wait out a leader that is
//! known to be gone.
//!
//! openraft's followers refuse every candidate while the leader they know
//! is within its lease (since it last spoke), and then wait their own
//! timeout: a silent leader costs about two election timeouts (see the
//! server's `core::node_config`). Two cases need not wait:
//! - a leader that hands over (it stops, or removed itself): it asks the
//!   voters to stand aside and its successor to stand (the server's
//!   `reconfig::hand_over`);
//! - a leader whose process is gone: its peer connection to a follower
//!   ends and its peer port refuses connections (the kernel's answer for a
//!   port nothing listens on, so only a dead process, never a slow one or
//!   a partition, triggers it). Each voter that sees it stands aside, and
//!   the lowest-numbered remaining voter stands.
//!
//! Standing aside is an election of one's own (`trigger().elect()`): the
//! vote it casts is not committed, and openraft applies the lease only to
//! a committed vote, so the successor's request at the next term is
//! granted (after the usual log check: Raft's safety does not rest on
//! any of this).

use std::time::Duration;

use tokio::net::TcpStream;
use tracing::info;

use crate::{NodeId, Raft};

/// Stands for election until a leader other than `old_leader` is known,
/// for at most 5 s: after 20 ms (the others stand aside first), then again
/// whenever a round has not won in 500 ms (a round in progress is left to
/// finish: standing again would start a new term and drop it).
pub async fn stand(raft: &Raft, old_leader: NodeId) {
    tokio::time::sleep(Duration::from_millis(20)).await;
    let until = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut stood: Option<tokio::time::Instant> = None;
    while tokio::time::Instant::now() < until {
        let (leader, state) = {
            let m = raft.metrics();
            let m = m.borrow();
            (m.current_leader, m.state)
        };
        if leader.is_some_and(|l| l != old_leader) {
            info!(leader = ?leader, "a new leader after a quick election");
            return;
        }
        let campaigning = state == openraft::ServerState::Candidate
            && stood.is_some_and(|t| t.elapsed() < Duration::from_millis(500));
        if !campaigning {
            if raft.trigger().elect().await.is_err() {
                return;
            }
            stood = Some(tokio::time::Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `peer`'s connection to this member ended. If `peer` is the leader
/// this member follows and its peer port now refuses connections, its
/// process is gone: stand aside, and stand if this member is the
/// lowest-numbered voter left.
pub(crate) async fn peer_gone(raft: Raft, me: NodeId, peer: NodeId) {
    let (addr, successor) = {
        let m = raft.metrics();
        let m = m.borrow();
        let membership = m.membership_config.membership();
        if peer == me || m.current_leader != Some(peer) || !membership.voter_ids().any(|v| v == me)
        {
            return;
        }
        let Some(node) = membership.get_node(&peer) else {
            return;
        };
        (
            node.raft_addr.clone(),
            membership.voter_ids().filter(|v| *v != peer).min(),
        )
    };
    match tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(&addr)).await {
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
        // It answers (or may): Raft's timers decide.
        _ => return,
    }
    if raft.metrics().borrow().current_leader != Some(peer) {
        return;
    }
    info!(
        leader = peer,
        %addr,
        "the leader's process is gone (its peer port refuses connections): quick election"
    );
    if successor == Some(me) {
        stand(&raft, peer).await;
    } else {
        let _ = raft.trigger().elect().await;
    }
}
