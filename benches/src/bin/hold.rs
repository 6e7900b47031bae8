//! Holds many idle sessions, or many watches, open on a ZooKeeper-
//! compatible server so that its memory per session and per watch can be
//! read (`benches/footprint.sh`).
//!
//! `hold --servers 127.0.0.1:2181 --sessions 10000`
//! `hold --servers 127.0.0.1:2181 --sessions 100 --watches 1000000`
//!
//! Opens `--sessions` sessions (30 s timeout, at most 256 handshakes at a
//! time) that ping every 10 s; with `--watches`, the sessions then set that
//! many exists-watches between them, each on a node of its own that does
//! not exist (`/hold/s<session>/n<k>`: a watch per path, as a service
//! waiting for many nodes to appear). Prints one JSON line once everything
//! is set (`{"sessions":…, "watches":…, "setup_s":…}`), then holds until
//! its standard input closes or `--seconds` pass (at most 3,600).

use std::sync::Arc;
use std::time::{Duration, Instant};

use benches::{Conn, connect};
use clap::Parser;
use futures::{SinkExt, StreamExt};
use jute::proto::{ExistsRequest, RequestHeader};
use jute::{ClientFrame, Request};

#[derive(Parser)]
struct Args {
    /// Servers, comma-separated; sessions are spread over them. Loopback only.
    #[arg(long, default_value = "127.0.0.1:2181")]
    servers: String,
    /// Sessions to open and hold.
    #[arg(long, default_value_t = 10_000)]
    sessions: usize,
    /// Exists-watches to set, spread evenly over the sessions.
    #[arg(long, default_value_t = 0)]
    watches: u64,
    /// Hold for at most this long, seconds.
    #[arg(long, default_value_t = 600)]
    seconds: u64,
}

/// Exists requests a session keeps in flight while it sets its watches.
const WINDOW: u64 = 256;

/// Sets `count` exists-watches on `/hold/s<id>/n<k>`, pipelined; the error
/// code of any reply that is not NONODE fails it.
async fn watch(c: &mut Conn, id: usize, count: u64) -> Result<(), String> {
    let (mut sent, mut answered) = (0u64, 0u64);
    while answered < count {
        while sent < count && sent - answered < WINDOW {
            let req = Request::Exists(ExistsRequest {
                path: format!("/hold/s{id}/n{sent}"),
                watch: true,
            });
            let xid = i32::try_from(sent % (i32::MAX as u64)).unwrap_or(0) + 1;
            c.feed((RequestHeader { xid, op: 3 }, &req))
                .await
                .map_err(|e| e.to_string())?;
            sent += 1;
        }
        SinkExt::<(RequestHeader, &Request)>::flush(c)
            .await
            .map_err(|e| e.to_string())?;
        match tokio::time::timeout(Duration::from_secs(30), c.next()).await {
            // NONODE: the watch is set on a node to come.
            Ok(Some(Ok(ClientFrame::Reply { header, .. }))) if header.err == -101 => answered += 1,
            other => return Err(format!("exists: {other:?}")),
        }
    }
    Ok(())
}

/// Pings every 10 s until the connection ends (then the session is lost,
/// which the caller sees on stderr).
async fn keep_alive(mut c: Conn) {
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let ping = (
            RequestHeader { xid: -2, op: 11 },
            jute::Raw(bytes::Bytes::new()),
        );
        if c.send(ping).await.is_err() {
            break;
        }
        match tokio::time::timeout(Duration::from_secs(20), c.next()).await {
            Ok(Some(Ok(ClientFrame::Reply { .. }))) => {}
            other => {
                eprintln!("session lost: {other:?}");
                break;
            }
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let servers = benches::loopback_servers(&args.servers)?;
    let t0 = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(256));
    let per_session = args.watches.div_ceil(args.sessions.max(1) as u64);
    let mut opening = tokio::task::JoinSet::new();
    for i in 0..args.sessions {
        let (gate, addr) = (gate.clone(), servers[i % servers.len()]);
        let count = per_session.min(args.watches.saturating_sub(per_session * i as u64));
        opening.spawn(async move {
            let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
            let mut c = connect(addr).await?;
            watch(&mut c, i, count).await?;
            Ok::<_, String>(c)
        });
    }
    let mut held = tokio::task::JoinSet::new();
    while let Some(opened) = opening.join_next().await {
        held.spawn(keep_alive(opened??));
    }
    println!(
        "{}",
        serde_json::json!({
            "sessions": args.sessions,
            "watches": args.watches,
            "setup_s": (t0.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        })
    );
    // Hold until stdin closes (the script is done) or the time is up.
    let until_eof = tokio::task::spawn_blocking(|| {
        use std::io::Read;
        let mut buf = [0u8; 64];
        while matches!(std::io::stdin().read(&mut buf), Ok(n) if n > 0) {}
    });
    tokio::select! {
        _ = until_eof => {}
        () = tokio::time::sleep(Duration::from_secs(args.seconds.min(3600))) => {}
        Some(_) = held.join_next() => eprintln!("a held session ended early"),
    }
    Ok(())
}
