//! The differential tester ([`compat_tests::diff`]) in the test command:
//! fixed seeds, a few thousand operations in lock-step against the
//! reference ZooKeeper 3.8 and Corral, every reply and watch event
//! compared, with every ACL shape on the nodes the ops touch; and two
//! planted divergences caught and shrunk to a short sequence: a test-only
//! change to Corral's `setData` replies, and an ACL check ZooKeeper 3.8.0
//! does not make (`exists` needing READ, Corral's default since
//! ZooKeeper 3.8.4 makes it; the tester runs Corral without it).
//!
//! A long run: `cargo run -p compat-tests --bin difftest -- --ops N --seed S`.

use std::collections::BTreeMap;

use compat_tests::diff::{self, Outcome, Tamper};

/// The bounded run: seeds and ops per seed.
const SEEDS: [u64; 5] = [1, 2, 3, 4, 5];
const OPS: usize = 500;

#[test]
fn bounded_differential_run_matches_zookeeper() {
    let (_zk, _corral, _dir, servers) = diff::start_servers();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut total: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut shapes = std::collections::BTreeSet::new();
    for seed in SEEDS {
        let ops = diff::generate(seed, OPS);
        shapes.extend(diff::acl_shapes(&ops));
        let outcome = rt
            .block_on(diff::run(servers, &ops, Tamper::None))
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        match outcome {
            Outcome::Same(counts) => {
                for (k, n) in counts {
                    *total.entry(k).or_default() += n;
                }
            }
            Outcome::Differs(_) => {
                let (short, d) = rt
                    .block_on(diff::shrink(servers, ops, Tamper::None, 300))
                    .unwrap_or_else(|e| panic!("seed {seed}, shrinking: {e}"));
                panic!("{}", diff::report(seed, &short, &d));
            }
        }
    }
    let sum: usize = total.values().sum();
    println!("compared {sum} operations with ZooKeeper 3.8, by kind:");
    for (k, n) in &total {
        println!("  {k:22} {n}");
    }
    assert_eq!(sum, SEEDS.len() * OPS);
    // Every ACL shape was written somewhere for the ops to meet.
    assert_eq!(shapes, diff::all_acl_shapes(), "ACL shapes written");
    // Every kind of op was exercised.
    assert!(total.len() >= 22, "kinds run: {total:?}");
}

#[test]
fn a_planted_divergence_is_caught_and_shrunk() {
    let (_zk, _corral, _dir, servers) = diff::start_servers();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let ops = diff::generate(7, 300);
    let outcome = rt
        .block_on(diff::run(servers, &ops, Tamper::SetDataVersion))
        .expect("run");
    let Outcome::Differs(first) = outcome else {
        panic!("the planted setData version change went unnoticed");
    };
    let (short, d) = rt
        .block_on(diff::shrink(servers, ops, Tamper::SetDataVersion, 300))
        .expect("shrink");
    let report = diff::report(7, &short, &d);
    println!("{report}");
    assert!(first.step >= short.len() - 1);
    assert!(short.len() <= 3, "not shrunk enough:\n{report}");
    assert!(
        matches!(short.last(), Some(diff::Op::SetData { .. })),
        "the last op shows the setData divergence:\n{report}"
    );
    assert!(
        d.zookeeper
            .iter()
            .zip(&d.corral)
            .any(|(z, c)| z != c && z.contains("version=")),
        "{report}"
    );
}

#[test]
fn a_planted_acl_check_is_caught_and_shrunk() {
    // exists checking READ: ZooKeeper 3.8.4+'s rule, which the 3.8.0
    // reference does not have. Nothing in the generator aims at it.
    let (_zk, _corral, _dir, servers) = diff::start_servers_with(|c| c.exists_acl_check = true);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let seed = 11;
    let ops = diff::generate(seed, 500);
    let outcome = rt
        .block_on(diff::run(servers, &ops, Tamper::None))
        .expect("run");
    let Outcome::Differs(_) = outcome else {
        panic!("exists checking READ went unnoticed in 500 ops");
    };
    let (short, d) = rt
        .block_on(diff::shrink(servers, ops, Tamper::None, 300))
        .expect("shrink");
    let report = diff::report(seed, &short, &d);
    println!("{report}");
    assert!(short.len() <= 4, "not shrunk enough:\n{report}");
    assert!(
        matches!(short.last(), Some(diff::Op::Exists { .. })),
        "the last op is the exists that differs:\n{report}"
    );
    // ZooKeeper 3.8.0 gives the Stat; Corral with the check, NOAUTH.
    assert!(
        d.corral.iter().any(|l| l.starts_with("reply err=-102")),
        "{report}"
    );
    assert!(
        d.zookeeper
            .iter()
            .any(|l| l.starts_with("reply err=0") && l.contains("stat=")),
        "{report}"
    );
}
