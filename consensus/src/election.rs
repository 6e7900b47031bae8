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
///
/// It stops as soon as any leader is elected at a later term than the one
/// it was asked at (the old leader too, restarted: it may hold the longest
/// log), or this member votes for another candidate (whose log is then at
/// least as long as its own). Standing on at a higher term would only
/// depose that winner before its first heartbeat arrived, round after
/// round: the fault harness saw a member behind the others do so for
/// five seconds after its leader was killed and restarted.
pub async fn stand(raft: &Raft, old_leader: NodeId) {
    tokio::time::sleep(Duration::from_millis(20)).await;
    let asked_at = raft.metrics().borrow().vote.leader_id().get_term();
    let until = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut stood: Option<tokio::time::Instant> = None;
    while tokio::time::Instant::now() < until {
        let (me, leader, state, vote) = {
            let m = raft.metrics();
            let m = m.borrow();
            (m.id, m.current_leader, m.state, m.vote)
        };
        let seen = Seen {
            me,
            old_leader,
            asked_at,
            leader,
            term: vote.leader_id().get_term(),
            voted_for: vote.leader_id().voted_for(),
            stood: stood.is_some(),
        };
        if let Some(why) = seen.done() {
            info!(leader = ?leader, candidate = ?seen.voted_for, term = seen.term, "{why}");
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

/// What a standing member sees of the election, each round.
#[derive(Debug, Clone, Copy)]
struct Seen {
    me: NodeId,
    old_leader: NodeId,
    /// The term when it was asked to stand.
    asked_at: u64,
    leader: Option<NodeId>,
    /// Its vote's term.
    term: u64,
    voted_for: Option<NodeId>,
    /// It has stood at least once.
    stood: bool,
}

impl Seen {
    /// Why to stop standing, if it should.
    fn done(&self) -> Option<&'static str> {
        if self
            .leader
            .is_some_and(|l| l != self.old_leader || self.term > self.asked_at)
        {
            return Some("a new leader after a quick election");
        }
        if self.stood && self.voted_for.is_some_and(|v| v != self.me) {
            return Some("voted for another candidate: standing down");
        }
        None
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

#[cfg(test)]
mod tests {
    use super::Seen;

    /// Member 2 asked to stand at term 71 when leader 1's process went.
    fn seen() -> Seen {
        Seen {
            me: 2,
            old_leader: 1,
            asked_at: 71,
            leader: Some(1),
            term: 71,
            voted_for: Some(1),
            stood: false,
        }
    }

    #[test]
    fn stands_while_the_dead_leader_is_still_the_known_one() {
        assert_eq!(seen().done(), None);
        let own = Seen {
            leader: None,
            term: 72,
            voted_for: Some(2),
            stood: true,
            ..seen()
        };
        assert_eq!(own.done(), None, "its own round in progress");
    }

    #[test]
    fn stops_when_another_member_leads() {
        let s = Seen {
            leader: Some(3),
            term: 73,
            voted_for: Some(3),
            stood: true,
            ..seen()
        };
        assert!(s.done().is_some());
    }

    /// The harness's case: the old leader restarted, holding the longest
    /// log, and won at a later term; member 2, behind, kept standing and
    /// deposed it round after round for five seconds.
    #[test]
    fn stops_when_the_restarted_old_leader_wins_a_later_term() {
        let s = Seen {
            leader: Some(1),
            term: 76,
            voted_for: Some(1),
            stood: true,
            ..seen()
        };
        assert!(s.done().is_some());
    }

    /// The other case: member 2 voted for member 3 (whose log is longer)
    /// before 3's first heartbeat made it the known leader.
    #[test]
    fn stops_once_it_voted_for_another_candidate() {
        let s = Seen {
            leader: None,
            term: 73,
            voted_for: Some(3),
            stood: true,
            ..seen()
        };
        assert_eq!(s.done(), Some("voted for another candidate: standing down"));
    }
}
