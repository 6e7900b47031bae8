//! Bad input never hurts anyone else: while a well-behaved client keeps
//! writing and reading, other connections send truncated, oversized,
//! negative and empty frames, requests before the handshake, unknown
//! opcodes, undecodable bodies, vectors that claim 2^31 elements, invalid
//! paths, and a flood of idle connections. Each gets ZooKeeper's error or a
//! clean close; the good client sees no error at all.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use common::*;
use futures::SinkExt;
use jute::proto::*;
use jute::{Acl, ErrorCode, Raw, Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Writes `bytes` on a fresh connection (then half-closes it if `eof`) and
/// expects the server to close it (EOF or reset) within 5 s, whatever it
/// answers first. Without `eof`, the close is the server's own doing.
async fn expect_closed_after(addr: SocketAddr, bytes: &[u8], eof: bool, what: &str) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let _ = s.write_all(bytes).await;
    if eof {
        let _ = s.shutdown().await;
    }
    let mut buf = vec![0u8; 4096];
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "{what}: the server did not close the connection"
    );
}

async fn expect_closed(addr: SocketAddr, bytes: &[u8], what: &str) {
    expect_closed_after(addr, bytes, false, what).await;
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

fn handshake_bytes() -> Vec<u8> {
    let mut b = BytesMut::new();
    let hello = ConnectRequest {
        time_out: 10_000,
        passwd: Bytes::from_static(&[0; 16]),
        read_only: Some(false),
        ..Default::default()
    };
    jute::Encode::encode(&hello, &mut b);
    frame(&b)
}

/// The well-behaved client: creates and reads back nodes until told to
/// stop; any error fails the test.
async fn good_client(addr: SocketAddr, stop: tokio::sync::watch::Receiver<bool>) -> usize {
    let (mut c, _) = connect(addr, Some(false)).await;
    let mut n = 0usize;
    while !*stop.borrow() {
        let path = format!("/good-{n}");
        let create = Request::Create(CreateRequest {
            path: path.clone(),
            data: Some(Bytes::from_static(b"ok")),
            acl: vec![Acl::open()],
            flags: 0,
        });
        let xid = i32::try_from(2 * n + 1).unwrap_or(i32::MAX);
        let (h, _) = call(&mut c, xid, create).await;
        assert_eq!(h.err, 0, "the good client's create {path} failed");
        let (h, rsp) = call(
            &mut c,
            xid + 1,
            Request::GetData(GetDataRequest { path, watch: false }),
        )
        .await;
        assert_eq!(h.err, 0);
        assert!(
            matches!(rsp, Response::GetData(ref d) if d.data.as_deref() == Some(b"ok".as_slice()))
        );
        n += 1;
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_is_contained() {
    let server = start().await;
    let addr = server.addr;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let good = tokio::spawn(good_client(addr, stop_rx));

    // A flood of connections that never speak, held open throughout.
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(TcpStream::connect(addr).await.expect("idle connect"));
    }

    // Frames that end the connection.
    let hello = handshake_bytes();
    let with_hello = |tail: &[u8]| [hello.as_slice(), tail].concat();
    expect_closed(
        addr,
        &frame(&[0, 0, 0, 1, 0, 0, 0, 4]),
        "a request before the handshake",
    )
    .await;
    expect_closed(
        addr,
        &[0x00, 0x10, 0x04, 0x00, 1, 2, 3],
        "a frame above jute.maxbuffer",
    )
    .await;
    expect_closed(addr, &[0xff, 0xff, 0xff, 0xfe], "a negative length").await;
    expect_closed(
        addr,
        &with_hello(&[0x7f, 0xff, 0xff, 0xff]),
        "a 2 GiB frame after the handshake",
    )
    .await;
    expect_closed(addr, &with_hello(&frame(&[])), "an empty request frame").await;
    expect_closed(
        addr,
        &with_hello(&frame(&[0, 0, 0, 1])),
        "a frame shorter than its header",
    )
    .await;
    expect_closed_after(
        addr,
        &with_hello(&[0, 0, 0, 100, 1, 2, 3]),
        true,
        "a truncated frame, then EOF",
    )
    .await;
    expect_closed(
        addr,
        &with_hello(&frame(&[0, 0, 0, 1, 0, 0, 3, 231])),
        "an unknown opcode",
    )
    .await;
    expect_closed(addr, &with_hello(&hello), "a second handshake").await;
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
        .collect();
    for _ in 0..20 {
        expect_closed(addr, &with_hello(&noise), "noise after the handshake").await;
    }

    // Requests answered with an error on a connection that stays open.
    let (mut c, _) = connect(addr, Some(false)).await;
    // A create whose ACL vector claims 2^31 - 1 entries.
    let mut body = BytesMut::new();
    body.put_i32(2);
    body.put_slice(b"/v");
    body.put_i32(-1);
    body.put_i32(i32::MAX);
    c.send((RequestHeader { xid: 1, op: 1 }, Raw(body.freeze())))
        .await
        .expect("send");
    let (h, _) = next_frame(&mut c).await;
    assert_eq!((h.xid, h.err), (1, i32::from(ErrorCode::MarshallingError)));
    // Invalid paths: ZooKeeper's codes for each op.
    let bad_create = |p: &str| {
        Request::Create(CreateRequest {
            path: p.into(),
            data: None,
            acl: vec![Acl::open()],
            flags: 0,
        })
    };
    for (xid, path, want) in [
        (2, "a", ErrorCode::BadArguments),
        (3, "/a/", ErrorCode::NoNode),
        (4, "/.", ErrorCode::BadArguments),
        (5, "/x\u{1}", ErrorCode::BadArguments),
    ] {
        let (h, _) = call(&mut c, xid, bad_create(path)).await;
        assert_eq!(h.err, i32::from(want), "create {path:?}");
    }
    let (h, _) = call(
        &mut c,
        6,
        Request::SetData(SetDataRequest {
            path: "/good-0/".into(),
            data: None,
            version: -1,
        }),
    )
    .await;
    assert_eq!(h.err, i32::from(ErrorCode::BadArguments));
    let (h, _) = call(
        &mut c,
        7,
        Request::GetData(GetDataRequest {
            path: "no-slash".into(),
            watch: false,
        }),
    )
    .await;
    assert_eq!(
        h.err,
        i32::from(ErrorCode::NoNode),
        "reads do not validate paths"
    );
    let (h, _) = call(
        &mut c,
        8,
        Request::Delete(DeleteRequest {
            path: "/zookeeper".into(),
            version: -1,
        }),
    )
    .await;
    assert_eq!(h.err, i32::from(ErrorCode::BadArguments));
    let (h, _) = call(&mut c, 9, Request::Ping).await;
    assert_eq!(h.err, 0, "still open after all of it");

    stop_tx.send(true).expect("stop");
    let done = good.await.expect("the good client never saw an error");
    assert!(done > 0, "the good client made progress during the abuse");
    drop(idle);
    server.shutdown.cancel();
}

/// Waits for the server to close `c` (EOF or an error) within 5 s.
async fn expect_eof(c: &mut Client, what: &str) {
    use futures::StreamExt;
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match c.next().await {
                None | Some(Err(_)) => return,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "{what}: the connection stayed open");
}

fn sasl(token: &[u8]) -> Request {
    Request::Sasl(GetSaslRequest {
        token: Bytes::copy_from_slice(token),
    })
}

/// Malformed, truncated and oversized SASL tokens end their own
/// connection with AUTHFAILED (as ZooKeeper's `processSasl` does) and
/// nobody else's; without a JAAS file SASL is answered OK with a null
/// token, as ZooKeeper answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_sasl_tokens_close_only_their_connection() {
    let dir = tempfile::tempdir().expect("dir");
    let mut config = server::Config::for_tests(dir.path().to_path_buf());
    config.auth.sasl_provider = true;
    config.auth.sasl_users = Some(std::sync::Arc::new(std::collections::BTreeMap::from([(
        "bob".to_owned(),
        "bobsecret".to_owned(),
    )])));
    let server = start_with(dir, config).await;
    let addr = server.addr;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let good = tokio::spawn(good_client(addr, stop_rx));

    // DIGEST-MD5 has no initial response.
    let (mut c, _) = connect(addr, Some(false)).await;
    let (h, rsp) = call(&mut c, 1, sasl(b"username=\"bob\"")).await;
    assert_eq!(h.err, i32::from(ErrorCode::AuthFailed));
    assert!(matches!(
        rsp,
        Response::Empty | Response::Sasl(SetSaslResponse { token: None })
    ));
    expect_eof(&mut c, "an initial response").await;

    let long = vec![b'x'; 200_000];
    let bad_responses: [(&[u8], &str); 6] = [
        (b"\xff\xfe\x00", "bytes that are not UTF-8"),
        (b"username=\"bob", "an unclosed quote"),
        (b"username", "a directive without a value"),
        (b"username=bob,username=eve", "a directive given twice"),
        (
            b"username=\"bob\",realm=\"zk-sasl-md5\",nonce=\"wrong\",cnonce=\"c\",nc=00000001,qop=auth,digest-uri=\"zookeeper/zk-sasl-md5\",response=0123",
            "a response for another nonce",
        ),
        (&long, "a 200 kB token"),
    ];
    for (token, what) in bad_responses {
        let (mut c, _) = connect(addr, Some(false)).await;
        let (h, rsp) = call(&mut c, 1, sasl(b"")).await;
        assert_eq!(h.err, 0, "{what}: the challenge");
        let Response::Sasl(SetSaslResponse {
            token: Some(challenge),
        }) = rsp
        else {
            panic!("{what}: no challenge: {rsp:?}")
        };
        assert!(challenge.starts_with(b"realm=\"zk-sasl-md5\",nonce=\""));
        let (h, _) = call(&mut c, 2, sasl(token)).await;
        assert_eq!(h.err, i32::from(ErrorCode::AuthFailed), "{what}");
        expect_eof(&mut c, what).await;
    }
    // A token past jute.maxbuffer: the frame is refused, the connection
    // closed.
    let (c, _) = connect(addr, Some(false)).await;
    let mut raw = c.into_inner();
    let mut frame_bytes = BytesMut::new();
    frame_bytes.put_u32(8 + 4 + (2 << 20));
    frame_bytes.put_i32(1);
    frame_bytes.put_i32(102);
    frame_bytes.put_i32(2 << 20);
    let _ = raw.write_all(&frame_bytes).await;
    let _ = raw.write_all(&vec![b'x'; 64 << 10]).await;
    let mut buf = [0u8; 256];
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match raw.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "an oversized SASL frame: the connection stayed open"
    );

    stop_tx.send(true).expect("stop");
    let done = good.await.expect("the good client never saw an error");
    assert!(done > 0, "the good client made progress during the abuse");
    server.shutdown.cancel();

    // No JAAS file: OK, a null token, no id.
    let plain = start().await;
    let (mut c, _) = connect(plain.addr, Some(false)).await;
    let (h, rsp) = call(&mut c, 1, sasl(b"")).await;
    assert_eq!(h.err, 0);
    assert!(
        matches!(rsp, Response::Sasl(SetSaslResponse { token: None })),
        "{rsp:?}"
    );
    let (h, rsp) = call(&mut c, 2, Request::WhoAmI).await;
    assert_eq!(h.err, 0);
    let Response::WhoAmI(who) = rsp else {
        panic!("{rsp:?}")
    };
    assert_eq!(who.client_info.len(), 1, "only the address: {who:?}");
    plain.shutdown.cancel();
}
