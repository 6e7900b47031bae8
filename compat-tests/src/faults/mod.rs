//! The fault harness (issue #22): real `corral` processes, each on its own
//! "host" (a network namespace), a workload through real client
//! connections, nemeses that kill, freeze, partition, slow, starve and
//! flood them, and checkers on everything the clients saw and on what each
//! member holds afterwards. `docs/reliability.md` lists what it runs and
//! what it found; `bin/faults.rs` is its command line.

pub mod check;
pub mod client;
pub mod cluster;
pub mod nemesis;
pub mod net;
pub mod workload;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cluster::Cluster;
use nemesis::{Fault, Kind};
use net::Net;
use workload::{Ctx, Record, Rng};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Members (3 or 5).
    pub members: usize,
    /// How long the nemeses run (the run ends sooner after `cycles`).
    pub duration: Duration,
    /// Stop after this many faults.
    pub cycles: Option<usize>,
    /// The nemeses, struck in rounds (each round every one once, in a
    /// random order).
    pub nemeses: Vec<Kind>,
    /// The seed of every random choice.
    pub seed: u64,
    /// The server under test.
    pub server: cluster::Server,
    /// The `corral` binary.
    pub corral: PathBuf,
    /// Where members keep their data and logs (a temporary directory if
    /// `None`, removed afterwards).
    pub dir: Option<PathBuf>,
    /// Writer clients.
    pub writers: usize,
    /// Lock clients.
    pub lockers: usize,
    /// `tickTime` (ms).
    pub tick_ms: u64,
    /// Quiet time between faults.
    pub quiet: Duration,
    /// Failpoints every member runs with throughout (a deliberately broken
    /// build, e.g. `raft-log-ack-before-fsync=return`).
    pub broken: Option<String>,
    /// Corral answers reads from where each member is, as ZooKeeper does,
    /// instead of `corral.linearizableReads` (the registers are then
    /// checked for each session's order, not for linearizability).
    pub local_reads: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            members: 3,
            duration: Duration::from_secs(60),
            cycles: None,
            nemeses: nemesis::ALL.to_vec(),
            seed: 1,
            server: cluster::Server::Corral,
            corral: PathBuf::from("corral"),
            dir: None,
            writers: 6,
            lockers: 2,
            tick_ms: 2000,
            quiet: Duration::from_secs(2),
            broken: None,
            local_reads: false,
        }
    }
}

/// What a run saw.
pub struct Report {
    /// The faults struck.
    pub faults: Vec<Fault>,
    /// Each fault's pause (longest time without an acknowledged write).
    pub pauses: Vec<Duration>,
    /// Violations, by checker (empty: green).
    pub violations: BTreeMap<&'static str, Vec<String>>,
    /// Acknowledged writes, in all.
    pub acked_writes: usize,
    /// Requests answered and lost.
    pub answered: u64,
    /// Requests that got no reply.
    pub lost: u64,
    /// Sessions that ended (expired or given up).
    pub ended_sessions: usize,
    /// Lock holds.
    pub holds: usize,
    /// How long the run took.
    pub elapsed: Duration,
    /// Where the data and logs are, if kept.
    pub dir: Option<PathBuf>,
}

impl Report {
    /// Whether every checker is green.
    pub fn ok(&self) -> bool {
        self.violations.values().all(Vec::is_empty)
    }

    /// Pauses of one kind: median, p99, max.
    fn distribution(&self, kind: Kind) -> Option<(Duration, Duration, Duration, usize)> {
        let mut p: Vec<Duration> = self
            .faults
            .iter()
            .zip(&self.pauses)
            .filter(|(f, _)| f.kind == kind)
            .map(|(_, d)| *d)
            .collect();
        if p.is_empty() {
            return None;
        }
        p.sort();
        let at = |q: f64| p[((p.len() as f64 - 1.0) * q).round() as usize];
        Some((at(0.5), at(0.99), p[p.len() - 1], p.len()))
    }

    /// The report as text.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} faults in {:.0?}; {} acknowledged writes, {} requests answered, {} lost; \
             {} sessions ended; {} lock holds",
            self.faults.len(),
            self.elapsed,
            self.acked_writes,
            self.answered,
            self.lost,
            self.ended_sessions,
            self.holds
        );
        let _ = writeln!(s, "pauses (longest time without an acknowledged write):");
        let _ = writeln!(
            s,
            "  {:<18} {:>5} {:>8} {:>8} {:>8}",
            "nemesis", "n", "median", "p99", "max"
        );
        let mut kinds: Vec<Kind> = self.faults.iter().map(|f| f.kind).collect();
        kinds.sort();
        kinds.dedup();
        for k in kinds {
            if let Some((m, p, x, n)) = self.distribution(k) {
                let _ = writeln!(
                    s,
                    "  {:<18} {:>5} {:>7.2}s {:>7.2}s {:>7.2}s",
                    k.name(),
                    n,
                    m.as_secs_f64(),
                    p.as_secs_f64(),
                    x.as_secs_f64()
                );
            }
        }
        for (checker, v) in &self.violations {
            if v.is_empty() {
                let _ = writeln!(s, "checker {checker}: ok");
            } else {
                let _ = writeln!(s, "checker {checker}: {} VIOLATIONS", v.len());
                for line in v.iter().take(10) {
                    let _ = writeln!(s, "  {line}");
                }
            }
        }
        if let Some(d) = &self.dir {
            let _ = writeln!(s, "data and member logs kept in {}", d.display());
        }
        s
    }

    /// The faults, one per line, with their pauses.
    pub fn fault_log(&self) -> String {
        let mut s = String::new();
        let t0 = self.faults.first().map(|f| f.start);
        for (f, p) in self.faults.iter().zip(&self.pauses) {
            let at = t0.map_or(0.0, |t| (f.start - t).as_secs_f64());
            let _ = writeln!(
                s,
                "{at:8.1}s {:<16} {:6.2}s pause  {}",
                f.kind.name(),
                p.as_secs_f64(),
                f.what
            );
        }
        s
    }
}

/// What the seed of the rounds' order is offset by from the run's.
const ROUNDS_SEED: u64 = 0x5eed;

/// One round of `nemeses` in a random order, last first (popped).
fn round(rng: &mut Rng, nemeses: &[Kind]) -> Vec<Kind> {
    let mut deck = nemeses.to_vec();
    rng.shuffle(&mut deck);
    deck
}

/// Runs the harness. Needs root (namespaces, nftables, tc).
///
/// # Errors
/// Setting up failed, or the ensemble never became healthy.
pub fn run(opts: &Options) -> Result<Report, String> {
    let started = Instant::now();
    let net = Net::create(opts.members)?;
    let (dir, _temp) = match &opts.dir {
        Some(d) => {
            if std::fs::read_dir(d).is_ok_and(|mut e| e.next().is_some()) {
                return Err(format!(
                    "{} is not empty: each run starts afresh",
                    d.display()
                ));
            }
            std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
            (d.clone(), None)
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("corral-faults-")
                .tempdir()
                .map_err(|e| e.to_string())?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let zookeeper = opts.server == cluster::Server::ZooKeeper;
    if zookeeper {
        let corral_only = [Kind::Disk, Kind::Clock, Kind::Corrupt];
        if opts.nemeses.iter().any(|k| corral_only.contains(k)) || opts.broken.is_some() {
            return Err("under ZooKeeper: no disk, corrupt, clock or broken".into());
        }
    }
    let fake_clock = opts.nemeses.contains(&Kind::Clock);
    let mut cluster = Cluster::new(
        &net,
        &dir,
        opts.server,
        &opts.corral,
        opts.tick_ms,
        fake_clock,
        !opts.local_reads,
    )?;
    cluster.broken = opts.broken.clone();
    for i in 0..opts.members {
        cluster.start(i, None)?;
    }
    net.enter_client()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    cluster.wait_healthy(Duration::from_secs(60))?;

    let registers = (opts.duration.as_millis() / workload::REGISTER_SPAN.as_millis()) as usize + 4;
    let ctx = Ctx {
        servers: cluster.addrs(),
        stop: Arc::new(AtomicBool::new(false)),
        start: Instant::now(),
        registers,
    };
    rt.block_on(workload::prepare(&ctx, opts.writers))?;
    let mut tasks = Vec::new();
    for k in 0..opts.writers {
        tasks.push(rt.spawn(workload::writer(k, ctx.clone(), opts.seed)));
    }
    for k in 0..opts.lockers {
        tasks.push(rt.spawn(workload::locker(opts.writers + k, ctx.clone())));
    }
    tasks.push(rt.spawn(workload::watcher(opts.writers + opts.lockers, ctx.clone())));

    let mut rng = Rng::new(opts.seed);
    let mut rounds = Rng::new(opts.seed.wrapping_add(ROUNDS_SEED));
    let mut faults = Vec::new();
    let mut crashes = Vec::new();
    let mut deck: Vec<Kind> = Vec::new();
    let mut unhealthy = Vec::new();
    let until = Instant::now() + opts.duration;
    std::thread::sleep(opts.quiet);
    while Instant::now() < until && opts.cycles.is_none_or(|c| faults.len() < c) {
        if opts.nemeses.is_empty() {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        // The kinds in rounds, each round in a random order: every kind
        // strikes once per round.
        if deck.is_empty() {
            deck = round(&mut rounds, &opts.nemeses);
        }
        let Some(kind) = deck.pop() else {
            continue;
        };
        let fault = nemesis::strike(kind, &mut cluster, &net, &mut rng, rt.handle())?;
        eprintln!(
            "faults: {:>7.1}s {}",
            started.elapsed().as_secs_f64(),
            fault.what
        );
        faults.push(fault);
        std::thread::sleep(opts.quiet);
        // A member that exited without being killed crashed.
        for i in 0..opts.members {
            if !cluster.running(i) {
                crashes.push(format!(
                    "member {} exited on its own (after {})",
                    i + 1,
                    faults.last().map_or("", |f: &Fault| f.what.as_str())
                ));
                cluster.start(i, None)?;
            }
        }
        // Each fault strikes a healed, healthy ensemble: the next waits
        // until every member serves and one leads.
        if let Err(e) = cluster.wait_healthy(Duration::from_secs(60)) {
            unhealthy.push(format!(
                "60 s after {}: {e}",
                faults.last().map_or("", |f: &Fault| f.what.as_str())
            ));
        }
    }

    // Heal everything and let the workload run on a healthy ensemble.
    net.heal();
    for i in 0..opts.members {
        cluster.cont(i);
        cluster.set_clock(i, "+0");
        if !cluster.running(i) {
            cluster.start(i, None)?;
        }
    }
    let healed = Instant::now();
    let mut liveness = unhealthy;
    if let Err(e) = cluster.wait_healthy(Duration::from_secs(60)) {
        liveness.push(format!("after healing: {e}"));
    }
    std::thread::sleep(Duration::from_secs(3));
    ctx.stop.store(true, Ordering::Relaxed);
    let mut records: Vec<Record> = Vec::new();
    for t in tasks {
        records.push(
            rt.block_on(t)
                .map_err(|e| format!("a client panicked: {e}"))?,
        );
    }
    let last_ack = records
        .iter()
        .flat_map(|r| r.ack_times.iter())
        .max()
        .copied();
    if last_ack.is_none_or(|t| t < healed) {
        liveness.push("no write was acknowledged after healing".into());
    }

    // Sessions given up must have expired (and their ephemerals gone)
    // before the members are read.
    let timeout = Duration::from_millis(client::SESSION_TIMEOUT_MS as u64);
    if let Some(last) = records
        .iter()
        .flat_map(|r| r.ended_sessions.iter().map(|(_, t)| *t))
        .max()
    {
        let ready = last + timeout * 2 + Duration::from_secs(2);
        if let Some(wait) = ready.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    eprintln!(
        "faults: {:>7.1}s reading every member",
        started.elapsed().as_secs_f64()
    );
    let states = rt.block_on(async {
        let mut out = Vec::new();
        for (i, addr) in ctx.servers.iter().enumerate() {
            out.push(check::read_member(*addr, i, registers).await);
        }
        out
    });
    let mut unread = Vec::new();
    let states: Vec<check::MemberState> = states
        .into_iter()
        .filter_map(|s| s.map_err(|e| unread.push(e)).ok())
        .collect();
    // A member that cannot be read passes no check that is about every
    // member: each such check says so, besides liveness.
    let not_read: Vec<String> = unread
        .iter()
        .map(|e| format!("not checked on a member that could not be read: {e}"))
        .collect();
    liveness.extend(unread);

    eprintln!("faults: {:>7.1}s checking", started.elapsed().as_secs_f64());
    let mut violations = BTreeMap::new();
    let mut acked = check::acknowledged_writes(&records, &states);
    acked.extend(not_read.iter().cloned());
    violations.insert("acknowledged writes on every member", acked);
    // ZooKeeper's reads are not linearizable (a follower answers from
    // where it is), nor Corral's with local reads: their registers are
    // checked for each session's order only.
    if !zookeeper && !opts.local_reads {
        violations.insert(
            "registers linearizable",
            check::registers(&records, registers, ctx.start, opts.dir.as_deref()),
        );
    }
    violations.insert("session reads in order", check::session_reads(&records));
    violations.insert("sequential names", check::sequential(&records));
    violations.insert("one lock holder", check::lock(&records));
    let mut ephemerals = check::ephemerals(&records, &states);
    ephemerals.extend(not_read);
    violations.insert("ephemerals of ended sessions", ephemerals);
    violations.insert(
        "session order (zxids, watches)",
        records
            .iter()
            .flat_map(|r| r.violations.iter().cloned())
            .collect(),
    );
    violations.insert("no crash", crashes);

    eprintln!("faults: {:>7.1}s checked", started.elapsed().as_secs_f64());
    // Closing the live sessions removes their ephemerals everywhere.
    let live: Vec<_> = records.iter_mut().filter_map(|r| r.live.take()).collect();
    rt.block_on(async {
        for c in live {
            c.close().await;
        }
    });
    let closed = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<(usize, usize)> = rt.block_on(async {
            let mut out = Vec::new();
            for (i, addr) in ctx.servers.iter().enumerate() {
                if let Ok(s) = check::read_member(*addr, i, 0).await {
                    out.push((i, s.ephemerals.len()));
                }
            }
            out
        });
        if left.iter().all(|(_, n)| *n == 0) {
            break;
        }
        if Instant::now() > closed {
            liveness.push(format!(
                "ephemerals left 10 s after every session closed (member, count): {left:?}"
            ));
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    violations.insert("liveness", liveness);

    let windows: Vec<(Instant, Instant)> = faults.iter().map(|f| (f.start, f.end)).collect();
    let pauses = check::pauses(&records, &windows, opts.quiet);
    let report = Report {
        pauses,
        acked_writes: records.iter().map(|r| r.ack_times.len()).sum(),
        answered: records.iter().map(|r| r.answered).sum(),
        lost: records.iter().map(|r| r.lost).sum(),
        ended_sessions: records.iter().map(|r| r.ended_sessions.len()).sum(),
        holds: records.iter().map(|r| r.holds.len()).sum(),
        faults,
        violations,
        elapsed: started.elapsed(),
        dir: opts.dir.clone(),
    };
    drop(cluster);
    drop(rt);
    Ok(report)
}
