//! Durability: writers hammer a real `corral` process, it is killed with
//! SIGKILL mid-stream, restarted on the same data directory, and every
//! write that was acknowledged before the kill must be there — three times
//! over, each kill at a different moment.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use jute::proto::*;
use jute::{Acl, Request, Response};

struct Corral(Child);

impl Drop for Corral {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], consensus::network::unused_port()))
}

async fn spawn(addr: SocketAddr, dir: &std::path::Path) -> Corral {
    spawn_with(addr, dir, &["--metrics-port", "0"]).await
}

async fn spawn_with(addr: SocketAddr, dir: &std::path::Path, extra: &[&str]) -> Corral {
    let child = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["--client-addr", &addr.to_string(), "--data-dir"])
        .arg(dir)
        .args(["--log", "warn", "--admin-port", "0"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn corral");
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "corral did not start listening");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Corral(child)
}

/// Waits until the writers have had `n` acknowledgements, 20 s at most
/// (the test's assertions then say what is missing).
async fn wait_for_acks(progress: &AtomicUsize, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while progress.load(Ordering::Relaxed) < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Creates `/w<writer>-<n>` one after another until the connection breaks;
/// returns the acknowledged paths with their data.
async fn writer(addr: SocketAddr, id: usize, progress: Arc<AtomicUsize>) -> Vec<(String, Bytes)> {
    let mut acked = Vec::new();
    let Ok(socket) = tokio::net::TcpStream::connect(addr).await else {
        return acked;
    };
    let mut c = tokio_util::codec::Framed::new(socket, jute::ClientCodec::default());
    use futures::{SinkExt, StreamExt};
    let hello = ConnectRequest {
        time_out: 10_000,
        passwd: Bytes::from_static(&[0; 16]),
        read_only: Some(false),
        ..Default::default()
    };
    if c.send(&hello).await.is_err()
        || !matches!(c.next().await, Some(Ok(jute::ClientFrame::Connect(_))))
    {
        return acked;
    }
    for n in 0.. {
        let path = format!("/w{id}-{n}");
        let data = Bytes::from(format!("{id}:{n}"));
        let req = Request::Create(CreateRequest {
            path: path.clone(),
            data: Some(data.clone()),
            acl: vec![Acl::open()],
            flags: 0,
        });
        if c.send((RequestHeader { xid: n + 1, op: 1 }, &req))
            .await
            .is_err()
        {
            break;
        }
        match c.next().await {
            Some(Ok(jute::ClientFrame::Reply { header, .. }))
                if header.err == 0 && header.xid == n + 1 =>
            {
                acked.push((path, data));
                progress.fetch_add(1, Ordering::Relaxed);
            }
            _ => break,
        }
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_write_is_lost_on_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut all: BTreeMap<String, Bytes> = BTreeMap::new();
    for (round, run_for) in [(0, 300u64), (1, 700), (2, 150)].into_iter() {
        let addr = free_addr();
        let mut server = spawn(addr, dir.path()).await;
        let progress = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = (0..4)
            .map(|w| tokio::spawn(writer(addr, round * 10 + w, progress.clone())))
            .collect();
        // From the first acknowledgement (a fresh store's first fsync can
        // take long on a machine busy writing back a build).
        wait_for_acks(&progress, 1).await;
        tokio::time::sleep(Duration::from_millis(run_for)).await;
        server.0.kill().expect("SIGKILL");
        let _ = server.0.wait();
        let mut acked_now = 0;
        for w in writers {
            let acked = w.await.expect("writer");
            acked_now += acked.len();
            all.extend(acked);
        }
        assert!(
            acked_now > 0,
            "round {round}: the writers got acknowledgements before the kill"
        );

        // Restart and check everything ever acknowledged.
        let addr = free_addr();
        let _server = spawn(addr, dir.path()).await;
        all_there(addr, &all, &format!("round {round}")).await;
        println!(
            "round {round}: {acked_now} acknowledged before the kill, {} checked after restart",
            all.len()
        );
    }
}

/// Asserts that the server on `addr` holds every acknowledged write with
/// its data (`what` names the case in a failure).
async fn all_there(addr: SocketAddr, acked: &BTreeMap<String, Bytes>, what: &str) {
    let (mut c, _) = connect(addr, Some(false)).await;
    for (i, (path, data)) in acked.iter().enumerate() {
        let get = Request::GetData(GetDataRequest {
            path: path.clone(),
            watch: false,
        });
        let (h, rsp) = call(&mut c, i32::try_from(i).unwrap_or(i32::MAX), get).await;
        assert_eq!(
            h.err, 0,
            "{what}: acknowledged {path} is missing after kill -9"
        );
        match rsp {
            Response::GetData(d) => assert_eq!(d.data.as_ref(), Some(data), "{path}"),
            other => panic!("{other:?}"),
        }
    }
}

/// The log's `fdatasync`s so far, from the server's `/metrics`.
async fn fsyncs(metrics: SocketAddr) -> f64 {
    let (status, text) = http_get(metrics, "/metrics").await;
    assert_eq!(status, 200, "/metrics: {text}");
    text.lines()
        .find_map(|l| l.strip_prefix("corral_raft_fsync_seconds_count "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no fsync count in /metrics:\n{text}"))
}

/// ZooKeeper's `forceSync=no`: writes are acknowledged with no `fdatasync`
/// of the log (the default syncs), and a crash of the process loses none
/// of them, since they are in the kernel's hands; only a power loss could.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_sync_no_acknowledges_without_fsync_and_loses_nothing_on_kill_9() {
    let conf = tempfile::tempdir().expect("tempdir");
    for force_sync in ["yes", "no"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = conf.path().join(format!("zoo-{force_sync}.cfg"));
        std::fs::write(&cfg, format!("forceSync={force_sync}\n")).expect("zoo.cfg");
        let (addr, metrics) = (free_addr(), free_addr());
        let port = metrics.port().to_string();
        let args = [
            "--config",
            cfg.to_str().expect("utf-8"),
            "--metrics-port",
            &port,
        ];
        let mut server = spawn_with(addr, dir.path(), &args).await;
        let progress = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = (0..4)
            .map(|w| tokio::spawn(writer(addr, w, progress.clone())))
            .collect();
        // Until the writers have had acknowledgements (a fresh store's
        // first fsync can take long on a busy machine), then a little more
        // under way.
        wait_for_acks(&progress, 60).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let synced = fsyncs(metrics).await;
        server.0.kill().expect("SIGKILL");
        let _ = server.0.wait();
        let mut acked = BTreeMap::new();
        for w in writers {
            acked.extend(w.await.expect("writer"));
        }
        assert!(
            acked.len() > 50,
            "forceSync={force_sync}: {} acknowledged",
            acked.len()
        );
        if force_sync == "no" {
            assert_eq!(synced, 0.0, "forceSync=no synced the log");
        } else {
            assert!(synced > 0.0, "forceSync=yes never synced the log");
        }

        let addr = free_addr();
        let again = [args[0], args[1], "--metrics-port", "0"];
        let _server = spawn_with(addr, dir.path(), &again).await;
        all_there(addr, &acked, &format!("forceSync={force_sync}")).await;
        println!(
            "forceSync={force_sync}: {} acknowledged, {synced} log syncs, all there after kill -9",
            acked.len()
        );
    }
}
