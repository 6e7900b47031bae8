//! A one-member cluster on real fjall directories: writes commit and apply,
//! survive a restart (log + tree), and zxids keep growing.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::Recorder;
use consensus::network::{Network, PeerClients};
use consensus::{Batch, LogStore, Peer, Proposal, Raft, Replica, StateMachine, state_machine};
use jute::proto::CreateRequest;
use jute::{Acl, Request};
use storage::{Command, CommandOp, TreeConfig};

fn open(dir: &std::path::Path, host: Recorder) -> (LogStore, consensus::SharedReplica<Recorder>) {
    let log = LogStore::open(
        &dir.join("log"),
        consensus::WriteMetrics::new().expect("metrics"),
    )
    .expect("log");
    let replica = Replica::open(&dir.join("tree"), TreeConfig::default(), host).expect("tree");
    (log, replica)
}

async fn start(
    dir: &std::path::Path,
    host: Recorder,
) -> (Raft, consensus::SharedReplica<Recorder>) {
    let (log, replica) = open(dir, host);
    let config = Arc::new(openraft::Config::default().validate().expect("config"));
    let raft = Raft::new(
        1,
        config,
        Network::new(PeerClients::new(1, Arc::default(), None)),
        log,
        StateMachine::new(replica.clone()),
    )
    .await
    .expect("raft");
    (raft, replica)
}

async fn wait_leader(raft: &Raft) {
    raft.wait(Some(Duration::from_secs(10)))
        .metrics(|m| m.current_leader == Some(1), "leader")
        .await
        .expect("becomes leader");
}

fn proposal(xid: i32, op: CommandOp) -> Batch {
    Batch(vec![Proposal {
        origin: 1,
        xid,
        command: Command {
            time: 1000 + i64::from(xid),
            session_id: 42,
            auth: vec![],
            op,
        },
    }])
}

fn create(path: &str) -> CommandOp {
    CommandOp::Write(Request::Create(CreateRequest {
        path: path.into(),
        data: Some(Bytes::from_static(b"v")),
        acl: vec![Acl::open()],
        flags: 0,
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_commit_apply_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let host = Recorder::default();
    let (raft, replica) = start(dir.path(), host.clone()).await;
    let members = BTreeMap::from([(
        1,
        Peer {
            raft_addr: "127.0.0.1:0".into(),
            client_addr: "127.0.0.1:0".into(),
        },
    )]);
    raft.initialize(members).await.expect("initialize");
    wait_leader(&raft).await;

    let session = raft
        .client_write(proposal(
            1,
            CommandOp::CreateSession {
                timeout_ms: 5000,
                passwd: Bytes::from_static(&[1; 16]),
            },
        ))
        .await
        .expect("session");
    let first = raft
        .client_write(proposal(2, create("/a")))
        .await
        .expect("create");
    assert!(first.data.zxid > session.data.zxid);
    assert_eq!(
        first.data.zxid,
        session.data.zxid + 1,
        "zxids count up within a term"
    );
    {
        let r = state_machine::lock(&replica);
        let node = r.tree.node("/a").expect("applied to the tree");
        assert_eq!(node.stat.czxid, first.data.zxid);
        assert_eq!(r.tree.last_zxid(), first.data.zxid);
    }
    let seen = host.applied.lock().map(|v| v.clone()).unwrap_or_default();
    assert_eq!(
        seen.iter()
            .map(|(_, xid, ok)| (*xid, *ok))
            .collect::<Vec<_>>(),
        vec![(1, true), (2, true)]
    );

    raft.shutdown().await.expect("shutdown");
    drop(raft);
    drop(replica);

    let host = Recorder::default();
    let (raft, replica) = start(dir.path(), host.clone()).await;
    wait_leader(&raft).await;
    {
        let r = state_machine::lock(&replica);
        assert!(r.tree.node("/a").is_some(), "the tree came back from disk");
        assert!(r.tree.sessions().is_live(42));
    }
    let second = raft
        .client_write(proposal(3, create("/b")))
        .await
        .expect("create after restart");
    assert!(
        second.data.zxid > first.data.zxid,
        "zxids keep growing: {:#x} > {:#x}",
        second.data.zxid,
        first.data.zxid
    );
    // A lone voter whose vote is committed resumes its term (openraft does
    // not re-elect); zxids still grow with the log index.
    assert!(second.log_id.leader_id.term >= first.log_id.leader_id.term);
    raft.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_one_entry_with_a_zxid_per_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let host = Recorder::default();
    let (raft, replica) = start(dir.path(), host.clone()).await;
    let members = BTreeMap::from([(1, Peer::default())]);
    raft.initialize(members).await.expect("initialize");
    wait_leader(&raft).await;
    let mut batch = proposal(
        1,
        CommandOp::CreateSession {
            timeout_ms: 5000,
            passwd: Bytes::from_static(&[1; 16]),
        },
    );
    batch.0.extend(proposal(2, create("/x")).0);
    batch.0.extend(proposal(3, create("/x")).0);
    let rsp = raft.client_write(batch).await.expect("batch");
    let seen = host.applied.lock().map(|v| v.clone()).unwrap_or_default();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[1].0 + 1,
        seen[2].0,
        "consecutive zxids inside one entry"
    );
    assert_eq!(
        (seen[1].2, seen[2].2),
        (true, false),
        "the second create of /x fails: NODEEXISTS"
    );
    assert_eq!(rsp.data.zxid, seen[2].0);
    assert_eq!(
        state_machine::lock(&replica)
            .tree
            .node("/x")
            .map(|n| n.stat.czxid),
        Some(seen[1].0)
    );
    raft.shutdown().await.expect("shutdown");
}
