//! Golden vectors: frames captured from real ZooKeeper 3.8 traffic (the Java
//! client, kazoo, zkCli.sh and the C client against the Debian `zookeeper`
//! server, through a recording proxy; see `golden/README.md`).
//!
//! Every frame is decoded with this crate and re-encoded, and the bytes must
//! come back identical. Client frames go through [`ServerCodec`] and
//! [`Request::decode`]; server frames through [`ClientCodec`] and
//! [`Response::decode`], with the opcode of the request that carried the
//! same xid. Finally the set of opcodes seen must cover every opcode
//! ZooKeeper 3.8 speaks, so a missing capture cannot pass unnoticed.
//!
//! Files whose header says `# client: raw…` hold frames hand-made with a raw
//! socket to record how the real server answers bad input (unknown opcode,
//! garbage bodies); there a request may fail to decode, and the test checks
//! that it fails with a typed error and that ZooKeeper's reply still decodes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use jute::proto::{MultiRequest, MultiResponse, Op, OpResult};
use jute::*;
use tokio_util::codec::{Decoder, Encoder};

/// One captured frame: its direction and its bytes, length prefix included.
struct Captured {
    line: usize,
    from_client: bool,
    bytes: Vec<u8>,
}

fn parse_file(path: &Path) -> Vec<Captured> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (dir, rest) = line.split_at(1);
        let hex = rest.trim().split(' ').next().unwrap_or("");
        let bytes =
            hex::decode(hex).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1));
        let from_client = match dir {
            ">" => true,
            "<" => false,
            other => panic!("{}:{}: unknown direction {other:?}", path.display(), i + 1),
        };
        out.push(Captured {
            line: i + 1,
            from_client,
            bytes,
        });
    }
    out
}

fn golden_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    files
}

#[derive(Default)]
struct Coverage {
    /// Request opcodes seen, including ops inside `multi` / `multiRead`.
    requests: BTreeMap<OpCode, usize>,
    /// Opcodes whose successful reply (err 0) was seen, including results
    /// inside multi responses.
    replies: BTreeMap<OpCode, usize>,
    /// Error codes seen in reply headers and multi results.
    errors: BTreeSet<i32>,
    /// Notification event types seen.
    events: BTreeSet<i32>,
    frames: usize,
    connect_dialects: BTreeSet<bool>,
}

fn reencode<T: Encode>(item: T) -> Vec<u8> {
    let mut buf = BytesMut::new();
    ClientCodec::default()
        .encode(item, &mut buf)
        .unwrap_or_else(|e| panic!("encode: {e}"));
    buf.to_vec()
}

fn check_file(path: &Path, cov: &mut Coverage) {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("?")
        .to_owned();
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lenient = text.lines().any(|l| l.starts_with("# client: raw"));
    let mut server = ServerCodec::default();
    let mut client = ClientCodec::default();
    let mut pending: HashMap<i32, i32> = HashMap::new();
    let mut failed_xids: BTreeSet<i32> = BTreeSet::new();
    for frame in parse_file(path) {
        let at = format!("{name}:{}", frame.line);
        cov.frames += 1;
        let mut src = BytesMut::from(&frame.bytes[..]);
        if frame.from_client {
            let decoded = server
                .decode(&mut src)
                .unwrap_or_else(|e| panic!("{at}: {e}"));
            assert!(src.is_empty(), "{at}: frame not consumed whole");
            match decoded {
                Some(Frame::Connect(req)) => {
                    cov.connect_dialects.insert(req.read_only.is_some());
                    assert_eq!(
                        reencode(&req),
                        frame.bytes,
                        "{at}: ConnectRequest re-encoding"
                    );
                }
                Some(Frame::Request { header, body }) => {
                    pending.insert(header.xid, header.op);
                    match Request::decode(header.op, &body) {
                        Ok(req) => {
                            assert_eq!(i32::from(req.opcode()), header.op, "{at}");
                            *cov.requests.entry(req.opcode()).or_default() += 1;
                            if let Request::Multi(MultiRequest { ops })
                            | Request::MultiRead(MultiRequest { ops }) = &req
                            {
                                for op in ops {
                                    *cov.requests.entry(op.opcode()).or_default() += 1;
                                    let _: &Op = op;
                                }
                            }
                            assert_eq!(
                                reencode((&header, &req)),
                                frame.bytes,
                                "{at}: {:?} re-encoding",
                                req.opcode()
                            );
                        }
                        Err(e) if lenient => {
                            eprintln!("{at}: request op {} rejected as expected: {e}", header.op);
                            failed_xids.insert(header.xid);
                        }
                        Err(e) => panic!("{at}: request op {}: {e}", header.op),
                    }
                }
                other => panic!("{at}: unexpected client frame {other:?}"),
            }
        } else {
            let decoded = client
                .decode(&mut src)
                .unwrap_or_else(|e| panic!("{at}: {e}"));
            assert!(src.is_empty(), "{at}: frame not consumed whole");
            match decoded {
                Some(ClientFrame::Connect(rsp)) => {
                    assert_eq!(
                        reencode(&rsp),
                        frame.bytes,
                        "{at}: ConnectResponse re-encoding"
                    );
                }
                Some(ClientFrame::Reply { header, body }) => {
                    let op = if header.xid == xid::NOTIFICATION {
                        OpCode::Notification
                    } else {
                        let raw = pending
                            .remove(&header.xid)
                            .unwrap_or_else(|| panic!("{at}: reply to unknown xid {}", header.xid));
                        match OpCode::try_from(raw) {
                            Ok(op) => op,
                            Err(_) => {
                                assert!(lenient, "{at}: reply to unknown opcode {raw}");
                                assert!(body.is_empty(), "{at}: reply to unknown op has a body");
                                assert_eq!(reencode((&header, Raw(body))), frame.bytes, "{at}");
                                cov.errors.insert(header.err);
                                continue;
                            }
                        }
                    };
                    if header.err != 0 {
                        cov.errors.insert(header.err);
                    }
                    let rsp = Response::decode(op, header.err, &body)
                        .unwrap_or_else(|e| panic!("{at}: reply to {op:?}: {e}"));
                    if header.err == 0 && !failed_xids.contains(&header.xid) {
                        *cov.replies.entry(op).or_default() += 1;
                    }
                    match &rsp {
                        Response::Notification(ev) => {
                            cov.events.insert(ev.kind);
                        }
                        Response::Multi(MultiResponse { results }) => {
                            for r in results {
                                let op = match r {
                                    OpResult::Create { .. } => OpCode::Create,
                                    OpResult::Create2 { .. } => OpCode::Create2,
                                    OpResult::Delete => OpCode::Delete,
                                    OpResult::SetData { .. } => OpCode::SetData,
                                    OpResult::Check => OpCode::Check,
                                    OpResult::GetChildren { .. } => OpCode::GetChildren,
                                    OpResult::GetData { .. } => OpCode::GetData,
                                    OpResult::Error { err } => {
                                        cov.errors.insert(*err);
                                        continue;
                                    }
                                };
                                *cov.replies.entry(op).or_default() += 1;
                            }
                        }
                        _ => {}
                    }
                    assert_eq!(
                        reencode((&header, &rsp)),
                        frame.bytes,
                        "{at}: reply to {op:?} re-encoding"
                    );
                }
                None => panic!("{at}: incomplete server frame"),
            }
        }
    }
}

#[test]
fn golden_frames_decode_and_reencode_byte_for_byte() {
    let files = golden_files();
    assert!(!files.is_empty(), "no golden vectors under tests/golden");
    let mut cov = Coverage::default();
    for f in &files {
        check_file(f, &mut cov);
    }
    println!("{} files, {} frames", files.len(), cov.frames);
    println!("requests: {:?}", cov.requests);
    println!("replies:  {:?}", cov.replies);
    println!("errors:   {:?}", cov.errors);
    println!("events:   {:?}", cov.events);

    // Every opcode ZooKeeper 3.8 serves must appear as a real request.
    let required = [
        OpCode::Create,
        OpCode::Delete,
        OpCode::Exists,
        OpCode::GetData,
        OpCode::SetData,
        OpCode::GetAcl,
        OpCode::SetAcl,
        OpCode::GetChildren,
        OpCode::Sync,
        OpCode::Ping,
        OpCode::GetChildren2,
        OpCode::Check,
        OpCode::Multi,
        OpCode::Create2,
        OpCode::Reconfig,
        OpCode::CheckWatches,
        OpCode::RemoveWatches,
        OpCode::CreateContainer,
        OpCode::CreateTtl,
        OpCode::MultiRead,
        OpCode::Auth,
        OpCode::SetWatches,
        OpCode::GetEphemerals,
        OpCode::GetAllChildrenNumber,
        OpCode::SetWatches2,
        OpCode::AddWatch,
        OpCode::WhoAmI,
        OpCode::CloseSession,
    ];
    let missing: Vec<_> = required
        .iter()
        .filter(|op| !cov.requests.contains_key(op))
        .collect();
    assert!(missing.is_empty(), "no captured request for {missing:?}");

    // Every reply record with a body must have been seen with err 0.
    let with_body = [
        OpCode::Create,
        OpCode::Create2,
        OpCode::CreateContainer,
        OpCode::CreateTtl,
        OpCode::Exists,
        OpCode::GetData,
        OpCode::SetData,
        OpCode::GetAcl,
        OpCode::SetAcl,
        OpCode::GetChildren,
        OpCode::GetChildren2,
        OpCode::Sync,
        OpCode::Multi,
        OpCode::MultiRead,
        OpCode::GetEphemerals,
        OpCode::GetAllChildrenNumber,
        OpCode::WhoAmI,
        OpCode::Notification,
    ];
    let missing: Vec<_> = with_body
        .iter()
        .filter(|op| !cov.replies.contains_key(op))
        .collect();
    assert!(
        missing.is_empty(),
        "no captured successful reply for {missing:?}"
    );

    // Watch events of every tree event type.
    for ev in [
        EventType::NodeCreated,
        EventType::NodeDeleted,
        EventType::NodeDataChanged,
        EventType::NodeChildrenChanged,
    ] {
        assert!(
            cov.events.contains(&i32::from(ev)),
            "no captured {ev:?} notification"
        );
    }
    // Per-op errors inside a failed multi.
    assert!(
        cov.errors
            .contains(&i32::from(ErrorCode::RuntimeInconsistency)),
        "no failed multi captured"
    );
}
