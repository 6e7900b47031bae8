//! The nemeses: what the harness does to the ensemble while the workload
//! runs. Each strikes, waits, heals, and says what it did and when.

use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use jute::proto::AddWatchRequest;
use jute::{AddWatchMode, Request};
use tokio::io::AsyncWriteExt;

use super::client::{Connected, SESSION_TIMEOUT_MS, connect_from};
use super::cluster::Cluster;
use super::net::{HOSTILE_ADDR, Net};
use super::workload::Rng;

/// A kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `kill -9` of a member (the leader more often than not), restarted
    /// 1–3 s later.
    Kill,
    /// `kill -9` of the leader, restarted 1 s later (the cycles of
    /// issue #22's leader runs).
    KillLeader,
    /// SIGTERM of the leader, restarted 1 s later.
    Term,
    /// `kill -9` of every member at the same instant, restarted 1 s
    /// later: the whole ensemble crashes, as in a power cut. (The kernel's
    /// page cache survives a kill, so a correct build also keeps what it
    /// had not synced; the broken build `raft-log-ack-before-fsync` keeps
    /// it in the process, and loses it here as it would in a power cut.)
    KillAll,
    /// SIGSTOP of a member (the leader more often than not) for longer
    /// than the session timeout, then SIGCONT.
    Pause,
    /// A network partition for 3–7 s: the leader isolated, a random
    /// minority cut off, a bridge (two halves that each see one member),
    /// or one direction of the leader's traffic dropped.
    Partition,
    /// The leader isolated for 3–5 s (the cycles of issue #22's partition
    /// runs).
    PartitionLeader,
    /// Every member's link or one's, for 5 s: 5–40 % of packets lost at
    /// random (nftables), or the link slowed to 1 or 4 Mbit/s with 300 ms
    /// of queue (`tc tbf`). This machine's kernel has no `netem`.
    Link,
    /// A member restarted with a disk failpoint (log append or fsync, tree
    /// commit or snapshot write failing after a few operations); it stops
    /// serving; 4 s later it is restarted without it.
    Disk,
    /// A member killed, its Raft log's journal damaged, and restarted:
    /// either torn (its last 1–64 written bytes zeroed, as a crash in
    /// mid-write leaves it), which it must recover from and serve; or a
    /// bit flipped inside it. A flipped batch fjall replays fails its
    /// checksum and the member refuses to start (the harness then puts the
    /// file back, as if never damaged, and restarts it); one already in its
    /// tables is not read, and the member runs on. What it serves is under
    /// the checkers either way.
    Corrupt,
    /// A member's wall clock jumps an hour forward or back for 5 s
    /// (libfaketime; the monotonic clock runs on, as under an NTP step).
    Clock,
    /// From another address: 300 connections opened at once, 20 that
    /// stall in the handshake (slowloris), and a session with a recursive
    /// watch on `/` that never reads, for 5 s.
    Flood,
}

/// Every kind, as the soak runs them.
pub const ALL: &[Kind] = &[
    Kind::Kill,
    Kind::Term,
    Kind::KillAll,
    Kind::Pause,
    Kind::Partition,
    Kind::Link,
    Kind::Disk,
    Kind::Corrupt,
    Kind::Clock,
    Kind::Flood,
];

impl FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Kind, String> {
        Ok(match s {
            "kill" => Kind::Kill,
            "kill-leader" => Kind::KillLeader,
            "term" => Kind::Term,
            "kill-all" => Kind::KillAll,
            "pause" => Kind::Pause,
            "partition" => Kind::Partition,
            "partition-leader" => Kind::PartitionLeader,
            "link" => Kind::Link,
            "disk" => Kind::Disk,
            "corrupt" => Kind::Corrupt,
            "clock" => Kind::Clock,
            "flood" => Kind::Flood,
            other => return Err(format!("unknown nemesis {other:?}")),
        })
    }
}

impl Kind {
    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Kill => "kill",
            Kind::KillLeader => "kill-leader",
            Kind::Term => "term",
            Kind::KillAll => "kill-all",
            Kind::Pause => "pause",
            Kind::Partition => "partition",
            Kind::PartitionLeader => "partition-leader",
            Kind::Link => "link",
            Kind::Disk => "disk",
            Kind::Corrupt => "corrupt",
            Kind::Clock => "clock",
            Kind::Flood => "flood",
        }
    }
}

/// One fault as struck.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Its kind.
    pub kind: Kind,
    /// What exactly was done.
    pub what: String,
    /// When it struck.
    pub start: Instant,
    /// When it was healed.
    pub end: Instant,
}

/// The newest journal file of the fjall database in `dir`, if any.
fn newest_journal(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = name.strip_suffix(".jnl")?.parse::<u64>().ok()?;
            Some((n, e.path()))
        })
        .max()
        .map(|(_, p)| p)
}

/// How many stores a member has set aside as corrupt (`corrupt-*`
/// directories in its data directory).
fn set_aside(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("corrupt-"))
            .count()
    })
}

/// The disk failpoints the `disk` nemesis chooses from.
const DISK_FAULTS: &[&str] = &[
    "raft-log-fsync",
    "raft-log-append",
    "tree-commit",
    "snapshot-build",
];

fn sleep(d: Duration) {
    std::thread::sleep(d);
}

fn millis(rng: &mut Rng, lo: u64, hi: u64) -> Duration {
    Duration::from_millis(lo + rng.below(hi - lo + 1))
}

/// A member to strike: the leader with probability 3/5 (if one is known),
/// else any running one.
fn target(cluster: &mut Cluster, rng: &mut Rng) -> usize {
    let n = cluster.members.len();
    if rng.below(5) < 3
        && let Some(l) = cluster.leader()
    {
        return l;
    }
    rng.below(n as u64) as usize
}

/// Cuts `a` from `b` both ways.
fn cut(net: &Net, hosts: &[Ipv4Addr], a: &[usize], b: &[usize]) -> Result<(), String> {
    let addrs = |g: &[usize]| g.iter().map(|&i| hosts[i]).collect::<Vec<_>>();
    for &i in a {
        net.block(i, &addrs(b))?;
    }
    for &i in b {
        net.block(i, &addrs(a))?;
    }
    Ok(())
}

/// Strikes one fault of `kind` and heals it.
///
/// # Errors
/// A command the nemesis needs failed (`nft`, `tc`, starting a member).
pub fn strike(
    kind: Kind,
    cluster: &mut Cluster,
    net: &Net,
    rng: &mut Rng,
    rt: &tokio::runtime::Handle,
) -> Result<Fault, String> {
    let n = cluster.members.len();
    let hosts = cluster.hosts();
    let start = Instant::now();
    let what = match kind {
        Kind::Kill | Kind::KillLeader => {
            let i = if kind == Kind::KillLeader {
                cluster.leader().unwrap_or(0)
            } else {
                target(cluster, rng)
            };
            cluster.kill9(i);
            sleep(if kind == Kind::KillLeader {
                Duration::from_secs(1)
            } else {
                millis(rng, 1000, 3000)
            });
            cluster.start(i, None)?;
            format!("kill -9 of member {}", i + 1)
        }
        Kind::Term => {
            let i = cluster.leader().unwrap_or(0);
            cluster.term(i);
            sleep(Duration::from_secs(1));
            cluster.start(i, None)?;
            format!("SIGTERM of member {}", i + 1)
        }
        Kind::KillAll => {
            cluster.kill9_all();
            sleep(Duration::from_secs(1));
            for i in 0..n {
                cluster.start(i, None)?;
            }
            "kill -9 of every member at once".to_owned()
        }
        Kind::Pause => {
            let i = target(cluster, rng);
            let d = Duration::from_millis(SESSION_TIMEOUT_MS as u64) + millis(rng, 500, 2000);
            cluster.stop(i);
            sleep(d);
            cluster.cont(i);
            format!("SIGSTOP of member {} for {d:?}", i + 1)
        }
        Kind::Partition | Kind::PartitionLeader => {
            let variant = if kind == Kind::PartitionLeader {
                0
            } else {
                rng.below(4)
            };
            let leader = cluster.leader().unwrap_or(0);
            let others: Vec<usize> = (0..n).filter(|&i| i != leader).collect();
            let what = match variant {
                0 => {
                    cut(net, &hosts, &[leader], &others)?;
                    format!("member {} (leader) isolated", leader + 1)
                }
                1 => {
                    let mut order: Vec<usize> = (0..n).collect();
                    rng.shuffle(&mut order);
                    let (minority, majority) = order.split_at(n / 2);
                    cut(net, &hosts, minority, majority)?;
                    let show = |g: &[usize]| g.iter().map(|i| i + 1).collect::<Vec<_>>();
                    format!("{:?} cut from {:?}", show(minority), show(majority))
                }
                2 => {
                    // A bridge: the leader sees everyone, the others are
                    // split in two halves that do not see each other.
                    let (a, b) = others.split_at(others.len() / 2);
                    cut(net, &hosts, a, b)?;
                    format!("bridge through member {} (leader)", leader + 1)
                }
                _ => {
                    if rng.below(2) == 0 {
                        for &i in &others {
                            net.block(i, &[hosts[leader]])?;
                        }
                        format!("member {} (leader) cannot send", leader + 1)
                    } else {
                        let addrs: Vec<Ipv4Addr> = others.iter().map(|&i| hosts[i]).collect();
                        net.block(leader, &addrs)?;
                        format!("member {} (leader) cannot receive", leader + 1)
                    }
                }
            };
            sleep(if kind == Kind::PartitionLeader {
                millis(rng, 3000, 5000)
            } else {
                millis(rng, 3000, 7000)
            });
            for i in 0..n {
                net.unblock(i);
            }
            what
        }
        Kind::Link => {
            let all = rng.below(2) == 0;
            let which: Vec<usize> = if all {
                (0..n).collect()
            } else {
                vec![target(cluster, rng)]
            };
            let what = if rng.below(2) == 0 {
                let percent = [5, 20, 40][rng.below(3) as usize];
                for &i in &which {
                    net.lossy(i, percent)?;
                }
                format!("{percent} % loss")
            } else {
                let rate = ["1mbit", "4mbit"][rng.below(2) as usize];
                for &i in &which {
                    net.slow(i, rate)?;
                }
                format!("links limited to {rate}")
            };
            sleep(Duration::from_secs(5));
            for &i in &which {
                net.clear_link(i);
            }
            let show: Vec<usize> = which.iter().map(|i| i + 1).collect();
            format!("{what} on {show:?}")
        }
        Kind::Disk => {
            let i = target(cluster, rng);
            let point = DISK_FAULTS[rng.below(DISK_FAULTS.len() as u64) as usize];
            let after = 5 + rng.below(40);
            let fp = format!("{point}={after}*off->return");
            cluster.kill9(i);
            cluster.start(i, Some(&fp))?;
            sleep(Duration::from_secs(4));
            cluster.kill9(i);
            cluster.start(i, None)?;
            format!("member {} restarted with `{fp}`", i + 1)
        }
        Kind::Corrupt => {
            let i = target(cluster, rng);
            cluster.kill9(i);
            // The Raft log two times in three, else the tree's journal.
            let store = if rng.below(3) == 0 { "tree" } else { "raft" };
            let what = if store == "raft" { "log" } else { "tree" };
            let dir = cluster.members[i].dir.join(store);
            let journal =
                newest_journal(&dir).ok_or_else(|| format!("no journal in {}", dir.display()))?;
            let original = std::fs::read(&journal).map_err(|e| e.to_string())?;
            let end = original.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1);
            let mut bytes = original.clone();
            if end < 1024 || rng.below(2) == 0 {
                // A batch being written at the crash reached the disk in
                // part: the start of one (the journal's first bytes) after
                // the last synced batch.
                let n = (8 + rng.below(40) as usize).min(end);
                let start = original[..n].to_vec();
                if bytes.len() < end + n {
                    bytes.resize(end + n, 0);
                }
                bytes[end..end + n].copy_from_slice(&start);
                std::fs::write(&journal, &bytes).map_err(|e| e.to_string())?;
                cluster.start(i, None)?;
                sleep(Duration::from_secs(2));
                format!(
                    "member {}'s {what} torn ({n} bytes of an unfinished batch at its end)",
                    i + 1
                )
            } else {
                let at = end / 2 + rng.below((end / 4) as u64) as usize;
                bytes[at] ^= 1 << rng.below(8);
                std::fs::write(&journal, &bytes).map_err(|e| e.to_string())?;
                let member_dir = cluster.members[i].dir.clone();
                let aside_before = set_aside(&member_dir);
                cluster.start(i, None)?;
                let started = Instant::now();
                let until = started + Duration::from_secs(15);
                while cluster.running(i)
                    && set_aside(&member_dir) == aside_before
                    && Instant::now() < until
                {
                    sleep(Duration::from_millis(50));
                }
                if set_aside(&member_dir) > aside_before {
                    // It set its stores aside and copies the state back
                    // from the others (`corral.repairFromPeers`); the
                    // checkers judge what it serves once repaired.
                    let marker = member_dir.join("corral-repairing");
                    let until = Instant::now() + Duration::from_secs(60);
                    while marker.exists() && cluster.running(i) && Instant::now() < until {
                        sleep(Duration::from_millis(50));
                    }
                    let how = if marker.exists() {
                        "still repairing after 60 s".to_owned()
                    } else {
                        format!("repaired in {:.1} s", started.elapsed().as_secs_f64())
                    };
                    format!(
                        "member {}'s {what} with a flipped bit (byte {at}): refused, set aside, \
                         copied back from its peers: {how}",
                        i + 1
                    )
                } else if cluster.running(i) {
                    // fjall did not read the damaged batch: it was in
                    // its tables already. The member serves from those,
                    // under the checkers; restoring the file now would
                    // take back what it has done since (votes, appends),
                    // which Raft cannot survive.
                    format!(
                        "member {}'s {what} with a flipped bit (byte {at}): started, the batch \
                         already in its tables",
                        i + 1
                    )
                } else {
                    // It refused and never ran: putting the file back is
                    // as if it had never been damaged.
                    std::fs::write(&journal, &original).map_err(|e| e.to_string())?;
                    cluster.start(i, None)?;
                    format!(
                        "member {}'s {what} with a flipped bit (byte {at}): refused, then restored",
                        i + 1
                    )
                }
            }
        }
        Kind::Clock => {
            let i = target(cluster, rng);
            let offset = if rng.below(2) == 0 { "+3600" } else { "-3600" };
            cluster.set_clock(i, offset);
            sleep(Duration::from_secs(5));
            cluster.set_clock(i, "+0");
            format!("member {}'s clock {offset} s", i + 1)
        }
        Kind::Flood => {
            let i = target(cluster, rng);
            let addr = cluster.members[i].addr;
            rt.block_on(flood(addr, i, Duration::from_secs(5)));
            format!(
                "connection flood, slowloris and a stuck reader on member {}",
                i + 1
            )
        }
    };
    Ok(Fault {
        kind,
        what,
        start,
        end: Instant::now(),
    })
}

/// The hostile clients of [`Kind::Flood`], held for `hold`.
async fn flood(addr: SocketAddr, member: usize, hold: Duration) {
    let mut held = Vec::new();
    // A stuck reader: a recursive watch on everything, never read.
    if let Connected::Ok(mut c) = connect_from(Some(HOSTILE_ADDR), addr, member, None).await {
        let req = Request::AddWatch(AddWatchRequest {
            path: "/".into(),
            mode: AddWatchMode::PersistentRecursive as i32,
        });
        let _ = c.call(&req).await;
        held.push(c);
    }
    // Slowloris: two bytes of a length prefix, then nothing.
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let Ok(s) = tokio::net::TcpSocket::new_v4() else {
            continue;
        };
        if s.bind(SocketAddr::from((HOSTILE_ADDR, 0))).is_err() {
            continue;
        }
        if let Ok(Ok(mut stream)) =
            tokio::time::timeout(Duration::from_secs(1), s.connect(addr)).await
        {
            let _ = stream.write_all(&Bytes::from_static(&[0, 0])).await;
            stalled.push(stream);
        }
    }
    // A flood of handshakes.
    let tries: Vec<_> = (0..300)
        .map(|_| tokio::spawn(connect_from(Some(HOSTILE_ADDR), addr, member, None)))
        .collect();
    for t in tries {
        if let Ok(Connected::Ok(c)) = t.await {
            held.push(c);
        }
    }
    tokio::time::sleep(hold).await;
    drop(stalled);
    drop(held);
}
