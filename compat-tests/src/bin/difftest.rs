//! A long differential run for soak use: starts the reference ZooKeeper
//! 3.8 and Corral on loopback, runs `--seeds` seeds of `--ops` operations
//! each from `--seed` on, and on the first difference prints the shrunk
//! sequence and both replies (exit status 1).
//!
//! ```sh
//! cargo run --release -p compat-tests --bin difftest -- --ops 100000 --seed 42
//! ```

use std::collections::BTreeMap;

use clap::Parser;
use compat_tests::diff::{self, Outcome, Tamper};

/// Differential test of Corral against a real ZooKeeper 3.8.
#[derive(Parser)]
struct Args {
    /// Operations per seed.
    #[arg(long, default_value_t = 10_000)]
    ops: usize,
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How many seeds, from `--seed` on.
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// Most replays while shrinking.
    #[arg(long, default_value_t = 1000)]
    shrink_budget: usize,
}

fn main() {
    let args = Args::parse();
    let (_zk, _corral, _dir, servers) = diff::start_servers();
    let Ok(rt) = tokio::runtime::Runtime::new() else {
        eprintln!("difftest: no tokio runtime");
        std::process::exit(2);
    };
    let mut total: BTreeMap<&'static str, usize> = BTreeMap::new();
    for seed in args.seed..args.seed + args.seeds {
        let started = std::time::Instant::now();
        let ops = diff::generate(seed, args.ops);
        match rt.block_on(diff::run(servers, &ops, Tamper::None)) {
            Ok(Outcome::Same(counts)) => {
                for (k, n) in counts {
                    *total.entry(k).or_default() += n;
                }
                println!(
                    "seed {seed}: {} ops alike ({:.1?})",
                    args.ops,
                    started.elapsed()
                );
            }
            Ok(Outcome::Differs(_)) => {
                match rt.block_on(diff::shrink(servers, ops, Tamper::None, args.shrink_budget)) {
                    Ok((short, d)) => println!("{}", diff::report(seed, &short, &d)),
                    Err(e) => println!("seed {seed}: a difference; shrinking failed: {e}"),
                }
                std::process::exit(1);
            }
            Err(e) => {
                eprintln!("seed {seed}: {e}");
                std::process::exit(2);
            }
        }
    }
    println!(
        "compared {} operations, by kind:",
        total.values().sum::<usize>()
    );
    for (k, n) in &total {
        println!("  {k:22} {n}");
    }
}
