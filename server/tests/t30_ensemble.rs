//! A three-server ensemble in one process, over real TCP on loopback with
//! real fjall directories, driven by raw ZooKeeper clients: writes through
//! followers, reading one's own writes, watches across servers, `sync`,
//! sessions kept alive through a follower and expired by the leader,
//! sessions moving between servers, and a partitioned member that stops
//! serving while the majority goes on.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use consensus::network::Faults;
use futures::StreamExt;
use jute::proto::*;
use jute::{ClientFrame, CreateMode, Decode, Request, Response, xid};
use server::Config;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const TICK: Duration = Duration::from_millis(100);
const SYNC_LIMIT: u32 = 5;

struct Member {
    id: u64,
    addr: SocketAddr,
    /// The AdminServer (`/ready`).
    admin: SocketAddr,
    faults: Arc<Faults>,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

struct Ensemble {
    members: Vec<Member>,
}

impl Ensemble {
    async fn start(n: u64) -> Ensemble {
        Ensemble::start_with_observers(n, 0).await
    }

    /// `n` voters, then `observers` observers.
    async fn start_with_observers(n: u64, observers: u64) -> Ensemble {
        let lines: Vec<server::ServerLine> = (1..=n + observers)
            .map(|id| {
                let role = if id > n { ":observer" } else { "" };
                server::parse_server_line(
                    id,
                    &format!("127.0.0.1:{}:{}{role}", free_port(), free_port()),
                )
                .expect("a server line")
            })
            .collect();
        let mut members = Vec::new();
        for id in 1..=n + observers {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut config = Config::for_tests(dir.path().to_path_buf());
            config.server_id = u8::try_from(id).expect("small id");
            config.servers = lines.clone();
            config.tick_time = TICK;
            config.sync_limit = SYNC_LIMIT;
            config.min_session_timeout = TICK * 2;
            config.max_session_timeout = TICK * 20;
            let faults = config.peer_faults.clone();
            let admin = SocketAddr::from(([127, 0, 0, 1], free_port()));
            config.admin_addr = Some(admin);
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("addr");
            let shutdown = CancellationToken::new();
            tokio::spawn(server::run(config, listener, shutdown.clone()));
            members.push(Member {
                id,
                addr,
                admin,
                faults,
                shutdown,
                _dir: dir,
            });
        }
        let e = Ensemble { members };
        for m in &e.members {
            wait_serving(m.addr).await;
        }
        e
    }

    /// The members' roles, by `srvr`.
    async fn modes(&self) -> Vec<String> {
        let mut v = Vec::new();
        for m in &self.members {
            v.push(mode(m.addr).await);
        }
        v
    }

    /// (leader index, follower indexes)
    async fn roles(&self) -> (usize, Vec<usize>) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let modes = self.modes().await;
            let leaders: Vec<usize> = (0..modes.len()).filter(|i| modes[*i] == "leader").collect();
            if leaders.len() == 1 {
                let followers = (0..modes.len())
                    .filter(|i| modes[*i] == "follower")
                    .collect::<Vec<_>>();
                let observers = modes.iter().filter(|m| *m == "observer").count();
                if followers.len() + observers + 1 == modes.len() {
                    return (leaders[0], followers);
                }
            }
            assert!(Instant::now() < deadline, "no settled roles: {modes:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn isolate(&self, i: usize, cut: bool) {
        let id = self.members[i].id;
        for (j, m) in self.members.iter().enumerate() {
            if j == i {
                for o in &self.members {
                    if o.id != id {
                        m.faults.set_cut(o.id, cut);
                    }
                }
            } else {
                m.faults.set_cut(id, cut);
            }
        }
    }
}

impl Drop for Ensemble {
    fn drop(&mut self) {
        for m in &self.members {
            m.shutdown.cancel();
        }
    }
}

async fn wait_serving(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while try_connect(addr, 2000, None).await.is_none() {
        assert!(Instant::now() < deadline, "{addr} never served");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn get(path: &str, watch: bool) -> Request {
    Request::GetData(GetDataRequest {
        path: path.into(),
        watch,
    })
}

fn sync(path: &str) -> Request {
    Request::Sync(SyncRequest { path: path.into() })
}

/// Polls `exists(path)` through a fresh session on `addr` until it reports
/// `want` (true: present) or the time is up.
async fn eventually_exists(addr: SocketAddr, path: &str, want: bool, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if let Some((mut c, _)) = try_connect(addr, 2000, None).await {
            let (_, _) = call(&mut c, 1, sync("/")).await;
            let (h, _) = call(&mut c, 2, exists(path)).await;
            if (h.err == 0) == want {
                return true;
            }
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_followers_watches_sync_and_moving_sessions() {
    let e = Ensemble::start(3).await;
    let (leader, followers) = e.roles().await;
    let (f, g) = (e.members[followers[0]].addr, e.members[followers[1]].addr);

    // Writes on a follower are answered after it applied them: the same
    // session reads them at once, and the reply carries the write's zxid.
    let (mut a, _) = try_connect(f, 4000, None)
        .await
        .expect("session on a follower");
    let (h, rsp) = call(&mut a, 1, create("/a", b"one", CreateMode::Persistent)).await;
    assert_eq!(
        (h.err, rsp),
        (0, Response::Create(CreateResponse { path: "/a".into() }))
    );
    let created_zxid = h.zxid;
    let (h, rsp) = call(&mut a, 2, get("/a", false)).await;
    assert_eq!(h.err, 0, "a follower serves its session's own write");
    let Response::GetData(d) = rsp else {
        panic!("getData reply")
    };
    assert_eq!(d.data.as_deref(), Some(&b"one"[..]));
    assert_eq!(d.stat.czxid, created_zxid);

    // Another follower: after sync it must see the write; then it watches,
    // and the first follower's change reaches it.
    let (mut b, _) = try_connect(g, 4000, None)
        .await
        .expect("session on the other follower");
    let (h, rsp) = call(&mut b, 1, sync("/a")).await;
    assert_eq!(
        (h.err, rsp),
        (0, Response::Sync(SyncResponse { path: "/a".into() }))
    );
    assert!(h.zxid >= created_zxid, "sync caught up with the leader");
    let (h, _) = call(&mut b, 2, get("/a", true)).await;
    assert_eq!(h.err, 0, "visible after sync");
    let (h, _) = call(
        &mut a,
        3,
        Request::SetData(SetDataRequest {
            path: "/a".into(),
            data: Some(Bytes::from_static(b"two")),
            version: 0,
        }),
    )
    .await;
    assert_eq!(h.err, 0);
    let set_zxid = h.zxid;
    let (h, body) = next_frame(&mut b).await;
    assert_eq!(h.xid, xid::NOTIFICATION);
    let ev = WatcherEvent::decode_from(&body).expect("event");
    assert_eq!((ev.kind, ev.path.as_str()), (3, "/a"));
    assert_eq!(h.zxid, set_zxid);

    // Pipelined writes from a follower session keep their order.
    for i in 0..50 {
        send(
            &mut a,
            100 + i,
            create(&format!("/p{i}"), b"x", CreateMode::Persistent),
        )
        .await;
    }
    for i in 0..50 {
        let (h, _) = next_frame(&mut a).await;
        assert_eq!((h.xid, h.err), (100 + i, 0), "replies in request order");
    }

    // An ephemeral of a session that moves from one follower to the
    // leader: the session and its ephemeral live on.
    let (mut c, rsp) = try_connect(f, 4000, None).await.expect("session");
    let (h, _) = call(&mut c, 1, create("/eph", b"", CreateMode::Ephemeral)).await;
    assert_eq!(h.err, 0);
    let (mut moved, again) = try_connect(
        e.members[leader].addr,
        4000,
        Some((rsp.session_id, rsp.passwd.clone())),
    )
    .await
    .expect("the session resumes on another server");
    assert_eq!(again.session_id, rsp.session_id);
    assert_eq!(again.time_out, rsp.time_out);
    let (h, rsp2) = call(
        &mut moved,
        2,
        Request::GetEphemerals(GetEphemeralsRequest {
            prefix_path: "/".into(),
        }),
    )
    .await;
    assert_eq!(h.err, 0);
    assert_eq!(
        rsp2,
        Response::GetEphemerals(GetEphemeralsResponse {
            ephemerals: vec!["/eph".into()]
        })
    );
    // A wrong password is refused on any server, ZooKeeper's way.
    let (_, refused) = try_connect(
        g,
        4000,
        Some((rsp.session_id, Bytes::from_static(&[9; 16]))),
    )
    .await
    .expect("an answer");
    assert_eq!((refused.session_id, refused.time_out), (0, 0));
    // Closing it through the leader removes the ephemeral everywhere.
    let (h, _) = call(&mut moved, 3, Request::CloseSession).await;
    assert_eq!(h.err, 0);
    assert!(eventually_exists(g, "/eph", false, Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_on_followers_live_while_they_ping_and_expire_on_the_leader() {
    let e = Ensemble::start(3).await;
    let (_, followers) = e.roles().await;
    let f = e.members[followers[0]].addr;
    let g = e.members[followers[1]].addr;

    // A 600 ms session on a follower, pinging every 200 ms for 3 s: the
    // leader hears of it through the follower's touches and keeps it.
    let (mut c, rsp) = try_connect(f, 600, None).await.expect("session");
    assert_eq!(rsp.time_out, 600);
    let (h, _) = call(&mut c, 1, create("/alive", b"", CreateMode::Ephemeral)).await;
    assert_eq!(h.err, 0);
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        ping(&mut c).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (h, _) = call(&mut c, 2, exists("/alive")).await;
    assert_eq!(h.err, 0, "a pinging session on a follower is not expired");

    // Silence: the leader expires it, and every member drops the ephemeral.
    drop(c);
    assert!(
        eventually_exists(g, "/alive", false, Duration::from_secs(5)).await,
        "a silent session was never expired"
    );
    assert!(eventually_exists(f, "/alive", false, Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_member_stops_serving_while_the_majority_goes_on() {
    let e = Ensemble::start(3).await;
    let (leader, followers) = e.roles().await;
    let cut = followers[0];
    let (mut c, _) = try_connect(e.members[cut].addr, 8000, None)
        .await
        .expect("session");
    let (h, _) = call(&mut c, 1, create("/before", b"", CreateMode::Persistent)).await;
    assert_eq!(h.err, 0);
    let (h, _) = call(&mut c, 2, get("/before", true)).await;
    assert_eq!(h.err, 0);

    let (status, body) = http_get(e.members[cut].admin, "/ready").await;
    assert_eq!(status, 200, "a follower in touch is ready: {body}");
    assert!(body.contains("\"ready\": true"), "{body}");

    let started = Instant::now();
    e.isolate(cut, true);
    // Its clients are disconnected once it has been out of touch for
    // syncLimit ticks, and it refuses new sessions.
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match c.get_mut().read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the cut-off member kept its clients");
    let waited = started.elapsed();
    // Its last contact was up to one round (half a tick) before the cut.
    assert!(
        waited >= TICK * (SYNC_LIMIT - 1),
        "closed after {waited:?}, well before syncLimit"
    );
    assert!(
        try_connect(e.members[cut].addr, 4000, None).await.is_none(),
        "a cut-off member accepted a session"
    );
    assert_eq!(
        four_letter(e.members[cut].addr, "srvr").await,
        "This ZooKeeper instance is not currently serving requests\n",
        "srvr from a member without a quorum"
    );
    // Not ready, with the reason; `ruok` keeps ZooKeeper's weak meaning.
    let (status, body) = http_get(e.members[cut].admin, "/ready").await;
    assert_eq!(status, 503, "a cut-off member is not ready: {body}");
    assert!(body.contains("not in touch with a quorum"), "{body}");
    assert_eq!(four_letter(e.members[cut].addr, "ruok").await, "imok");
    // The majority's members stay ready.
    for i in [leader, followers[1]] {
        let (status, body) = http_get(e.members[i].admin, "/ready").await;
        assert_eq!(status, 200, "member {i} of the majority: {body}");
    }

    // The majority commits meanwhile.
    let (mut m, _) = try_connect(e.members[leader].addr, 4000, None)
        .await
        .expect("the majority serves");
    let (h, _) = call(&mut m, 1, create("/during", b"", CreateMode::Persistent)).await;
    assert_eq!(h.err, 0, "the majority commits while a member is cut off");

    // Healed: it serves again, with what the majority wrote, and without
    // the watches of the connections it closed.
    e.isolate(cut, false);
    wait_serving(e.members[cut].addr).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = http_get(e.members[cut].admin, "/ready").await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not ready again after healing: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        four_letter(e.members[cut].addr, "wchs").await,
        "0 connections watching 0 paths\nTotal watches:0\n"
    );
    assert!(eventually_exists(e.members[cut].addr, "/during", true, Duration::from_secs(5)).await);
    let _ = e.roles().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_follows_and_serves_without_voting() {
    let e = Ensemble::start_with_observers(3, 1).await;
    let observer = e.members[3].addr;
    let deadline = Instant::now() + Duration::from_secs(20);
    while mode(observer).await != "observer" {
        assert!(
            Instant::now() < deadline,
            "server.4 never became an observer"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let modes = e.modes().await;
    assert_eq!(
        modes.iter().filter(|m| *m == "leader").count(),
        1,
        "{modes:?}"
    );
    // Writes through the observer are forwarded and read back there.
    let (mut c, _) = try_connect(observer, 4000, None)
        .await
        .expect("observer serves");
    let (h, _) = call(
        &mut c,
        1,
        create("/via-observer", b"o", CreateMode::Persistent),
    )
    .await;
    assert_eq!(h.err, 0);
    let (h, _) = call(&mut c, 2, get("/via-observer", false)).await;
    assert_eq!(h.err, 0);
    // It does not vote: with two of three voters cut off, nothing commits,
    // although the observer could still reach them.
    let (leader, _) = e.roles().await;
    let voters: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    let (mut l, _) = try_connect(e.members[leader].addr, 4000, None)
        .await
        .expect("the leader serves");
    e.isolate(voters[0], true);
    e.isolate(voters[1], true);
    send(&mut l, 1, create("/no-quorum", b"", CreateMode::Persistent)).await;
    let answered = tokio::time::timeout(Duration::from_secs(4), l.next()).await;
    assert!(
        !matches!(answered, Ok(Some(Ok(ClientFrame::Reply { ref header, .. }))) if header.err == 0),
        "a write committed with one voter and an observer: {answered:?}"
    );
}
