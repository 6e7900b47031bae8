//! Disk faults through consensus' failpoints (`docs/reliability.md`): a
//! log append that fails, an `fsync` that fails, a tree commit that fails.
//! Each stops the server for good: the write it struck is not
//! acknowledged (unless it was durable already), every client is cut off,
//! no new session is accepted, `/ready` and the metrics say why, and
//! turning the fault off does not bring it back (a failed `fsync` may have
//! lost pages the kernel had accepted). Restarted on the same directory,
//! it serves every acknowledged write.
//!
//! Failpoints are global to the process: this file holds one test, which
//! runs the faults one after another.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use futures::StreamExt;
use jute::{ClientFrame, CreateMode};
use server::Config;

/// Starts a standalone server on `dir` (kept by the caller across
/// restarts) with an AdminServer.
async fn start_on(dir: &std::path::Path) -> (TestServer, SocketAddr) {
    let admin = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut config = Config::for_tests(dir.to_path_buf());
    config.admin_addr = Some(admin);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let handle = tokio::spawn(server::run(config, listener, shutdown.clone()));
    let s = TestServer {
        addr,
        shutdown,
        handle,
        _dir: tempfile::tempdir().expect("tempdir"),
    };
    wait_for(
        || async { try_connect(addr, 4000, None).await.is_some() },
        "serving",
    )
    .await;
    (s, admin)
}

async fn wait_for<F, Fut>(mut ok: F, what: &str)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !ok().await {
        assert!(tokio::time::Instant::now() < deadline, "never {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The value of the metric line starting with `prefix` ("" if none).
fn metric(text: &str, prefix: &str) -> String {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap_or_default()
        .to_owned()
}

/// One fault: `failpoint` on from the second write on; the error counted
/// under `label` where the log store counts it.
async fn strike(dir: &std::path::Path, failpoint: &str, label: Option<&str>) {
    let (s, admin) = start_on(dir).await;
    let (mut c, _) = try_connect(s.addr, 4000, None).await.expect("session");
    let before = format!("/before-{failpoint}");
    let (h, _) = call(&mut c, 1, create(&before, b"x", CreateMode::Persistent)).await;
    assert_eq!(h.err, 0, "{failpoint}: the write before the fault");

    fail::cfg(failpoint, "return").expect("failpoint");
    let during = format!("/during-{failpoint}");
    send(&mut c, 2, create(&during, b"x", CreateMode::Persistent)).await;
    // No success, then the connection is closed.
    let mut acknowledged = false;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), c.next()).await {
            Ok(Some(Ok(ClientFrame::Reply { header, .. }))) if header.xid == 2 => {
                acknowledged = header.err == 0;
            }
            Ok(Some(Ok(_))) => {}
            Ok(None | Some(Err(_))) => break,
            Err(_) => panic!("{failpoint}: the client was never cut off"),
        }
    }
    if failpoint != "tree-commit" {
        // The log never held it durably: never acknowledged.
        assert!(
            !acknowledged,
            "{failpoint}: a write was acknowledged after its log failed"
        );
    }
    assert!(
        try_connect(s.addr, 4000, None).await.is_none(),
        "{failpoint}: a failed server accepted a session"
    );
    assert_eq!(
        four_letter(s.addr, "srvr").await,
        "This ZooKeeper instance is not currently serving requests\n"
    );
    let (status, body) = http_get(admin, "/ready").await;
    assert_eq!(status, 503, "{failpoint}: {body}");
    assert!(body.contains("storage failed"), "{failpoint}: {body}");
    let (_, metrics) = http_get(admin, "/metrics").await;
    assert_eq!(
        metric(&metrics, "corral_storage_failed "),
        "1",
        "{failpoint}"
    );
    if let Some(label) = label {
        assert_eq!(
            metric(
                &metrics,
                &format!("corral_storage_errors_total{{at=\"{label}\"}} ")
            ),
            "1",
            "{failpoint}: {metrics}"
        );
    }

    // The fault gone, it stays down: nothing it holds is trusted.
    fail::remove(failpoint);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        try_connect(s.addr, 4000, None).await.is_none(),
        "{failpoint}: serving again once the fault was lifted"
    );
    s.shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.handle).await;

    // Restarted: every acknowledged write is there, and it takes writes.
    let (s, _) = start_on(dir).await;
    let (mut c, _) = try_connect(s.addr, 4000, None).await.expect("session");
    let (h, _) = call(&mut c, 1, exists(&before)).await;
    assert_eq!(h.err, 0, "{failpoint}: an acknowledged write lost");
    if acknowledged {
        let (h, _) = call(&mut c, 2, exists(&during)).await;
        assert_eq!(h.err, 0, "{failpoint}: an acknowledged write lost");
    }
    let after = format!("/after-{failpoint}");
    let (h, _) = call(&mut c, 3, create(&after, b"x", CreateMode::Persistent)).await;
    assert_eq!(h.err, 0, "{failpoint}: no write after the restart");
    s.shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.handle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_error_stops_the_server_until_it_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    strike(dir.path(), "raft-log-fsync", Some("log_fsync")).await;
    strike(dir.path(), "raft-log-append", Some("log_append")).await;
    strike(dir.path(), "tree-commit", None).await;
}
