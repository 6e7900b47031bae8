//! `Proposer`: turns concurrent writes into batches and gets them
//! committed. Proposals queue up; whenever a slot is free (at most
//! `IN_FLIGHT` batches in Raft at once), everything queued so far becomes
//! one entry. Under load a batch holds every write that arrived while the
//! previous one was committing, so writes share entries and syncs; alone,
//! a write goes at once — no write ever waits for a timer.
//!
//! On the leader a batch goes to openraft directly; on any other member it
//! is forwarded whole to the leader (one peer round trip per batch), and
//! the proposer then waits until this server has applied the entry too, so
//! the session that wrote it reads its own write here.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::network::{PeerClients, PeerRequest, PeerResponse};
use crate::{Batch, NodeId, Proposal, Raft, WriteMetrics};

/// Batches in Raft at once. One keeps a session's writes in order across
/// forwarding; a batch collects everything that queued meanwhile.
const IN_FLIGHT: usize = 1;
/// Most proposals in one entry.
const MAX_BATCH: usize = 4096;
/// Most bytes of requests in one entry (beyond that, the next entry).
const MAX_BATCH_BYTES: usize = 8 << 20;
/// Why a batch failed when its leader stopped leading before answering.
const LEADER_LEFT: &str = "the leader changed before the write was answered; outcome unknown";
/// How long a write waits for a leader to be known.
pub const LEADER_WAIT: Duration = Duration::from_secs(10);
/// How long a read-index request may take, by default also a write.
pub const DEFAULT_COMMIT_TIMEOUT: Duration = Duration::from_secs(10);

type Waiter = oneshot::Sender<Result<(), String>>;

/// A queued proposal, who waits for it, and its stream.
type Queued = (Proposal, Waiter, u64);

/// How long a failed stream is remembered (its connection closes at once).
const FAILED_STREAM_MEMORY: Duration = Duration::from_secs(60);

/// Streams whose proposals failed, and when.
type FailedStreams = Arc<std::sync::Mutex<std::collections::HashMap<u64, std::time::Instant>>>;

/// A batch on its way: completes when committed and applied here.
type Pending = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>;

/// A handle to the batching task, and to the leader.
#[derive(Debug, Clone)]
pub struct Proposer {
    tx: mpsc::UnboundedSender<Queued>,
    route: Route,
    metrics: WriteMetrics,
}

/// Why a proposal was not applied.
#[derive(Debug, thiserror::Error)]
#[error("proposal not committed: {0}")]
pub struct ProposeError(pub String);

/// Where this server's writes and read-index requests go.
#[derive(Clone)]
struct Route {
    raft: Raft,
    me: NodeId,
    clients: PeerClients,
    /// How long a batch may take to commit (and be applied here).
    timeout: Duration,
}

/// The leader these metrics know of, and its peer address.
///
/// A leader that is no longer in the membership (it removed itself and
/// stepped down, and no successor is elected yet) counts as none: writes
/// wait for the successor rather than fail.
fn leader_of(m: &openraft::RaftMetrics<NodeId, crate::Peer>) -> Option<(NodeId, String)> {
    let leader = m.current_leader?;
    let addr = m
        .membership_config
        .membership()
        .get_node(&leader)
        .map(|p| p.raft_addr.clone())?;
    Some((leader, addr))
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

impl Route {
    /// The leader's id and peer address, waiting up to [`LEADER_WAIT`] for
    /// one to be known.
    async fn leader(&self) -> Result<(NodeId, String), String> {
        let m = self
            .raft
            .wait(Some(LEADER_WAIT))
            .metrics(|m| leader_of(m).is_some(), "a known leader")
            .await
            .map_err(|e| format!("no leader: {e}"))?;
        leader_of(&m).ok_or_else(|| "no leader".into())
    }

    /// Hands `batch` to Raft (on the leader) or to the connection to the
    /// leader, in call order, and returns what completes when the batch is
    /// committed and applied here.
    async fn submit(&self, batch: Batch) -> Result<Pending, String> {
        let (leader, addr) = self.leader().await?;
        if leader == self.me {
            let rx = self
                .raft
                .client_write_ff(batch)
                .await
                .map_err(|e| e.to_string())?;
            let route = self.clone();
            return Ok(Box::pin(async move {
                tokio::select! {
                    r = rx => match r {
                        Ok(Ok(_)) => Ok(()),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(e) => Err(e.to_string()),
                    },
                    () = route.leader_left(leader) => Err(LEADER_LEFT.into()),
                }
            }));
        }
        let reply = self
            .clients
            .send(leader, &addr, PeerRequest::Forward(batch))
            .await
            .map_err(|e| format!("forwarding to node {leader}: {e}"))?;
        let route = self.clone();
        Ok(Box::pin(async move {
            let answer = tokio::select! {
                a = reply => a,
                () = route.leader_left(leader) => return Err(LEADER_LEFT.into()),
            };
            let index = match answer {
                Ok(PeerResponse::Forward(r)) => r?,
                Ok(other) => return Err(format!("leader answered out of turn: {other:?}")),
                Err(e) => return Err(format!("forwarding to node {leader}: {e}")),
            };
            route.applied(index).await
        }))
    }

    /// Completes once `leader` no longer leads as this member sees it (a
    /// successor is known, or it left the membership). A batch it had
    /// not answered for by then may never be answered (a leader that
    /// removed itself keeps what it appended after the change it
    /// committed, uncommitted, forever): it fails, outcome unknown, and
    /// its clients retry through the successor.
    async fn leader_left(&self, leader: NodeId) {
        let _ = self
            .raft
            .wait(None)
            .metrics(
                |m| {
                    m.current_leader != Some(leader)
                        || m.membership_config.membership().get_node(&leader).is_none()
                },
                "the leader to change",
            )
            .await;
    }

    /// Waits until this server has applied the entry at `index`.
    async fn applied(&self, index: u64) -> Result<(), String> {
        self.raft
            .wait(Some(self.timeout))
            .applied_index_at_least(Some(index), "a forwarded write")
            .await
            .map(|_| ())
            .map_err(|e| format!("waiting to apply entry {index}: {e}"))
    }

    async fn sync(&self) -> Result<(), String> {
        let (leader, addr) = self.leader().await?;
        if leader == self.me {
            return self
                .raft
                .ensure_linearizable()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string());
        }
        // As a forwarded batch: a leader replaced before it answered (it
        // froze, or was cut off) fails the read at once, and the client
        // retries through the successor, instead of waiting out the timeout.
        let answer = tokio::select! {
            a = self.clients.call(leader, &addr, PeerRequest::ReadIndex, self.timeout) => a,
            () = self.leader_left(leader) => return Err(LEADER_LEFT.into()),
        };
        match answer {
            Ok(PeerResponse::ReadIndex(r)) => self.applied(r?).await,
            Ok(other) => Err(format!("leader answered out of turn: {other:?}")),
            Err(e) => Err(format!("read index from node {leader}: {e}")),
        }
    }
}

impl Proposer {
    /// Starts the batching task of server `me` (on the current tokio
    /// runtime); `clients` reach the other members.
    /// A batch not committed and applied within `timeout` fails (its
    /// clients see their connections close, outcome unknown).
    /// `metrics` get the queue depth, batch sizes and commit times.
    pub fn start(
        raft: Raft,
        me: NodeId,
        clients: PeerClients,
        timeout: Duration,
        metrics: WriteMetrics,
    ) -> Proposer {
        let (tx, rx) = mpsc::unbounded_channel();
        let route = Route {
            raft,
            me,
            clients,
            timeout,
        };
        tokio::spawn(run(route.clone(), rx, metrics.clone()));
        Proposer { tx, route, metrics }
    }

    /// Queues `p` at once (so proposals keep the order of the calls) and
    /// returns a future that completes when its entry is committed and
    /// applied on this server.
    ///
    /// `stream` names an ordered stream of proposals (a client
    /// connection; 0 for none): once one of its proposals failed, its
    /// later ones fail too, never committed, so a stream's writes that
    /// take effect are always a prefix of what it sent — as with
    /// ZooKeeper, where a session's requests reach the leader in order and
    /// its log has no gaps.
    pub fn submit(
        &self,
        p: Proposal,
        stream: u64,
    ) -> impl std::future::Future<Output = Result<(), ProposeError>> + Send + 'static {
        let (done, wait) = oneshot::channel();
        let queued = self.tx.send((p, done, stream)).is_ok();
        if queued {
            self.metrics.proposer_queue.inc();
        }
        async move {
            if !queued {
                return Err(ProposeError("the proposer stopped".into()));
            }
            wait.await
                .map_err(|_| ProposeError("the proposer stopped".into()))?
                .map_err(ProposeError)
        }
    }

    /// Proposes `p` and waits until it is committed and applied here.
    ///
    /// # Errors
    /// [`ProposeError`] if Raft would not take it (no leader, stopped).
    pub async fn propose(&self, p: Proposal) -> Result<(), ProposeError> {
        self.submit(p, 0).await
    }

    /// ZooKeeper's `sync`: returns once this server has applied everything
    /// the leader had committed when it was asked (the leader confirms with
    /// a quorum that it still leads).
    ///
    /// # Errors
    /// [`ProposeError`] if there is no leader or it cannot be reached.
    pub async fn sync(&self) -> Result<(), ProposeError> {
        self.route.sync().await.map_err(ProposeError)
    }

    /// Sends a server message to the current leader and returns its answer.
    ///
    /// # Errors
    /// No leader known right now, or it could not be reached in `timeout`.
    pub async fn to_leader(
        &self,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> Result<(NodeId, Vec<u8>), ProposeError> {
        // No waiting for a leader here: "none known" is the answer.
        let (leader, addr) = leader_of(&self.route.raft.metrics().borrow())
            .ok_or_else(|| ProposeError("no leader known".into()))?;
        // A member that stepped down (demoted itself, say) may still name
        // itself leader until the next election: not one to ask.
        if leader == self.route.me {
            return Err(ProposeError("no leader known".into()));
        }
        match self
            .route
            .clients
            .call(leader, &addr, PeerRequest::App(payload), timeout)
            .await
        {
            Ok(PeerResponse::App(r)) => Ok((leader, r)),
            Ok(other) => Err(ProposeError(format!("out of turn: {other:?}"))),
            Err(e) => Err(ProposeError(e.to_string())),
        }
    }
}

async fn run(route: Route, mut rx: mpsc::UnboundedReceiver<Queued>, metrics: WriteMetrics) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let failed: FailedStreams = Arc::default();
    let mut carry: Option<Queued> = None;
    loop {
        let first = match carry.take() {
            Some(f) => f,
            None => match rx.recv().await {
                Some(f) => f,
                None => return,
            },
        };
        // Wait for a slot first: what queues meanwhile joins this batch.
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut bytes = 0;
        let mut proposals = Vec::new();
        let mut waiters = Vec::new();
        let mut streams = Vec::new();
        {
            let mut failed = failed.lock().unwrap_or_else(|p| p.into_inner());
            failed.retain(|_, at| at.elapsed() < FAILED_STREAM_MEMORY);
            let mut next = Some(first);
            while let Some((p, w, stream)) = next.take() {
                metrics.proposer_queue.dec();
                if stream != 0 && failed.contains_key(&stream) {
                    let _ = w.send(Err("an earlier write of this connection failed".into()));
                } else {
                    let len = p.command.approx_len();
                    if !proposals.is_empty() && bytes + len > MAX_BATCH_BYTES {
                        // Still queued: counted again when taken.
                        metrics.proposer_queue.inc();
                        carry = Some((p, w, stream));
                        break;
                    }
                    bytes += len;
                    proposals.push(p);
                    waiters.push(w);
                    if stream != 0 {
                        streams.push(stream);
                    }
                }
                if proposals.len() >= MAX_BATCH {
                    break;
                }
                next = rx.try_recv().ok();
            }
        }
        if proposals.is_empty() {
            continue;
        }
        // Submitted here, in order; waited for in a task of its own.
        metrics.batch_proposals.observe(proposals.len() as f64);
        let commit_timer = metrics.commit_seconds.start_timer();
        let timeout = route.timeout;
        let pending = tokio::time::timeout(timeout, route.submit(Batch(proposals))).await;
        let failed = failed.clone();
        tokio::spawn(async move {
            // A leader cut off from its quorum never commits: give up (the
            // clients see their connection drop, the outcome unknown, as
            // with ZooKeeper).
            let result = match pending {
                Ok(Ok(p)) => tokio::time::timeout(timeout, p)
                    .await
                    .unwrap_or_else(|_| Err("not committed in time".into())),
                Ok(Err(e)) => Err(e),
                Err(_) => Err("no leader to submit to in time".into()),
            };
            if result.is_ok() {
                commit_timer.observe_duration();
            } else {
                commit_timer.stop_and_discard();
                let mut failed = failed.lock().unwrap_or_else(|p| p.into_inner());
                let now = std::time::Instant::now();
                for s in streams {
                    failed.insert(s, now);
                }
            }
            for w in waiters {
                let _ = w.send(result.clone());
            }
            drop(permit);
        });
    }
}
