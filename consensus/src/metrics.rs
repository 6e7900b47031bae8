//! What the write path measures: the proposer's queue and batches, the
//! Raft log's appends and syncs, and how long a batch takes to commit.
//! Each member has its own set (an ensemble in one test process has
//! three); the server registers them with its Prometheus registry.

use prometheus::core::Collector;
use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts};

/// The write path's metrics. Clones share the values.
#[derive(Debug, Clone)]
pub struct WriteMetrics {
    /// Proposals queued and not yet in a batch.
    pub proposer_queue: IntGauge,
    /// Proposals per Raft entry.
    pub batch_proposals: Histogram,
    /// From a batch's submission to its application on this member.
    pub commit_seconds: Histogram,
    /// Writing one append of entries into the log (buffered, unsynced).
    pub append_seconds: Histogram,
    /// One `fdatasync` of the log.
    pub fsync_seconds: Histogram,
    /// Appends made durable by one `fdatasync`.
    pub appends_per_fsync: Histogram,
    /// Disk errors, by where they struck (`log_append`, `log_fsync`,
    /// `vote`, `tree_commit`, `snapshot_build`, `snapshot_install`): each
    /// one stops this member (see `docs/reliability.md`).
    pub storage_errors: IntCounterVec,
}

/// Latency buckets from 50 µs to about 3 s (also the server's).
pub fn latency_buckets() -> Vec<f64> {
    prometheus::exponential_buckets(0.000_05, 2.0, 17).unwrap_or_default()
}

/// Count buckets: 1, 2, 4, … 4096.
fn count_buckets() -> Vec<f64> {
    prometheus::exponential_buckets(1.0, 2.0, 13).unwrap_or_default()
}

fn histogram(name: &str, help: &str, buckets: Vec<f64>) -> prometheus::Result<Histogram> {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
}

impl WriteMetrics {
    /// A fresh set, every value zero.
    ///
    /// # Errors
    /// prometheus' only if a name or bucket list were invalid (they are
    /// fixed here; every start exercises them).
    pub fn new() -> prometheus::Result<Self> {
        Ok(WriteMetrics {
            proposer_queue: IntGauge::with_opts(Opts::new(
                "corral_proposer_queue_depth",
                "Writes queued for the next Raft entry",
            ))?,
            batch_proposals: histogram(
                "corral_write_batch_size",
                "Writes per Raft entry (group commit)",
                count_buckets(),
            )?,
            commit_seconds: histogram(
                "corral_write_commit_seconds",
                "From a batch's submission to its application on this member",
                latency_buckets(),
            )?,
            append_seconds: histogram(
                "corral_raft_append_seconds",
                "Writing entries into the Raft log (before the sync)",
                latency_buckets(),
            )?,
            fsync_seconds: histogram(
                "corral_raft_fsync_seconds",
                "One fdatasync of the Raft log",
                latency_buckets(),
            )?,
            appends_per_fsync: histogram(
                "corral_raft_appends_per_fsync",
                "Log appends made durable by one fdatasync",
                count_buckets(),
            )?,
            storage_errors: IntCounterVec::new(
                Opts::new(
                    "corral_storage_errors_total",
                    "Disk errors by where they struck; any one stops the member",
                ),
                &["at"],
            )?,
        })
    }

    /// Every metric, to register.
    pub fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.proposer_queue.clone()),
            Box::new(self.batch_proposals.clone()),
            Box::new(self.commit_seconds.clone()),
            Box::new(self.append_seconds.clone()),
            Box::new(self.fsync_seconds.clone()),
            Box::new(self.appends_per_fsync.clone()),
            Box::new(self.storage_errors.clone()),
        ]
    }
}
