//! The peer transport: Raft RPCs, forwarded writes, read-index requests and
//! the server's own messages between the members of an ensemble, over TCP
//! on the quorum port of their `server.N` lines.
//!
//! One connection per (sender, target) pair carries every kind of message,
//! each frame a `u32` length then a postcard [`Envelope`]. Calls are
//! multiplexed: each request carries an id and its response the same id,
//! so many calls share the connection at once (forwarded batches, votes
//! and appends do not wait for each other's round trips).
//!
//! ### Failure handling
//! - A connection is opened on first use and re-opened by the next call
//!   after it failed; calls in flight on a failed connection fail with it.
//! - Every call has a deadline (openraft's TTL for Raft RPCs); a late reply
//!   is dropped.
//! - Backpressure: a bounded queue per connection; callers wait for room.
//! - Bad frames from a peer close that connection only.
//! - [`Faults`] lets tests cut links (a partition) without touching the
//!   operating system.
//!
//! ### TLS
//! With [`PeerTls`] (ZooKeeper's `sslQuorum`) every connection is TLS
//! with mutual authentication: a member dials with its certificate and
//! checks the peer's against the trust store (and its address, with
//! hostname verification), and accepts only peers whose certificate the
//! trust store vouches for; a peer that fails the handshake is never
//! heard. With `portUnification` the quorum port also takes plaintext
//! peers (told apart by the first byte), for a rolling switch.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{Framed, LengthDelimitedCodec};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::{Batch, NodeId, Peer, Raft, TypeConfig};

/// Largest peer frame: an `AppendEntries` of many batches, or a snapshot
/// chunk. Peers are trusted as ZooKeeper trusts its quorum port, but a
/// length beyond this is still refused before anything is allocated.
pub const MAX_PEER_FRAME: usize = 256 << 20;
/// Calls queued per connection before callers wait.
const QUEUE: usize = 1024;
/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A message to a peer.
#[derive(Debug, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum PeerRequest {
    /// Raft replication.
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    /// Raft election.
    Vote(VoteRequest<NodeId>),
    /// One chunk of a snapshot.
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// Writes batched on a follower, for the leader to commit.
    Forward(Batch),
    /// "What must I have applied to be as current as the leader?" (`sync`,
    /// linearizable reads). The leader confirms its leadership with a
    /// quorum first.
    ReadIndex,
    /// A message of the server's own (session touches), handled by the
    /// [`AppHandler`].
    App(Vec<u8>),
}

/// A peer's answer.
#[derive(Debug, Serialize, Deserialize)]
pub enum PeerResponse {
    /// To [`PeerRequest::AppendEntries`].
    AppendEntries(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    /// To [`PeerRequest::Vote`].
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    /// To [`PeerRequest::InstallSnapshot`].
    InstallSnapshot(
        Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>,
    ),
    /// To [`PeerRequest::Forward`]: the log index of the committed entry.
    Forward(Result<u64, String>),
    /// To [`PeerRequest::ReadIndex`]: the index to have applied.
    ReadIndex(Result<u64, String>),
    /// To [`PeerRequest::App`].
    App(Vec<u8>),
}

/// What goes over the wire: who sends, the call id, the message.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope<T> {
    from: NodeId,
    id: u64,
    body: T,
}

/// TLS between members: how to dial peers and accept them.
#[derive(Clone)]
pub struct PeerTls {
    /// The connector (presents this member's certificate, checks the
    /// peer's) and the acceptor (requires a certificate the trust store
    /// vouches for) in use; replaced when the stores change.
    current: Arc<std::sync::RwLock<(tokio_rustls::TlsConnector, tokio_rustls::TlsAcceptor)>>,
    /// Dial with TLS (`sslQuorum=true`); otherwise plaintext, while the
    /// quorum port takes both (`portUnification` alone, mid-switch).
    pub dial_tls: bool,
    /// The quorum port takes plaintext peers too (`portUnification`).
    pub accept_plain: bool,
    /// How long a peer has to finish the handshake
    /// (`ssl.quorum.handshakeDetectionTimeoutMillis`).
    pub handshake_timeout: Duration,
}

impl PeerTls {
    /// TLS between members with `connector` and `acceptor`.
    pub fn new(
        connector: tokio_rustls::TlsConnector,
        acceptor: tokio_rustls::TlsAcceptor,
        dial_tls: bool,
        accept_plain: bool,
        handshake_timeout: Duration,
    ) -> Self {
        PeerTls {
            current: Arc::new(std::sync::RwLock::new((connector, acceptor))),
            dial_tls,
            accept_plain,
            handshake_timeout,
        }
    }

    /// Uses `connector` and `acceptor` from now on (new certificates):
    /// connections already made keep theirs.
    pub fn replace(
        &self,
        connector: tokio_rustls::TlsConnector,
        acceptor: tokio_rustls::TlsAcceptor,
    ) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = (connector, acceptor);
    }

    fn connector(&self) -> tokio_rustls::TlsConnector {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .clone()
    }

    fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clone()
    }
}

impl std::fmt::Debug for PeerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerTls")
            .field("dial_tls", &self.dial_tls)
            .field("accept_plain", &self.accept_plain)
            .finish_non_exhaustive()
    }
}

/// A peer connection's byte stream: TCP, or TLS over it.
trait PeerStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static {}
impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static> PeerStream for S {}

/// The name a peer's certificate is checked against: the host of its
/// `host:port` address.
pub(crate) fn server_name(
    addr: &str,
) -> io::Result<tokio_rustls::rustls::pki_types::ServerName<'static>> {
    let host = addr
        .rsplit_once(':')
        .map_or(addr, |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']');
    tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(io_other)
}

/// The server's handler for [`PeerRequest::App`] messages: the sender and
/// the payload in, the reply out (a future: some messages, such as a
/// `reconfig`, are answered only once the leader has done the work).
pub type AppHandler = Arc<
    dyn Fn(NodeId, Vec<u8>) -> std::pin::Pin<Box<dyn std::future::Future<Output = Vec<u8>> + Send>>
        + Send
        + Sync,
>;

/// Links a test has cut: traffic to or from these nodes is dropped here.
#[derive(Debug, Default)]
pub struct Faults {
    cut: Mutex<HashSet<NodeId>>,
}

impl Faults {
    /// Cuts (or restores) the link between this node and `peer`.
    pub fn set_cut(&self, peer: NodeId, cut: bool) {
        let mut set = self.cut.lock().unwrap_or_else(|p| p.into_inner());
        if cut {
            set.insert(peer);
        } else {
            set.remove(&peer);
        }
    }

    /// Whether the link to `peer` is cut.
    pub fn is_cut(&self, peer: NodeId) -> bool {
        self.cut
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&peer)
    }
}

/// For tests and benches: a port on 127.0.0.1 that nothing holds now and
/// that no other socket will be given before the caller binds it.
///
/// Asking the system (`bind` to port 0 and let go) races: the port goes
/// back to the ephemeral range, and the next `bind(0)` or outgoing
/// connection of a test running beside this one may take it first (a
/// server then finds its admin port taken and runs without it). The ports
/// here come from below the ephemeral range, where the system never hands
/// out a port by itself; each process walks its own stretch of them, from
/// an offset drawn from its id, and never gives one out twice.
pub fn unused_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 10_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    // The ephemeral range's first port (Linux's default when unreadable).
    let high = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32_768);
    let span = high.saturating_sub(LOW);
    if span < 1_000 {
        // No room below the ephemeral range: ask the system.
        return std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port on 127.0.0.1: {e}"));
    }
    let start = std::process::id().wrapping_mul(7_919) % span;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        assert!(n < span, "every port in {LOW}..{high} was taken");
        let port = LOW + (start + n) % span;
        let port = u16::try_from(port).unwrap_or_else(|_| panic!("port {port} out of range"));
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn io_other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// A call waiting for its reply.
struct Call {
    body: PeerRequest,
    reply: oneshot::Sender<PeerResponse>,
}

/// The client side of the connection to one peer.
struct PeerConn {
    target: NodeId,
    addr: String,
    queue: tokio::sync::Mutex<Option<mpsc::Sender<Call>>>,
    tls: Option<PeerTls>,
}

impl PeerConn {
    /// The connection's queue, connecting first if there is none.
    async fn sender(&self, me: NodeId) -> io::Result<mpsc::Sender<Call>> {
        let mut q = self.queue.lock().await;
        if let Some(tx) = q.as_ref().filter(|tx| !tx.is_closed()) {
            return Ok(tx.clone());
        }
        let socket = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&self.addr))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        socket.set_nodelay(true)?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let span = info_span!("peer_out", me, target_node = self.target);
        match self.tls.as_ref().filter(|t| t.dial_tls) {
            Some(tls) => {
                let name = server_name(&self.addr)?;
                let stream = tokio::time::timeout(
                    tls.handshake_timeout,
                    tls.connector().connect(name, socket),
                )
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))?
                .inspect_err(|e| {
                    warn!(target_node = self.target, addr = %self.addr, error = %e, "TLS handshake with a peer failed");
                })?;
                debug!(target_node = self.target, addr = %self.addr, "peer connection open (TLS)");
                tokio::spawn(run_client(stream, me, rx).instrument(span));
            }
            None => {
                debug!(target_node = self.target, addr = %self.addr, "peer connection open");
                tokio::spawn(run_client(socket, me, rx).instrument(span));
            }
        }
        *q = Some(tx.clone());
        Ok(tx)
    }
}

/// Drives one outgoing connection: sends queued calls, matches replies to
/// them by id. Ends (failing every call in flight) on any error.
async fn run_client<S: PeerStream>(socket: S, me: NodeId, mut rx: mpsc::Receiver<Call>) {
    let codec = LengthDelimitedCodec::builder()
        .max_frame_length(MAX_PEER_FRAME)
        .new_codec();
    let mut framed = Framed::new(socket, codec);
    let mut pending: HashMap<u64, oneshot::Sender<PeerResponse>> = HashMap::new();
    let mut next_id = 0u64;
    loop {
        tokio::select! {
            call = rx.recv() => {
                let Some(call) = call else { return };
                next_id += 1;
                let env = Envelope { from: me, id: next_id, body: call.body };
                let bytes = match postcard::to_allocvec(&env) {
                    Ok(b) => b,
                    Err(e) => {
                        warn!(error = %e, "cannot encode a peer request");
                        continue;
                    }
                };
                pending.insert(next_id, call.reply);
                if let Err(e) = framed.send(Bytes::from(bytes)).await {
                    debug!(error = %e, "peer connection failed (send)");
                    return;
                }
            }
            frame = framed.next() => {
                let frame = match frame {
                    Some(Ok(f)) => f,
                    Some(Err(e)) => {
                        debug!(error = %e, "peer connection failed (receive)");
                        return;
                    }
                    None => return,
                };
                match postcard::from_bytes::<Envelope<PeerResponse>>(&frame) {
                    Ok(env) => {
                        if let Some(reply) = pending.remove(&env.id) {
                            let _ = reply.send(env.body);
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, "bad frame from a peer; closing");
                        return;
                    }
                }
            }
        }
    }
}

/// Clients to every peer of one server, shared by its Raft and its
/// forwarding path.
#[derive(Clone)]
pub struct PeerClients {
    me: NodeId,
    faults: Arc<Faults>,
    conns: Arc<Mutex<HashMap<NodeId, Arc<PeerConn>>>>,
    tls: Option<PeerTls>,
}

impl std::fmt::Debug for PeerClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerClients")
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

impl PeerClients {
    /// Clients of server `me`, subject to `faults`, over TLS with `tls`.
    pub fn new(me: NodeId, faults: Arc<Faults>, tls: Option<PeerTls>) -> Self {
        PeerClients {
            me,
            faults,
            conns: Arc::default(),
            tls,
        }
    }

    /// The connection to `target`, a new one if there is none yet or the
    /// member moved to another address (a new configuration).
    fn conn(&self, target: NodeId, addr: &str) -> Arc<PeerConn> {
        let mut conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        match conns.get(&target) {
            Some(c) if c.addr == addr => c.clone(),
            _ => {
                let c = Arc::new(PeerConn {
                    target,
                    addr: addr.to_owned(),
                    queue: tokio::sync::Mutex::new(None),
                    tls: self.tls.clone(),
                });
                conns.insert(target, c.clone());
                c
            }
        }
    }

    /// Sends `body` to `target` at `addr` and waits for its answer, at most
    /// `timeout`.
    ///
    /// # Errors
    /// The link is cut, the peer cannot be reached, or it did not answer in
    /// time.
    pub async fn call(
        &self,
        target: NodeId,
        addr: &str,
        body: PeerRequest,
        timeout: Duration,
    ) -> io::Result<PeerResponse> {
        let work = async {
            let wait = self.send(target, addr, body).await?;
            wait.await
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "peer call timed out"))?
    }

    /// Queues `body` for `target` and returns once it is queued on the
    /// connection (calls queued one after another are sent in that
    /// order); the returned future is the reply.
    ///
    /// # Errors
    /// The link is cut or the peer cannot be reached.
    pub async fn send(
        &self,
        target: NodeId,
        addr: &str,
        body: PeerRequest,
    ) -> io::Result<impl std::future::Future<Output = io::Result<PeerResponse>> + use<>> {
        if self.faults.is_cut(target) {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                format!("link to node {target} is cut"),
            ));
        }
        let conn = self.conn(target, addr);
        let tx = conn.sender(self.me).await?;
        let (reply, wait) = oneshot::channel();
        tx.send(Call { body, reply })
            .await
            .map_err(|_| io_other("peer connection closed"))?;
        Ok(async move {
            wait.await
                .map_err(|_| io_other("peer connection lost before the reply"))
        })
    }
}

/// openraft's network factory over [`PeerClients`].
#[derive(Clone, Debug)]
pub struct Network {
    clients: PeerClients,
}

impl Network {
    /// The network of a server whose peer clients are `clients`.
    pub fn new(clients: PeerClients) -> Self {
        Network { clients }
    }
}

/// openraft's client to one peer.
#[derive(Debug)]
pub struct PeerClient {
    clients: PeerClients,
    target: NodeId,
    addr: String,
}

impl PeerClient {
    async fn call<E: std::error::Error>(
        &self,
        body: PeerRequest,
        option: &RPCOption,
    ) -> Result<PeerResponse, RPCError<NodeId, Peer, E>> {
        self.clients
            .call(self.target, &self.addr, body, option.hard_ttl())
            .await
            .map_err(|e| match e.kind() {
                io::ErrorKind::TimedOut => RPCError::Network(NetworkError::new(&e)),
                _ => RPCError::Unreachable(Unreachable::new(&e)),
            })
    }

    fn unexpected<E: std::error::Error>(&self, got: &PeerResponse) -> RPCError<NodeId, Peer, E> {
        let e = io_other(format!(
            "node {} answered out of turn: {got:?}",
            self.target
        ));
        RPCError::Network(NetworkError::new(&e))
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Peer, RaftError<NodeId>>> {
        match self.call(PeerRequest::AppendEntries(rpc), &option).await? {
            PeerResponse::AppendEntries(r) => {
                r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            other => Err(self.unexpected(&other)),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, Peer, RaftError<NodeId, InstallSnapshotError>>,
    > {
        match self
            .call(PeerRequest::InstallSnapshot(rpc), &option)
            .await?
        {
            PeerResponse::InstallSnapshot(r) => {
                r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            other => Err(self.unexpected(&other)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, Peer, RaftError<NodeId>>> {
        match self.call(PeerRequest::Vote(rpc), &option).await? {
            PeerResponse::Vote(r) => {
                r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            other => Err(self.unexpected(&other)),
        }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &Peer) -> PeerClient {
        PeerClient {
            clients: self.clients.clone(),
            target,
            addr: node.raft_addr.clone(),
        }
    }
}

/// Serves peers on `listener` until `shutdown`: Raft RPCs go to `raft`,
/// forwarded batches are committed through it (when this server leads),
/// and [`PeerRequest::App`] messages go to `app`. With `tls`, peers
/// connect over TLS (and, with `accept_plain`, in plaintext too). While
/// `abstain` is set, vote requests are refused and a leader's death
/// starts no quick election here.
#[allow(clippy::too_many_arguments)]
pub async fn serve(
    listener: TcpListener,
    raft: Raft,
    me: NodeId,
    app: AppHandler,
    abstain: crate::Abstain,
    faults: Arc<Faults>,
    tls: Option<PeerTls>,
    shutdown: CancellationToken,
) {
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, tls = tls.is_some(), "listening for peers");
    }
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((socket, addr)) => {
                let _ = socket.set_nodelay(true);
                let span = info_span!("peer_in", me, %addr);
                let (raft, app, abstain, faults, shutdown, tls) = (
                    raft.clone(),
                    app.clone(),
                    abstain.clone(),
                    faults.clone(),
                    shutdown.clone(),
                    tls.clone(),
                );
                tokio::spawn(
                    async move {
                        let Some(tls) = tls else {
                            return serve_conn(socket, raft, me, app, abstain, faults, shutdown)
                                .await;
                        };
                        if tls.accept_plain && !starts_tls(&socket, tls.handshake_timeout).await {
                            return serve_conn(socket, raft, me, app, abstain, faults, shutdown)
                                .await;
                        }
                        match tokio::time::timeout(
                            tls.handshake_timeout,
                            tls.acceptor().accept(socket),
                        )
                        .await
                        {
                            Ok(Ok(stream)) => {
                                serve_conn(stream, raft, me, app, abstain, faults, shutdown).await
                            }
                            Ok(Err(e)) => {
                                warn!(error = %e, "a peer failed the TLS handshake; closing")
                            }
                            Err(_) => {
                                warn!("a peer did not finish the TLS handshake in time; closing")
                            }
                        }
                    }
                    .instrument(span),
                );
            }
            Err(e) => {
                warn!(error = %e, "peer accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Whether a peer opens with a TLS handshake record (content type 22), as
/// ZooKeeper's `UnifiedServerSocket` tells TLS from plaintext, waiting at
/// most `limit` for its first byte. The client port's unified mode asks
/// it too.
pub async fn starts_tls(socket: &TcpStream, limit: Duration) -> bool {
    let mut first = [0u8; 1];
    matches!(
        tokio::time::timeout(limit, socket.peek(&mut first)).await,
        Ok(Ok(1)) if first[0] == 0x16
    )
}

async fn serve_conn<S: PeerStream>(
    socket: S,
    raft: Raft,
    me: NodeId,
    app: AppHandler,
    abstain: crate::Abstain,
    faults: Arc<Faults>,
    shutdown: CancellationToken,
) {
    let codec = LengthDelimitedCodec::builder()
        .max_frame_length(MAX_PEER_FRAME)
        .new_codec();
    let (mut sink, mut stream) = Framed::new(socket, codec).split();
    let (tx, mut rx) = mpsc::channel::<(u64, PeerResponse)>(QUEUE);
    let writer = tokio::spawn(async move {
        while let Some((id, body)) = rx.recv().await {
            let env = Envelope { from: me, id, body };
            let Ok(bytes) = postcard::to_allocvec(&env) else {
                continue;
            };
            if sink.send(Bytes::from(bytes)).await.is_err() {
                return;
            }
        }
    });
    // Who is on the other end, and whether it went away (rather than
    // this member stopping, or a test's partition).
    let mut peer = None;
    let mut peer_went = false;
    loop {
        let frame = tokio::select! {
            _ = shutdown.cancelled() => break,
            f = stream.next() => f,
        };
        let frame = match frame {
            Some(Ok(f)) => f,
            Some(Err(e)) => {
                debug!(error = %e, "peer connection failed");
                peer_went = true;
                break;
            }
            None => {
                peer_went = true;
                break;
            }
        };
        let env = match postcard::from_bytes::<Envelope<PeerRequest>>(&frame) {
            Ok(env) => env,
            Err(e) => {
                warn!(error = %e, "bad frame from a peer; closing");
                break;
            }
        };
        if faults.is_cut(env.from) {
            // A partition: this peer's traffic never arrived.
            break;
        }
        peer = Some(env.from);
        let (id, from, tx) = (env.id, env.from, tx.clone());
        match env.body {
            // Submitted here, in arrival order, so a follower's batches
            // are committed in the order it sent them.
            PeerRequest::Forward(batch) => {
                let submitted = raft.client_write_ff(batch).await;
                tokio::spawn(async move {
                    let r = match submitted {
                        Err(e) => Err(e.to_string()),
                        Ok(rx) => match rx.await {
                            Ok(Ok(resp)) => Ok(resp.log_id.index),
                            Ok(Err(e)) => Err(e.to_string()),
                            Err(e) => Err(e.to_string()),
                        },
                    };
                    let _ = tx.send((id, PeerResponse::Forward(r))).await;
                });
            }
            body => {
                let (raft, app, abstain) = (raft.clone(), app.clone(), abstain.clone());
                tokio::spawn(async move {
                    let r = match body {
                        PeerRequest::Vote(rpc) if abstain.is_set() => {
                            let vote = raft.metrics().borrow().vote;
                            debug!(candidate = %rpc.vote, "abstaining: vote refused");
                            PeerResponse::Vote(Ok(VoteResponse {
                                vote,
                                vote_granted: false,
                                last_log_id: None,
                            }))
                        }
                        PeerRequest::AppendEntries(rpc) => {
                            PeerResponse::AppendEntries(raft.append_entries(rpc).await)
                        }
                        PeerRequest::Vote(rpc) => PeerResponse::Vote(raft.vote(rpc).await),
                        PeerRequest::InstallSnapshot(rpc) => {
                            PeerResponse::InstallSnapshot(raft.install_snapshot(rpc).await)
                        }
                        PeerRequest::ReadIndex => PeerResponse::ReadIndex(
                            raft.get_read_log_id()
                                .await
                                .map(|(read, _)| read.map_or(0, |l| l.index))
                                .map_err(|e| e.to_string()),
                        ),
                        PeerRequest::App(bytes) => PeerResponse::App(app(from, bytes).await),
                        PeerRequest::Forward(_) => return,
                    };
                    let _ = tx.send((id, r)).await;
                });
            }
        }
    }
    drop(tx);
    let _ = writer.await;
    if let Some(peer) = peer.filter(|_| peer_went && !shutdown.is_cancelled() && !abstain.is_set())
    {
        tokio::spawn(crate::election::peer_gone(raft, me, peer));
    }
}

/// Resolves `host:port` (a `server.N` address) for binding.
///
/// # Errors
/// The name does not resolve.
pub async fn resolve(addr: &str) -> io::Result<SocketAddr> {
    tokio::net::lookup_host(addr)
        .await?
        .next()
        .ok_or_else(|| io_other(format!("{addr} does not resolve")))
}
