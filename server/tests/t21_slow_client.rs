//! Clients that do not read their replies. A connection's outbound queue
//! is bounded (`corral.maxOutboundBytes`): past half of it the client's
//! requests wait; a frame that would pass it (notifications keep coming)
//! closes the connection; and a client that reads nothing for half its
//! session timeout while its requests wait is closed too. A client that reads
//! slowly gets every reply. Other sessions are served throughout, and the
//! slow client's session survives a closed connection.

mod common;

use std::time::Duration;

use bytes::Bytes;
use futures::SinkExt;
use jute::proto::*;
use jute::{Acl, Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A server whose connections may queue 1 MiB, with its metrics served.
async fn start() -> (common::TestServer, std::net::SocketAddr) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = server::Config::for_tests(dir.path().to_path_buf());
    config.max_outbound_bytes = 1 << 20;
    let metrics = std::net::SocketAddr::from(([127, 0, 0, 1], common::free_port()));
    config.metrics_addr = Some(metrics);
    (common::start_with(dir, config).await, metrics)
}

/// A metric's value (the first sample whose line starts with `name`).
async fn metric(addr: std::net::SocketAddr, name: &str) -> f64 {
    let (status, body) = common::http_get(addr, "/metrics").await;
    assert_eq!(status, 200, "metrics: {body}");
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Creates `path` holding `len` bytes.
async fn create_big(c: &mut common::Client, path: &str, len: usize) {
    let create = Request::Create(CreateRequest {
        path: path.into(),
        data: Some(Bytes::from(vec![7u8; len])),
        acl: vec![Acl::open()],
        flags: 0,
    });
    let (h, _) = common::call(c, 1, create).await;
    assert_eq!(h.err, 0);
}

/// Reads `socket` until the server closes it (within `within`): the
/// bytes read, or `None` if it stayed open.
async fn read_to_close(socket: &mut TcpStream, within: Duration) -> Option<usize> {
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    tokio::time::timeout(within, async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
    })
    .await
    .ok()?;
    Some(got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_waits_then_is_cut_off_and_resumes() {
    let (server, metrics) = start().await;
    let (mut a, _) = common::connect(server.addr, None).await;
    create_big(&mut a, "/big", 512 << 10).await;

    // The slow client: a session with an 8 s timeout, then 200 getData
    // requests (100 MiB of replies) written without reading a byte.
    let (b, hello) = common::try_connect(server.addr, 8_000, None)
        .await
        .expect("session");
    let mut socket = b.into_inner();
    socket
        .write_all(&common::get_data_frames("/big", 200))
        .await
        .expect("send the requests");

    // Its requests wait behind its replies: the queue holds no more than
    // its bound, and the connection is open.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(metric(metrics, "corral_connections_backed_up").await, 1.0);
    let queued = metric(metrics, "corral_outbound_queued_bytes").await;
    assert!(
        (f64::from(512 << 10)..=f64::from(1 << 20)).contains(&queued),
        "{queued} bytes queued"
    );

    // Everyone else is served meanwhile.
    let (h, r) = common::call(&mut a, 2, common::exists("/big")).await;
    assert_eq!(h.err, 0);
    assert!(matches!(r, Response::Exists(_)), "{r:?}");

    // Having read nothing for half its session timeout, it is closed
    // (the client can still resume its session): reading then drains what
    // made it into the socket, far short of 100 MiB.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let got = read_to_close(&mut socket, Duration::from_secs(10))
        .await
        .expect("the connection was not closed");
    assert!(got < 50 << 20, "{got} bytes came back");
    assert_eq!(
        metric(metrics, "corral_errors{class=\"outbound_stalled\"}").await,
        1.0
    );
    assert_eq!(metric(metrics, "corral_connections_backed_up").await, 0.0);
    assert_eq!(metric(metrics, "corral_outbound_queued_bytes").await, 0.0);

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_slowly_gets_every_reply() {
    let (server, metrics) = start().await;
    let (mut a, _) = common::connect(server.addr, None).await;
    create_big(&mut a, "/big", 512 << 10).await;

    // 40 getData requests at once (20 MiB of replies, twenty times the
    // bound), their replies read one every 125 ms: 5 s, longer than the
    // session's timeout, which the slow reading keeps alive.
    let (mut b, _) = common::try_connect(server.addr, 4_000, None)
        .await
        .expect("session");
    for xid in 1..=40 {
        common::send(
            &mut b,
            xid,
            Request::GetData(GetDataRequest {
                path: "/big".into(),
                watch: false,
            }),
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(metric(metrics, "corral_connections_backed_up").await, 1.0);
    for xid in 1..=40 {
        let (h, body) = common::next_frame(&mut b).await;
        assert_eq!((h.xid, h.err), (xid, 0), "reply {xid}");
        assert!(body.len() > 512 << 10, "reply {xid}: {} bytes", body.len());
        tokio::time::sleep(Duration::from_millis(125)).await;
    }
    common::ping(&mut b).await;
    assert_eq!(
        metric(metrics, "corral_errors{class=\"outbound_stalled\"}").await
            + metric(metrics, "corral_errors{class=\"outbound_overflow\"}").await,
        0.0
    );
    assert_eq!(metric(metrics, "corral_connections_backed_up").await, 0.0);
    server.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_that_stops_reading_is_cut_off_at_the_bound() {
    let (server, metrics) = start().await;
    let (mut a, _) = common::connect(server.addr, None).await;
    let (h, _) = common::call(
        &mut a,
        1,
        common::create("/w", b"", jute::CreateMode::Persistent),
    )
    .await;
    assert_eq!(h.err, 0);

    // The slow client watches everything under /w, then reads nothing.
    let (mut b, _) = common::connect(server.addr, None).await;
    let (h, _) = common::call(
        &mut b,
        1,
        Request::AddWatch(AddWatchRequest {
            path: "/w".into(),
            mode: jute::AddWatchMode::PersistentRecursive.into(),
        }),
    )
    .await;
    assert_eq!(h.err, 0);
    let mut socket = b.into_inner();

    // 8,000 creates of 1 KiB names: 8 MiB of notifications, past the
    // bound and the sockets' buffers. Nothing the slow client sends
    // queues these; only the bound can stop them.
    let name = "n".repeat(1000);
    let mut xid = 2;
    for batch in 0..80 {
        for i in 0..100 {
            let path = format!("/w/{name}-{batch}-{i}");
            common::send(
                &mut a,
                xid + i,
                common::create(&path, b"", jute::CreateMode::Persistent),
            )
            .await;
        }
        for i in 0..100 {
            let (h, _) = common::next_frame(&mut a).await;
            assert_eq!((h.xid, h.err), (xid + i, 0));
        }
        xid += 100;
    }

    // The watcher's connection was closed at the bound; the queue is empty.
    let got = read_to_close(&mut socket, Duration::from_secs(10))
        .await
        .expect("the connection was not closed");
    assert!(got < 8_000_000, "{got} bytes came back: every notification");
    assert_eq!(
        metric(metrics, "corral_errors{class=\"outbound_overflow\"}").await,
        1.0
    );
    assert_eq!(metric(metrics, "corral_outbound_queued_bytes").await, 0.0);
    common::ping(&mut a).await;
    server.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_together_hold_about_the_total_bound() {
    // Each connection may queue 64 MiB, all of them together 2 MiB.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = server::Config::for_tests(dir.path().to_path_buf());
    config.max_outbound_bytes_total = 2 << 20;
    let metrics = std::net::SocketAddr::from(([127, 0, 0, 1], common::free_port()));
    config.metrics_addr = Some(metrics);
    let server = common::start_with(dir, config).await;
    let (mut a, _) = common::connect(server.addr, None).await;
    create_big(&mut a, "/big", 512 << 10).await;

    // Four clients ask for 50 MiB each and read nothing: alone, each
    // would queue 32 MiB before its requests waited.
    let mut sockets = Vec::new();
    for _ in 0..4 {
        let (b, _) = common::connect(server.addr, None).await;
        let mut socket = b.into_inner();
        socket
            .write_all(&common::get_data_frames("/big", 100))
            .await
            .expect("send the requests");
        sockets.push(socket);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Each waits or was cut off; together they hold the total's bound
    // and at most a small queue (1 MiB) and a reply each past it.
    let waiting = metric(metrics, "corral_connections_backed_up").await;
    let cut = metric(metrics, "corral_errors{class=\"outbound_overflow\"}").await;
    assert_eq!(waiting + cut, 4.0, "{waiting} wait, {cut} were cut off");
    let queued = metric(metrics, "corral_outbound_queued_bytes").await;
    assert!(
        queued <= f64::from((2 << 20) + 4 * (3 << 19)),
        "{queued} bytes queued"
    );

    // A client with nothing queued is served.
    let (h, body) = common::call(
        &mut a,
        2,
        Request::GetData(GetDataRequest {
            path: "/big".into(),
            watch: false,
        }),
    )
    .await;
    assert_eq!(h.err, 0);
    assert!(matches!(body, Response::GetData(_)));
    drop(sockets);
    server.shutdown.cancel();
}
