//! `Core`: the state a server shares between its connections — the tree,
//! the watches, and the outbound queue of every connected session — behind
//! one lock.
//!
//! Until `consensus` exists (#4), writes are applied here directly, on the
//! single local tree; the seam is [`State::write`], which becomes "propose,
//! wait for the local apply" without changing its callers.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use jute::proto::{ConnectResponse, ReplyHeader, Response};
use jute::{Encode, Id, Perms, xid};
use storage::{
    ApplyOutcome, Command, CommandOp, Durability, StorageError, Store, Tree, TreeConfig,
};
use tokio::sync::mpsc;

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

/// The sending side of a connection's outbound queue.
pub(crate) type Outbound = mpsc::UnboundedSender<Outgoing>;

/// A connected session's queue, tagged with its connection's id so a stale
/// connection cannot unregister its successor.
#[derive(Debug)]
pub(crate) struct Attached {
    pub conn_id: u64,
    pub tx: Outbound,
    /// The connection's authenticated ids: notifications need READ.
    pub auth: Vec<Id>,
}

/// Everything behind the lock.
#[derive(Debug)]
pub(crate) struct State {
    pub tree: Tree,
    /// Where the tree persists. Until consensus (#4) provides a durable log,
    /// every write is committed here with `fdatasync` before it is answered.
    store: Store,
    pub watches: WatchManager,
    /// Session id → its current connection.
    pub attached: HashMap<i64, Attached>,
    /// Session id → when it expires unless touched.
    pub deadlines: HashMap<i64, Instant>,
    next_session_id: i64,
}

/// The shared server state.
///
/// ### Lock rule
/// Every enqueue onto a session's outbound queue happens while `state` is
/// held. A change's notifications are therefore queued before any reply that
/// reflects the state after it, and a read's reply (which may register a
/// watch) before any notification of a later change: ZooKeeper's ordering
/// guarantee. Nothing `.await`s under the lock.
#[derive(Debug)]
pub(crate) struct Core {
    pub config: Config,
    state: Mutex<State>,
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

impl Core {
    /// Opens the store under `config.data_dir` and recovers the tree.
    ///
    /// # Errors
    /// [`StorageError`] if the store cannot be opened or is corrupt.
    pub(crate) fn open(config: Config) -> Result<Self, StorageError> {
        let tree_config = TreeConfig {
            ttl_enabled: config.extended_types_enabled,
        };
        let (store, tree) = Store::open(&config.data_dir.join("tree"), tree_config)?;
        tracing::info!(
            znodes = tree.node_count(),
            sessions = tree.sessions().len(),
            last_zxid = tree.last_zxid(),
            "tree recovered"
        );
        // Sessions recovered from disk get a fresh timeout from now, as a new
        // ZooKeeper leader restarts every session's timer.
        let now = Instant::now();
        let deadlines = tree
            .sessions()
            .iter()
            .map(|(id, info)| {
                (
                    *id,
                    now + Duration::from_millis(u64::try_from(info.timeout_ms).unwrap_or(0)),
                )
            })
            .collect();
        let state = State {
            tree,
            store,
            watches: WatchManager::default(),
            attached: HashMap::new(),
            deadlines,
            next_session_id: initial_session_id(config.server_id),
        };
        Ok(Core {
            config,
            state: Mutex::new(state),
        })
    }

    /// Takes the lock. A poisoned lock means a panic while mutating: the
    /// state may be half-applied, which is fatal (never serve from it).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(_) => {
                tracing::error!("state lock poisoned by a panic; stopping");
                std::process::abort();
            }
        }
    }
}

impl State {
    /// Applies one command at the next zxid, queues the notifications its
    /// changes fire, and returns the zxid and the outcome.
    pub(crate) fn write(
        &mut self,
        session_id: i64,
        auth: &[Id],
        op: CommandOp,
    ) -> (i64, ApplyOutcome) {
        let zxid = self.tree.last_zxid() + 1;
        let cmd = Command {
            time: now_ms(),
            session_id,
            auth: auth.to_vec(),
            op,
        };
        let out = storage::apply(&mut self.tree, &cmd, zxid);
        if let Err(e) = self.store.commit(&mut self.tree, Durability::Synced) {
            // The write cannot be made durable: answering it would be a lie,
            // and the in-memory tree is now ahead of the disk. Stop.
            tracing::error!(error = %e, zxid, "cannot persist a write; stopping");
            std::process::abort();
        }
        for change in &out.events {
            for (session, event) in self.watches.trigger(change) {
                let Some(a) = self.attached.get(&session) else {
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
        (zxid, out)
    }

    /// Queues a frame for a session's connection, if it has one.
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

    /// Pushes a session's expiry out by its timeout.
    pub(crate) fn touch(&mut self, session: i64, timeout: Duration) {
        self.deadlines.insert(session, Instant::now() + timeout);
    }

    /// Ends a session: closes it in the tree (deleting its ephemerals, with
    /// their notifications), drops its watches and its deadline, and
    /// detaches its connection, which is returned for the caller to close.
    pub(crate) fn close_session(&mut self, session: i64) -> (i64, ApplyOutcome, Option<Attached>) {
        let (zxid, out) = self.write(session, &[], CommandOp::CloseSession);
        self.watches.remove_session(session);
        self.deadlines.remove(&session);
        (zxid, out, self.attached.remove(&session))
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
