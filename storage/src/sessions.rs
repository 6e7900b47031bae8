//! The replicated session table and the ephemeral-owner index.
//!
//! No timers: expiry is decided by the leader in `server`, which proposes a
//! `CloseSession` command like any other write.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

/// A session as the replicated state knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Negotiated timeout, ms.
    pub timeout_ms: i32,
    /// The 16-byte password a client must present to resume it.
    pub passwd: Bytes,
}

/// Sessions and the ephemeral nodes each one owns.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sessions {
    live: BTreeMap<i64, SessionInfo>,
    ephemerals: BTreeMap<i64, BTreeSet<String>>,
}

impl Sessions {
    /// Adds a session (idempotent: a repeated create keeps the first).
    pub fn open(&mut self, id: i64, info: SessionInfo) -> bool {
        if self.live.contains_key(&id) {
            return false;
        }
        self.live.insert(id, info);
        true
    }

    /// Removes a session, returning the ephemerals it owned, sorted.
    pub fn close(&mut self, id: i64) -> Option<BTreeSet<String>> {
        self.live.remove(&id)?;
        Some(self.ephemerals.remove(&id).unwrap_or_default())
    }

    /// The session, if live.
    pub fn get(&self, id: i64) -> Option<&SessionInfo> {
        self.live.get(&id)
    }

    /// Whether the session is live.
    pub fn is_live(&self, id: i64) -> bool {
        self.live.contains_key(&id)
    }

    /// Every live session.
    pub fn iter(&self) -> impl Iterator<Item = (&i64, &SessionInfo)> {
        self.live.iter()
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Records that `session` owns the ephemeral at `path`.
    pub fn add_ephemeral(&mut self, session: i64, path: &str) {
        self.ephemerals
            .entry(session)
            .or_default()
            .insert(path.to_owned());
    }

    /// Forgets the ephemeral at `path`.
    pub fn remove_ephemeral(&mut self, session: i64, path: &str) {
        if let Some(set) = self.ephemerals.get_mut(&session) {
            set.remove(path);
            if set.is_empty() {
                self.ephemerals.remove(&session);
            }
        }
    }

    /// The ephemerals of `session`, sorted.
    pub fn ephemerals_of(&self, session: i64) -> impl Iterator<Item = &String> {
        self.ephemerals.get(&session).into_iter().flatten()
    }

    /// Total number of ephemeral nodes.
    pub fn ephemeral_count(&self) -> usize {
        self.ephemerals.values().map(BTreeSet::len).sum()
    }
}
