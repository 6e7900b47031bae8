//! Handshake validation, timeout negotiation and session ids.
//!
//! Until the replicated session table lands (#3, #4), sessions live in this
//! server's memory: a client can resume its session on reconnect to the
//! same process, and is told its session expired anywhere else.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use jute::proto::{ConnectRequest, ConnectResponse};
use rand::RngCore;

use crate::Config;

/// A session as the server knows it.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The 64-bit id; the top byte is the id of the server that created it.
    pub id: i64,
    /// The negotiated timeout.
    pub timeout: Duration,
    /// The 16-byte password a client must present to resume.
    pub passwd: Bytes,
}

/// The sessions of this server.
#[derive(Debug)]
pub(crate) struct Sessions {
    /// Guards the table and the id counter; never held across an `.await`.
    inner: Mutex<Table>,
}

#[derive(Debug)]
struct Table {
    next_id: i64,
    live: HashMap<i64, Session>,
}

/// ZooKeeper's first session id: `(now_ms << 24 >>> 8) | (serverId << 56)`
/// (`SessionTrackerImpl.initializeNextSessionId`), then incremented.
fn initial_session_id(server_id: u8) -> i64 {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
    let shifted = ((now << 24) as u64 >> 8) as i64;
    shifted | (i64::from(server_id) << 56)
}

/// Clamps the requested timeout to `[min, max]` as ZooKeeper does.
pub(crate) fn negotiate_timeout(requested_ms: i32, config: &Config) -> Duration {
    let requested = Duration::from_millis(u64::try_from(requested_ms).unwrap_or(0));
    requested.clamp(config.min_session_timeout, config.max_session_timeout)
}

impl Sessions {
    pub(crate) fn new(server_id: u8) -> Self {
        Sessions {
            inner: Mutex::new(Table {
                next_id: initial_session_id(server_id),
                live: HashMap::new(),
            }),
        }
    }

    /// Answers a `ConnectRequest`: a new session, a resumed one, or — for an
    /// unknown session or a wrong password — ZooKeeper's "expired" reply
    /// (timeout 0, session id 0, zero password), after which the connection
    /// must be closed. The reply mirrors the request's `readOnly` dialect.
    pub(crate) fn accept(
        &self,
        req: &ConnectRequest,
        config: &Config,
    ) -> (Option<Session>, ConnectResponse) {
        let timeout = negotiate_timeout(req.time_out, config);
        let mut table = match self.inner.lock() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        };
        let session = if req.session_id == 0 {
            let id = table.next_id;
            table.next_id = table.next_id.wrapping_add(1);
            let mut pw = [0u8; 16];
            rand::rng().fill_bytes(&mut pw);
            let s = Session {
                id,
                timeout,
                passwd: Bytes::copy_from_slice(&pw),
            };
            table.live.insert(id, s.clone());
            Some(s)
        } else {
            table
                .live
                .get_mut(&req.session_id)
                .filter(|s| s.passwd == req.passwd)
                .map(|s| {
                    s.timeout = timeout;
                    s.clone()
                })
        };
        let rsp = match &session {
            Some(s) => ConnectResponse {
                protocol_version: 0,
                time_out: i32::try_from(s.timeout.as_millis()).unwrap_or(i32::MAX),
                session_id: s.id,
                passwd: s.passwd.clone(),
                read_only: req.read_only.map(|_| false),
            },
            None => ConnectResponse {
                protocol_version: 0,
                time_out: 0,
                session_id: 0,
                passwd: Bytes::from_static(&[0; 16]),
                read_only: req.read_only.map(|_| false),
            },
        };
        (session, rsp)
    }

    /// Forgets a session (on `closeSession` or expiry).
    pub(crate) fn close(&self, id: i64) {
        let mut table = match self.inner.lock() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        };
        table.live.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_clamped_to_two_and_twenty_ticks() {
        let c = Config::for_tests(".".into());
        assert_eq!(negotiate_timeout(100, &c), Duration::from_secs(4));
        assert_eq!(negotiate_timeout(30_000, &c), Duration::from_secs(30));
        assert_eq!(negotiate_timeout(90_000, &c), Duration::from_secs(40));
        assert_eq!(negotiate_timeout(-5, &c), Duration::from_secs(4));
    }

    #[test]
    fn resume_needs_the_right_password() {
        let c = Config::for_tests(".".into());
        let s = Sessions::new(1);
        let (new, rsp) = s.accept(
            &ConnectRequest {
                time_out: 10_000,
                ..Default::default()
            },
            &c,
        );
        let new = new.expect("a new session");
        assert_eq!(rsp.session_id, new.id);
        assert_eq!(new.id >> 56, 1, "top byte is the server id");
        assert_eq!(rsp.read_only, None, "dialect mirrors the request");
        let resume = ConnectRequest {
            session_id: new.id,
            passwd: new.passwd.clone(),
            read_only: Some(false),
            ..Default::default()
        };
        let (again, rsp) = s.accept(&resume, &c);
        assert!(again.is_some());
        assert_eq!(rsp.read_only, Some(false));
        let wrong = ConnectRequest {
            session_id: new.id,
            passwd: Bytes::from_static(&[1; 16]),
            ..Default::default()
        };
        let (none, rsp) = s.accept(&wrong, &c);
        assert!(none.is_none());
        assert_eq!((rsp.session_id, rsp.time_out), (0, 0));
    }
}
