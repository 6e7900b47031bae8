//! Prometheus metrics: ZooKeeper's names where ZooKeeper has one (the
//! `mntr` gauges, `readlatency`, `updatelatency`, `fsynctime`,
//! `snapshottime`), so dashboards and alerts built for ZooKeeper's
//! Prometheus provider keep working, and Corral's own under `corral_`:
//! request latency per opcode, errors per class, the write path (queue,
//! group-commit batches, log appends and syncs), Raft's term and indexes,
//! and the process (`process_*`: memory, CPU, file descriptors).
//!
//! Counters on the request path are prometheus' lock-free atomics; the
//! ZooKeeper gauges and the Raft figures are read from the server on each
//! scrape.

use std::collections::HashMap;
use std::sync::OnceLock;

use jute::{ErrorCode, OpCode};
use prometheus::core::Metric as _;
use prometheus::proto::{Gauge, Metric, MetricFamily, MetricType, Quantile, Summary};
use prometheus::{Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

use crate::core::Core;
use crate::monitor::four_letter::{MonValue, QUOTA_METRICS, monitor_values};

/// Errors that are not a reply's error code.
pub(crate) mod class {
    /// A frame that could not be decoded (the connection is closed).
    pub const MALFORMED_FRAME: &str = "malformed_frame";
    /// A handshake refused (bad password, expired session, client ahead,
    /// or this server not serving).
    pub const HANDSHAKE_REFUSED: &str = "handshake_refused";
    /// A connection refused by `maxClientCnxns`.
    pub const CONNECTION_REFUSED: &str = "connection_refused";
    /// A write that Raft did not commit (the connection is closed).
    pub const PROPOSAL_FAILED: &str = "proposal_failed";
    /// A TLS handshake on the secure port that failed or timed out.
    pub const TLS_HANDSHAKE_FAILED: &str = "tls_handshake_failed";
    /// A connection closed for failed authentication without an error
    /// reply (a client certificate whose subject cannot be read); those
    /// answered AUTHFAILED count under that code.
    pub const AUTH_FAILED: &str = "auth_failed";
    /// A request refused because its session has not authenticated with
    /// an enforced scheme (`enforce.auth.enabled`).
    pub const AUTH_REQUIRED: &str = "auth_required";
    /// A connection closed because its client stopped reading while its
    /// outbound queue passed `corral.maxOutboundBytes`.
    pub const OUTBOUND_OVERFLOW: &str = "outbound_overflow";
    /// A connection closed because its client, its requests held back
    /// for its unread replies, read none of them for half its session
    /// timeout.
    pub const OUTBOUND_STALLED: &str = "outbound_stalled";
}

/// This server's metrics.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    /// Request latency by opcode: each handle made on the opcode's first
    /// request (so only opcodes in use are exported), after which the
    /// request path takes no lock.
    by_op: HashMap<i32, (OpCode, OnceLock<Histogram>)>,
    requests: HistogramVec,
    errors: IntCounterVec,
}

impl Metrics {
    /// Corral's metrics, with the write path's `write` registered too.
    ///
    /// # Errors
    /// prometheus' only if a fixed name were invalid (every start
    /// exercises them).
    pub(crate) fn new(write: &consensus::WriteMetrics) -> prometheus::Result<Self> {
        let registry = Registry::new();
        let requests = HistogramVec::new(
            HistogramOpts::new(
                "corral_request_seconds",
                "Client request latency, from the request read to its reply queued, by opcode",
            )
            .buckets(consensus::metrics::latency_buckets()),
            &["op"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                "corral_errors",
                "Errors by class: a reply's ZooKeeper error code (NONODE, BADVERSION, ...) or a connection-level failure",
            ),
            &["class"],
        )?;
        let mut collectors: Vec<Box<dyn prometheus::core::Collector>> =
            vec![Box::new(requests.clone()), Box::new(errors.clone())];
        collectors.extend(write.collectors());
        #[cfg(target_os = "linux")]
        collectors.push(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));
        for c in collectors {
            if let Err(e) = registry.register(c) {
                tracing::warn!(error = %e, "a metric could not be registered");
            }
        }
        let by_op = (-20..=200)
            .filter_map(|op| {
                OpCode::try_from(op)
                    .ok()
                    .map(|o| (op, (o, OnceLock::new())))
            })
            .collect();
        Ok(Metrics {
            registry,
            by_op,
            requests,
            errors,
        })
    }

    /// Records one answered request.
    pub(crate) fn request(&self, op: i32, latency: std::time::Duration) {
        let secs = latency.as_secs_f64();
        match self.by_op.get(&op) {
            Some((name, h)) => h
                .get_or_init(|| self.requests.with_label_values(&[&format!("{name:?}")]))
                .observe(secs),
            None => self.requests.with_label_values(&["unknown"]).observe(secs),
        }
    }

    /// Counts a reply's error code (0 is not an error).
    pub(crate) fn reply_error(&self, err: i32) {
        if err != 0 {
            let name = ErrorCode::try_from(err).map_or("UNKNOWN", ErrorCode::name);
            self.errors.with_label_values(&[name]).inc();
        }
    }

    /// Counts an error of `class` (see [`class`]).
    pub(crate) fn error(&self, class: &str) {
        self.errors.with_label_values(&[class]).inc();
    }

    /// The latency histograms of read and of write opcodes, merged: the
    /// source of ZooKeeper's `readlatency` and `updatelatency`.
    pub(crate) fn read_and_update_buckets(&self) -> (Buckets, Buckets) {
        let mut read = Buckets::default();
        let mut update = Buckets::default();
        for (op, (_, h)) in &self.by_op {
            let Some(h) = h.get() else { continue };
            let m = h.metric();
            let target = if crate::pipeline::is_write(*op) {
                &mut update
            } else {
                &mut read
            };
            target.add(m.get_histogram());
        }
        (read, update)
    }

    /// Each opcode's latency histogram (those used since the start).
    pub(crate) fn by_op_buckets(&self) -> Vec<(OpCode, Buckets)> {
        self.by_op
            .values()
            .filter_map(|(op, h)| h.get().map(|h| (*op, Buckets::of(h))))
            .collect()
    }
}

/// A histogram's cumulative buckets (upper bound, count), its count and
/// sum, for quantile estimates.
#[derive(Debug, Default, Clone)]
pub(crate) struct Buckets {
    bounds: Vec<(f64, u64)>,
    count: u64,
    sum: f64,
}

impl Buckets {
    fn add(&mut self, h: &prometheus::proto::Histogram) {
        if self.bounds.is_empty() {
            self.bounds = h
                .get_bucket()
                .iter()
                .map(|b| (b.upper_bound(), 0))
                .collect();
        }
        for (i, b) in h.get_bucket().iter().enumerate() {
            if let Some(slot) = self.bounds.get_mut(i) {
                slot.1 += b.cumulative_count();
            }
        }
        self.count += h.get_sample_count();
        self.sum += h.get_sample_sum();
    }

    /// From one histogram.
    pub(crate) fn of(h: &Histogram) -> Self {
        let mut b = Buckets::default();
        b.add(h.metric().get_histogram());
        b
    }

    /// Merges `other` (same bounds) into these.
    pub(crate) fn merge(&mut self, other: &Buckets) {
        if self.bounds.is_empty() {
            self.bounds.clone_from(&other.bounds);
        } else {
            for (slot, b) in self.bounds.iter_mut().zip(&other.bounds) {
                slot.1 += b.1;
            }
        }
        self.count += other.count;
        self.sum += other.sum;
    }

    /// What was added since `earlier` (a reading of the same histogram).
    pub(crate) fn since(&self, earlier: &Buckets) -> Buckets {
        let mut d = self.clone();
        for (slot, b) in d.bounds.iter_mut().zip(&earlier.bounds) {
            slot.1 = slot.1.saturating_sub(b.1);
        }
        d.count = d.count.saturating_sub(earlier.count);
        d.sum = (d.sum - earlier.sum).max(0.0);
        d
    }

    /// Samples.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Their sum, in the histogram's unit.
    pub(crate) fn sum(&self) -> f64 {
        self.sum
    }

    /// The `q` quantile, interpolated linearly inside its bucket (as
    /// Prometheus' `histogram_quantile`); NaN without samples.
    pub(crate) fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        let rank = q * self.count as f64;
        let mut lower = (0.0, 0u64);
        for &(bound, cumulative) in &self.bounds {
            if cumulative as f64 >= rank {
                let in_bucket = (cumulative - lower.1) as f64;
                if in_bucket == 0.0 {
                    return bound;
                }
                return lower.0 + (bound - lower.0) * (rank - lower.1 as f64) / in_bucket;
            }
            lower = (bound, cumulative);
        }
        // Beyond the last bound: the last bound is all that is known.
        lower.0
    }
}

fn family(name: &str, help: &str, kind: MetricType, metrics: Vec<Metric>) -> MetricFamily {
    let mut f = MetricFamily::default();
    f.set_name(name.to_owned());
    f.set_help(help.to_owned());
    f.set_field_type(kind);
    f.set_metric(metrics);
    f
}

fn gauge(name: &str, help: &str, value: f64) -> MetricFamily {
    let mut g = Gauge::default();
    g.set_value(value);
    let mut m = Metric::default();
    m.set_gauge(g);
    family(name, help, MetricType::GAUGE, vec![m])
}

/// A ZooKeeper summary in ms: `quantiles` of `b` (in seconds), its count
/// and sum.
fn summary_ms(name: &str, b: &Buckets, quantiles: &[f64]) -> MetricFamily {
    let mut s = Summary::default();
    s.set_sample_count(b.count());
    s.set_sample_sum(b.sum() * 1000.0);
    s.set_quantile(
        quantiles
            .iter()
            .map(|q| {
                let mut x = Quantile::default();
                x.set_quantile(*q);
                x.set_value(b.quantile(*q) * 1000.0);
                x
            })
            .collect(),
    );
    let mut m = Metric::default();
    m.set_summary(s);
    family(name, name, MetricType::SUMMARY, vec![m])
}

/// Every metric family of `core`, ZooKeeper's and Corral's.
pub(crate) fn gather(core: &Core) -> Vec<MetricFamily> {
    let mut out = core.metrics.registry.gather();
    // ZooKeeper's gauges: every numeric mntr value that is not part of a
    // summary (those follow as summaries), named without `zk_`.
    let values = monitor_values(core);
    // The quota sets, labelled by namespace (`key`, as ZooKeeper's
    // Prometheus provider labels gauge and counter sets).
    let mut quota: Vec<Vec<Metric>> = vec![Vec::new(); QUOTA_METRICS.len()];
    for (key, value) in &values {
        let Some((i, ns)) = QUOTA_METRICS.iter().enumerate().find_map(|(i, m)| {
            key.strip_prefix("zk_")
                .and_then(|k| k.strip_suffix(m))
                .and_then(|k| k.strip_suffix('_'))
                .map(|ns| (i, ns))
        }) else {
            continue;
        };
        let v = match value {
            MonValue::Int(v) => *v as f64,
            MonValue::Double(d) => *d,
            MonValue::Text(_) => continue,
        };
        let mut label = prometheus::proto::LabelPair::default();
        label.set_name("key".to_owned());
        label.set_value(ns.to_owned());
        let mut m = Metric::default();
        m.set_label(vec![label]);
        if i == 4 {
            let mut c = prometheus::proto::Counter::default();
            c.set_value(v);
            m.set_counter(c);
        } else {
            let mut g = Gauge::default();
            g.set_value(v);
            m.set_gauge(g);
        }
        quota[i].push(m);
    }
    for (i, metrics) in quota.into_iter().enumerate() {
        if !metrics.is_empty() {
            let kind = if i == 4 {
                MetricType::COUNTER
            } else {
                MetricType::GAUGE
            };
            out.push(family(QUOTA_METRICS[i], QUOTA_METRICS[i], kind, metrics));
        }
    }
    for (key, value) in &values {
        let name = key.strip_prefix("zk_").unwrap_or(key);
        if name.ends_with("_per_namespace") {
            continue;
        }
        if name.ends_with("snapshottime")
            || ["readlatency", "updatelatency"]
                .iter()
                .any(|s| name.ends_with(s))
        {
            continue;
        }
        let v = match value {
            MonValue::Int(i) => *i as f64,
            MonValue::Double(d) => *d,
            MonValue::Text(_) => continue,
        };
        out.push(gauge(name, name, v));
    }
    let (read, update) = core.metrics.read_and_update_buckets();
    out.push(summary_ms("readlatency", &read, &[0.5, 0.9, 0.99]));
    out.push(summary_ms("updatelatency", &update, &[0.5, 0.9, 0.99]));
    out.push(summary_ms(
        "fsynctime",
        &Buckets::of(&core.write_metrics.fsync_seconds),
        &[0.5],
    ));
    // snapshottime's count and sum, from the same mntr values.
    let value = |key: &str| match values.iter().find(|(k, _)| k == key) {
        Some((_, MonValue::Int(i))) => *i,
        _ => 0,
    };
    let mut s = Summary::default();
    s.set_sample_count(u64::try_from(value("zk_cnt_snapshottime")).unwrap_or(0));
    s.set_sample_sum(value("zk_sum_snapshottime") as f64);
    let mut m = Metric::default();
    m.set_summary(s);
    out.push(family(
        "snapshottime",
        "snapshottime",
        MetricType::SUMMARY,
        vec![m],
    ));
    // Raft, as this member sees it.
    let raft = core.raft_view();
    out.push(gauge(
        "corral_raft_term",
        "This member's current Raft term",
        raft.term as f64,
    ));
    out.push(gauge(
        "corral_raft_last_log_index",
        "The last index in this member's Raft log",
        raft.last_log as f64,
    ));
    out.push(gauge(
        "corral_raft_applied_index",
        "The last Raft index applied to this member's tree",
        raft.applied as f64,
    ));
    out.push(gauge(
        "corral_raft_leader_applied_index",
        "The leader's applied index as last reported to this member (its own on the leader)",
        raft.leader_applied as f64,
    ));
    out.push(gauge(
        "corral_raft_is_leader",
        "1 while this member leads",
        f64::from(u8::from(raft.leading)),
    ));
    out.push(gauge(
        "corral_serving",
        "1 while this member serves clients (in touch with a quorum)",
        f64::from(u8::from(core.serving())),
    ));
    let total = &core.outbound_total;
    out.push(gauge(
        "corral_outbound_queued_bytes",
        "Replies and notifications queued for clients, on every connection",
        total.bytes.load(std::sync::atomic::Ordering::Relaxed) as f64,
    ));
    out.push(gauge(
        "corral_connections_backed_up",
        "Connections whose requests wait because their client is behind on its replies",
        total.paused.load(std::sync::atomic::Ordering::Relaxed) as f64,
    ));
    out.push(gauge(
        "corral_storage_failed",
        "1 once a disk error has stopped this member (see /ready for why)",
        f64::from(u8::from(core.failed.get().is_some())),
    ));
    out.sort_by(|a, b| a.name().cmp(b.name()));
    out
}

/// The text exposition of [`gather`] (Prometheus' format 0.0.4).
pub(crate) fn render(core: &Core) -> String {
    let mut buf = Vec::new();
    if let Err(e) = prometheus::TextEncoder::new().encode(&gather(core), &mut buf) {
        tracing::warn!(error = %e, "metrics could not be encoded");
    }
    String::from_utf8(buf).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_inside_buckets() {
        let h = Histogram::with_opts(HistogramOpts::new("t", "t").buckets(vec![1.0, 2.0, 4.0]))
            .expect("histogram");
        assert!(Buckets::of(&h).quantile(0.5).is_nan());
        for v in [0.5, 1.5, 1.5, 3.0] {
            h.observe(v);
        }
        let b = Buckets::of(&h);
        assert_eq!((b.count(), b.sum()), (4, 6.5));
        // Rank 2 of 4 falls in (1, 2], which holds ranks 2 and 3.
        assert_eq!(b.quantile(0.5), 1.5);
        assert_eq!(b.quantile(0.25), 1.0);
        assert_eq!(b.quantile(1.0), 4.0);
    }
}
