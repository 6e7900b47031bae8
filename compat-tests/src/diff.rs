//! The differential tester: a seeded generator of client workloads, sent in
//! lock-step to a real ZooKeeper and to Corral, every reply and watch event
//! compared, and the first difference shrunk to a short sequence.
//!
//! # What is compared
//! Each step runs one [`Op`] on one of [`SESSIONS`] sessions, on both
//! servers, then a barrier read (`exists /`) on every session, so each
//! session's watch events caused by the step have arrived (ZooKeeper's
//! ordering guarantee: an event before any reply reflecting a later state).
//! Per session and step, the transcript (events and replies, in the order
//! received) must be the same on both servers once rendered through a
//! [`Norm`]:
//!
//! - error codes, data, ACLs, paths: as they are;
//! - children and ephemeral lists: as sets (ZooKeeper's order is a Java
//!   `HashSet`'s; Corral sorts);
//! - zxids (reply headers, `czxid`, `mzxid`, `pzxid`): renamed to `z1`,
//!   `z2`, … in the order each server first shows them, so the same
//!   transaction carries the same name on both;
//! - times (`ctime`, `mtime`): each must be the time of its zxid on that
//!   server (the same zxid always shows the same time), rendered as
//!   `t(z<n>)`;
//! - session ids (`ephemeralOwner`): renamed to the session's slot and
//!   generation;
//! - a notification's header zxid is left out: ZooKeeper 3.8 sends −1,
//!   Corral the change's zxid (ZooKeeper 3.9's behaviour,
//!   `docs/compatibility.md`);
//! - the `NodeDeleted` events of a closed session's ephemerals compare as
//!   a set: they come from one transaction, in an order ZooKeeper does not
//!   specify (its `HashSet`'s).
//!
//! One session never holds watches of two modes on one path, and never
//! checks or removes a standard watch type where it holds a persistent
//! watch (see `Watches::avoid_mixed_modes`: ZOOKEEPER-4466 and -4471,
//! fixed in 3.9, which Corral follows), and asks `checkWatches` only where
//! no other session watches (3.8.0 then answered yes for anyone).
//!
//! The generator writes every ACL shape ([`AclChoice`]): world with one
//! permission taken away, digest of one user (with or without world
//! READ), ip (the sessions' own address, or a network they are not on),
//! `auth`, and invalid lists, on nodes that every op then reads and
//! writes; sessions authenticate as alice, bob or the super user. Corral
//! runs with `corral.existsAclCheck=false` here: `exists` on a node the
//! caller may not read is where ZooKeeper 3.8.0 (the Debian reference) and
//! 3.8.4+ (Corral's default) differ on purpose (ZOOKEEPER-2590). Run with
//! the check on, the tester finds that difference
//! (`t70_differential`'s planted bug).
//!
//! # Shrinking
//! Every run works under a fresh root (`/diff-<seed>-<attempt>`) with fresh
//! sessions, so a candidate sequence replays on the same two servers.
//! [`shrink`] removes chunks, then single ops, while a difference remains.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use jute::proto::{
    AddWatchRequest, AuthPacket, CheckVersionRequest, ConnectRequest, CreateRequest,
    CreateTtlRequest, DeleteRequest, ExistsRequest, GetAclRequest, GetAllChildrenNumberRequest,
    GetChildren2Request, GetDataRequest, GetEphemeralsRequest, MultiRequest, OpResult, ReplyHeader,
    RequestHeader, SetAclRequest, SetDataRequest, SetWatches2, SyncRequest, WatcherEvent,
};
use jute::{Acl, ClientCodec, ClientFrame, Id, OpCode, Request, Response, Stat};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

/// Sessions per run (slots; a closed one is replaced by a new session).
pub const SESSIONS: usize = 3;

/// Paths under the run's root. Containers are only created where the
/// generator never creates children (so none is ever reaped: the reapers
/// run on timers that differ between the servers).
const PATHS: [&str; 8] = ["", "/a", "/b", "/c", "/a/x", "/a/y", "/b/x", "/a/x/deep"];
const LEAVES: [usize; 4] = [3, 5, 6, 7];
/// Parents of sequential nodes.
const SEQ_PARENTS: [usize; 2] = [0, 1];

/// base64(sha1("<user>:pw")) for alice, bob and the super user (the
/// servers' `DigestAuthenticationProvider.superDigest`).
const DIGESTS: [(&str, &str); 3] = [
    ("alice", "alice:V55/p2T0OpjQ+low3NVAH4aLvm0="),
    ("bob", "bob:ikIaKsbtGweaHnb/jKn7OHqbunM="),
    ("super", "super:0bX78nEegDzJM3ju0iLBEJdWzjg="),
];

/// The permission bits in ZooKeeper's order: READ, WRITE, CREATE, DELETE,
/// ADMIN.
const PERMS: [i32; 5] = [1, 2, 4, 8, 16];

/// Which znode an op names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// One of the fixed paths.
    Fixed(usize),
    /// The n-th sequential node created so far in the run (modulo their
    /// number; the root when there is none).
    Seq(usize),
}

/// An ACL the generator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclChoice {
    /// world:anyone, all.
    Open,
    /// world:anyone, all but one permission (an index into READ, WRITE,
    /// CREATE, DELETE, ADMIN).
    WorldWithout(usize),
    /// world:anyone read; digest alice or bob, all.
    Digest(usize),
    /// digest alice or bob, all; nobody else anything.
    DigestOnly(usize),
    /// ip: the sessions' own address (127.0.0.1) with all but one
    /// permission (as [`AclChoice::WorldWithout`]).
    IpLocal(usize),
    /// ip: a network no session is on (10.0.0.0/8), all; nobody else
    /// anything.
    IpOther,
    /// world:anyone read; auth (the session's own ids), all.
    Creator,
    /// auth (the session's own ids), all; nobody else anything.
    CreatorOnly,
    /// An empty list (INVALIDACL).
    Empty,
    /// An unknown scheme (INVALIDACL).
    BadScheme,
}

/// The create variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateKind {
    /// `create` (1).
    Create,
    /// `create2` (15).
    Create2,
    /// `createContainer` (19).
    Container,
    /// `createTTL` (21), a TTL of an hour.
    Ttl,
}

/// One op of a `multi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiOp {
    /// A persistent (or persistent sequential) create with an ACL.
    Create(Target, bool, AclChoice),
    /// A delete with a version.
    Delete(Target, i32),
    /// A set with a version.
    SetData(Target, i32),
    /// A version check.
    Check(Target, i32),
}

/// One step of a workload, on session `s`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A create; `flags` is ZooKeeper's `CreateMode` value.
    Create {
        /// Session slot.
        s: usize,
        /// Where (a sequential create names the parent's prefix).
        path: Target,
        /// The request's variant.
        kind: CreateKind,
        /// `CreateMode` flags.
        flags: i32,
        /// The data (`None`: null).
        data: Option<&'static str>,
        /// The ACL.
        acl: AclChoice,
    },
    /// `delete` with a version (−1: any).
    Delete {
        /// Session slot.
        s: usize,
        /// Which node.
        path: Target,
        /// Expected version.
        version: i32,
    },
    /// `setData` with a version.
    SetData {
        /// Session slot.
        s: usize,
        /// Which node.
        path: Target,
        /// New data.
        data: Option<&'static str>,
        /// Expected version.
        version: i32,
    },
    /// `getData`.
    GetData {
        /// Session slot.
        s: usize,
        /// Which node.
        path: Target,
        /// Leave a data watch.
        watch: bool,
    },
    /// `exists`.
    Exists {
        /// Session slot.
        s: usize,
        /// Which node.
        path: Target,
        /// Leave a watch.
        watch: bool,
    },
    /// `getChildren2`.
    GetChildren {
        /// Session slot.
        s: usize,
        /// Which node.
        path: Target,
        /// Leave a child watch.
        watch: bool,
    },
    /// `getChildren` (8, without a Stat).
    GetChildrenV1 {
        /// Session slot.
        s: usize,
        /// Which node.
        path: Target,
        /// Leave a child watch.
        watch: bool,
    },
    /// `multiRead`: `getData` and `getChildren` of several nodes.
    MultiRead {
        /// Session slot.
        s: usize,
        /// (node, `getData` rather than `getChildren`).
        ops: Vec<(Target, bool)>,
    },
    /// `checkWatches` or `removeWatches` of a watcher type (1 children,
    /// 2 data, 3 any).
    RemoveWatches {
        /// Session slot.
        s: usize,
        /// Which node.
        path: Target,
        /// The watcher type.
        kind: i32,
        /// `checkWatches` only.
        check: bool,
    },
    /// `whoAmI`.
    WhoAmI {
        /// Session slot.
        s: usize,
    },
    /// `getACL`.
    GetAcl {
        /// Session slot.
        s: usize,
        /// Which node.
        path: Target,
    },
    /// `setACL` with a version.
    SetAcl {
        /// Session slot.
        s: usize,
        /// Which node.
        path: Target,
        /// The new ACL.
        acl: AclChoice,
        /// Expected ACL version.
        version: i32,
    },
    /// `multi`.
    Multi {
        /// Session slot.
        s: usize,
        /// Its ops.
        ops: Vec<MultiOp>,
    },
    /// `sync`.
    Sync {
        /// Session slot.
        s: usize,
        /// Which node.
        path: Target,
    },
    /// `addauth digest <user>:pw`.
    AddAuth {
        /// Session slot.
        s: usize,
        /// alice (0), bob (1) or the super user (2).
        user: usize,
    },
    /// `addWatch`, persistent or persistent-recursive.
    AddWatch {
        /// Session slot.
        s: usize,
        /// Which node.
        path: Target,
        /// Recursive.
        recursive: bool,
    },
    /// `getAllChildrenNumber`.
    CountChildren {
        /// Session slot.
        s: usize,
        /// Which node.
        path: Target,
    },
    /// `getEphemerals` under a prefix.
    Ephemerals {
        /// Session slot.
        s: usize,
        /// The prefix.
        path: Target,
    },
    /// `closeSession`, then a new session in the slot.
    Close {
        /// Session slot.
        s: usize,
    },
    /// The connection dropped and the session left to expire (the other
    /// sessions kept alive meanwhile); then a resume of it is refused, and
    /// a new session takes the slot.
    Expire {
        /// Session slot.
        s: usize,
    },
    /// The connection dropped and the session resumed on a new one, with
    /// `setWatches2` for the watches it holds (as a client library does).
    Reconnect {
        /// Session slot.
        s: usize,
    },
}

impl Op {
    /// The op's kind, for the report.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Create { .. } => "create",
            Op::Delete { .. } => "delete",
            Op::SetData { .. } => "setData",
            Op::GetData { .. } => "getData",
            Op::Exists { .. } => "exists",
            Op::GetChildren { .. } => "getChildren",
            Op::GetChildrenV1 { .. } => "getChildren (v1)",
            Op::MultiRead { .. } => "multiRead",
            Op::RemoveWatches { check: true, .. } => "checkWatches",
            Op::RemoveWatches { .. } => "removeWatches",
            Op::WhoAmI { .. } => "whoAmI",
            Op::GetAcl { .. } => "getACL",
            Op::SetAcl { .. } => "setACL",
            Op::Multi { .. } => "multi",
            Op::Sync { .. } => "sync",
            Op::AddAuth { .. } => "addAuth",
            Op::AddWatch { .. } => "addWatch",
            Op::CountChildren { .. } => "getAllChildrenNumber",
            Op::Ephemerals { .. } => "getEphemerals",
            Op::Close { .. } => "close",
            Op::Reconnect { .. } => "reconnect",
            Op::Expire { .. } => "expire",
        }
    }

    fn session(&self) -> usize {
        match self {
            Op::Create { s, .. }
            | Op::Delete { s, .. }
            | Op::SetData { s, .. }
            | Op::GetData { s, .. }
            | Op::Exists { s, .. }
            | Op::GetChildren { s, .. }
            | Op::GetChildrenV1 { s, .. }
            | Op::MultiRead { s, .. }
            | Op::RemoveWatches { s, .. }
            | Op::WhoAmI { s }
            | Op::GetAcl { s, .. }
            | Op::SetAcl { s, .. }
            | Op::Multi { s, .. }
            | Op::Sync { s, .. }
            | Op::AddAuth { s, .. }
            | Op::AddWatch { s, .. }
            | Op::CountChildren { s, .. }
            | Op::Ephemerals { s, .. }
            | Op::Close { s }
            | Op::Reconnect { s }
            | Op::Expire { s } => *s,
        }
    }
}

// ------------------------------------------------------------- generator

fn target(rng: &mut StdRng) -> Target {
    if rng.random_bool(0.2) {
        Target::Seq(rng.random_range(0..16))
    } else {
        Target::Fixed(rng.random_range(0..PATHS.len()))
    }
}

fn version(rng: &mut StdRng) -> i32 {
    [-1, 0, 0, 1, 1, 2, 5][rng.random_range(0..7)]
}

fn data(rng: &mut StdRng) -> Option<&'static str> {
    [
        None,
        Some(""),
        Some("v1"),
        Some("v2"),
        Some("a longer value"),
    ][rng.random_range(0..5)]
}

fn acl(rng: &mut StdRng) -> AclChoice {
    match rng.random_range(0..40) {
        0..=15 => AclChoice::Open,
        16..=21 => AclChoice::WorldWithout(rng.random_range(0..PERMS.len())),
        22..=24 => AclChoice::Digest(rng.random_range(0..2)),
        25..=26 => AclChoice::DigestOnly(rng.random_range(0..2)),
        27..=29 => AclChoice::IpLocal(rng.random_range(0..PERMS.len())),
        30 => AclChoice::IpOther,
        31..=33 => AclChoice::Creator,
        34..=35 => AclChoice::CreatorOnly,
        36..=37 => AclChoice::Empty,
        _ => AclChoice::BadScheme,
    }
}

/// The ACL shapes `ops` write (creates, `setACL`, creates inside multis),
/// by name: `Open`, `WorldWithout(2)`, `DigestOnly`, … (a digest's user
/// left out), so a run can show it covered them all.
pub fn acl_shapes(ops: &[Op]) -> BTreeSet<String> {
    let name = |a: &AclChoice| match a {
        AclChoice::Digest(_) => "Digest".to_owned(),
        AclChoice::DigestOnly(_) => "DigestOnly".to_owned(),
        other => format!("{other:?}"),
    };
    let mut out = BTreeSet::new();
    for op in ops {
        match op {
            Op::Create { acl, .. } | Op::SetAcl { acl, .. } => {
                out.insert(name(acl));
            }
            Op::Multi { ops, .. } => {
                for m in ops {
                    if let MultiOp::Create(_, _, acl) = m {
                        out.insert(name(acl));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Every shape [`acl_shapes`] can name: 18 of them.
pub fn all_acl_shapes() -> BTreeSet<String> {
    let mut all: BTreeSet<String> = [
        "Open",
        "Digest",
        "DigestOnly",
        "IpOther",
        "Creator",
        "CreatorOnly",
        "Empty",
        "BadScheme",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for i in 0..PERMS.len() {
        all.insert(format!("WorldWithout({i})"));
        all.insert(format!("IpLocal({i})"));
    }
    all
}

/// `n` ops from `seed`.
pub fn generate(seed: u64, n: usize) -> Vec<Op> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| gen_op(&mut rng)).collect()
}

fn gen_op(rng: &mut StdRng) -> Op {
    let s = rng.random_range(0..SESSIONS);
    match rng.random_range(0..100) {
        0..=21 => {
            let kind = match rng.random_range(0..10) {
                0..=1 => CreateKind::Create,
                2..=7 => CreateKind::Create2,
                8 => CreateKind::Container,
                _ => CreateKind::Ttl,
            };
            let (path, flags) = match kind {
                CreateKind::Container => {
                    (Target::Fixed(LEAVES[rng.random_range(0..LEAVES.len())]), 4)
                }
                CreateKind::Ttl => {
                    let seq = rng.random_bool(0.3);
                    if seq {
                        (Target::Fixed(SEQ_PARENTS[rng.random_range(0..2)]), 6)
                    } else {
                        (target(rng), 5)
                    }
                }
                _ => {
                    let flags = [0, 0, 0, 1, 1, 2, 3][rng.random_range(0..7)];
                    if flags & 2 != 0 {
                        (Target::Fixed(SEQ_PARENTS[rng.random_range(0..2)]), flags)
                    } else {
                        (target(rng), flags)
                    }
                }
            };
            Op::Create {
                s,
                path,
                kind,
                flags,
                data: data(rng),
                acl: acl(rng),
            }
        }
        22..=31 => Op::Delete {
            s,
            path: target(rng),
            version: version(rng),
        },
        32..=43 => Op::SetData {
            s,
            path: target(rng),
            data: data(rng),
            version: version(rng),
        },
        44..=53 => Op::GetData {
            s,
            path: target(rng),
            watch: rng.random_bool(0.5),
        },
        54..=60 => Op::Exists {
            s,
            path: target(rng),
            watch: rng.random_bool(0.5),
        },
        61..=64 => Op::GetChildren {
            s,
            path: target(rng),
            watch: rng.random_bool(0.5),
        },
        65 => Op::GetChildrenV1 {
            s,
            path: target(rng),
            watch: rng.random_bool(0.5),
        },
        66 => Op::MultiRead {
            s,
            ops: (0..rng.random_range(1..=3))
                .map(|_| (target(rng), rng.random_bool(0.5)))
                .collect(),
        },
        67 => Op::RemoveWatches {
            s,
            path: target(rng),
            kind: rng.random_range(1..=3),
            check: rng.random_bool(0.3),
        },
        68 => Op::WhoAmI { s },
        69..=70 => Op::GetAcl {
            s,
            path: target(rng),
        },
        71..=74 => Op::SetAcl {
            s,
            path: target(rng),
            acl: acl(rng),
            version: version(rng),
        },
        75..=81 => {
            let n = rng.random_range(1..=3);
            let ops = (0..n)
                .map(|_| match rng.random_range(0..4) {
                    0 => MultiOp::Create(target(rng), rng.random_bool(0.3), acl(rng)),
                    1 => MultiOp::Delete(target(rng), version(rng)),
                    2 => MultiOp::SetData(target(rng), version(rng)),
                    _ => MultiOp::Check(target(rng), version(rng)),
                })
                .collect();
            Op::Multi { s, ops }
        }
        82..=83 => Op::Sync {
            s,
            path: target(rng),
        },
        84..=86 => Op::AddAuth {
            s,
            // The super user, rarely: it may do anything anywhere.
            user: if rng.random_bool(0.1) {
                2
            } else {
                rng.random_range(0..2)
            },
        },
        87..=89 => Op::AddWatch {
            s,
            path: target(rng),
            recursive: rng.random_bool(0.5),
        },
        90..=91 => Op::CountChildren {
            s,
            path: target(rng),
        },
        92..=93 => Op::Ephemerals {
            s,
            path: target(rng),
        },
        94..=96 => Op::Close { s },
        // An expiry waits out a session timeout: rare.
        _ if rng.random_bool(0.15) => Op::Expire { s },
        _ => Op::Reconnect { s },
    }
}

// ------------------------------------------------------------ connection

/// Bound on every wait for a reply.
const WAIT: Duration = Duration::from_secs(10);

/// The servers' `tickTime` for a differential run: short, so an expiry
/// takes seconds (see [`zookeeper_cfg`], [`corral_config`]).
pub const TICK_MS: u64 = 200;
/// The session timeout every session asks for (and gets: between 2 and
/// 20 ticks).
pub const SESSION_TIMEOUT_MS: i32 = 2000;

/// The reference ZooKeeper's extra zoo.cfg lines for a differential run
/// (ZooKeeper takes a key it does not know as the system property
/// `zookeeper.<key>`, so the super digest goes here too).
pub fn zookeeper_cfg() -> Vec<String> {
    vec![
        format!("tickTime={TICK_MS}"),
        format!("DigestAuthenticationProvider.superDigest={}", DIGESTS[2].1),
    ]
}

/// The reference ZooKeeper and Corral, both on loopback with
/// [`TICK_MS`], each with a fresh data directory (Corral's is the
/// returned one; keep it as long as the servers).
///
/// # Panics
/// If either cannot start.
pub fn start_servers() -> (
    crate::ZooKeeperServer,
    crate::CorralServer,
    tempfile::TempDir,
    Servers,
) {
    start_servers_with(|_| {})
}

/// As [`start_servers`], with a change to Corral's configuration (a
/// planted difference, for instance).
///
/// # Panics
/// If either cannot start.
pub fn start_servers_with(
    tweak: impl FnOnce(&mut server::Config),
) -> (
    crate::ZooKeeperServer,
    crate::CorralServer,
    tempfile::TempDir,
    Servers,
) {
    let cfg = zookeeper_cfg();
    let zk =
        crate::ZooKeeperServer::start_with(&cfg.iter().map(String::as_str).collect::<Vec<_>>());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut config = corral_config(dir.path().to_path_buf());
    tweak(&mut config);
    let corral = crate::CorralServer::start_with(config, 0);
    let servers = Servers {
        zookeeper: zk.addr(),
        corral: corral.addr(),
    };
    (zk, corral, dir, servers)
}

/// Corral's configuration for a differential run: the test defaults
/// with the same tick and super user as the reference, and `exists`
/// answering as ZooKeeper 3.8.0 does (`corral.existsAclCheck=false`).
pub fn corral_config(data_dir: std::path::PathBuf) -> server::Config {
    let mut c = server::Config::for_tests(data_dir);
    c.super_digest = Some(DIGESTS[2].1.to_owned());
    c.exists_acl_check = false;
    let tick = Duration::from_millis(TICK_MS);
    c.tick_time = tick;
    c.min_session_timeout = tick * 2;
    c.max_session_timeout = tick * 20;
    c
}

/// One session on one server.
struct Conn {
    framed: Framed<TcpStream, ClientCodec>,
    addr: SocketAddr,
    xid: i32,
    id: i64,
    passwd: Bytes,
    last_zxid: i64,
    /// Notifications read while pinging, reported with the next reply.
    pending: Vec<WatcherEvent>,
}

/// What a call produced: the notifications that arrived before the reply,
/// then the reply.
struct Reply {
    events: Vec<WatcherEvent>,
    header: ReplyHeader,
    body: Response,
}

impl Conn {
    async fn open(
        addr: SocketAddr,
        resume: Option<(i64, Bytes, i64)>,
    ) -> Result<(Conn, i32), String> {
        let socket = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect to {addr}: {e}"))?;
        let _ = socket.set_nodelay(true);
        let mut framed = Framed::new(socket, ClientCodec::default());
        let (id, passwd, last) = resume.unwrap_or((0, Bytes::from_static(&[0; 16]), 0));
        let req = ConnectRequest {
            time_out: SESSION_TIMEOUT_MS,
            session_id: id,
            passwd,
            last_zxid_seen: last,
            read_only: Some(false),
            ..Default::default()
        };
        framed
            .send(&req)
            .await
            .map_err(|e| format!("handshake to {addr}: {e}"))?;
        match tokio::time::timeout(WAIT, framed.next()).await {
            Ok(Some(Ok(ClientFrame::Connect(rsp)))) => Ok((
                Conn {
                    framed,
                    addr,
                    xid: 0,
                    id: rsp.session_id,
                    passwd: rsp.passwd,
                    last_zxid: last,
                    pending: Vec::new(),
                },
                rsp.time_out,
            )),
            other => Err(format!("handshake to {addr}: {other:?}")),
        }
    }

    async fn call_xid(&mut self, xid: i32, req: Request) -> Result<Reply, String> {
        let op = req.opcode();
        self.framed
            .send((RequestHeader { xid, op: op.into() }, &req))
            .await
            .map_err(|e| format!("send to {}: {e}", self.addr))?;
        let mut events = std::mem::take(&mut self.pending);
        loop {
            let frame = tokio::time::timeout(WAIT, self.framed.next())
                .await
                .map_err(|_| format!("no reply from {} to {op:?} in {WAIT:?}", self.addr))?;
            let (header, body) = match frame {
                Some(Ok(ClientFrame::Reply { header, body })) => (header, body),
                other => return Err(format!("{} closed or sent {other:?}", self.addr)),
            };
            if header.xid == jute::xid::NOTIFICATION {
                match Response::decode(OpCode::Notification, 0, &body) {
                    Ok(Response::Notification(e)) => events.push(e),
                    other => return Err(format!("bad notification: {other:?}")),
                }
                continue;
            }
            if header.xid != xid {
                return Err(format!(
                    "{}: reply xid {} while waiting for {xid}",
                    self.addr, header.xid
                ));
            }
            if header.zxid > 0 {
                self.last_zxid = header.zxid;
            }
            let body = Response::decode(op, header.err, &body)
                .map_err(|e| format!("{}: undecodable {op:?} reply: {e}", self.addr))?;
            return Ok(Reply {
                events,
                header,
                body,
            });
        }
    }

    async fn call(&mut self, req: Request) -> Result<Reply, String> {
        self.xid += 1;
        self.call_xid(self.xid, req).await
    }

    /// A ping, keeping the session alive; notifications that come first
    /// are kept for the next reply.
    async fn ping(&mut self) -> Result<(), String> {
        let r = self.call_xid(jute::xid::PING, Request::Ping).await?;
        self.pending = r.events;
        Ok(())
    }
}

// ------------------------------------------------------------ rendering

/// Renames one server's zxids, times and session ids (see the module).
#[derive(Default)]
pub struct Norm {
    zxids: HashMap<i64, usize>,
    times: HashMap<i64, i64>,
    sessions: HashMap<i64, String>,
}

impl Norm {
    fn zxid(&mut self, z: i64) -> String {
        if z <= 0 {
            return z.to_string();
        }
        let next = self.zxids.len() + 1;
        format!("z{}", self.zxids.entry(z).or_insert(next))
    }

    fn time(&mut self, zxid: i64, t: i64) -> String {
        if zxid <= 0 {
            return format!("t={t}");
        }
        let label = self.zxid(zxid);
        match self.times.get(&zxid) {
            Some(known) if *known != t => format!("t({label})!={t} (was {known})"),
            Some(_) => format!("t({label})"),
            None => {
                self.times.insert(zxid, t);
                format!("t({label})")
            }
        }
    }

    fn stat(&mut self, s: &Stat) -> String {
        let czxid = self.zxid(s.czxid);
        let mzxid = self.zxid(s.mzxid);
        let pzxid = self.zxid(s.pzxid);
        let ctime = self.time(s.czxid, s.ctime);
        let mtime = self.time(s.mzxid, s.mtime);
        let owner = match s.ephemeral_owner {
            0 => "0".to_owned(),
            id => self
                .sessions
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("unknown session 0x{id:x}")),
        };
        format!(
            "{{czxid={czxid} mzxid={mzxid} pzxid={pzxid} ctime={ctime} mtime={mtime} version={} cversion={} aversion={} owner={owner} dataLength={} numChildren={}}}",
            s.version, s.cversion, s.aversion, s.data_length, s.num_children
        )
    }

    /// Strips `root` from a path, so both runs' paths compare.
    fn body(&mut self, root: &str, r: &Response) -> String {
        let rel = |p: &str| p.strip_prefix(root).unwrap_or(p).to_owned();
        let data = |d: &Option<Bytes>| match d {
            None => "null".to_owned(),
            Some(b) => format!("{:?}", String::from_utf8_lossy(b)),
        };
        let set = |v: &[String]| {
            let s: BTreeSet<String> = v.iter().map(|p| rel(p)).collect();
            format!("{s:?}")
        };
        match r {
            Response::Empty => String::new(),
            Response::Create(c) => format!("path={}", rel(&c.path)),
            Response::Create2(c) => format!("path={} stat={}", rel(&c.path), self.stat(&c.stat)),
            Response::Exists(e) => format!("stat={}", self.stat(&e.stat)),
            Response::GetData(g) => format!("data={} stat={}", data(&g.data), self.stat(&g.stat)),
            Response::SetData(s) => format!("stat={}", self.stat(&s.stat)),
            Response::GetAcl(a) => format!("acl={:?} stat={}", a.acl, self.stat(&a.stat)),
            Response::SetAcl(s) => format!("stat={}", self.stat(&s.stat)),
            Response::GetChildren(c) => format!("children={}", set(&c.children)),
            Response::GetChildren2(c) => {
                format!("children={} stat={}", set(&c.children), self.stat(&c.stat))
            }
            Response::Sync(s) => format!("path={}", rel(&s.path)),
            Response::Multi(m) => {
                let mut out = String::from("results=[");
                for r in &m.results {
                    let one = match r {
                        OpResult::Create { path } => format!("create {}", rel(path)),
                        OpResult::Create2 { path, stat } => {
                            format!("create2 {} {}", rel(path), self.stat(stat))
                        }
                        OpResult::Delete => "delete".to_owned(),
                        OpResult::SetData { stat } => format!("setData {}", self.stat(stat)),
                        OpResult::Check => "check".to_owned(),
                        OpResult::GetChildren { children } => format!("children {}", set(children)),
                        OpResult::GetData { data: d, stat } => {
                            format!("getData {} {}", data(d), self.stat(stat))
                        }
                        OpResult::Error { err } => format!("error {err}"),
                    };
                    let _ = write!(out, "{one}; ");
                }
                out.push(']');
                out
            }
            Response::GetEphemerals(e) => format!("ephemerals={}", set(&e.ephemerals)),
            Response::GetAllChildrenNumber(n) => format!("count={}", n.total_number),
            Response::AddWatch(e) => format!("err={}", e.err),
            other => format!("{other:?}"),
        }
    }

    fn reply(&mut self, root: &str, r: &Reply) -> Vec<String> {
        let mut lines: Vec<String> = r
            .events
            .iter()
            .map(|e| {
                let p = e.path.strip_prefix(root).unwrap_or(&e.path);
                format!("event type={} state={} path={p}", e.kind, e.state)
            })
            .collect();
        let zxid = self.zxid(r.header.zxid);
        let body = self.body(root, &r.body);
        lines.push(format!("reply err={} zxid={zxid} {body}", r.header.err));
        lines
    }
}

// ------------------------------------------------------------------ runs

/// Watches a session holds, as a client library tracks them.
#[derive(Default, Clone)]
struct Watches {
    data: BTreeSet<String>,
    exist: BTreeSet<String>,
    child: BTreeSet<String>,
    persistent: BTreeSet<String>,
    recursive: BTreeSet<String>,
}

impl Watches {
    /// Keeps one watch mode per path in a session. ZooKeeper before
    /// ZOOKEEPER-4466 (3.9.0; the Debian reference is 3.8.0) keeps a
    /// single mode per session and path, so a one-shot watch set where a
    /// persistent one is (or the other persistent mode) replaces it;
    /// Corral keeps both, as ZooKeeper does since. The request is sent
    /// without its watch (an `addWatch`, as a plain `exists`) instead.
    fn avoid_mixed_modes(&self, req: &mut Request) {
        let persistent = |p: &str| self.persistent.contains(p) || self.recursive.contains(p);
        match req {
            Request::GetData(r) if persistent(&r.path) => r.watch = false,
            Request::Exists(r) if persistent(&r.path) => r.watch = false,
            Request::GetChildren2(r) if persistent(&r.path) => r.watch = false,
            Request::GetChildren(r) if persistent(&r.path) => r.watch = false,
            // Checking or removing the children or data type where a
            // persistent watch is: before ZOOKEEPER-4471 (3.9) ZooKeeper
            // counted (and removed part of) the persistent watch; since,
            // as Corral, it does not. Type "any" means the same in both.
            Request::RemoveWatches(r) if persistent(&r.path) => r.kind = 3,
            Request::CheckWatches(r) if persistent(&r.path) => r.kind = 3,
            Request::AddWatch(r) => {
                let other = if r.mode == 1 {
                    &self.persistent
                } else {
                    &self.recursive
                };
                let standard = self.data.contains(&r.path)
                    || self.exist.contains(&r.path)
                    || self.child.contains(&r.path);
                if other.contains(&r.path) || standard {
                    *req = Request::Exists(ExistsRequest {
                        path: r.path.clone(),
                        watch: false,
                    });
                }
            }
            _ => {}
        }
    }

    /// Whether any watch of this session is on `path`.
    fn any_on(&self, path: &str) -> bool {
        [
            &self.data,
            &self.exist,
            &self.child,
            &self.persistent,
            &self.recursive,
        ]
        .iter()
        .any(|w| w.contains(path))
    }

    fn fired(&mut self, e: &WatcherEvent) {
        // NodeCreated, NodeDeleted, NodeDataChanged end data and exist
        // watches; NodeDeleted and NodeChildrenChanged end child watches.
        if (1..=3).contains(&e.kind) {
            self.data.remove(&e.path);
            self.exist.remove(&e.path);
        }
        if e.kind == 2 || e.kind == 4 {
            self.child.remove(&e.path);
        }
    }
}

/// One session slot on both servers.
struct Slot {
    zk: Conn,
    co: Conn,
    watches: Watches,
}

/// A test-only change to Corral's replies, to prove that a divergence is
/// caught and shrunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Corral's replies as they are.
    None,
    /// Adds one to the `version` of every successful `setData` reply.
    SetDataVersion,
}

/// The first difference of a run.
#[derive(Debug, Clone)]
pub struct Difference {
    /// The index of the op that showed it.
    pub step: usize,
    /// The session whose transcript differs.
    pub session: usize,
    /// ZooKeeper's transcript for that step and session.
    pub zookeeper: Vec<String>,
    /// Corral's.
    pub corral: Vec<String>,
}

/// How a run ended.
#[derive(Debug)]
pub enum Outcome {
    /// Every step alike; ops run, by kind.
    Same(BTreeMap<&'static str, usize>),
    /// A difference.
    Differs(Difference),
}

/// The two servers under test.
#[derive(Debug, Clone, Copy)]
pub struct Servers {
    /// The reference ZooKeeper.
    pub zookeeper: SocketAddr,
    /// Corral.
    pub corral: SocketAddr,
}

struct Run {
    servers: Servers,
    root: String,
    slots: Vec<Slot>,
    zk_norm: Norm,
    co_norm: Norm,
    seq_paths: Vec<String>,
    tamper: Tamper,
    generations: usize,
}

fn acl_list(choice: AclChoice) -> Vec<Acl> {
    let read_world = Acl {
        perms: 1,
        id: Id::new("world", "anyone"),
    };
    let all_but = |i: usize| 31 & !PERMS[i % PERMS.len()];
    let digest = |u: usize| Acl {
        perms: 31,
        id: Id::new("digest", DIGESTS[u % 2].1),
    };
    let auth = Acl {
        perms: 31,
        id: Id::new("auth", ""),
    };
    match choice {
        AclChoice::Open => vec![Acl::open()],
        AclChoice::WorldWithout(i) => vec![Acl {
            perms: all_but(i),
            id: Id::new("world", "anyone"),
        }],
        AclChoice::Digest(u) => vec![read_world, digest(u)],
        AclChoice::DigestOnly(u) => vec![digest(u)],
        AclChoice::IpLocal(i) => vec![Acl {
            perms: all_but(i),
            id: Id::new("ip", "127.0.0.1"),
        }],
        AclChoice::IpOther => vec![Acl {
            perms: 31,
            id: Id::new("ip", "10.0.0.0/8"),
        }],
        AclChoice::Creator => vec![read_world, auth],
        AclChoice::CreatorOnly => vec![auth],
        AclChoice::Empty => Vec::new(),
        AclChoice::BadScheme => vec![Acl {
            perms: 31,
            id: Id::new("nosuchscheme", "x"),
        }],
    }
}

fn bytes(d: Option<&'static str>) -> Option<Bytes> {
    d.map(|s| Bytes::from_static(s.as_bytes()))
}

impl Run {
    fn path(&self, t: Target) -> String {
        match t {
            Target::Fixed(i) => format!("{}{}", self.root, PATHS[i % PATHS.len()]),
            Target::Seq(_) if self.seq_paths.is_empty() => self.root.clone(),
            Target::Seq(n) => self.seq_paths[n % self.seq_paths.len()].clone(),
        }
    }

    /// The request for `op` (None for close and reconnect).
    fn request(&self, op: &Op) -> Option<Request> {
        let p = |t: Target| self.path(t);
        Some(match op {
            Op::Create {
                path,
                kind,
                flags,
                data,
                acl,
                ..
            } => {
                let mut path = p(*path);
                if flags & 2 != 0 {
                    path.push_str("/s-");
                }
                let req = CreateRequest {
                    path: path.clone(),
                    data: bytes(*data),
                    acl: acl_list(*acl),
                    flags: *flags,
                };
                match kind {
                    CreateKind::Create => Request::Create(req),
                    CreateKind::Create2 => Request::Create2(req),
                    CreateKind::Container => Request::CreateContainer(req),
                    CreateKind::Ttl => Request::CreateTtl(CreateTtlRequest {
                        path,
                        data: bytes(*data),
                        acl: acl_list(*acl),
                        flags: *flags,
                        ttl: 3_600_000,
                    }),
                }
            }
            Op::Delete { path, version, .. } => Request::Delete(DeleteRequest {
                path: p(*path),
                version: *version,
            }),
            Op::SetData {
                path,
                data,
                version,
                ..
            } => Request::SetData(SetDataRequest {
                path: p(*path),
                data: bytes(*data),
                version: *version,
            }),
            Op::GetData { path, watch, .. } => Request::GetData(GetDataRequest {
                path: p(*path),
                watch: *watch,
            }),
            Op::Exists { path, watch, .. } => Request::Exists(ExistsRequest {
                path: p(*path),
                watch: *watch,
            }),
            Op::GetChildren { path, watch, .. } => Request::GetChildren2(GetChildren2Request {
                path: p(*path),
                watch: *watch,
            }),
            Op::GetChildrenV1 { path, watch, .. } => {
                Request::GetChildren(jute::proto::GetChildrenRequest {
                    path: p(*path),
                    watch: *watch,
                })
            }
            Op::MultiRead { ops, .. } => Request::MultiRead(MultiRequest {
                ops: ops
                    .iter()
                    .map(|(t, data)| {
                        if *data {
                            jute::proto::Op::GetData(GetDataRequest {
                                path: p(*t),
                                watch: false,
                            })
                        } else {
                            jute::proto::Op::GetChildren(jute::proto::GetChildrenRequest {
                                path: p(*t),
                                watch: false,
                            })
                        }
                    })
                    .collect(),
            }),
            Op::RemoveWatches {
                path, kind, check, ..
            } => {
                if *check {
                    Request::CheckWatches(jute::proto::CheckWatchesRequest {
                        path: p(*path),
                        kind: *kind,
                    })
                } else {
                    Request::RemoveWatches(jute::proto::RemoveWatchesRequest {
                        path: p(*path),
                        kind: *kind,
                    })
                }
            }
            Op::WhoAmI { .. } => Request::WhoAmI,
            Op::GetAcl { path, .. } => Request::GetAcl(GetAclRequest { path: p(*path) }),
            Op::SetAcl {
                path, acl, version, ..
            } => Request::SetAcl(SetAclRequest {
                path: p(*path),
                acl: acl_list(*acl),
                version: *version,
            }),
            Op::Multi { ops, .. } => Request::Multi(MultiRequest {
                ops: ops
                    .iter()
                    .map(|m| match m {
                        MultiOp::Create(t, seq, acl) => {
                            let mut path = p(*t);
                            if *seq {
                                path.push_str("/m-");
                            }
                            jute::proto::Op::Create(CreateRequest {
                                path,
                                data: bytes(Some("m")),
                                acl: acl_list(*acl),
                                flags: if *seq { 2 } else { 0 },
                            })
                        }
                        MultiOp::Delete(t, v) => jute::proto::Op::Delete(DeleteRequest {
                            path: p(*t),
                            version: *v,
                        }),
                        MultiOp::SetData(t, v) => jute::proto::Op::SetData(SetDataRequest {
                            path: p(*t),
                            data: bytes(Some("multi")),
                            version: *v,
                        }),
                        MultiOp::Check(t, v) => jute::proto::Op::Check(CheckVersionRequest {
                            path: p(*t),
                            version: *v,
                        }),
                    })
                    .collect(),
            }),
            Op::Sync { path, .. } => Request::Sync(SyncRequest { path: p(*path) }),
            Op::AddAuth { user, .. } => Request::Auth(AuthPacket {
                kind: 0,
                scheme: "digest".into(),
                auth: Bytes::from(format!("{}:pw", DIGESTS[user % DIGESTS.len()].0)),
            }),
            Op::AddWatch {
                path, recursive, ..
            } => Request::AddWatch(AddWatchRequest {
                path: p(*path),
                mode: i32::from(*recursive),
            }),
            Op::CountChildren { path, .. } => {
                Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path: p(*path) })
            }
            Op::Ephemerals { path, .. } => Request::GetEphemerals(GetEphemeralsRequest {
                prefix_path: p(*path),
            }),
            Op::Close { .. } | Op::Reconnect { .. } | Op::Expire { .. } => return None,
        })
    }

    async fn open_slot(&mut self, i: usize) -> Result<Slot, String> {
        let (zk, zt) = Conn::open(self.servers.zookeeper, None).await?;
        let (co, ct) = Conn::open(self.servers.corral, None).await?;
        if zt != ct {
            return Err(format!(
                "negotiated timeouts differ: ZooKeeper {zt}, Corral {ct}"
            ));
        }
        self.generations += 1;
        let label = format!("session{i}.{}", self.generations);
        self.zk_norm.sessions.insert(zk.id, label.clone());
        self.co_norm.sessions.insert(co.id, label);
        Ok(Slot {
            zk,
            co,
            watches: Watches::default(),
        })
    }

    async fn start(servers: Servers, root: String, tamper: Tamper) -> Result<Run, String> {
        let mut run = Run {
            servers,
            root,
            slots: Vec::new(),
            zk_norm: Norm::default(),
            co_norm: Norm::default(),
            seq_paths: Vec::new(),
            tamper,
            generations: 0,
        };
        for i in 0..SESSIONS {
            let slot = run.open_slot(i).await?;
            run.slots.push(slot);
        }
        // The root, on both.
        let req = Request::Create(CreateRequest {
            path: run.root.clone(),
            data: None,
            acl: vec![Acl::open()],
            flags: 0,
        });
        let slot = &mut run.slots[0];
        let (z, c) = tokio::join!(slot.zk.call(req.clone()), slot.co.call(req));
        let (z, c) = (z?, c?);
        if z.header.err != 0 || c.header.err != 0 {
            return Err(format!(
                "creating the root {}: ZooKeeper {}, Corral {}",
                run.root, z.header.err, c.header.err
            ));
        }
        Ok(run)
    }

    fn tamper(&self, r: &mut Reply) {
        if self.tamper == Tamper::SetDataVersion
            && r.header.err == 0
            && let Response::SetData(s) = &mut r.body
        {
            s.stat.version += 1;
        }
    }

    /// Runs `op`; returns each session's transcript on each server.
    async fn step(&mut self, op: &Op) -> Result<Vec<(Vec<String>, Vec<String>)>, String> {
        let s = op.session() % SESSIONS;
        let mut out: Vec<(Vec<String>, Vec<String>)> = vec![(Vec::new(), Vec::new()); SESSIONS];
        let root = self.root.clone();
        match op {
            Op::Close { .. } => {
                let slot = &mut self.slots[s];
                let (z, c) = tokio::join!(
                    slot.zk.call(Request::CloseSession),
                    slot.co.call(Request::CloseSession)
                );
                let (z, c) = (z?, c?);
                out[s].0.extend(self.zk_norm.reply(&root, &z));
                out[s].1.extend(self.co_norm.reply(&root, &c));
                let fresh = self.open_slot(s).await?;
                self.slots[s] = fresh;
            }
            Op::Expire { .. } => {
                let (zk_resume, co_resume) = {
                    let slot = &self.slots[s];
                    (
                        (slot.zk.id, slot.zk.passwd.clone(), slot.zk.last_zxid),
                        (slot.co.id, slot.co.passwd.clone(), slot.co.last_zxid),
                    )
                };
                // The connections go; the other sessions ping meanwhile.
                let fresh = self.open_slot(s).await?;
                drop(std::mem::replace(&mut self.slots[s], fresh));
                let until = tokio::time::Instant::now()
                    + Duration::from_millis(
                        u64::try_from(SESSION_TIMEOUT_MS).unwrap_or(2000) + 5 * TICK_MS,
                    );
                while tokio::time::Instant::now() < until {
                    for slot in &mut self.slots {
                        let (z, c) = tokio::join!(slot.zk.ping(), slot.co.ping());
                        z?;
                        c?;
                    }
                    tokio::time::sleep(Duration::from_millis(TICK_MS)).await;
                }
                // A resume of the expired session is refused alike.
                let expired_id = zk_resume.0;
                let (z, c) = tokio::join!(
                    Conn::open(self.servers.zookeeper, Some(zk_resume)),
                    Conn::open(self.servers.corral, Some(co_resume))
                );
                if let Ok((_, t)) = &z
                    && *t > 0
                {
                    return Err(format!(
                        "the reference did not expire session 0x{expired_id:x} in time"
                    ));
                }
                let render = |r: Result<(Conn, i32), String>| match r {
                    Ok((_, t)) => format!("resume after expiry: timeout={t}"),
                    Err(_) => "resume after expiry: closed".to_owned(),
                };
                out[s].0.push(render(z));
                out[s].1.push(render(c));
            }
            Op::Reconnect { .. } => {
                let (zk_resume, co_resume, watches) = {
                    let slot = &self.slots[s];
                    (
                        (slot.zk.id, slot.zk.passwd.clone(), slot.zk.last_zxid),
                        (slot.co.id, slot.co.passwd.clone(), slot.co.last_zxid),
                        slot.watches.clone(),
                    )
                };
                let (z, c) = tokio::join!(
                    Conn::open(self.servers.zookeeper, Some(zk_resume.clone())),
                    Conn::open(self.servers.corral, Some(co_resume.clone()))
                );
                let ((mut zk, zt), (mut co, ct)) = (z?, c?);
                out[s].0.push(format!(
                    "resumed timeout={zt} same_id={}",
                    zk.id == zk_resume.0
                ));
                out[s].1.push(format!(
                    "resumed timeout={ct} same_id={}",
                    co.id == co_resume.0
                ));
                let all = [
                    &watches.data,
                    &watches.exist,
                    &watches.child,
                    &watches.persistent,
                    &watches.recursive,
                ];
                if all.iter().any(|w| !w.is_empty()) {
                    let v = |w: &BTreeSet<String>| w.iter().cloned().collect::<Vec<_>>();
                    // Without persistent watches, every other reconnect
                    // sends the older `setWatches` (as 3.5 clients do).
                    let v1 = watches.persistent.is_empty()
                        && watches.recursive.is_empty()
                        && (watches.data.len() + watches.child.len()) % 2 == 0;
                    let sw = |rel: i64| {
                        if v1 {
                            return Request::SetWatches(jute::proto::SetWatches {
                                relative_zxid: rel,
                                data_watches: v(&watches.data),
                                exist_watches: v(&watches.exist),
                                child_watches: v(&watches.child),
                            });
                        }
                        Request::SetWatches2(SetWatches2 {
                            relative_zxid: rel,
                            data_watches: v(&watches.data),
                            exist_watches: v(&watches.exist),
                            child_watches: v(&watches.child),
                            persistent_watches: v(&watches.persistent),
                            persistent_recursive_watches: v(&watches.recursive),
                        })
                    };
                    let (z, c) = tokio::join!(
                        zk.call_xid(jute::xid::SET_WATCHES, sw(zk_resume.2)),
                        co.call_xid(jute::xid::SET_WATCHES, sw(co_resume.2))
                    );
                    let (z, c) = (z?, c?);
                    out[s].0.extend(self.zk_norm.reply(&root, &z));
                    out[s].1.extend(self.co_norm.reply(&root, &c));
                }
                let slot = &mut self.slots[s];
                slot.zk = zk;
                slot.co = co;
            }
            _ => {
                let Some(mut req) = self.request(op) else {
                    return Ok(out);
                };
                self.slots[s].watches.avoid_mixed_modes(&mut req);
                // ZooKeeper 3.8.0's checkWatches answers yes when any
                // session watches the path (its containsWatcher ignores
                // the watcher; fixed by ZOOKEEPER-4466 in 3.9). Only asked
                // where no other session watches.
                if let Request::CheckWatches(r) = &req
                    && self
                        .slots
                        .iter()
                        .enumerate()
                        .any(|(i, o)| i != s && o.watches.any_on(&r.path))
                {
                    req = Request::Exists(ExistsRequest {
                        path: r.path.clone(),
                        watch: false,
                    });
                }
                let slot = &mut self.slots[s];
                let (z, c) = tokio::join!(slot.zk.call(req.clone()), slot.co.call(req.clone()));
                let (z, mut c) = (z?, c?);
                self.tamper(&mut c);
                self.track(s, &req, &z);
                out[s].0.extend(self.zk_norm.reply(&root, &z));
                out[s].1.extend(self.co_norm.reply(&root, &c));
            }
        }
        // The barrier: every session's events from this step.
        for (i, pair) in out.iter_mut().enumerate() {
            let barrier = Request::Exists(ExistsRequest {
                path: "/".into(),
                watch: false,
            });
            let slot = &mut self.slots[i];
            let (z, c) = tokio::join!(slot.zk.call(barrier.clone()), slot.co.call(barrier));
            let (z, c) = (z?, c?);
            for e in &z.events {
                slot.watches.fired(e);
            }
            pair.0.extend(self.zk_norm.reply(&root, &z));
            pair.1.extend(self.co_norm.reply(&root, &c));
        }
        Ok(out)
    }

    /// Keeps the run's bookkeeping (sequential names, watches held) from
    /// ZooKeeper's reply.
    fn track(&mut self, s: usize, req: &Request, z: &Reply) {
        let slot = &mut self.slots[s];
        for e in &z.events {
            slot.watches.fired(e);
        }
        let ok = z.header.err == 0;
        match (req, &z.body) {
            (Request::Create(_) | Request::Create2(_) | Request::CreateTtl(_), _) if ok => {
                let path = match &z.body {
                    Response::Create(c) => Some(c.path.clone()),
                    Response::Create2(c) => Some(c.path.clone()),
                    _ => None,
                };
                if let Some(p) = path
                    && p.rsplit('/').next().is_some_and(|n| n.contains('-'))
                {
                    self.seq_paths.push(p);
                }
            }
            (Request::Multi(_), Response::Multi(m)) => {
                for r in &m.results {
                    if let OpResult::Create { path } | OpResult::Create2 { path, .. } = r
                        && path.rsplit('/').next().is_some_and(|n| n.contains('-'))
                    {
                        self.seq_paths.push(path.clone());
                    }
                }
            }
            (Request::GetData(g), _) if g.watch && ok => {
                slot.watches.data.insert(g.path.clone());
            }
            (Request::Exists(g), _) if g.watch => {
                if ok {
                    slot.watches.data.insert(g.path.clone());
                } else if z.header.err == -101 {
                    slot.watches.exist.insert(g.path.clone());
                }
            }
            (Request::GetChildren2(g), _) if g.watch && ok => {
                slot.watches.child.insert(g.path.clone());
            }
            (Request::GetChildren(g), _) if g.watch && ok => {
                slot.watches.child.insert(g.path.clone());
            }
            (Request::RemoveWatches(r), _) if ok => {
                if r.kind != 2 {
                    slot.watches.child.remove(&r.path);
                }
                if r.kind != 1 {
                    slot.watches.data.remove(&r.path);
                    slot.watches.exist.remove(&r.path);
                }
                if r.kind == 3 {
                    slot.watches.persistent.remove(&r.path);
                    slot.watches.recursive.remove(&r.path);
                }
            }
            (Request::AddWatch(a), _) if ok => {
                if a.mode == 1 {
                    slot.watches.recursive.insert(a.path.clone());
                } else {
                    slot.watches.persistent.insert(a.path.clone());
                }
            }
            _ => {}
        }
    }

    async fn finish(mut self) {
        for slot in &mut self.slots {
            let _ = tokio::join!(
                slot.zk.call(Request::CloseSession),
                slot.co.call(Request::CloseSession)
            );
        }
    }
}

/// Sorts each run of consecutive events. A closed session's ephemerals go
/// in one transaction, and the order of their `NodeDeleted` events is not
/// specified: ZooKeeper's is its `HashSet`'s, Corral's the paths' order.
fn sort_event_blocks(lines: &mut [String]) {
    let mut start = 0;
    while start < lines.len() {
        let mut end = start;
        while end < lines.len() && lines[end].starts_with("event ") {
            end += 1;
        }
        lines[start..end].sort();
        start = end + 1;
    }
}

static ATTEMPTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Runs `ops` in lock-step on both servers under a fresh root.
///
/// # Errors
/// A failure that is not a difference (a server unreachable, a timeout).
pub async fn run(servers: Servers, ops: &[Op], tamper: Tamper) -> Result<Outcome, String> {
    let attempt = ATTEMPTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let root = format!("/diff-{}-{attempt}", std::process::id());
    let mut run = Run::start(servers, root, tamper).await?;
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (step, op) in ops.iter().enumerate() {
        let mut transcripts = run.step(op).await?;
        *counts.entry(op.kind()).or_default() += 1;
        if matches!(op, Op::Close { .. } | Op::Expire { .. }) {
            for (z, c) in &mut transcripts {
                sort_event_blocks(z);
                sort_event_blocks(c);
            }
        }
        for (session, (z, c)) in transcripts.into_iter().enumerate() {
            if z != c {
                run.finish().await;
                return Ok(Outcome::Differs(Difference {
                    step,
                    session,
                    zookeeper: z,
                    corral: c,
                }));
            }
        }
    }
    run.finish().await;
    Ok(Outcome::Same(counts))
}

/// Shrinks `ops` (which show a difference) to a shorter sequence that
/// still does, replaying at most `budget` candidates. Returns the sequence
/// and its difference.
///
/// # Errors
/// A replay that fails for another reason.
pub async fn shrink(
    servers: Servers,
    mut ops: Vec<Op>,
    tamper: Tamper,
    budget: usize,
) -> Result<(Vec<Op>, Difference), String> {
    let mut diff = match run(servers, &ops, tamper).await? {
        Outcome::Differs(d) => d,
        Outcome::Same(_) => return Err("the sequence shows no difference".into()),
    };
    ops.truncate(diff.step + 1);
    let mut tries = 0;
    let mut chunk = ops.len().div_ceil(2).max(1);
    loop {
        let mut progress = false;
        let mut start = 0;
        while start < ops.len() && tries < budget {
            let end = (start + chunk).min(ops.len());
            let mut candidate = ops.clone();
            candidate.drain(start..end);
            tries += 1;
            if !candidate.is_empty()
                && let Outcome::Differs(d) = run(servers, &candidate, tamper).await?
            {
                candidate.truncate(d.step + 1);
                ops = candidate;
                diff = d;
                progress = true;
            } else {
                start = end;
            }
        }
        if tries >= budget || (chunk == 1 && !progress) {
            break;
        }
        if !progress {
            chunk = chunk.div_ceil(2).max(1);
        }
    }
    Ok((ops, diff))
}

/// A difference and its shrunk sequence, for people.
pub fn report(seed: u64, ops: &[Op], d: &Difference) -> String {
    let mut out = format!(
        "DIFFERENCE (seed {seed}): {} op(s) show it; session {} differs at op {}\n",
        ops.len(),
        d.session,
        d.step
    );
    for (i, op) in ops.iter().enumerate() {
        let _ = writeln!(out, "  {i:3}: {op:?}");
    }
    let _ = writeln!(out, "ZooKeeper:");
    for l in &d.zookeeper {
        let _ = writeln!(out, "  {l}");
    }
    let _ = writeln!(out, "Corral:");
    for l in &d.corral {
        let _ = writeln!(out, "  {l}");
    }
    out
}
