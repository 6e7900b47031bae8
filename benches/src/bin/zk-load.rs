//! A bounded ZooKeeper-protocol load generator: many sessions, each with
//! several requests in flight, against any ZooKeeper-compatible servers on
//! loopback, for a fixed time. Prints a table line and one JSON line.
//!
//! `zk-load --servers 127.0.0.1:2181 --workload set --sessions 64 --inflight 4 --seconds 10`
//!
//! Workloads:
//! - `set` and `get` of `--size`-byte values on pre-created nodes (one per
//!   session), `mixed` (90 % get);
//! - `create` (persistent-sequential creates), `churn` (persistent-
//!   sequential creates, each deleted by the same session once created),
//!   `lock` (ephemeral-sequential creates under one shared parent, each
//!   deleted once created: the lock recipe's write traffic);
//! - `populate` (with `--count`: that many znodes, 1,000 per parent);
//! - `watch`: `--sessions` watchers hold a data watch on one node, one
//!   more session sets it; a round's latency is from the set being sent to
//!   the last watcher notified; watchers then watch again;
//! - `sessions`: each session task connects and closes in a loop; an op is
//!   one connect + close.
//!
//! Latency is from sending a request to reading its reply.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use benches::{Conn, call, connect};
use bytes::Bytes;
use clap::Parser;
use futures::{FutureExt, SinkExt, StreamExt};
use hdrhistogram::Histogram;
use jute::proto::*;
use jute::{Acl, ClientFrame, OpCode, Request, Response};

#[derive(Parser, Clone)]
struct Args {
    /// Servers, comma-separated; sessions are spread over them. Loopback only.
    #[arg(long, default_value = "127.0.0.1:2181")]
    servers: String,
    /// set | get | mixed | create | churn | lock | populate (with --count)
    /// | watch | sessions
    #[arg(long, default_value = "set")]
    workload: String,
    /// Concurrent sessions.
    #[arg(long, default_value_t = 64)]
    sessions: usize,
    /// Requests in flight per session.
    #[arg(long, default_value_t = 4)]
    inflight: usize,
    /// How long to run, seconds (bounded: at most 300, or 1,800 with
    /// `--count`).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds of load before the measured `--seconds` (not counted): a
    /// JVM compiles its hot paths under load, and a run must not measure
    /// that. Ignored with `--count`.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Value size, bytes.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// A label for the output (e.g. the server's name).
    #[arg(long, default_value = "")]
    label: String,
    /// Stop after this many requests in all (spread over the sessions),
    /// or after `--seconds`, whichever comes first (`populate` uses it).
    #[arg(long)]
    count: Option<u64>,
    /// Offered load: at most this many requests per second in all, spread
    /// evenly over the sessions (still at most `--inflight` each). Without
    /// it, every session sends as fast as its replies come back. Latency is
    /// from the request's sending, so compare rates both servers reach.
    #[arg(long)]
    rate: Option<f64>,
}

/// One run's result: the table line and the JSON line both come from it.
#[derive(serde::Serialize)]
struct Report {
    label: String,
    workload: String,
    sessions: usize,
    inflight: usize,
    ops_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    max_ms: f64,
    errors: u64,
    failed_sessions: usize,
    /// The load generator's own CPU, in cores.
    loadgen_cpu: f64,
    /// `--rate`, if the load was paced.
    offered_rate: Option<f64>,
}

struct Outcome {
    hist: Histogram<u64>,
    ops: u64,
    errors: u64,
}

/// When the load starts, when its measured part starts (after the warm-up)
/// and when no more requests are sent.
#[derive(Clone, Copy)]
struct Window {
    start_at: Instant,
    measure_at: Instant,
    end_at: Instant,
}

impl Window {
    /// Whether a request sent at `t0` counts.
    fn counts(&self, t0: Instant) -> bool {
        t0 >= self.measure_at
    }
}

/// Nodes a `churn` or `lock` session created and has yet to delete.
type Created = VecDeque<String>;

fn request(workload: &str, id: usize, n: u64, data: &Bytes, created: &mut Created) -> Request {
    let path = format!("/zk-load/s{id}");
    if matches!(workload, "churn" | "lock") {
        if let Some(p) = created.pop_front() {
            return Request::Delete(DeleteRequest {
                path: p,
                version: -1,
            });
        }
        let (parent, flags) = if workload == "lock" {
            ("/zk-load/lock".to_owned(), 3)
        } else {
            (path, 2)
        };
        return Request::Create(CreateRequest {
            path: format!("{parent}/l-"),
            data: Some(data.clone()),
            acl: vec![Acl::open()],
            flags,
        });
    }
    let get = || {
        Request::GetData(GetDataRequest {
            path: path.clone(),
            watch: false,
        })
    };
    let set = || {
        Request::SetData(SetDataRequest {
            path: path.clone(),
            data: Some(data.clone()),
            version: -1,
        })
    };
    match workload {
        "get" => get(),
        // /zk-load/s<id>/d<k/1000>/n<k%1000>: 1,000 children per parent,
        // each parent created just before its first child (a session's
        // writes are applied in order).
        "populate" => {
            let k = n.saturating_sub(11);
            let dir = format!("{path}/d{}", k / 1000);
            Request::Create(CreateRequest {
                path: if k.is_multiple_of(1000) {
                    dir
                } else {
                    format!("{dir}/n{}", k % 1000)
                },
                data: Some(data.clone()),
                acl: vec![Acl::open()],
                flags: 0,
            })
        }
        "mixed" if !n.is_multiple_of(10) => get(),
        "mixed" | "set" => set(),
        _ => Request::Create(CreateRequest {
            path: format!("{path}/c-"),
            data: Some(data.clone()),
            acl: vec![Acl::open()],
            flags: 2,
        }),
    }
}

/// Queues the next request of the workload with `xid` (which also numbers
/// it), noting when it left. The caller flushes: replies that arrived
/// together are answered with one write, as a client library does.
async fn feed_next(
    c: &mut Conn,
    workload: &str,
    id: usize,
    xid: i32,
    data: &Bytes,
    sent: &mut HashMap<i32, (Instant, OpCode)>,
    created: &mut Created,
) -> Result<(), String> {
    let req = request(workload, id, u64::try_from(xid).unwrap_or(0), data, created);
    sent.insert(xid, (Instant::now(), req.opcode()));
    c.feed((
        RequestHeader {
            xid,
            op: req.opcode().into(),
        },
        &req,
    ))
    .await
    .map_err(|e| e.to_string())
}

async fn session(
    args: Args,
    addr: SocketAddr,
    id: usize,
    window: Window,
) -> Result<Outcome, String> {
    let mut c = connect(addr).await?;
    let data = Bytes::from(vec![b'x'; args.size]);
    // Each session's own node (and parent for creates), and the lock
    // parent.
    for (xid, path) in [
        (1, "/zk-load".to_owned()),
        (2, format!("/zk-load/s{id}")),
        (3, "/zk-load/lock".to_owned()),
    ] {
        let req = Request::Create(CreateRequest {
            path,
            data: Some(data.clone()),
            acl: vec![Acl::open()],
            flags: 0,
        });
        c.send((RequestHeader { xid, op: 1 }, &req))
            .await
            .map_err(|e| e.to_string())?;
        match c.next().await {
            Some(Ok(ClientFrame::Reply { .. })) => {}
            other => return Err(format!("setup: {other:?}")),
        }
    }
    let Window {
        start_at, end_at, ..
    } = window;
    tokio::time::sleep_until(start_at.into()).await;
    let mut hist = latencies()?;
    let (mut ops, mut errors) = (0u64, 0u64);
    let mut sent: HashMap<i32, (Instant, OpCode)> = HashMap::new();
    let mut created = Created::new();
    let mut xid = 10i32;
    // With --count, this session's share of the requests.
    let share = args
        .count
        .map(|c| c / args.sessions as u64 + u64::from((id as u64) < c % args.sessions as u64));
    let args = Args {
        count: share,
        ..args
    };
    let mut sent_total = 0u64;
    // Free slots of `--inflight`.
    let mut budget = args.inflight;
    // With `--rate`: this session's interval between requests, and when
    // the next is due (sessions staggered over one interval).
    let period = args
        .rate
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(args.sessions as f64 / r));
    let mut due =
        start_at + period.map_or(Duration::ZERO, |p| p * id as u32 / args.sessions as u32);
    loop {
        let open =
            |sent_total: u64| Instant::now() < end_at && args.count.is_none_or(|c| sent_total < c);
        // Top up the free slots (with `--rate`, only what is due; with
        // `--count`, up to this session's share), then flush once.
        while budget > 0 && open(sent_total) && period.is_none_or(|_| Instant::now() >= due) {
            if let Some(p) = period {
                due += p;
            }
            budget -= 1;
            sent_total += 1;
            xid += 1;
            feed_next(
                &mut c,
                &args.workload,
                id,
                xid,
                &data,
                &mut sent,
                &mut created,
            )
            .await?;
        }
        SinkExt::<(RequestHeader, &Request)>::flush(&mut c)
            .await
            .map_err(|e| e.to_string())?;
        let more = budget > 0 && open(sent_total);
        if sent.is_empty() && !more {
            break;
        }
        // One reply (or, paced, the next request's time), then every reply
        // already read in.
        let mut next = match period {
            Some(_) if more => tokio::select! {
                n = c.next() => n,
                _ = tokio::time::sleep_until(due.into()) => continue,
            },
            _ => c.next().await,
        };
        loop {
            let (header, body) = match next {
                Some(Ok(ClientFrame::Reply { header, body })) => (header, body),
                other => return Err(format!("connection ended: {other:?}")),
            };
            if header.xid >= 0
                && let Some((t0, op)) = sent.remove(&header.xid)
            {
                if op == OpCode::Create
                    && header.err == 0
                    && let Ok(Response::Create(r)) = Response::decode(op, 0, &body)
                {
                    created.push_back(r.path);
                }
                if window.counts(t0) {
                    record(&mut hist, t0.elapsed());
                    ops += 1;
                    if header.err != 0 {
                        errors += 1;
                    }
                }
                budget += 1;
            }
            match c.next().now_or_never() {
                Some(n) => next = n,
                None => break,
            }
        }
    }
    let _ = c
        .send((
            RequestHeader {
                xid: xid + 1,
                op: -11,
            },
            jute::Raw(Bytes::new()),
        ))
        .await;
    Ok(Outcome { hist, ops, errors })
}

/// A latency histogram in µs, 1 µs to 60 s, 3 significant digits.
fn latencies() -> Result<Histogram<u64>, String> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())
}

/// Records `d` (at least 1 µs).
fn record(hist: &mut Histogram<u64>, d: Duration) {
    let _ = hist.record(u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1));
}

/// `watch`: rounds of one set and `--sessions` watchers notified; a
/// round's latency is until the last notification arrived.
async fn watch_fanout(
    args: &Args,
    servers: &[SocketAddr],
    window: Window,
) -> Result<Outcome, String> {
    const NODE: &str = "/zk-load/watched";
    let mut writer = connect(servers[0]).await?;
    for (xid, path) in [(1, "/zk-load"), (2, NODE)] {
        let req = Request::Create(CreateRequest {
            path: path.into(),
            data: None,
            acl: vec![Acl::open()],
            flags: 0,
        });
        call(&mut writer, xid, &req).await?;
    }
    let watch = Request::GetData(GetDataRequest {
        path: NODE.into(),
        watch: true,
    });
    // One task per watcher, so notifications are read as they arrive, by
    // both of the generator's threads, not one socket after another: each
    // task sets its watch, reports it set, then reports when its
    // notification was read, and sets the watch again when told to (after
    // the round, so that no request competes with the notifications).
    let (armed_tx, mut armed) = tokio::sync::mpsc::unbounded_channel::<Result<i32, String>>();
    let (fired_tx, mut fired) = tokio::sync::mpsc::unbounded_channel::<Result<Instant, String>>();
    let (next_round, round) = tokio::sync::watch::channel(0u64);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..args.sessions {
        let mut w = connect(servers[i % servers.len()]).await?;
        let (armed_tx, fired_tx, watch) = (armed_tx.clone(), fired_tx.clone(), watch.clone());
        let mut round = round.clone();
        tasks.spawn(async move {
            for xid in 10.. {
                if xid > 10 && round.changed().await.is_err() {
                    return;
                }
                if armed_tx.send(call(&mut w, xid, &watch).await).is_err() {
                    return;
                }
                let notified = loop {
                    match w.next().await {
                        Some(Ok(ClientFrame::Reply { header, .. })) if header.xid == -1 => {
                            break Ok(Instant::now());
                        }
                        Some(Ok(ClientFrame::Reply { .. })) => {}
                        other => break Err(format!("watcher connection ended: {other:?}")),
                    }
                };
                let failed = notified.is_err();
                if fired_tx.send(notified).is_err() || failed {
                    return;
                }
            }
        });
    }
    let mut hist = latencies()?;
    let (mut ops, mut errors) = (0u64, 0u64);
    let data = Bytes::from(vec![b'w'; args.size]);
    tokio::time::sleep_until(window.start_at.into()).await;
    let mut xid = 10;
    let closed = || "a watcher task ended".to_string();
    while Instant::now() < window.end_at && args.count.is_none_or(|c| ops < c) {
        xid += 1;
        // Every watcher watches (replies read), then one set.
        for _ in 0..args.sessions {
            if armed.recv().await.ok_or_else(closed)?? != 0 {
                errors += 1;
            }
        }
        let t0 = Instant::now();
        let set = Request::SetData(SetDataRequest {
            path: NODE.into(),
            data: Some(data.clone()),
            version: -1,
        });
        writer
            .send((RequestHeader { xid, op: 5 }, &set))
            .await
            .map_err(|e| e.to_string())?;
        let mut last = t0;
        for _ in 0..args.sessions {
            last = last.max(fired.recv().await.ok_or_else(closed)??);
        }
        let counted = window.counts(t0);
        if counted {
            record(&mut hist, last - t0);
            ops += 1;
        }
        next_round.send_modify(|r| *r += 1);
        // The set's own reply.
        loop {
            match writer.next().await {
                Some(Ok(ClientFrame::Reply { header, .. })) if header.xid == xid => {
                    if counted && header.err != 0 {
                        errors += 1;
                    }
                    break;
                }
                Some(Ok(ClientFrame::Reply { .. })) => {}
                other => return Err(format!("writer connection ended: {other:?}")),
            }
        }
    }
    tasks.abort_all();
    Ok(Outcome { hist, ops, errors })
}

/// `sessions`: connect and close in a loop; an op is both.
async fn connect_close(args: Args, addr: SocketAddr, window: Window) -> Result<Outcome, String> {
    tokio::time::sleep_until(window.start_at.into()).await;
    let mut hist = latencies()?;
    let (mut ops, mut errors) = (0u64, 0u64);
    while Instant::now() < window.end_at
        && args.count.is_none_or(|c| ops < c / args.sessions as u64)
    {
        let t0 = Instant::now();
        let mut c = connect(addr).await?;
        let err = call(&mut c, 1, &Request::CloseSession).await?;
        if window.counts(t0) {
            errors += u64::from(err != 0);
            record(&mut hist, t0.elapsed());
            ops += 1;
        }
    }
    Ok(Outcome { hist, ops, errors })
}

/// User + system CPU seconds of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let servers = benches::loopback_servers(&args.servers)?;
    // Bounded: 300 s, or 30 min for a counted run (populating millions).
    let seconds = args
        .seconds
        .min(if args.count.is_some() { 1800 } else { 300 });
    // Two seconds to connect every session, then the warm-up, then the
    // measured seconds.
    let start_at = Instant::now() + Duration::from_secs(2);
    let warmup = if args.count.is_some() {
        0
    } else {
        args.warmup.min(60)
    };
    let measure_at = start_at + Duration::from_secs(warmup);
    let window = Window {
        start_at,
        measure_at,
        end_at: measure_at + Duration::from_secs(seconds),
    };
    let tasks: Vec<_> = match args.workload.as_str() {
        "watch" => {
            let (a, s) = (args.clone(), servers.clone());
            vec![tokio::spawn(
                async move { watch_fanout(&a, &s, window).await },
            )]
        }
        "sessions" => (0..args.sessions)
            .map(|i| {
                tokio::spawn(connect_close(
                    args.clone(),
                    servers[i % servers.len()],
                    window,
                ))
            })
            .collect(),
        _ => (0..args.sessions)
            .map(|i| tokio::spawn(session(args.clone(), servers[i % servers.len()], i, window)))
            .collect(),
    };
    // The generator's CPU over the measured seconds.
    tokio::time::sleep_until(measure_at.into()).await;
    let cpu0 = cpu_seconds();
    let mut hist = latencies()?;
    let (mut ops, mut errors, mut failed) = (0u64, 0u64, 0usize);
    for t in tasks {
        match t.await? {
            Ok(o) => {
                hist.add(&o.hist)?;
                ops += o.ops;
                errors += o.errors;
            }
            Err(e) => {
                failed += 1;
                eprintln!("session failed: {e}");
            }
        }
    }
    let wall = measure_at.elapsed().as_secs_f64().max(0.001);
    let cpu = cpu_seconds() - cpu0;
    let q = |p: f64| hist.value_at_quantile(p) as f64 / 1000.0;
    let report = Report {
        label: args.label.clone(),
        workload: args.workload.clone(),
        sessions: args.sessions,
        inflight: args.inflight,
        ops_per_s: (ops as f64 / wall).round(),
        p50_ms: q(0.5),
        p99_ms: q(0.99),
        p999_ms: q(0.999),
        max_ms: hist.max() as f64 / 1000.0,
        errors,
        failed_sessions: failed,
        loadgen_cpu: cpu / wall,
        offered_rate: args.rate,
    };
    println!(
        "{:<10} {:<6} {}x{}{}: {:>9.0} ops/s  p50 {:.2} ms  p99 {:.2} ms  p999 {:.2} ms  max {:.2} ms  errors {}  failed sessions {}  loadgen cpu {:.0}%",
        report.label,
        report.workload,
        report.sessions,
        report.inflight,
        report
            .offered_rate
            .map(|r| format!(" at {r:.0}/s"))
            .unwrap_or_default(),
        report.ops_per_s,
        report.p50_ms,
        report.p99_ms,
        report.p999_ms,
        report.max_ms,
        report.errors,
        report.failed_sessions,
        100.0 * report.loadgen_cpu
    );
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
