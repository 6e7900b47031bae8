//! `compat-tests`: real ZooKeeper clients (kazoo, zkCli, the C client's
//! `cli_mt`) driven against Corral, and against a reference ZooKeeper 3.8 so
//! that every expectation is proven to be ZooKeeper's own. The wire-level
//! checks against traffic captured from a real ZooKeeper live in
//! `jute/tests/golden.rs`.
//!
//! # Harness
//!
//! - [`CorralServer`]: Corral in-process, on its own tokio runtime and
//!   thread, listening on `127.0.0.1:<OS-assigned port>`; stopped on drop.
//! - [`ZooKeeperServer`]: the Debian package's ZooKeeper 3.8 (the reference),
//!   started from its jars the way `jute/tests/golden/capture/zk-ref.sh`
//!   does; killed by PID on drop.
//! - [`run_with_timeout`] and [`ChildGuard`]: every subprocess is bounded by
//!   a timeout and killed by its PID when the guard drops, on failure too.
//!
//! The real clients come from Debian packages (`zookeeper`,
//! `zookeeper-bin`, `python3-kazoo`). A missing one is a test failure with a
//! message saying to run `bash .ci/run`, which installs them; nothing is
//! skipped.

#![deny(missing_docs)]

pub mod certs;
pub mod diff;
pub mod faults;
pub mod kdc;
/// The register checker the kill -9 tests use, shared with the fault harness.
#[path = "../../server/tests/common/linearizability.rs"]
pub mod linearizability;
pub mod membership;
pub mod suites;

use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

/// The interpreter that has Debian's kazoo (`python3-kazoo`); a `python3`
/// earlier on `PATH` (pyenv, venv) usually does not.
pub const PYTHON: &str = "/usr/bin/python3";
/// zkCli from the Debian `zookeeper` package.
pub const ZKCLI: &str = "/usr/share/zookeeper/bin/zkCli.sh";
/// The C client's shell from the Debian `zookeeper-bin` package.
pub const CLI_MT: &str = "/usr/lib/zookeeper/bin/cli_mt";
/// Where Debian installs ZooKeeper's jars and their dependencies.
pub const JAVA_DIR: &str = "/usr/share/java";

/// What to do when a prerequisite is missing.
pub const INSTALL_HINT: &str = "run `bash .ci/run` (it installs the Debian packages \
     zookeeper zookeeper-bin python3-kazoo netcat-openbsd default-jdk-headless \
     libcurator-recipes-java libcurator-framework-java libcurator-client-java that the \
     compatibility tests use)";

/// How long a ZooKeeper JVM may take to answer `ruok`.
const ZK_START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long Corral may take to stop once told to.
const CORRAL_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Panics with [`INSTALL_HINT`] unless `path` exists.
pub fn require_file(path: &str, what: &str) {
    assert!(
        Path::new(path).exists(),
        "{what} not found at {path}: {INSTALL_HINT}"
    );
}

/// The directory of this crate's client scripts (`compat-tests/clients`).
pub fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("clients")
}

/// A server a client can be pointed at.
pub trait Target {
    /// `127.0.0.1:<port>`.
    fn addr(&self) -> SocketAddr;
    /// Which server this is, for messages: `Corral` or `ZooKeeper 3.8`.
    fn name(&self) -> &'static str;
    /// Whatever helps to understand a failure (the server's log), if any.
    fn diagnostics(&self) -> String {
        String::new()
    }
    /// What a client is given to connect: `host:port`, or a list of them
    /// for an ensemble.
    fn connect_string(&self) -> String {
        self.addr().to_string()
    }
}

// ---------------------------------------------------------------------------
// Corral, in-process
// ---------------------------------------------------------------------------

/// Corral running in this process: `server::run` on a dedicated tokio
/// runtime in a background thread. Dropping it cancels the shutdown token
/// and waits (bounded) for the server to close every connection and return.
pub struct CorralServer {
    addr: SocketAddr,
    shutdown: CancellationToken,
    done: mpsc::Receiver<io::Result<()>>,
    thread: Option<JoinHandle<()>>,
    /// Owned by the server, or (`None`) by an ensemble that restarts it.
    data_dir: Option<TempDir>,
}

impl CorralServer {
    /// Starts Corral with `Config::for_tests` (TTL nodes on, 200 ms container
    /// checks) on `127.0.0.1:<OS-assigned port>`. The listener is bound
    /// before this returns, so clients can connect at once.
    ///
    /// # Panics
    /// If the runtime, the temporary data directory or the listener cannot
    /// be created.
    pub fn start() -> Self {
        let data_dir = tempfile::Builder::new()
            .prefix("corral-compat-")
            .tempdir()
            .expect("create Corral's temporary data directory");
        let config = server::Config::for_tests(data_dir.path().to_path_buf());
        let mut server = CorralServer::start_with(config, 0);
        server.data_dir = Some(data_dir);
        server
    }

    /// Starts Corral with `config` on `127.0.0.1:port` (0: any free port);
    /// the caller owns the data directory.
    ///
    /// # Panics
    /// If the runtime or the listener cannot be created.
    pub fn start_with(mut config: server::Config, port: u16) -> Self {
        init_logging();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("corral-compat")
            .enable_all()
            .build()
            .expect("build Corral's tokio runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)))
            .expect("bind Corral's listener on 127.0.0.1");
        let addr = listener.local_addr().expect("Corral listener address");
        config.client_addr = addr;
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let (tx, done) = mpsc::channel();
        let thread = thread::Builder::new()
            .name(format!("corral-{}", addr.port()))
            .spawn(move || {
                let result = runtime.block_on(server::run(config, listener, token));
                // Drop the runtime (and everything still on it) before
                // reporting that the server is gone.
                drop(runtime);
                let _ = tx.send(result);
            })
            .expect("spawn Corral's server thread");
        CorralServer {
            addr,
            shutdown,
            done,
            thread: Some(thread),
            data_dir: None,
        }
    }
}

/// A Corral ensemble in this process: `n` members, each `server::run` on
/// its own runtime with its own client port, quorum port and data
/// directory (under one temporary directory, so a member can be stopped
/// and started again on its data). Clients get every member's address
/// ([`Target::connect_string`]) and spread over them.
pub struct CorralEnsemble {
    members: Vec<Option<CorralServer>>,
    /// Each member's AdminServer (`/commands`, `/ready`, `/metrics`).
    pub admin: Vec<SocketAddr>,
    configs: Vec<server::Config>,
    ports: Vec<u16>,
    root: Option<TempDir>,
}

impl CorralEnsemble {
    /// Starts `n` voting members and waits until every one serves.
    ///
    /// # Panics
    /// If a member cannot start or the ensemble does not settle in 60 s.
    pub fn start(n: u64) -> Self {
        Self::start_with(n, |_| {})
    }

    /// As [`CorralEnsemble::start`], with `tweak` applied to every
    /// member's configuration.
    ///
    /// # Panics
    /// If a member cannot start or the ensemble does not settle in 60 s.
    pub fn start_with(n: u64, tweak: impl Fn(&mut server::Config)) -> Self {
        let root = tempfile::Builder::new()
            .prefix("corral-ensemble-")
            .tempdir()
            .expect("create the ensemble's temporary directory");
        let lines: Vec<server::ServerLine> = (1..=n)
            .map(|id| {
                server::parse_server_line(id, &format!("127.0.0.1:{}:{}", free_port(), free_port()))
                    .expect("a server line")
            })
            .collect();
        let mut configs = Vec::new();
        let mut ports = Vec::new();
        let mut admin = Vec::new();
        for id in 1..=n {
            let dir = root.path().join(format!("m{id}"));
            let mut config = server::Config::for_tests(dir);
            config.server_id = u8::try_from(id).expect("a small id");
            config.servers = lines.clone();
            let admin_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
            config.admin_addr = Some(admin_addr);
            tweak(&mut config);
            admin.push(admin_addr);
            configs.push(config);
            ports.push(free_port());
        }
        let mut e = CorralEnsemble {
            members: Vec::new(),
            admin,
            configs,
            ports,
            root: Some(root),
        };
        for i in 0..e.configs.len() {
            let m = CorralServer::start_with(e.configs[i].clone(), e.ports[i]);
            e.members.push(Some(m));
        }
        e.wait_serving();
        e
    }

    /// The members' client addresses.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.ports
            .iter()
            .map(|p| SocketAddr::from((Ipv4Addr::LOCALHOST, *p)))
            .collect()
    }

    /// Each member's `Mode` by `srvr` (or why not).
    pub fn modes(&self) -> Vec<String> {
        self.addrs()
            .into_iter()
            .map(|a| match four_letter(a, "srvr") {
                Ok(out) => out
                    .lines()
                    .find_map(|l| l.strip_prefix("Mode: "))
                    .unwrap_or("not serving")
                    .to_owned(),
                Err(e) => format!("unreachable: {e}"),
            })
            .collect()
    }

    /// Waits until one member leads and every other follows.
    ///
    /// # Panics
    /// After 60 s without that.
    pub fn wait_serving(&self) {
        let settled = poll_until(Duration::from_secs(60), || {
            let modes = self.modes();
            let leaders = modes.iter().filter(|m| *m == "leader").count();
            let followers = modes.iter().filter(|m| *m == "follower").count();
            (leaders == 1 && leaders + followers == modes.len()).then_some(())
        });
        assert!(
            settled.is_some(),
            "the ensemble did not settle: {:?}",
            self.modes()
        );
    }

    /// Stops member `i` (its connections close; its clients move to the
    /// others), starts it again on its data, and waits for the ensemble.
    ///
    /// # Panics
    /// If it does not stop or come back.
    pub fn restart(&mut self, i: usize) {
        drop(self.members[i].take());
        let m = CorralServer::start_with(self.configs[i].clone(), self.ports[i]);
        self.members[i] = Some(m);
        self.wait_serving();
    }

    /// Stops member `i` (its connections close).
    pub fn stop(&mut self, i: usize) {
        drop(self.members[i].take());
    }

    /// Starts a stopped member `i` again on its data, without waiting.
    ///
    /// # Panics
    /// If it cannot start.
    pub fn start_member(&mut self, i: usize) {
        if self.members[i].is_none() {
            let m = CorralServer::start_with(self.configs[i].clone(), self.ports[i]);
            self.members[i] = Some(m);
        }
    }

    /// Member `i`'s configuration.
    pub fn config_mut_ref(&self, i: usize) -> &server::Config {
        &self.configs[i]
    }

    /// Member `i`'s configuration, to change before it starts again.
    pub fn config_mut(&mut self, i: usize) -> &mut server::Config {
        &mut self.configs[i]
    }

    /// The index of the current leader, if one is known.
    pub fn leader(&self) -> Option<usize> {
        self.modes().iter().position(|m| m == "leader")
    }

    /// Starts a new member, `server.<id>` with client port `client_port`,
    /// configured as ZooKeeper's documentation has a joining server
    /// configured: the first member's settings, the ensemble's `server.N`
    /// lines and its own. It waits to be added by `reconfig`; returns its
    /// line as `reconfig` takes it (`server.<id>=…;127.0.0.1:<port>`).
    ///
    /// # Panics
    /// If it cannot start.
    pub fn start_joiner(&mut self, id: u64, client_port: u16, role: &str) -> String {
        let value = format!(
            "127.0.0.1:{}:{}:{role};127.0.0.1:{client_port}",
            free_port(),
            free_port()
        );
        let line = server::parse_server_line(id, &value).expect("a server line");
        let root = self.root.as_ref().expect("the ensemble's directory");
        let mut config = self.configs[0].clone();
        config.data_dir = root.path().join(format!("m{id}"));
        config.server_id = u8::try_from(id).expect("a small id");
        config.servers.push(line);
        let admin_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        config.admin_addr = Some(admin_addr);
        let m = CorralServer::start_with(config.clone(), client_port);
        self.members.push(Some(m));
        self.configs.push(config);
        self.ports.push(client_port);
        self.admin.push(admin_addr);
        format!("server.{id}={value}")
    }
}

/// One member of a [`CorralEnsemble`] as a target of its own: clients given
/// only its address.
pub struct EnsembleMember {
    addr: SocketAddr,
}

impl Target for EnsembleMember {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn name(&self) -> &'static str {
        "one member of a Corral ensemble"
    }
}

impl CorralEnsemble {
    /// Member `i` alone, for a suite whose clients must share a server
    /// (ZooKeeper guarantees one session's view of another's writes only
    /// after a `sync`, or on the same server).
    pub fn member(&self, i: usize) -> EnsembleMember {
        EnsembleMember {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, self.ports[i])),
        }
    }
}

impl Target for CorralEnsemble {
    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.ports[0]))
    }
    fn name(&self) -> &'static str {
        "a 3-member Corral ensemble"
    }
    fn connect_string(&self) -> String {
        self.addrs()
            .iter()
            .map(SocketAddr::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Drop for CorralEnsemble {
    fn drop(&mut self) {
        for m in &mut self.members {
            drop(m.take());
        }
        if let Some(dir) = self.root.take() {
            keep_if_panicking(dir, "Corral ensemble directory");
        }
    }
}

impl CorralServer {
    /// `127.0.0.1:<port>` (also [`Target::addr`]).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Target for CorralServer {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn name(&self) -> &'static str {
        "Corral"
    }
}

impl Drop for CorralServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
        let outcome = match self.done.recv_timeout(CORRAL_STOP_TIMEOUT) {
            Ok(result) => {
                if let Some(t) = self.thread.take() {
                    let _ = t.join();
                }
                result.map_err(|e| format!("server::run returned an error: {e}"))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
                "Corral on {} did not stop within {CORRAL_STOP_TIMEOUT:?} of its shutdown token \
                 being cancelled (its thread is left behind)",
                self.addr
            )),
            // The thread panicked before reporting.
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let panicked = self.thread.take().map(JoinHandle::join);
                Err(format!("Corral's server thread died: {panicked:?}"))
            }
        };
        if let Some(dir) = self.data_dir.take() {
            keep_if_panicking(dir, "Corral data directory");
        }
        if let Err(msg) = outcome {
            if thread::panicking() {
                eprintln!("{msg}");
            } else {
                panic!("{msg}");
            }
        }
    }
}

/// Logs Corral's `tracing` output to the test's output when `CORRAL_LOG` is
/// set (an `EnvFilter`, e.g. `CORRAL_LOG=debug`).
fn init_logging() {
    if std::env::var_os("CORRAL_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_env("CORRAL_LOG"))
            .with_test_writer()
            .try_init();
    }
}

// ---------------------------------------------------------------------------
// The reference ZooKeeper
// ---------------------------------------------------------------------------

/// A real ZooKeeper 3.8 (Debian's jars), standalone, on
/// `127.0.0.1:<free port>` with its data in a temporary directory, started
/// as `jute/tests/golden/capture/zk-ref.sh` does. Killed by PID on drop.
pub struct ZooKeeperServer {
    addr: SocketAddr,
    dir: Option<TempDir>,
    child: ChildGuard,
    /// The JVM's command line, to start it again on the same files.
    launch: Vec<std::ffi::OsString>,
}

impl ZooKeeperServer {
    /// Starts the reference server and waits (polling, bounded) until it
    /// answers `ruok` with `imok` and `srvr` reports a mode.
    ///
    /// # Panics
    /// If Java or the jars are missing (with [`INSTALL_HINT`]), or the
    /// server does not come up; the message includes its logs.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// As [`ZooKeeperServer::start`], with extra `zoo.cfg` lines.
    pub fn start_with(extra_cfg: &[&str]) -> Self {
        let jar = format!("{JAVA_DIR}/zookeeper.jar");
        require_file(&jar, "ZooKeeper's jar (Debian package zookeeper)");
        require_file(
            "/usr/bin/java",
            "java (a dependency of the Debian package zookeeper)",
        );
        // A port picked by binding :0 can be taken by someone else before
        // the JVM binds it; then the JVM exits and we try another.
        let mut last_err = String::new();
        for _ in 0..3 {
            match Self::try_start(extra_cfg) {
                Ok(zk) => return zk,
                Err(e) => last_err = e,
            }
        }
        panic!("the reference ZooKeeper did not start: {last_err}");
    }

    fn try_start(extra_cfg: &[&str]) -> Result<Self, String> {
        let mut zk = Self::spawn_member(1, free_port(), extra_cfg)?;
        zk.wait_up(Instant::now() + ZK_START_TIMEOUT)?;
        Ok(zk)
    }

    /// Writes the member's files (`myid`, zoo.cfg with `extra_cfg` last,
    /// log4j at INFO) and starts its JVM, without waiting for it.
    fn spawn_member(myid: u64, port: u16, extra_cfg: &[&str]) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("zk-ref-")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        let root = dir.path();
        let data = root.join("data");
        fs::create_dir_all(&data).map_err(|e| e.to_string())?;
        fs::write(data.join("myid"), format!("{myid}\n")).map_err(|e| e.to_string())?;
        let mut cfg = format!(
            "tickTime=2000\n\
             dataDir={}\n\
             clientPort={port}\n\
             clientPortAddress=127.0.0.1\n\
             maxClientCnxns=0\n\
             4lw.commands.whitelist=*\n\
             extendedTypesEnabled=true\n\
             admin.enableServer=false\n",
            data.display()
        );
        // `-D…` lines are JVM system properties (some of ZooKeeper's
        // settings, such as `readonlymode.enabled`, are read only there).
        let mut props: Vec<String> = Vec::new();
        for line in extra_cfg {
            if line.starts_with("-D") {
                props.push((*line).to_owned());
                continue;
            }
            cfg.push_str(line);
            cfg.push('\n');
        }
        let cfg_path = root.join("zoo.cfg");
        fs::write(&cfg_path, cfg).map_err(|e| e.to_string())?;
        let log = root.join("zk.log");
        let log4j = root.join("log4j.properties");
        fs::write(
            &log4j,
            format!(
                "log4j.rootLogger=INFO, FILE\n\
                 log4j.appender.FILE=org.apache.log4j.FileAppender\n\
                 log4j.appender.FILE.File={}\n\
                 log4j.appender.FILE.Append=false\n\
                 log4j.appender.FILE.Threshold=INFO\n\
                 log4j.appender.FILE.layout=org.apache.log4j.PatternLayout\n\
                 log4j.appender.FILE.layout.ConversionPattern=%d{{ISO8601}} - %-5p [%t:%C{{1}}@%L] - %m%n\n",
                log.display()
            ),
        )
        .map_err(|e| e.to_string())?;

        // zookeeper.jar's manifest pulls in its other dependencies; slf4j is
        // bound to log4j 1.2 explicitly so the log goes to zk.log at INFO.
        let mut cp = format!("{JAVA_DIR}/zookeeper.jar:{JAVA_DIR}/zookeeper-jute.jar");
        for jar in [
            "slf4j-api.jar",
            "slf4j-log4j12.jar",
            "log4j-1.2.jar",
            "servlet-api.jar",
            // NettyServerCnxnFactory, for the secure client port (Debian's
            // netty-all.jar is an empty aggregate: the parts themselves).
            "netty-buffer.jar",
            "netty-codec.jar",
            "netty-common.jar",
            "netty-handler.jar",
            "netty-resolver.jar",
            "netty-transport.jar",
            "netty-transport-native-unix-common.jar",
            "netty-transport-native-epoll.jar",
        ] {
            let p = format!("{JAVA_DIR}/{jar}");
            if Path::new(&p).exists() {
                cp.push(':');
                cp.push_str(&p);
            }
        }
        let launch: Vec<std::ffi::OsString> = [
            "-Xmx1000m".to_owned(),
            "-XX:TieredStopAtLevel=1".to_owned(),
            "-XX:+UseSerialGC".to_owned(),
            "-cp".to_owned(),
            cp,
            "-Dznode.container.checkIntervalMs=1000".to_owned(),
            format!("-Dlog4j.configuration=file:{}", log4j.display()),
            format!("-Dzookeeper.log.dir={}", root.display()),
            "-Dzookeeper.root.logger=INFO,FILE".to_owned(),
            "-Dzookeeper.jmx.log4j.disable=true".to_owned(),
        ]
        .into_iter()
        .chain(props)
        .chain([
            "org.apache.zookeeper.server.quorum.QuorumPeerMain".to_owned(),
            cfg_path.display().to_string(),
        ])
        .map(Into::into)
        .collect();
        let child = Self::launch(root, &launch)?;
        Ok(ZooKeeperServer {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            dir: Some(dir),
            child,
            launch,
        })
    }

    /// Starts the JVM with `args`, its output appended to `zk.out`.
    fn launch(root: &Path, args: &[std::ffi::OsString]) -> Result<ChildGuard, String> {
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(root.join("zk.out"))
            .map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new("/usr/bin/java")
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("spawn java: {e}"))?;
        Ok(ChildGuard::new(child, "reference ZooKeeper"))
    }

    /// Kills the server (its data stays).
    pub fn stop(&mut self) {
        self.child.kill();
    }

    /// Starts a stopped server again on its data and configuration,
    /// without waiting for it.
    ///
    /// # Panics
    /// If the JVM cannot be started.
    pub fn start_again(&mut self) {
        let root = self.dir.as_ref().map(|d| d.path().to_path_buf());
        let root = root.expect("the server's directory");
        self.child = Self::launch(&root, &self.launch).expect("restart the reference ZooKeeper");
    }

    /// Waits until the server answers `imok` and `srvr` reports a mode
    /// (for an ensemble member: once a quorum has formed).
    fn wait_up(&mut self, deadline: Instant) -> Result<(), String> {
        let zk = self;
        loop {
            if let Some(status) = zk.child.try_wait() {
                return Err(format!(
                    "the JVM exited early ({status}); {}",
                    zk.log_tail()
                ));
            }
            let imok = four_letter(zk.addr, "ruok").is_ok_and(|a| a == "imok");
            if imok
                && four_letter(zk.addr, "srvr")
                    .is_ok_and(|a| a.lines().any(|l| l.starts_with("Mode:")))
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("no `imok` and mode in time; {}", zk.log_tail()));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// The end of the server's log and its stdout/stderr, for messages.
    fn log_tail(&self) -> String {
        let Some(dir) = self.dir.as_ref() else {
            return String::new();
        };
        let out = fs::read_to_string(dir.path().join("zk.out")).unwrap_or_default();
        let log = fs::read_to_string(dir.path().join("zk.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "JVM output:\n{out}\nlast lines of zk.log:\n{}",
            tail.join("\n")
        )
    }
}

impl ZooKeeperServer {
    /// `127.0.0.1:<port>` (also [`Target::addr`]).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its `dataDir` (snapshots and logs under `version-2`).
    ///
    /// # Panics
    /// Never: the directory lives as long as the server.
    pub fn data_dir(&self) -> PathBuf {
        self.dir
            .as_ref()
            .expect("the server's directory")
            .path()
            .join("data")
    }

    /// Its log so far (`zk.log`).
    pub fn log(&self) -> String {
        self.dir
            .as_ref()
            .and_then(|d| fs::read_to_string(d.path().join("zk.log")).ok())
            .unwrap_or_default()
    }
}

impl Target for ZooKeeperServer {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn name(&self) -> &'static str {
        "ZooKeeper 3.8 (reference)"
    }
    fn diagnostics(&self) -> String {
        self.log_tail()
    }
}

impl Drop for ZooKeeperServer {
    fn drop(&mut self) {
        self.child.kill();
        if let Some(dir) = self.dir.take() {
            keep_if_panicking(dir, "reference ZooKeeper directory (zoo.cfg, zk.log)");
        }
    }
}

/// A reference ZooKeeper 3.8 ensemble: `n` voting members on loopback,
/// each a [`ZooKeeperServer`] with its own directory, client port and
/// AdminServer port. Killed by PID on drop.
pub struct ZooKeeperEnsemble {
    /// The members, by `myid` - 1.
    pub members: Vec<ZooKeeperServer>,
    /// Their AdminServers, in the same order.
    pub admin: Vec<SocketAddr>,
    /// The `server.N` lines it started with, and the extra lines.
    lines: Vec<String>,
    extra_cfg: Vec<String>,
}

impl ZooKeeperEnsemble {
    /// Starts `n` members at once and waits until each serves (a quorum
    /// formed).
    ///
    /// # Panics
    /// If they do not come up (after three tries with fresh ports).
    pub fn start(n: u64) -> Self {
        Self::start_with(n, &[])
    }

    /// As [`ZooKeeperEnsemble::start`], with extra `zoo.cfg` lines.
    ///
    /// # Panics
    /// If they do not come up (after three tries with fresh ports).
    pub fn start_with(n: u64, extra_cfg: &[&str]) -> Self {
        let mut last_err = String::new();
        for _ in 0..3 {
            match Self::try_start(n, extra_cfg) {
                Ok(e) => return e,
                Err(e) => last_err = e,
            }
        }
        panic!("the reference ZooKeeper ensemble did not start: {last_err}");
    }

    fn try_start(n: u64, extra_cfg: &[&str]) -> Result<Self, String> {
        let lines: Vec<String> = (1..=n)
            .map(|id| format!("server.{id}=127.0.0.1:{}:{}", free_port(), free_port()))
            .collect();
        let mut e = ZooKeeperEnsemble {
            members: Vec::new(),
            admin: Vec::new(),
            lines,
            extra_cfg: extra_cfg.iter().map(|l| (*l).to_owned()).collect(),
        };
        for id in 1..=n {
            e.spawn(id, free_port(), None)?;
        }
        let deadline = Instant::now() + ZK_START_TIMEOUT * 2;
        for m in &mut e.members {
            m.wait_up(deadline)?;
        }
        Ok(e)
    }

    /// Starts member `id` with the ensemble's lines (and `own`, a line of
    /// its own), without waiting.
    fn spawn(&mut self, id: u64, port: u16, own: Option<&str>) -> Result<(), String> {
        let admin_port = free_port();
        let mut cfg: Vec<String> = vec![
            "initLimit=10".into(),
            "syncLimit=5".into(),
            "admin.enableServer=true".into(),
            "admin.serverAddress=127.0.0.1".into(),
            format!("admin.serverPort={admin_port}"),
        ];
        cfg.extend(self.lines.iter().cloned());
        cfg.extend(own.map(str::to_owned));
        cfg.extend(self.extra_cfg.iter().cloned());
        let cfg: Vec<&str> = cfg.iter().map(String::as_str).collect();
        self.members
            .push(ZooKeeperServer::spawn_member(id, port, &cfg)?);
        self.admin
            .push(SocketAddr::from((Ipv4Addr::LOCALHOST, admin_port)));
        Ok(())
    }

    /// Starts a new member, `server.<id>` with client port `client_port`,
    /// configured as ZooKeeper's documentation has a joining server
    /// configured (the ensemble's lines and its own); it syncs with the
    /// leader as a non-voting follower until `reconfig` adds it. Returns
    /// its line as `reconfig` takes it.
    ///
    /// # Panics
    /// If its JVM cannot start.
    pub fn start_joiner(&mut self, id: u64, client_port: u16, role: &str) -> String {
        let line = format!(
            "server.{id}=127.0.0.1:{}:{}:{role};127.0.0.1:{client_port}",
            free_port(),
            free_port()
        );
        self.spawn(id, client_port, Some(&line))
            .expect("start a joining ZooKeeper");
        line
    }

    /// Each voter's `server.N` line as `N=host:quorumPort:electionPort`.
    pub fn voter_lines(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|l| l.trim_start_matches("server.").to_owned())
            .collect()
    }

    /// Every member's client address, comma-separated.
    pub fn connect_string(&self) -> String {
        self.members
            .iter()
            .map(|m| m.addr.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Each member's `Mode` by `srvr`.
    pub fn modes(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|m| {
                four_letter(m.addr, "srvr")
                    .unwrap_or_default()
                    .lines()
                    .find_map(|l| l.strip_prefix("Mode: "))
                    .unwrap_or("not serving")
                    .to_owned()
            })
            .collect()
    }
}

/// A port on 127.0.0.1 that nothing holds and that no other socket will
/// take before the server it is meant for binds it (servers started side
/// by side, say a Corral and a ZooKeeper ensemble, bind their ports a
/// while after asking).
pub fn free_port() -> u16 {
    consensus::network::unused_port()
}

/// Sends a four-letter word on a fresh connection and returns the whole
/// answer (the server closes after answering). Bounded by 5 s.
///
/// # Errors
/// Connection or I/O errors, including the timeout.
pub fn four_letter(addr: SocketAddr, word: &str) -> io::Result<String> {
    let t = Duration::from_secs(5);
    let mut s = TcpStream::connect_timeout(&addr, t)?;
    s.set_read_timeout(Some(t))?;
    s.set_write_timeout(Some(t))?;
    s.write_all(word.as_bytes())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// `GET path` over HTTP/1.0 on a fresh connection: the status code and
/// the body. Bounded by 10 s.
///
/// # Errors
/// Connection or I/O errors, including the timeout, or a response that is
/// not HTTP.
pub fn http_get(addr: SocketAddr, path: &str) -> io::Result<(u16, String)> {
    let t = Duration::from_secs(10);
    let mut s = TcpStream::connect_timeout(&addr, t)?;
    s.set_read_timeout(Some(t))?;
    s.set_write_timeout(Some(t))?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let bad = || io::Error::new(io::ErrorKind::InvalidData, format!("not HTTP: {text:?}"));
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(bad)?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(bad)?;
    Ok((status, body.to_owned()))
}

/// An HTTP reply: status, headers (names lower-cased) and body bytes.
#[derive(Debug)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// The headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpReply {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    ///
    /// # Panics
    /// If it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// An HTTP/1.0 request with `headers` and `body` (bounded in time).
///
/// # Errors
/// If the server cannot be reached or does not answer HTTP.
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<HttpReply> {
    let t = Duration::from_secs(30);
    let mut s = TcpStream::connect_timeout(&addr, t)?;
    s.set_read_timeout(Some(t))?;
    s.set_write_timeout(Some(t))?;
    let mut req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "not an HTTP reply");
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let body = buf[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(bad)?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(HttpReply {
        status,
        headers,
        body,
    })
}

/// Maps whose keys are data (session ids, paths, server ids, times): only
/// their values' shape is compared.
pub const DATA_KEYED: [&str; 5] = [
    "expiry_time_to_session_ids",
    "session_id_to_ephemeral_paths",
    "session_id_to_watched_paths",
    "path_to_session_ids",
    "current_config",
];

/// A JSON value's shape: objects by key (data-keyed ones as one `<key>`),
/// arrays by their first element, scalars by type (`"number"`,
/// `"string"`, …): two answers with the same shape have the same keys,
/// nested alike, with values of the same JSON types.
pub fn json_shape(v: &serde_json::Value, data_keyed: bool) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, x) in m {
                let key = if data_keyed {
                    "<key>".to_owned()
                } else {
                    k.clone()
                };
                out.insert(key, json_shape(x, DATA_KEYED.contains(&k.as_str())));
            }
            serde_json::Value::Object(out)
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(
            a.first()
                .map(|x| json_shape(x, false))
                .into_iter()
                .collect(),
        ),
        serde_json::Value::Number(_) => "number".into(),
        serde_json::Value::String(_) => "string".into(),
        serde_json::Value::Bool(_) => "bool".into(),
        serde_json::Value::Null => "null".into(),
    }
}

/// `GET /commands/<name>` from an AdminServer, parsed.
///
/// # Panics
/// If it does not answer 200 with JSON.
pub fn admin_command(admin: SocketAddr, name: &str) -> serde_json::Value {
    let (status, body) = http_get(admin, &format!("/commands/{name}"))
        .unwrap_or_else(|e| panic!("GET /commands/{name} on {admin}: {e}"));
    assert_eq!(status, 200, "/commands/{name}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("/commands/{name}: {e}: {body}"))
}

/// Each line's key (text before the first `:`) and the kind of its value
/// (`hex`, `numbers` — one or several separated by `/` — or `text`): the
/// shape of a `srvr` or `stat` answer, values aside.
pub fn line_shape(text: &str) -> Vec<(String, &'static str)> {
    text.lines()
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap_or((l, ""));
            let v = v.trim();
            let kind = if v.starts_with("0x") {
                "hex"
            } else if !v.is_empty() && v.split('/').all(|p| p.parse::<f64>().is_ok()) {
                "numbers"
            } else {
                "text"
            };
            (k.to_owned(), kind)
        })
        .collect()
}

/// Asserts that every key of Corral's AdminServer `monitor` answer is one
/// of ZooKeeper's, with a value of the same JSON type.
///
/// # Panics
/// On the first key that is not.
pub fn assert_monitor_subset(ours: &serde_json::Value, theirs: &serde_json::Value, what: &str) {
    let (Some(a), Some(b)) = (ours.as_object(), theirs.as_object()) else {
        panic!("{what}: monitor answers are not objects: {ours} / {theirs}");
    };
    for (k, v) in a {
        let t = b
            .get(k)
            .unwrap_or_else(|| panic!("{what} monitor: {k} is not ZooKeeper's"));
        assert_eq!(
            json_shape(v, false),
            json_shape(t, false),
            "{what} monitor {k}: {v} vs {t}"
        );
    }
}

/// Keeps a temporary directory for inspection when the test is failing.
fn keep_if_panicking(dir: TempDir, what: &str) {
    if thread::panicking() {
        let path = dir.keep();
        eprintln!("{what} kept for inspection: {}", path.display());
    }
}

// ---------------------------------------------------------------------------
// Subprocesses
// ---------------------------------------------------------------------------

/// Owns a child process and kills it (by its PID, via `Child::kill`) and
/// reaps it when dropped, so no subprocess outlives its test.
///
/// A child spawned as the leader of its own process group (see
/// [`spawn_group`]) is killed with its whole group (`kill -KILL -- -PID`):
/// wrapper scripts such as `zkCli.sh` run `java` without `exec`, and killing
/// only the shell would leave the JVM behind.
pub struct ChildGuard {
    child: Child,
    what: String,
    group: bool,
    exited: Option<ExitStatus>,
}

/// Spawns `cmd` as the leader of a new process group, so that a
/// [`ChildGuard`] can kill it together with its descendants.
///
/// # Errors
/// As `Command::spawn`.
pub fn spawn_group(cmd: &mut Command, what: impl Into<String>) -> io::Result<ChildGuard> {
    use std::os::unix::process::CommandExt;
    let child = cmd.process_group(0).spawn()?;
    Ok(ChildGuard {
        child,
        what: what.into(),
        group: true,
        exited: None,
    })
}

impl ChildGuard {
    /// Guards `child`; `what` names it in messages.
    pub fn new(child: Child, what: impl Into<String>) -> Self {
        ChildGuard {
            child,
            what: what.into(),
            group: false,
            exited: None,
        }
    }

    /// The child's PID.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the child has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    /// Kills the child by PID (if still running) and reaps it. A running
    /// group leader is killed with its group (named by the leader's PID,
    /// which cannot be reused before we reap the leader).
    pub fn kill(&mut self) {
        if self.try_wait().is_none() {
            if self.group {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", self.child.id())])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
            let _ = self.child.kill();
            self.exited = self.child.wait().ok();
        }
    }

    /// Waits for the child to exit, polling until `deadline`; `None` if it
    /// is still running then (it is not killed).
    pub fn wait_until(&mut self, deadline: Instant) -> Option<ExitStatus> {
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The child's handles (stdin, stdout, stderr), to take.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if self.try_wait().is_none() {
            eprintln!("killing {} (pid {})", self.what, self.child.id());
        }
        self.kill();
    }
}

/// What a bounded subprocess did.
#[derive(Debug)]
pub struct Finished {
    /// Exit status; `None` if it was killed at the timeout.
    pub status: Option<ExitStatus>,
    /// Everything it wrote to stdout.
    pub stdout: String,
    /// Everything it wrote to stderr.
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

impl Finished {
    /// True if it exited by itself with status 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Both streams, for failure messages.
    pub fn transcript(&self) -> String {
        format!(
            "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status
                .map_or_else(|| "killed at the timeout".to_owned(), |s| s.to_string()),
            self.stdout,
            self.stderr
        )
    }
}

/// Runs `cmd` with `stdin` as its input, collecting stdout and stderr. If it
/// has not exited after `timeout` it is killed (by PID) and `status` is
/// `None`; it is killed too if this panics.
///
/// # Panics
/// If the command cannot be spawned.
pub fn run_with_timeout(mut cmd: Command, stdin: &[u8], timeout: Duration) -> Finished {
    let started = Instant::now();
    let what = format!("{cmd:?}");
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut guard =
        spawn_group(&mut cmd, what.clone()).unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let input = guard.child_mut().stdin.take();
    let input = input.map(|mut pipe| {
        let bytes = stdin.to_vec();
        // Written from a thread so a child that does not read cannot block
        // us; the pipe closes when the thread ends (EOF for the child).
        thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    });
    let out = guard.child_mut().stdout.take().map(drain);
    let err = guard.child_mut().stderr.take().map(drain);
    let status = guard.wait_until(started + timeout);
    if status.is_none() {
        guard.kill();
    }
    let collect = |h: Option<JoinHandle<Vec<u8>>>| {
        h.and_then(|h| h.join().ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let stdout = collect(out);
    let stderr = collect(err);
    if let Some(t) = input {
        let _ = t.join();
    }
    Finished {
        status,
        stdout,
        stderr,
        elapsed: started.elapsed(),
    }
}

/// Reads a pipe to its end on a thread.
fn drain<R: Read + Send + 'static>(mut r: R) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// Polls `f` every 20 ms until it returns `Some` or `timeout` passes.
pub fn poll_until<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Panics with [`INSTALL_HINT`] unless [`PYTHON`] can import kazoo.
pub fn require_kazoo() {
    require_file(PYTHON, "Debian's python3");
    let mut cmd = Command::new(PYTHON);
    cmd.args(["-c", "import kazoo.client"]);
    let out = run_with_timeout(cmd, b"", Duration::from_secs(30));
    assert!(
        out.success(),
        "kazoo is not importable by {PYTHON} (Debian package python3-kazoo): {INSTALL_HINT}\n{}",
        out.transcript()
    );
}

/// A line-oriented conversation with an interactive subprocess (a client
/// shell): commands go to its stdin, its stdout and stderr lines are merged
/// and read back, and every wait is bounded. The process (and its group) is
/// killed when this drops.
pub struct Conversation {
    child: ChildGuard,
    stdin: Option<std::process::ChildStdin>,
    lines: mpsc::Receiver<String>,
    /// Every line read so far, for failure messages.
    pub transcript: Vec<String>,
}

impl Conversation {
    /// Starts `cmd` with piped stdin, stdout and stderr.
    ///
    /// # Panics
    /// If it cannot be spawned.
    pub fn start(mut cmd: Command, what: &str) -> Self {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn_group(&mut cmd, what).unwrap_or_else(|e| panic!("spawn {what}: {e}"));
        let (tx, lines) = mpsc::channel();
        let out = child
            .child_mut()
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let err = child
            .child_mut()
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        for pipe in [out, err].into_iter().flatten() {
            let tx = tx.clone();
            thread::spawn(move || {
                use std::io::BufRead;
                for line in io::BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stdin = child.child_mut().stdin.take();
        Conversation {
            child,
            stdin,
            lines,
            transcript: Vec::new(),
        }
    }

    /// Writes one line to the process's stdin.
    ///
    /// # Errors
    /// If the pipe is closed.
    pub fn send(&mut self, line: &str) -> io::Result<()> {
        self.transcript.push(format!(">> {line}"));
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "stdin closed"))?;
        stdin.write_all(line.as_bytes())?;
        stdin.write_all(b"\n")?;
        stdin.flush()
    }

    /// Reads lines until one satisfies `pred`, waiting at most `timeout`;
    /// returns the lines read, the matching one last.
    ///
    /// # Errors
    /// A message with the transcript if no line matched in time or the
    /// process closed its output.
    pub fn expect(
        &mut self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&str) -> bool,
    ) -> Result<Vec<String>, String> {
        let deadline = Instant::now() + timeout;
        let mut read = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.transcript.push(line.clone());
                    let hit = pred(&line);
                    read.push(line);
                    if hit {
                        return Ok(read);
                    }
                }
                Err(e) => {
                    let why = match e {
                        mpsc::RecvTimeoutError::Timeout => format!("not within {timeout:?}"),
                        mpsc::RecvTimeoutError::Disconnected => {
                            "the process closed its output".to_owned()
                        }
                    };
                    return Err(format!(
                        "expected {what}: {why}; transcript so far:\n{}",
                        self.transcript.join("\n")
                    ));
                }
            }
        }
    }

    /// Closes stdin and waits (bounded) for the process to exit.
    ///
    /// # Errors
    /// If it has not exited by the deadline (it is then killed on drop).
    pub fn finish(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        self.stdin = None;
        self.child
            .wait_until(Instant::now() + timeout)
            .ok_or_else(|| format!("the process did not exit within {timeout:?}"))
    }
}
