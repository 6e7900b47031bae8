//! `benches`: the load generator that drives Corral and a real ZooKeeper
//! with the same workload, and criterion micro-benchmarks. Filled by issue #8.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use jute::proto::{ConnectRequest, RequestHeader};
use jute::{ClientCodec, ClientFrame, Request};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

/// A client connection with its session.
pub type Conn = Framed<TcpStream, ClientCodec>;

/// The servers of a comma-separated `host:port` list, which must all be on
/// loopback (the benchmarks never load another machine).
///
/// # Errors
/// An address does not parse or is not a loopback one.
pub fn loopback_servers(list: &str) -> Result<Vec<SocketAddr>, String> {
    let servers: Vec<SocketAddr> = list
        .split(',')
        .map(|s| s.parse().map_err(|e| format!("{s}: {e}")))
        .collect::<Result<_, _>>()?;
    if servers.iter().any(|s| !s.ip().is_loopback()) {
        return Err("loopback servers only".into());
    }
    Ok(servers)
}

/// How long a reply may take before the run fails.
const REPLY_WAIT: Duration = Duration::from_secs(30);

/// A new session on `addr` (30 s timeout, no Nagle, replies up to 16 MiB).
///
/// # Errors
/// The connection or the handshake failed.
pub async fn connect(addr: SocketAddr) -> Result<Conn, String> {
    let socket = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    socket.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut c = Framed::new(socket, ClientCodec::new(16 << 20));
    let hello = ConnectRequest {
        time_out: 30_000,
        passwd: Bytes::from_static(&[0; 16]),
        read_only: Some(false),
        ..Default::default()
    };
    c.send(&hello).await.map_err(|e| e.to_string())?;
    match tokio::time::timeout(REPLY_WAIT, c.next()).await {
        Ok(Some(Ok(ClientFrame::Connect(r)))) if r.session_id != 0 => Ok(c),
        other => Err(format!("handshake failed: {other:?}")),
    }
}

/// Sends `req` as `xid` and waits for its reply (notifications and other
/// replies skipped): its error code.
///
/// # Errors
/// The connection ended, or no reply came for 30 s.
pub async fn call(c: &mut Conn, xid: i32, req: &Request) -> Result<i32, String> {
    c.send((
        RequestHeader {
            xid,
            op: req.opcode().into(),
        },
        req,
    ))
    .await
    .map_err(|e| e.to_string())?;
    loop {
        match tokio::time::timeout(REPLY_WAIT, c.next()).await {
            Ok(Some(Ok(ClientFrame::Reply { header, .. }))) if header.xid == xid => {
                return Ok(header.err);
            }
            Ok(Some(Ok(ClientFrame::Reply { .. }))) => {}
            other => return Err(format!("no reply: {other:?}")),
        }
    }
}
