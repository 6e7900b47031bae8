//! Ten million random and mutated frames through the decoders: no panic, and
//! no allocation beyond the frame being decoded.
//!
//! The count defaults to 10,000,000 and can be lowered for quick runs with
//! `JUTE_RANDOM_FRAMES=N`. Peak heap use (over a baseline taken before the
//! loop) is measured with a counting global allocator and printed; the test
//! fails if it exceeds a small multiple of the largest frame fed in.

use bytes::{BufMut, Bytes, BytesMut};
use jute::proto::*;
use jute::*;
use peak_alloc::PeakAlloc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio_util::codec::Decoder;

#[global_allocator]
static PEAK: PeakAlloc = PeakAlloc;

/// Valid bodies of real-looking requests, to be mutated and truncated.
fn request_templates() -> Vec<(i32, Bytes)> {
    let acl = vec![
        Acl::open(),
        Acl {
            perms: 31,
            id: Id::new("digest", "u:xyz="),
        },
    ];
    let create = CreateRequest {
        path: "/app/locks/lock-".into(),
        data: Some(Bytes::from_static(b"hello world")),
        acl: acl.clone(),
        flags: 3,
    };
    let reqs = vec![
        Request::Create(create.clone()),
        Request::Create2(create.clone()),
        Request::CreateTtl(CreateTtlRequest {
            path: "/t".into(),
            data: None,
            acl: acl.clone(),
            flags: 5,
            ttl: 1000,
        }),
        Request::Delete(DeleteRequest {
            path: "/a/b".into(),
            version: -1,
        }),
        Request::SetData(SetDataRequest {
            path: "/a".into(),
            data: Some(Bytes::from(vec![7; 100])),
            version: 3,
        }),
        Request::SetAcl(SetAclRequest {
            path: "/a".into(),
            acl,
            version: 0,
        }),
        Request::GetChildren2(GetChildren2Request {
            path: "/".into(),
            watch: true,
        }),
        Request::Multi(MultiRequest {
            ops: vec![
                Op::Create(create),
                Op::Check(CheckVersionRequest {
                    path: "/a".into(),
                    version: 1,
                }),
                Op::Delete(DeleteRequest {
                    path: "/b".into(),
                    version: 2,
                }),
            ],
        }),
        Request::MultiRead(MultiRequest {
            ops: vec![Op::GetData(GetDataRequest {
                path: "/a".into(),
                watch: false,
            })],
        }),
        Request::SetWatches2(SetWatches2 {
            relative_zxid: 77,
            data_watches: vec!["/a".into(), "/b".into()],
            exist_watches: vec!["/c".into()],
            child_watches: vec![],
            persistent_watches: vec!["/p".into()],
            persistent_recursive_watches: vec!["/".into()],
        }),
        Request::Reconfig(ReconfigRequest {
            joining_servers: Some("server.2=127.0.0.1:2888:3888;2181".into()),
            leaving_servers: None,
            new_members: None,
            cur_config_id: -1,
        }),
        Request::Auth(AuthPacket {
            kind: 0,
            scheme: "digest".into(),
            auth: Bytes::from_static(b"u:p"),
        }),
        Request::AddWatch(AddWatchRequest {
            path: "/w".into(),
            mode: 1,
        }),
    ];
    reqs.into_iter()
        .map(|r| (i32::from(r.opcode()), r.to_bytes().freeze()))
        .collect()
}

fn response_templates() -> Vec<(OpCode, Bytes)> {
    let stat = Stat {
        czxid: 5,
        mzxid: 6,
        num_children: 2,
        pzxid: 9,
        ..Stat::default()
    };
    let rsps = vec![
        (
            OpCode::GetData,
            Response::GetData(GetDataResponse {
                data: Some(Bytes::from_static(b"x")),
                stat: stat.clone(),
            }),
        ),
        (
            OpCode::GetChildren2,
            Response::GetChildren2(GetChildren2Response {
                children: vec!["a".into(), "b".into()],
                stat: stat.clone(),
            }),
        ),
        (
            OpCode::GetAcl,
            Response::GetAcl(GetAclResponse {
                acl: vec![Acl::open()],
                stat: stat.clone(),
            }),
        ),
        (
            OpCode::Multi,
            Response::Multi(MultiResponse {
                results: vec![
                    OpResult::Create2 {
                        path: "/a".into(),
                        stat: stat.clone(),
                    },
                    OpResult::Error { err: -101 },
                    OpResult::GetData { data: None, stat },
                ],
            }),
        ),
        (
            OpCode::WhoAmI,
            Response::WhoAmI(WhoAmIResponse {
                client_info: vec![ClientInfo {
                    auth_scheme: "ip".into(),
                    user: "127.0.0.1".into(),
                }],
            }),
        ),
        (
            OpCode::Notification,
            Response::Notification(WatcherEvent {
                kind: 3,
                state: 3,
                path: "/a".into(),
            }),
        ),
    ];
    rsps.into_iter()
        .map(|(op, r)| (op, r.to_bytes().freeze()))
        .collect()
}

fn mutate(rng: &mut StdRng, template: &[u8]) -> Vec<u8> {
    let mut v = template.to_vec();
    match rng.random_range(0..4) {
        0 => {
            for _ in 0..rng.random_range(1..4) {
                if !v.is_empty() {
                    let i = rng.random_range(0..v.len());
                    v[i] = rng.random();
                }
            }
        }
        1 => v.truncate(rng.random_range(0..=v.len())),
        2 => {
            // Overwrite a 4-byte run with an extreme length.
            if v.len() >= 4 {
                let i = rng.random_range(0..=v.len() - 4);
                let extreme =
                    [i32::MAX, i32::MIN, -2, -1, 0x7fff_fff0, 1 << 20][rng.random_range(0..6)];
                v[i..i + 4].copy_from_slice(&extreme.to_be_bytes());
            }
        }
        _ => v.extend((0..rng.random_range(0..8)).map(|_| rng.random::<u8>())),
    }
    v
}

#[test]
fn ten_million_random_frames_no_panic_no_overallocation() {
    let n: u64 = std::env::var("JUTE_RANDOM_FRAMES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let mut rng = StdRng::seed_from_u64(0x5eed_c0ffee);
    let reqs = request_templates();
    let rsps = response_templates();
    let mut hello = BytesMut::new();
    hello.put_i32(45);
    hello.put_slice(
        &ConnectRequest {
            passwd: Bytes::from(vec![0; 16]),
            read_only: Some(false),
            ..Default::default()
        }
        .to_bytes(),
    );

    let mut src = BytesMut::with_capacity(1 << 17);
    let mut frame = Vec::with_capacity(1 << 17);
    let (mut decoded_ok, mut decode_err, mut waiting) = (0u64, 0u64, 0u64);
    let mut largest_frame = 0usize;
    let baseline = PEAK.current_usage();
    PEAK.reset_peak_usage();

    for i in 0..n {
        frame.clear();
        match rng.random_range(0..8) {
            // Pure noise with a random prefix.
            0 | 1 => {
                let len = rng.random_range(0..48);
                let prefix: i32 = if rng.random_bool(0.5) {
                    len
                } else {
                    rng.random()
                };
                frame.extend_from_slice(&prefix.to_be_bytes());
                frame.extend((0..len).map(|_| rng.random::<u8>()));
            }
            // A mutated request: header + body, prefix consistent or not.
            2..=4 => {
                let (op, body) = &reqs[rng.random_range(0..reqs.len())];
                let op = if rng.random_bool(0.9) {
                    *op
                } else {
                    rng.random_range(-20..120)
                };
                let body = mutate(&mut rng, body);
                let len = i32::try_from(body.len() + 8).unwrap_or(i32::MAX);
                frame.extend_from_slice(&len.to_be_bytes());
                frame.extend_from_slice(&(i as i32).to_be_bytes());
                frame.extend_from_slice(&op.to_be_bytes());
                frame.extend_from_slice(&body);
                // The body decoder on its own, as the server calls it.
                match Request::decode(op, &body) {
                    Ok(_) => decoded_ok += 1,
                    Err(_) => decode_err += 1,
                }
            }
            // A mutated reply body, through the client-side dispatch.
            5 => {
                let (op, body) = &rsps[rng.random_range(0..rsps.len())];
                let body = mutate(&mut rng, body);
                match Response::decode(*op, 0, &body) {
                    Ok(_) => decoded_ok += 1,
                    Err(_) => decode_err += 1,
                }
                continue;
            }
            // A mutated handshake on a fresh connection.
            6 => {
                let mut codec = ServerCodec::default();
                let bytes = mutate(&mut rng, &hello);
                src.clear();
                src.extend_from_slice(&bytes);
                match codec.decode(&mut src) {
                    Ok(Some(_)) => decoded_ok += 1,
                    Ok(None) => waiting += 1,
                    Err(_) => decode_err += 1,
                }
                continue;
            }
            // Rarely, a big frame (up to 64 KiB) or a huge declared length.
            _ => {
                if rng.random_ratio(1, 2000) {
                    let len = rng.random_range(8..65_536usize);
                    frame.extend_from_slice(&(len as i32).to_be_bytes());
                    frame.extend((0..len).map(|_| rng.random::<u8>()));
                } else {
                    let declared: i32 = rng.random_range(0x10_0000..i32::MAX);
                    frame.extend_from_slice(&declared.to_be_bytes());
                    frame.extend((0..rng.random_range(0..32)).map(|_| rng.random::<u8>()));
                }
            }
        }
        largest_frame = largest_frame.max(frame.len());
        let mut codec = ServerCodec::default();
        src.clear();
        src.extend_from_slice(&hello);
        src.extend_from_slice(&frame);
        loop {
            match codec.decode(&mut src) {
                Ok(Some(Frame::Request { header, body })) => {
                    let _ = Request::decode(header.op, &body);
                    decoded_ok += 1;
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    waiting += 1;
                    break;
                }
                Err(_) => {
                    decode_err += 1;
                    break;
                }
            }
        }
    }
    let peak = PEAK.peak_usage().saturating_sub(baseline);
    println!(
        "{n} frames: {decoded_ok} decoded, {decode_err} rejected, {waiting} incomplete; \
         largest frame {largest_frame} B; peak heap above baseline {peak} B"
    );
    // src and frame were allocated with 128 KiB each before the baseline; a
    // decode may copy the frame into records (strings, buffers, vectors of
    // 24-byte Strings from 4-byte wire elements): bounded by 8x the frame.
    let bound = 8 * largest_frame + 256 * 1024;
    assert!(peak <= bound, "peak heap {peak} B above bound {bound} B");
    assert!(
        decoded_ok > n / 20 && decode_err > n / 20,
        "the mix must exercise both paths"
    );
}
