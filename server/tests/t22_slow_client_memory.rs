//! The memory a client that stops reading can make the server hold is
//! bounded by `corral.maxOutboundBytes`. Issue #22's case: a client
//! pipelines 2,000 reads of a 1 MB znode and never reads a reply (before
//! the bound, a standalone Corral grew by 2 GiB, and another client's read
//! stalled for 1.3 s). Alone in its test binary, so the process's resident
//! memory is the server's.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use jute::proto::*;
use jute::{Acl, Request};
use tokio::io::AsyncWriteExt;

/// This process's resident memory, bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|kb| kb.trim().parse::<u64>().ok())
        .expect("VmRSS")
        * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_holds_at_most_the_bound() {
    const BOUND: usize = 16 << 20;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = server::Config::for_tests(dir.path().to_path_buf());
    config.max_outbound_bytes = BOUND;
    let server = common::start_with(dir, config).await;

    let (mut a, _) = common::connect(server.addr, None).await;
    let create = Request::Create(CreateRequest {
        path: "/big".into(),
        data: Some(Bytes::from(vec![7u8; 1_000_000])),
        acl: vec![Acl::open()],
        flags: 0,
    });
    let (h, _) = common::call(&mut a, 1, create).await;
    assert_eq!(h.err, 0);
    // Warm up: a few reads of the node, so what they allocate once is in
    // the baseline.
    for xid in 2..10 {
        let (h, _) = common::call(
            &mut a,
            xid,
            Request::GetData(GetDataRequest {
                path: "/big".into(),
                watch: false,
            }),
        )
        .await;
        assert_eq!(h.err, 0);
    }
    let before = rss();

    // 2,000 reads of it (2 GB of replies), never read.
    let (b, _) = common::connect(server.addr, None).await;
    let mut socket = b.into_inner();
    let out = common::get_data_frames("/big", 2000);
    socket.write_all(&out).await.expect("send the requests");

    // For 3 s another client reads, and the resident memory is sampled.
    let mut peak = before;
    let mut slowest = Duration::ZERO;
    let until = Instant::now() + Duration::from_secs(3);
    let mut xid = 100;
    while Instant::now() < until {
        let started = Instant::now();
        let (h, _) = common::call(&mut a, xid, common::exists("/big")).await;
        assert_eq!(h.err, 0);
        slowest = slowest.max(started.elapsed());
        peak = peak.max(rss());
        xid += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let grown = peak.saturating_sub(before);
    eprintln!(
        "resident memory grew by {} KiB (bound {} KiB); the other client's slowest read took {:?}",
        grown / 1024,
        BOUND / 1024,
        slowest
    );
    // The bound, plus what a reply in the making and the codec's buffers
    // hold besides the queue.
    assert!(
        grown < (BOUND as u64) + (16 << 20),
        "grew by {grown} bytes, bound {BOUND}"
    );
    assert!(
        slowest < Duration::from_millis(500),
        "the other client waited {slowest:?}"
    );
    drop(socket);
    server.shutdown.cancel();
}
