//! The fault harness's command line (issue #22): a Corral ensemble of
//! separate processes in network namespaces under a mixed workload, with
//! nemeses, then every checker. Needs root. Exit status 1 if a checker
//! found a violation, 2 if the run could not be set up.
//!
//! ```sh
//! cargo build --release -p server -p compat-tests
//! target/release/faults --duration 3600 --nemesis all          # the soak
//! target/release/faults --nemesis kill-leader --cycles 100     # leader cycles
//! target/release/faults --nemesis partition-leader --cycles 100
//! ```

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use compat_tests::faults::{self, Options, nemesis};

/// Corral under faults, checked.
#[derive(Parser)]
struct Args {
    /// Members of the ensemble.
    #[arg(long, default_value_t = 3)]
    members: usize,
    /// Seconds of faults.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Stop after this many faults.
    #[arg(long)]
    cycles: Option<usize>,
    /// The nemeses, comma-separated (kill, kill-leader, kill-all, term, pause,
    /// partition, partition-leader, link, disk, clock, flood), or `all`,
    /// or `none`.
    #[arg(long, default_value = "all")]
    nemesis: String,
    /// The seed of every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Run the reference ZooKeeper 3.8 (Debian's jars) instead of Corral,
    /// under the same workload and nemeses (not disk, clock or broken).
    #[arg(long)]
    zookeeper: bool,
    /// The `corral` binary (default: beside this one).
    #[arg(long)]
    corral: Option<PathBuf>,
    /// Keep the members' data and logs here.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Writer clients.
    #[arg(long, default_value_t = 6)]
    writers: usize,
    /// Lock clients.
    #[arg(long, default_value_t = 2)]
    lockers: usize,
    /// `tickTime` in ms.
    #[arg(long, default_value_t = 2000)]
    tick_ms: u64,
    /// Quiet time between faults, in ms.
    #[arg(long, default_value_t = 2000)]
    quiet_ms: u64,
    /// Failpoints every member runs with throughout: a deliberately broken
    /// build, e.g. `raft-log-ack-before-fsync=return` (needs the
    /// `failpoints` feature).
    #[arg(long)]
    broken: Option<String>,
    /// Corral without `corral.linearizableReads`: members answer reads
    /// from where they are, as ZooKeeper's do (registers then checked for
    /// each session's order only).
    #[arg(long)]
    local_reads: bool,
}

fn main() {
    let args = Args::parse();
    let nemeses = match args.nemesis.as_str() {
        "all" => nemesis::ALL.to_vec(),
        "none" => Vec::new(),
        list => match list
            .split(',')
            .map(str::parse)
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(v) => v,
            Err(e) => {
                eprintln!("faults: {e}");
                std::process::exit(2);
            }
        },
    };
    let corral = args.corral.unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.join("corral")))
            .unwrap_or_else(|| PathBuf::from("corral"))
    });
    let opts = Options {
        members: args.members,
        duration: Duration::from_secs(args.duration),
        cycles: args.cycles,
        nemeses,
        seed: args.seed,
        server: if args.zookeeper {
            faults::cluster::Server::ZooKeeper
        } else {
            faults::cluster::Server::Corral
        },
        corral,
        dir: args.dir,
        writers: args.writers,
        lockers: args.lockers,
        tick_ms: args.tick_ms,
        quiet: Duration::from_millis(args.quiet_ms),
        broken: args.broken,
        local_reads: args.local_reads,
    };
    match faults::run(&opts) {
        Ok(report) => {
            print!("{}", report.fault_log());
            print!("{}", report.text());
            if !report.ok() {
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("faults: {e}");
            std::process::exit(2);
        }
    }
}
