//! The four-letter words, in ZooKeeper 3.8's formats (`server/command/*`
//! at release-3.8.4): scripts and probes parse them, so separators, blank
//! lines and missing final newlines are kept as ZooKeeper writes them.
//! A word not in `4lw.commands.whitelist` gets ZooKeeper's refusal; most
//! words answer ZooKeeper's "not currently serving" line while this server
//! is out of touch with a quorum.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use jute::{FourLetterWord, OpCode};
use tokio::io::AsyncWriteExt;

use crate::core::Core;

/// ZooKeeper's answer from a server that is not serving requests.
pub(crate) const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";

/// Answers `word` on `socket` and closes it, as ZooKeeper does.
pub(crate) async fn answer(
    mut socket: impl tokio::io::AsyncWrite + Unpin,
    word: FourLetterWord,
    core: &Core,
) {
    let text = respond(word, core);
    let _ = socket.write_all(text.as_bytes()).await;
    let _ = socket.shutdown().await;
}

/// The whole answer to `word`.
pub(crate) fn respond(word: FourLetterWord, core: &Core) -> String {
    use FourLetterWord as W;
    let allowed = core
        .config
        .four_letter_whitelist
        .as_ref()
        .is_none_or(|w| w.contains(word.name()));
    if word == W::TelnetClose {
        return String::new();
    }
    if !allowed {
        return format!(
            "{} is not executed because it is not in the whitelist.\n",
            word.name()
        );
    }
    let serving = core.answering();
    match word {
        // ZooKeeper answers imok whatever its state.
        W::Ruok => "imok".to_owned(),
        W::Isro if core.read_only() => "ro".to_owned(),
        W::Isro if !serving => "null".to_owned(),
        W::Isro => "rw".to_owned(),
        W::Envi => envi(),
        W::Gtmk => core
            .admin
            .trace_mask
            .load(std::sync::atomic::Ordering::Relaxed)
            .to_string(),
        _ if !serving => NOT_SERVING.to_owned(),
        W::Srvr => stat(core, false),
        W::Stat => stat(core, true),
        W::Mntr => mntr(core),
        W::Conf => conf(core),
        W::Cons => cons(core),
        W::Crst => {
            for c in core.stats.connections() {
                c.reset();
            }
            "Connection stats reset.\n".to_owned()
        }
        W::Srst => {
            core.stats.reset();
            "Server stats reset.\n".to_owned()
        }
        W::Dirs => dirs(core),
        W::Wchs | W::Wchc | W::Wchp => watches(core, word),
        W::Dump => dump(core),
        // ZooKeeper lists its digest log; Corral computes the tree's
        // digest at the last zxid when asked.
        W::Hash => {
            let (zxid, digest) = core.digest();
            format!("{zxid:x}: {digest}\n")
        }
        // stmk (which reads a mask after the word) is not served: the
        // connection closes.
        _ => String::new(),
    }
}

/// What a ZooKeeper client library would report as the server version:
/// ZooKeeper's compatibility level, then Corral's own.
pub(crate) fn version_string() -> String {
    format!(
        "3.8.0-corral-{}, built on Corral {}",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_VERSION")
    )
}

/// ZooKeeper's abbreviation of an operation in `cons` (`lop=`), as
/// `FinalRequestProcessor` sets it.
pub(crate) fn op_name(op: i32) -> &'static str {
    use OpCode as O;
    match OpCode::try_from(op) {
        Ok(O::Ping) => "PING",
        Ok(O::CreateSession) => "SESS",
        Ok(O::Multi) => "MULT",
        Ok(O::MultiRead) => "MLTR",
        Ok(O::Create | O::Create2 | O::CreateContainer | O::CreateTtl) => "CREA",
        Ok(O::Delete | O::DeleteContainer) => "DELE",
        Ok(O::SetData) => "SETD",
        Ok(O::Reconfig) => "RECO",
        Ok(O::SetAcl) => "SETA",
        Ok(O::CloseSession) => "CLOS",
        Ok(O::Sync) => "SYNC",
        Ok(O::Check) => "CHEC",
        Ok(O::Exists) => "EXIS",
        Ok(O::GetData) => "GETD",
        Ok(O::SetWatches) => "SETW",
        Ok(O::SetWatches2) => "STW2",
        Ok(O::AddWatch) => "ADDW",
        Ok(O::GetAcl) => "GETA",
        Ok(O::GetChildren | O::GetChildren2) => "GETC",
        Ok(O::GetAllChildrenNumber) => "GETACN",
        Ok(O::CheckWatches) => "CHKW",
        Ok(O::RemoveWatches) => "REMW",
        Ok(O::WhoAmI) => "HOMI",
        Ok(O::GetEphemerals) => "GETE",
        _ => "NA",
    }
}

/// `srvr`, and `stat` with its list of clients (`StatCommand`).
fn stat(core: &Core, clients: bool) -> String {
    let (zxid, nodes) = core.zxid_and_znodes();
    let s = core.stats.snapshot();
    let mut out = format!("Zookeeper version: {}\n", version_string());
    if clients {
        out.push_str("Clients:\n");
        for c in core.stats.connections() {
            out.push_str(&c.describe(false));
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "Latency min/avg/max: {}/{:.1}/{}\nReceived: {}\nSent: {}\nConnections: {}\nOutstanding: {}\nZxid: 0x{:x}\nMode: {}\nNode count: {}\n",
        s.min_ms,
        s.avg_ms,
        s.max_ms,
        s.received,
        s.sent,
        s.connections,
        core.stats.outstanding(),
        zxid,
        core.mode(),
        nodes
    ));
    if core.mode() == "leader" {
        // Corral does not track proposal sizes yet: ZooKeeper's "none yet".
        out.push_str("Proposal sizes last/min/max: -1/-1/-1\n");
    }
    out
}

/// One `mntr` value, typed as ZooKeeper's `MonitorCommand` prints it (and
/// the AdminServer's `monitor` and Prometheus export it).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum MonValue {
    /// A long or int: decimal.
    Int(i64),
    /// A double: Java's `Double.toString`.
    Double(f64),
    /// A string.
    Text(String),
}

impl std::fmt::Display for MonValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MonValue::Int(i) => write!(f, "{i}"),
            MonValue::Double(d) => f.write_str(&java_double(*d)),
            MonValue::Text(t) => f.write_str(t),
        }
    }
}

fn int<T: TryInto<i64>>(v: T) -> MonValue {
    MonValue::Int(v.try_into().unwrap_or(i64::MAX))
}

/// A BASIC summary's five keys (`AvgMinMaxCounter.values`).
fn basic_summary(out: &mut Vec<(String, MonValue)>, name: &str, t: &consensus::Timings) {
    out.push((
        format!("zk_avg_{name}"),
        MonValue::Double(round4(t.avg_ms())),
    ));
    out.push((format!("zk_min_{name}"), int(t.min_ms)));
    out.push((format!("zk_max_{name}"), int(t.max_ms)));
    out.push((format!("zk_cnt_{name}"), int(t.count)));
    out.push((format!("zk_sum_{name}"), int(t.sum_ms)));
}

/// An ADVANCED summary's nine keys: the five of a BASIC one, then the
/// 50th, 95th, 99th and 99.9th percentiles (here estimated from the
/// latency histogram's buckets).
fn advanced_summary(
    out: &mut Vec<(String, MonValue)>,
    name: &str,
    t: &consensus::Timings,
    buckets: &crate::monitor::metrics::Buckets,
) {
    basic_summary(out, name, t);
    for (key, q) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999)] {
        let ms = buckets.quantile(q) * 1000.0;
        let v = if ms.is_finite() { ms.round() as i64 } else { 0 };
        out.push((format!("zk_{key}_{name}"), MonValue::Int(v)));
    }
}

/// `mntr`'s keys and values, for the keys Corral fills truthfully: every
/// one is a key ZooKeeper 3.8 reports, with the same type.
/// ZooKeeper's per-namespace quota metrics (`QuotaMetricsUtils`): the
/// count and bytes limits and usage, and hard-limit refusals.
pub(crate) const QUOTA_METRICS: [&str; 5] = [
    "quota_count_limit_per_namespace",
    "quota_bytes_limit_per_namespace",
    "quota_count_usage_per_namespace",
    "quota_bytes_usage_per_namespace",
    "quota_exceeded_error_per_namespace",
];

pub(crate) fn monitor_values(core: &Core) -> Vec<(String, MonValue)> {
    // ZooKeeper keys the root twice ("" and "/") and counts both; its
    // approximateDataSize is the path and data lengths of every node.
    let crate::view::Counts {
        znodes,
        watches,
        ephemerals,
        data_size,
        sessions,
        snapshot_builds: snaps,
        quotas,
        quota_errors,
        ..
    } = core.counts();
    let s = core.stats.snapshot();
    let mode = core.mode();
    let mut out: Vec<(String, MonValue)> = Vec::new();
    let mut put = |k: &str, v: MonValue| out.push((k.to_owned(), v));
    put("zk_version", MonValue::Text(version_string()));
    put("zk_server_state", MonValue::Text(mode.to_owned()));
    if mode != "standalone" {
        // QuorumPeer.getDetailedPeerState.
        let state = match (core.serving(), mode) {
            (false, _) => "looking",
            (true, "leader") => "leading - broadcast",
            (true, "observer") => "observing - broadcast",
            (true, _) => "following - broadcast",
        };
        put("zk_peer_state", MonValue::Text(state.to_owned()));
    }
    put("zk_ephemerals_count", int(ephemerals));
    put("zk_num_alive_connections", int(s.connections));
    put("zk_avg_latency", MonValue::Double(round4(s.avg_ms)));
    put("zk_outstanding_requests", int(core.stats.outstanding()));
    put("zk_znode_count", int(znodes));
    put("zk_global_sessions", int(sessions));
    put("zk_packets_sent", int(s.sent));
    put("zk_packets_received", int(s.received));
    put("zk_watch_count", int(watches));
    put("zk_min_latency", int(s.min_ms));
    let (open_fds, max_fds) = file_descriptors();
    put("zk_max_file_descriptor_count", MonValue::Int(max_fds));
    put("zk_approximate_data_size", int(data_size));
    put("zk_open_file_descriptor_count", MonValue::Int(open_fds));
    put("zk_local_sessions", MonValue::Int(0));
    put("zk_uptime", int(core.started.elapsed().as_millis()));
    put("zk_max_latency", int(s.max_ms));
    if mode != "standalone" {
        let raft = core.raft_view();
        if mode == "leader" {
            put("zk_learners", int(raft.followers + raft.observers));
            put("zk_synced_followers", int(raft.synced_followers));
            put("zk_synced_non_voting_followers", MonValue::Int(0));
            put("zk_synced_observers", int(raft.synced_observers));
        }
        put("zk_quorum_size", int(raft.voters));
    }
    // ZooKeeper's `snapshottime` (ZooKeeperServer.takeSnapshot), a BASIC
    // summary. (Its `zk_snap_count` is another thing: SNAP syncs a leader
    // sent to learners.)
    basic_summary(&mut out, "snapshottime", &snaps);
    // The quota gauge and counter sets, as ZooKeeper's default metrics
    // provider names them in `mntr`: `<namespace>_<metric>`.
    for (ns, q) in &quotas {
        for (name, v) in [
            (QUOTA_METRICS[0], q.count_limit),
            (QUOTA_METRICS[1], q.bytes_limit),
            (QUOTA_METRICS[2], q.count_usage),
            (QUOTA_METRICS[3], q.bytes_usage),
        ] {
            out.push((format!("zk_{ns}_{name}"), MonValue::Int(v)));
        }
    }
    for (ns, n) in &quota_errors {
        out.push((format!("zk_{ns}_{}", QUOTA_METRICS[4]), int(*n)));
    }
    let (read, update) = core.metrics.read_and_update_buckets();
    advanced_summary(&mut out, "readlatency", &core.stats.read_latency(), &read);
    advanced_summary(
        &mut out,
        "updatelatency",
        &core.stats.update_latency(),
        &update,
    );
    out
}

/// Open file descriptors and their soft limit, -1 where unknown (as
/// ZooKeeper reports them on a JVM that cannot tell).
fn file_descriptors() -> (i64, i64) {
    #[cfg(target_os = "linux")]
    {
        use procfs::process::{LimitValue, Process};
        let me = Process::myself().ok();
        let open = me
            .as_ref()
            .and_then(|p| p.fd_count().ok())
            .and_then(|n| i64::try_from(n).ok())
            .unwrap_or(-1);
        let max =
            me.and_then(|p| p.limits().ok())
                .map_or(-1, |l| match l.max_open_files.soft_limit {
                    LimitValue::Value(v) => i64::try_from(v).unwrap_or(i64::MAX),
                    LimitValue::Unlimited => i64::MAX,
                });
        (open, max)
    }
    #[cfg(not(target_os = "linux"))]
    {
        (-1, -1)
    }
}

/// `mntr`: `key<TAB>value` lines with ZooKeeper's `zk_` names.
fn mntr(core: &Core) -> String {
    monitor_values(core)
        .iter()
        .map(|(k, v)| format!("{k}\t{v}\n"))
        .collect()
}

/// `x` to 4 decimal places, half up (`AvgMinMaxCounter.getAvg`).
fn round4(x: f64) -> f64 {
    (x * 10_000.0 + 0.5).floor() / 10_000.0
}

/// A double as Java's `Double.toString` writes one in this range: always
/// with a fractional part (`0.0`, `12.5`).
fn java_double(x: f64) -> String {
    let s = x.to_string();
    if s.contains('.') { s } else { format!("{s}.0") }
}

/// `cons`: every connection in full, then a blank line.
fn cons(core: &Core) -> String {
    let mut out = String::new();
    for c in core.stats.connections() {
        out.push_str(&c.describe(true));
        out.push('\n');
    }
    out.push('\n');
    out
}

/// Bytes under `dir`, recursively (0 if it cannot be read).
pub(crate) fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

pub(crate) fn absolute(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// The tree's directory and the Raft log's (ZooKeeper's snapshot and
/// transaction-log directories).
pub(crate) fn data_dirs(core: &Core) -> (std::path::PathBuf, std::path::PathBuf) {
    let c = &core.config;
    (
        c.data_dir.join("tree"),
        c.data_log_dir.as_ref().unwrap_or(&c.data_dir).join("raft"),
    )
}

/// `dirs` (`DirsCommand`).
fn dirs(core: &Core) -> String {
    let (tree, log) = data_dirs(core);
    format!(
        "datadir_size: {}\nlogdir_size: {}\n",
        dir_size(&tree),
        dir_size(&log)
    )
}

/// `conf` (`ZooKeeperServer.dumpConf`, and `QuorumZooKeeperServer`'s
/// additions for an ensemble, which end without a newline).
fn conf(core: &Core) -> String {
    let c = &core.config;
    let (tree, log) = data_dirs(core);
    let ms = |d: std::time::Duration| d.as_millis();
    let server_id = if c.is_standalone() {
        0
    } else {
        u64::from(c.server_id)
    };
    let mut out = format!(
        "clientPort={}\nsecureClientPort=-1\ndataDir={}\ndataDirSize={}\ndataLogDir={}\ndataLogSize={}\ntickTime={}\nmaxClientCnxns={}\nminSessionTimeout={}\nmaxSessionTimeout={}\nclientPortListenBacklog=-1\nserverId={}\n",
        c.client_addr.port(),
        absolute(&tree),
        dir_size(&tree),
        absolute(&log),
        dir_size(&log),
        ms(c.tick_time),
        c.max_client_cnxns,
        ms(c.min_session_timeout),
        ms(c.max_session_timeout),
        server_id
    );
    if !c.is_standalone() {
        let (servers, version) = crate::reconfig::live_config(core);
        let me = servers.iter().find(|s| s.id == u64::from(c.server_id));
        let quorum_port = me
            .and_then(|s| s.quorum_addr.rsplit_once(':'))
            .map_or("", |(_, p)| p);
        out.push_str(&format!(
            "initLimit={}\nsyncLimit={}\nelectionAlg=3\nelectionPort={}\nquorumPort={}\npeerType={}\nmembership: \n",
            c.init_limit,
            c.sync_limit,
            me.map_or(0, |s| s.election_port),
            quorum_port,
            u8::from(me.is_some_and(|s| s.observer)),
        ));
        for s in &servers {
            out.push_str(&format!(
                "server.{}={}:{}:{}",
                s.id,
                s.quorum_addr,
                s.election_port,
                if s.observer {
                    "observer"
                } else {
                    "participant"
                }
            ));
            if let Some(client) = &s.client_addr {
                out.push(';');
                out.push_str(client);
            }
            out.push('\n');
        }
        out.push_str(&format!("version={version:x}"));
    }
    out
}

/// `envi` (`EnvCommand`): ZooKeeper's keys; the Java ones say `<NA>`.
fn envi() -> String {
    let mut out = "Environment:\n".to_owned();
    for (k, v) in environment() {
        out.push_str(&format!("{k}={v}\n"));
    }
    out
}

/// ZooKeeper's `Environment.list()`: its keys in order, the Java ones
/// `<NA>`.
pub(crate) fn environment() -> Vec<(&'static str, String)> {
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| "<NA>".to_owned());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "<NA>".to_owned());
    let os_version = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "<NA>".to_owned());
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|_| "<NA>".to_owned());
    let na = "<NA>".to_owned();
    let lines = [
        ("zookeeper.version", version_string()),
        ("host.name", host),
        ("java.version", na.clone()),
        ("java.vendor", na.clone()),
        ("java.home", na.clone()),
        ("java.class.path", na.clone()),
        ("java.library.path", na.clone()),
        ("java.io.tmpdir", std::env::temp_dir().display().to_string()),
        ("java.compiler", na.clone()),
        // Java's names: "Linux", "amd64".
        ("os.name", java_os_name()),
        (
            "os.arch",
            match std::env::consts::ARCH {
                "x86_64" => "amd64".to_owned(),
                other => other.to_owned(),
            },
        ),
        ("os.version", os_version),
        (
            "user.name",
            std::env::var("USER").unwrap_or_else(|_| var("LOGNAME")),
        ),
        ("user.home", var("HOME")),
        ("user.dir", cwd),
        ("os.memory.free", na.clone()),
        ("os.memory.max", na.clone()),
        ("os.memory.total", na),
    ];
    lines.into()
}

/// The operating system's name as Java's `os.name` gives it.
fn java_os_name() -> String {
    match std::env::consts::OS {
        "linux" => "Linux".to_owned(),
        "macos" => "Mac OS X".to_owned(),
        other => other.to_owned(),
    }
}

/// `wchs`, `wchc`, `wchp` (`WatchCommand`): ZooKeeper's data watches only
/// (those of `getData` and `exists`, and persistent ones), as it reports
/// them.
fn watches(core: &Core, word: FourLetterWord) -> String {
    let mut out = String::new();
    match word {
        FourLetterWord::Wchs => {
            let by_path = core.data_watches();
            let sessions: BTreeSet<i64> = by_path.values().flatten().copied().collect();
            let total: usize = by_path.values().map(BTreeSet::len).sum();
            out.push_str(&format!(
                "{} connections watching {} paths\nTotal watches:{}",
                sessions.len(),
                by_path.len(),
                total
            ));
        }
        FourLetterWord::Wchc => {
            for (s, paths) in core.data_watches_by_session() {
                out.push_str(&format!("0x{s:x}\n"));
                for p in paths {
                    out.push_str(&format!("\t{p}\n"));
                }
            }
        }
        _ => {
            for (path, sessions) in &core.data_watches() {
                out.push_str(path);
                out.push('\n');
                for s in sessions {
                    out.push_str(&format!("\t0x{s:x}\n"));
                }
            }
        }
    }
    out.push('\n');
    out
}

/// Java's `Date.toString()` in UTC: `Tue Feb 13 10:00:14 UTC 2024`.
fn java_date(epoch_ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = epoch_ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        DAYS[usize::try_from(days.rem_euclid(7)).unwrap_or(0)],
        MONTHS[usize::try_from(month - 1).unwrap_or(0)],
        day,
        tod / 3600,
        tod % 3600 / 60,
        tod % 60,
        year
    )
}

/// ZooKeeper's `ExpiryQueue.dump`: deadlines rounded up to the next tick,
/// in buckets, earliest first.
fn expiry_queue(deadlines: &[(i64, String)], tick_ms: i64) -> String {
    let mut buckets: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    for (at, what) in deadlines {
        let rounded = (at / tick_ms.max(1) + 1) * tick_ms.max(1);
        buckets.entry(rounded).or_default().push(what);
    }
    let mut out = format!("Sets ({})/({}):\n", buckets.len(), deadlines.len());
    for (at, items) in buckets {
        out.push_str(&format!("{} expire at {}:\n", items.len(), java_date(at)));
        for i in items {
            out.push_str(&format!("\t{i}\n"));
        }
    }
    out
}

/// `dump` (`DumpCommand`): the session tracker, the ephemerals by session,
/// the connections.
fn dump(core: &Core) -> String {
    let now_wall = crate::core::now_ms();
    let now = std::time::Instant::now();
    let tick = i64::try_from(core.config.tick_time.as_millis()).unwrap_or(2000);
    let wall = |at: std::time::Instant| {
        let ahead = at.saturating_duration_since(now).as_millis();
        now_wall + i64::try_from(ahead).unwrap_or(0)
    };
    let view = core.sessions_view();
    let tracker = if core.mode() == "follower" || core.mode() == "observer" {
        let mut t = format!("Global Sessions({}):\n", view.timeouts.len());
        for (id, to) in &view.timeouts {
            t.push_str(&format!("0x{id:x}\t{to}ms\n"));
        }
        t
    } else {
        let mut d: Vec<(i64, String)> = view
            .deadlines
            .iter()
            .map(|(id, at)| (wall(*at), format!("0x{id:x}")))
            .collect();
        d.sort();
        format!("Session {}", expiry_queue(&d, tick))
    };
    let mut ephemerals = format!("Sessions with Ephemerals ({}):\n", view.ephemerals.len());
    for (id, paths) in &view.ephemerals {
        ephemerals.push_str(&format!("0x{id:x}:\n"));
        for p in paths {
            ephemerals.push_str(&format!("\t{p}\n"));
        }
    }
    let sessions_of_conns: BTreeMap<i64, i64> = view
        .deadlines
        .iter()
        .map(|(id, at)| (*id, wall(*at)))
        .collect();
    // Each connection expires with its session (a connection without one,
    // like this one, after the shortest session timeout).
    let min_timeout = i64::try_from(core.config.min_session_timeout.as_millis()).unwrap_or(0);
    let conns: Vec<(i64, String)> = core
        .stats
        .connections()
        .iter()
        .map(|c| {
            let sid = c.session.load(std::sync::atomic::Ordering::Relaxed);
            let at = sessions_of_conns
                .get(&sid)
                .copied()
                .unwrap_or(now_wall + min_timeout);
            (at, format!("ip: /{} sessionId: 0x{sid:x}", c.peer))
        })
        .collect();
    format!(
        "SessionTracker dump:\n{tracker}ephemeral nodes dump:\n{ephemerals}Connections dump:\nConnections {}",
        expiry_queue(&conns, tick)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_javas() {
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(java_date(1_707_818_414_000), "Tue Feb 13 10:00:14 UTC 2024");
        assert_eq!(java_date(951_782_400_000), "Tue Feb 29 00:00:00 UTC 2000");
    }
}
