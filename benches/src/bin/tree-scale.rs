//! Builds a tree of N znodes of a given size through `storage::apply` (the
//! same path the server takes), optionally persisting to a fjall store,
//! then reports resident memory per znode and, with a store, how long
//! reopening it takes.
//!
//! `cargo run --release -p benches --bin tree-scale -- --nodes 1000000`

use std::time::Instant;

use bytes::Bytes;
use clap::Parser;
use jute::proto::CreateRequest;
use jute::{Acl, Request};
use storage::{Command, CommandOp, Durability, Store, Tree, TreeConfig, apply};

#[derive(Parser)]
struct Args {
    /// Number of znodes to create.
    #[arg(long, default_value_t = 1_000_000)]
    nodes: usize,
    /// Bytes of data per znode.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Children per parent (the tree is /d<i>/n<j>).
    #[arg(long, default_value_t = 1000)]
    fanout: usize,
    /// Persist to a fjall store in this directory (committed every 10,000
    /// commands) and time a reopen.
    #[arg(long)]
    store: Option<std::path::PathBuf>,
    /// Only time reopening an existing `--store` (for profiling).
    #[arg(long, requires = "store")]
    reopen_only: bool,
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Opens the store in `dir` and reports how long loading its tree took and
/// how much the resident set grew.
fn time_reopen(
    dir: &std::path::Path,
    config: TreeConfig,
) -> Result<(), Box<dyn std::error::Error>> {
    let base = rss_bytes();
    let t = Instant::now();
    let (_s, tree) = Store::open(dir, config)?;
    println!(
        "reopened {} znodes in {:.2} s, RSS +{:.1} MiB",
        tree.node_count(),
        t.elapsed().as_secs_f64(),
        rss_bytes().saturating_sub(base) as f64 / 1048576.0
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let config = TreeConfig::default();
    if let (true, Some(dir)) = (args.reopen_only, &args.store) {
        return time_reopen(dir, config);
    }
    let before = rss_bytes();
    let (store, mut tree) = match &args.store {
        Some(dir) => {
            let (s, t) = Store::open(dir, config.clone())?;
            (Some(s), t)
        }
        None => (None, Tree::new(config.clone())),
    };
    let session = 1;
    let data = Bytes::from(vec![b'x'; args.size]);
    let mut zxid = tree.last_zxid();
    let mut run = |tree: &mut Tree, op: CommandOp| {
        zxid += 1;
        let cmd = Command {
            time: 1_700_000_000_000 + zxid,
            session_id: session,
            auth: vec![],
            op,
        };
        apply(tree, &cmd, zxid)
    };
    run(
        &mut tree,
        CommandOp::CreateSession {
            timeout_ms: 30_000,
            passwd: Bytes::from_static(&[0; 16]),
        },
    );
    let start = Instant::now();
    let parents = args.nodes.div_ceil(args.fanout);
    let mut made = 0;
    for d in 0..parents {
        let req = CreateRequest {
            path: format!("/d{d}"),
            data: None,
            acl: vec![Acl::open()],
            flags: 0,
        };
        run(&mut tree, CommandOp::Write(Request::Create(req)));
        for n in 0..args.fanout.min(args.nodes - made) {
            // A fresh buffer per node, as decoding a request produces.
            let req = CreateRequest {
                path: format!("/d{d}/n{n:06}"),
                data: Some(Bytes::copy_from_slice(&data)),
                acl: vec![Acl::open()],
                flags: 0,
            };
            let out = run(&mut tree, CommandOp::Write(Request::Create(req)));
            if out.result.is_err() {
                return Err(format!("create failed: {:?}", out.result).into());
            }
            made += 1;
            if let (Some(s), 0) = (&store, made % 10_000) {
                s.commit(&mut tree, Durability::Buffered)?;
            }
        }
    }
    if let Some(s) = &store {
        s.commit(&mut tree, Durability::Synced)?;
    }
    let elapsed = start.elapsed();
    let rss = rss_bytes().saturating_sub(before);
    println!(
        "{} znodes of {} B: built in {:.1} s ({:.0}/s), RSS +{:.1} MiB = {:.0} B/znode",
        tree.node_count(),
        args.size,
        elapsed.as_secs_f64(),
        made as f64 / elapsed.as_secs_f64(),
        rss as f64 / 1048576.0,
        rss as f64 / made as f64
    );
    if let (Some(dir), Some(s)) = (&args.store, store) {
        drop(s);
        drop(tree);
        time_reopen(dir, config)?;
    }
    Ok(())
}
