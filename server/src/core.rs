//! `Core`: what a server shares between its connections — the Raft handle
//! and the replica: the tree plus this server's own state (watches, the
//! outbound queue of every connected session, session deadlines), all
//! behind the one replica lock.
//!
//! ### Lock rule
//! Every enqueue onto a session's outbound queue happens while the replica
//! lock is held: a write's notifications and its reply are queued when the
//! entry is applied (in `ServerHost::applied`), a read's reply while it
//! reads. So notifications precede any reply that reflects a later state,
//! and a read's reply (which may register a watch) precedes any
//! notification of a later change. Nothing `.await`s under the lock.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::MutexGuard;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use consensus::{NodeConfig, NodeId, Peer, Proposal, Proposer, Raft, Replica, SharedReplica};
use jute::proto::{ConnectResponse, ReplyHeader, Response};
use jute::{Encode, Id, Perms, xid};
use storage::{ApplyOutcome, Command, CommandOp, Tree, TreeConfig};

use crate::Config;
use crate::watch::WatchManager;

/// What a connection's writer sends: a frame, or the order to close.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// The handshake reply.
    Connect(ConnectResponse),
    /// One reply or notification.
    Frame(ReplyHeader, Response),
    /// Flush what came before, then close the socket.
    Close,
}

impl Encode for Outgoing {
    fn encode(&self, buf: &mut BytesMut) {
        match self {
            Outgoing::Connect(rsp) => rsp.encode(buf),
            Outgoing::Frame(header, body) => {
                header.encode(buf);
                body.encode(buf);
            }
            Outgoing::Close => {}
        }
    }

    fn encoded_len(&self) -> usize {
        match self {
            Outgoing::Connect(rsp) => rsp.encoded_len(),
            Outgoing::Frame(header, body) => header.encoded_len() + body.encoded_len(),
            Outgoing::Close => 0,
        }
    }
}

/// The sending side of a connection's outbound queue, bounded by bytes
/// (`corral.maxOutboundBytes`): a client that stops reading its socket
/// while replies and notifications keep coming would otherwise grow the
/// server's memory without limit.
///
/// - Past half the bound the connection is *backed up*: its requests are
///   not read (as ZooKeeper stops reading a throttled connection), so its
///   own reads cannot add to the queue; see [`Outbound::backed_up`].
/// - Notifications still come. A frame that would pass the bound
///   overflows the connection: nothing more is queued and it closes (its
///   writer stops at once, even mid-write).
/// - Every connection's queue counts toward one total
///   (`corral.maxOutboundBytesTotal`): a connection holding at least
///   [`SMALL_QUEUE`] is backed up while the total is past half its bound,
///   and overflows on a frame that would pass it.
///
/// The session lives on; the client reconnects and sets its watches
/// again, as after any lost connection.
#[derive(Debug)]
pub(crate) struct Outbound {
    queue: std::sync::Arc<Queue>,
    limit: usize,
    total: std::sync::Arc<OutboundTotal>,
}

/// A queue that holds less than this is never backed up or overflowed
/// for the total's sake: the total's bound is then passed by at most this
/// much per connection, and a quiet client is never cut off because
/// another backed up.
pub(crate) const SMALL_QUEUE: usize = 1 << 20;

/// What a queued frame takes in memory besides its encoded bytes: its slot
/// in the queue and the allocator's headers of the strings it holds
/// (a notification of a short path takes several times its wire size).
const FRAME_OVERHEAD: usize = std::mem::size_of::<(Outgoing, usize)>() + 32;

/// The frames of a queue, and whether it can still take more.
///
/// A `VecDeque` that grows with what is queued (and gives a burst's room
/// back once drained) rather than tokio's channel, which allocates a block
/// of 32 slots (4 KiB here) for every connection, idle or not.
#[derive(Debug, Default)]
struct Frames {
    /// Each frame with its size in memory (see [`FRAME_OVERHEAD`]),
    /// counted once.
    queued: std::collections::VecDeque<(Outgoing, usize)>,
    /// The writer is gone: nothing more is taken.
    closed: bool,
    /// Live [`Outbound`]s: with none, the writer has seen everything.
    senders: usize,
}

/// Capacity a drained queue keeps (frames); a larger one is given back.
const KEPT_SLOTS: usize = 8;

/// What a queue's two ends share.
#[derive(Debug, Default)]
struct Queue {
    frames: std::sync::Mutex<Frames>,
    /// A frame was queued, or the last sender went.
    ready: tokio::sync::Notify,
    bytes: std::sync::atomic::AtomicUsize,
    /// Frames the writer has taken off: its progress.
    taken: std::sync::atomic::AtomicU64,
    /// Whether the reader waits for the writer ([`Outbound::drained`]).
    paused: AtomicBool,
    drained: tokio::sync::Notify,
    overflowed: tokio_util::sync::CancellationToken,
}

/// What every connection's outbound queue holds together.
#[derive(Debug)]
pub(crate) struct OutboundTotal {
    /// Bytes queued on every connection.
    pub bytes: std::sync::atomic::AtomicUsize,
    /// `corral.maxOutboundBytesTotal`.
    pub limit: usize,
    /// Connections whose requests are not being read now.
    pub paused: std::sync::atomic::AtomicUsize,
}

impl OutboundTotal {
    /// An empty total bounded by `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        OutboundTotal {
            bytes: std::sync::atomic::AtomicUsize::new(0),
            limit,
            paused: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

/// A frame not queued: its connection is gone or was cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gone;

/// The receiving side, for the connection's writer.
#[derive(Debug)]
pub(crate) struct OutboundRx {
    queue: std::sync::Arc<Queue>,
    total: std::sync::Arc<OutboundTotal>,
    /// Cancelled when the queue overflowed.
    pub overflowed: tokio_util::sync::CancellationToken,
}

/// A connection's outbound queue holding at most `limit` bytes of frames,
/// counted in `total` too.
pub(crate) fn outbound(
    limit: usize,
    total: &std::sync::Arc<OutboundTotal>,
) -> (Outbound, OutboundRx) {
    let queue = std::sync::Arc::new(Queue::default());
    queue.lock().senders = 1;
    (
        Outbound {
            queue: queue.clone(),
            limit,
            total: total.clone(),
        },
        OutboundRx {
            overflowed: queue.overflowed.clone(),
            queue,
            total: total.clone(),
        },
    )
}

impl Outbound {
    /// Queues `msg`, unless the queue or the total would pass its bound:
    /// then the connection is overflowed and `msg` dropped.
    ///
    /// # Errors
    /// [`Gone`]: the connection is gone or overflowed.
    pub(crate) fn send(&self, msg: Outgoing) -> Result<(), Gone> {
        if self.queue.overflowed.is_cancelled() {
            return Err(Gone);
        }
        let len = msg.encoded_len() + FRAME_OVERHEAD;
        let before = self.queue.bytes.fetch_add(len, Ordering::SeqCst);
        let total_before = self.total.bytes.fetch_add(len, Ordering::SeqCst);
        let undo = || {
            self.queue.bytes.fetch_sub(len, Ordering::SeqCst);
            self.total.bytes.fetch_sub(len, Ordering::SeqCst);
        };
        if !matches!(msg, Outgoing::Close) {
            let over = before.saturating_add(len) > self.limit;
            let over_total =
                before >= SMALL_QUEUE && total_before.saturating_add(len) > self.total.limit;
            if over || over_total {
                undo();
                tracing::warn!(
                    queued_bytes = before,
                    limit = self.limit,
                    total_bytes = total_before,
                    total_limit = self.total.limit,
                    "client not reading its replies: outbound queue full, closing the connection"
                );
                self.queue.overflowed.cancel();
                return Err(Gone);
            }
        }
        let mut frames = self.queue.lock();
        if frames.closed {
            drop(frames);
            undo();
            return Err(Gone);
        }
        frames.queued.push_back((msg, len));
        drop(frames);
        self.queue.ready.notify_one();
        Ok(())
    }

    /// Whether the client is this far behind on its replies that its
    /// requests should wait: half the bound queued, or a queue of at least
    /// [`SMALL_QUEUE`] while the total is past half its bound.
    pub(crate) fn backed_up(&self) -> bool {
        let queued = self.queue.bytes.load(Ordering::SeqCst);
        queued >= self.limit / 2
            || (queued >= SMALL_QUEUE
                && self.total.bytes.load(Ordering::SeqCst) >= self.total.limit / 2)
    }

    /// Frames the writer has taken off so far.
    pub(crate) fn taken(&self) -> u64 {
        self.queue.taken.load(Ordering::SeqCst)
    }

    /// Marks the reader as waiting for the writer (or not), counted in the
    /// total's `paused`.
    pub(crate) fn set_paused(&self, paused: bool) {
        if self.queue.paused.swap(paused, Ordering::SeqCst) != paused {
            if paused {
                self.total.paused.fetch_add(1, Ordering::SeqCst);
            } else {
                self.total.paused.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// Returns once the writer has taken a frame off (while paused), or
    /// after a short wait: the total goes down as other connections drain,
    /// which does not wake this one.
    pub(crate) async fn drained(&self) {
        let _ =
            tokio::time::timeout(Duration::from_millis(20), self.queue.drained.notified()).await;
    }
}

impl OutboundRx {
    /// The next frame, once taken off the bound.
    pub(crate) async fn recv(&mut self) -> Option<Outgoing> {
        let (msg, len) = loop {
            {
                let mut frames = self.queue.lock();
                if let Some(next) = frames.queued.pop_front() {
                    if frames.queued.is_empty() && frames.queued.capacity() > KEPT_SLOTS {
                        frames.queued.shrink_to(KEPT_SLOTS);
                    }
                    break next;
                }
                if frames.senders == 0 {
                    return None;
                }
            }
            // A frame queued meanwhile left a permit: no wake-up is lost.
            self.queue.ready.notified().await;
        };
        self.queue.bytes.fetch_sub(len, Ordering::SeqCst);
        self.total.bytes.fetch_sub(len, Ordering::SeqCst);
        self.queue.taken.fetch_add(1, Ordering::SeqCst);
        if self.queue.paused.load(Ordering::SeqCst) {
            self.queue.drained.notify_one();
        }
        Some(msg)
    }

    /// Whether nothing is queued, from the queue's byte count (no lock:
    /// the writer asks after every frame). A frame being queued counts
    /// before it is in the queue, so a `false` may come early, never late:
    /// the writer then holds its flush for a frame that `recv` is about to
    /// give it.
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.bytes.load(Ordering::SeqCst) == 0
    }
}

impl Drop for OutboundRx {
    /// What the writer left queued leaves the total.
    fn drop(&mut self) {
        let left = {
            let mut frames = self.queue.lock();
            frames.closed = true;
            std::mem::take(&mut frames.queued)
        };
        for (_, len) in left {
            self.queue.bytes.fetch_sub(len, Ordering::SeqCst);
            self.total.bytes.fetch_sub(len, Ordering::SeqCst);
        }
    }
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Frames> {
        self.frames
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clone for Outbound {
    fn clone(&self) -> Self {
        self.queue.lock().senders += 1;
        Outbound {
            queue: self.queue.clone(),
            limit: self.limit,
            total: self.total.clone(),
        }
    }
}

impl Drop for Outbound {
    fn drop(&mut self) {
        let last = {
            let mut frames = self.queue.lock();
            frames.senders = frames.senders.saturating_sub(1);
            frames.senders == 0
        };
        if last {
            self.queue.ready.notify_one();
        }
    }
}

/// A connected session's queue, tagged with its connection's id so a stale
/// connection cannot unregister its successor.
#[derive(Debug)]
pub(crate) struct Attached {
    pub conn_id: u64,
    pub tx: Outbound,
    /// The connection's authenticated ids: notifications need READ.
    pub auth: Vec<Id>,
}

/// The xid of a proposal nobody is waiting for (session expiry, reaping,
/// session creation): no reply is sent for it.
pub(crate) const NO_REPLY: i32 = i32::MIN;

/// The writes proposed here that a connection waits for, by the token
/// their proposal carries in place of the client's xid. A reply goes to
/// the connection that asked, with its xid, and to no other: a client
/// whose connection dropped with a write in flight (its outcome unknown)
/// and that resumed its session on a new connection here must not get
/// the old connection's reply, whose xid means nothing there (kazoo
/// stops on "xids do not match"). ZooKeeper answers on the request's own
/// `ServerCnxn` likewise. The token is local to this member (every
/// member answers only its own proposals), so the replicated format is
/// unchanged.
#[derive(Debug, Default)]
pub(crate) struct Replies {
    next: std::sync::atomic::AtomicI32,
    waiting: std::sync::Mutex<HashMap<i32, Waiting>>,
}

/// A write a connection waits for.
#[derive(Debug, Clone, Copy)]
struct Waiting {
    conn_id: u64,
    xid: i32,
}

impl Replies {
    /// A token for a write that `conn_id` sent as `xid`.
    fn register(&self, conn_id: u64, xid: i32) -> i32 {
        // Tokens run over 0..=i32::MAX: never NO_REPLY.
        let token = self.next.fetch_add(1, Ordering::Relaxed) & i32::MAX;
        self.lock().insert(token, Waiting { conn_id, xid });
        token
    }

    /// Who waits for `token`'s reply (and no longer).
    fn take(&self, token: i32) -> Option<Waiting> {
        self.lock().remove(&token)
    }

    /// `conn_id` closed: its writes' replies, if they come, go nowhere.
    pub(crate) fn forget(&self, conn_id: u64) {
        self.lock().retain(|_, w| w.conn_id != conn_id);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<i32, Waiting>> {
        // A panic while holding it cannot leave the map inconsistent.
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// This server's state that changes together with the tree.
#[derive(Debug)]
pub(crate) struct ServerHost {
    me: NodeId,
    pub watches: WatchManager,
    /// Session id → its connection on this server.
    pub attached: HashMap<i64, Attached>,
    /// Session id → when it expires unless touched. Every member keeps
    /// one for every session; only the leader's decide.
    pub deadlines: HashMap<i64, Instant>,
    /// Sessions touched here since the last report to the leader.
    pub touched: HashSet<i64>,
    /// Whether touches are reported (members of an ensemble).
    report_touches: bool,
    next_session_id: i64,
    /// Quota limits passed by writes proposed here.
    pub quota: QuotaReport,
    /// The sessions a read-only member created (ZooKeeper's local
    /// sessions): known here only, never replicated, gone when read-only
    /// mode ends. Id → password.
    pub local_sessions: HashMap<i64, Bytes>,
    /// The writes proposed here that connections wait for.
    pub replies: std::sync::Arc<Replies>,
}

/// What this member saw of quota limits being passed (`enforceQuota`):
/// hard-limit refusals counted per namespace (ZooKeeper's
/// `quota_exceeded_error_per_namespace`), and each passing logged as
/// ZooKeeper's `checkQuota` does, at most one line a second (its
/// `RateLogger`), with the number of lines held back.
#[derive(Debug, Default)]
pub(crate) struct QuotaReport {
    /// Hard-limit refusals per namespace.
    pub errors: BTreeMap<String, u64>,
    last_log: Option<Instant>,
    held_back: u64,
}

impl QuotaReport {
    fn record(&mut self, q: &storage::quota::QuotaExceeded) {
        if q.hard {
            *self.errors.entry(q.namespace.clone()).or_default() += 1;
        }
        let now = Instant::now();
        if self
            .last_log
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            self.held_back += 1;
            return;
        }
        self.last_log = Some(now);
        tracing::warn!(
            quota = %q.root,
            hard = q.hard,
            held_back = std::mem::take(&mut self.held_back),
            "{q}"
        );
    }
}

/// The replica as the server sees it: `tree` and `host`.
pub(crate) type State = Replica<ServerHost>;

impl ServerHost {
    /// Queues a frame for a session's connection, if it has one here.
    pub(crate) fn send(&self, session: i64, header: ReplyHeader, body: Response) {
        if let Some(a) = self.attached.get(&session) {
            let _ = a.tx.send(Outgoing::Frame(header, body));
        }
    }

    /// A fresh session id.
    pub(crate) fn next_session_id(&mut self) -> i64 {
        let id = self.next_session_id;
        self.next_session_id = self.next_session_id.wrapping_add(1);
        id
    }

    /// Pushes a session's expiry out by its timeout (and reports it to the
    /// leader with the next batch of touches).
    pub(crate) fn touch(&mut self, session: i64, timeout: Duration) {
        self.deadlines.insert(session, Instant::now() + timeout);
        if self.report_touches {
            self.touched.insert(session);
        }
    }

    /// Restarts every session's timer from now, as a new ZooKeeper leader
    /// does: it cannot know when followers last heard from them.
    pub(crate) fn restart_timers(&mut self, tree: &Tree) {
        let now = Instant::now();
        self.deadlines = tree
            .sessions()
            .iter()
            .map(|(id, info)| (*id, now + millis(info.timeout_ms)))
            .collect();
    }

    /// Sessions whose deadline has passed.
    pub(crate) fn expired(&self, now: Instant) -> Vec<i64> {
        let mut v: Vec<i64> = self
            .deadlines
            .iter()
            .filter(|(_, d)| **d <= now)
            .map(|(s, _)| *s)
            .collect();
        v.sort_unstable();
        v
    }
}

/// Forgets a read-only session: its connection closes, its watches and
/// timer go.
fn end_local_session(host: &mut ServerHost, session: i64) {
    host.deadlines.remove(&session);
    host.touched.remove(&session);
    host.watches.remove_session(session);
    if let Some(conn) = host.attached.remove(&session) {
        let _ = conn.tx.send(Outgoing::Close);
    }
}

/// A session timeout in milliseconds as a duration.
pub(crate) fn millis(ms: i32) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

impl consensus::Host for ServerHost {
    fn applied(&mut self, _tree: &Tree, zxid: i64, proposal: &Proposal, outcome: ApplyOutcome) {
        let session = proposal.command.session_id;
        if let CommandOp::CreateSession { timeout_ms, .. } = proposal.command.op
            && outcome.result.is_ok()
        {
            self.deadlines
                .insert(session, Instant::now() + millis(timeout_ms));
        }
        for change in &outcome.events {
            for (watcher, event) in self.watches.trigger(change) {
                let Some(a) = self.attached.get(&watcher) else {
                    continue;
                };
                // Delivered only with READ on the node (ZooKeeper 3.8.4+,
                // ZOOKEEPER-4799); a one-shot watch is used up either way.
                if storage::acl::check(&change.acl, Perms::READ, &a.auth).is_err() {
                    continue;
                }
                let header = ReplyHeader {
                    xid: xid::NOTIFICATION,
                    zxid: change.zxid,
                    err: 0,
                };
                let _ =
                    a.tx.send(Outgoing::Frame(header, Response::Notification(event)));
            }
        }
        // The connection that waits for this write here, and its xid.
        let waiting = (proposal.origin == self.me && proposal.xid != NO_REPLY)
            .then(|| self.replies.take(proposal.xid))
            .flatten()
            .filter(|w| {
                self.attached
                    .get(&session)
                    .is_some_and(|a| a.conn_id == w.conn_id)
            });
        if proposal.origin == self.me {
            for q in &outcome.quota_exceeded {
                self.quota.record(q);
            }
        }
        let (err, body) = match outcome.result {
            Ok(body) => (0, body),
            Err(code) => (i32::from(code), Response::Empty),
        };
        if matches!(proposal.command.op, CommandOp::CloseSession) {
            // Wherever it was closed, the session's watches, deadline and
            // connection here end with it: the reply (if the client asked
            // here), then the close.
            self.watches.remove_session(session);
            self.deadlines.remove(&session);
            self.touched.remove(&session);
            if let Some(conn) = self.attached.remove(&session) {
                if let Some(w) = waiting {
                    let _ = conn.tx.send(Outgoing::Frame(
                        ReplyHeader {
                            xid: w.xid,
                            zxid,
                            err,
                        },
                        body,
                    ));
                }
                let _ = conn.tx.send(Outgoing::Close);
            }
            return;
        }
        if let Some(w) = waiting
            && !matches!(proposal.command.op, CommandOp::CreateSession { .. })
        {
            self.send(
                session,
                ReplyHeader {
                    xid: w.xid,
                    zxid,
                    err,
                },
                body,
            );
        }
    }

    fn reset(&mut self, tree: &Tree) {
        // The tree was replaced by a snapshot: watches registered against
        // the old one are meaningless. Clients reconnect and re-register
        // them with setWatches, which fires what they missed.
        for (_, conn) in self.attached.drain() {
            let _ = conn.tx.send(Outgoing::Close);
        }
        self.watches = WatchManager::default();
        // The sessions are the new tree's; each gets a full timeout.
        self.restart_timers(tree);
    }
}

/// Why a write could not be proposed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProposeError {
    /// openraft refused or failed (not leader, shutting down).
    #[error("raft: {0}")]
    Raft(String),
}

/// The shared server state.
pub(crate) struct Core {
    pub config: Config,
    /// Counters for the four-letter words.
    pub stats: crate::monitor::stats::Stats,
    pub me: NodeId,
    pub raft: Raft,
    pub proposer: Proposer,
    /// Raft's own runtime (`consensus::start`), where the peer listener
    /// runs too.
    pub raft_runtime: tokio::runtime::Handle,
    /// Cancelled once Raft's runtime is gone.
    pub raft_stopped: tokio_util::sync::CancellationToken,
    replica: SharedReplica<ServerHost>,
    /// Whether clients are served: always for a standalone server; for a
    /// member of an ensemble, while it is in touch with a quorum.
    serving: AtomicBool,
    /// Read-only mode (`readonlymode.enabled`): a member out of touch
    /// with the quorum serves read-only sessions (ZooKeeper's
    /// `ReadOnlyZooKeeperServer`). Never true while `serving` is.
    read_only: AtomicBool,
    /// Members to add as non-voting learners (`:observer` lines).
    pub observers: BTreeMap<NodeId, Peer>,
    /// Prometheus metrics of the request path.
    pub metrics: crate::monitor::metrics::Metrics,
    /// The write path's (proposer, Raft log).
    pub write_metrics: consensus::WriteMetrics,
    /// When this server started (`zk_uptime`).
    pub started: Instant,
    /// Set while this member repairs its stores from its peers: it
    /// neither votes nor stands, nor serves clients, until it holds what
    /// the leader had committed (`leader_tasks::finish_repair`).
    pub abstain: consensus::Abstain,
    /// The leader's applied Raft index as it last answered this member's
    /// report (`keep_in_touch`); 0 before the first answer.
    pub leader_applied: std::sync::atomic::AtomicU64,
    /// What every connection's outbound queue holds together.
    pub outbound_total: std::sync::Arc<OutboundTotal>,
    /// The writes proposed here that connections wait for (shared with
    /// the host, which answers them).
    pub replies: std::sync::Arc<Replies>,
    /// The AdminServer's rate limiters and the trace mask.
    pub admin: crate::monitor::admin_ops::AdminOps,
    /// Connections to the other members.
    pub clients: consensus::network::PeerClients,
    /// Held by the leader while it serves a `reconfig` or drives the
    /// membership to the configuration (one change at a time).
    pub reconfig_lock: tokio::sync::Mutex<()>,
    /// When the leader last heard from each member (its report of
    /// session touches, every half tick).
    pub heard: std::sync::Mutex<HashMap<NodeId, Instant>>,
    /// Whether the leader said this member is not in the configuration
    /// (removed by `reconfig`): it serves no clients and stands for no
    /// election until it is added again.
    pub removed: AtomicBool,
    /// Why this member stopped for good: a disk error (its Raft stopped
    /// on a storage error). It serves nothing more until restarted.
    pub failed: std::sync::OnceLock<String>,
}

/// Raft as this member sees it (for `mntr`, metrics and `/ready`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RaftView {
    pub term: u64,
    pub last_log: u64,
    pub applied: u64,
    /// The leader's applied index: this member's own on the leader,
    /// else as last reported.
    pub leader_applied: u64,
    pub leading: bool,
    /// Voting members, this one included.
    pub voters: usize,
    /// On the leader: the other voters, the learners, and those whose
    /// replication is within `ready_max_lag` of the leader's log.
    pub followers: usize,
    pub observers: usize,
    pub synced_followers: usize,
    pub synced_observers: usize,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

/// Clamps a requested session timeout to `[min, max]` as ZooKeeper does.
pub(crate) fn negotiate_timeout(config: &Config, requested_ms: i32) -> Duration {
    let requested = Duration::from_millis(u64::try_from(requested_ms).unwrap_or(0));
    requested.clamp(config.min_session_timeout, config.max_session_timeout)
}

/// Milliseconds since the epoch: the time a write is stamped with.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// ZooKeeper's first session id: `(now_ms << 24 >>> 8) | (serverId << 56)`
/// (`SessionTrackerImpl.initializeNextSessionId`), then incremented.
fn initial_session_id(server_id: u8) -> i64 {
    let shifted = ((now_ms() << 24) as u64 >> 8) as i64;
    shifted | (i64::from(server_id) << 56)
}

/// The Raft member `config` describes: its directories, the ensemble
/// from its `server.N` lines (itself alone when standalone), the tree's
/// settings and the timers derived from `tickTime`.
pub(crate) fn node_config(config: &Config, me: NodeId) -> NodeConfig {
    let log_dir = config
        .data_log_dir
        .as_ref()
        .unwrap_or(&config.data_dir)
        .join("raft");
    let tree_dir = config.data_dir.join("tree");
    let mut node = NodeConfig::standalone(
        me,
        Peer {
            raft_addr: String::new(),
            client_addr: config.client_addr.to_string(),
        },
        log_dir,
        tree_dir,
    );
    if !config.is_standalone() {
        node.voters.clear();
        for s in &config.servers {
            let peer = Peer {
                raft_addr: s.quorum_addr.clone(),
                client_addr: s.client_addr.clone().unwrap_or_default(),
            };
            if s.observer {
                node.observers.insert(s.id, peer);
            } else {
                node.voters.insert(s.id, peer);
            }
        }
    }
    node.tree_config = TreeConfig {
        ttl_enabled: config.extended_types_enabled,
        enforce_quota: config.enforce_quota,
    };
    node.snap_count = config.snap_count;
    node.force_sync = config.force_sync;
    // No `server.N` lines (or one, with standaloneEnabled): `reconfig`
    // is refused, so this member stays alone.
    node.sync_inline = config.is_standalone();
    node.faults = config.peer_faults.clone();
    node.peer_tls = config.peer_tls.clone();
    // Raft's timers (docs/reliability.md, "Losing the leader"), from E =
    // `election`: heartbeats every E/5, and each member's own election
    // timeout, E plus a fifth of E per rank (member id 1 → E, 2 → 1.2 E, …,
    // by `(id - 1) mod 5`). openraft draws a member's timeout once, from
    // its (min, max); randomly drawn timeouts that happen to lie close
    // together split the votes round after round, so each member gets a
    // fixed one, E/5 (far more than a round trip) apart from the next
    // rank's. A follower that knew a leader refuses candidates during the
    // leader's lease (its own max: which also keeps a returning member
    // from disrupting the quorum, as pre-vote would) and stands after the
    // lease plus its timeout: a silent leader is replaced 2 E to 2.8 E
    // after it last spoke (a dead one sooner: `consensus::election`).
    let election = config
        .election_timeout
        .unwrap_or_else(|| default_election_timeout(config.tick_time));
    node.heartbeat = (election / 5).max(Duration::from_millis(10));
    let rank = u32::try_from(me.saturating_sub(1) % 5).unwrap_or(0);
    let own = election + election * rank / 5;
    node.election_timeout = (own, own + Duration::from_millis(1));
    // ZooKeeper's leader gives up on a quorum after syncLimit ticks (a
    // floor keeps a slow disk from failing healthy writes).
    if !config.is_standalone() {
        node.commit_timeout = (config.tick_time * config.sync_limit).max(Duration::from_secs(2));
    }
    node
}

/// The marker of a member repairing its stores from its peers (beside
/// them in the data directory, removed once repaired).
pub(crate) const REPAIR_MARKER: &str = "corral-repairing";

fn new_host(config: &Config, me: NodeId) -> ServerHost {
    ServerHost {
        me,
        watches: WatchManager::default(),
        attached: HashMap::new(),
        deadlines: HashMap::new(),
        touched: HashSet::new(),
        report_touches: !config.is_standalone(),
        next_session_id: initial_session_id(config.server_id),
        quota: QuotaReport::default(),
        local_sessions: HashMap::new(),
        replies: std::sync::Arc::default(),
    }
}

/// Moves each of `stores` that exists into `corrupt-<unix seconds>`
/// beside it (same file system: `dataLogDir` may be another), kept for
/// the operator to inspect and remove; returns where they went.
fn set_aside(stores: &[&std::path::Path]) -> std::io::Result<String> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut moved = Vec::new();
    for store in stores.iter().filter(|s| s.exists()) {
        let (Some(parent), Some(name)) = (store.parent(), store.file_name()) else {
            continue;
        };
        let aside = parent.join(format!("corrupt-{secs}"));
        std::fs::create_dir_all(&aside)?;
        let to = aside.join(name);
        std::fs::rename(store, &to)?;
        moved.push(to.display().to_string());
    }
    Ok(moved.join(", "))
}

/// Raft's least election timeout from ZooKeeper's `tickTime`: 15 % of a
/// tick, within 200 ms to 1 s: 300 ms at the default 2,000 ms tick, so a
/// silent leader is replaced 0.6 to 0.84 s after it last spoke. ZooKeeper's
/// own followers notice a silent leader only after `syncLimit` ticks (10 s
/// by default).
pub(crate) fn default_election_timeout(tick: Duration) -> Duration {
    (tick * 3 / 20).clamp(Duration::from_millis(200), Duration::from_millis(1000))
}

impl Core {
    /// Opens the log and the tree under `config.data_dir`, starts Raft as a
    /// one-member ensemble, and recovers sessions (each gets a fresh
    /// timeout from now, as after a ZooKeeper leader change).
    ///
    /// # Errors
    /// [`consensus::StartError`] if the stores cannot be opened or are
    /// corrupt, or Raft does not start.
    pub(crate) async fn open(config: Config) -> Result<Self, consensus::StartError> {
        let me = NodeId::from(config.server_id.max(1));
        let host = new_host(&config, me);
        let mut node = node_config(&config, me);
        let observers = node.observers.clone();
        let standalone = config.is_standalone();
        // ZooKeeper's monotonic times (`cons`' lresp, `dump`'s buckets)
        // count from the start.
        crate::monitor::stats::monotonic_ms();
        let write_metrics = consensus::WriteMetrics::new()?;
        let metrics = crate::monitor::metrics::Metrics::new(&write_metrics)?;
        node.metrics = Some(write_metrics.clone());
        // A member starting on an empty directory forms the ensemble only
        // if none of the others holds a log; else it waits to be added.
        // The decision is kept (a marker beside the log) until it has
        // been added, so a restart before that does not form one either.
        let joining_marker = config.data_dir.join("corral-joining");
        if !standalone && (!node.log_dir.exists() || joining_marker.exists()) {
            node.join = joining_marker.exists()
                || crate::reconfig::ensemble_runs(
                    me,
                    &config.servers,
                    config.peer_faults.clone(),
                    config.peer_tls.clone(),
                )
                .await;
            if node.join {
                std::fs::create_dir_all(&config.data_dir)?;
                std::fs::write(&joining_marker, b"waiting to be added by reconfig\n")?;
                tracing::info!("the ensemble runs already: waiting to be added (reconfig)");
            }
        }
        let repairing = config.data_dir.join(REPAIR_MARKER);
        if !standalone && repairing.exists() {
            // A restart before the repair finished: go on with it.
            node.join = true;
            node.abstain.set(true);
        }
        let replies = host.replies.clone();
        let started = match consensus::start(node.clone(), host).await {
            Err(consensus::StartError::Corrupt { what, dir, detail })
                if !standalone && config.repair_from_peers =>
            {
                let aside = set_aside(&[&node.log_dir, &node.tree_dir])?;
                std::fs::write(
                    &repairing,
                    format!(
                        "{what} in {} was corrupt ({detail}); set aside: {aside}\n",
                        dir.display()
                    ),
                )?;
                tracing::error!(
                    store = what,
                    dir = %dir.display(),
                    detail = %detail,
                    set_aside = %aside,
                    "a store is corrupt: set aside; copying the state from the other members, \
                     abstaining from elections until this member holds what the leader committed"
                );
                node.join = true;
                node.abstain.set(true);
                let host = ServerHost {
                    replies: replies.clone(),
                    ..new_host(&config, me)
                };
                consensus::start(node.clone(), host).await?
            }
            other => other?,
        };
        let admin = crate::monitor::admin_ops::AdminOps::new(config.admin_rate_limit_interval);
        let outbound_total =
            std::sync::Arc::new(OutboundTotal::new(config.max_outbound_bytes_total));
        let core = Core {
            config,
            stats: crate::monitor::stats::Stats::default(),
            me,
            raft: started.raft,
            proposer: started.proposer,
            raft_runtime: started.runtime,
            raft_stopped: started.stopped,
            replica: started.replica,
            serving: AtomicBool::new(standalone),
            read_only: AtomicBool::new(false),
            observers,
            metrics,
            write_metrics,
            started: Instant::now(),
            abstain: node.abstain.clone(),
            leader_applied: std::sync::atomic::AtomicU64::new(0),
            outbound_total,
            replies,
            admin,
            clients: started.clients,
            reconfig_lock: tokio::sync::Mutex::new(()),
            removed: AtomicBool::new(false),
            heard: std::sync::Mutex::default(),
            failed: std::sync::OnceLock::new(),
        };
        // A member the applied configuration no longer names (removed by
        // a reconfig) stands for no election: its own view of the
        // membership may still count it a voter.
        if !core.config.is_standalone()
            && crate::reconfig::excluded(&crate::reconfig::live_config(&core), me)
        {
            crate::leader_tasks::set_removed(&core, true);
        }
        {
            let mut r = core.lock();
            let now = Instant::now();
            let recovered: Vec<(i64, i32)> = r
                .tree
                .sessions()
                .iter()
                .map(|(id, info)| (*id, info.timeout_ms))
                .collect();
            for (id, timeout_ms) in recovered {
                r.host.deadlines.insert(id, now + millis(timeout_ms));
            }
            tracing::info!(
                znodes = r.tree.node_count(),
                sessions = r.tree.sessions().len(),
                last_zxid = r.tree.last_zxid(),
                "tree recovered"
            );
        }
        Ok(core)
    }

    /// Takes the replica lock (see the module's lock rule).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        consensus::state_machine::lock(&self.replica)
    }

    /// Whether this server currently serves clients.
    /// Stops this member for good after a disk error: it closes every
    /// client connection, refuses new ones and answers nothing more, as a
    /// ZooKeeper server whose `SyncRequestProcessor` hit an I/O error
    /// stops (`ZooKeeperCriticalThread`). What it holds may not be durable
    /// (a failed `fsync` can lose pages the kernel had accepted), so it
    /// serves none of it; a restart recovers from what is on disk, and the
    /// rest of an ensemble goes on without it.
    pub(crate) fn fail(&self, why: String) {
        if self.failed.set(why.clone()).is_err() {
            return;
        }
        tracing::error!(reason = %why, "storage failed: this member stops serving until it is restarted");
        self.set_read_only(false);
        self.set_serving(false);
        // No election won by a member that cannot write its log.
        self.raft.runtime_config().elect(false);
    }

    pub(crate) fn serving(&self) -> bool {
        self.serving.load(Ordering::Acquire)
    }

    /// Starts or stops serving clients. Stopping closes every client
    /// connection, as a ZooKeeper server that lost its quorum does, so
    /// clients move to a server of the majority.
    pub(crate) fn set_serving(&self, serving: bool) {
        let serving = serving && self.failed.get().is_none();
        if self.serving.swap(serving, Ordering::AcqRel) == serving {
            return;
        }
        if serving {
            tracing::info!("in touch with a quorum: serving clients");
            return;
        }
        tracing::warn!("lost touch with the quorum: closing client connections");
        let mut st = self.lock();
        let host = &mut st.host;
        for (session, conn) in host.attached.drain() {
            // Watches belong to the connection; the client re-registers
            // them (setWatches) wherever it reconnects.
            host.watches.remove_session(session);
            let _ = conn.tx.send(Outgoing::Close);
        }
    }

    /// Whether this member is in read-only mode.
    pub(crate) fn read_only(&self) -> bool {
        self.read_only.load(Ordering::Acquire)
    }

    /// Whether clients get answers at all: serving, or read-only.
    pub(crate) fn answering(&self) -> bool {
        self.serving() || self.read_only()
    }

    /// Enters or leaves read-only mode. Leaving ends every read-only
    /// session and closes its connection, as ZooKeeper shuts its
    /// read-only server down once a quorum is back; the clients look for
    /// a read-write server.
    pub(crate) fn set_read_only(&self, read_only: bool) {
        let read_only = read_only && self.failed.get().is_none();
        if self.read_only.swap(read_only, Ordering::AcqRel) == read_only {
            return;
        }
        if read_only {
            tracing::warn!("no quorum: serving read-only sessions (readonlymode.enabled)");
            return;
        }
        tracing::info!("read-only mode over: closing read-only sessions");
        let mut st = self.lock();
        let host = &mut st.host;
        let local: Vec<i64> = host.local_sessions.drain().map(|(id, _)| id).collect();
        for session in local {
            end_local_session(host, session);
        }
    }

    /// Ends read-only sessions whose client has been away for longer than
    /// their timeout.
    pub(crate) fn expire_local_sessions(&self) {
        let now = Instant::now();
        let mut st = self.lock();
        let host = &mut st.host;
        let expired: Vec<i64> = host
            .local_sessions
            .keys()
            .filter(|s| host.deadlines.get(s).is_none_or(|d| *d <= now))
            .copied()
            .collect();
        for session in expired {
            host.local_sessions.remove(&session);
            end_local_session(host, session);
        }
    }

    /// Whether this member is in the membership as it knows it (as a
    /// voter or a learner); a member that has not joined yet is not.
    pub(crate) fn is_member(&self) -> bool {
        self.raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .get_node(&self.me)
            .is_some()
    }

    /// Whether this server leads the ensemble.
    pub(crate) fn is_leader(&self) -> bool {
        let m = self.raft.metrics();
        let m = m.borrow();
        m.current_leader == Some(self.me) && m.state == consensus::openraft::ServerState::Leader
    }

    /// Raft's state here, from openraft's metrics.
    pub(crate) fn raft_view(&self) -> RaftView {
        let m = self.raft.metrics();
        let m = m.borrow();
        let applied = m.last_applied.map_or(0, |l| l.index);
        let last_log = m.last_log_index.unwrap_or(0);
        let leading = m.current_leader == Some(self.me)
            && m.state == consensus::openraft::ServerState::Leader;
        let membership = m.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let mut view = RaftView {
            term: m.current_term,
            last_log,
            applied,
            leader_applied: if leading {
                applied
            } else {
                self.leader_applied.load(Ordering::Relaxed)
            },
            leading,
            voters: voters.len(),
            ..RaftView::default()
        };
        if let Some(replication) = m.replication.as_ref().filter(|_| leading) {
            for (id, matched) in replication.iter() {
                if *id == self.me {
                    continue;
                }
                let synced = matched
                    .is_some_and(|l| l.index.saturating_add(self.config.ready_max_lag) >= last_log);
                if voters.contains(id) {
                    view.followers += 1;
                    view.synced_followers += usize::from(synced);
                } else {
                    view.observers += 1;
                    view.synced_observers += usize::from(synced);
                }
            }
        }
        view
    }

    /// ZooKeeper's name for this server's role: `standalone`, `leader`,
    /// `follower` or `observer`.
    pub(crate) fn mode(&self) -> &'static str {
        if self.config.is_standalone() {
            return "standalone";
        }
        if self.read_only() {
            return "read-only";
        }
        match self.raft.metrics().borrow().state {
            consensus::openraft::ServerState::Leader => "leader",
            consensus::openraft::ServerState::Learner => "observer",
            _ => "follower",
        }
    }

    /// Proposes a write and waits until it is committed and applied here;
    /// by then its notifications and (for `xid` other than [`NO_REPLY`])
    /// its reply are queued. Must be called without the lock held.
    ///
    /// # Errors
    /// [`ProposeError`] if Raft would not take it.
    pub(crate) async fn propose(
        &self,
        xid: i32,
        session: i64,
        auth: Vec<Id>,
        op: CommandOp,
    ) -> Result<(), ProposeError> {
        self.submit(xid, session, auth, op, 0).await
    }

    /// Like [`Core::propose`], but the proposal is queued before this
    /// returns, so proposals keep the order of the calls; `conn_id` names
    /// the connection, whose later writes fail once one has failed (see
    /// `Proposer::submit`).
    pub(crate) fn submit(
        &self,
        xid: i32,
        session: i64,
        auth: Vec<Id>,
        op: CommandOp,
        conn_id: u64,
    ) -> impl std::future::Future<Output = Result<(), ProposeError>> + Send + 'static {
        let command = Command {
            time: now_ms(),
            session_id: session,
            auth,
            op,
        };
        // The proposal carries a token for the reply (see `Replies`).
        let xid = if xid == NO_REPLY {
            NO_REPLY
        } else {
            self.replies.register(conn_id, xid)
        };
        let proposal = Proposal {
            origin: self.me,
            xid,
            command,
        };
        let done = self.proposer.submit(proposal, conn_id);
        async move { done.await.map_err(|e| ProposeError::Raft(e.to_string())) }
    }

    /// ZooKeeper's `sync`: waits until this server has applied what the
    /// leader had committed when asked.
    ///
    /// # Errors
    /// [`ProposeError`] if there is no leader or it cannot be reached.
    pub(crate) async fn sync(&self) -> Result<(), ProposeError> {
        self.proposer
            .sync()
            .await
            .map_err(|e| ProposeError::Raft(e.to_string()))
    }

    /// Stops Raft (pending proposals fail) and waits for its runtime to
    /// end, so its stores are closed when this returns.
    pub(crate) async fn shutdown(&self) {
        // Bounded: under heavy load openraft's core once took over 10 s
        // to stop; the runtime's end (below) is what closes the stores.
        match tokio::time::timeout(std::time::Duration::from_secs(10), self.raft.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "raft did not shut down cleanly"),
            Err(_) => tracing::warn!("raft did not shut down within 10 s"),
        }
        let wait = std::time::Duration::from_secs(10);
        if tokio::time::timeout(wait, self.raft_stopped.cancelled())
            .await
            .is_err()
        {
            tracing::warn!("raft's runtime did not stop within 10 s");
        }
    }
}
