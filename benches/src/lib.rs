//! `benches`: the load generator that drives Corral and a real ZooKeeper
//! with the same workload, and criterion micro-benchmarks. Filled by issue #8.
