//! The Raft log and vote on fjall.
//!
//! Keyspaces `raft_log` (key: index, u64 big-endian; value: the entry,
//! postcard) and `raft_meta` (`vote`, `committed`, `last_purged`), in their
//! own fjall database beside the tree's.
//!
//! ### Durability and group commit
//! `append` writes its entries to fjall's journal (buffered) and hands the
//! `LogFlushed` callback to a flusher thread. (openraft 0.9.25's core
//! awaits that callback in `RaftCore::append_to_log`, so it appends
//! nothing more until the sync returns; `docs/decisions/0001-openraft-0.9.md`.)
//! The flusher takes every callback queued so far,
//! makes the journal durable with **one** `fdatasync`
//! (`Database::persist(SyncData)`), and only then reports them all, in
//! order. So concurrent writes share one sync, no write waits for a timer,
//! and nothing is reported durable before it is. A vote is synced before
//! `save_vote` returns. With ZooKeeper's `forceSync=no`
//! ([`LogStore::set_force_sync`]) an append is reported as soon as fjall
//! has written it to the kernel. A standalone server, which can never
//! gain members, syncs in `append` itself, on the Raft thread
//! ([`LogStore::set_sync_inline`]): the same one `fdatasync` for the
//! batch, without the two thread wake-ups of the hand-off.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{Entry, LogId, OptionalSend, RaftLogReader, StorageError, StorageIOError, Vote};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{NodeId, TypeConfig, WriteMetrics};

type StorageResult<T> = Result<T, StorageError<NodeId>>;

/// The log store; clones share the database (one of them is the reader
/// replication tasks use).
#[derive(Clone)]
pub struct LogStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    log: Keyspace,
    meta: Keyspace,
    /// Callbacks of appends not yet synced, in append order.
    flush: std::sync::mpsc::Sender<LogFlushed<TypeConfig>>,
    /// ZooKeeper's `forceSync`: when off, an append is reported durable
    /// once fjall has handed it to the kernel, with no `fdatasync` (a
    /// crash of the process loses nothing, a power loss the latest
    /// appends). Votes are synced either way.
    force_sync: std::sync::atomic::AtomicBool,
    /// A standalone server syncs in `append` itself
    /// ([`LogStore::set_sync_inline`]); the first failure of such a sync.
    sync_inline: std::sync::atomic::AtomicBool,
    inline_failed: std::sync::Mutex<Option<String>>,
    metrics: WriteMetrics,
}

/// The flusher: one `fdatasync` for everything appended so far, then the
/// callbacks, in order. Ends when the store is dropped.
///
/// A failed sync fails every later one too: after an `fsync` error the
/// kernel may have dropped the dirty pages and report the next sync clean
/// ("fsyncgate"), so nothing appended after it can be trusted durable
/// either (fjall poisons its database for the same reason).
fn flusher(
    db: Database,
    rx: std::sync::mpsc::Receiver<LogFlushed<TypeConfig>>,
    metrics: WriteMetrics,
) {
    let mut failed: Option<String> = None;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        metrics.appends_per_fsync.observe(batch.len() as f64);
        let synced = sync_once(&db, &mut failed, &metrics);
        for cb in batch {
            cb.log_io_completed(synced.clone().map_err(std::io::Error::other));
        }
    }
}

/// One sync of the log, for every append made so far; `failed` remembers
/// the first failure, which fails every later sync.
fn sync_once(
    db: &Database,
    failed: &mut Option<String>,
    metrics: &WriteMetrics,
) -> Result<(), String> {
    if let Some(first) = failed {
        return Err(format!("an earlier sync failed: {first}"));
    }
    // A deliberately broken build for the fault harness: acknowledges
    // without syncing. The entries stay in fjall's journal buffer (up to
    // 8 KiB) until a later write fills it, as unsynced pages stay in the
    // page cache: a kill -9 of a quorum at once loses them as a power cut
    // would, and the harness must catch it.
    if ack_before_fsync() {
        return Ok(());
    }
    let synced = {
        let _t = metrics.fsync_seconds.start_timer();
        sync_log(db)
    };
    if let Err(e) = &synced {
        tracing::error!(error = %e, "raft log fsync failed: nothing more is acknowledged");
        metrics
            .storage_errors
            .with_label_values(&["log_fsync"])
            .inc();
        *failed = Some(e.clone());
    }
    synced
}

impl Debug for LogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore").finish_non_exhaustive()
    }
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, StorageIOError<NodeId>> {
    postcard::to_allocvec(v).map_err(|e| StorageIOError::write(&e))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StorageIOError<NodeId>> {
    postcard::from_bytes(bytes).map_err(|e| StorageIOError::read(&e))
}

impl LogStore {
    /// Opens (or creates) the log in `dir`, timing its appends and syncs
    /// into `metrics`.
    ///
    /// # Errors
    /// fjall's, if the directory cannot be opened.
    pub fn open(dir: &Path, metrics: WriteMetrics) -> Result<Self, fjall::Error> {
        // Recent entries are read back to replicate them; older ones are
        // purged behind snapshots. A small cache and 16 MiB memtables
        // (fjall's defaults: 32 MiB and 64 MiB) keep resident memory down.
        // The journal capped as the tree's (`storage::JOURNAL_BYTES`): the
        // vote and meta keyspaces are written rarely and would otherwise
        // pin every journal up to fjall's default of 512 MiB.
        // The broken build (`raft-log-ack-before-fsync`) keeps writes in
        // fjall's journal buffer (8 KiB) until it fills, so that what it
        // acknowledged without syncing is lost on kill -9 as unsynced
        // pages are in a power cut (fjall otherwise hands every batch to
        // the kernel at once, where a kill cannot lose it).
        let db = Database::builder(dir)
            .cache_size(8 << 20)
            .max_journaling_size(storage::JOURNAL_BYTES)
            .worker_threads(storage::FJALL_WORKERS)
            .manual_journal_persist(ack_before_fsync())
            .open()?;
        let options = || KeyspaceCreateOptions::default().max_memtable_size(16 << 20);
        let log = db.keyspace("raft_log", options)?;
        let meta = db.keyspace("raft_meta", options)?;
        let (flush, rx) = std::sync::mpsc::channel();
        let flusher_db = db.clone();
        let flusher_metrics = metrics.clone();
        std::thread::Builder::new()
            .name("raft-log-flush".into())
            .spawn(move || flusher(flusher_db, rx, flusher_metrics))
            .map_err(fjall::Error::from)?;
        Ok(LogStore {
            inner: Arc::new(Inner {
                db,
                log,
                meta,
                flush,
                force_sync: std::sync::atomic::AtomicBool::new(true),
                sync_inline: std::sync::atomic::AtomicBool::new(false),
                inline_failed: std::sync::Mutex::new(None),
                metrics,
            }),
        })
    }

    fn get_meta<T: DeserializeOwned>(&self, key: &str) -> StorageResult<Option<T>> {
        match self
            .inner
            .meta
            .get(key)
            .map_err(|e| StorageIOError::read(&e))?
        {
            Some(v) => Ok(Some(decode(&v)?)),
            None => Ok(None),
        }
    }

    /// Turns the `fdatasync` of appended entries on (the default) or off
    /// (ZooKeeper's `forceSync=no`).
    pub fn set_force_sync(&self, on: bool) {
        self.inner
            .force_sync
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Makes `append` sync the log itself, on the Raft thread, rather than
    /// hand the sync to the flusher: for a standalone server, which can
    /// never gain members. openraft's core waits for the sync inside
    /// every append either way (`RaftCore::append_to_log` awaits the
    /// callback), and with nobody to replicate to nothing else on that
    /// thread waits for it meanwhile; syncing there spares two thread
    /// wake-ups per write (the flusher's, then the Raft thread's).
    pub fn set_sync_inline(&self, on: bool) {
        self.inner
            .sync_inline
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Writes `vote` (synced) into a log that has never run: how a data
    /// directory imported from ZooKeeper starts at the imported epoch.
    ///
    /// # Errors
    /// openraft's [`StorageError`] if fjall fails.
    pub fn seed_vote(&self, vote: &Vote<NodeId>) -> StorageResult<()> {
        self.put_meta("vote", vote, true)
    }

    /// Counts a disk error where it struck (`corral_storage_errors_total`).
    fn count_error(&self, at: &str) {
        self.inner
            .metrics
            .storage_errors
            .with_label_values(&[at])
            .inc();
    }

    fn put_meta<T: Serialize>(&self, key: &str, value: &T, sync: bool) -> StorageResult<()> {
        fail::fail_point!("raft-meta-write", |_| {
            self.count_error("vote");
            Err(StorageIOError::write(&std::io::Error::other(
                "injected write failure (failpoint raft-meta-write)",
            ))
            .into())
        });
        let mut batch = self.inner.db.batch();
        if sync {
            batch = batch.durability(Some(PersistMode::SyncData));
        }
        batch.insert(&self.inner.meta, key, encode(value)?);
        batch.commit().map_err(|e| StorageIOError::write(&e))?;
        Ok(())
    }

    fn last_entry(&self) -> StorageResult<Option<Entry<TypeConfig>>> {
        match self.inner.log.iter().next_back() {
            Some(kv) => {
                let value = kv.value().map_err(|e| StorageIOError::read_logs(&e))?;
                Ok(Some(
                    decode(&value).map_err(|e| StorageIOError::read_logs(&e))?,
                ))
            }
            None => Ok(None),
        }
    }

    /// Removes the keys in `[from, to)` in durable batches.
    fn remove_range(&self, from: u64, to: Option<u64>) -> StorageResult<()> {
        let start = from.to_be_bytes();
        let keys: Vec<_> = match to {
            Some(end) => self
                .inner
                .log
                .range(start..end.to_be_bytes())
                .map(|kv| kv.key())
                .collect(),
            None => self.inner.log.range(start..).map(|kv| kv.key()).collect(),
        };
        for chunk in keys.chunks(10_000) {
            let mut batch = self
                .inner
                .db
                .batch()
                .durability(Some(PersistMode::SyncData));
            for key in chunk {
                let key = key.as_ref().map_err(StorageIOError::write_logs)?;
                batch.remove(&self.inner.log, key.clone());
            }
            batch.commit().map_err(|e| StorageIOError::write_logs(&e))?;
        }
        Ok(())
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> StorageResult<Vec<Entry<TypeConfig>>> {
        let start = match range.start_bound() {
            Bound::Included(x) => *x,
            Bound::Excluded(x) => x.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let mut out = Vec::new();
        for kv in self.inner.log.range(start.to_be_bytes()..) {
            let (key, value) = kv.into_inner().map_err(|e| StorageIOError::read_logs(&e))?;
            let index =
                u64::from_be_bytes(key.as_ref().try_into().map_err(|_| {
                    StorageIOError::read_logs(&std::io::Error::other("bad log key"))
                })?);
            if !range.contains(&index) {
                break;
            }
            let entry: Entry<TypeConfig> =
                decode(&value).map_err(|e| StorageIOError::read_logs(&e))?;
            out.push(entry);
        }
        Ok(out)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> StorageResult<LogState<TypeConfig>> {
        let last_purged_log_id: Option<LogId<NodeId>> = self.get_meta("last_purged")?;
        let last_log_id = self.last_entry()?.map(|e| e.log_id).or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> StorageResult<()> {
        self.put_meta("vote", vote, true)
    }

    async fn read_vote(&mut self) -> StorageResult<Option<Vote<NodeId>>> {
        self.get_meta("vote")
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> StorageResult<()> {
        self.put_meta("committed", &committed, false)
    }

    async fn read_committed(&mut self) -> StorageResult<Option<LogId<NodeId>>> {
        Ok(self
            .get_meta::<Option<LogId<NodeId>>>("committed")?
            .flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> StorageResult<()>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        fail::fail_point!("raft-log-append", |_| {
            self.count_error("log_append");
            Err(StorageIOError::write_logs(&std::io::Error::other(
                "injected write failure (failpoint raft-log-append)",
            ))
            .into())
        });
        let timer = self.inner.metrics.append_seconds.start_timer();
        let mut batch = self.inner.db.batch();
        for entry in entries {
            let value = encode(&entry).map_err(|e| StorageIOError::write_logs(&e))?;
            batch.insert(&self.inner.log, entry.log_id.index.to_be_bytes(), value);
        }
        batch.commit().map_err(|e| {
            self.count_error("log_append");
            StorageIOError::write_logs(&e)
        })?;
        timer.observe_duration();
        // forceSync=no: in the kernel's hands, which is all it asks.
        if !self
            .inner
            .force_sync
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            callback.log_io_completed(Ok(()));
            return Ok(());
        }
        if self
            .inner
            .sync_inline
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            let synced = {
                let mut failed = self
                    .inner
                    .inline_failed
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                self.inner.metrics.appends_per_fsync.observe(1.0);
                sync_once(&self.inner.db, &mut failed, &self.inner.metrics)
            };
            callback.log_io_completed(synced.map_err(std::io::Error::other));
            return Ok(());
        }
        // Durable, and reported, when the flusher's next sync returns.
        self.inner.flush.send(callback).map_err(|_| {
            StorageIOError::write_logs(&std::io::Error::other("the log flusher stopped"))
        })?;
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> StorageResult<()> {
        self.remove_range(log_id.index, None)
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> StorageResult<()> {
        self.put_meta("last_purged", &log_id, true)?;
        self.remove_range(0, Some(log_id.index.saturating_add(1)))
    }
}

/// Whether the broken build's failpoint `raft-log-ack-before-fsync` is on.
pub(crate) fn ack_before_fsync() -> bool {
    fail::fail_point!("raft-log-ack-before-fsync", |_| true);
    false
}

/// The log's `fdatasync` (the failpoint `raft-log-fsync` fails it).
fn sync_log(db: &Database) -> Result<(), String> {
    fail::fail_point!("raft-log-fsync", |_| Err(
        "injected fsync failure (failpoint raft-log-fsync)".to_owned()
    ));
    db.persist(PersistMode::SyncData).map_err(|e| e.to_string())
}
