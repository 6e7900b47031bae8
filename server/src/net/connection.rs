//! One task per client socket: the handshake, then requests in order. A
//! writer task owns the socket's write half and drains the session's
//! outbound queue, the only path to the socket, so replies and
//! notifications leave in the order they were queued.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesOrdered;
use jute::proto::{ConnectRequest, ConnectResponse};
use jute::{Frame, OpCode, ServerCodec};
use rand::RngCore;
use storage::CommandOp;
use tokio::io::{AsyncRead, AsyncWrite, WriteHalf};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, debug_span, info, info_span};

use crate::core::{Attached, Core, NO_REPLY, Outgoing, negotiate_timeout};
use crate::monitor::stats::Conn;
use crate::net::framing::{FrameReader, FrameWriter};
use crate::pipeline::{self, Next, Step};
use crate::session::SessionCtx;

static CONN_IDS: AtomicU64 = AtomicU64::new(1);

/// Most writes of one session in flight at once.
const MAX_PIPELINED_WRITES: usize = 1024;

/// A write of this session on its way through Raft: whether it was
/// applied, when its request arrived, its xid and opcode.
type InFlight = std::pin::Pin<Box<dyn std::future::Future<Output = Done> + Send>>;

/// A request that was answered (or failed): whether it succeeded, when it
/// arrived, its xid and opcode.
type Done = (bool, Instant, i32, i32);

/// Accounts for an answered request; false if it failed (close the
/// connection).
fn finished(core: &Core, conn: &Conn, (ok, started, xid, op): Done) -> bool {
    let latency = started.elapsed();
    core.stats.request(pipeline::is_write(op), latency);
    core.metrics.request(op, latency);
    conn.queued.fetch_sub(1, Ordering::Relaxed);
    conn.answered(op, xid, latency);
    ok
}

/// A client's byte stream: a TCP socket, or TLS over one.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for S {}

type Sink<S> = FrameWriter<WriteHalf<S>>;

/// Serves one connection until the client leaves, misbehaves, its session
/// ends, or the server shuts down.
///
/// `ids` are what the transport proved (a TLS client certificate's
/// `x509` id), the session's from the start besides its address.
pub(crate) async fn serve<S: Stream>(
    socket: S,
    peer: SocketAddr,
    core: Arc<Core>,
    shutdown: CancellationToken,
    ids: Vec<jute::Id>,
) {
    let conn_id = CONN_IDS.fetch_add(1, Ordering::Relaxed);
    let span = info_span!("conn", %peer, conn_id, session_id = tracing::field::Empty);
    async move {
        let counted = core.stats.connection(conn_id, peer);
        let conn = counted.conn.clone();
        let mut framed = FrameReader::new(socket, ServerCodec::new(core.config.max_frame_len));
        // ZooKeeper drops connections that never complete a handshake.
        let first = tokio::select! {
            _ = shutdown.cancelled() => return,
            first = tokio::time::timeout(core.config.min_session_timeout, framed.next()) => first,
        };
        let connect = match first {
            Ok(Some(Ok(Frame::Connect(req)))) => req,
            Ok(Some(Ok(Frame::FourLetter { word, .. }))) => {
                // ZooKeeper counts the word as a packet received.
                core.stats.received();
                conn.received.fetch_add(1, Ordering::Relaxed);
                conn.four_letter.store(true, Ordering::Relaxed);
                Box::pin(crate::monitor::four_letter::answer(framed.into_inner(), word, &core)).await;
                return;
            }
            Ok(Some(Err(e))) => {
                core.metrics.error(crate::monitor::metrics::class::MALFORMED_FRAME);
                debug!(error = %e, "bad handshake; closing");
                return;
            }
            Ok(Some(Ok(Frame::Request { .. }))) | Ok(None) | Err(_) => return,
        };
        let mut write_half = None;
        let mut stream = framed.map_io(|socket| {
            let (read, write) = tokio::io::split(socket);
            write_half = Some(write);
            read
        });
        let Some(write_half) = write_half else { return };
        let sink = FrameWriter::new(write_half, ServerCodec::new(core.config.max_frame_len));
        let (tx, rx) = crate::core::outbound(core.config.max_outbound_bytes, &core.outbound_total);
        let overflowed = rx.overflowed.clone();
        let closing = CancellationToken::new();
        let writer = tokio::spawn(write_loop(sink, rx, closing.clone(), core.clone(), conn.clone()));

        let Some(mut session) = Box::pin(handshake(&core, &connect, peer, conn_id, &tx, &ids)).await else {
            core.metrics.error(crate::monitor::metrics::class::HANDSHAKE_REFUSED);
            let _ = tx.send(Outgoing::Close);
            let _ = writer.await;
            return;
        };
        tracing::Span::current().record("session_id", format_args!("0x{:x}", session.id));
        conn.session.store(session.id, Ordering::Relaxed);
        conn.timeout_ms.store(
            i64::try_from(session.timeout.as_millis()).unwrap_or(i64::MAX),
            Ordering::Relaxed,
        );
        conn.established_ms.store(crate::core::now_ms(), Ordering::Relaxed);

        // Writes of this session in flight, oldest first: a session may have
        // several (they stay in order through the proposer); anything else
        // waits until they are all applied.
        let mut in_flight: FuturesOrdered<InFlight> = FuturesOrdered::new();
        let mut closing_after = false;
        let mut barrier = false;
        // While the client is behind on its replies, its requests wait:
        // the writer's progress then, and since when it has made none.
        let mut stalled: Option<(u64, Instant)> = None;
        'serve: loop {
            let backed_up = tx.backed_up();
            if backed_up != stalled.is_some() {
                tx.set_paused(backed_up);
                stalled = backed_up.then(|| (tx.taken(), Instant::now()));
                debug!(backed_up, "outbound queue");
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = closing.cancelled() => break,
                _ = overflowed.cancelled() => {
                    core.metrics.error(crate::monitor::metrics::class::OUTBOUND_OVERFLOW);
                    break;
                }
                () = tx.drained(), if backed_up => {
                    let Some((taken, since)) = stalled else { continue };
                    let now = tx.taken();
                    if now != taken {
                        // The client reads, slowly: its session is alive
                        // though its pings wait behind the replies.
                        stalled = Some((now, Instant::now()));
                        let mut st = core.lock();
                        if st.host.attached.get(&session.id).is_some_and(|a| a.conn_id == session.conn_id) {
                            st.host.touch(session.id, session.timeout);
                        }
                    } else if since.elapsed() >= session.timeout / 2 {
                        // Closed while the session lives, so that the
                        // client can still resume it on a new connection
                        // (its own read timeout is two thirds of it).
                        core.metrics.error(crate::monitor::metrics::class::OUTBOUND_STALLED);
                        info!(
                            timeout_ms = session.timeout.as_millis(),
                            "client read none of its replies for half its session timeout; closing"
                        );
                        break;
                    }
                }
                Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                    if !finished(&core, &conn, done) || (closing_after && in_flight.is_empty()) {
                        break;
                    }
                }
                next = stream.next(), if !backed_up && !closing_after && in_flight.len() < MAX_PIPELINED_WRITES => {
                    let (header, body) = match next {
                        Some(Ok(Frame::Request { header, body })) => (header, body),
                        Some(Ok(other)) => {
                            debug!(?other, "unexpected frame after handshake; closing");
                            break;
                        }
                        Some(Err(e)) => {
                            core.metrics.error(crate::monitor::metrics::class::MALFORMED_FRAME);
                            info!(error = %e, "malformed frame; closing");
                            break;
                        }
                        None => {
                            debug!("client closed the connection");
                            break;
                        }
                    };
                    core.stats.received();
                    conn.received.fetch_add(1, Ordering::Relaxed);
                    conn.queued.fetch_add(1, Ordering::Relaxed);
                    let started = Instant::now();
                    // A read waits for the session's writes in flight; after
                    // a sync, everything waits for it (FIFO).
                    if barrier || !pipeline::is_write(header.op) {
                        barrier = false;
                        while let Some(done) = in_flight.next().await {
                            if !finished(&core, &conn, done) {
                                break 'serve;
                            }
                        }
                    }
                    if core.config.linearizable_reads
                        && pipeline::reads_tree(header.op)
                        && let Err(e) = Box::pin(core.sync()).await
                    {
                        debug!(error = %e, "linearizable read: no leader; closing");
                        break;
                    }
                    // At debug level: the fmt layer formats a span's fields
                    // when it is made, whether or not anything is logged in
                    // it, and at info nothing on the request path logs.
                    let span = debug_span!("request", xid = header.xid, op = header.op);
                    match span.in_scope(|| pipeline::serve(&core, &mut session, &tx, &header, &body)) {
                        Step::Done(Next::Continue) => {
                            finished(&core, &conn, (true, started, header.xid, header.op));
                        }
                        Step::Done(Next::Close) => break,
                        Step::Propose { op, then } => {
                            // Queued now, so the session's writes keep their order.
                            let done = core.submit(header.xid, session.id, session.auth().to_vec(), op, session.conn_id);
                            let core = core.clone();
                            in_flight.push_back(Box::pin(
                                async move {
                                    let result = done.await;
                                    if let Err(e) = &result {
                                        core.metrics.error(crate::monitor::metrics::class::PROPOSAL_FAILED);
                                        // Not committed (stopping, or no quorum): the
                                        // client sees the connection drop, as with
                                        // ZooKeeper, and retries.
                                        debug!(error = %e, "write not committed; closing");
                                    }
                                    (result.is_ok(), started, header.xid, header.op)
                                }
                                .instrument(span),
                            ));
                            closing_after = then == Next::Close;
                        }
                        Step::Sync(path) => {
                            let (core, tx, xid) = (core.clone(), tx.clone(), header.xid);
                            in_flight.push_back(Box::pin(
                                async move {
                                    match core.sync().await {
                                        Ok(()) => {
                                            pipeline::sync_done(&core, &tx, xid, path);
                                            (true, started, xid, OpCode::Sync.into())
                                        }
                                        Err(e) => {
                                            core.metrics.error(crate::monitor::metrics::class::PROPOSAL_FAILED);
                                            debug!(error = %e, "sync failed; closing");
                                            (false, started, xid, OpCode::Sync.into())
                                        }
                                    }
                                }
                                .instrument(span),
                            ));
                            barrier = true;
                        }
                        Step::Reconfig(ask) => {
                            let (core, tx, xid) = (core.clone(), tx.clone(), header.xid);
                            let (id, auth, conn_id) = (session.id, session.auth().to_vec(), session.conn_id);
                            in_flight.push_back(Box::pin(
                                async move {
                                    let ok = pipeline::reconfig(&core, &tx, xid, id, auth, conn_id, &ask).await;
                                    (ok, started, xid, OpCode::Reconfig.into())
                                }
                                .instrument(span),
                            ));
                            barrier = true;
                        }
                    }
                }
            }
        }
        tx.set_paused(false);
        core.replies.forget(conn_id);
        detach(&core, &session);
        let _ = tx.send(Outgoing::Close);
        let _ = writer.await;
    }
    .instrument(span)
    .await;
}

/// Answers a `ConnectRequest`: a new session (created through Raft), a
/// resumed one, or ZooKeeper's "expired" reply (timeout 0, session 0, zero
/// password) for an unknown session or a wrong password. A client that has
/// seen a newer zxid than this server is refused without a reply, as
/// ZooKeeper does, so it never goes back in time. The reply mirrors the
/// request's `readOnly` dialect.
async fn handshake(
    core: &Core,
    req: &ConnectRequest,
    peer: SocketAddr,
    conn_id: u64,
    tx: &crate::core::Outbound,
    ids: &[jute::Id],
) -> Option<SessionCtx> {
    if !core.serving() {
        if core.read_only() {
            return read_only_handshake(core, req, peer, conn_id, tx, ids);
        }
        // Not in touch with a quorum: ZooKeeper closes such connections
        // at once ("ZooKeeperServer not running"); the client tries the
        // next server.
        debug!("not serving: closing a new connection");
        return None;
    }
    let timeout = negotiate_timeout(&core.config, req.time_out);
    let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    let read_only = req.read_only.map(|_| false);
    let (id, passwd, new) = {
        let mut st = core.lock();
        if client_ahead(&st, req) {
            return None;
        }
        if req.session_id == 0 {
            (st.host.next_session_id(), new_password(), true)
        } else {
            match st.tree.sessions().get(req.session_id) {
                Some(info) if info.passwd == req.passwd => {
                    (req.session_id, info.passwd.clone(), false)
                }
                _ => {
                    info!(
                        session_id = format_args!("0x{:x}", req.session_id),
                        "session expired or wrong password"
                    );
                    answer_expired(tx, read_only);
                    return None;
                }
            }
        }
    };
    if new {
        let op = CommandOp::CreateSession {
            timeout_ms,
            passwd: passwd.clone(),
        };
        if let Err(e) = core.propose(NO_REPLY, id, Vec::new(), op).await {
            info!(error = %e, "could not create a session; closing");
            return None;
        }
    }
    let session = SessionCtx::new(id, timeout, conn_id, peer, ids, core.config.acl_schemes());
    let mut st = core.lock();
    if !st.tree.sessions().is_live(id) {
        // Closed (expired) between the check and here.
        return None;
    }
    attach(&mut st, session, tx, passwd, read_only)
}

/// Whether the client has seen a newer zxid than this server has applied
/// (ZooKeeper refuses it: the client would go back in time), logged.
fn client_ahead(st: &crate::core::State, req: &ConnectRequest) -> bool {
    let ahead = req.last_zxid_seen > st.tree.last_zxid();
    if ahead {
        info!(
            client_zxid = req.last_zxid_seen,
            our_zxid = st.tree.last_zxid(),
            "refusing a client that has seen a newer zxid"
        );
    }
    ahead
}

/// A new session's 16-byte password.
fn new_password() -> Bytes {
    let mut pw = [0u8; 16];
    rand::rng().fill_bytes(&mut pw);
    Bytes::copy_from_slice(&pw)
}

/// Answers a handshake for a session that is gone (or never was here):
/// timeout 0, which the client reads as expired.
fn answer_expired(tx: &crate::core::Outbound, read_only: Option<bool>) {
    let _ = tx.send(Outgoing::Connect(ConnectResponse {
        protocol_version: 0,
        time_out: 0,
        session_id: 0,
        passwd: Bytes::from_static(&[0; 16]),
        read_only,
    }));
}

/// Routes the session's traffic to this connection and answers the
/// handshake.
fn attach(
    st: &mut crate::core::State,
    session: SessionCtx,
    tx: &crate::core::Outbound,
    passwd: Bytes,
    read_only: Option<bool>,
) -> Option<SessionCtx> {
    let id = session.id;
    // A session that moves here leaves its old connection.
    let attached = Attached {
        conn_id: session.conn_id,
        tx: tx.clone(),
        auth: session.auth().to_vec(),
    };
    if let Some(old) = st.host.attached.insert(id, attached) {
        let _ = old.tx.send(Outgoing::Close);
    }
    // Watches belong to a connection (the client re-registers them with
    // setWatches when it reconnects).
    st.host.watches.remove_session(id);
    st.host.touch(id, session.timeout);
    let timeout_ms = i32::try_from(session.timeout.as_millis()).unwrap_or(i32::MAX);
    let _ = tx.send(Outgoing::Connect(ConnectResponse {
        protocol_version: 0,
        time_out: timeout_ms,
        session_id: id,
        passwd,
        read_only,
    }));
    debug!(
        session_id = format_args!("0x{id:x}"),
        timeout_ms,
        read_only = session.read_only,
        "session established"
    );
    Some(session)
}

/// The handshake of a member in read-only mode, as ZooKeeper's
/// `ReadOnlyZooKeeperServer` answers it: only a client that asked for a
/// read-only session is let in; a new session is a local one (with
/// `localSessionsEnabled`, as ZooKeeper 3.8 requires), known to this
/// member alone; a local one resumes with its password; any other session
/// is answered as expired, as ZooKeeper 3.8's read-only server answers a
/// global session ("Invalid session …, probably expired"), so the client
/// starts a new, read-only one.
fn read_only_handshake(
    core: &Core,
    req: &ConnectRequest,
    peer: SocketAddr,
    conn_id: u64,
    tx: &crate::core::Outbound,
    ids: &[jute::Id],
) -> Option<SessionCtx> {
    if req.read_only != Some(true) {
        debug!("read-only mode: refusing a read-write client");
        return None;
    }
    let timeout = negotiate_timeout(&core.config, req.time_out);
    let mut st = core.lock();
    if client_ahead(&st, req) {
        return None;
    }
    let (id, passwd) = if req.session_id == 0 {
        if !core.config.local_sessions_enabled {
            info!("read-only mode: a new session needs localSessionsEnabled=true; closing");
            return None;
        }
        let id = st.host.next_session_id();
        let pw = new_password();
        st.host.local_sessions.insert(id, pw.clone());
        (id, pw)
    } else {
        match st.host.local_sessions.get(&req.session_id) {
            Some(pw) if *pw == req.passwd => (req.session_id, pw.clone()),
            _ => {
                info!(
                    session_id = format_args!("0x{:x}", req.session_id),
                    "read-only mode: not a session of this member; answered as expired"
                );
                answer_expired(tx, Some(true));
                return None;
            }
        }
    };
    let mut session = SessionCtx::new(id, timeout, conn_id, peer, ids, core.config.acl_schemes());
    session.read_only = true;
    attach(&mut st, session, tx, passwd, Some(true))
}

/// Forgets this connection as its session's route (unless a newer one took
/// over). The session itself lives on until it expires or is closed.
fn detach(core: &Core, session: &SessionCtx) {
    let mut st = core.lock();
    if st
        .host
        .attached
        .get(&session.id)
        .is_some_and(|a| a.conn_id == session.conn_id)
    {
        st.host.attached.remove(&session.id);
        st.host.watches.remove_session(session.id);
    }
}

/// Drains the outbound queue into the socket, flushing whenever the queue
/// runs dry (so a burst of replies shares one write), until told to close.
async fn write_loop<S: Stream>(
    mut sink: Sink<S>,
    mut rx: crate::core::OutboundRx,
    closing: CancellationToken,
    core: Arc<Core>,
    conn: Arc<Conn>,
) {
    let overflowed = rx.overflowed.clone();
    loop {
        // A client that does not read has its writes cut short: the
        // socket may never take the rest.
        let msg = tokio::select! {
            _ = overflowed.cancelled() => break,
            m = rx.recv() => m,
        };
        let Some(msg) = msg else {
            break;
        };
        if matches!(msg, Outgoing::Close) {
            break;
        }
        core.stats.sent();
        conn.sent.fetch_add(1, Ordering::Relaxed);
        if let Outgoing::Frame(header, _) = &msg
            && header.xid >= 0
        {
            conn.replied(header.zxid);
            core.metrics.reply_error(header.err);
        }
        let written: Result<(), jute::CodecError> = tokio::select! {
            _ = overflowed.cancelled() => break,
            r = async {
                sink.feed(msg).await?;
                if rx.is_empty() {
                    sink.flush().await?;
                }
                Ok(())
            } => r,
        };
        if written.is_err() {
            break;
        }
    }
    let _ = sink.close().await;
    closing.cancel();
}
