//! Helpers shared by the wire tests: a server on loopback in a temporary
//! directory, and a raw client over `jute::ClientCodec`.

#![allow(dead_code)]

pub mod linearizability;

use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use jute::proto::{ConnectRequest, ConnectResponse, ReplyHeader, RequestHeader};
use jute::{ClientCodec, ClientFrame, Request, Response};
use server::Config;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

pub type Client = Framed<TcpStream, ClientCodec>;

pub struct TestServer {
    pub addr: std::net::SocketAddr,
    pub shutdown: CancellationToken,
    pub handle: tokio::task::JoinHandle<std::io::Result<()>>,
    pub _dir: tempfile::TempDir,
}

pub async fn start() -> TestServer {
    start_in(tempfile::tempdir().expect("tempdir")).await
}

pub async fn start_in(dir: tempfile::TempDir) -> TestServer {
    let config = Config::for_tests(dir.path().to_path_buf());
    start_with(dir, config).await
}

/// A server with a configuration of the test's own (its data directory is
/// replaced by `dir`).
pub async fn start_with(dir: tempfile::TempDir, mut config: Config) -> TestServer {
    config.data_dir = dir.path().to_path_buf();

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(server::run(config, listener, shutdown.clone()));
    TestServer {
        addr,
        shutdown,
        handle,
        _dir: dir,
    }
}

pub async fn connect(
    addr: std::net::SocketAddr,
    read_only: Option<bool>,
) -> (Framed<TcpStream, ClientCodec>, ConnectResponse) {
    let socket = TcpStream::connect(addr).await.expect("connect");
    let mut framed = Framed::new(socket, ClientCodec::default());
    let req = ConnectRequest {
        time_out: 30_000,
        passwd: Bytes::from_static(&[0; 16]),
        read_only,
        ..Default::default()
    };
    framed.send(&req).await.expect("send connect");
    match framed.next().await {
        Some(Ok(ClientFrame::Connect(rsp))) => (framed, rsp),
        other => panic!("expected ConnectResponse, got {other:?}"),
    }
}

pub async fn reply(framed: &mut Framed<TcpStream, ClientCodec>) -> ReplyHeader {
    match tokio::time::timeout(Duration::from_secs(5), framed.next()).await {
        Ok(Some(Ok(ClientFrame::Reply { header, .. }))) => header,
        other => panic!("expected a reply, got {other:?}"),
    }
}

pub async fn call(
    c: &mut Framed<TcpStream, ClientCodec>,
    xid: i32,
    req: Request,
) -> (ReplyHeader, Response) {
    let op = req.opcode();
    c.send((RequestHeader { xid, op: op.into() }, &req))
        .await
        .expect("send");
    match tokio::time::timeout(Duration::from_secs(5), c.next()).await {
        Ok(Some(Ok(ClientFrame::Reply { header, body }))) => {
            let rsp = Response::decode(op, header.err, &body).expect("decodable reply");
            (header, rsp)
        }
        other => panic!("expected a reply, got {other:?}"),
    }
}

/// The next frame, which must arrive within 5 s.
pub async fn next_frame(c: &mut Client) -> (ReplyHeader, Bytes) {
    match tokio::time::timeout(Duration::from_secs(5), c.next()).await {
        Ok(Some(Ok(ClientFrame::Reply { header, body }))) => (header, body),
        other => panic!("expected a frame, got {other:?}"),
    }
}

/// Sends a request without waiting for its reply.
pub async fn send(c: &mut Client, xid: i32, req: Request) {
    let op = req.opcode();
    c.send((RequestHeader { xid, op: op.into() }, &req))
        .await
        .expect("send");
}

/// Asserts the server closes `socket` (EOF or reset) within 5 s.
pub async fn assert_closed(socket: &mut TcpStream, what: &str) {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf)).await;
    assert!(matches!(n, Ok(Ok(0) | Err(_))), "{what}: not closed");
}

/// A ping that must be answered without error.
pub async fn ping(c: &mut Client) {
    c.send((
        RequestHeader {
            xid: jute::xid::PING,
            op: 11,
        },
        jute::Raw(Bytes::new()),
    ))
    .await
    .expect("ping");
    let (h, _) = next_frame(c).await;
    assert_eq!((h.xid, h.err), (jute::xid::PING, 0), "ping answered");
}

/// A port on 127.0.0.1 that nothing holds and no other test will take.
pub fn free_port() -> u16 {
    consensus::network::unused_port()
}

/// Sends a four-letter word and returns the whole answer ("" if the
/// server cannot be reached).
pub async fn four_letter(addr: std::net::SocketAddr, word: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return String::new();
    };
    if s.write_all(word.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_string(&mut out)).await;
    out
}

/// The `Mode:` of a server's `srvr` ("" if none).
pub async fn mode(addr: std::net::SocketAddr) -> String {
    four_letter(addr, "srvr")
        .await
        .lines()
        .find_map(|l| l.strip_prefix("Mode: "))
        .unwrap_or_default()
        .to_owned()
}

/// `GET path` over HTTP/1.0: the status and the body (status 0 if the
/// server cannot be reached in 5 s).
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
            .await
            .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).await.ok()?;
        let (head, body) = out.split_once("\r\n\r\n")?;
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        Some((status, body.to_owned()))
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .ok()
        .flatten()
        .unwrap_or((0, String::new()))
}

/// A session (`session`: resume that one), or `None` if the server
/// refuses or closes the connection before answering (not serving).
pub async fn try_connect(
    addr: std::net::SocketAddr,
    timeout_ms: i32,
    session: Option<(i64, Bytes)>,
) -> Option<(Client, ConnectResponse)> {
    let socket = TcpStream::connect(addr).await.ok()?;
    let mut framed = Framed::new(socket, ClientCodec::default());
    let (session_id, passwd) = session.unwrap_or((0, Bytes::from_static(&[0; 16])));
    let req = ConnectRequest {
        time_out: timeout_ms,
        session_id,
        passwd,
        read_only: Some(false),
        ..Default::default()
    };
    framed.send(&req).await.ok()?;
    match tokio::time::timeout(Duration::from_secs(5), framed.next()).await {
        Ok(Some(Ok(ClientFrame::Connect(rsp)))) => Some((framed, rsp)),
        _ => None,
    }
}

/// A create of `path` holding `data`, open to the world.
pub fn create(path: &str, data: &'static [u8], mode: jute::CreateMode) -> Request {
    Request::Create(jute::proto::CreateRequest {
        path: path.into(),
        data: Some(Bytes::from_static(data)),
        acl: vec![jute::Acl::open()],
        flags: mode.into(),
    })
}

/// An `exists` without a watch.
pub fn exists(path: &str) -> Request {
    Request::Exists(jute::proto::ExistsRequest {
        path: path.into(),
        watch: false,
    })
}

/// `n` getData requests of `path` (xids 1 to `n`) as frames on the wire,
/// for a client that writes them at once without reading.
pub fn get_data_frames(path: &str, n: i32) -> bytes::BytesMut {
    use jute::Encode;
    let mut out = bytes::BytesMut::new();
    for xid in 1..=n {
        let mut body = bytes::BytesMut::new();
        RequestHeader {
            xid,
            op: jute::OpCode::GetData.into(),
        }
        .encode(&mut body);
        jute::proto::GetDataRequest {
            path: path.into(),
            watch: false,
        }
        .encode(&mut body);
        out.extend_from_slice(&u32::try_from(body.len()).expect("small").to_be_bytes());
        out.extend_from_slice(&body);
    }
    out
}
