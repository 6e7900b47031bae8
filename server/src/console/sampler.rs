//! The console's charts: every [`INTERVAL`] the server's own metrics are
//! read (the same histograms and counters `/metrics` exports) and the
//! difference from the last reading kept, for the last [`KEPT`] readings.
//! One reading is a handful of atomic loads; no Prometheus is needed.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::core::Core;
use crate::monitor::metrics::Buckets;

/// Between two readings.
pub(crate) const INTERVAL: Duration = Duration::from_secs(2);
/// Readings kept: ten minutes.
pub(crate) const KEPT: usize = 300;

/// One interval's figures.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Sample {
    /// When the interval ended (ms since the epoch).
    pub t: i64,
    /// Requests answered per second, by opcode name.
    pub rates: BTreeMap<String, f64>,
    /// Request latency over the interval, every opcode (ms).
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    /// Requests read and not yet answered, at the end of the interval.
    pub outstanding: u64,
    /// Client connections.
    pub connections: i64,
    /// Mean `fdatasync` of the log over the interval (ms), and syncs/s.
    pub fsync_ms: Option<f64>,
    pub fsyncs: f64,
    /// Mean proposals per Raft entry (the group commit's batch).
    pub batch: Option<f64>,
    /// Raft's last log index and applied index.
    pub last_log: u64,
    pub applied: u64,
}

#[derive(Default)]
struct Reading {
    ops: BTreeMap<String, Buckets>,
    fsync: Buckets,
    batch: Buckets,
}

fn read(core: &Core) -> Reading {
    Reading {
        ops: core
            .metrics
            .by_op_buckets()
            .into_iter()
            .map(|(op, b)| (format!("{op:?}"), b))
            .collect(),
        fsync: Buckets::of(&core.write_metrics.fsync_seconds),
        batch: Buckets::of(&core.write_metrics.batch_proposals),
    }
}

fn mean(b: &Buckets, scale: f64) -> Option<f64> {
    (b.count() > 0).then(|| b.sum() * scale / b.count() as f64)
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// The readings, newest last.
pub(crate) type Samples = Arc<Mutex<VecDeque<Sample>>>;

/// Reads `core`'s metrics every [`INTERVAL`] into `samples` until
/// `shutdown`.
pub(crate) async fn run(core: Arc<Core>, samples: Samples, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    let mut last = read(&core);
    let mut at = std::time::Instant::now();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let now = read(&core);
        let secs = at.elapsed().as_secs_f64().max(1e-3);
        at = std::time::Instant::now();
        let mut all = Buckets::default();
        let mut rates = BTreeMap::new();
        for (op, b) in &now.ops {
            let d = match last.ops.get(op) {
                Some(before) => b.since(before),
                None => b.clone(),
            };
            if d.count() > 0 {
                rates.insert(op.clone(), d.count() as f64 / secs);
            }
            all.merge(&d);
        }
        let fsync = now.fsync.since(&last.fsync);
        let batch = now.batch.since(&last.batch);
        let raft = core.raft_view();
        let sample = Sample {
            t: crate::core::now_ms(),
            rates,
            p50_ms: finite(all.quantile(0.5) * 1e3),
            p99_ms: finite(all.quantile(0.99) * 1e3),
            p999_ms: finite(all.quantile(0.999) * 1e3),
            outstanding: core.stats.outstanding(),
            connections: core.stats.snapshot().connections,
            fsync_ms: mean(&fsync, 1e3),
            fsyncs: fsync.count() as f64 / secs,
            batch: mean(&batch, 1.0),
            last_log: raft.last_log,
            applied: raft.applied,
        };
        last = now;
        if let Ok(mut s) = samples.lock() {
            if s.len() >= KEPT {
                s.pop_front();
            }
            s.push_back(sample);
        }
    }
}
