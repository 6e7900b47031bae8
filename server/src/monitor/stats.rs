//! Server-wide counters for the four-letter words (and, with issue #6,
//! `mntr` and Prometheus): packets received and sent, live connections,
//! request latency, and each open connection's own counters. Lock-free on
//! the request path: every counter is an atomic.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A latency summary in ms (min, max, total, count), as ZooKeeper's
/// `AvgMinMaxCounter`: shared by the server's and each connection's.
#[derive(Debug)]
pub(crate) struct Latency {
    min: AtomicU64,
    max: AtomicU64,
    total: AtomicU64,
    count: AtomicU64,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
            total: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }
}

impl Latency {
    fn record(&self, ms: u64) {
        self.min.fetch_min(ms, Ordering::Relaxed);
        self.max.fetch_max(ms, Ordering::Relaxed);
        self.total.fetch_add(ms, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn reset(&self) {
        self.min.store(u64::MAX, Ordering::Relaxed);
        self.max.store(0, Ordering::Relaxed);
        self.total.store(0, Ordering::Relaxed);
        self.count.store(0, Ordering::Relaxed);
    }

    /// As a summary (min 0 while there is no sample).
    fn timings(&self) -> consensus::Timings {
        let (min_ms, sum_ms, max_ms, count) = self.read();
        consensus::Timings {
            count,
            sum_ms,
            min_ms,
            max_ms,
        }
    }

    /// (min, total, max, count); min is 0 while there is no sample.
    fn read(&self) -> (u64, u64, u64, u64) {
        let count = self.count.load(Ordering::Relaxed);
        let min = match self.min.load(Ordering::Relaxed) {
            u64::MAX => 0,
            m => m,
        };
        (
            min,
            self.total.load(Ordering::Relaxed),
            self.max.load(Ordering::Relaxed),
            count,
        )
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The counters. Shared by every connection task.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    received: AtomicU64,
    sent: AtomicU64,
    /// Connections refused for failed authentication at the transport:
    /// TLS handshakes that failed and client certificates that could not
    /// be read (ZooKeeper's `ServerStats.authFailedCount`, which its
    /// Netty factory counts for the same two).
    auth_failed: AtomicU64,
    connections: AtomicI64,
    /// Request latency, as ZooKeeper reports it in `srvr`.
    latency: Latency,
    /// The same, of reads and of writes only (ZooKeeper's `readlatency`
    /// and `updatelatency`).
    read_latency: Latency,
    update_latency: Latency,
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
    pub four_letter: AtomicBool,
    /// The last answered request: opcode (`i32::MIN` for none), xid
    /// (−1 for none), the last reply's zxid and when it left (ms on a
    /// monotonic clock, as ZooKeeper's), and its latency.
    last_op: AtomicI32,
    last_cxid: AtomicI64,
    last_zxid: AtomicI64,
    last_response_ms: AtomicI64,
    last_latency: AtomicU64,
    latency: Latency,
}

/// Milliseconds on a monotonic clock since the process started.
pub(crate) fn monotonic_ms() -> i64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    i64::try_from(START.get_or_init(Instant::now).elapsed().as_millis()).unwrap_or(i64::MAX)
}

impl Conn {
    fn new(peer: SocketAddr) -> Self {
        Conn {
            peer,
            received: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            session: AtomicI64::new(0),
            timeout_ms: AtomicI64::new(0),
            established_ms: AtomicI64::new(0),
            four_letter: AtomicBool::new(false),
            last_op: AtomicI32::new(i32::MIN),
            last_cxid: AtomicI64::new(-1),
            last_zxid: AtomicI64::new(-1),
            last_response_ms: AtomicI64::new(0),
            last_latency: AtomicU64::new(0),
            latency: Latency::default(),
        }
    }

    /// Records a reply sent (its header's zxid).
    pub(crate) fn replied(&self, zxid: i64) {
        self.last_zxid.store(zxid, Ordering::Relaxed);
        self.last_response_ms
            .store(monotonic_ms(), Ordering::Relaxed);
    }

    /// Records an answered request (a ping's negative xid is not kept, as
    /// ZooKeeper keeps none).
    pub(crate) fn answered(&self, op: i32, cxid: i32, latency: Duration) {
        let ms = millis(latency);
        self.last_op.store(op, Ordering::Relaxed);
        if cxid >= 0 {
            self.last_cxid.store(i64::from(cxid), Ordering::Relaxed);
        }
        self.last_latency.store(ms, Ordering::Relaxed);
        self.latency.record(ms);
    }

    /// `crst`: the counters start again.
    pub(crate) fn reset(&self) {
        self.received.store(0, Ordering::Relaxed);
        self.sent.store(0, Ordering::Relaxed);
        self.last_op.store(i32::MIN, Ordering::Relaxed);
        self.last_cxid.store(-1, Ordering::Relaxed);
        self.last_zxid.store(-1, Ordering::Relaxed);
        self.last_response_ms.store(0, Ordering::Relaxed);
        self.last_latency.store(0, Ordering::Relaxed);
        self.latency.reset();
    }

    /// ZooKeeper's `ServerCnxn.getConnectionInfo` (the AdminServer's
    /// connection object): the brief form for `stats`, the full one for
    /// `connections`.
    pub(crate) fn json(&self, full: bool) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::json;
        let mut m = serde_json::Map::new();
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        m.insert("remote_socket_address".into(), json!(self.peer.to_string()));
        m.insert(
            "interest_ops".into(),
            json!(if self.four_letter.load(Ordering::Relaxed) {
                0
            } else {
                1
            }),
        );
        m.insert("outstanding_requests".into(), json!(get(&self.queued)));
        m.insert("packets_received".into(), json!(get(&self.received)));
        m.insert("packets_sent".into(), json!(get(&self.sent)));
        if full {
            let (min, total, max, count) = self.latency.read();
            m.insert(
                "session_id".into(),
                json!(self.session.load(Ordering::Relaxed)),
            );
            m.insert(
                "last_operation".into(),
                json!(crate::monitor::four_letter::op_name(
                    self.last_op.load(Ordering::Relaxed)
                )),
            );
            m.insert(
                "established".into(),
                json!(self.established_ms.load(Ordering::Relaxed)),
            );
            m.insert(
                "session_timeout".into(),
                json!(self.timeout_ms.load(Ordering::Relaxed)),
            );
            m.insert(
                "last_cxid".into(),
                json!(self.last_cxid.load(Ordering::Relaxed)),
            );
            m.insert(
                "last_zxid".into(),
                json!(self.last_zxid.load(Ordering::Relaxed)),
            );
            m.insert(
                "last_response_time".into(),
                json!(self.last_response_ms.load(Ordering::Relaxed)),
            );
            m.insert("last_latency".into(), json!(get(&self.last_latency)));
            m.insert("min_latency".into(), json!(min));
            m.insert(
                "avg_latency".into(),
                json!(total.checked_div(count).unwrap_or(0)),
            );
            m.insert("max_latency".into(), json!(max));
        }
        m
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
            out.push_str(&format!(
                ",sid=0x{:x},lop={},est={},to={}",
                sid,
                crate::monitor::four_letter::op_name(self.last_op.load(Ordering::Relaxed)),
                self.established_ms.load(Ordering::Relaxed),
                self.timeout_ms.load(Ordering::Relaxed)
            ));
            let cxid = self.last_cxid.load(Ordering::Relaxed);
            if cxid >= 0 {
                out.push_str(&format!(",lcxid=0x{cxid:x}"));
            }
            let (min, total, max, count) = self.latency.read();
            out.push_str(&format!(
                ",lzxid=0x{:x},lresp={},llat={},minlat={},avglat={},maxlat={}",
                self.last_zxid.load(Ordering::Relaxed),
                self.last_response_ms.load(Ordering::Relaxed),
                self.last_latency.load(Ordering::Relaxed),
                min,
                total.checked_div(count).unwrap_or(0),
                max
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

    /// Counts a connection refused for failed authentication.
    pub(crate) fn auth_failed(&self) {
        self.auth_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// Connections refused for failed authentication so far.
    pub(crate) fn auth_failed_count(&self) -> u64 {
        self.auth_failed.load(Ordering::Relaxed)
    }

    /// Counts a connection from `peer` for as long as the returned guard
    /// lives, and lists it for `stat` and `cons`.
    pub(crate) fn connection(&self, id: u64, peer: SocketAddr) -> ConnectionGuard<'_> {
        self.connections.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn::new(peer));
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
        self.latency.reset();
        self.read_latency.reset();
        self.update_latency.reset();
    }

    /// Records one request's latency, as a read or a write.
    pub(crate) fn request(&self, write: bool, d: Duration) {
        let ms = millis(d);
        self.latency.record(ms);
        if write {
            self.update_latency.record(ms);
        } else {
            self.read_latency.record(ms);
        }
    }

    /// Reads' latency summary.
    pub(crate) fn read_latency(&self) -> consensus::Timings {
        self.read_latency.timings()
    }

    /// Writes' latency summary.
    pub(crate) fn update_latency(&self) -> consensus::Timings {
        self.update_latency.timings()
    }

    /// Requests read and not yet answered, over every connection.
    pub(crate) fn outstanding(&self) -> u64 {
        self.conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .map(|c| c.queued.load(Ordering::Relaxed))
            .sum()
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let (min, total, max, count) = self.latency.read();
        Snapshot {
            received: self.received.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            connections: self.connections.load(Ordering::Relaxed),
            min_ms: min,
            avg_ms: if count == 0 {
                0.0
            } else {
                total as f64 / count as f64
            },
            max_ms: max,
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
            s.request(false, Duration::from_millis(4));
            s.request(true, Duration::from_millis(2));
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
