//! The console's ZooKeeper sessions: each one a real client session of
//! this server, spoken over an in-process byte stream into the same
//! connection code a TCP client goes through (`net::connection::serve`).
//! So the console reads and writes the tree with exactly the rights of
//! that session (its `digest`/super auth, its client address for `ip`
//! ACLs) and is listed (`cons`) and expired like any client.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use jute::proto::{AuthPacket, ConnectRequest, RequestHeader};
use jute::{ClientCodec, ClientFrame, ErrorCode, OpCode, Request, Response};
use tokio::io::{DuplexStream, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{FramedRead, FramedWrite};
use tokio_util::sync::CancellationToken;

use crate::core::Core;

/// The session timeout the console asks for; pings keep it alive.
const TIMEOUT_MS: i32 = 30_000;
/// The longest reply the console reads (a family of a million children).
const MAX_REPLY: usize = 256 << 20;
/// How long the console waits for a reply.
const REPLY_WAIT: Duration = Duration::from_secs(30);
/// A session the console has not used for this long is closed.
pub(crate) const IDLE: Duration = Duration::from_secs(600);
/// The in-process stream's buffer each way.
const PIPE_BYTES: usize = 1 << 20;
/// The xid of the `closeSession` sent for idleness.
const CLOSE_XID: i32 = i32::MAX;

type Reply = Result<Response, ErrorCode>;
/// Calls sent and not answered yet, by xid.
type Waiting = Arc<Mutex<HashMap<i32, (OpCode, oneshot::Sender<Reply>)>>>;

struct Call {
    xid: i32,
    op: OpCode,
    request: Request,
    reply: oneshot::Sender<Reply>,
}

/// A console session: requests go to its writer task; its reader task
/// answers them by xid.
#[derive(Debug)]
pub(crate) struct ZkSession {
    calls: mpsc::Sender<Call>,
    /// The session id the server gave.
    pub id: i64,
    /// Who logged in (`scheme:user`), or none for an anonymous session.
    pub user: Option<String>,
    last_used: Arc<Mutex<Instant>>,
    ended: CancellationToken,
}

impl ZkSession {
    /// Opens a session on `core` as a client at `peer`.
    ///
    /// # Errors
    /// `CONNECTIONLOSS` if the server does not serve (not in touch with a
    /// quorum, stopping) or refused the handshake.
    pub(crate) async fn open(
        core: &Arc<Core>,
        peer: SocketAddr,
        user: Option<String>,
        shutdown: &CancellationToken,
    ) -> Result<Arc<ZkSession>, ErrorCode> {
        let (ours, theirs) = tokio::io::duplex(PIPE_BYTES);
        tokio::spawn(crate::net::connection::serve(
            theirs,
            peer,
            core.clone(),
            shutdown.clone(),
            Vec::new(),
        ));
        let (read, write) = tokio::io::split(ours);
        let mut reader = FramedRead::new(read, ClientCodec::new(MAX_REPLY));
        let mut writer = FramedWrite::new(write, ClientCodec::new(MAX_REPLY));
        let hello = ConnectRequest {
            time_out: TIMEOUT_MS,
            passwd: Bytes::from_static(&[0; 16]),
            read_only: Some(false),
            ..Default::default()
        };
        writer
            .send(&hello)
            .await
            .map_err(|_| ErrorCode::ConnectionLoss)?;
        let (id, timeout) = match tokio::time::timeout(REPLY_WAIT, reader.next()).await {
            Ok(Some(Ok(ClientFrame::Connect(r)))) if r.session_id != 0 => {
                (r.session_id, r.time_out)
            }
            _ => return Err(ErrorCode::ConnectionLoss),
        };
        let (calls, rx) = mpsc::channel(64);
        let ended = CancellationToken::new();
        let ping = Duration::from_millis(u64::try_from(timeout.max(3_000) / 3).unwrap_or(10_000));
        let last_used = Arc::new(Mutex::new(Instant::now()));
        let waiting = Waiting::default();
        tokio::spawn(write_calls(
            writer,
            rx,
            ping,
            last_used.clone(),
            waiting.clone(),
            ended.clone(),
        ));
        tokio::spawn(read_replies(reader, waiting, ended.clone()));
        tracing::debug!(session_id = format_args!("0x{id:x}"), %peer, "console session opened");
        Ok(Arc::new(ZkSession {
            calls,
            id,
            user,
            last_used,
            ended,
        }))
    }

    /// Adds `scheme` credentials (`addauth`). The server ends the session
    /// on a refusal, as ZooKeeper does (a `digest` credential is never
    /// refused: a wrong password is only an identity no ACL names).
    pub(crate) async fn add_auth(&self, scheme: &str, auth: &[u8]) -> Result<(), ErrorCode> {
        let packet = Request::Auth(AuthPacket {
            kind: 0,
            scheme: scheme.to_owned(),
            auth: Bytes::copy_from_slice(auth),
        });
        self.call_xid(jute::xid::AUTH, packet).await.map(|_| ())
    }

    /// Sends `request` and waits for its reply: the reply's body, or its
    /// error code (`CONNECTIONLOSS` if the session's stream ended).
    pub(crate) async fn call(&self, request: Request) -> Reply {
        self.call_xid(0, request).await
    }

    async fn call_xid(&self, xid: i32, request: Request) -> Reply {
        if let Ok(mut at) = self.last_used.lock() {
            *at = Instant::now();
        }
        let (reply, rx) = oneshot::channel();
        let op = request.opcode();
        let call = Call {
            xid,
            op,
            request,
            reply,
        };
        match tokio::time::timeout(REPLY_WAIT, self.calls.send(call)).await {
            Ok(Ok(())) => {}
            _ => return Err(ErrorCode::ConnectionLoss),
        }
        match tokio::time::timeout(REPLY_WAIT, rx).await {
            Ok(Ok(reply)) => reply,
            _ => Err(ErrorCode::ConnectionLoss),
        }
    }

    /// Whether the session's stream has ended (closed, expired, refused
    /// auth, server stopping).
    pub(crate) fn is_ended(&self) -> bool {
        self.ended.is_cancelled() || self.calls.is_closed()
    }

    /// How long since the console last used it.
    pub(crate) fn idle(&self) -> Duration {
        self.last_used
            .lock()
            .map(|at| at.elapsed())
            .unwrap_or_default()
    }

    /// Ends the session (`closeSession`), so its ephemerals go at once.
    pub(crate) async fn close(&self) {
        let _ = self.call(Request::CloseSession).await;
        self.ended.cancel();
    }
}

/// Fails every call still waiting (the stream ended).
fn fail_waiting(waiting: &Waiting) {
    let drained: Vec<_> = match waiting.lock() {
        Ok(mut w) => w.drain().collect(),
        Err(_) => return,
    };
    for (_, (_, reply)) in drained {
        let _ = reply.send(Err(ErrorCode::ConnectionLoss));
    }
}

/// The writer task: sends calls (registered in `waiting` first) and
/// pings; closes the session once unused for [`IDLE`].
async fn write_calls(
    mut out: FramedWrite<WriteHalf<DuplexStream>, ClientCodec>,
    mut calls: mpsc::Receiver<Call>,
    ping: Duration,
    last_used: Arc<Mutex<Instant>>,
    waiting: Waiting,
    ended: CancellationToken,
) {
    let mut next_xid = 0i32;
    let mut ticker = tokio::time::interval(ping);
    ticker.tick().await;
    loop {
        let (xid, op, request) = tokio::select! {
            () = ended.cancelled() => break,
            call = calls.recv() => {
                let Some(call) = call else { break };
                let xid = if call.xid == 0 {
                    next_xid = if next_xid >= CLOSE_XID - 1 { 1 } else { next_xid + 1 };
                    next_xid
                } else {
                    call.xid
                };
                if let Ok(mut w) = waiting.lock() {
                    w.insert(xid, (call.op, call.reply));
                }
                ticker.reset();
                (xid, call.op, call.request)
            }
            _ = ticker.tick() => {
                let idle = last_used.lock().map(|at| at.elapsed()).unwrap_or_default();
                if idle >= IDLE {
                    tracing::debug!(idle_s = idle.as_secs(), "console session closed for idleness");
                    let (reply, _) = oneshot::channel();
                    if let Ok(mut w) = waiting.lock() {
                        w.insert(CLOSE_XID, (OpCode::CloseSession, reply));
                    }
                    (CLOSE_XID, OpCode::CloseSession, Request::CloseSession)
                } else {
                    (jute::xid::PING, OpCode::Ping, Request::Ping)
                }
            }
        };
        let header = RequestHeader { xid, op: op.into() };
        if out.send((header, &request)).await.is_err() {
            break;
        }
    }
    // The server answers a closeSession and then closes the stream, which
    // ends the reader; otherwise end it here.
    ended.cancel();
    fail_waiting(&waiting);
}

/// The reader task: matches replies to calls by xid, skips pings'
/// replies and notifications (the console sets no watches).
async fn read_replies(
    mut replies: FramedRead<ReadHalf<DuplexStream>, ClientCodec>,
    waiting: Waiting,
    ended: CancellationToken,
) {
    loop {
        let frame = tokio::select! {
            () = ended.cancelled() => break,
            frame = replies.next() => frame,
        };
        let Some(Ok(ClientFrame::Reply { header, body })) = frame else {
            break;
        };
        let Some((op, reply)) = waiting.lock().ok().and_then(|mut w| w.remove(&header.xid)) else {
            continue;
        };
        let answer = if header.err != 0 {
            Err(ErrorCode::try_from(header.err).unwrap_or(ErrorCode::SystemError))
        } else {
            Response::decode(op, header.err, &body).map_err(|_| ErrorCode::MarshallingError)
        };
        let _ = reply.send(answer);
    }
    ended.cancel();
    fail_waiting(&waiting);
}
