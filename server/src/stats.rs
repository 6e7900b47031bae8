//! Server-wide counters for the four-letter words (and, with issue #6,
//! `mntr` and Prometheus): packets received and sent, live connections,
//! request latency. Lock-free except the latency summary.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The counters. Shared by every connection task.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    received: AtomicU64,
    sent: AtomicU64,
    connections: AtomicI64,
    /// (min, max, total, count) of request latency in ms, as ZooKeeper
    /// reports it in `srvr`.
    latency: Mutex<(u64, u64, u64, u64)>,
    /// Every open client connection, by connection id (`stat`, `cons`).
    conns: Mutex<BTreeMap<u64, Arc<Conn>>>,
}

/// One client connection's counters, as ZooKeeper's `cons` shows them.
#[derive(Debug)]
pub(crate) struct Conn {
    pub peer: SocketAddr,
    pub received: AtomicU64,
    pub sent: AtomicU64,
    /// Requests read but not yet answered.
    pub queued: AtomicU64,
    /// Session id (0 before the handshake) and negotiated timeout, ms.
    pub session: AtomicI64,
    pub timeout_ms: AtomicI64,
    /// When the session was established here, ms since the epoch.
    pub established_ms: AtomicI64,
    /// A four-letter-word connection (ZooKeeper shows its interest set
    /// as `[0]`: it no longer reads).
    pub four_letter: std::sync::atomic::AtomicBool,
    pub last: Mutex<LastOp>,
}

/// The last answered request of a connection and its latencies (ms).
#[derive(Debug, Clone)]
pub(crate) struct LastOp {
    /// ZooKeeper's four-letter abbreviation of the operation (`GETD`, …).
    pub op: &'static str,
    pub cxid: i64,
    pub zxid: i64,
    /// When the reply left, ms on a monotonic clock (as ZooKeeper's).
    pub response_ms: i64,
    pub latency: u64,
    pub min: u64,
    pub max: u64,
    pub total: u64,
    pub count: u64,
}

impl Default for LastOp {
    fn default() -> Self {
        LastOp {
            op: "NA",
            cxid: -1,
            zxid: -1,
            response_ms: 0,
            latency: 0,
            min: 0,
            max: 0,
            total: 0,
            count: 0,
        }
    }
}

/// Milliseconds on a monotonic clock since the process started.
pub(crate) fn monotonic_ms() -> i64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    i64::try_from(START.get_or_init(Instant::now).elapsed().as_millis()).unwrap_or(i64::MAX)
}

impl Conn {
    /// Records a reply sent (its header's zxid).
    pub(crate) fn replied(&self, zxid: i64) {
        let mut l = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        l.zxid = zxid;
        l.response_ms = monotonic_ms();
    }

    /// Records an answered request.
    pub(crate) fn answered(&self, op: &'static str, cxid: i32, latency: Duration) {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        let mut l = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        l.op = op;
        if cxid >= 0 {
            l.cxid = i64::from(cxid);
        }
        l.latency = ms;
        l.min = if l.count == 0 { ms } else { l.min.min(ms) };
        l.max = l.max.max(ms);
        l.total = l.total.saturating_add(ms);
        l.count += 1;
    }

    /// `crst`: the counters start again.
    pub(crate) fn reset(&self) {
        self.received.store(0, Ordering::Relaxed);
        self.sent.store(0, Ordering::Relaxed);
        *self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = LastOp::default();
    }

    /// ZooKeeper's `ServerCnxn.dumpConnectionInfo`: the brief form for
    /// `stat`, the full one (with the session's fields) for `cons`.
    pub(crate) fn describe(&self, full: bool) -> String {
        let mut out = format!(
            " /{}[{}](queued={},recved={},sent={}",
            self.peer,
            if self.four_letter.load(Ordering::Relaxed) {
                0
            } else {
                1
            },
            self.queued.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
            self.sent.load(Ordering::Relaxed)
        );
        let sid = self.session.load(Ordering::Relaxed);
        if full && sid != 0 {
            let l = self
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            out.push_str(&format!(
                ",sid=0x{:x},lop={},est={},to={}",
                sid,
                l.op,
                self.established_ms.load(Ordering::Relaxed),
                self.timeout_ms.load(Ordering::Relaxed)
            ));
            if l.cxid >= 0 {
                out.push_str(&format!(",lcxid=0x{:x}", l.cxid));
            }
            out.push_str(&format!(
                ",lzxid=0x{:x},lresp={},llat={},minlat={},avglat={},maxlat={}",
                l.zxid,
                l.response_ms,
                l.latency,
                l.min,
                l.total.checked_div(l.count).unwrap_or(0),
                l.max
            ));
        }
        out.push(')');
        out
    }
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

    /// Counts a connection from `peer` for as long as the returned guard
    /// lives, and lists it for `stat` and `cons`.
    pub(crate) fn connection(&self, id: u64, peer: SocketAddr) -> ConnectionGuard<'_> {
        self.connections.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            peer,
            received: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            session: AtomicI64::new(0),
            timeout_ms: AtomicI64::new(0),
            established_ms: AtomicI64::new(0),
            four_letter: std::sync::atomic::AtomicBool::new(false),
            last: Mutex::new(LastOp::default()),
        });
        self.conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, conn.clone());
        ConnectionGuard {
            stats: self,
            id,
            conn,
        }
    }

    /// The open connections, oldest first.
    pub(crate) fn connections(&self) -> Vec<Arc<Conn>> {
        self.conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// `srst`: the server-wide counters start again.
    pub(crate) fn reset(&self) {
        self.received.store(0, Ordering::Relaxed);
        self.sent.store(0, Ordering::Relaxed);
        *self
            .latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = (0, 0, 0, 0);
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

/// Keeps a connection counted and listed.
pub(crate) struct ConnectionGuard<'a> {
    stats: &'a Stats,
    id: u64,
    /// The connection's own counters.
    pub conn: Arc<Conn>,
}

impl Drop for ConnectionGuard<'_> {
    fn drop(&mut self) {
        self.stats.connections.fetch_sub(1, Ordering::Relaxed);
        self.stats
            .conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_latency() {
        let s = Stats::default();
        {
            let _g = s.connection(1, "127.0.0.1:1".parse().expect("addr"));
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
