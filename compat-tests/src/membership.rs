//! Membership changes under load, the same on Corral and on the reference
//! ZooKeeper: a writer creates znodes one after another and records each
//! acknowledgement; the 3-member ensemble grows to 5 and shrinks to 3,
//! the leader among the removed, by `reconfig` alone. Afterwards every
//! acknowledged znode must be on every remaining member, the writer's
//! session must be the one it started with, and the longest pause
//! between two acknowledgements is reported.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zookeeper_client as zk;

use crate::{CorralEnsemble, ZooKeeperEnsemble, four_letter};

/// An ensemble the scenario can grow and shrink.
pub trait Reconfigurable {
    /// For messages.
    fn name(&self) -> &'static str;
    /// Starts `server.<id>` as a joining member on `client_port` with
    /// `role` (`participant` or `observer`); returns its line for
    /// `reconfig`.
    fn start_joiner(&mut self, id: u64, client_port: u16, role: &str) -> String;
    /// Member `id`'s client address.
    fn client_addr(&self, id: u64) -> SocketAddr;
}

impl Reconfigurable for CorralEnsemble {
    fn name(&self) -> &'static str {
        "Corral"
    }
    fn start_joiner(&mut self, id: u64, client_port: u16, role: &str) -> String {
        CorralEnsemble::start_joiner(self, id, client_port, role)
    }
    fn client_addr(&self, id: u64) -> SocketAddr {
        self.addrs()[usize::try_from(id - 1).unwrap_or(0)]
    }
}

impl Reconfigurable for ZooKeeperEnsemble {
    fn name(&self) -> &'static str {
        "ZooKeeper 3.8"
    }
    fn start_joiner(&mut self, id: u64, client_port: u16, role: &str) -> String {
        ZooKeeperEnsemble::start_joiner(self, id, client_port, role)
    }
    fn client_addr(&self, id: u64) -> SocketAddr {
        self.members[usize::try_from(id - 1).unwrap_or(0)].addr()
    }
}

/// What one run showed.
#[derive(Debug, Clone)]
pub struct Report {
    /// Acknowledged creates.
    pub acked: usize,
    /// Creates that failed or whose outcome is unknown (retried as new
    /// znodes).
    pub failed: usize,
    /// The longest time between two acknowledgements, and when it began
    /// (since the writer started).
    pub longest_pause: Duration,
    /// When the longest pause began, since the writer started.
    pub pause_at: Duration,
    /// How long the `reconfig` that removed the leader took.
    pub remove_took: Duration,
    /// Acknowledged znodes missing on a remaining member, by member.
    pub lost: Vec<(u64, usize)>,
    /// Whether the writer kept its session.
    pub session_kept: bool,
    /// The configuration at the end.
    pub final_config: String,
    /// Who led before and was removed.
    pub removed_leader: u64,
    /// What the two removed members' `srvr` said at the end.
    pub removed_modes: Vec<String>,
}

/// The runtime a scenario's clients run on.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

fn mode(addr: SocketAddr) -> String {
    four_letter(addr, "srvr")
        .ok()
        .and_then(|a| {
            a.lines()
                .find_map(|l| l.strip_prefix("Mode: "))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "not serving".into())
}

async fn connect(addrs: &[SocketAddr], auth: bool) -> zk::Client {
    let cluster: Vec<String> = addrs.iter().map(SocketAddr::to_string).collect();
    let mut c = zk::Client::connector().with_session_timeout(Duration::from_secs(15));
    if auth {
        c = c.with_auth("digest", b"super:test");
    }
    tokio::time::timeout(Duration::from_secs(60), c.connect(&cluster.join(",")))
        .await
        .expect("connect in time")
        .expect("connect")
}

/// `reconfig` until it is taken (a joining server may still be starting:
/// NEWCONFIGNOQUORUM), for at most 90 s.
async fn reconfig(c: &zk::Client, joining: &[String], leaving: &[String]) -> (String, Duration) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let started = Instant::now();
        let update = zk::EnsembleUpdate::Incremental {
            joinings: joining.iter().map(String::as_str),
            leavings: leaving.iter().map(String::as_str),
        };
        let r =
            tokio::time::timeout(Duration::from_secs(60), c.update_ensemble(update, None)).await;
        match r {
            Ok(Ok((data, _))) => {
                return (
                    String::from_utf8_lossy(&data).into_owned(),
                    started.elapsed(),
                );
            }
            Ok(Err(e)) if Instant::now() < deadline => {
                eprintln!("reconfig {joining:?} -{leaving:?}: {e}; again");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            other => panic!("reconfig {joining:?} -{leaving:?}: {other:?}"),
        }
    }
}

/// Runs the scenario on `e`, a 3-member ensemble started with
/// `reconfigEnabled` and the super user `super:test`.
pub fn grow_and_shrink(e: &mut dyn Reconfigurable) -> Report {
    let rt = runtime();
    let ports = [crate::free_port(), crate::free_port()];
    let addr = |id: u64, e: &dyn Reconfigurable| -> SocketAddr {
        if id <= 3 {
            e.client_addr(id)
        } else {
            SocketAddr::from((
                Ipv4Addr::LOCALHOST,
                ports[usize::try_from(id - 4).unwrap_or(0)],
            ))
        }
    };
    let all: Vec<SocketAddr> = (1..=5).map(|id| addr(id, e)).collect();
    let originals: Vec<SocketAddr> = all[..3].to_vec();
    let admin = rt.block_on(connect(&originals, true));
    let writer = rt.block_on(connect(&all, false));
    let session = writer.session_id();
    rt.block_on(writer.create(
        "/grow",
        b"",
        &zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all()),
    ))
    .expect("create /grow");

    // The writer: one create at a time, each acknowledgement timed.
    let acks: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
    let failed = Arc::new(Mutex::new(0usize));
    let stop = tokio_util::sync::CancellationToken::new();
    let t0 = Instant::now();
    let load = {
        let (acks, failed, stop, writer) =
            (acks.clone(), failed.clone(), stop.clone(), writer.clone());
        rt.spawn(async move {
            let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
            let mut n: u64 = 0;
            let mut expired = false;
            while !stop.is_cancelled() {
                n += 1;
                let path = format!("/grow/n-{n:08}");
                match tokio::time::timeout(
                    Duration::from_secs(20),
                    writer.create(&path, b"x", &open),
                )
                .await
                {
                    Ok(Ok(_)) => acks.lock().expect("acks").push((n, Instant::now())),
                    Ok(Err(zk::Error::SessionExpired)) => {
                        expired = true;
                        break;
                    }
                    _ => {
                        *failed.lock().expect("failed") += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            expired
        })
    };
    std::thread::sleep(Duration::from_secs(2));

    // Grow: two new participants.
    let joining: Vec<String> = (4..=5)
        .map(|id| {
            e.start_joiner(
                id,
                ports[usize::try_from(id - 4).unwrap_or(0)],
                "participant",
            )
        })
        .collect();
    let (grown, _) = rt.block_on(reconfig(&admin, &joining, &[]));
    assert_eq!(
        grown.matches(":participant").count(),
        5,
        "{}: grown to five participants:\n{grown}",
        e.name()
    );
    std::thread::sleep(Duration::from_secs(3));

    // Shrink: the leader and one other original member leave.
    let leader = (1..=3)
        .find(|id| mode(addr(*id, e)) == "leader")
        .unwrap_or_else(|| panic!("{}: no leader among the first three", e.name()));
    let other = (1..=3).find(|id| *id != leader).unwrap_or(1);
    // Asked through a member that stays, as an operator would.
    let stays = (1..=5)
        .filter(|id| *id != leader && *id != other)
        .collect::<Vec<_>>();
    let admin2 = rt.block_on(connect(
        &stays.iter().map(|id| addr(*id, e)).collect::<Vec<_>>(),
        true,
    ));
    let (shrunk, remove_took) = rt.block_on(reconfig(
        &admin2,
        &[],
        &[leader.to_string(), other.to_string()],
    ));
    std::thread::sleep(Duration::from_secs(4));
    stop.cancel();
    let stopped = Instant::now();
    let expired = rt.block_on(load).expect("the writer");
    let session_kept = !expired && writer.session_id() == session;

    // Every acknowledged create on every remaining member.
    let acked: Vec<u64> = acks.lock().expect("acks").iter().map(|(n, _)| *n).collect();
    let mut lost = Vec::new();
    for id in &stays {
        let c = rt.block_on(connect(&[addr(*id, e)], false));
        rt.block_on(c.sync("/grow")).expect("sync");
        let children: std::collections::HashSet<String> = rt
            .block_on(c.list_children("/grow"))
            .expect("children")
            .into_iter()
            .collect();
        let missing = acked
            .iter()
            .filter(|n| !children.contains(&format!("n-{n:08}")))
            .count();
        lost.push((*id, missing));
    }
    // The writer stopped at `stopped`: a stall at the end counts too.
    let mut times: Vec<Instant> = acks.lock().expect("acks").iter().map(|(_, t)| *t).collect();
    times.push(stopped);
    let (mut longest, mut at) = (Duration::ZERO, Duration::ZERO);
    for w in times.windows(2) {
        let gap = w[1] - w[0];
        if gap > longest {
            longest = gap;
            at = w[0] - t0;
        }
    }
    let failed = *failed.lock().expect("failed");
    Report {
        acked: acked.len(),
        failed,
        longest_pause: longest,
        pause_at: at,
        remove_took,
        lost,
        session_kept,
        final_config: shrunk,
        removed_leader: leader,
        removed_modes: vec![mode(addr(leader, e)), mode(addr(other, e))],
    }
}

/// Each member's `srvr` mode, by id.
fn modes_of(e: &dyn Reconfigurable, ids: &[u64]) -> Vec<String> {
    ids.iter().map(|id| mode(e.client_addr(*id))).collect()
}

/// An observer joins by `reconfig`, is promoted to a participant by
/// adding it again as one, and demoted back; `srvr` on it says
/// `observer`, `follower`, `observer`. Returns the steps as seen, for
/// comparison between servers.
pub fn observer_promotion(e: &mut dyn Reconfigurable) -> Vec<String> {
    let rt = runtime();
    let port = crate::free_port();
    let originals: Vec<SocketAddr> = (1..=3).map(|id| e.client_addr(id)).collect();
    let admin = rt.block_on(connect(&originals, true));
    let line = e.start_joiner(4, port, "observer");
    let mut seen = Vec::new();
    let (config, _) = rt.block_on(reconfig(&admin, std::slice::from_ref(&line), &[]));
    seen.push(format!(
        "added: {} observer(s)",
        config.matches(":observer").count()
    ));
    let here = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    // srvr on the new member, once it says `want` (or after 60 s).
    let wait = |want: &str| -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = mode(here);
            if got == want || Instant::now() >= deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    seen.push(format!("srvr: {}", wait("observer")));
    let participant = line.replace(":observer;", ":participant;");
    let (config, _) = rt.block_on(reconfig(&admin, &[participant], &[]));
    seen.push(format!(
        "promoted: {} participant(s)",
        config.matches(":participant").count()
    ));
    seen.push(format!("srvr: {}", wait("follower")));
    let (config, _) = rt.block_on(reconfig(&admin, &[line], &[]));
    seen.push(format!(
        "demoted: {} observer(s)",
        config.matches(":observer").count()
    ));
    seen.push(format!("srvr: {}", wait("observer")));
    seen.push(format!("the first three: {:?}", {
        let mut m = modes_of(e, &[1, 2, 3]);
        m.sort();
        m
    }));
    seen
}

/// A one-member ensemble (`standaloneEnabled=false`) grows to three by
/// `reconfig`; returns what it saw.
pub fn grow_from_one(e: &mut dyn Reconfigurable) -> Vec<String> {
    let rt = runtime();
    let mut seen = vec![format!("alone: {}", mode(e.client_addr(1)))];
    let admin = rt.block_on(connect(&[e.client_addr(1)], true));
    let ports = [crate::free_port(), crate::free_port()];
    let joining: Vec<String> = (2..=3)
        .map(|id| {
            e.start_joiner(
                id,
                ports[usize::try_from(id - 2).unwrap_or(0)],
                "participant",
            )
        })
        .collect();
    let (config, _) = rt.block_on(reconfig(&admin, &joining, &[]));
    seen.push(format!(
        "grown: {} participant(s)",
        config.matches(":participant").count()
    ));
    let addrs: Vec<SocketAddr> = ports
        .iter()
        .map(|p| SocketAddr::from((Ipv4Addr::LOCALHOST, *p)))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut modes;
    loop {
        modes = vec![mode(e.client_addr(1)), mode(addrs[0]), mode(addrs[1])];
        modes.sort();
        if modes == ["follower", "follower", "leader"] || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    seen.push(format!("modes: {modes:?}"));
    seen
}
