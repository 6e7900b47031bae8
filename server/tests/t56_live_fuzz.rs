//! Fuzzing the live server: whole client sessions, mutated, into a running
//! Corral, while a well-behaved client works beside them.
//!
//! The seeds are real sessions: every client-to-server stream of the golden
//! vectors (`jute/tests/golden`: the Java client, zkCli, kazoo, the C
//! client, hand-made edge cases, each recorded against ZooKeeper 3.8), and
//! the kept corpus `server/tests/fuzz-corpus/` (sessions this fuzzer found
//! to reach new replies, in the same format). proptest draws each case: up
//! to four sessions at once, each a seed with a list of structural
//! mutations (bytes flipped, integers and lengths set to edge values,
//! frames truncated, dropped, doubled, swapped or spliced in from another
//! session, opcodes, xids and paths replaced, generated requests and noise
//! inserted, the stream cut), delivered in random chunks, read or not,
//! half-closed or dropped.
//!
//! What must hold:
//! - no panic anywhere in the server (a hook counts them);
//! - every reply is a well-formed frame with one of ZooKeeper's error
//!   codes, and a session's reply zxids never go back;
//! - the well-behaved client never sees an error and never waits long;
//! - afterwards the tree is sound (child counts, data lengths, zxids),
//!   holds no ephemeral of an ended session, and reads back the same after
//!   a restart of the server: nothing was corrupted and nothing
//!   acknowledged was lost.
//!
//! `CORRAL_FUZZ_CASES` (default 120) and `CORRAL_FUZZ_SEED` (default fixed,
//! so the test command is repeatable) set the run; `CORRAL_FUZZ_KEEP=1`
//! writes each case that reached a reply no earlier case had into the
//! corpus. A failing case is written, shrunk, to
//! `target/live-fuzz/failure.txt`, ready to keep. See `docs/fuzzing.md`.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use common::*;
use jute::proto::*;
use jute::{Acl, ErrorCode, Request, Response};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `super:test`, for the walk of the whole tree whatever ACLs the fuzzed
/// sessions set.
const SUPER_DIGEST: &str = "super:D/InIHSb7yEEbrWz8b9l71RjZJU=";

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// One session of the corpus: its client frames, bodies without the length
/// prefix.
#[derive(Clone, Debug)]
struct Seed {
    name: String,
    frames: Vec<Vec<u8>>,
}

/// Reads a session file in the golden format: `> HEX` lines are the
/// client's frames (length prefix included), everything else is ignored.
fn read_session(path: &Path) -> Seed {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut frames = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(rest) = line.trim().strip_prefix('>') else {
            continue;
        };
        let hex = rest.trim().split(' ').next().unwrap_or("");
        let bytes =
            hex::decode(hex).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1));
        // The recorded prefix is kept only where it told the truth: a lie
        // is a mutation the fuzzer makes itself.
        frames.push(bytes.get(4..).unwrap_or_default().to_vec());
    }
    Seed {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        frames,
    }
}

fn sessions_in(dir: &Path) -> Vec<Seed> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
        .iter()
        .map(|p| read_session(p))
        .filter(|s| !s.frames.is_empty())
        .collect()
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus")
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../jute/tests/golden")
}

/// A change to a session's frames. Indices are taken modulo what exists.
#[derive(Clone, Debug)]
enum Mutation {
    Flip {
        frame: usize,
        at: usize,
        xor: u8,
    },
    SetInt {
        frame: usize,
        at: usize,
        value: i32,
    },
    SetLong {
        frame: usize,
        at: usize,
        value: i64,
    },
    Truncate {
        frame: usize,
        keep: usize,
    },
    LengthLie {
        frame: usize,
        len: u32,
    },
    Duplicate {
        frame: usize,
    },
    Drop {
        frame: usize,
    },
    Swap {
        a: usize,
        b: usize,
    },
    Splice {
        seed: usize,
        frame: usize,
        at: usize,
    },
    Opcode {
        frame: usize,
        op: i32,
    },
    Xid {
        frame: usize,
        xid: i32,
    },
    Path {
        frame: usize,
        path: Vec<u8>,
    },
    Generated {
        at: usize,
        xid: i32,
        op: i32,
        body: Vec<u8>,
    },
    Noise {
        at: usize,
        body: Vec<u8>,
    },
}

/// How a session is put on the wire.
#[derive(Clone, Debug)]
struct Delivery {
    /// Bytes per write; 0 writes the whole stream at once.
    chunk: usize,
    /// Whether the replies are read at all (a client that never reads).
    read: bool,
    /// Half-close after the last byte (else keep the socket open until
    /// the end of the session, then drop it).
    eof: bool,
    /// Cut the stream after this fraction (in 1/256) of its bytes; 256
    /// sends everything.
    cut: u16,
}

#[derive(Clone, Debug)]
struct Plan {
    seed: usize,
    mutations: Vec<Mutation>,
    delivery: Delivery,
}

fn edge_int() -> impl Strategy<Value = i32> {
    prop_oneof![
        Just(0),
        Just(-1),
        Just(1),
        Just(i32::MAX),
        Just(i32::MIN),
        Just(0x000f_ffff),
        Just(0x0010_0000),
        Just(0x7fff_fff0),
        Just(-2),
        Just(-4),
        Just(-8),
        any::<i32>(),
    ]
}

fn edge_path() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"".to_vec()),
        Just(b"/".to_vec()),
        Just(b"//".to_vec()),
        Just(b"/a/".to_vec()),
        Just(b"/a//b".to_vec()),
        Just(b"/.".to_vec()),
        Just(b"/a/..".to_vec()),
        Just(b"relative".to_vec()),
        Just(b"/zookeeper".to_vec()),
        Just(b"/zookeeper/quota".to_vec()),
        Just(b"/zookeeper/config".to_vec()),
        Just(b"/a\0b".to_vec()),
        Just(b"/\x01".to_vec()),
        Just(vec![b'/', 0xff, 0xfe]),
        Just(b"/\xef\xbf\xbf".to_vec()),
        Just([b"/".as_slice(), &[b'x'; 4096]].concat()),
        "(/[a-c]{1,2}){1,3}".prop_map(String::into_bytes),
    ]
}

/// A well-formed request of a random kind, or one whose body belongs to
/// another kind: (opcode, body).
fn generated_request() -> impl Strategy<Value = (i32, Vec<u8>)> {
    fn enc<T: jute::Encode>(op: i32, t: T) -> (i32, Vec<u8>) {
        let mut b = BytesMut::new();
        t.encode(&mut b);
        (op, b.to_vec())
    }
    let op = prop_oneof![
        (1..=22i32).boxed(),
        Just(100).boxed(),
        Just(101).boxed(),
        Just(102).boxed(),
        Just(103).boxed(),
        Just(104).boxed(),
        Just(105).boxed(),
        Just(106).boxed(),
        Just(-11).boxed(),
        Just(-10).boxed(),
        any::<i32>().boxed(),
    ];
    prop_oneof![
        (op.clone(), any::<CreateRequest>()).prop_map(|(op, r)| enc(op, r)),
        (op.clone(), any::<SetDataRequest>()).prop_map(|(op, r)| enc(op, r)),
        (op.clone(), any::<GetDataRequest>()).prop_map(|(op, r)| enc(op, r)),
        (op.clone(), any::<DeleteRequest>()).prop_map(|(op, r)| enc(op, r)),
        (op.clone(), any::<MultiRequest>()).prop_map(|(op, r)| enc(op, r)),
        (op.clone(), any::<SetAclRequest>()).prop_map(|(op, r)| enc(op, r)),
        (op.clone(), any::<CreateTtlRequest>()).prop_map(|(op, r)| enc(op, r)),
        (op.clone(), any::<AddWatchRequest>()).prop_map(|(op, r)| enc(op, r)),
        (op.clone(), any::<SetWatches2>()).prop_map(|(op, r)| enc(op, r)),
        (op.clone(), any::<RemoveWatchesRequest>()).prop_map(|(op, r)| enc(op, r)),
        (op.clone(), any::<ReconfigRequest>()).prop_map(|(op, r)| enc(op, r)),
        (op, any::<AuthPacket>()).prop_map(|(op, r)| enc(op, r)),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let ix = || 0..4096usize;
    prop_oneof![
        4 => (ix(), ix(), 1..=255u8).prop_map(|(frame, at, xor)| Mutation::Flip { frame, at, xor }),
        3 => (ix(), ix(), edge_int()).prop_map(|(frame, at, value)| Mutation::SetInt { frame, at, value }),
        1 => (ix(), ix(), prop_oneof![Just(0i64), Just(-1), Just(i64::MAX), Just(i64::MIN), any::<i64>()])
            .prop_map(|(frame, at, value)| Mutation::SetLong { frame, at, value }),
        2 => (ix(), ix()).prop_map(|(frame, keep)| Mutation::Truncate { frame, keep }),
        2 => (ix(), prop_oneof![
                Just(0u32), Just(1), Just(3), Just(4), Just(0xfffff), Just(0x100000),
                Just(0x100400), Just(0x100401), Just(0x7fff_ffff), Just(0x8000_0000), Just(u32::MAX),
                0..64u32,
            ]).prop_map(|(frame, len)| Mutation::LengthLie { frame, len }),
        1 => ix().prop_map(|frame| Mutation::Duplicate { frame }),
        1 => ix().prop_map(|frame| Mutation::Drop { frame }),
        1 => (ix(), ix()).prop_map(|(a, b)| Mutation::Swap { a, b }),
        2 => (ix(), ix(), ix()).prop_map(|(seed, frame, at)| Mutation::Splice { seed, frame, at }),
        2 => (ix(), prop_oneof![(-12..=25i32), (99..=107i32), any::<i32>()])
            .prop_map(|(frame, op)| Mutation::Opcode { frame, op }),
        1 => (ix(), edge_int()).prop_map(|(frame, xid)| Mutation::Xid { frame, xid }),
        3 => (ix(), edge_path()).prop_map(|(frame, path)| Mutation::Path { frame, path }),
        3 => (ix(), edge_int(), generated_request())
            .prop_map(|(at, xid, (op, body))| Mutation::Generated { at, xid, op, body }),
        1 => (ix(), proptest::collection::vec(any::<u8>(), 0..48))
            .prop_map(|(at, body)| Mutation::Noise { at, body }),
    ]
}

fn plan(seeds: usize) -> impl Strategy<Value = Plan> {
    let delivery = (
        prop_oneof![3 => Just(0usize), 1 => 1..8usize, 1 => 8..200usize],
        prop::bool::weighted(0.85),
        any::<bool>(),
        prop_oneof![6 => Just(256u16), 1 => 0..256u16],
    )
        .prop_map(|(chunk, read, eof, cut)| Delivery {
            chunk,
            read,
            eof,
            cut,
        });
    (
        0..seeds,
        proptest::collection::vec(mutation(), 0..6),
        delivery,
    )
        .prop_map(|(seed, mutations, delivery)| Plan {
            seed,
            mutations,
            delivery,
        })
}

/// A frame as it goes on the wire: its body, and the length it claims.
struct WireFrame {
    body: Vec<u8>,
    claimed: Option<u32>,
}

/// Finds the first jute string that looks like a path (a 4-byte length,
/// then that many bytes starting with `/`) and returns its offset.
fn find_path(body: &[u8]) -> Option<(usize, usize)> {
    (0..body.len().saturating_sub(4)).find_map(|at| {
        let len = i32::from_be_bytes(body[at..at + 4].try_into().ok()?);
        let len = usize::try_from(len).ok().filter(|l| *l > 0)?;
        let start = at + 4;
        (body.get(start) == Some(&b'/') && start + len <= body.len()).then_some((at, len))
    })
}

fn apply(seeds: &[Seed], plan: &Plan) -> Vec<WireFrame> {
    let mut frames: Vec<WireFrame> = seeds[plan.seed]
        .frames
        .iter()
        .map(|b| WireFrame {
            body: b.clone(),
            claimed: None,
        })
        .collect();
    for m in &plan.mutations {
        let n = frames.len();
        match m {
            Mutation::Flip { frame, at, xor } if n > 0 => {
                let b = &mut frames[frame % n].body;
                if !b.is_empty() {
                    let i = at % b.len();
                    b[i] ^= xor;
                }
            }
            Mutation::SetInt { frame, at, value } if n > 0 => {
                let b = &mut frames[frame % n].body;
                if b.len() >= 4 {
                    let i = at % (b.len() - 3);
                    b[i..i + 4].copy_from_slice(&value.to_be_bytes());
                }
            }
            Mutation::SetLong { frame, at, value } if n > 0 => {
                let b = &mut frames[frame % n].body;
                if b.len() >= 8 {
                    let i = at % (b.len() - 7);
                    b[i..i + 8].copy_from_slice(&value.to_be_bytes());
                }
            }
            Mutation::Truncate { frame, keep } if n > 0 => {
                let b = &mut frames[frame % n].body;
                let keep = keep % (b.len() + 1);
                b.truncate(keep);
            }
            Mutation::LengthLie { frame, len } if n > 0 => frames[frame % n].claimed = Some(*len),
            Mutation::Duplicate { frame } if n > 0 => {
                let f = &frames[frame % n];
                let copy = WireFrame {
                    body: f.body.clone(),
                    claimed: f.claimed,
                };
                frames.insert(frame % n, copy);
            }
            Mutation::Drop { frame } if n > 0 => {
                frames.remove(frame % n);
            }
            Mutation::Swap { a, b } if n > 0 => frames.swap(a % n, b % n),
            Mutation::Splice { seed, frame, at } => {
                let other = &seeds[seed % seeds.len()].frames;
                if !other.is_empty() {
                    let body = other[frame % other.len()].clone();
                    frames.insert(
                        at % (n + 1),
                        WireFrame {
                            body,
                            claimed: None,
                        },
                    );
                }
            }
            Mutation::Opcode { frame, op } if n > 0 => {
                let b = &mut frames[frame % n].body;
                if b.len() >= 8 {
                    b[4..8].copy_from_slice(&op.to_be_bytes());
                }
            }
            Mutation::Xid { frame, xid } if n > 0 => {
                let b = &mut frames[frame % n].body;
                if b.len() >= 4 {
                    b[0..4].copy_from_slice(&xid.to_be_bytes());
                }
            }
            Mutation::Path { frame, path } if n > 0 => {
                let b = &mut frames[frame % n].body;
                if let Some((at, len)) = find_path(b) {
                    let mut new = b[..at].to_vec();
                    new.extend_from_slice(&(path.len() as u32).to_be_bytes());
                    new.extend_from_slice(path);
                    new.extend_from_slice(&b[at + 4 + len..]);
                    *b = new;
                }
            }
            Mutation::Generated { at, xid, op, body } => {
                let mut b = Vec::with_capacity(8 + body.len());
                b.extend_from_slice(&xid.to_be_bytes());
                b.extend_from_slice(&op.to_be_bytes());
                b.extend_from_slice(body);
                frames.insert(
                    at % (n + 1),
                    WireFrame {
                        body: b,
                        claimed: None,
                    },
                );
            }
            Mutation::Noise { at, body } => frames.insert(
                at % (n + 1),
                WireFrame {
                    body: body.clone(),
                    claimed: None,
                },
            ),
            _ => {}
        }
    }
    frames
}

fn wire_bytes(frames: &[WireFrame]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        let len = f.claimed.unwrap_or(f.body.len() as u32);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&f.body);
    }
    out
}

/// What a session saw: the (opcode sent under the xid, error) of every
/// reply, and whether the server closed the connection.
#[derive(Default, Debug)]
struct Outcome {
    replies: BTreeSet<(i32, i32)>,
    closed_by_server: bool,
}

/// Checks the server's byte stream: frames within bounds, the handshake's
/// answer first, then reply headers with known error codes and zxids that
/// never go back. Returns the outcome or what was wrong.
fn check_replies(sent: &[WireFrame], bytes: &[u8]) -> Result<BTreeSet<(i32, i32)>, String> {
    // Every opcode sent under each xid (a mutated session reuses xids).
    let mut ops: HashMap<i32, Vec<i32>> = HashMap::new();
    for f in sent.iter().skip(1) {
        if f.body.len() >= 8 {
            let xid = i32::from_be_bytes([f.body[0], f.body[1], f.body[2], f.body[3]]);
            let op = i32::from_be_bytes([f.body[4], f.body[5], f.body[6], f.body[7]]);
            ops.entry(xid).or_default().push(op);
        }
    }
    let mut seen = BTreeSet::new();
    let mut rest = bytes;
    let mut first = true;
    let mut last_zxid = i64::MIN;
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len > 8 << 20 {
            return Err(format!("a reply frame of {len} bytes"));
        }
        if rest.len() < 4 + len {
            // A partial last frame: the connection was dropped by us or
            // closed mid-write by the server; nothing to judge.
            break;
        }
        let body = &rest[4..4 + len];
        rest = &rest[4 + len..];
        if first {
            first = false;
            // ConnectResponse: protocolVersion, timeOut, sessionId, passwd.
            if body.len() < 20 {
                return Err(format!("a handshake answer of {len} bytes"));
            }
            continue;
        }
        if body.len() < 16 {
            return Err(format!("a reply of {len} bytes, shorter than its header"));
        }
        let xid = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
        let zxid = i64::from_be_bytes(body[4..12].try_into().map_err(|_| "header")?);
        let err = i32::from_be_bytes([body[12], body[13], body[14], body[15]]);
        if ErrorCode::try_from(err).is_err() {
            return Err(format!("xid {xid}: unknown error code {err}"));
        }
        // Replies to requests: not notifications, nor the answers to
        // `auth` (zxid 0) or to an unknown opcode (zxid −1, with
        // UNIMPLEMENTED), which ZooKeeper sends so too.
        let sent = ops.get(&xid).map(Vec::as_slice).unwrap_or_default();
        let op = sent.last().copied().unwrap_or(-99);
        let auth = sent.iter().any(|o| *o == 100 || *o == 102);
        if xid >= 0 && !auth && err != i32::from(ErrorCode::Unimplemented) {
            if zxid < last_zxid {
                return Err(format!("xid {xid}: zxid {zxid:#x} after {last_zxid:#x}"));
            }
            last_zxid = zxid;
        }
        // Unknown opcodes are one kind of reply, whatever their number.
        let kind = if jute::OpCode::try_from(op).is_ok() {
            op
        } else {
            -98
        };
        seen.insert((kind, err));
    }
    Ok(seen)
}

/// Runs one session against the server; the error says what the server
/// did wrong.
async fn run_session(
    addr: SocketAddr,
    frames: &[WireFrame],
    d: &Delivery,
) -> Result<Outcome, String> {
    let mut bytes = wire_bytes(frames);
    if d.cut < 256 {
        bytes.truncate(bytes.len() * d.cut as usize / 256);
    }
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut rd, mut wr) = stream.into_split();
    let read = d.read;
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        if !read {
            return (got, false);
        }
        let mut buf = vec![0u8; 64 * 1024];
        let mut closed = false;
        // Replies come until the server closes, or until it has been
        // quiet for a while, or for 4 s at most (a recursive watch on `/`
        // hears the well-behaved client's writes for ever).
        let until = Instant::now() + Duration::from_secs(4);
        while Instant::now() < until {
            match tokio::time::timeout(Duration::from_millis(300), rd.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    closed = true;
                    break;
                }
                Ok(Ok(n)) => {
                    got.extend_from_slice(&buf[..n]);
                    if got.len() > 64 << 20 {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        (got, closed)
    });
    let writing = async {
        if d.chunk == 0 {
            wr.write_all(&bytes).await?;
        } else {
            for c in bytes.chunks(d.chunk) {
                wr.write_all(c).await?;
            }
        }
        if d.eof {
            wr.shutdown().await?;
        }
        std::io::Result::Ok(())
    };
    // A server that stops reading (a client over its queue bound, or one
    // it closed) leaves the write pending: that is its right.
    let _ = tokio::time::timeout(Duration::from_secs(3), writing).await;
    let (got, closed) = reader.await.map_err(|e| format!("reader task: {e}"))?;
    drop(wr);
    let replies = check_replies(frames, &got)?;
    Ok(Outcome {
        replies,
        closed_by_server: closed && !d.eof,
    })
}

/// The well-behaved client: writes, reads back and deletes its own nodes
/// for as long as the fuzzing lasts; records any failure and its slowest
/// round.
async fn good_client(
    addr: SocketAddr,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(usize, Duration), String> {
    let (mut c, _) = connect(addr, Some(false)).await;
    let mut rounds = 0usize;
    let mut slowest = Duration::ZERO;
    let mut xid = 0;
    while !*stop.borrow() {
        let t = Instant::now();
        let path = format!("/good-{rounds}");
        let data = Bytes::from(format!("round {rounds}"));
        let steps = [
            Request::Create(CreateRequest {
                path: path.clone(),
                data: Some(data.clone()),
                acl: vec![Acl::open()],
                flags: 0,
            }),
            Request::GetData(GetDataRequest {
                path: path.clone(),
                watch: false,
            }),
            Request::Delete(DeleteRequest {
                path: path.clone(),
                version: 0,
            }),
        ];
        for req in steps {
            xid += 1;
            let (h, rsp) = call(&mut c, xid, req).await;
            if h.err != 0 {
                return Err(format!("round {rounds}: error {}", h.err));
            }
            if let Response::GetData(r) = rsp
                && r.data.as_ref() != Some(&data)
            {
                return Err(format!("round {rounds}: read {:?}", r.data));
            }
        }
        ping(&mut c).await;
        slowest = slowest.max(t.elapsed());
        rounds += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok((rounds, slowest))
}

/// Every node under `/`: its data, Stat, ACL and children, read as the
/// super user.
async fn walk(addr: SocketAddr) -> Tree {
    let (mut c, _) = connect(addr, Some(false)).await;
    let (h, _) = call(
        &mut c,
        jute::xid::AUTH,
        Request::Auth(AuthPacket {
            kind: 0,
            scheme: "digest".into(),
            auth: Bytes::from_static(b"super:test"),
        }),
    )
    .await;
    assert_eq!(h.err, 0, "super auth");
    let mut out = BTreeMap::new();
    let mut todo = vec!["/".to_owned()];
    let mut xid = 0;
    while let Some(path) = todo.pop() {
        xid += 1;
        let (h, rsp) = call(
            &mut c,
            xid,
            Request::GetData(GetDataRequest {
                path: path.clone(),
                watch: false,
            }),
        )
        .await;
        if h.err == i32::from(ErrorCode::NoNode) {
            continue; // gone since its parent was read (a container, a TTL)
        }
        let Response::GetData(data) = rsp else {
            panic!("getData {path}: error {}", h.err);
        };
        xid += 1;
        let (_, acl) = call(
            &mut c,
            xid,
            Request::GetAcl(GetAclRequest { path: path.clone() }),
        )
        .await;
        let acl = match acl {
            Response::GetAcl(a) => a.acl,
            _ => Vec::new(),
        };
        xid += 1;
        let (_, kids) = call(
            &mut c,
            xid,
            Request::GetChildren(GetChildrenRequest {
                path: path.clone(),
                watch: false,
            }),
        )
        .await;
        let mut kids = match kids {
            Response::GetChildren(k) => k.children,
            _ => Vec::new(),
        };
        kids.sort();
        for k in &kids {
            todo.push(if path == "/" {
                format!("/{k}")
            } else {
                format!("{path}/{k}")
            });
        }
        out.insert(path, (data.data, data.stat, acl, kids));
    }
    out
}

/// Every node by path: data, Stat, ACL, children.
type Tree = BTreeMap<String, (Option<Bytes>, jute::Stat, Vec<Acl>, Vec<String>)>;

/// `ephemeralOwner` of a container node, and the mark of a TTL node.
const CONTAINER_OWNER: i64 = i64::MIN;
const TTL_MARK: i64 = 0xff << 56;

fn is_reaped_kind(owner: i64) -> bool {
    owner == CONTAINER_OWNER || (owner & TTL_MARK) == TTL_MARK
}

fn check_tree(tree: &Tree) -> Vec<String> {
    let mut bad = Vec::new();
    for (path, (data, stat, _, kids)) in tree {
        let len = data.as_ref().map_or(0, |d| d.len());
        if stat.num_children as usize != kids.len() {
            bad.push(format!(
                "{path}: numChildren {} with {} children",
                stat.num_children,
                kids.len()
            ));
        }
        if stat.data_length as usize != len {
            bad.push(format!(
                "{path}: dataLength {} with {len} bytes",
                stat.data_length
            ));
        }
        if stat.mzxid < stat.czxid || stat.pzxid < stat.czxid {
            bad.push(format!(
                "{path}: czxid {:#x} mzxid {:#x} pzxid {:#x}",
                stat.czxid, stat.mzxid, stat.pzxid
            ));
        }
        if stat.ephemeral_owner != 0 && !is_reaped_kind(stat.ephemeral_owner) {
            bad.push(format!(
                "{path}: ephemeral of session {:#x}, ended",
                stat.ephemeral_owner
            ));
        }
        for k in kids {
            let child = if path == "/" {
                format!("/{k}")
            } else {
                format!("{path}/{k}")
            };
            if let Some((_, cs, _, _)) = tree.get(&child)
                && cs.czxid > stat.pzxid
                && path != "/"
            {
                bad.push(format!(
                    "{child}: created at {:#x}, after its parent's pzxid {:#x}",
                    cs.czxid, stat.pzxid
                ));
            }
        }
    }
    bad
}

fn install_panic_counter() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default(info);
    }));
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Writes a mutated session in the golden format.
fn session_text(title: &str, frames: &[WireFrame]) -> String {
    let mut out = format!(
        "# {title}\n# format: '> HEX' client->server frame, HEX includes the 4-byte length\n"
    );
    for f in frames {
        let len = f.claimed.unwrap_or(f.body.len() as u32);
        let mut b = len.to_be_bytes().to_vec();
        b.extend_from_slice(&f.body);
        out.push_str(&format!("> {}\n", hex::encode(b)));
    }
    out
}

#[test]
fn mutated_sessions_never_hurt_the_server_or_its_data() {
    install_panic_counter();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    let golden = sessions_in(&golden_dir());
    let kept = sessions_in(&corpus_dir());
    assert!(golden.len() >= 10, "the golden sessions are the seeds");
    let seeds: Vec<Seed> = golden.iter().chain(kept.iter()).cloned().collect();

    let mut config = server::Config::for_tests(PathBuf::new());
    config.tick_time = Duration::from_millis(100);
    config.min_session_timeout = Duration::from_millis(200);
    config.max_session_timeout = Duration::from_secs(2);
    config.super_digest = Some(SUPER_DIGEST.into());
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().to_path_buf();
    let srv = rt.block_on(start_with(dir, config.clone()));
    let addr = srv.addr;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let good = rt.spawn(good_client(addr, stop_rx));

    // Every seed as it was recorded, four at a time.
    let plain = Delivery {
        chunk: 0,
        read: true,
        eof: true,
        cut: 256,
    };
    let seen: Arc<Mutex<BTreeSet<(i32, i32)>>> = Arc::default();
    for group in seeds.chunks(4) {
        let runs: Vec<_> = group
            .iter()
            .map(|s| {
                let frames: Vec<WireFrame> = s
                    .frames
                    .iter()
                    .map(|b| WireFrame {
                        body: b.clone(),
                        claimed: None,
                    })
                    .collect();
                let d = plain.clone();
                let name = s.name.clone();
                rt.spawn(async move { (name, run_session(addr, &frames, &d).await) })
            })
            .collect();
        for r in runs {
            let (name, outcome) = rt.block_on(r).expect("session task");
            let outcome = outcome.unwrap_or_else(|e| panic!("seed {name}: {e}"));
            seen.lock().expect("seen").extend(outcome.replies);
        }
        assert_eq!(
            PANICS.load(Ordering::SeqCst),
            0,
            "the server panicked on seed group"
        );
    }

    // Mutated sessions.
    let cases = env_u64("CORRAL_FUZZ_CASES", 120) as u32;
    let seed = env_u64("CORRAL_FUZZ_SEED", 0x5eed_c0ab);
    let keep = std::env::var_os("CORRAL_FUZZ_KEEP").is_some();
    eprintln!(
        "live fuzz: {} seeds ({} golden, {} kept), {cases} cases, CORRAL_FUZZ_SEED={seed}",
        seeds.len(),
        golden.len(),
        kept.len()
    );
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        RunnerConfig {
            cases,
            max_shrink_iters: 300,
            failure_persistence: None,
            ..RunnerConfig::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let sessions = AtomicUsize::new(0);
    let closes = AtomicUsize::new(0);
    let kept_now = AtomicUsize::new(0);
    let strategy = proptest::collection::vec(plan(seeds.len()), 1..=4);
    let result = runner.run(&strategy, |plans| {
        let built: Vec<Vec<WireFrame>> = plans.iter().map(|p| apply(&seeds, p)).collect();
        let outcomes = rt.block_on(async {
            let runs = built
                .iter()
                .zip(&plans)
                .map(|(f, p)| run_session(addr, f, &p.delivery));
            futures::future::join_all(runs).await
        });
        sessions.fetch_add(plans.len(), Ordering::Relaxed);
        for (i, o) in outcomes.into_iter().enumerate() {
            let o = o.map_err(|e| TestCaseError::fail(format!("session {i}: {e}")))?;
            closes.fetch_add(usize::from(o.closed_by_server), Ordering::Relaxed);
            let mut seen = seen.lock().expect("seen");
            let new: Vec<_> = o.replies.difference(&seen).copied().collect();
            if keep && !new.is_empty() {
                let title = format!(
                    "live fuzz: from seed {}, new replies (op, err) {new:?}",
                    seeds[plans[i].seed].name
                );
                let text = session_text(&title, &built[i]);
                let name = format!("found-{:016x}.txt", {
                    use std::hash::{Hash, Hasher};
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    text.hash(&mut h);
                    h.finish()
                });
                std::fs::write(corpus_dir().join(name), text).expect("write corpus");
                kept_now.fetch_add(1, Ordering::Relaxed);
            }
            seen.extend(new);
        }
        let panics = PANICS.load(Ordering::SeqCst);
        prop_assert_eq!(panics, 0, "the server panicked");
        // The server still answers a fresh session at once.
        let alive = rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(5), async {
                let (mut c, _) = connect(addr, Some(false)).await;
                ping(&mut c).await;
            })
            .await
        });
        prop_assert!(alive.is_ok(), "a fresh session was not served within 5 s");
        Ok(())
    });
    if let Err(e) = &result {
        if let proptest::test_runner::TestError::Fail(_, plans) = e {
            let text: String = plans
                .iter()
                .map(|p| session_text(&format!("failing: {p:?}"), &apply(&seeds, p)))
                .collect();
            let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/live-fuzz");
            let _ = std::fs::create_dir_all(&out);
            let _ = std::fs::write(out.join("failure.txt"), text);
        }
        panic!("live fuzz: {e}");
    }

    stop_tx.send(true).expect("stop the good client");
    let (rounds, slowest) = rt
        .block_on(good)
        .expect("good client task")
        .unwrap_or_else(|e| panic!("the well-behaved client failed: {e}"));
    eprintln!(
        "live fuzz: {} mutated sessions, {} closed by the server, {} distinct (op, err) replies, {} kept; good client {rounds} rounds, slowest {slowest:?}",
        sessions.load(Ordering::Relaxed),
        closes.load(Ordering::Relaxed),
        seen.lock().expect("seen").len(),
        kept_now.load(Ordering::Relaxed)
    );
    assert!(rounds > 0, "the well-behaved client made progress");
    assert!(
        slowest < Duration::from_secs(2),
        "the well-behaved client waited {slowest:?}"
    );

    // Every fuzzed session has ended: wait out the longest timeout, then
    // until the tree stops changing (containers and TTL nodes reaped).
    std::thread::sleep(Duration::from_secs(3));
    let mut before = rt.block_on(walk(addr));
    loop {
        std::thread::sleep(Duration::from_millis(700));
        let again = rt.block_on(walk(addr));
        if again == before {
            break;
        }
        before = again;
    }
    let bad = check_tree(&before);
    assert!(
        bad.is_empty(),
        "the tree after fuzzing:\n{}",
        bad.join("\n")
    );
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "the server panicked");

    // A restart reads back exactly that tree (a reaped container or TTL
    // node may be gone; nothing else may differ).
    let TestServer {
        shutdown,
        handle,
        _dir,
        ..
    } = srv;
    shutdown.cancel();
    rt.block_on(handle)
        .expect("server task")
        .expect("server stopped cleanly");
    assert_eq!(_dir.path(), data_dir);
    let srv = rt.block_on(start_with(_dir, config));
    let after = rt.block_on(walk(srv.addr));
    for (path, node) in &before {
        match after.get(path) {
            Some(n) if n == node => {}
            None if is_reaped_kind(node.1.ephemeral_owner) => {}
            other => panic!("{path} after the restart: {other:?}, before: {node:?}"),
        }
    }
    for path in after.keys() {
        assert!(
            before.contains_key(path),
            "{path} appeared with the restart"
        );
    }
    eprintln!(
        "live fuzz: {} nodes, the same after a restart",
        before.len()
    );
    srv.shutdown.cancel();
    let _ = rt.block_on(srv.handle);
}
