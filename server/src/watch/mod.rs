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

use std::collections::{BTreeMap, BTreeSet, HashMap};

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

/// All watches of this server, indexed both ways.
#[derive(Debug, Default)]
pub(crate) struct WatchManager {
    by_path: HashMap<String, BTreeMap<i64, BTreeSet<Kind>>>,
    by_session: HashMap<i64, BTreeSet<(String, Kind)>>,
    /// Paths with at least one recursive watch: only then must a change
    /// walk its ancestors.
    recursive_paths: BTreeSet<String>,
}

impl WatchManager {
    /// Adds a watch (idempotent).
    pub(crate) fn add(&mut self, session: i64, path: &str, kind: Kind) {
        self.by_path
            .entry(path.to_owned())
            .or_default()
            .entry(session)
            .or_default()
            .insert(kind);
        self.by_session
            .entry(session)
            .or_default()
            .insert((path.to_owned(), kind));
        if kind == Kind::Recursive {
            self.recursive_paths.insert(path.to_owned());
        }
    }

    fn remove_one(&mut self, session: i64, path: &str, kind: Kind) -> bool {
        let mut removed = false;
        if let Some(sessions) = self.by_path.get_mut(path) {
            if let Some(kinds) = sessions.get_mut(&session) {
                removed = kinds.remove(&kind);
                if kinds.is_empty() {
                    sessions.remove(&session);
                }
            }
            if sessions.is_empty() {
                self.by_path.remove(path);
            }
        }
        if removed {
            if let Some(set) = self.by_session.get_mut(&session) {
                set.remove(&(path.to_owned(), kind));
                if set.is_empty() {
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
            .is_some_and(|s| s.values().any(|k| k.contains(&Kind::Recursive)))
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
        let Some(kinds) = self.by_path.get(path).and_then(|s| s.get(&session)) else {
            return false;
        };
        Self::kinds_for(kind).iter().any(|k| kinds.contains(k))
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
        let Some(set) = self.by_session.remove(&session) else {
            return;
        };
        for (path, kind) in set {
            if let Some(sessions) = self.by_path.get_mut(&path) {
                sessions.remove(&session);
                if sessions.is_empty() {
                    self.by_path.remove(&path);
                }
            }
            if kind == Kind::Recursive && !self.any_recursive_at(&path) {
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
            .filter_map(|(path, sessions)| {
                let s: BTreeSet<i64> = sessions
                    .iter()
                    .filter(|(_, kinds)| kinds.iter().any(|k| *k != Kind::Child))
                    .map(|(s, _)| *s)
                    .collect();
                (!s.is_empty()).then(|| (path.clone(), s))
            })
            .collect()
    }

    /// Number of watches held (`mntr`'s `zk_watch_count`).
    pub(crate) fn len(&self) -> usize {
        self.by_session.values().map(BTreeSet::len).sum()
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
        if let Some(sessions) = self.by_path.get(&change.path) {
            for (session, kinds) in sessions {
                let mut hit = false;
                for k in one_shot {
                    if kinds.contains(k) {
                        hit = true;
                        to_remove.push((*session, *k));
                    }
                }
                hit |= kinds.contains(&Kind::Persistent);
                hit |=
                    kinds.contains(&Kind::Recursive) && change.kind != ChangeKind::ChildrenChanged;
                if hit && !fired.contains(session) {
                    fired.push(*session);
                }
            }
        }
        for (session, kind) in to_remove {
            self.remove_one(session, &change.path, kind);
        }
        if change.kind != ChangeKind::ChildrenChanged && !self.recursive_paths.is_empty() {
            let mut ancestor = storage::path::parent(&change.path);
            while let Some(p) = ancestor {
                if let Some(sessions) = self
                    .by_path
                    .get(p)
                    .filter(|_| self.recursive_paths.contains(p))
                {
                    for (session, kinds) in sessions {
                        if kinds.contains(&Kind::Recursive) && !fired.contains(session) {
                            fired.push(*session);
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
