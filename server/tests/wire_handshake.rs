//! Raw-byte conversations with a server on loopback: the handshake in both
//! dialects, ping, closeSession, four-letter words, and bad frames that end
//! one connection while another keeps working.

mod common;

use common::*;

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use jute::proto::{ConnectRequest, CreateRequest, GetDataRequest, RequestHeader, SetDataRequest};
use jute::{ClientCodec, ClientFrame, ErrorCode, Raw, Request, Response, xid};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

#[tokio::test]
async fn handshake_in_both_dialects_then_ping_and_close() {
    let server = start().await;
    for dialect in [None, Some(false)] {
        let (mut c, rsp) = connect(server.addr, dialect).await;
        assert_ne!(rsp.session_id, 0);
        assert_eq!(rsp.time_out, 30_000, "30 s lies within 2..20 ticks of 2 s");
        assert_eq!(rsp.passwd.len(), 16);
        assert_eq!(
            rsp.read_only.is_some(),
            dialect.is_some(),
            "reply mirrors the request's dialect"
        );
        c.send((
            RequestHeader {
                xid: xid::PING,
                op: 11,
            },
            Raw(Bytes::new()),
        ))
        .await
        .expect("ping");
        let h = reply(&mut c).await;
        assert_eq!((h.xid, h.err), (xid::PING, 0));
        c.send((RequestHeader { xid: 2, op: -11 }, Raw(Bytes::new())))
            .await
            .expect("close");
        let h = reply(&mut c).await;
        assert_eq!((h.xid, h.err), (2, 0));
        assert!(c.next().await.is_none(), "server closes after closeSession");
    }
    server.shutdown.cancel();
    server.handle.await.expect("join").expect("run");
}

#[tokio::test]
async fn unknown_opcode_is_unimplemented_then_closed_and_bad_body_is_marshalling_error() {
    let server = start().await;
    let (mut c, _) = connect(server.addr, Some(false)).await;
    // getData with a path length of 2^31-1: MARSHALLINGERROR, connection stays.
    let garbage = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 0]);
    c.send((RequestHeader { xid: 1, op: 4 }, Raw(garbage)))
        .await
        .expect("send");
    let h = reply(&mut c).await;
    assert_eq!((h.xid, h.err), (1, i32::from(ErrorCode::MarshallingError)));
    ping(&mut c).await;
    // Opcode 999: UNIMPLEMENTED with zxid -1, then the server closes (as
    // ZooKeeper 3.8 does, golden raw-malformed-01).
    c.send((RequestHeader { xid: 2, op: 999 }, Raw(Bytes::new())))
        .await
        .expect("send");
    let h = reply(&mut c).await;
    assert_eq!(
        (h.xid, h.zxid, h.err),
        (2, -1, i32::from(ErrorCode::Unimplemented))
    );
    assert!(c.next().await.is_none(), "closed after an unknown opcode");
    // `check` outside a multi: UNIMPLEMENTED, then closed, as ZooKeeper
    // 3.8.5+ (ZOOKEEPER-2623; earlier releases never answered).
    let (mut c, _) = connect(server.addr, Some(false)).await;
    c.send((
        RequestHeader { xid: 1, op: 13 },
        &Request::Check(jute::proto::CheckVersionRequest {
            path: "/".into(),
            version: 0,
        }),
    ))
    .await
    .expect("send");
    let h = reply(&mut c).await;
    assert_eq!((h.xid, h.err), (1, i32::from(ErrorCode::Unimplemented)));
    assert!(c.next().await.is_none(), "closed after a lone check");
    server.shutdown.cancel();
}

#[tokio::test]
async fn resume_with_password_and_reject_a_wrong_one() {
    let server = start().await;
    let (first, rsp) = connect(server.addr, Some(false)).await;
    drop(first);
    let socket = TcpStream::connect(server.addr).await.expect("connect");
    let mut c = Framed::new(socket, ClientCodec::default());
    let resume = ConnectRequest {
        time_out: 10_000,
        session_id: rsp.session_id,
        passwd: rsp.passwd.clone(),
        read_only: Some(false),
        ..Default::default()
    };
    c.send(&resume).await.expect("send");
    match c.next().await {
        Some(Ok(ClientFrame::Connect(again))) => assert_eq!(again.session_id, rsp.session_id),
        other => panic!("{other:?}"),
    }
    let socket = TcpStream::connect(server.addr).await.expect("connect");
    let mut c = Framed::new(socket, ClientCodec::default());
    let wrong = ConnectRequest {
        passwd: Bytes::from_static(&[9; 16]),
        ..resume
    };
    c.send(&wrong).await.expect("send");
    match c.next().await {
        Some(Ok(ClientFrame::Connect(expired))) => {
            assert_eq!((expired.session_id, expired.time_out), (0, 0))
        }
        other => panic!("{other:?}"),
    }
    assert!(c.next().await.is_none(), "closed after the expired reply");
    server.shutdown.cancel();
}

#[tokio::test]
async fn bad_frames_close_only_their_connection() {
    let server = start().await;
    let (mut good, _) = connect(server.addr, Some(false)).await;

    // A declared length of 2 GiB - 1 after the handshake.
    let (bad, _) = connect(server.addr, Some(false)).await;
    let mut raw = bad.into_inner();
    raw.write_all(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1])
        .await
        .expect("write");
    assert_closed(&mut raw, "connection closed").await;

    // Garbage instead of a handshake.
    let mut raw = TcpStream::connect(server.addr).await.expect("connect");
    let mut junk = BytesMut::new();
    junk.put_i32(3);
    junk.put_slice(&[1, 2, 3]);
    raw.write_all(&junk).await.expect("write");
    assert_closed(&mut raw, "connection closed").await;

    // A request frame shorter than its header.
    let (bad, _) = connect(server.addr, None).await;
    let mut raw = bad.into_inner();
    raw.write_all(&[0, 0, 0, 2, 0, 0]).await.expect("write");
    assert_closed(&mut raw, "connection closed").await;

    // The well-behaved client saw nothing of it.
    ping(&mut good).await;
    server.shutdown.cancel();
}

#[tokio::test]
async fn four_letter_words_on_the_first_bytes_honour_the_whitelist() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = server::Config::for_tests(dir.path().to_path_buf());
    config.four_letter_whitelist = Some(["ruok".to_owned()].into());
    let server = start_with(dir, config).await;
    let mut raw = TcpStream::connect(server.addr).await.expect("connect");
    raw.write_all(b"ruok").await.expect("write");
    let mut out = String::new();
    raw.read_to_string(&mut out).await.expect("read");
    assert_eq!(out, "imok");
    let mut raw = TcpStream::connect(server.addr).await.expect("connect");
    raw.write_all(b"dump").await.expect("write");
    let mut out = String::new();
    raw.read_to_string(&mut out).await.expect("read");
    assert_eq!(
        out,
        "dump is not executed because it is not in the whitelist.\n"
    );
    server.shutdown.cancel();
}

#[tokio::test]
async fn max_client_cnxns_limits_connections_per_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = server::Config::for_tests(dir.path().to_path_buf());
    config.max_client_cnxns = 2;
    let server = start_with(dir, config).await;
    let (mut a, _) = connect(server.addr, Some(false)).await;
    let (_b, _) = connect(server.addr, Some(false)).await;
    // The third from the same address is closed before its handshake.
    let mut third = TcpStream::connect(server.addr).await.expect("connect");
    assert_closed(&mut third, "third connection closed").await;
    ping(&mut a).await;
    // Closing one frees a place.
    drop(a);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let socket = TcpStream::connect(server.addr).await.expect("connect");
        let mut c = tokio_util::codec::Framed::new(socket, ClientCodec::default());
        let hello = ConnectRequest {
            time_out: 10_000,
            passwd: Bytes::from_static(&[0; 16]),
            read_only: Some(false),
            ..Default::default()
        };
        c.send(&hello).await.expect("send");
        if matches!(c.next().await, Some(Ok(ClientFrame::Connect(_)))) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "a place never freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.shutdown.cancel();
}

#[tokio::test]
async fn acknowledged_writes_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_path_buf();
    let server = start_in(dir).await;
    let (mut c, _) = connect(server.addr, Some(false)).await;
    let create = Request::Create(CreateRequest {
        path: "/kept".into(),
        data: Some(Bytes::from_static(b"durable")),
        acl: vec![jute::Acl::open()],
        flags: 0,
    });
    let (h, _) = call(&mut c, 1, create).await;
    assert_eq!(h.err, 0);
    let (h, _) = call(
        &mut c,
        2,
        Request::SetData(SetDataRequest {
            path: "/kept".into(),
            data: Some(Bytes::from_static(b"v2")),
            version: 0,
        }),
    )
    .await;
    assert_eq!(h.err, 0);
    let last = h.zxid;
    drop(c);
    server.shutdown.cancel();
    let dir = server._dir;
    server.handle.await.expect("join").expect("run");
    assert_eq!(dir.path(), path);

    let server = start_in(dir).await;
    let (mut c, _) = connect(server.addr, Some(false)).await;
    let (h, rsp) = call(
        &mut c,
        1,
        Request::GetData(GetDataRequest {
            path: "/kept".into(),
            watch: false,
        }),
    )
    .await;
    assert_eq!(h.err, 0);
    assert!(
        h.zxid > last,
        "zxids continue after a restart (the new session took one)"
    );
    match rsp {
        Response::GetData(d) => {
            assert_eq!(d.data, Some(Bytes::from_static(b"v2")));
            assert_eq!((d.stat.version, d.stat.mzxid), (1, last));
        }
        other => panic!("{other:?}"),
    }
    server.shutdown.cancel();
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_and_reads_see_earlier_writes() {
    let server = start().await;
    let (mut c, _) = connect(server.addr, Some(false)).await;
    let create = |p: &str| {
        Request::Create(CreateRequest {
            path: p.into(),
            data: Some(Bytes::from_static(b"1")),
            acl: vec![jute::Acl::open()],
            flags: 0,
        })
    };
    // 50 writes, a read of the last one, 50 more writes, a read: all sent
    // before any reply is read.
    let mut xid = 0;
    for i in 0..50 {
        xid += 1;
        send(&mut c, xid, create(&format!("/p{i}"))).await;
    }
    xid += 1;
    send(
        &mut c,
        xid,
        Request::GetData(GetDataRequest {
            path: "/p49".into(),
            watch: false,
        }),
    )
    .await;
    for i in 50..100 {
        xid += 1;
        send(&mut c, xid, create(&format!("/p{i}"))).await;
    }
    xid += 1;
    send(
        &mut c,
        xid,
        Request::GetChildren(jute::proto::GetChildrenRequest {
            path: "/".into(),
            watch: false,
        }),
    )
    .await;
    let mut last_zxid = 0;
    for want in 1..=xid {
        let (h, body) = next_frame(&mut c).await;
        assert_eq!(h.xid, want, "replies in request order");
        assert_eq!(h.err, 0, "request {want}");
        assert!(h.zxid >= last_zxid, "zxids never go back");
        last_zxid = h.zxid;
        if want == 51 {
            assert!(
                matches!(
                    Response::decode(jute::OpCode::GetData, 0, &body),
                    Ok(Response::GetData(_))
                ),
                "the read after 50 writes sees /p49"
            );
        }
        if want == xid {
            match Response::decode(jute::OpCode::GetChildren, 0, &body) {
                Ok(Response::GetChildren(r)) => {
                    assert_eq!(r.children.len(), 101, "100 nodes and /zookeeper")
                }
                other => panic!("{other:?}"),
            }
        }
    }
    server.shutdown.cancel();
}
