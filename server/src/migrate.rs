//! `corral import` and `corral export`: moving a tree between ZooKeeper's
//! files and a Corral data directory, offline. The formats and the replay
//! are `storage::zookeeper`'s; this is the command around them: the
//! progress bar, the checks of the directories, seeding Raft, and the
//! verification of what was written. See `docs/migration.md`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use storage::Store;
use storage::zookeeper::{self, Progress};

use crate::Config;

/// What `corral import` reads.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// ZooKeeper's `dataDir` (its snapshots; `version-2` under it, or
    /// `version-2` itself).
    #[arg(long)]
    pub zookeeper_data_dir: PathBuf,
    /// ZooKeeper's `dataLogDir` (its transaction logs), if not `dataDir`.
    #[arg(long)]
    pub zookeeper_log_dir: Option<PathBuf>,
    /// Drop a torn last record of a log, as ZooKeeper does on restart,
    /// instead of stopping.
    #[arg(long)]
    pub accept_truncated_tail: bool,
}

/// Where `corral export` writes.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// The new ZooKeeper `dataDir`: `version-2/snapshot.<zxid>` is written
    /// under it (it must not hold ZooKeeper files already).
    #[arg(long)]
    pub to: PathBuf,
}

/// What an import did.
#[derive(Debug)]
pub struct ImportReport {
    /// The restore's own account.
    pub nodes: usize,
    /// Sessions imported.
    pub sessions: usize,
    /// The last zxid imported.
    pub last_zxid: i64,
    /// The tree's digest, as stored and read back.
    pub digest: i64,
    /// ZooKeeper's digests compared.
    pub digests_checked: u64,
    /// Wall time.
    pub elapsed: std::time::Duration,
}

fn bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr_with_hz(4),
    );
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {prefix:>10} [{bar:30}] {bytes}/{total_bytes} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

fn inside(child: &Path, parent: &Path) -> bool {
    match (child.canonicalize(), parent.canonicalize()) {
        (Ok(c), Ok(p)) => c.starts_with(p),
        _ => false,
    }
}

/// `corral import`: reads ZooKeeper's directories into the data directory
/// of `config` (which must be empty), then reopens what was written and
/// checks it against the tree read.
///
/// # Errors
/// A message for the operator: what failed, in which file, at which offset.
pub fn import(config: &Config, args: &ImportArgs) -> Result<ImportReport, String> {
    let started = Instant::now();
    let zk_data = &args.zookeeper_data_dir;
    let zk_log = args.zookeeper_log_dir.as_ref().unwrap_or(zk_data);
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    for zk in [zk_data, zk_log] {
        if inside(&config.data_dir, zk) || inside(zk, &config.data_dir) {
            return Err(format!(
                "the data directory {} and ZooKeeper's {} overlap: import into a directory of its own",
                config.data_dir.display(),
                zk.display()
            ));
        }
    }
    let me = consensus::NodeId::from(config.server_id.max(1));
    let node = crate::core::node_config(config, me);
    let options = zookeeper::Options {
        accept_truncated_tail: args.accept_truncated_tail,
        tree_config: node.tree_config.clone(),
    };
    // The store is created (fsyncs, mostly) while ZooKeeper's files are
    // read, and written from the snapshot's records; what the transactions
    // after it change is written at the end.
    let staged: std::sync::OnceLock<Result<(consensus::Seeding, Store), String>> =
        std::sync::OnceLock::new();
    let progress = bar(0);
    let (mut nodes, mut txns) = (0u64, 0u64);
    let restored = std::thread::scope(|scope| {
        scope.spawn(|| {
            // Set whatever happens: the restore waits for it.
            let begun = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                consensus::Seeding::begin(&node)
            }))
            .map_err(|_| "creating the store panicked".to_owned())
            .and_then(|r| r.map_err(|e| format!("writing {}: {e}", config.data_dir.display())));
            let _ = staged.set(begun);
        });
        let store = || match staged.wait() {
            Ok((_, store)) => Ok(store),
            Err(e) => Err(zookeeper::ImportError::Store(e.clone())),
        };
        zookeeper::restore_into(
            zk_data,
            zk_log,
            &options,
            &mut |p| match p {
                Progress::File { path, bytes } => {
                    progress.set_prefix(
                        path.file_name()
                            .and_then(|n| n.to_str())
                            .unwrap_or_default()
                            .to_owned(),
                    );
                    progress.set_length(bytes);
                    progress.set_position(0);
                    tracing::info!(file = %path.display(), bytes, "reading");
                }
                Progress::Bytes(n) => progress.inc(n),
                Progress::Nodes(n) => {
                    nodes += n;
                    let secs = started.elapsed().as_secs_f64().max(1e-3);
                    progress
                        .set_message(format!("{nodes} nodes, {:.0} nodes/s", nodes as f64 / secs));
                }
                Progress::Txns(n) => {
                    txns += n;
                    progress.set_message(format!("{nodes} nodes, {txns} txns"));
                }
            },
            Some(&store),
        )
    });
    progress.finish_and_clear();
    let (seeding, store) = staged.into_inner().ok_or("the store was not created")??;
    let mut restored = match restored {
        Ok(r) => r,
        Err(e) => {
            seeding.abandon(store);
            return Err(e.to_string());
        }
    };
    for (file, why) in &restored.skipped {
        tracing::warn!(file = %file.display(), %why, "invalid snapshot skipped, as ZooKeeper skips it");
    }
    for (file, offset) in &restored.torn {
        tracing::warn!(file = %file.display(), offset, "torn log record dropped (--accept-truncated-tail)");
    }
    let tree = &mut restored.tree;
    let want = (
        restored.nodes,
        restored.digest,
        tree.sessions().len() as u64,
        tree.last_zxid(),
    );
    tracing::info!(
        snapshot = %restored.snapshot.display(),
        txns = restored.txns,
        nodes = want.0,
        sessions = want.2,
        last_zxid = format_args!("{:#x}", want.3),
        digests_checked = restored.digests_checked,
        ms = started.elapsed().as_millis() as u64,
        "ZooKeeper's tree restored"
    );
    // Completed, then read back from disk: the same nodes, digest, bytes
    // and sessions.
    let ingested = restored
        .ingested
        .take()
        .ok_or("the snapshot's nodes were not ingested")?;
    let stored = seeding
        .finish(store, tree, restored.digest, ingested)
        .map_err(|e| format!("writing {}: {e}", config.data_dir.display()))?;
    let got = (
        stored.nodes,
        stored.digest,
        stored.sessions,
        stored.last_zxid,
    );
    if got != want {
        return Err(format!(
            "the stored tree differs from the one read (nodes, digest, sessions, zxid): \
             {got:?} against {want:?}"
        ));
    }
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        "written and read back"
    );
    Ok(ImportReport {
        nodes: got.0 as usize,
        sessions: got.2 as usize,
        last_zxid: got.3,
        digest: got.1,
        digests_checked: restored.digests_checked,
        elapsed: started.elapsed(),
    })
}

/// `corral export`: writes the tree of `config`'s data directory (the
/// server stopped) as a ZooKeeper snapshot under `args.to`.
///
/// # Errors
/// A message for the operator.
pub fn export(config: &Config, args: &ExportArgs) -> Result<PathBuf, String> {
    let me = consensus::NodeId::from(config.server_id.max(1));
    let node = crate::core::node_config(config, me);
    if !node.tree_dir.exists() {
        return Err(format!("{}: no Corral tree here", node.tree_dir.display()));
    }
    let (store, tree) = Store::open(&node.tree_dir, node.tree_config.clone()).map_err(|e| {
        format!(
            "{}: {e} (is the server still running?)",
            node.tree_dir.display()
        )
    })?;
    drop(store);
    let dir = args.to.join("version-2");
    if zookeeper::files::list(&dir, "snapshot").is_ok_and(|l| !l.is_empty())
        || zookeeper::files::list(&dir, "log").is_ok_and(|l| !l.is_empty())
    {
        return Err(format!("{} holds ZooKeeper files already", dir.display()));
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(format!("snapshot.{:x}", tree.last_zxid()));
    let tmp = dir.join(".snapshot.partial");
    let write = || -> std::io::Result<()> {
        let file = std::fs::File::create(&tmp)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        zookeeper::snap::write(&tree, storage::digest::tree_digest(&tree), &mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        // A quorum member reads its epochs from these files (it would
        // derive them from the snapshot, with a warning, if absent).
        let epoch = format!("{}", tree.last_zxid() >> 32);
        std::fs::write(dir.join("currentEpoch"), &epoch)?;
        std::fs::write(dir.join("acceptedEpoch"), &epoch)?;
        Ok(())
    };
    write().map_err(|e| format!("{}: {e}", path.display()))?;
    tracing::info!(
        snapshot = %path.display(),
        nodes = tree.node_count(),
        sessions = tree.sessions().len(),
        "exported"
    );
    Ok(path)
}

/// `corral migrate`: following a live ZooKeeper ensemble.
#[derive(Debug, Clone, clap::Args)]
pub struct MigrateArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: MigrateCommand,
}

/// The `corral migrate` commands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum MigrateCommand {
    /// Follow a ZooKeeper 3.5+ ensemble as a Zab observer; with
    /// `--cutover`, once the ensemble stops, check that every committed
    /// transaction is here and make the data directory hold the state.
    Follow(FollowArgs),
    /// Print the state a running `follow` keeps in the data directory.
    Status,
}

/// How to follow.
#[derive(Debug, Clone, clap::Args)]
pub struct FollowArgs {
    /// The ensemble's voters, `sid=host:quorumPort:electionPort` (zoo.cfg's
    /// `server.sid=…`), comma-separated. The quorum port finds the leader;
    /// the election port, on which every running server listens, keeps a
    /// cut-over from starting while any of them still runs.
    #[arg(long, value_delimiter = ',', required = true)]
    pub zookeeper: Vec<String>,
    /// This observer's sid, listed in the ensemble's configuration as
    /// `server.N=host:port:port:observer` (never a voter's).
    #[arg(long)]
    pub observer_id: u64,
    /// Cut over: follow until no ZooKeeper server leads any more (the
    /// operator stops them), check, and write the data directory.
    #[arg(long)]
    pub cutover: bool,
    /// The voters' ZooKeeper data directories, read (never written) at the
    /// cut-over: the observer must hold every transaction a majority of
    /// them logged.
    #[arg(long, value_delimiter = ',')]
    pub verify_against: Vec<PathBuf>,
    /// Milliseconds without a leader after which the ensemble counts as
    /// stopped.
    #[arg(long, default_value_t = 3000)]
    pub gone_after_ms: u64,
    /// With `--cutover`: listen on the client address while following
    /// (answering the four-letter words and the AdminServer as an
    /// observer, with its lag), then serve clients there from the state
    /// cut over to, in this process.
    #[arg(long, requires = "cutover")]
    pub serve: bool,
}

/// The file `follow` keeps its status in, under the data directory.
const STATUS_FILE: &str = "migrate-status.json";

fn status_json(s: &consensus::zab::Status, state: &str) -> String {
    let digest = s.last_digest.map(
        |(zxid, matched)| serde_json::json!({"zxid": format!("{zxid:#x}"), "matched": matched}),
    );
    let text = serde_json::json!({
        "state": state,
        "leader": s.leader,
        "synced": s.synced,
        "last_zxid": format!("{:#x}", s.last_zxid),
        "leader_zxid": format!("{:#x}", s.leader_zxid),
        "lag_zxids": s.lag_zxids,
        "lag_seconds": (s.lag_seconds * 1000.0).round() / 1000.0,
        "nodes": s.nodes,
        "sessions": s.sessions,
        "applied": s.applied,
        "connections": s.connections,
        "last_sync": s.last_sync,
        "digest_mismatches": s.digest_mismatches,
        "last_digest": digest,
        "last_error": s.last_error,
    });
    // Pretty: the file is for people (`corral migrate status`).
    let mut text = serde_json::to_string_pretty(&text).unwrap_or_default();
    text.push('\n');
    text
}

/// `corral migrate status`: the status file of a `follow` on this data
/// directory.
///
/// # Errors
/// A message if there is none.
pub fn status(config: &Config) -> Result<String, String> {
    let path = config.data_dir.join(STATUS_FILE);
    std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "{}: {e} (is `corral migrate follow` running here?)",
            path.display()
        )
    })
}

/// `corral migrate follow`.
///
/// # Errors
/// A message for the operator.
pub fn follow(config: &Config, args: &FollowArgs) -> Result<String, String> {
    follow_with(
        config,
        args,
        &std::sync::Arc::new(std::sync::Mutex::new(consensus::zab::Status::default())),
        &std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    )
}

/// [`follow`], reporting into `status`; `stop` ends the following without
/// a cut-over.
///
/// # Errors
/// As [`follow`].
pub fn follow_with(
    config: &Config,
    args: &FollowArgs,
    status: &std::sync::Arc<std::sync::Mutex<consensus::zab::Status>>,
    stop: &std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Result<String, String> {
    let mut voters = Vec::new();
    let mut alive = Vec::new();
    for v in &args.zookeeper {
        let bad = || format!("{v:?}: expected sid=host:quorumPort:electionPort");
        let (sid, rest) = v.split_once('=').ok_or_else(bad)?;
        let sid: u64 = sid.trim().parse().map_err(|_| bad())?;
        let (host, ports) = rest.trim().split_once(':').ok_or_else(bad)?;
        let (quorum, election) = ports.split_once(':').ok_or_else(bad)?;
        let resolve = |port: &str| {
            std::net::ToSocketAddrs::to_socket_addrs(&format!("{host}:{port}"))
                .ok()
                .and_then(|mut a| a.next())
                .ok_or_else(bad)
        };
        if sid == args.observer_id {
            return Err(format!("the observer's id {sid} is a voter's"));
        }
        voters.push((sid, resolve(quorum)?));
        alive.push(resolve(election)?);
    }
    let me = consensus::NodeId::from(config.server_id.max(1));
    let node = crate::core::node_config(config, me);
    if args.cutover {
        for dir in [&node.tree_dir, &node.log_dir] {
            if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
                return Err(format!(
                    "{} already holds data: cut over into an empty data directory",
                    dir.display()
                ));
            }
        }
    }
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    let options = consensus::zab::Options {
        voters,
        alive,
        me: args.observer_id,
        tree_config: node.tree_config.clone(),
        read_timeout: (config.tick_time * 5).max(std::time::Duration::from_secs(2)),
        gone_after: std::time::Duration::from_millis(args.gone_after_ms),
        until_gone: args.cutover,
        tls: crate::net::tls::quorum_client_config(config).map_err(|e| e.to_string())?,
    };
    let status_path = config.data_dir.join(STATUS_FILE);
    let write_status = |state: &str| {
        if let Ok(s) = status.lock() {
            let tmp = status_path.with_extension("json.tmp");
            if std::fs::write(&tmp, status_json(&s, state)).is_ok() {
                let _ = std::fs::rename(&tmp, &status_path);
            }
        }
    };
    let followed = std::thread::scope(|scope| {
        let worker = {
            let (status, stop) = (status.clone(), stop.clone());
            let options = options.clone();
            scope.spawn(move || consensus::zab::follow(&options, &status, &stop))
        };
        let mut last_log = Instant::now();
        while !worker.is_finished() {
            write_status("following");
            if last_log.elapsed() >= std::time::Duration::from_secs(5) {
                if let Ok(s) = status.lock() {
                    tracing::info!(
                        leader = ?s.leader,
                        synced = s.synced,
                        last_zxid = format_args!("{:#x}", s.last_zxid),
                        lag_zxids = s.lag_zxids,
                        lag_seconds = s.lag_seconds,
                        nodes = s.nodes,
                        "following"
                    );
                }
                last_log = Instant::now();
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        worker
            .join()
            .map_err(|_| "the follower panicked".to_owned())
    })?;
    if stop.load(std::sync::atomic::Ordering::Relaxed) {
        write_status("stopped");
        return Err("stopped before the ensemble was gone: nothing written".into());
    }
    let mut mirror = followed.map_err(|e| {
        write_status("failed");
        e.to_string()
    })?;
    write_status("ensemble gone");
    if !args.verify_against.is_empty() {
        verify_committed(&args.verify_against, &mut mirror, &node.tree_config)?;
    }
    if let Some((zxid, false)) = mirror.last_checked() {
        return Err(format!(
            "the tree differs from ZooKeeper's digest after {zxid:#x}: not cutting over"
        ));
    }
    let last = mirror.last_zxid();
    let digest = mirror.digest();
    let nodes = mirror.tree().node_count();
    let tree = mirror.into_tree();
    let stored = consensus::seed(&node, &tree, digest)
        .map_err(|e| format!("writing {}: {e}", config.data_dir.display()))?;
    write_status("cut over");
    Ok(format!(
        "cut over at zxid {last:#x}: {nodes} nodes, {} sessions written to {} (digest {})",
        stored.sessions,
        config.data_dir.display(),
        stored.digest
    ))
}

/// The cut-over's check against the voters' own files: the observer must
/// hold every transaction a majority of them logged (the committed ones).
/// Commits whose `INFORM` never left a leader that stopped are taken from
/// the logs of a voter that has them; then, where a voter's log ends where
/// the observer does, the trees' digests must agree.
fn verify_committed(
    dirs: &[PathBuf],
    mirror: &mut zookeeper::Mirror,
    tree_config: &storage::TreeConfig,
) -> Result<(), String> {
    let options = zookeeper::Options {
        accept_truncated_tail: true,
        tree_config: tree_config.clone(),
    };
    let mut ends = Vec::new();
    for dir in dirs {
        let r = zookeeper::restore(dir, dir, &options, &mut |_| {})
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        ends.push((r.tree.last_zxid(), r.digest, dir.clone()));
    }
    let mut sorted: Vec<i64> = ends.iter().map(|e| e.0).collect();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    // The highest zxid a majority logged.
    let committed = sorted.get(dirs.len() / 2).copied().unwrap_or(0);
    if mirror.last_zxid() < committed {
        let (_, _, source) = ends
            .iter()
            .find(|e| e.0 >= committed)
            .ok_or_else(|| format!("no voter logged up to {committed:#x}"))?;
        let from = mirror.last_zxid();
        let n = zookeeper::catch_up(mirror, source, committed)
            .map_err(|e| format!("catching up from {}: {e}", source.display()))?;
        tracing::info!(
            from = format_args!("{from:#x}"),
            to = format_args!("{committed:#x}"),
            txns = n,
            source = %source.display(),
            "committed transactions the observer had not received, taken from a voter's log"
        );
    }
    for (end, digest, dir) in &ends {
        if *end == mirror.last_zxid() && *digest != mirror.digest() {
            return Err(format!(
                "{} ends at {end:#x} as the observer does, with digest {digest} against {}",
                dir.display(),
                mirror.digest()
            ));
        }
    }
    tracing::info!(
        committed = format_args!("{committed:#x}"),
        observer = format_args!("{:#x}", mirror.last_zxid()),
        "every committed transaction is here"
    );
    Ok(())
}

/// `corral migrate follow --cutover --serve`: while following, `listener`
/// (the client address) answers the four-letter words as a ZooKeeper
/// observer does, with the migration's keys in `mntr`, and the AdminServer
/// serves `mntr` and `migration`; a client's connection is closed (not
/// serving yet, as an observer that is not synced). After the cut-over the
/// same listener serves clients: they reconnect with no address change and
/// no port left unbound in between. `shutdown` before the cut-over stops
/// following and writes nothing.
///
/// # Errors
/// A message for the operator.
pub async fn follow_and_serve(
    config: Config,
    args: FollowArgs,
    listener: tokio::net::TcpListener,
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<String, String> {
    use std::sync::Arc;
    let status = Arc::new(std::sync::Mutex::new(consensus::zab::Status::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let observing = tokio_util::sync::CancellationToken::new();
    let admin = match config.admin_addr {
        Some(addr) => {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("admin address {addr}: {e}"))?;
            let app = observer_admin(status.clone());
            let done = observing.clone();
            Some(tokio::spawn(async move {
                let _ = axum::serve(l, app)
                    .with_graceful_shutdown(done.cancelled_owned())
                    .await;
            }))
        }
        None => None,
    };
    let work = {
        let (config, args, status, stop) =
            (config.clone(), args.clone(), status.clone(), stop.clone());
        tokio::task::spawn_blocking(move || follow_with(&config, &args, &status, &stop))
    };
    tokio::pin!(work);
    let outcome = loop {
        tokio::select! {
            done = &mut work => break done.map_err(|e| e.to_string()).and_then(|r| r),
            accepted = listener.accept() => {
                if let Ok((socket, _)) = accepted {
                    let status = status.clone();
                    let whitelist = config.four_letter_whitelist.clone();
                    tokio::spawn(observer_words(socket, status, whitelist));
                }
            }
            () = shutdown.cancelled(), if !stop.load(std::sync::atomic::Ordering::Relaxed) => {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    };
    observing.cancel();
    if let Some(admin) = admin {
        let _ = admin.await;
    }
    let cut = outcome?;
    tracing::info!(%cut, "serving clients from the state cut over to");
    crate::run(config, listener, shutdown)
        .await
        .map_err(|e| e.to_string())?;
    Ok(cut)
}

/// The observer's `mntr` lines (`key\tvalue`), ZooKeeper's keys for an
/// observer plus the migration's own.
fn observer_mntr(s: &consensus::zab::Status) -> Vec<(&'static str, String)> {
    vec![
        ("zk_version", crate::monitor::four_letter::version_string()),
        ("zk_server_state", "observer".into()),
        ("zk_znode_count", s.nodes.to_string()),
        (
            "zk_migrate_leader",
            s.leader.map_or("-".into(), |l| l.to_string()),
        ),
        ("zk_migrate_synced", u8::from(s.synced).to_string()),
        ("zk_migrate_last_zxid", format!("{:#x}", s.last_zxid)),
        ("zk_migrate_leader_zxid", format!("{:#x}", s.leader_zxid)),
        ("zk_migrate_lag_zxids", s.lag_zxids.to_string()),
        ("zk_migrate_lag_seconds", format!("{:.3}", s.lag_seconds)),
        ("zk_migrate_applied", s.applied.to_string()),
        ("zk_migrate_sessions", s.sessions.to_string()),
        (
            "zk_migrate_digest_mismatches",
            s.digest_mismatches.to_string(),
        ),
    ]
}

/// One connection to the client address while following: a four-letter
/// word gets the observer's answer; anything else is closed.
async fn observer_words(
    mut socket: tokio::net::TcpStream,
    status: std::sync::Arc<std::sync::Mutex<consensus::zab::Status>>,
    whitelist: Option<std::collections::BTreeSet<String>>,
) {
    use jute::FourLetterWord as W;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut first = [0u8; 4];
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        socket.read_exact(&mut first),
    )
    .await;
    let Some(word) = read
        .ok()
        .and_then(Result::ok)
        .and_then(|_| W::from_bytes(first))
    else {
        return;
    };
    let s = status.lock().map(|s| s.clone()).unwrap_or_default();
    let allowed = whitelist.as_ref().is_none_or(|w| w.contains(word.name()));
    let text = if !allowed {
        format!(
            "{} is not executed because it is not in the whitelist.\n",
            word.name()
        )
    } else {
        match word {
            W::Ruok => "imok".to_owned(),
            W::Mntr => observer_mntr(&s)
                .into_iter()
                .map(|(k, v)| format!("{k}\t{v}\n"))
                .collect(),
            W::Srvr | W::Stat => format!(
                "Zookeeper version: {}\nLatency min/avg/max: 0/0.0/0\nReceived: 0\nSent: 0\n\
                 Connections: 0\nOutstanding: 0\nZxid: {:#x}\nMode: observer\nNode count: {}\n",
                crate::monitor::four_letter::version_string(),
                s.last_zxid,
                s.nodes
            ),
            _ => "This ZooKeeper instance is not currently serving requests\n".to_owned(),
        }
    };
    let _ = socket.write_all(text.as_bytes()).await;
    let _ = socket.shutdown().await;
}

/// The AdminServer while following: `/commands/mntr` (the observer's
/// `mntr` as JSON, numbers as numbers) and `/commands/migration` (the
/// status `corral migrate status` prints).
fn observer_admin(
    status: std::sync::Arc<std::sync::Mutex<consensus::zab::Status>>,
) -> axum::Router {
    use axum::routing::get;
    let for_mntr = status.clone();
    axum::Router::new()
        .route(
            "/commands/mntr",
            get(move || {
                let s = for_mntr.lock().map(|s| s.clone()).unwrap_or_default();
                async move {
                    // ZooKeeper's `monitor` command: the mntr keys without
                    // their `zk_` prefix, numbers as numbers.
                    let mut fields = serde_json::Map::new();
                    for (k, v) in observer_mntr(&s) {
                        let value = v
                            .parse::<i64>()
                            .map(serde_json::Value::from)
                            .or_else(|_| v.parse::<f64>().map(serde_json::Value::from))
                            .unwrap_or(serde_json::Value::String(v));
                        fields.insert(k.trim_start_matches("zk_").to_owned(), value);
                    }
                    fields.insert("command".into(), "monitor".into());
                    fields.insert("error".into(), serde_json::Value::Null);
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        // Pretty, as every AdminServer answer (`admin.rs`).
                        serde_json::to_string_pretty(&serde_json::Value::Object(fields))
                            .unwrap_or_default(),
                    )
                }
            }),
        )
        .route(
            "/commands/migration",
            get(move || {
                let s = status.lock().map(|s| s.clone()).unwrap_or_default();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        status_json(&s, "following"),
                    )
                }
            }),
        )
}
