//! `Proposer`: turns concurrent writes into batches. Proposals queue up;
//! whenever a slot is free (at most `IN_FLIGHT` batches in Raft at once),
//! everything queued so far becomes one entry. Under load a batch holds
//! every write that arrived while the previous one was committing, so
//! writes share entries and syncs; alone, a write goes at once — no write
//! ever waits for a timer.

use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::{Batch, Proposal, Raft};

/// Batches in Raft at once.
const IN_FLIGHT: usize = 1;
/// Most proposals in one entry.
const MAX_BATCH: usize = 4096;

type Waiter = oneshot::Sender<Result<(), String>>;

/// A handle to the batching task.
#[derive(Debug, Clone)]
pub struct Proposer {
    tx: mpsc::UnboundedSender<(Proposal, Waiter)>,
}

/// Why a proposal was not applied.
#[derive(Debug, thiserror::Error)]
#[error("proposal not committed: {0}")]
pub struct ProposeError(pub String);

impl Proposer {
    /// Starts the batching task for `raft` (on the current tokio runtime).
    pub fn start(raft: Raft) -> Proposer {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(raft, rx));
        Proposer { tx }
    }

    /// Proposes `p` and waits until its entry is committed and applied
    /// here (openraft's `client_write` returns after the local apply).
    ///
    /// # Errors
    /// [`ProposeError`] if Raft would not take it (not the leader, stopped).
    pub async fn propose(&self, p: Proposal) -> Result<(), ProposeError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send((p, done))
            .map_err(|_| ProposeError("the proposer stopped".into()))?;
        wait.await
            .map_err(|_| ProposeError("the proposer stopped".into()))?
            .map_err(ProposeError)
    }
}

async fn run(raft: Raft, mut rx: mpsc::UnboundedReceiver<(Proposal, Waiter)>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = rx.recv().await {
        // Wait for a slot first: what queues meanwhile joins this batch.
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut proposals = vec![first.0];
        let mut waiters = vec![first.1];
        while proposals.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok((p, w)) => {
                    proposals.push(p);
                    waiters.push(w);
                }
                Err(_) => break,
            }
        }
        let raft = raft.clone();
        tokio::spawn(async move {
            let result = raft
                .client_write(Batch(proposals))
                .await
                .map(|_| ())
                .map_err(|e| e.to_string());
            for w in waiters {
                let _ = w.send(result.clone());
            }
            drop(permit);
        });
    }
}
