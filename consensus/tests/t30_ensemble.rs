//! Ensembles of three members in one process, over real TCP on loopback and
//! real fjall directories: election, forwarding from followers, the loss of
//! the leader, a minority partition, and catching up by snapshot. Every
//! acknowledged write is checked against every surviving replica.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::Recorder;
use consensus::network::{self, AppHandler, Faults};
use consensus::{NodeConfig, NodeId, Peer, Proposal, Started, state_machine};
use jute::proto::CreateRequest;
use jute::{Acl, Request};
use storage::{Command, CommandOp};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

struct Member {
    id: NodeId,
    started: Started<Recorder>,
    host: Recorder,
    faults: Arc<Faults>,
    stop: CancellationToken,
}

struct Ensemble {
    dir: tempfile::TempDir,
    voters: BTreeMap<NodeId, Peer>,
    members: BTreeMap<NodeId, Member>,
    snap_count: u64,
}

fn free_port() -> u16 {
    consensus::network::unused_port()
}

impl Ensemble {
    async fn new(n: u64, snap_count: u64) -> Ensemble {
        let voters = (1..=n)
            .map(|id| {
                (
                    id,
                    Peer {
                        raft_addr: format!("127.0.0.1:{}", free_port()),
                        client_addr: String::new(),
                    },
                )
            })
            .collect();
        let mut e = Ensemble {
            dir: tempfile::tempdir().expect("tempdir"),
            voters,
            members: BTreeMap::new(),
            snap_count,
        };
        for id in 1..=n {
            e.start(id).await;
        }
        e
    }

    fn member_dir(&self, id: NodeId) -> PathBuf {
        self.dir.path().join(format!("m{id}"))
    }

    async fn start(&mut self, id: NodeId) {
        let dir = self.member_dir(id);
        let host = Recorder::default();
        let faults = Arc::new(Faults::default());
        let cfg = NodeConfig {
            voters: self.voters.clone(),
            snap_count: self.snap_count,
            heartbeat: Duration::from_millis(100),
            election_timeout: (Duration::from_millis(500), Duration::from_millis(1000)),
            faults: faults.clone(),
            commit_timeout: Duration::from_secs(3),
            ..NodeConfig::standalone(id, Peer::default(), dir.join("log"), dir.join("tree"))
        };
        let listener = TcpListener::bind(&self.voters[&id].raft_addr)
            .await
            .expect("bind the quorum port");
        let started = consensus::start(cfg, host.clone())
            .await
            .expect("member starts");
        let stop = CancellationToken::new();
        let app: AppHandler = Arc::new(|_, b: Vec<u8>| Box::pin(async move { b }));
        tokio::spawn(network::serve(
            listener,
            started.raft.clone(),
            id,
            app,
            consensus::Abstain::default(),
            faults.clone(),
            None,
            stop.clone(),
        ));
        self.members.insert(
            id,
            Member {
                id,
                started,
                host,
                faults,
                stop,
            },
        );
    }

    /// Stops a member as abruptly as the process allows: its Raft and its
    /// peer listener end, nothing is handed over.
    async fn kill(&mut self, id: NodeId) {
        let m = self.members.remove(&id).expect("running");
        m.stop.cancel();
        let _ = m.started.raft.shutdown().await;
    }

    async fn leader(&self, among: &[NodeId]) -> NodeId {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            for id in among {
                let m = &self.members[id];
                let metrics = m.started.raft.metrics().borrow().clone();
                if metrics.current_leader == Some(m.id)
                    && among.iter().all(|o| {
                        self.members[o]
                            .started
                            .raft
                            .metrics()
                            .borrow()
                            .current_leader
                            == Some(m.id)
                    })
                {
                    return m.id;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no leader agreed on among {among:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Cuts every link between `a` and the others.
    fn isolate(&self, a: NodeId, cut: bool) {
        for (id, m) in &self.members {
            if *id == a {
                for other in self.voters.keys().filter(|o| **o != a) {
                    m.faults.set_cut(*other, cut);
                }
            } else {
                m.faults.set_cut(a, cut);
            }
        }
    }

    /// Waits until every running member has applied as far as `id` has.
    async fn converge(&self, id: NodeId) {
        let target = self.members[&id]
            .started
            .raft
            .metrics()
            .borrow()
            .last_applied;
        for m in self.members.values() {
            m.started
                .raft
                .wait(Some(Duration::from_secs(20)))
                .metrics(|x| x.last_applied >= target, "converge")
                .await
                .expect("members converge");
        }
    }

    fn has(&self, id: NodeId, path: &str) -> bool {
        state_machine::lock(&self.members[&id].started.replica)
            .tree
            .node(path)
            .is_some()
    }
}

const SESSION: i64 = 7;

/// Opens the session the test's writes belong to.
async fn open_session(e: &Ensemble, via: NodeId) {
    let p = Proposal {
        origin: via,
        xid: -1,
        command: Command {
            time: 1,
            session_id: SESSION,
            auth: vec![],
            op: CommandOp::CreateSession {
                timeout_ms: 30_000,
                passwd: Bytes::from_static(&[0; 16]),
            },
        },
    };
    e.members[&via]
        .started
        .proposer
        .propose(p)
        .await
        .expect("session created");
}

fn create(origin: NodeId, xid: i32, path: &str) -> Proposal {
    Proposal {
        origin,
        xid,
        command: Command {
            time: 1,
            session_id: SESSION,
            auth: vec![],
            op: CommandOp::Write(Request::Create(CreateRequest {
                path: path.into(),
                data: Some(Bytes::from_static(b"v")),
                acl: vec![Acl::open()],
                flags: 0,
            })),
        },
    }
}

/// Proposes `count` creates through member `via`, concurrently, and
/// returns the paths that were acknowledged.
async fn write_many(e: &Ensemble, via: NodeId, prefix: &str, count: usize) -> Vec<String> {
    let proposer = &e.members[&via].started.proposer;
    let pending: Vec<_> = (0..count)
        .map(|i| {
            let path = format!("/{prefix}-{i}");
            let fut = proposer.submit(create(via, i32::try_from(i).unwrap_or(0), &path), 0);
            (path, fut)
        })
        .collect();
    let mut acked = Vec::new();
    for (path, fut) in pending {
        if fut.await.is_ok() {
            acked.push(path);
        }
    }
    acked
}

fn assert_all_present(e: &Ensemble, acked: &[String]) {
    for id in e.members.keys() {
        for p in acked {
            assert!(e.has(*id, p), "acknowledged {p} missing on member {id}");
        }
    }
}

/// Every node's path, czxid and mzxid.
type Dump = Vec<(String, i64, i64)>;

fn same_trees(e: &Ensemble) {
    let dumps: Vec<(NodeId, Dump)> = e
        .members
        .iter()
        .map(|(id, m)| {
            let r = state_machine::lock(&m.started.replica);
            let mut v: Dump = r
                .tree
                .iter_nodes()
                .map(|n| (n.path().to_owned(), n.stat.czxid, n.stat.mzxid))
                .collect();
            v.sort();
            (*id, v)
        })
        .collect();
    for w in dumps.windows(2) {
        assert_eq!(
            w[0].1, w[1].1,
            "members {} and {} hold different trees",
            w[0].0, w[1].0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_forward_and_the_ensemble_survives_its_leader() {
    let mut e = Ensemble::new(3, 100_000).await;
    let leader = e.leader(&[1, 2, 3]).await;
    open_session(&e, leader).await;
    let follower = [1, 2, 3].into_iter().find(|i| *i != leader).expect("one");

    // Writes through a follower are forwarded, committed, and applied on
    // the follower before they are acknowledged.
    let acked = write_many(&e, follower, "f", 200).await;
    assert_eq!(
        acked.len(),
        200,
        "a healthy ensemble acknowledges every write"
    );
    for p in &acked {
        assert!(
            e.has(follower, p),
            "{p} acknowledged before applied on the follower"
        );
    }
    let acked_leader = write_many(&e, leader, "l", 200).await;
    assert_eq!(acked_leader.len(), 200);
    e.converge(leader).await;
    assert_all_present(&e, &acked);
    same_trees(&e);

    // The leader dies: the others elect a new one and writes resume.
    let started = std::time::Instant::now();
    e.kill(leader).await;
    let survivors: Vec<NodeId> = e.members.keys().copied().collect();
    let new_leader = e.leader(&survivors).await;
    assert_ne!(new_leader, leader);
    let after = write_many(&e, survivors[0], "after", 50).await;
    assert_eq!(after.len(), 50, "writes resume under the new leader");
    eprintln!(
        "writes resumed {:?} after the leader stopped",
        started.elapsed()
    );
    let before_term = e.members[&new_leader]
        .started
        .raft
        .metrics()
        .borrow()
        .current_term;
    assert!(before_term >= 2);

    // The old leader comes back as a follower and catches up from the log.
    e.start(leader).await;
    e.converge(new_leader).await;
    assert_all_present(&e, &acked);
    assert_all_present(&e, &acked_leader);
    assert_all_present(&e, &after);
    same_trees(&e);
    for id in [1, 2, 3] {
        e.kill(id).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minority_cannot_commit_and_the_majority_goes_on() {
    let mut e = Ensemble::new(3, 100_000).await;
    let leader = e.leader(&[1, 2, 3]).await;
    open_session(&e, leader).await;
    let acked = write_many(&e, leader, "before", 20).await;
    assert_eq!(acked.len(), 20);

    // Cut the leader off: its writes are never acknowledged.
    e.isolate(leader, true);
    let lost = write_many(&e, leader, "minority", 5).await;
    assert!(
        lost.is_empty(),
        "a leader without its quorum acknowledged {lost:?}"
    );
    let proposer = e.members[&leader].started.proposer.clone();
    let stream_a = proposer.submit(create(leader, 1, "/stream-a"), 5);
    assert!(stream_a.await.is_err(), "no quorum, no commit");
    let majority: Vec<NodeId> = [1, 2, 3].into_iter().filter(|i| *i != leader).collect();
    let new_leader = e.leader(&majority).await;
    let acked_majority = write_many(&e, majority[0], "majority", 20).await;
    assert_eq!(acked_majority.len(), 20, "the majority commits");

    // Healed: the old leader follows, drops what it never committed, and
    // holds exactly the majority's tree.
    e.isolate(leader, false);
    e.converge(new_leader).await;
    // A stream whose write failed gets no later write in (its writes that
    // take effect are a prefix of what it sent); another stream does.
    let later = proposer.submit(create(leader, 2, "/stream-b"), 5);
    assert!(
        later.await.is_err(),
        "a write after a failed one of its stream"
    );
    let other = proposer.submit(create(leader, 3, "/stream-c"), 6);
    assert!(
        other.await.is_ok(),
        "another stream writes through the old leader"
    );
    e.converge(new_leader).await;
    assert!(!e.has(new_leader, "/stream-b"));
    assert_all_present(&e, &acked);
    assert_all_present(&e, &acked_majority);
    for i in 0..5 {
        assert!(
            !e.has(leader, &format!("/minority-{i}")),
            "an unacknowledged minority write survived"
        );
    }
    same_trees(&e);
    for id in [1, 2, 3] {
        e.kill(id).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_behind_a_purged_log_catches_up_by_snapshot() {
    let mut e = Ensemble::new(3, 40).await;
    let leader = e.leader(&[1, 2, 3]).await;
    open_session(&e, leader).await;
    let behind = [1, 2, 3].into_iter().find(|i| *i != leader).expect("one");
    e.kill(behind).await;
    let mut acked = Vec::new();
    // One write at a time, one entry each: the log grows past several
    // snapshots.
    for round in 0..150 {
        acked.extend(write_many(&e, leader, &format!("r{round}"), 1).await);
    }
    assert_eq!(acked.len(), 150);
    let purged = e.members[&leader]
        .started
        .raft
        .wait(Some(Duration::from_secs(20)))
        .metrics(|m| m.purged.is_some(), "log purged behind a snapshot")
        .await
        .expect("the leader purges its log")
        .purged;
    e.start(behind).await;
    e.converge(leader).await;
    let resets = *e.members[&behind].host.resets.lock().expect("resets");
    assert!(
        resets >= 1,
        "the member caught up without a snapshot although the log was purged to {purged:?}"
    );
    assert_all_present(&e, &acked);
    same_trees(&e);
    // snapCount counts commands: 150 writes with a count of 40 snapshot
    // the leader's tree several times, and the member installed one.
    let lock = consensus::state_machine::lock;
    let built = lock(&e.members[&leader].started.replica).snapshot_builds;
    assert!(built.count >= 2, "leader built {built:?}");
    assert!(built.min_ms <= built.max_ms && built.sum_ms >= built.max_ms);
    let installed = lock(&e.members[&behind].started.replica).snapshot_installs;
    assert!(installed.count >= 1, "member installed {installed:?}");
    for id in [1, 2, 3] {
        e.kill(id).await;
    }
}

/// An operator's remedy for a broken follower: stop it, delete its data,
/// start it again. It rejoins empty and the leader, whose log is purged
/// behind a snapshot, sends it the whole tree. (openraft 0.9 panicked in
/// the member without `loosen-follower-log-revert`: found by
/// `benches/snapshot.sh`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_data_was_deleted_rejoins_from_a_snapshot() {
    let mut e = Ensemble::new(3, 40).await;
    let leader = e.leader(&[1, 2, 3]).await;
    open_session(&e, leader).await;
    let mut acked = Vec::new();
    for round in 0..120 {
        acked.extend(write_many(&e, leader, &format!("r{round}"), 1).await);
    }
    e.members[&leader]
        .started
        .raft
        .wait(Some(Duration::from_secs(20)))
        .metrics(|m| m.purged.is_some(), "log purged behind a snapshot")
        .await
        .expect("the leader purges its log");
    let wiped = [1, 2, 3].into_iter().find(|i| *i != leader).expect("one");
    e.kill(wiped).await;
    std::fs::remove_dir_all(e.member_dir(wiped)).expect("delete the member's data");
    e.start(wiped).await;
    // Writes go on while it catches up.
    for round in 0..20 {
        acked.extend(write_many(&e, leader, &format!("after{round}"), 1).await);
    }
    assert_eq!(acked.len(), 140);
    e.converge(leader).await;
    let installed =
        consensus::state_machine::lock(&e.members[&wiped].started.replica).snapshot_installs;
    assert!(
        installed.count >= 1,
        "rejoined without a snapshot: {installed:?}"
    );
    assert_all_present(&e, &acked);
    same_trees(&e);
    for id in [1, 2, 3] {
        e.kill(id).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_members_a_leader_in_the_minority_is_replaced() {
    let mut e = Ensemble::new(5, 100_000).await;
    let all = [1, 2, 3, 4, 5];
    let leader = e.leader(&all).await;
    open_session(&e, leader).await;
    let acked = write_many(&e, leader, "before", 50).await;
    assert_eq!(acked.len(), 50);

    // The leader and one follower on one side, three on the other.
    let buddy = all.into_iter().find(|i| *i != leader).expect("one");
    let minority = [leader, buddy];
    let majority: Vec<NodeId> = all.into_iter().filter(|i| !minority.contains(i)).collect();
    for m in minority {
        for o in &majority {
            e.members[&m].faults.set_cut(*o, true);
            e.members[o].faults.set_cut(m, true);
        }
    }
    let lost = write_many(&e, leader, "minority", 5).await;
    assert!(lost.is_empty(), "two of five acknowledged {lost:?}");
    let lost = write_many(&e, buddy, "minority-f", 5).await;
    assert!(lost.is_empty(), "two of five acknowledged {lost:?}");
    let new_leader = e.leader(&majority).await;
    let acked_majority = write_many(&e, majority[0], "majority", 50).await;
    assert_eq!(acked_majority.len(), 50, "three of five commit");

    // Healed: all five hold the majority's history and nothing else.
    for m in minority {
        for o in &majority {
            e.members[&m].faults.set_cut(*o, false);
            e.members[o].faults.set_cut(m, false);
        }
    }
    e.converge(new_leader).await;
    assert_all_present(&e, &acked);
    assert_all_present(&e, &acked_majority);
    for m in minority {
        for i in 0..5 {
            assert!(!e.has(m, &format!("/minority-{i}")));
            assert!(!e.has(m, &format!("/minority-f-{i}")));
        }
    }
    same_trees(&e);
    for id in all {
        e.kill(id).await;
    }
}
