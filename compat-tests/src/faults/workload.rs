//! The workload: clients on real connections, each recording what it did
//! and what it was told, for the checkers.
//!
//! - **Writers** (one session each) mix register reads and writes (the
//!   register is `/r/<n>`, a new one every [`REGISTER_SPAN`], so each
//!   register's history stays small enough to check), creates of unique
//!   nodes (`/acked/…`), sequential creates (`/seq/s-…`), writes of the
//!   watched node `/pw`, and one-shot watches on their own node `/w/<k>`
//!   (set with `getData`, fired by their own `setData`: the notification
//!   must come before that write's reply). Each session owns an ephemeral
//!   `/eph/<session id>`.
//! - **Lockers** take a lock the way Curator's `InterProcessMutex` does:
//!   an ephemeral sequential node under `/lock`, held while it is the
//!   lowest; while holding, they confirm with writes to their node.
//! - **A watcher** holds a persistent watch on `/pw` and reads it: between
//!   two reads on one connection, exactly as many `NodeDataChanged` events
//!   must arrive as the version moved.
//!
//! A client whose connection fails moves to the next member and resumes
//! its session; if the session expired it starts a new one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use jute::proto::{
    AddWatchRequest, CreateRequest, DeleteRequest, GetChildrenRequest, GetDataRequest,
    SetDataRequest,
};
use jute::{Acl, AddWatchMode, CreateMode, EventType, Request, Response};

use super::client::{Conn, Connected, Outcome, Session, connect};
use crate::linearizability::{Event, Op};

/// How long one register takes writes before the next one does.
pub const REGISTER_SPAN: Duration = Duration::from_secs(2);

/// What one client recorded.
#[derive(Default)]
pub struct Record {
    /// Which client.
    pub client: usize,
    /// Register operations: (register, event).
    pub registers: Vec<(usize, Event)>,
    /// Nodes whose create was acknowledged.
    pub acked: Vec<String>,
    /// Sequential nodes acknowledged, in the order of their replies, with
    /// their session.
    pub sequential: Vec<(i64, String)>,
    /// When each acknowledged write's reply came (for the pauses).
    pub ack_times: Vec<Instant>,
    /// Lock holds: from the reply that showed the lock held to the call of
    /// the last write that confirmed it.
    pub holds: Vec<(Instant, Instant)>,
    /// Sessions this client gave up or found expired, with when.
    pub ended_sessions: Vec<(i64, Instant)>,
    /// The session it holds at the end, if any.
    pub live: Option<Box<Conn>>,
    /// Register reads and acknowledged register writes, as their session
    /// saw them (for the per-session order of reads).
    pub views: Vec<View>,
    /// Ordering violations this client saw (zxids, watches).
    pub violations: Vec<String>,
    /// Requests answered, failed with an error code, and lost.
    pub answered: u64,
    /// Requests that got no reply.
    pub lost: u64,
    /// Connections made (first one included).
    pub connections: u64,
}

/// One register read or acknowledged write, as its session saw it.
#[derive(Debug, Clone)]
pub struct View {
    /// The session.
    pub session: i64,
    /// The register.
    pub register: usize,
    /// The highest zxid the session had seen when it sent the request.
    pub seen: i64,
    /// The register's `mzxid`: the write the read saw, or the write's own.
    pub mzxid: i64,
    /// The value read or written.
    pub value: String,
    /// A write (else a read).
    pub write: bool,
}

/// Where a client connects, and when to stop.
#[derive(Clone)]
pub struct Ctx {
    /// Every member's client address.
    pub servers: Vec<std::net::SocketAddr>,
    /// Set when the run ends.
    pub stop: Arc<AtomicBool>,
    /// When the run started (the register in use derives from it).
    pub start: Instant,
    /// How many registers exist.
    pub registers: usize,
}

impl Ctx {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn register(&self) -> usize {
        let n = (self.start.elapsed().as_millis() / REGISTER_SPAN.as_millis()) as usize;
        n.min(self.registers - 1)
    }
}

/// A client's connection state: its session and connection, moved between
/// members as they fail.
struct Client {
    k: usize,
    target: usize,
    session: Option<Session>,
    conn: Option<Box<Conn>>,
    rec: Record,
}

impl Client {
    fn new(k: usize) -> Client {
        Client {
            k,
            target: k,
            session: None,
            conn: None,
            rec: Record {
                client: k,
                ..Record::default()
            },
        }
    }

    /// A connection, made if needed: resumes the session, or starts a new
    /// one (creating its ephemeral) when it expired. `None` once stopped.
    async fn conn(&mut self, ctx: &Ctx) -> Option<&mut Conn> {
        while self.conn.is_none() {
            if ctx.stopped() {
                return None;
            }
            let member = self.target % ctx.servers.len();
            match connect(ctx.servers[member], member, self.session.as_ref()).await {
                Connected::Ok(mut c) => {
                    self.rec.connections += 1;
                    if self.session.as_ref().map(|s| s.id) != Some(c.session.id) {
                        // A new session: its ephemeral.
                        let req = Request::Create(CreateRequest {
                            path: format!("/eph/{:x}", c.session.id),
                            data: None,
                            acl: vec![Acl::open()],
                            flags: CreateMode::Ephemeral as i32,
                        });
                        if !matches!(c.call(&req).await, Outcome::Reply(..)) {
                            // Outcome unknown; resume later.
                            self.session = Some(c.session.clone());
                            self.target += 1;
                            continue;
                        }
                    }
                    self.session = Some(c.session.clone());
                    self.conn = Some(c);
                }
                Connected::Expired => {
                    if let Some(s) = self.session.take() {
                        self.rec.ended_sessions.push((s.id, Instant::now()));
                    }
                }
                Connected::Failed => {
                    self.target += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        self.conn.as_deref_mut()
    }

    /// Gives the connection up (after a lost request): the next call moves
    /// to the next member and resumes the session.
    fn drop_conn(&mut self) {
        if let Some(c) = self.conn.take() {
            self.session = Some(c.session.clone());
            self.rec.violations.extend(c.zxid_regressions);
        }
        self.rec.lost += 1;
        self.target += 1;
    }

    /// Gives the session up: it is left to expire.
    fn abandon_session(&mut self) {
        if let Some(c) = self.conn.take() {
            self.rec.violations.extend(c.zxid_regressions);
        }
        self.target += 1;
        if let Some(s) = self.session.take() {
            self.rec.ended_sessions.push((s.id, Instant::now()));
        }
    }

    /// One request; `None` if no reply (the connection is dropped).
    async fn call(&mut self, ctx: &Ctx, req: &Request) -> Option<(i32, Response)> {
        self.call_seen(ctx, req)
            .await
            .map(|(_, err, rsp)| (err, rsp))
    }

    /// One request, with the session it went on and the highest zxid that
    /// session had seen when it was sent.
    async fn call_seen(&mut self, ctx: &Ctx, req: &Request) -> Option<((i64, i64), i32, Response)> {
        let c = self.conn(ctx).await?;
        let seen = (c.session.id, c.session.last_zxid);
        match c.call(req).await {
            Outcome::Reply(err, _, rsp) => {
                self.rec.answered += 1;
                Some((seen, err, rsp))
            }
            Outcome::Lost => {
                self.drop_conn();
                None
            }
        }
    }

    fn finish(mut self) -> Record {
        if let Some(c) = self.conn.take() {
            self.rec
                .violations
                .extend(c.zxid_regressions.iter().cloned());
            self.rec.live = Some(c);
        }
        self.rec
    }
}

fn create(path: &str, data: &[u8], mode: CreateMode) -> Request {
    Request::Create(CreateRequest {
        path: path.to_owned(),
        data: Some(Bytes::copy_from_slice(data)),
        acl: vec![Acl::open()],
        flags: mode as i32,
    })
}

fn set(path: &str, data: Bytes) -> Request {
    Request::SetData(SetDataRequest {
        path: path.to_owned(),
        data: Some(data),
        version: -1,
    })
}

fn get(path: &str, watch: bool) -> Request {
    Request::GetData(GetDataRequest {
        path: path.to_owned(),
        watch,
    })
}

/// The harness's random choices: seeded, so a run's nemeses and workload
/// repeat with its seed.
pub struct Rng(rand::rngs::StdRng);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        use rand::SeedableRng;
        Rng(rand::rngs::StdRng::seed_from_u64(seed))
    }

    /// A number below `n` (0 if `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        use rand::Rng as _;
        if n == 0 { 0 } else { self.0.random_range(0..n) }
    }

    /// `items` in a random order.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        use rand::seq::SliceRandom;
        items.shuffle(&mut self.0);
    }
}

/// The nodes the workload needs, made before it starts.
pub async fn prepare(ctx: &Ctx, writers: usize) -> Result<(), String> {
    let mut c = Client::new(0);
    let mut paths: Vec<String> = ["/r", "/acked", "/seq", "/w", "/eph", "/lock", "/pw"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    paths.extend((0..ctx.registers).map(|i| format!("/r/{i}")));
    paths.extend((0..writers).map(|k| format!("/w/{k}")));
    for p in paths {
        loop {
            match c.call(ctx, &create(&p, b"", CreateMode::Persistent)).await {
                Some((0, _)) => break,
                Some((e, _)) if e == jute::ErrorCode::NodeExists as i32 => break,
                Some((e, _)) => return Err(format!("create {p}: error {e}")),
                None if ctx.stopped() => return Err("stopped".into()),
                None => {}
            }
        }
    }
    if let Some(conn) = c.conn.take() {
        conn.close().await;
    }
    Ok(())
}

/// A writer: until stopped.
pub async fn writer(k: usize, ctx: Ctx, seed: u64) -> Record {
    let mut c = Client::new(k);
    let mut rng = Rng::new(seed.wrapping_add(1000 + k as u64));
    let mut n = 0u64;
    while !ctx.stopped() {
        n += 1;
        let roll = rng.below(100);
        let reg = ctx.register();
        let reg_path = format!("/r/{reg}");
        let call = Instant::now();
        match roll {
            0..35 => {
                if let Some(((session, seen), 0, Response::GetData(d))) =
                    c.call_seen(&ctx, &get(&reg_path, false)).await
                {
                    let v =
                        String::from_utf8_lossy(d.data.as_deref().unwrap_or_default()).into_owned();
                    c.rec.views.push(View {
                        session,
                        register: reg,
                        seen,
                        mzxid: d.stat.mzxid,
                        value: v.clone(),
                        write: false,
                    });
                    c.rec.registers.push((
                        reg,
                        Event {
                            client: k,
                            op: Op::Read(v),
                            call,
                            ret: Some(Instant::now()),
                        },
                    ));
                }
            }
            35..60 => {
                let v = format!("{k}-{n}");
                let r = c
                    .call_seen(&ctx, &set(&reg_path, Bytes::from(v.clone())))
                    .await;
                let ret = match r {
                    Some(((session, seen), 0, rsp)) => {
                        if let Response::SetData(w) = rsp {
                            c.rec.views.push(View {
                                session,
                                register: reg,
                                seen,
                                mzxid: w.stat.mzxid,
                                value: v.clone(),
                                write: true,
                            });
                        }
                        Some(Instant::now())
                    }
                    Some(_) => continue, // failed: no effect
                    None => None,
                };
                if let Some(t) = ret {
                    c.rec.ack_times.push(t);
                }
                c.rec.registers.push((
                    reg,
                    Event {
                        client: k,
                        op: Op::Write(v),
                        call,
                        ret,
                    },
                ));
            }
            60..75 => {
                let path = format!("/acked/{k}-{n}");
                if let Some((0, _)) = c
                    .call(&ctx, &create(&path, b"x", CreateMode::Persistent))
                    .await
                {
                    c.rec.ack_times.push(Instant::now());
                    c.rec.acked.push(path);
                }
            }
            75..85 => {
                let r = c
                    .call(
                        &ctx,
                        &create("/seq/s-", b"", CreateMode::PersistentSequential),
                    )
                    .await;
                if let Some((0, Response::Create(created))) = r {
                    c.rec.ack_times.push(Instant::now());
                    let sid = c.session.as_ref().map_or(0, |s| s.id);
                    c.rec.sequential.push((sid, created.path));
                }
            }
            85..92 => {
                let data = Bytes::from(format!("{k}-{n}"));
                if let Some((0, _)) = c.call(&ctx, &set("/pw", data)).await {
                    c.rec.ack_times.push(Instant::now());
                }
            }
            _ => one_shot_watch(&mut c, &ctx, n).await,
        }
    }
    c.finish()
}

/// Sets a data watch on the client's own node and changes the node: the
/// notification must arrive once, before the write's reply.
async fn one_shot_watch(c: &mut Client, ctx: &Ctx, n: u64) {
    let path = format!("/w/{}", c.k);
    if let Some(conn) = c.conn.as_mut() {
        conn.events.clear();
    }
    let Some((0, _)) = c.call(ctx, &get(&path, true)).await else {
        return;
    };
    // The same connection, or the watch is gone with it.
    let before = c.rec.connections;
    let r = c.call(ctx, &set(&path, Bytes::from(n.to_string()))).await;
    let Some((0, _)) = r else {
        return;
    };
    c.rec.ack_times.push(Instant::now());
    let Some(conn) = c.conn.as_mut() else {
        return;
    };
    if c.rec.connections != before {
        return;
    }
    let fired = conn
        .events
        .drain(..)
        .filter(|e| e.path == path && e.kind == EventType::NodeDataChanged as i32)
        .count();
    if fired != 1 {
        c.rec.violations.push(format!(
            "client {}: the one-shot data watch on {path} fired {fired} times before its \
             own setData's reply (expected once)",
            c.k
        ));
    }
}

/// A locker: takes and releases the lock until stopped.
pub async fn locker(k: usize, ctx: Ctx) -> Record {
    let mut c = Client::new(k);
    'attempt: while !ctx.stopped() {
        let r = c
            .call(
                &ctx,
                &create("/lock/l-", b"", CreateMode::EphemeralSequential),
            )
            .await;
        let mine = match r {
            Some((0, Response::Create(created))) => created.path,
            Some(_) => continue,
            None => {
                // Whether the node exists is unknown: give the session up
                // so it expires with it (Curator's protected mode would
                // look for it instead).
                c.abandon_session();
                continue;
            }
        };
        let name = mine.trim_start_matches("/lock/").to_owned();
        // Wait to be the lowest.
        let acquired = loop {
            if ctx.stopped() {
                break None;
            }
            let req = Request::GetChildren(GetChildrenRequest {
                path: "/lock".into(),
                watch: false,
            });
            match c.call(&ctx, &req).await {
                Some((0, Response::GetChildren(ch))) => {
                    if !ch.children.contains(&name) {
                        // The session expired under us.
                        c.abandon_session();
                        continue 'attempt;
                    }
                    if ch.children.iter().min() == Some(&name) {
                        break Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Some(_) => {}
                None => {
                    c.abandon_session();
                    continue 'attempt;
                }
            }
        };
        let Some(acquired) = acquired else {
            break;
        };
        // Hold it, confirming with writes to our node.
        let mut confirmed = None;
        for i in 0..3 {
            tokio::time::sleep(Duration::from_millis(15)).await;
            let call = Instant::now();
            match c.call(&ctx, &set(&mine, Bytes::from(i.to_string()))).await {
                Some((0, _)) => {
                    c.rec.ack_times.push(Instant::now());
                    confirmed = Some(call);
                }
                _ => break,
            }
        }
        if let Some(end) = confirmed {
            c.rec.holds.push((acquired, end));
        }
        let del = Request::Delete(DeleteRequest {
            path: mine,
            version: -1,
        });
        match c.call(&ctx, &del).await {
            Some((0, _)) => {}
            _ => c.abandon_session(),
        }
    }
    c.finish()
}

/// The watcher: a persistent watch on `/pw`, read every 20 ms.
pub async fn watcher(k: usize, ctx: Ctx) -> Record {
    let mut c = Client::new(k);
    while !ctx.stopped() {
        let add = Request::AddWatch(AddWatchRequest {
            path: "/pw".into(),
            mode: AddWatchMode::Persistent as i32,
        });
        let Some((0, _)) = c.call(&ctx, &add).await else {
            continue;
        };
        let connection = c.rec.connections;
        let mut last: Option<i32> = None;
        while !ctx.stopped() {
            if let Some(conn) = c.conn.as_mut()
                && last.is_none()
            {
                conn.events.clear();
            }
            let Some((0, Response::GetData(d))) = c.call(&ctx, &get("/pw", false)).await else {
                break;
            };
            if c.rec.connections != connection {
                break;
            }
            let Some(conn) = c.conn.as_mut() else {
                break;
            };
            let fired = conn
                .events
                .drain(..)
                .filter(|e| e.path == "/pw" && e.kind == EventType::NodeDataChanged as i32)
                .count() as i64;
            if let Some(v) = last {
                let moved = i64::from(d.stat.version) - i64::from(v);
                if fired != moved {
                    c.rec.violations.push(format!(
                        "watcher: /pw went from version {v} to {} between two reads on one \
                         connection, but {fired} NodeDataChanged events came",
                        d.stat.version
                    ));
                }
            }
            last = Some(d.stat.version);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    c.finish()
}
