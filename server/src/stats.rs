//! Server-wide counters for the four-letter words (and, with issue #6,
//! `mntr` and Prometheus): packets received and sent, live connections,
//! request latency. Lock-free except the latency summary.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// The counters. Shared by every connection task.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    received: AtomicU64,
    sent: AtomicU64,
    connections: AtomicI64,
    /// (min, max, total, count) of request latency in ms, as ZooKeeper
    /// reports it in `srvr`.
    latency: Mutex<(u64, u64, u64, u64)>,
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Snapshot {
    pub received: u64,
    pub sent: u64,
    pub connections: i64,
    pub min_ms: u64,
    pub avg_ms: f64,
    pub max_ms: u64,
}

impl Stats {
    pub(crate) fn received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a connection for as long as the returned guard lives.
    pub(crate) fn connection(&self) -> ConnectionGuard<'_> {
        self.connections.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(self)
    }

    /// Records one request's latency.
    pub(crate) fn latency(&self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let mut l = self
            .latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        l.0 = if l.3 == 0 { ms } else { l.0.min(ms) };
        l.1 = l.1.max(ms);
        l.2 = l.2.saturating_add(ms);
        l.3 += 1;
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let l = *self
            .latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Snapshot {
            received: self.received.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            connections: self.connections.load(Ordering::Relaxed),
            min_ms: l.0,
            avg_ms: if l.3 == 0 {
                0.0
            } else {
                l.2 as f64 / l.3 as f64
            },
            max_ms: l.1,
        }
    }
}

/// Keeps a connection counted.
pub(crate) struct ConnectionGuard<'a>(&'a Stats);

impl Drop for ConnectionGuard<'_> {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_latency() {
        let s = Stats::default();
        {
            let _g = s.connection();
            s.received();
            s.sent();
            s.latency(Duration::from_millis(4));
            s.latency(Duration::from_millis(2));
            assert_eq!(
                s.snapshot(),
                Snapshot {
                    received: 1,
                    sent: 1,
                    connections: 1,
                    min_ms: 2,
                    avg_ms: 3.0,
                    max_ms: 4
                }
            );
        }
        assert_eq!(s.snapshot().connections, 0);
    }
}
