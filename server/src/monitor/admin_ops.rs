//! The AdminServer's commands that change or export the database, as
//! ZooKeeper 3.9 serves them (`Commands.SnapshotCommand`,
//! `Commands.RestoreCommand`), with the 3.9.4 rule that the caller must
//! hold ALL on `/` through the AdminServer's own authentication: an
//! `Authorization: <scheme> <credentials>` header (`digest user:password`,
//! or `ip`), checked bit by bit against the root's ACL
//! (`Commands.handleAuthorization`). Also the trace mask the `gtmk`/`stmk`
//! commands read and set.
//!
//! - `GET /commands/snapshot[?streaming=false]`: a snapshot of this
//!   member's tree at its last applied zxid, in Corral's snapshot format
//!   (`storage::snapshot`, versioned), streamed as
//!   `application/octet-stream` with ZooKeeper's `last_zxid` and
//!   `snapshot_size` headers. Taken from a consistent view of the store,
//!   outside the replica lock.
//! - `POST /commands/restore` with such a snapshot as the body: checked
//!   first, then proposed as one replicated `Restore` command, so every
//!   member restores the same tree and zxids keep growing (ZooKeeper's
//!   restore replaces one server's database and its zxid goes back to the
//!   snapshot's). Every connection is closed afterwards; sessions in the
//!   snapshot resume, others are expired.
//!
//! Each is refused with ZooKeeper's status codes: 401 without or with bad
//! credentials, 403 without ALL on `/`, 503 when disabled
//! (`zookeeper.admin.snapshot.enabled`, `zookeeper.admin.restore.enabled`),
//! 429 when rate-limited (`zookeeper.admin.rateLimiterIntervalInMS`).

use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::AtomicI64;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jute::{Id, Perms};
use serde_json::{Map, Value, json};
use storage::CommandOp;

use crate::core::{Core, NO_REPLY};

/// The largest snapshot `restore` takes (it travels as one Raft entry).
pub(crate) const MAX_RESTORE_BYTES: usize = 64 << 20;

/// ZooKeeper's `RateLimiter`: `rate` permits per window of `interval`,
/// the first window starting when the limiter is made.
#[derive(Debug)]
struct RateLimiter {
    interval: Duration,
    window_start: Instant,
    left: u32,
}

impl RateLimiter {
    fn new(interval: Duration) -> Self {
        RateLimiter {
            interval,
            window_start: Instant::now(),
            left: 1,
        }
    }

    fn allow(&mut self) -> bool {
        let now = Instant::now();
        if now > self.window_start + self.interval {
            self.left = 1;
            self.window_start = now;
        }
        if self.left > 0 {
            self.left -= 1;
            true
        } else {
            false
        }
    }
}

/// The AdminServer's mutable state.
#[derive(Debug)]
pub(crate) struct AdminOps {
    snapshot_limit: Mutex<RateLimiter>,
    restore_limit: Mutex<RateLimiter>,
    /// ZooKeeper's trace mask (`gtmk`, `stmk`, `get_trace_mask`,
    /// `set_trace_mask`): kept and reported; Corral's tracing is
    /// configured by its log filter instead.
    pub trace_mask: AtomicI64,
}

/// ZooKeeper's default trace mask (`ZooTrace.textTraceMask`).
pub(crate) const DEFAULT_TRACE_MASK: i64 = 306;

impl AdminOps {
    /// With `interval` as `zookeeper.admin.rateLimiterIntervalInMS`.
    pub(crate) fn new(interval: Duration) -> Self {
        AdminOps {
            // SnapshotCommand builds its limiter with TimeUnit.MICROSECONDS.
            snapshot_limit: Mutex::new(RateLimiter::new(Duration::from_micros(
                u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            ))),
            restore_limit: Mutex::new(RateLimiter::new(interval)),
            trace_mask: AtomicI64::new(DEFAULT_TRACE_MASK),
        }
    }
}

fn allow(limit: &Mutex<RateLimiter>) -> bool {
    limit.lock().is_ok_and(|mut l| l.allow())
}

/// A JSON answer: `fields`, then `command` and `error`, with `status`.
fn answer(
    status: StatusCode,
    command: &str,
    error: Option<&str>,
    fields: Map<String, Value>,
) -> Response {
    let mut m = fields;
    m.insert("command".into(), json!(command));
    m.insert("error".into(), error.map_or(Value::Null, |e| json!(e)));
    crate::monitor::admin::json_response(status, &Value::Object(m))
}

/// The ids an `Authorization` header authenticates
/// (`Commands.handleAuthentication`): `digest user:password` (plus
/// `super` for the super digest), or `ip` (the caller's address). `None`:
/// not authenticated.
fn authenticate(core: &Core, auth: &str, peer: IpAddr) -> Option<Vec<Id>> {
    let parts: Vec<&str> = auth.split(' ').collect();
    let (scheme, credentials) = match parts.as_slice() {
        [s] => (*s, None),
        [s, c] => (*s, Some(*c)),
        _ => return None,
    };
    if scheme == "digest" && credentials.is_none() {
        return None;
    }
    let credentials = credentials.unwrap_or_default().as_bytes();
    crate::auth::authenticate(&core.config, scheme, credentials, peer)
}

/// The 3.9.4 rule: ALL on `/`, each permission bit checked on its own.
/// `Some` is the refusal to send.
fn refusal(core: &Core, command: &str, headers: &HeaderMap, peer: IpAddr) -> Option<Response> {
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Some(answer(
            StatusCode::UNAUTHORIZED,
            command,
            Some("Auth info is missing for the command"),
            Map::new(),
        ));
    };
    let Some(mut ids) = authenticate(core, auth, peer) else {
        return Some(answer(
            StatusCode::UNAUTHORIZED,
            command,
            Some("Not authenticated"),
            Map::new(),
        ));
    };
    // The schemes this server serves, as a session's ids record them.
    ids.extend(core.config.acl_schemes().id());
    let acl = core.root_acl();
    let all = [
        Perms::READ,
        Perms::WRITE,
        Perms::CREATE,
        Perms::DELETE,
        Perms::ADMIN,
    ];
    if all
        .iter()
        .all(|p| storage::acl::check(&acl, *p, &ids).is_ok())
    {
        None
    } else {
        Some(answer(
            StatusCode::FORBIDDEN,
            command,
            Some("Not authorized"),
            Map::new(),
        ))
    }
}

/// `GET /commands/snapshot` (and `snap`).
pub(crate) async fn snapshot(
    core: &Core,
    command: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    peer: IpAddr,
) -> Response {
    if let Some(refused) = refusal(core, command, headers, peer) {
        return refused;
    }
    if !core.config.admin_snapshot_enabled {
        tracing::warn!("snapshot command is disabled");
        return answer(StatusCode::SERVICE_UNAVAILABLE, command, None, Map::new());
    }
    if !allow(&core.admin.snapshot_limit) {
        tracing::warn!("snapshot request was rate limited");
        return answer(StatusCode::TOO_MANY_REQUESTS, command, None, Map::new());
    }
    let streaming = query
        .iter()
        .find(|(k, _)| k == "streaming")
        .is_none_or(|(_, v)| v.eq_ignore_ascii_case("true"));
    let (view, zxid) = core.store_view();
    let started = Instant::now();
    let written = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        view.write_snapshot(&mut out).map(|()| out)
    })
    .await;
    let bytes = match written {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the snapshot command could not write a snapshot");
            return answer(StatusCode::INTERNAL_SERVER_ERROR, command, None, Map::new());
        }
        Err(e) => {
            tracing::warn!(error = %e, "the snapshot command's task failed");
            return answer(StatusCode::INTERNAL_SERVER_ERROR, command, None, Map::new());
        }
    };
    tracing::info!(
        zxid = format_args!("0x{zxid:x}"),
        bytes = bytes.len(),
        ms = started.elapsed().as_millis() as u64,
        streaming,
        "snapshot taken for the admin command"
    );
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("0x{zxid:x}")) {
        headers.insert("last_zxid", v);
    }
    headers.insert("snapshot_size", HeaderValue::from(bytes.len()));
    if streaming {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        (StatusCode::OK, headers, bytes).into_response()
    } else {
        let mut r = answer(StatusCode::OK, command, None, Map::new());
        r.headers_mut().extend(headers);
        r
    }
}

/// `POST /commands/restore` (and `rest`).
pub(crate) async fn restore(
    core: &Core,
    command: &str,
    headers: &HeaderMap,
    peer: IpAddr,
    body: bytes::Bytes,
) -> Response {
    if let Some(refused) = refusal(core, command, headers, peer) {
        return refused;
    }
    if !core.config.admin_restore_enabled {
        tracing::warn!("restore command is disabled");
        return answer(StatusCode::SERVICE_UNAVAILABLE, command, None, Map::new());
    }
    if body.is_empty() {
        return answer(StatusCode::BAD_REQUEST, command, None, Map::new());
    }
    if !allow(&core.admin.restore_limit) {
        tracing::warn!("restore request was rate limited");
        return answer(StatusCode::TOO_MANY_REQUESTS, command, None, Map::new());
    }
    // Checked here, so that the replicated command cannot fail.
    let config = core.tree_config();
    let check = body.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        storage::snapshot::read(&mut check.as_ref(), config).map(|t| t.node_count())
    })
    .await;
    let nodes = match parsed {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "restore: not a snapshot");
            return answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                command,
                Some(&format!("not a Corral snapshot: {e}")),
                Map::new(),
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "restore: the check failed");
            return answer(StatusCode::INTERNAL_SERVER_ERROR, command, None, Map::new());
        }
    };
    tracing::warn!(
        bytes = body.len(),
        znodes = nodes,
        "restoring the tree from a snapshot"
    );
    let op = CommandOp::Restore { snapshot: body };
    if let Err(e) = core.propose(NO_REPLY, 0, Vec::new(), op).await {
        tracing::warn!(error = %e, "restore: not committed");
        return answer(StatusCode::INTERNAL_SERVER_ERROR, command, None, Map::new());
    }
    let last_zxid = core.last_zxid();
    let mut fields = Map::new();
    fields.insert("last_zxid".into(), json!(last_zxid));
    answer(StatusCode::OK, command, None, fields)
}
