//! The ensemble under test: one `corral` process per host namespace,
//! configured as an operator would (zoo.cfg with `server.N` lines, a
//! `myid`), started, killed, frozen and restarted by pid.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::net::Net;

/// The client port on every host.
pub const CLIENT_PORT: u16 = 2181;
/// libfaketime, from Debian's `faketime` (libfaketime).
pub const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// One member.
pub struct Member {
    /// Its id (`myid`), from 1.
    pub id: u64,
    /// Its client address.
    pub addr: SocketAddr,
    /// Its data directory.
    pub dir: PathBuf,
    /// Its namespace.
    ns: String,
    child: Option<Child>,
    /// Frozen with SIGSTOP.
    pub stopped: bool,
    /// The file libfaketime reads the member's clock offset from, when
    /// started under it.
    pub clock: Option<PathBuf>,
}

/// Which server the ensemble runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// `corral`.
    Corral,
    /// The reference ZooKeeper 3.8 (Debian's jars, `QuorumPeerMain`,
    /// upstream's JVM heap, log4j at INFO to a file).
    ZooKeeper,
}

/// Where Debian installs ZooKeeper's jars.
const JAVA_DIR: &str = "/usr/share/java";

/// The ensemble.
pub struct Cluster {
    /// The server it runs.
    pub server: Server,
    /// The members, member `i + 1` at index `i`.
    pub members: Vec<Member>,
    corral: PathBuf,
    tick_ms: u64,
    /// Failpoints every start gets (a deliberately broken build).
    pub broken: Option<String>,
}

impl Cluster {
    /// Writes each member's zoo.cfg and myid under `root`; nothing starts.
    /// `fake_clock` starts every member under libfaketime (for clock
    /// jumps).
    ///
    /// # Errors
    /// A file could not be written.
    pub fn new(
        net: &Net,
        root: &Path,
        server: Server,
        corral: &Path,
        tick_ms: u64,
        fake_clock: bool,
        linearizable_reads: bool,
    ) -> Result<Cluster, String> {
        let servers: String = net
            .hosts
            .iter()
            .enumerate()
            .map(|(i, h)| format!("server.{}={}:2888:3888\n", i + 1, h.addr))
            .collect();
        let mut members = Vec::new();
        for (i, host) in net.hosts.iter().enumerate() {
            let id = i as u64 + 1;
            let dir = root.join(format!("m{id}"));
            // ZooKeeper keeps myid in its dataDir; Corral beside zoo.cfg
            // or there (the same directory here).
            fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            fs::write(dir.join("myid"), format!("{id}\n")).map_err(|e| e.to_string())?;
            let own = match server {
                Server::Corral if linearizable_reads => {
                    "corral.linearizableReads=true\n".to_owned()
                }
                Server::Corral => String::new(),
                Server::ZooKeeper => "maxClientCnxns=0\nextendedTypesEnabled=true\n\
                                      admin.enableServer=false\n"
                    .to_owned(),
            };
            let cfg = format!(
                "tickTime={tick_ms}\ninitLimit=10\nsyncLimit=5\ndataDir={}\n\
                 clientPort={CLIENT_PORT}\n4lw.commands.whitelist=*\n{own}{servers}",
                dir.display()
            );
            fs::write(dir.join("zoo.cfg"), cfg).map_err(|e| e.to_string())?;
            if server == Server::ZooKeeper {
                let log4j = format!(
                    "log4j.rootLogger=INFO, FILE\n\
                     log4j.appender.FILE=org.apache.log4j.FileAppender\n\
                     log4j.appender.FILE.File={}\n\
                     log4j.appender.FILE.layout=org.apache.log4j.PatternLayout\n\
                     log4j.appender.FILE.layout.ConversionPattern=%d{{ISO8601}} - %-5p [%t:%C{{1}}@%L] - %m%n\n",
                    dir.join("zk.log").display()
                );
                fs::write(dir.join("log4j.properties"), log4j).map_err(|e| e.to_string())?;
            }
            let clock = if fake_clock {
                let f = dir.join("clock-offset");
                fs::write(&f, "+0\n").map_err(|e| e.to_string())?;
                Some(f)
            } else {
                None
            };
            members.push(Member {
                id,
                addr: SocketAddr::from((host.addr, CLIENT_PORT)),
                dir,
                ns: host.ns.clone(),
                child: None,
                stopped: false,
                clock,
            });
        }
        Ok(Cluster {
            server,
            members,
            corral: corral.to_path_buf(),
            tick_ms,
            broken: None,
        })
    }

    /// Every member's client address.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.members.iter().map(|m| m.addr).collect()
    }

    /// Every member's host address.
    pub fn hosts(&self) -> Vec<Ipv4Addr> {
        self.members
            .iter()
            .map(|m| match m.addr {
                SocketAddr::V4(a) => *a.ip(),
                SocketAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
            })
            .collect()
    }

    /// Starts member `i` (if not running), with `failpoints` if given
    /// (besides [`Cluster::broken`]'s).
    ///
    /// # Errors
    /// The process could not be started.
    pub fn start(&mut self, i: usize, failpoints: Option<&str>) -> Result<(), String> {
        let m = &mut self.members[i];
        if m.child.is_some() {
            return Ok(());
        }
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(m.dir.join("corral.log"))
            .map_err(|e| e.to_string())?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &m.ns]);
        match self.server {
            Server::Corral => {
                cmd.arg(&self.corral)
                    .arg("--config")
                    .arg(m.dir.join("zoo.cfg"))
                    .args(["--log", "info"]);
            }
            Server::ZooKeeper => {
                let mut cp = format!("{JAVA_DIR}/zookeeper.jar:{JAVA_DIR}/zookeeper-jute.jar");
                for jar in ["slf4j-api.jar", "slf4j-log4j12.jar", "log4j-1.2.jar"] {
                    if Path::new(JAVA_DIR).join(jar).exists() {
                        cp.push_str(&format!(":{JAVA_DIR}/{jar}"));
                    }
                }
                cmd.args(["java", "-Xmx1000m", "-cp", &cp])
                    .arg(format!(
                        "-Dlog4j.configuration=file:{}",
                        m.dir.join("log4j.properties").display()
                    ))
                    .arg("-Dzookeeper.jmx.log4j.disable=true")
                    .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
                    .arg(m.dir.join("zoo.cfg"));
            }
        }
        cmd.env_remove("FAILPOINTS")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err);
        let points: Vec<&str> = self
            .broken
            .as_deref()
            .into_iter()
            .chain(failpoints)
            .collect();
        if !points.is_empty() {
            cmd.env("FAILPOINTS", points.join(";"));
        }
        if let Some(clock) = &m.clock {
            // The wall clock only, as an NTP step moves it; the monotonic
            // clock (Raft's and the sessions' timers) runs on.
            cmd.env("LD_PRELOAD", LIBFAKETIME)
                .env("FAKETIME_TIMESTAMP_FILE", clock)
                .env("FAKETIME_CACHE_DURATION", "1")
                .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
        }
        // `ip netns exec` execs the command: the child's pid is corral's.
        let child = cmd
            .spawn()
            .map_err(|e| format!("start member {}: {e}", m.id))?;
        m.child = Some(child);
        m.stopped = false;
        Ok(())
    }

    /// Whether member `i` runs (possibly frozen).
    pub fn running(&mut self, i: usize) -> bool {
        let m = &mut self.members[i];
        match &mut m.child {
            Some(c) => match c.try_wait() {
                Ok(None) => true,
                _ => {
                    m.child = None;
                    false
                }
            },
            None => false,
        }
    }

    fn pid(&self, i: usize) -> Option<Pid> {
        let c = self.members[i].child.as_ref()?;
        Some(Pid::from_raw(i32::try_from(c.id()).ok()?))
    }

    /// `kill -9` of member `i`.
    pub fn kill9(&mut self, i: usize) {
        if self.members[i].stopped {
            self.cont(i);
        }
        if let Some(mut c) = self.members[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `kill -9` of every member at the same instant (signals first, then
    /// the waits).
    pub fn kill9_all(&mut self) {
        let pids: Vec<Pid> = (0..self.members.len())
            .filter_map(|i| self.pid(i))
            .collect();
        for pid in &pids {
            let _ = kill(*pid, Signal::SIGKILL);
        }
        for i in 0..self.members.len() {
            self.kill9(i);
        }
    }

    /// SIGTERM of member `i`, waiting up to 10 s for it to exit (then
    /// SIGKILL).
    pub fn term(&mut self, i: usize) {
        if let Some(pid) = self.pid(i) {
            let _ = kill(pid, Signal::SIGTERM);
        }
        let until = Instant::now() + Duration::from_secs(10);
        while self.running(i) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill9(i);
    }

    /// Freezes member `i` (SIGSTOP).
    pub fn stop(&mut self, i: usize) {
        if let Some(pid) = self.pid(i) {
            let _ = kill(pid, Signal::SIGSTOP);
            self.members[i].stopped = true;
        }
    }

    /// Thaws member `i` (SIGCONT).
    pub fn cont(&mut self, i: usize) {
        if let Some(pid) = self.pid(i) {
            let _ = kill(pid, Signal::SIGCONT);
        }
        self.members[i].stopped = false;
    }

    /// Sets member `i`'s wall-clock offset (libfaketime's syntax: `+600`,
    /// `-3600`, `+0`); a member not under libfaketime is left alone.
    pub fn set_clock(&self, i: usize, offset: &str) {
        if let Some(f) = &self.members[i].clock {
            let _ = fs::write(f, format!("{offset}\n"));
        }
    }

    /// Member `i`'s `srvr` mode (`leader`, `follower`, …), empty if it
    /// does not answer.
    pub fn mode(&self, i: usize) -> String {
        crate::four_letter(self.members[i].addr, "srvr")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("Mode: "))
            .unwrap_or_default()
            .to_owned()
    }

    /// The member that leads now, if one answers so.
    pub fn leader(&mut self) -> Option<usize> {
        (0..self.members.len()).find(|&i| {
            self.running(i)
                && !self.members[i].stopped
                && matches!(self.mode(i).as_str(), "leader" | "standalone")
        })
    }

    /// Waits until every member runs and serves and one leads.
    ///
    /// # Errors
    /// Not within `timeout`.
    pub fn wait_healthy(&mut self, timeout: Duration) -> Result<(), String> {
        let until = Instant::now() + timeout;
        loop {
            let serving = (0..self.members.len())
                .filter(|&i| {
                    let mode = self.mode(i);
                    matches!(mode.as_str(), "leader" | "follower" | "standalone")
                })
                .count();
            if serving == self.members.len() && self.leader().is_some() {
                return Ok(());
            }
            if Instant::now() > until {
                let modes: Vec<String> = (0..self.members.len()).map(|i| self.mode(i)).collect();
                return Err(format!("the ensemble is not healthy: modes {modes:?}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The election and heartbeat scale: `tickTime`.
    pub fn tick(&self) -> Duration {
        Duration::from_millis(self.tick_ms)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill9(i);
        }
    }
}
