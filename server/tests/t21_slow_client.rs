//! A client that stops reading its socket: its replies pile up in the
//! server's outbound queue until `corral.maxOutboundBytes`, then its
//! connection is closed (the memory they take is bounded). Other sessions
//! are served throughout, and the slow client's session survives: it
//! resumes on a new connection with its id and password.

mod common;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::SinkExt;
use jute::proto::*;
use jute::{Acl, Encode, Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_cut_off_and_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = server::Config::for_tests(dir.path().to_path_buf());
    config.max_outbound_bytes = 1 << 20;
    let server = common::start_with(dir, config).await;

    // A 512 KiB node.
    let (mut a, _) = common::connect(server.addr, None).await;
    let create = Request::Create(CreateRequest {
        path: "/big".into(),
        data: Some(Bytes::from(vec![7u8; 512 << 10])),
        acl: vec![Acl::open()],
        flags: 0,
    });
    let (h, _) = common::call(&mut a, 1, create).await;
    assert_eq!(h.err, 0);

    // The slow client: a session, then 200 getData requests (100 MiB of
    // replies) written without reading a byte.
    let (b, hello) = common::connect(server.addr, None).await;
    let mut socket = b.into_inner();
    let mut out = BytesMut::new();
    for xid in 1..=200 {
        let mut body = BytesMut::new();
        RequestHeader {
            xid,
            op: jute::OpCode::GetData.into(),
        }
        .encode(&mut body);
        GetDataRequest {
            path: "/big".into(),
            watch: false,
        }
        .encode(&mut body);
        out.extend_from_slice(&u32::try_from(body.len()).expect("small").to_be_bytes());
        out.extend_from_slice(&body);
    }
    socket.write_all(&out).await.expect("send the requests");

    // The server closes the connection: reading drains what made it into
    // the socket, then ends, well short of the 100 MiB asked for.
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    let drained = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
    })
    .await;
    assert!(drained.is_ok(), "the connection was not closed");
    assert!(
        got < 50 << 20,
        "{got} bytes came back: the queue was not bounded"
    );

    // Everyone else is served meanwhile.
    let (h, r) = common::call(
        &mut a,
        2,
        Request::Exists(ExistsRequest {
            path: "/big".into(),
            watch: false,
        }),
    )
    .await;
    assert_eq!(h.err, 0);
    assert!(matches!(r, Response::Exists(_)), "{r:?}");

    // The slow client's session lives on.
    let socket = TcpStream::connect(server.addr).await.expect("connect");
    let mut c = tokio_util::codec::Framed::new(socket, jute::ClientCodec::default());
    let resume = ConnectRequest {
        time_out: 30_000,
        session_id: hello.session_id,
        passwd: hello.passwd.clone(),
        ..Default::default()
    };
    c.send(&resume).await.expect("send connect");
    match futures::StreamExt::next(&mut c).await {
        Some(Ok(jute::ClientFrame::Connect(rsp))) => {
            assert_eq!(rsp.session_id, hello.session_id, "the same session");
            assert!(rsp.time_out > 0, "not expired");
        }
        other => panic!("expected a ConnectResponse, got {other:?}"),
    }
    server.shutdown.cancel();
}
