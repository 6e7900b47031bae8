//! `WatchManager`: the watches of this server's sessions, and which of them
//! a change fires.
//!
//! Semantics follow ZooKeeper 3.8's `WatchManager` and `DataTree`:
//!
//! - One-shot **data** watches (set by `getData`, and by `exists` on a node
//!   that exists or not) fire on `NodeCreated`, `NodeDataChanged` and
//!   `NodeDeleted` of their path, and are removed when they fire.
//! - One-shot **child** watches (`getChildren`) fire on
//!   `NodeChildrenChanged` of their path and on its `NodeDeleted`.
//! - **Persistent** watches (`addWatch` mode 0) fire like both of the above
//!   for their path and stay.
//! - **Persistent-recursive** watches (mode 1) fire `NodeCreated`,
//!   `NodeDataChanged` and `NodeDeleted` for their path and every path below
//!   it, never `NodeChildrenChanged`, and stay.
//! - A session gets at most one notification per change, however many of its
//!   watches match (ZooKeeper suppresses duplicates per watcher).
//!
//! Order: events are produced in the order of the changes, and for one
//! change in ZooKeeper's order (data watchers, then child watchers).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use jute::proto::WatcherEvent;
use jute::{EventType, KeeperState, WatcherType};
use storage::{ChangeEvent, ChangeKind};

/// The kinds of watch a session can hold on a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// One-shot data/exist watch.
    Data,
    /// One-shot child watch.
    Child,
    /// `addWatch` PERSISTENT.
    Persistent,
    /// `addWatch` PERSISTENT_RECURSIVE.
    Recursive,
}

/// A set of [`Kind`]s, one bit each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Kinds(u8);

impl Kinds {
    fn bit(kind: Kind) -> u8 {
        1 << (kind as u8)
    }

    fn contains(self, kind: Kind) -> bool {
        self.0 & Self::bit(kind) != 0
    }

    /// Adds `kind`; whether it was new.
    fn insert(&mut self, kind: Kind) -> bool {
        let new = !self.contains(kind);
        self.0 |= Self::bit(kind);
        new
    }

    /// Removes `kind`; whether it was there.
    fn remove(&mut self, kind: Kind) -> bool {
        let had = self.contains(kind);
        self.0 &= !Self::bit(kind);
        had
    }

    fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn len(self) -> usize {
        self.0.count_ones() as usize
    }
}

/// The sessions watching one path, with their kinds: most paths have one
/// watcher, held inline; more are kept by session id.
#[derive(Debug)]
enum Watchers {
    One(i64, Kinds),
    Many(BTreeMap<i64, Kinds>),
}

impl Watchers {
    fn get(&self, session: i64) -> Option<Kinds> {
        match self {
            Watchers::One(s, k) => (*s == session).then_some(*k),
            Watchers::Many(m) => m.get(&session).copied(),
        }
    }

    /// Adds `kind` for `session`.
    fn add(&mut self, session: i64, kind: Kind) {
        match self {
            Watchers::One(s, k) if *s == session => {
                k.insert(kind);
            }
            Watchers::One(s, k) => {
                let mut kinds = Kinds::default();
                kinds.insert(kind);
                *self = Watchers::Many(BTreeMap::from([(*s, *k), (session, kinds)]));
            }
            Watchers::Many(m) => {
                m.entry(session).or_default().insert(kind);
            }
        }
    }

    /// Removes `kind` of `session`; whether it was there.
    fn remove(&mut self, session: i64, kind: Kind) -> bool {
        match self {
            Watchers::One(s, k) => *s == session && k.remove(kind),
            Watchers::Many(m) => {
                let Some(k) = m.get_mut(&session) else {
                    return false;
                };
                let had = k.remove(kind);
                if k.is_empty() {
                    m.remove(&session);
                }
                had
            }
        }
    }

    /// Forgets `session` altogether.
    fn remove_session(&mut self, session: i64) {
        match self {
            Watchers::One(s, k) if *s == session => *k = Kinds::default(),
            Watchers::One(..) => {}
            Watchers::Many(m) => {
                m.remove(&session);
            }
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Watchers::One(_, k) => k.is_empty(),
            Watchers::Many(m) => m.is_empty(),
        }
    }

    /// Every watching session with its kinds, by session id.
    fn iter(&self) -> impl Iterator<Item = (i64, Kinds)> + '_ {
        let (one, many) = match self {
            Watchers::One(s, k) => (Some((*s, *k)).filter(|(_, k)| !k.is_empty()), None),
            Watchers::Many(m) => (None, Some(m.iter().map(|(s, k)| (*s, *k)))),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

/// All watches of this server, indexed both ways. A path is held once
/// (`Arc<str>`), however many sessions and indexes refer to it: a million
/// watches cost about a sixth of what two `String`s and nested B-trees did
/// (`docs/benchmarks.md`, "Memory per session and per watch").
#[derive(Debug, Default)]
pub(crate) struct WatchManager {
    by_path: HashMap<Arc<str>, Watchers>,
    by_session: HashMap<i64, HashMap<Arc<str>, Kinds>>,
    /// Paths with at least one recursive watch: only then must a change
    /// walk its ancestors.
    recursive_paths: HashSet<Arc<str>>,
}

impl WatchManager {
    /// Adds a watch (idempotent).
    pub(crate) fn add(&mut self, session: i64, path: &str, kind: Kind) {
        let path: Arc<str> = match self.by_path.get_key_value(path) {
            Some((p, _)) => p.clone(),
            None => Arc::from(path),
        };
        match self.by_path.get_mut(&path) {
            Some(w) => w.add(session, kind),
            None => {
                let mut kinds = Kinds::default();
                kinds.insert(kind);
                self.by_path
                    .insert(path.clone(), Watchers::One(session, kinds));
            }
        }
        if kind == Kind::Recursive {
            self.recursive_paths.insert(path.clone());
        }
        self.by_session
            .entry(session)
            .or_default()
            .entry(path)
            .or_default()
            .insert(kind);
    }

    fn remove_one(&mut self, session: i64, path: &str, kind: Kind) -> bool {
        let mut removed = false;
        if let Some(watchers) = self.by_path.get_mut(path) {
            removed = watchers.remove(session, kind);
            if watchers.is_empty() {
                self.by_path.remove(path);
            }
        }
        if removed {
            if let Some(paths) = self.by_session.get_mut(&session) {
                if let Some(kinds) = paths.get_mut(path) {
                    kinds.remove(kind);
                    if kinds.is_empty() {
                        paths.remove(path);
                    }
                }
                if paths.is_empty() {
                    self.by_session.remove(&session);
                }
            }
            if kind == Kind::Recursive && !self.any_recursive_at(path) {
                self.recursive_paths.remove(path);
            }
        }
        removed
    }

    fn any_recursive_at(&self, path: &str) -> bool {
        self.by_path
            .get(path)
            .is_some_and(|w| w.iter().any(|(_, k)| k.contains(Kind::Recursive)))
    }

    /// The kinds `type` of `removeWatches` / `checkWatches` covers.
    fn kinds_for(kind: WatcherType) -> &'static [Kind] {
        match kind {
            WatcherType::Children => &[Kind::Child],
            WatcherType::Data => &[Kind::Data],
            WatcherType::Any => &[Kind::Data, Kind::Child, Kind::Persistent, Kind::Recursive],
            WatcherType::Persistent => &[Kind::Persistent],
            WatcherType::PersistentRecursive => &[Kind::Recursive],
        }
    }

    /// Whether `session` has a watch of `kind` on `path` (`checkWatches`).
    pub(crate) fn contains(&self, session: i64, path: &str, kind: WatcherType) -> bool {
        let Some(kinds) = self.by_path.get(path).and_then(|w| w.get(session)) else {
            return false;
        };
        Self::kinds_for(kind).iter().any(|k| kinds.contains(*k))
    }

    /// Removes `session`'s watches of `kind` on `path` (`removeWatches`);
    /// false if there were none.
    pub(crate) fn remove(&mut self, session: i64, path: &str, kind: WatcherType) -> bool {
        let mut any = false;
        for k in Self::kinds_for(kind) {
            any |= self.remove_one(session, path, *k);
        }
        any
    }

    /// Drops every watch of a session (it closed or expired).
    pub(crate) fn remove_session(&mut self, session: i64) {
        let Some(paths) = self.by_session.remove(&session) else {
            return;
        };
        for (path, kinds) in paths {
            if let Some(watchers) = self.by_path.get_mut(&path) {
                watchers.remove_session(session);
                if watchers.is_empty() {
                    self.by_path.remove(&path);
                }
            }
            if kinds.contains(Kind::Recursive) && !self.any_recursive_at(&path) {
                self.recursive_paths.remove(&path);
            }
        }
    }

    /// What ZooKeeper keeps in its data-watch manager, by path: one-shot
    /// data and exist watches and persistent ones (`wchs`/`wchc`/`wchp`
    /// report only these).
    pub(crate) fn data_watches(&self) -> BTreeMap<String, BTreeSet<i64>> {
        self.by_path
            .iter()
            .filter_map(|(path, watchers)| {
                let s: BTreeSet<i64> = watchers
                    .iter()
                    .filter(|(_, kinds)| kinds.0 & !Kinds::bit(Kind::Child) != 0)
                    .map(|(s, _)| s)
                    .collect();
                (!s.is_empty()).then(|| (path.to_string(), s))
            })
            .collect()
    }

    /// Each watching session's data watches (those [`Self::data_watches`]
    /// reports): how many paths, and the first `limit` of them in path
    /// order. Copies at most `limit` paths a session, whatever the number
    /// of watches (the console's Sessions tab).
    pub(crate) fn data_watches_sample(&self, limit: usize) -> HashMap<i64, (usize, Vec<String>)> {
        self.by_session
            .iter()
            .filter_map(|(session, paths)| {
                let mut data: Vec<&Arc<str>> = paths
                    .iter()
                    .filter(|(_, kinds)| kinds.0 & !Kinds::bit(Kind::Child) != 0)
                    .map(|(p, _)| p)
                    .collect();
                let count = data.len();
                if data.len() > limit {
                    data.select_nth_unstable(limit);
                    data.truncate(limit);
                }
                data.sort_unstable();
                let first = data.iter().map(|p| p.to_string()).collect();
                (count > 0).then_some((*session, (count, first)))
            })
            .collect()
    }

    /// Number of watches held (`mntr`'s `zk_watch_count`).
    pub(crate) fn len(&self) -> usize {
        self.by_session
            .values()
            .flat_map(HashMap::values)
            .map(|k| k.len())
            .sum()
    }

    /// The notifications one change produces, one per session at most,
    /// removing the one-shot watches that fired.
    pub(crate) fn trigger(&mut self, change: &ChangeEvent) -> Vec<(i64, WatcherEvent)> {
        let event_type = match change.kind {
            ChangeKind::Created => EventType::NodeCreated,
            ChangeKind::Deleted => EventType::NodeDeleted,
            ChangeKind::DataChanged => EventType::NodeDataChanged,
            ChangeKind::ChildrenChanged => EventType::NodeChildrenChanged,
        };
        // Which one-shot kinds this change fires on its own path.
        let one_shot: &[Kind] = match change.kind {
            ChangeKind::Created | ChangeKind::DataChanged => &[Kind::Data],
            ChangeKind::Deleted => &[Kind::Data, Kind::Child],
            ChangeKind::ChildrenChanged => &[Kind::Child],
        };
        let mut fired: Vec<i64> = Vec::new();
        let mut to_remove: Vec<(i64, Kind)> = Vec::new();
        if let Some(watchers) = self.by_path.get(change.path.as_str()) {
            for (session, kinds) in watchers.iter() {
                let mut hit = false;
                for k in one_shot {
                    if kinds.contains(*k) {
                        hit = true;
                        to_remove.push((session, *k));
                    }
                }
                hit |= kinds.contains(Kind::Persistent);
                hit |=
                    kinds.contains(Kind::Recursive) && change.kind != ChangeKind::ChildrenChanged;
                // A session appears once per path.
                if hit {
                    fired.push(session);
                }
            }
        }
        for (session, kind) in to_remove {
            self.remove_one(session, &change.path, kind);
        }
        if change.kind != ChangeKind::ChildrenChanged && !self.recursive_paths.is_empty() {
            let mut seen: HashSet<i64> = fired.iter().copied().collect();
            let mut ancestor = storage::path::parent(&change.path);
            while let Some(p) = ancestor {
                if let Some(watchers) = self
                    .by_path
                    .get(p)
                    .filter(|_| self.recursive_paths.contains(p))
                {
                    for (session, kinds) in watchers.iter() {
                        if kinds.contains(Kind::Recursive) && seen.insert(session) {
                            fired.push(session);
                        }
                    }
                }
                ancestor = storage::path::parent(p);
            }
        }
        fired
            .into_iter()
            .map(|s| {
                let ev = WatcherEvent {
                    kind: event_type.into(),
                    state: KeeperState::SyncConnected.into(),
                    path: change.path.clone(),
                };
                (s, ev)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
