//! ZooKeeper's own files: reading a ZooKeeper data directory into a
//! [`Tree`] exactly as `FileTxnSnapLog.restore` would (the newest valid
//! snapshot, then the transaction logs after it), and writing a tree back
//! as a ZooKeeper snapshot. `corral import` and `corral export` are built
//! on these; see `docs/migration.md`.
//!
//! | file        | ZooKeeper                                                 |
//! |-------------|-----------------------------------------------------------|
//! | `files`     | `Util` (file names), `SnapStream` (gzip, snappy)          |
//! | `cursor`    | `BinaryInputArchive`, `SnapStream.checkSealIntegrity`     |
//! | `snap`      | `FileSnap`, `SerializeUtils`, `DataTree.(de)serialize`    |
//! | `txnlog`    | `FileTxnLog`, `Util.readTxnBytes`, `SerializeUtils.deserializeTxn` |
//! | `replay`    | `FileTxnSnapLog.processTransaction`, `DataTree.processTxn`|
//! | `password`  | `ZooKeeperServer.generatePasswd`                          |
//!
//! Nothing here writes into the ZooKeeper directories: they are only read.

mod cursor;
pub mod files;
mod password;
mod replay;
pub mod snap;
pub mod txnlog;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub use password::zookeeper_password;
pub use snap::ZxidDigest;

use crate::quota;
use crate::sessions::SessionInfo;
use crate::tree::{Tree, TreeConfig};
use files::ZkFile;
use txnlog::End;

/// Why a ZooKeeper directory could not be imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A file does not hold what its name says.
    #[error("{file}: corrupt at offset {offset}: {what}")]
    Corrupt {
        /// The file.
        file: PathBuf,
        /// Where, in its (decompressed) bytes.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// A log ends in a torn record (accepted only when asked).
    #[error(
        "{file}: the log ends in a torn record at offset {offset} ({why}); \
         ZooKeeper would drop it: pass --accept-truncated-tail to do the same"
    )]
    TornTail {
        /// The file.
        file: PathBuf,
        /// Where the torn record starts.
        offset: u64,
        /// How it is torn.
        why: String,
    },
    /// A format version this code does not read.
    #[error("{file}: unsupported: {what}")]
    Unsupported {
        /// The file.
        file: PathBuf,
        /// What.
        what: String,
    },
    /// No snapshot, and so nothing to start from.
    #[error("{0}: {1}")]
    NoData(PathBuf, String),
    /// Transactions are missing between the snapshot and the logs, or
    /// between two logs.
    #[error("transactions missing: after zxid {after:#x} the logs go on at {next:#x}")]
    Gap {
        /// The last zxid applied.
        after: i64,
        /// The next zxid found.
        next: i64,
    },
    /// The tree does not have the digest ZooKeeper recorded.
    #[error(
        "digest mismatch after zxid {zxid:#x}: ZooKeeper recorded {expected}, \
         the imported tree has {actual}"
    )]
    DigestMismatch {
        /// The transaction after which they differ.
        zxid: i64,
        /// ZooKeeper's.
        expected: i64,
        /// Ours.
        actual: i64,
    },
    /// The store being written failed.
    #[error("writing the store: {0}")]
    Store(String),
}

impl From<crate::StorageError> for ImportError {
    fn from(e: crate::StorageError) -> Self {
        ImportError::Store(e.to_string())
    }
}

impl ImportError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        ImportError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn corrupt(file: &Path, offset: u64, what: impl Into<String>) -> Self {
        ImportError::Corrupt {
            file: file.to_path_buf(),
            offset,
            what: what.into(),
        }
    }
}

/// What an import reports while it runs, for a progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Reading a file of this many (decompressed) bytes.
    File {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
    },
    /// This many more bytes of it read.
    Bytes(u64),
    /// This many nodes loaded (from a snapshot).
    Nodes(u64),
    /// This many more transactions applied.
    Txns(u64),
}

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Accept a log whose last record is torn (ZooKeeper's own rule on
    /// restart: the torn record is dropped).
    pub accept_truncated_tail: bool,
    /// The tree's settings.
    pub tree_config: TreeConfig,
}

/// A ZooKeeper directory read into a tree.
#[derive(Debug)]
pub struct Restored {
    /// The tree, its sessions with ZooKeeper's passwords, `last_zxid` the
    /// last transaction applied. With [`restore_into`] it holds only the
    /// nodes the transactions after the snapshot touched (the store holds
    /// them all).
    pub tree: Tree,
    /// The nodes restored.
    pub nodes: u64,
    /// The snapshot started from, and its zxid.
    pub snapshot: PathBuf,
    /// The zxid in the snapshot's name.
    pub snapshot_zxid: i64,
    /// Newer snapshots that were not valid, with why (ZooKeeper skips them
    /// too, `FileSnap.findNValidSnapshots`).
    pub skipped: Vec<(PathBuf, String)>,
    /// The logs read.
    pub logs: Vec<PathBuf>,
    /// Transactions applied after the snapshot.
    pub txns: u64,
    /// Torn records dropped (with `accept_truncated_tail`).
    pub torn: Vec<(PathBuf, u64)>,
    /// The digests of ZooKeeper's compared with the tree's, all equal: the
    /// snapshot's, and each transaction's after it.
    pub digests_checked: u64,
    /// The last digest compared, if any: (zxid, value).
    pub last_digest: Option<(i64, i64)>,
    /// The tree's digest ([`crate::digest::tree_digest`]), kept while
    /// replaying.
    pub digest: i64,
    /// With [`restore_into`]: the snapshot's nodes ingested into the store
    /// (nodes, checksum, the key dividing them in two); the tree's changes
    /// since are tracked for [`crate::Store::seal_import`].
    pub ingested: Option<crate::Stored>,
}

/// `FileTxnSnapLog.restore`: the newest valid snapshot of `data_dir`, then
/// every transaction after it from the logs in `log_dir` (often the same
/// directory), checked against ZooKeeper's digests.
///
/// # Errors
/// [`ImportError`]: nothing usable, a corrupt file, a torn log tail (unless
/// accepted), a gap in the transactions, or a digest that differs.
pub fn restore(
    data_dir: &Path,
    log_dir: &Path,
    options: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Restored, ImportError> {
    restore_into(data_dir, log_dir, options, progress, None)
}

/// [`restore`], ingesting the snapshot's nodes into `store` (new and
/// empty; two ranges of paths at once) straight from the snapshot's
/// bytes. The tree then holds only the nodes the transactions after the
/// snapshot touch (see `touched`), and what they change is tracked in it
/// for [`crate::Store::seal_import`].
///
/// # Errors
/// As [`restore`]; [`ImportError::Store`] if the store fails.
pub fn restore_into<'s>(
    data_dir: &Path,
    log_dir: &Path,
    options: &Options,
    progress: &mut dyn FnMut(Progress),
    store: Option<StoreSource<'_, 's>>,
) -> Result<Restored, ImportError> {
    let snap_dir = files::version_dir(data_dir);
    let log_dir = files::version_dir(log_dir);
    let snapshots = files::list(&snap_dir, "snapshot")?;
    if snapshots.is_empty() {
        return Err(ImportError::NoData(
            snap_dir,
            "no snapshot.<zxid> here (ZooKeeper writes one at its first start)".into(),
        ));
    }
    // Newest first; an invalid one is skipped, as ZooKeeper does.
    let mut skipped = Vec::new();
    for file in snapshots.iter().rev() {
        if let Err(why) = files::looks_complete(file) {
            skipped.push((file.path.clone(), why));
            continue;
        }
        // The logs after the snapshot are read on a thread of their own
        // while the snapshot is.
        let attempt = std::thread::scope(|scope| -> Result<Option<Restored>, ImportError> {
            let logs =
                scope.spawn(|| read_logs(&log_dir, file.zxid, options.accept_truncated_tail));
            let began = std::time::Instant::now();
            let buf = match files::read(file) {
                Ok(buf) => {
                    tracing::debug!(ms = began.elapsed().as_millis() as u64, "snapshot read");
                    buf
                }
                Err(e) => {
                    skipped.push((file.path.clone(), e.to_string()));
                    return Ok(None);
                }
            };
            progress(Progress::File {
                path: file.path.clone(),
                bytes: buf.len() as u64,
            });
            let snapshot = match snap::parse(&buf, &file.path, progress) {
                Ok(snapshot) => snapshot,
                Err(e @ ImportError::Unsupported { .. }) => return Err(e),
                Err(e) => {
                    skipped.push((file.path.clone(), e.to_string()));
                    return Ok(None);
                }
            };
            let logs = logs.join().map_err(|_| {
                ImportError::io(&log_dir, std::io::Error::other("the log reader panicked"))
            })??;
            for log in &logs {
                progress(Progress::File {
                    path: log.file.path.clone(),
                    bytes: log.bytes,
                });
                progress(Progress::Bytes(log.bytes));
            }
            let skipped = std::mem::take(&mut skipped);
            let restored = restore_from(file, &snapshot, skipped, logs, options, progress, store);
            drop(snapshot);
            // Unmapping a large snapshot's buffer takes a hundredth of a
            // second: it is left to a thread of its own.
            std::thread::spawn(move || drop(buf));
            restored.map(Some)
        })?;
        if let Some(restored) = attempt {
            return Ok(restored);
        }
    }
    let why = skipped
        .iter()
        .map(|(_, e)| e.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    Err(ImportError::NoData(
        snap_dir,
        format!("no valid snapshot: {why}"),
    ))
}

/// The store [`restore_into`] writes, asked for when the snapshot's nodes
/// are ready (it may still be in the making when the restore begins).
pub type StoreSource<'f, 's> = &'f (dyn Fn() -> Result<&'s crate::Store, ImportError> + Sync);

/// A log's transactions after the snapshot, and how the log ended.
struct LogRead {
    file: ZkFile,
    bytes: u64,
    entries: Vec<txnlog::Entry>,
    end: Result<End, ImportError>,
}

/// `FileTxnLog.getLogFiles`: the newest log in `log_dir` starting at or
/// before zxid `after`, and every later one, each decoded (the
/// transactions after `after`), up to the first that is corrupt or torn
/// (unless `accept_torn`).
fn read_logs(log_dir: &Path, after: i64, accept_torn: bool) -> Result<Vec<LogRead>, ImportError> {
    let all_logs = files::list(log_dir, "log")?;
    let first = all_logs.iter().rposition(|f| f.zxid <= after).unwrap_or(0);
    let mut logs = Vec::new();
    for log in all_logs.get(first..).unwrap_or_default() {
        let buf = files::read_log(log)?;
        let mut entries = Vec::new();
        let end = txnlog::read_after(&buf, &log.path, after, &mut |entry, _| {
            entries.push(entry);
            Ok(())
        });
        let stop = match &end {
            Err(_) => true,
            Ok(End::Torn { .. }) => !accept_torn,
            Ok(End::Clean) => false,
        };
        logs.push(LogRead {
            file: log.clone(),
            bytes: buf.len() as u64,
            entries,
            end,
        });
        if stop {
            break;
        }
    }
    Ok(logs)
}

/// The snapshot's nodes left out of the tree (with a store, which holds
/// them all): their account is kept from the snapshot's records.
struct Outside<'n, 'a> {
    nodes: &'n snap::Nodes<'a>,
    built: std::collections::HashSet<&'a str>,
}

/// The snapshot's nodes that replaying `entries` reads or changes: each
/// transaction's node and its parent; a deleted node's descendants (a
/// delete drops the subtree); every session's ephemerals and what is under
/// them (a session's close deletes them); `/zookeeper` and below (quotas, the
/// configuration) and each quota's root; then every ancestor of those. In
/// path order.
fn touched<'a, 'e>(
    nodes: &snap::Nodes<'a>,
    entries: impl Iterator<Item = &'e txnlog::Entry>,
) -> Vec<snap::Rec<'a>> {
    use txnlog::TxnBody;
    fn visit(body: &TxnBody, paths: &mut BTreeSet<String>, subtrees: &mut Vec<String>) {
        match body {
            TxnBody::Create(c) => {
                paths.insert(c.path.clone());
            }
            TxnBody::CreateTtl(c) => {
                paths.insert(c.path.clone());
            }
            TxnBody::CreateContainer(c) => {
                paths.insert(c.path.clone());
            }
            TxnBody::Delete(d) => subtrees.push(d.path.clone()),
            TxnBody::SetData(s) => {
                paths.insert(s.path.clone());
            }
            TxnBody::SetAcl(s) => {
                paths.insert(s.path.clone());
            }
            TxnBody::CloseSession(Some(txn)) => {
                subtrees.extend(txn.paths_to_delete.iter().cloned())
            }
            TxnBody::Multi(ops) => {
                for (_, sub) in ops {
                    visit(sub, paths, subtrees);
                }
            }
            TxnBody::Check(_)
            | TxnBody::Error(_)
            | TxnBody::CreateSession(_)
            | TxnBody::CloseSession(None) => {}
        }
    }
    let mut paths = BTreeSet::new();
    let mut subtrees = vec![crate::tree::ZOOKEEPER.to_owned()];
    for e in entries {
        visit(&e.body, &mut paths, &mut subtrees);
    }
    paths.insert("/".to_owned());
    // A session's close deletes its ephemerals with whatever is under them
    // (nothing, unless the snapshot is odd).
    subtrees.extend(nodes.ephemerals().iter().map(|r| r.path.to_owned()));
    for s in &subtrees {
        paths.extend(nodes.descendants(s).map(|r| r.path.to_owned()));
        paths.insert(s.clone());
    }
    let roots: Vec<String> = paths
        .iter()
        .filter_map(|p| quota::root_of(p, quota::LIMITS))
        .collect();
    paths.extend(roots);
    let mut ancestors = Vec::new();
    for p in &paths {
        let mut at = p.as_str();
        while let Some(parent) = crate::path::parent(at) {
            ancestors.push(parent.to_owned());
            at = parent;
        }
    }
    paths.extend(ancestors);
    paths.iter().filter_map(|p| nodes.find(p)).collect()
}

/// [`restore_into`] from a parsed snapshot and the logs after it: the
/// tree built (with a store: the nodes ingested into it, and only those
/// the logs touch built), and the transactions replayed.
fn restore_from(
    file: &ZkFile,
    snapshot: &snap::Snapshot<'_>,
    skipped: Vec<(PathBuf, String)>,
    logs: Vec<LogRead>,
    options: &Options,
    progress: &mut dyn FnMut(Progress),
    store: Option<StoreSource<'_, '_>>,
) -> Result<Restored, ImportError> {
    let nodes = &snapshot.nodes;
    let mut tree = Tree::empty(options.tree_config.clone());
    let began = std::time::Instant::now();
    let (tree_digest, ingested, outside) = match store {
        None => (nodes.build(&mut tree, None)?, None, None),
        Some(store) => {
            // Without ZooKeeper's digest to check the stored values against,
            // the records' own is computed too.
            let zookeepers = snapshot
                .digest
                .is_some_and(|d| d.version == crate::digest::DIGEST_VERSION);
            let ingested = nodes.ingest(store()?, !zookeepers)?;
            let wanted = touched(nodes, logs.iter().flat_map(|l| l.entries.iter()));
            nodes.build(&mut tree, Some(&wanted))?;
            let built = wanted.iter().map(|r| r.path).collect();
            // From here on, what changes goes to the store as a batch.
            tree.changes = Some(crate::tree::Changes::default());
            (
                ingested.digest,
                Some(ingested),
                Some(Outside { nodes, built }),
            )
        }
    };
    tracing::debug!(
        nodes = nodes.len(),
        built = tree.node_count(),
        ingested = ingested.is_some(),
        ms = began.elapsed().as_millis() as u64,
        "snapshot nodes stored and built"
    );
    let left_out = nodes.len() - outside.as_ref().map_or(nodes.len(), |o| o.built.len());
    open_sessions(&mut tree, &snapshot.sessions);
    tree.last_zxid = file.zxid;

    let began = std::time::Instant::now();
    let mut replay = replay::Replay::with_digest(&mut tree, tree_digest);
    let mut checked = 0u64;
    let mut last_digest = None;
    // The snapshot's digest is compared once the transactions reach it
    // (at once if the snapshot is not fuzzy).
    let mut pending = snapshot
        .digest
        .filter(|d| d.zxid >= file.zxid && d.version == crate::digest::DIGEST_VERSION);
    // ZooKeeper's snapshot digest can itself be wrong: it is the digest of
    // the last transaction applied when the snapshot's writing ended, and
    // a snapshot written while transactions were applied holds some of
    // them whatever that zxid. ZooKeeper loading such a snapshot logs
    // "Digests are not matching" and goes on (`compareSnapshotDigests`).
    // So does the import, with the tree taken as fuzzy: the transactions'
    // digests (each computed on ZooKeeper's live tree) are then compared
    // until one matches, and from there on every one must; a tree that
    // never matches one is refused.
    let mut fuzzy: Option<(i64, i64)> = None;
    let mut compared_while_fuzzy = 0u64;
    let snapshot_digest = |d: snap::ZxidDigest, actual: i64, fuzzy: &mut Option<(i64, i64)>| {
        if d.digest == actual {
            return true;
        }
        tracing::warn!(
            zxid = format_args!("{:#x}", d.zxid),
            expected = d.digest,
            actual,
            "ZooKeeper's snapshot digest does not match (as ZooKeeper itself reports for a \
             snapshot written while transactions were applied); comparing the transactions' digests"
        );
        *fuzzy = Some((d.zxid, d.digest));
        false
    };
    if let Some(d) = pending.filter(|d| d.zxid == file.zxid) {
        if snapshot_digest(d, replay.digest, &mut fuzzy) {
            checked += 1;
            last_digest = Some((d.zxid, d.digest));
        }
        pending = None;
    }

    let mut txns = 0u64;
    let mut torn = Vec::new();
    let mut last = file.zxid;
    let mut batch = 0u64;
    let mut read_logs = Vec::with_capacity(logs.len());
    for log in logs {
        for entry in &log.entries {
            let zxid = entry.header.zxid;
            if !follows(last, zxid) && zxid > last {
                return Err(ImportError::Gap {
                    after: last,
                    next: zxid,
                });
            }
            replay.apply(entry);
            last = last.max(zxid);
            txns += 1;
            batch += 1;
            if batch == 4096 {
                progress(Progress::Txns(batch));
                batch = 0;
            }
            // While the snapshot's own digest is pending, the tree is
            // fuzzy and the transactions' digests are not compared.
            let expected = match pending {
                Some(d) if zxid == d.zxid => {
                    pending = None;
                    if snapshot_digest(d, replay.digest, &mut fuzzy) {
                        checked += 1;
                        last_digest = Some((d.zxid, d.digest));
                    }
                    None
                }
                Some(_) => None,
                None => entry
                    .digest
                    .as_ref()
                    .filter(|d| d.version == crate::digest::DIGEST_VERSION)
                    .map(|d| d.tree_digest),
            };
            if let Some(expected) = expected {
                if fuzzy.is_some() {
                    if expected != replay.digest {
                        compared_while_fuzzy += 1;
                        continue;
                    }
                    tracing::info!(
                        zxid = format_args!("{zxid:#x}"),
                        "the tree matches ZooKeeper's digest again"
                    );
                    fuzzy = None;
                }
                if expected != replay.digest {
                    return Err(ImportError::DigestMismatch {
                        zxid,
                        expected,
                        actual: replay.digest,
                    });
                }
                checked += 1;
                last_digest = Some((zxid, expected));
            }
        }
        if let End::Torn { offset, why } = log.end? {
            if !options.accept_truncated_tail {
                return Err(ImportError::TornTail {
                    file: log.file.path.clone(),
                    offset,
                    why,
                });
            }
            torn.push((log.file.path.clone(), offset));
        }
        read_logs.push(log.file.path);
    }
    progress(Progress::Txns(batch));
    // Every transaction applied while the snapshot was written is in the
    // logs after it: replayed, the tree is ZooKeeper's again, so the last
    // transaction's digest at the latest must have matched.
    if let Some((zxid, expected)) = fuzzy.filter(|_| compared_while_fuzzy > 0) {
        return Err(ImportError::DigestMismatch {
            zxid,
            expected,
            actual: replay.digest,
        });
    }
    let digest = replay.digest;
    tracing::debug!(
        txns,
        ms = began.elapsed().as_millis() as u64,
        "logs replayed"
    );
    finish(&mut tree, outside.as_ref())?;
    Ok(Restored {
        nodes: (left_out + tree.node_count()) as u64,
        tree,
        snapshot: file.path.clone(),
        snapshot_zxid: file.zxid,
        skipped,
        logs: read_logs,
        txns,
        torn,
        digests_checked: checked,
        last_digest,
        digest,
        ingested,
    })
}

/// A tree kept up to date with ZooKeeper's transactions as they come
/// (a Zab learner's), with its running digest.
#[derive(Debug)]
pub struct Mirror {
    tree: Tree,
    digest: i64,
    mismatches: u64,
    last_checked: Option<(i64, bool)>,
}

impl Mirror {
    /// Starts from `tree` (ZooKeeper's initial tree, or a snapshot) with
    /// `sessions` (id, timeout) and ZooKeeper's passwords.
    pub fn new(mut tree: Tree, sessions: &[(i64, i32)], last_zxid: i64) -> Self {
        open_sessions(&mut tree, sessions);
        tree.last_zxid = last_zxid;
        let digest = crate::digest::tree_digest(&tree);
        Mirror {
            tree,
            digest,
            mismatches: 0,
            last_checked: None,
        }
    }

    /// Applies one transaction as `DataTree.processTxn` does, and compares
    /// the digest with the one it carries. A snapshot sent while the
    /// leader kept applying is fuzzy: digests differ until the
    /// transactions it partly holds are past, as in ZooKeeper, so a
    /// difference is counted, not fatal; the last one decides a cut-over.
    pub fn apply(&mut self, entry: &txnlog::Entry) {
        let mut replay = replay::Replay::with_digest(&mut self.tree, self.digest);
        replay.apply(entry);
        self.digest = replay.digest;
        if let Some(d) = entry
            .digest
            .as_ref()
            .filter(|d| d.version == crate::digest::DIGEST_VERSION)
        {
            let same = d.tree_digest == self.digest;
            if !same {
                self.mismatches += 1;
            }
            self.last_checked = Some((entry.header.zxid, same));
        }
    }

    /// The last zxid applied.
    pub fn last_zxid(&self) -> i64 {
        self.tree.last_zxid
    }

    /// The tree's digest.
    pub fn digest(&self) -> i64 {
        self.digest
    }

    /// Transactions whose digest differed from the tree's after them.
    pub fn mismatches(&self) -> u64 {
        self.mismatches
    }

    /// The last transaction that carried a digest, and whether the tree
    /// matched it.
    pub fn last_checked(&self) -> Option<(i64, bool)> {
        self.last_checked
    }

    /// The tree.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The tree as a Corral server takes it (`finish`: quotas recounted,
    /// `/zookeeper/config` a new server's).
    pub fn into_tree(mut self) -> Tree {
        if let Err(e) = finish(&mut self.tree, None) {
            // Not reached: only nodes outside the tree are read again.
            tracing::warn!(%e, "quotas not recounted");
        }
        self.tree
    }
}

/// Brings `mirror` up to `upto` from the transaction logs in `log_dir`
/// (a ZooKeeper server's own, read only): every transaction after the
/// mirror's last zxid, up to `upto`, applied in order. For a cut-over whose
/// observer missed the last commits (the leader stopped before its
/// `INFORM`s left). Returns how many were applied.
///
/// # Errors
/// [`ImportError`] if a log is corrupt, or transactions are missing
/// between the mirror's last zxid and `upto`.
pub fn catch_up(mirror: &mut Mirror, log_dir: &Path, upto: i64) -> Result<u64, ImportError> {
    let dir = files::version_dir(log_dir);
    let logs = files::list(&dir, "log")?;
    let from = mirror.last_zxid();
    let first = logs.iter().rposition(|f| f.zxid <= from + 1).unwrap_or(0);
    let mut applied = 0u64;
    for log in logs.get(first..).unwrap_or_default() {
        let buf = files::read_log(log)?;
        // A torn last record was never acknowledged: ignore it.
        let _end = txnlog::read_after(&buf, &log.path, from, &mut |entry, _| {
            let zxid = entry.header.zxid;
            if zxid <= mirror.last_zxid() || zxid > upto {
                return Ok(());
            }
            if !follows(mirror.last_zxid(), zxid) {
                return Err(ImportError::Gap {
                    after: mirror.last_zxid(),
                    next: zxid,
                });
            }
            mirror.apply(&entry);
            applied += 1;
            Ok(())
        })?;
    }
    if mirror.last_zxid() < upto {
        return Err(ImportError::Gap {
            after: mirror.last_zxid(),
            next: upto,
        });
    }
    Ok(applied)
}

/// Whether `next` can directly follow `last`: the next counter in the same
/// epoch, or the first of a later epoch.
fn follows(last: i64, next: i64) -> bool {
    next == last + 1 || (next >> 32 > last >> 32 && next & 0xffff_ffff == 1)
}

/// What ZooKeeper does after loading (`DataTree.setupQuota`), and what a
/// Corral tree needs: every quota's stats recounted from the tree, and
/// `/zookeeper/config` as a new server has it (the configuration is the
/// importing ensemble's own, published by its leader).
fn finish(tree: &mut Tree, outside: Option<&Outside<'_, '_>>) -> Result<(), ImportError> {
    let roots: Vec<String> = tree.quota_roots.iter().cloned().collect();
    for root in roots {
        let stats = quota::stats_path(&root);
        if tree.node(&stats).is_some() {
            let mut usage = crate::apply::subtree_usage(tree, &root);
            if let Some(o) = outside {
                let (mut count, mut bytes) = (usage.count(), usage.bytes());
                for r in o.nodes.descendants(&root) {
                    if !o.built.contains(r.path) {
                        count += 1;
                        bytes += o.nodes.data_len(r)? as i64;
                    }
                }
                usage.set_count(count);
                usage.set_bytes(bytes);
            }
            let _ = tree.set_data(&stats, Some(usage.to_bytes().into()));
        }
    }
    let fresh = Tree::new(tree.config.clone());
    if let Some(config) = fresh.node(crate::tree::CONFIG) {
        let acl = tree.acls.intern(fresh.acl_of(config));
        let mut node = config.clone();
        node.acl = acl;
        if tree.node(crate::tree::CONFIG).is_some() {
            tree.remove(crate::tree::CONFIG);
        }
        if tree.node(crate::tree::ZOOKEEPER).is_some() {
            tree.insert(crate::tree::CONFIG, node);
        }
    }
    Ok(())
}

/// Opens ZooKeeper's sessions (id, timeout) in `tree` with the passwords
/// their clients hold (ZooKeeper derives them from the id).
fn open_sessions(tree: &mut Tree, sessions: &[(i64, i32)]) {
    for (id, timeout) in sessions {
        tree.open_session(
            *id,
            SessionInfo {
                timeout_ms: *timeout,
                passwd: bytes::Bytes::copy_from_slice(&zookeeper_password(*id)),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Command, CommandOp, apply};
    use jute::Encode;
    use jute::proto::{CreateRequest, SetDataRequest};
    use jute::txn::{
        CreateSessionTxn, CreateTxn, DeleteTxn, FileHeader, SetDataTxn, TXNLOG_MAGIC, TxnHeader,
    };
    use jute::{Acl, Request};

    fn write(tree: &mut Tree, op: Request) {
        let zxid = tree.last_zxid() + 1;
        let cmd = Command {
            time: 1_700_000_000_000 + zxid,
            session_id: 0x42,
            auth: vec![],
            op: CommandOp::Write(op),
        };
        let out = apply(tree, &cmd, zxid);
        assert!(out.result.is_ok(), "{:?}", out.result);
    }

    fn create(path: &str, data: &[u8], flags: i32) -> Request {
        Request::Create(CreateRequest {
            path: path.into(),
            data: Some(bytes::Bytes::copy_from_slice(data)),
            acl: vec![Acl::open()],
            flags,
        })
    }

    /// A small tree made by Corral's own apply: persistent, sequential and
    /// ephemeral nodes, data set twice, one session.
    fn sample() -> Tree {
        let mut tree = Tree::new(TreeConfig::default());
        let session = Command {
            time: 0,
            session_id: 0x42,
            auth: vec![],
            op: CommandOp::CreateSession {
                timeout_ms: 30_000,
                passwd: bytes::Bytes::copy_from_slice(&zookeeper_password(0x42)),
            },
        };
        apply(&mut tree, &session, 1);
        tree.last_zxid = 1;
        write(&mut tree, create("/a", b"one", 0));
        write(&mut tree, create("/a/b", b"", 0));
        write(&mut tree, create("/a/s-", b"seq", 2));
        write(&mut tree, create("/a/e", b"eph", 1));
        write(
            &mut tree,
            Request::SetData(SetDataRequest {
                path: "/a".into(),
                data: Some(bytes::Bytes::from_static(b"two")),
                version: 0,
            }),
        );
        tree
    }

    type Row = (String, Option<Vec<u8>>, jute::StatPersisted, Vec<Acl>);

    fn rows(tree: &Tree) -> Vec<Row> {
        let mut all: Vec<Row> = tree
            .iter_nodes()
            .map(|n| {
                (
                    n.path().to_owned(),
                    n.data.as_deref().map(<[u8]>::to_vec),
                    n.stat.clone(),
                    tree.acl_of(n).to_vec(),
                )
            })
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    fn snapshot_bytes(tree: &Tree) -> Vec<u8> {
        let mut out = Vec::new();
        snap::write(tree, crate::digest::tree_digest(tree), &mut out).expect("write");
        out
    }

    #[test]
    fn a_snapshot_written_reads_back_with_every_node_session_and_its_digest() {
        let tree = sample();
        let bytes = snapshot_bytes(&tree);
        let mut back = Tree::empty(TreeConfig::default());
        let loaded =
            snap::read(&bytes, Path::new("snapshot.6"), &mut back, &mut |_| {}).expect("reads");
        assert_eq!(rows(&back), rows(&tree));
        assert_eq!(loaded.sessions, vec![(0x42, 30_000)]);
        assert_eq!(
            loaded.digest,
            Some(ZxidDigest {
                zxid: tree.last_zxid(),
                version: 2,
                digest: crate::digest::tree_digest(&tree),
            })
        );
        assert_eq!(back.child_names(back.node("/a").expect("/a")).count(), 3);
    }

    #[test]
    fn a_damaged_snapshot_is_refused_at_its_seal() {
        let tree = sample();
        let mut bytes = snapshot_bytes(&tree);
        let at = bytes.len() / 2;
        bytes[at] ^= 0x01;
        let mut back = Tree::empty(TreeConfig::default());
        match snap::read(&bytes, Path::new("snapshot.6"), &mut back, &mut |_| {}) {
            Err(ImportError::Corrupt { what, .. }) => {
                assert!(what.contains("Adler-32") || what.contains(':'), "{what}")
            }
            other => panic!(
                "expected a corrupt snapshot, got {:?}",
                other.map(|l| l.nodes)
            ),
        }
        let cut = &snapshot_bytes(&tree)[..40];
        assert!(
            snap::read(
                cut,
                Path::new("s"),
                &mut Tree::empty(TreeConfig::default()),
                &mut |_| {}
            )
            .is_err()
        );
    }

    /// A store built by bulk ingestion opens to the same tree, and reads
    /// back the same account that was written.
    #[test]
    fn a_store_created_from_a_tree_reads_back_the_same() {
        let tree = sample();
        let dir = tempfile::tempdir().expect("tempdir");
        let digest = crate::digest::tree_digest(&tree);
        let written =
            crate::Store::create(dir.path(), &tree, digest, &[("k", b"v")]).expect("create");
        let read = crate::Store::stored(dir.path(), &written.middle).expect("stored");
        assert!(read.same_bytes(&written), "{read:?} against {written:?}");
        assert_eq!(written.digest, digest, "the values decoded as written");
        assert_eq!((read.nodes, read.sessions), (tree.node_count() as u64, 1));
        assert!(
            crate::Store::create(
                tempfile::tempdir().expect("tempdir").path(),
                &tree,
                digest + 1,
                &[]
            )
            .is_err(),
            "a tree whose digest is not the one given"
        );
        assert!(
            crate::Store::create(dir.path(), &tree, digest, &[]).is_err(),
            "a second create"
        );
        let (store, back) = crate::Store::open(dir.path(), TreeConfig::default()).expect("open");
        assert_eq!(rows(&back), rows(&tree));
        assert_eq!(back.last_zxid(), tree.last_zxid());
        assert_eq!(store.get_meta("k").expect("meta"), Some(b"v".to_vec()));
    }

    /// `corral import`'s restore of `dir` into a new store.
    fn import(dir: &Path) -> (tempfile::TempDir, crate::Store, Restored) {
        let store_dir = tempfile::tempdir().expect("tempdir");
        let store = crate::Store::create_empty(store_dir.path()).expect("a new store");
        let r = restore_into(
            dir,
            dir,
            &Options::default(),
            &mut |_| {},
            Some(&|| Ok(&store)),
        )
        .expect("restores into the store");
        (store_dir, store, r)
    }

    /// A log as `FileTxnLog.append` writes it, with `zeros` of
    /// preallocation after the records.
    fn log(entries: &[(TxnHeader, Vec<u8>)], zeros: usize) -> Vec<u8> {
        let mut out = FileHeader {
            magic: TXNLOG_MAGIC,
            version: 2,
            dbid: 0,
        }
        .to_bytes()
        .to_vec();
        for (h, body) in entries {
            let mut txn = h.to_bytes().to_vec();
            txn.extend_from_slice(body);
            out.extend_from_slice(&i64::from(adler2::adler32_slice(&txn)).to_be_bytes());
            out.extend_from_slice(&(txn.len() as i32).to_be_bytes());
            out.extend_from_slice(&txn);
            out.push(b'B');
        }
        out.extend(std::iter::repeat_n(0u8, zeros));
        out
    }

    fn header(zxid: i64, t: i32) -> TxnHeader {
        TxnHeader {
            client_id: 0x77,
            cxid: 1,
            zxid,
            time: 1_700_000_000_000,
            txn_type: t,
        }
    }

    fn create_txn(path: &str, cversion: i32) -> Vec<u8> {
        CreateTxn {
            path: path.into(),
            data: Some(bytes::Bytes::from_static(b"d")),
            acl: vec![Acl::open()],
            ephemeral: false,
            parent_cversion: cversion,
        }
        .to_bytes()
        .to_vec()
    }

    /// A ZooKeeper directory: the sample's snapshot at zxid 6, and a log
    /// from 7 on (a session and two creates).
    fn zk_dir(log_bytes: &[u8]) -> tempfile::TempDir {
        let tree = sample();
        assert_eq!(tree.last_zxid(), 6);
        zk_dir_of(&tree, log_bytes)
    }

    /// A ZooKeeper directory: `tree`'s snapshot at its last zxid, and a
    /// log from the next one on.
    fn zk_dir_of(tree: &Tree, log_bytes: &[u8]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let v2 = dir.path().join("version-2");
        std::fs::create_dir_all(&v2).expect("mkdir");
        let zxid = tree.last_zxid();
        std::fs::write(v2.join(format!("snapshot.{zxid:x}")), snapshot_bytes(tree)).expect("write");
        std::fs::write(v2.join(format!("log.{:x}", zxid + 1)), log_bytes).expect("write");
        dir
    }

    fn entries() -> Vec<(TxnHeader, Vec<u8>)> {
        vec![
            (
                header(7, txnlog::op::CREATE_SESSION),
                CreateSessionTxn { timeout: 10_000 }.to_bytes().to_vec(),
            ),
            (header(8, txnlog::op::CREATE), create_txn("/c", -1)),
            (header(9, txnlog::op::CREATE), create_txn("/c/d", 1)),
        ]
    }

    /// `corral import`'s way: the snapshot's nodes ingested into a new
    /// store while the tree is built, then what the log changed (creates,
    /// a delete and a set of snapshot nodes, a session) written as a
    /// batch. The store reads back the account, and opens to the tree a
    /// plain restore builds.
    #[test]
    fn an_import_ingests_the_snapshot_and_writes_what_the_log_changed() {
        let mut all = entries();
        all.push((
            header(10, txnlog::op::DELETE),
            DeleteTxn {
                path: "/a/b".into(),
            }
            .to_bytes()
            .to_vec(),
        ));
        all.push((
            header(11, txnlog::op::SET_DATA),
            SetDataTxn {
                path: "/a".into(),
                data: Some(bytes::Bytes::from_static(b"three")),
                version: 2,
            }
            .to_bytes()
            .to_vec(),
        ));
        let dir = zk_dir(&log(&all, 4096));
        let plain =
            restore(dir.path(), dir.path(), &Options::default(), &mut |_| {}).expect("restores");
        assert!(plain.tree.node("/a/b").is_none());
        assert!(plain.ingested.is_none());

        let (store_dir, store, mut r) = import(dir.path());
        // Only what the log touched is built: the rest is in the store.
        assert!(
            r.tree.node("/a/s-0000000001").is_none(),
            "untouched, not built"
        );
        assert_eq!(r.nodes, plain.tree.node_count() as u64);
        assert_eq!(r.digest, plain.digest);
        let ingested = r.ingested.take().expect("the snapshot was ingested");
        assert_eq!(ingested.nodes, sample().node_count() as u64);
        let written = store
            .seal_import(&mut r.tree, ingested, &[("k", b"v")])
            .expect("sealed");
        assert_eq!(written.digest, r.digest, "the stored values' digest");
        drop(store);
        let read = crate::Store::stored(store_dir.path(), &written.middle).expect("stored");
        assert!(read.same_bytes(&written), "{read:?} against {written:?}");
        assert_eq!(read.nodes, plain.tree.node_count() as u64);
        assert_eq!(read.sessions, 2, "the snapshot's session and the log's");
        let (store, back) =
            crate::Store::open(store_dir.path(), TreeConfig::default()).expect("opens");
        assert_eq!(rows(&back), rows(&plain.tree));
        assert_eq!(back.last_zxid(), 11);
        assert_eq!(back.sessions().len(), 2);
        assert_eq!(store.get_meta("k").expect("meta"), Some(b"v".to_vec()));
        assert!(
            crate::Store::create_empty(store_dir.path()).is_err(),
            "a store is not created over another"
        );
    }

    #[test]
    fn restore_replays_the_log_after_the_snapshot() {
        let dir = zk_dir(&log(&entries(), 4096));
        let r =
            restore(dir.path(), dir.path(), &Options::default(), &mut |_| {}).expect("restores");
        assert_eq!(r.txns, 3);
        assert_eq!(r.tree.last_zxid(), 9);
        let c = r.tree.node("/c").expect("/c");
        assert_eq!((c.stat.czxid, c.stat.cversion, c.stat.pzxid), (8, 1, 9));
        // A V0-style -1 moves the parent's cversion by one.
        let root = r.tree.node("/").expect("/");
        assert_eq!((root.stat.cversion, root.stat.pzxid), (2, 8));
        let s = r.tree.sessions().get(0x77).expect("the session");
        assert_eq!(s.passwd.as_ref(), zookeeper_password(0x77));
        assert_eq!(r.digests_checked, 1, "the snapshot's own digest");
    }

    #[test]
    fn a_torn_tail_stops_the_import_unless_accepted() {
        let whole = log(&entries(), 0);
        let torn = &whole[..whole.len() - 5];
        let dir = zk_dir(torn);
        match restore(dir.path(), dir.path(), &Options::default(), &mut |_| {}) {
            Err(ImportError::TornTail { offset, .. }) => {
                let two = log(&entries()[..2], 0);
                assert_eq!(offset, two.len() as u64, "the third record's offset");
            }
            other => panic!("expected a torn tail, got {other:?}"),
        }
        let accept = Options {
            accept_truncated_tail: true,
            ..Options::default()
        };
        let r = restore(dir.path(), dir.path(), &accept, &mut |_| {}).expect("accepted");
        assert_eq!((r.txns, r.torn.len()), (2, 1));
        assert!(r.tree.node("/c/d").is_none());
    }

    #[test]
    fn a_bad_checksum_a_gap_and_an_unknown_version_are_errors() {
        let mut bad = log(&entries(), 64);
        let last = bad.len() - 64 - 3;
        bad[last] ^= 0xff;
        let dir = zk_dir(&bad);
        let e = restore(dir.path(), dir.path(), &Options::default(), &mut |_| {}).expect_err("crc");
        assert!(e.to_string().contains("CRC check failed"), "{e}");

        let mut gap = entries();
        gap.remove(1);
        let dir = zk_dir(&log(&gap, 0));
        match restore(dir.path(), dir.path(), &Options::default(), &mut |_| {}) {
            Err(ImportError::Gap { after: 7, next: 9 }) => {}
            other => panic!("expected a gap, got {other:?}"),
        }

        let dir = zk_dir(&log(&entries(), 0));
        let snap = dir.path().join("version-2/snapshot.6");
        let mut bytes = std::fs::read(&snap).expect("read");
        bytes[7] = 3;
        std::fs::write(&snap, bytes).expect("write");
        match restore(dir.path(), dir.path(), &Options::default(), &mut |_| {}) {
            Err(ImportError::Unsupported { what, .. }) => {
                assert!(what.contains("version 3"), "{what}")
            }
            other => panic!("expected unsupported, got {other:?}"),
        }
    }

    /// An import builds only the nodes the log touches, and writes the
    /// rest from the snapshot's records: every kind of transaction
    /// (creates under untouched parents, a delete that drops a subtree, a
    /// multi, an ACL change, a session's close that does not list its
    /// ephemerals, changes under a quota) leaves the store holding exactly the tree a full
    /// restore builds, quota usage included.
    #[test]
    fn an_import_stores_what_a_full_restore_builds() {
        let mut tree = sample();
        for (path, data) in [
            ("/q", "q"),
            ("/q/x", "x"),
            ("/q/y", "yy"),
            ("/big", ""),
            ("/big/k1", "1"),
            ("/big/k2", "2"),
            ("/big/k3", "3"),
            ("/del", ""),
            ("/del/sub", ""),
            ("/del/sub/leaf", "l"),
            ("/zookeeper/quota/q", ""),
            ("/zookeeper/quota/q/zookeeper_limits", "count=10,bytes=-1"),
            ("/zookeeper/quota/q/zookeeper_stats", "count=3,bytes=4"),
        ] {
            write(&mut tree, create(path, data.as_bytes(), 0));
        }
        let z = tree.last_zxid();
        let create_of = |path: &str, cversion: i32| CreateTxn {
            path: path.into(),
            data: Some(bytes::Bytes::from_static(b"new")),
            acl: vec![Acl::open()],
            ephemeral: false,
            parent_cversion: cversion,
        };
        let set_of = |path: &str, version: i32| SetDataTxn {
            path: path.into(),
            data: Some(bytes::Bytes::from_static(b"changed")),
            version,
        };
        let sub = |t: i32, body: bytes::BytesMut| jute::txn::Txn {
            txn_type: t,
            data: Some(body.freeze()),
        };
        let mut close = header(z + 7, txnlog::op::CLOSE_SESSION);
        close.client_id = 0x42;
        let all = vec![
            (
                header(z + 1, txnlog::op::SET_DATA),
                set_of("/q/x", 1).to_bytes().to_vec(),
            ),
            (
                header(z + 2, txnlog::op::CREATE),
                create_of("/q/z", 3).to_bytes().to_vec(),
            ),
            (
                header(z + 3, txnlog::op::DELETE),
                DeleteTxn {
                    path: "/del".into(),
                }
                .to_bytes()
                .to_vec(),
            ),
            (
                header(z + 4, txnlog::op::SET_ACL),
                jute::txn::SetAclTxn {
                    path: "/big/k1".into(),
                    acl: vec![Acl {
                        perms: 1,
                        id: jute::Id::new("world", "anyone"),
                    }],
                    version: 1,
                }
                .to_bytes()
                .to_vec(),
            ),
            (
                header(z + 5, txnlog::op::MULTI),
                jute::txn::MultiTxn {
                    txns: vec![
                        sub(txnlog::op::CREATE, create_of("/m", 3).to_bytes()),
                        sub(txnlog::op::SET_DATA, set_of("/big/k2", 1).to_bytes()),
                        sub(
                            txnlog::op::DELETE,
                            DeleteTxn {
                                path: "/big/k3".into(),
                            }
                            .to_bytes(),
                        ),
                    ],
                }
                .to_bytes()
                .to_vec(),
            ),
            (
                header(z + 6, txnlog::op::CREATE),
                create_of("/big/k9", 5).to_bytes().to_vec(),
            ),
            // As logged before 3.6: the ephemerals are the tree's to know.
            (close, Vec::new()),
        ];
        let dir = zk_dir_of(&tree, &log(&all, 512));
        let full =
            restore(dir.path(), dir.path(), &Options::default(), &mut |_| {}).expect("restores");
        assert_eq!(full.txns, 7);
        for gone in ["/del", "/del/sub/leaf", "/big/k3", "/a/e"] {
            assert!(full.tree.node(gone).is_none(), "{gone}");
        }
        let stats = full
            .tree
            .node("/zookeeper/quota/q/zookeeper_stats")
            .and_then(|n| n.data.as_deref())
            .map(|d| String::from_utf8_lossy(d).into_owned());
        assert_eq!(
            stats.as_deref(),
            Some("count=4,bytes=13"),
            "/q, x, y, z recounted"
        );

        let (store_dir, store, mut r) = import(dir.path());
        assert!(
            r.tree.node_count() < full.tree.node_count(),
            "{} nodes built of {}",
            r.tree.node_count(),
            full.tree.node_count()
        );
        assert_eq!(r.nodes, full.tree.node_count() as u64);
        assert_eq!(r.digest, full.digest);
        let ingested = r.ingested.take().expect("ingested");
        let written = store
            .seal_import(&mut r.tree, ingested, &[])
            .expect("sealed");
        assert_eq!(written.digest, full.digest);
        assert_eq!(written.nodes, r.nodes);
        drop(store);
        let read = crate::Store::stored(store_dir.path(), &written.middle).expect("stored");
        assert!(read.same_bytes(&written), "{read:?} against {written:?}");
        let (_store, back) =
            crate::Store::open(store_dir.path(), TreeConfig::default()).expect("opens");
        assert_eq!(rows(&back), rows(&full.tree));
        assert_eq!(back.sessions().len(), full.tree.sessions().len());

        // The same snapshot as ZooKeeper before 3.6 wrote it, without its
        // digest: the stored values' digest is checked against the records'.
        let snap = dir.path().join(format!("version-2/snapshot.{z:x}"));
        let mut bytes = std::fs::read(&snap).expect("read");
        // zxid, digest version, digest, and the seal after them.
        bytes.truncate(bytes.len() - (8 + 4 + 8 + 8 + 5));
        std::fs::write(&snap, bytes).expect("write");
        let old = restore(dir.path(), dir.path(), &Options::default(), &mut |_| {})
            .expect("restores without a digest");
        assert_eq!(old.digests_checked, 0);
        let (_dir, store, mut r) = import(dir.path());
        let ingested = r.ingested.take().expect("ingested");
        assert_eq!(ingested.digest, crate::digest::tree_digest(&tree));
        store
            .seal_import(&mut r.tree, ingested, &[])
            .expect("sealed");
        assert_eq!(r.digest, full.digest);
    }

    #[test]
    fn adler32_of_two_parts_combines() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for cut in [0, 1, 5_551, 65_521, 100_000, 199_999, 200_000] {
            let (a, b) = data.split_at(cut);
            assert_eq!(
                snap::adler32_combine(adler2::adler32_slice(a), adler2::adler32_slice(b), b.len()),
                adler2::adler32_slice(&data),
                "cut at {cut}"
            );
        }
    }
}
