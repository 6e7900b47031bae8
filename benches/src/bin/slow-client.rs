//! A client that stops reading its socket, against any ZooKeeper-compatible
//! server on loopback: how much the server's resident memory grows, and
//! how long another client's reads take meanwhile. Prints one JSON line.
//!
//! `slow-client --server 127.0.0.1:2181 --pid PID --mode reads`
//!
//! Modes:
//! - `reads`: the slow session pipelines `--requests` getData requests of
//!   one `--size`-byte znode and reads no reply (issue #22's case: 2,000
//!   reads of 1 MB);
//! - `watches`: the slow session holds a persistent watch on a node whose
//!   name is `--size` bytes long and reads nothing, while another session
//!   sets the node `--requests` times (each a notification of about that
//!   size; the tree does not grow).
//!
//! Meanwhile a third session reads (`exists`) every 10 ms for `--seconds`;
//! the server's resident memory (`/proc/PID/status`) is sampled then.
//! `--control` runs the same without the slow session's requests or watch.
//! Bounded: at most 100,000 requests and 60 s.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use benches::{Conn, call, connect};
use bytes::{Bytes, BytesMut};
use clap::Parser;
use futures::{SinkExt, StreamExt};
use jute::proto::*;
use jute::{Acl, ClientFrame, Encode, Request};
use tokio::io::AsyncWriteExt;

#[derive(Parser)]
struct Args {
    /// The server (loopback only).
    #[arg(long, default_value = "127.0.0.1:2181")]
    server: SocketAddr,
    /// The server's process id, for its resident memory.
    #[arg(long)]
    pid: u32,
    /// reads | watches
    #[arg(long, default_value = "reads")]
    mode: String,
    /// Requests of the slow session (`reads`) or creates (`watches`).
    #[arg(long, default_value_t = 2000)]
    requests: u32,
    /// The znode's size (`reads`) or each child name's length (`watches`).
    #[arg(long, default_value_t = 1_000_000)]
    size: usize,
    /// How long the other client reads, seconds.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// A label for the output.
    #[arg(long, default_value = "")]
    label: String,
    /// The same run without the slow session (it connects, but neither
    /// asks nor watches): what the rest of the load costs alone.
    #[arg(long)]
    control: bool,
}

/// `pid`'s resident memory, KiB.
fn rss_kib(pid: u32) -> Result<u64, String> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|kb| kb.trim().parse().ok())
        .ok_or_else(|| "no VmRSS".to_owned())
}

fn create(path: &str, data: Bytes) -> Request {
    Request::Create(CreateRequest {
        path: path.into(),
        data: Some(data),
        acl: vec![Acl::open()],
        flags: 0,
    })
}

fn delete(path: &str) -> Request {
    Request::Delete(DeleteRequest {
        path: path.into(),
        version: -1,
    })
}

/// Sets `path` `count` times, 100 in flight.
async fn set_many(c: &mut Conn, path: &str, count: u32) -> Result<(), String> {
    let mut sent = 0u32;
    let mut answered = 0u32;
    while answered < count {
        while sent < count && sent - answered < 100 {
            let req = Request::SetData(SetDataRequest {
                path: path.into(),
                data: Some(Bytes::from_static(b"x")),
                version: -1,
            });
            c.send((
                RequestHeader {
                    xid: i32::try_from(sent).unwrap_or(i32::MAX - 1) + 1,
                    op: req.opcode().into(),
                },
                &req,
            ))
            .await
            .map_err(|e| e.to_string())?;
            sent += 1;
        }
        match tokio::time::timeout(Duration::from_secs(30), c.next()).await {
            Ok(Some(Ok(ClientFrame::Reply { header, .. }))) if header.xid > 0 => {
                if header.err != 0 {
                    return Err(format!("setData: error {}", header.err));
                }
                answered += 1;
            }
            Ok(Some(Ok(ClientFrame::Reply { .. }))) => {}
            other => return Err(format!("no reply: {other:?}")),
        }
    }
    Ok(())
}

#[derive(serde::Serialize)]
struct Report {
    label: String,
    mode: String,
    control: bool,
    requests: u32,
    size: usize,
    rss_before_mib: f64,
    rss_peak_mib: f64,
    rss_grown_mib: f64,
    other_reads: u64,
    other_read_max_ms: f64,
    other_read_p99_ms: f64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if !args.server.ip().is_loopback() {
        return Err("loopback servers only".into());
    }
    if args.requests > 100_000 || args.seconds > 60 {
        return Err("bounded: at most 100,000 requests and 60 s".into());
    }
    let root = format!("/slow-client-{}", std::process::id());
    let mut other = connect(args.server).await?;
    let writer = connect(args.server).await?;
    let mut xid = 1;
    let mut next_xid = || {
        xid += 1;
        xid
    };
    let big = format!("{root}/big");
    let watched = format!("{root}/{}", "n".repeat(args.size.clamp(1, 4000)));
    let err = call(&mut other, next_xid(), &create(&root, Bytes::new())).await?;
    if err != 0 {
        return Err(format!("create {root}: error {err}").into());
    }
    let reads = args.mode == "reads";
    if reads {
        let data = Bytes::from(vec![7u8; args.size]);
        let err = call(&mut other, next_xid(), &create(&big, data)).await?;
        if err != 0 {
            return Err(format!("create {big}: error {err} (jute.maxbuffer?)").into());
        }
        // What reading it allocates once is in the baseline.
        for _ in 0..10 {
            let get = Request::GetData(GetDataRequest {
                path: big.clone(),
                watch: false,
            });
            call(&mut other, next_xid(), &get).await?;
        }
    } else {
        call(&mut other, next_xid(), &create(&watched, Bytes::new())).await?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_kib(args.pid)?;

    // The slow session.
    let mut slow = connect(args.server).await?;
    if !reads && !args.control {
        let watch = Request::AddWatch(AddWatchRequest {
            path: watched.clone(),
            mode: jute::AddWatchMode::Persistent.into(),
        });
        let err = call(&mut slow, 1, &watch).await?;
        if err != 0 {
            return Err(format!("addWatch: error {err}").into());
        }
    }
    let mut slow = slow.into_inner();
    if reads && !args.control {
        let mut out = BytesMut::new();
        for x in 1..=args.requests {
            let mut body = BytesMut::new();
            RequestHeader {
                xid: i32::try_from(x).unwrap_or(i32::MAX),
                op: jute::OpCode::GetData.into(),
            }
            .encode(&mut body);
            GetDataRequest {
                path: big.clone(),
                watch: false,
            }
            .encode(&mut body);
            out.extend_from_slice(&u32::try_from(body.len())?.to_be_bytes());
            out.extend_from_slice(&body);
        }
        slow.write_all(&out).await?;
    }
    let (creating, writer) = if reads {
        (None, Some(writer))
    } else {
        let (watched, count) = (watched.clone(), args.requests);
        let mut c = writer;
        let task = Some(tokio::spawn(async move {
            set_many(&mut c, &watched, count).await.map(|()| c)
        }));
        (task, None)
    };

    // The other client reads; the server's memory is sampled.
    let mut peak = before;
    let mut lat = Vec::new();
    let until = Instant::now() + Duration::from_secs(args.seconds);
    while Instant::now() < until {
        let started = Instant::now();
        let exists = Request::Exists(ExistsRequest {
            path: root.clone(),
            watch: false,
        });
        call(&mut other, next_xid(), &exists).await?;
        lat.push(started.elapsed());
        peak = peak.max(rss_kib(args.pid)?);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(slow);
    let mut writer = match (creating, writer) {
        (Some(task), _) => task.await??,
        (None, Some(w)) => w,
        (None, None) => return Err("no writer".into()),
    };
    lat.sort();
    let p99 = lat.get(lat.len() * 99 / 100).copied().unwrap_or_default();
    let max = lat.last().copied().unwrap_or_default();
    let mib = |kib: u64| (kib as f64 / 1024.0 * 10.0).round() / 10.0;
    let report = Report {
        label: args.label.clone(),
        mode: args.mode.clone(),
        control: args.control,
        requests: args.requests,
        size: args.size,
        rss_before_mib: mib(before),
        rss_peak_mib: mib(peak),
        rss_grown_mib: mib(peak.saturating_sub(before)),
        other_reads: lat.len() as u64,
        other_read_max_ms: max.as_secs_f64() * 1000.0,
        other_read_p99_ms: p99.as_secs_f64() * 1000.0,
    };

    // Clean up (children first).
    tokio::time::sleep(Duration::from_millis(500)).await;
    if reads {
        call(&mut writer, next_xid(), &delete(&big)).await?;
    } else {
        call(&mut writer, next_xid(), &delete(&watched)).await?;
    }
    call(&mut writer, next_xid(), &delete(&root)).await?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
