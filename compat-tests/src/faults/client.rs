//! The workload's client: ZooKeeper's wire protocol over a real TCP
//! connection (jute's codec), with sessions that move between members as a
//! ZooKeeper client's do (resumed with their id and password, refused once
//! expired), and the per-session checks only a client can make: every
//! reply's zxid at least the last one the session saw, on any connection.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use jute::proto::{ConnectRequest, RequestHeader, WatcherEvent};
use jute::{ClientCodec, ClientFrame, Decode, Request, Response};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

/// The session timeout the workload asks for.
pub const SESSION_TIMEOUT_MS: i32 = 6000;
/// How long a request may wait for its reply before the client gives the
/// connection up (ZooKeeper's clients use two thirds of the timeout; the
/// harness less, so a session survives one failed member).
pub const REQUEST_TIMEOUT: Duration = Duration::from_millis(2000);
/// How long a connection and its handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);

/// A session as the client holds it.
#[derive(Debug, Clone)]
pub struct Session {
    /// Its id.
    pub id: i64,
    /// Its password.
    pub passwd: Bytes,
    /// The highest zxid any reply of it carried.
    pub last_zxid: i64,
}

/// The result of a request.
#[derive(Debug)]
pub enum Outcome {
    /// A reply: its error code (0 for success), zxid and body.
    Reply(i32, i64, Response),
    /// No reply (connection failed or timed out): a write's outcome is
    /// unknown, and the connection is no longer usable.
    Lost,
}

/// How a connection attempt ended.
pub enum Connected {
    /// A connection with its session (new or resumed).
    Ok(Box<Conn>),
    /// The member refused to resume the session: it expired.
    Expired,
    /// No connection or no handshake.
    Failed,
}

/// One connection.
pub struct Conn {
    framed: Framed<TcpStream, ClientCodec>,
    xid: i32,
    /// The session it carries.
    pub session: Session,
    /// Which member it is connected to.
    pub member: usize,
    /// Notifications received, oldest first (the caller drains them).
    pub events: VecDeque<WatcherEvent>,
    /// Zxid regressions seen (a reply with a zxid below one seen before
    /// in the same session).
    pub zxid_regressions: Vec<String>,
}

/// Connects to `addr` (member `member`), resuming `session` if given.
pub async fn connect(addr: SocketAddr, member: usize, session: Option<&Session>) -> Connected {
    connect_from(None, addr, member, session).await
}

/// [`connect`] from the local address `from` (a hostile client's).
pub async fn connect_from(
    from: Option<std::net::Ipv4Addr>,
    addr: SocketAddr,
    member: usize,
    session: Option<&Session>,
) -> Connected {
    let attempt = async {
        let socket = match from {
            None => TcpStream::connect(addr).await.ok()?,
            Some(ip) => {
                let s = tokio::net::TcpSocket::new_v4().ok()?;
                s.bind(SocketAddr::from((ip, 0))).ok()?;
                s.connect(addr).await.ok()?
            }
        };
        socket.set_nodelay(true).ok()?;
        // Replies up to 64 MiB: an hour's run reads lists of hundreds of
        // thousands of children at the end.
        let mut framed = Framed::new(socket, ClientCodec::new(64 << 20));
        let hello = ConnectRequest {
            time_out: SESSION_TIMEOUT_MS,
            session_id: session.map_or(0, |s| s.id),
            passwd: session.map_or_else(|| Bytes::from_static(&[0; 16]), |s| s.passwd.clone()),
            last_zxid_seen: session.map_or(0, |s| s.last_zxid),
            read_only: Some(false),
            ..Default::default()
        };
        framed.send(&hello).await.ok()?;
        match framed.next().await {
            Some(Ok(ClientFrame::Connect(r))) => Some((framed, r)),
            _ => None,
        }
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(Some((_, r))) if r.session_id == 0 || r.time_out <= 0 => Connected::Expired,
        Ok(Some((framed, r))) => Connected::Ok(Box::new(Conn {
            framed,
            xid: 0,
            session: Session {
                id: r.session_id,
                passwd: r.passwd,
                last_zxid: session.map_or(0, |s| s.last_zxid),
            },
            member,
            events: VecDeque::new(),
            zxid_regressions: Vec::new(),
        })),
        _ => Connected::Failed,
    }
}

impl Conn {
    /// Sends `req` and waits for its reply, keeping notifications that
    /// arrive before it in [`Conn::events`].
    pub async fn call(&mut self, req: &Request) -> Outcome {
        self.xid += 1;
        let xid = self.xid;
        let op = req.opcode();
        let header = RequestHeader { xid, op: op.into() };
        if self.framed.send((header, req)).await.is_err() {
            return Outcome::Lost;
        }
        loop {
            let frame = match tokio::time::timeout(REQUEST_TIMEOUT, self.framed.next()).await {
                Ok(Some(Ok(f))) => f,
                _ => return Outcome::Lost,
            };
            let ClientFrame::Reply { header, body } = frame else {
                return Outcome::Lost;
            };
            if header.xid == jute::xid::NOTIFICATION {
                match WatcherEvent::decode_from(&body) {
                    Ok(ev) => self.events.push_back(ev),
                    Err(_) => return Outcome::Lost,
                }
                continue;
            }
            if header.xid != xid {
                continue; // a ping's reply
            }
            if header.zxid > 0 {
                if header.zxid < self.session.last_zxid {
                    self.zxid_regressions.push(format!(
                        "session {:#x}: a reply on member {} carried zxid {:#x} after {:#x}",
                        self.session.id,
                        self.member + 1,
                        header.zxid,
                        self.session.last_zxid
                    ));
                }
                self.session.last_zxid = self.session.last_zxid.max(header.zxid);
            }
            return match Response::decode(op, header.err, &body) {
                Ok(rsp) => Outcome::Reply(header.err, header.zxid, rsp),
                Err(_) => Outcome::Lost,
            };
        }
    }

    /// Ends the session (best effort).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(REQUEST_TIMEOUT, self.call(&Request::CloseSession)).await;
    }
}
