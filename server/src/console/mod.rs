//! The web console on the AdminServer's port (`/ui`): the tree, the
//! sessions and their watches, the ensemble, and the load, in one page
//! embedded in the binary (`ui.html`, no build step).
//!
//! The tree is read and written only through ZooKeeper sessions of this
//! server ([`client`]): an anonymous one per browser address, or the one a
//! user opened by logging in with a ZooKeeper scheme (`digest`, which is
//! also how the super user authenticates). So every ACL holds exactly as
//! for any client; edits (off unless `corral.console.readOnly=false`)
//! need a logged-in user. Sessions, the ensemble and the load come from
//! the same state the AdminServer's `dump`, `cons`, `wchc` and `mntr`
//! show on this port.
//!
//! Keys: `corral.console.enabled` (default true), `corral.console.readOnly`
//! (default true). See `docs/operations.md`, "The web console".

mod client;
mod sampler;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Query, Request as HttpRequest, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use jute::proto::{
    CreateRequest, DeleteRequest, GetAclRequest, GetChildren2Request, GetDataRequest,
    SetAclRequest, SetDataRequest,
};
use jute::{Acl, ErrorCode, Id, Request, Response as ZkResponse, Stat};
use jute::{CreateMode, Perms};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::core::Core;
use client::ZkSession;

/// The page.
const PAGE: &str = include_str!("ui.html");
/// The login cookie.
const COOKIE: &str = "corral_console";
/// Anonymous sessions (one per browser address) the console keeps open
/// at most.
const MAX_ANONYMOUS: usize = 32;
/// Logged-in sessions at most, and per browser address (a new login from
/// an address at its share closes that address's oldest).
const MAX_LOGINS: usize = 32;
const LOGINS_PER_ADDRESS: usize = 4;
/// Children requests served at once (each reads a whole family).
const TREE_READS: usize = 4;
/// Sessions listed at most.
const MAX_SESSION_ROWS: usize = 10_000;
/// Watched paths listed per session at most (all are counted).
const WATCHES_LISTED: usize = 100;
/// Children listed per page at most.
const MAX_PAGE: usize = 1000;

/// The console's state.
pub(crate) struct Console {
    core: Arc<Core>,
    shutdown: CancellationToken,
    edits: bool,
    samples: sampler::Samples,
    /// Held only to look up, insert and remove, never across a request to
    /// the server.
    sessions: std::sync::Mutex<Sessions>,
    tree_reads: tokio::sync::Semaphore,
    /// The names this console answers to (DNS rebinding).
    hosts: Vec<String>,
}

#[derive(Default)]
struct Sessions {
    anonymous: HashMap<IpAddr, Arc<ZkSession>>,
    /// By login token: the session and the address it logged in from.
    logins: HashMap<String, (Arc<ZkSession>, IpAddr)>,
}

impl Sessions {
    /// Forgets ended sessions; returns the idle ones, forgotten too, for
    /// the caller to close outside the lock.
    fn sweep(&mut self) -> Vec<Arc<ZkSession>> {
        let mut idle = Vec::new();
        self.anonymous.retain(|_, s| keep(s, &mut idle));
        self.logins.retain(|_, (s, _)| keep(s, &mut idle));
        idle
    }
}

fn keep(s: &Arc<ZkSession>, idle: &mut Vec<Arc<ZkSession>>) -> bool {
    if s.is_ended() {
        return false;
    }
    if s.idle() > client::IDLE {
        idle.push(s.clone());
        return false;
    }
    true
}

/// Closes `sessions` in the background.
fn close_all(sessions: Vec<Arc<ZkSession>>) {
    if !sessions.is_empty() {
        tokio::spawn(async move {
            for s in sessions {
                s.close().await;
            }
        });
    }
}

/// The host names the console answers to besides IP literals and
/// `localhost`: this machine's name and the hosts of the configuration's
/// server lines. A page of another site whose name was made to resolve to
/// this address (DNS rebinding) carries its own name and is refused.
fn known_hosts(config: &crate::Config) -> Vec<String> {
    let mut hosts = vec!["localhost".to_owned()];
    for f in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        if let Ok(name) = std::fs::read_to_string(f) {
            hosts.push(name.trim().to_owned());
        }
    }
    for line in &config.servers {
        hosts.extend(host_of(&line.quorum_addr).map(str::to_owned));
        if let Some(client) = &line.client_addr {
            hosts.extend(host_of(client).map(str::to_owned));
        }
    }
    hosts.retain(|h| !h.is_empty());
    for h in &mut hosts {
        h.make_ascii_lowercase();
    }
    hosts
}

/// The host of `host[:port]` or `[v6][:port]`.
fn host_of(authority: &str) -> Option<&str> {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split_once(']').map(|(h, _)| h);
    }
    match authority.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => Some(h),
        _ => Some(authority),
    }
}

/// Refuses a request addressed to a name the console does not answer to,
/// and marks every answer not to be framed or sniffed.
async fn guard(State(c): Shared, request: HttpRequest, next: Next) -> Response {
    let allowed = match request.headers().get(header::HOST).map(HeaderValue::to_str) {
        None => true,
        Some(Ok(authority)) => host_of(authority).is_some_and(|h| {
            h.parse::<IpAddr>().is_ok() || c.hosts.iter().any(|k| k.eq_ignore_ascii_case(h))
        }),
        Some(Err(_)) => false,
    };
    let mut response = if allowed {
        next.run(request).await
    } else {
        error(
            StatusCode::MISDIRECTED_REQUEST,
            "the console answers to this server's IP addresses and its configured names only",
        )
    };
    let h = response.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The console's routes, to merge into the AdminServer's; its sampler
/// runs until `shutdown`.
pub(crate) fn router(core: Arc<Core>, shutdown: CancellationToken) -> axum::Router {
    let samples = sampler::Samples::default();
    tokio::spawn(sampler::run(
        core.clone(),
        samples.clone(),
        shutdown.clone(),
    ));
    let console = Arc::new(Console {
        edits: !core.config.console_read_only,
        hosts: known_hosts(&core.config),
        core,
        shutdown,
        samples,
        sessions: std::sync::Mutex::default(),
        tree_reads: tokio::sync::Semaphore::new(TREE_READS),
    });
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/ui") }))
        .route("/ui", get(page))
        .route("/ui/", get(page))
        .route("/ui/api/whoami", get(whoami))
        .route("/ui/api/login", post(login))
        .route("/ui/api/logout", post(logout))
        .route("/ui/api/children", get(children))
        .route("/ui/api/node", get(node))
        .route("/ui/api/sessions", get(sessions))
        .route("/ui/api/ensemble", get(ensemble))
        .route("/ui/api/load", get(load))
        .route("/ui/api/edit", post(edit))
        .route_layer(middleware::from_fn_with_state(console.clone(), guard))
        .with_state(console)
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Html(PAGE),
    )
        .into_response()
}

fn reply(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(body.clone()),
    )
        .into_response()
}

fn error(status: StatusCode, why: impl Into<String>) -> Response {
    reply(status, &json!({ "error": why.into() }))
}

/// A ZooKeeper error, as the page shows it: its name and code.
fn zk_error(code: ErrorCode) -> Response {
    reply(
        StatusCode::OK,
        &json!({ "error": code.name(), "code": i32::from(code) }),
    )
}

fn token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

impl Console {
    fn lock(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The session a request acts as: the logged-in one of its cookie, or
    /// the anonymous one of its address (opened on first use).
    async fn session(
        &self,
        headers: &HeaderMap,
        peer: SocketAddr,
    ) -> Result<Arc<ZkSession>, Response> {
        let found = {
            let mut sessions = self.lock();
            if let Some(t) = token(headers) {
                return match sessions.logins.get(&t) {
                    Some((s, _)) if !s.is_ended() => Ok(s.clone()),
                    _ => {
                        sessions.logins.remove(&t);
                        Err(error(
                            StatusCode::UNAUTHORIZED,
                            "your console session has ended: log in again",
                        ))
                    }
                };
            }
            sessions
                .anonymous
                .get(&peer.ip())
                .filter(|s| !s.is_ended())
                .cloned()
        };
        if let Some(s) = found {
            return Ok(s);
        }
        let idle = self.lock().sweep();
        close_all(idle);
        if self.lock().anonymous.len() >= MAX_ANONYMOUS {
            return Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the console holds {MAX_ANONYMOUS} anonymous sessions already"),
            ));
        }
        let s = self.open(peer, None).await?;
        let replaced = self.lock().anonymous.insert(peer.ip(), s.clone());
        close_all(replaced.into_iter().collect());
        Ok(s)
    }

    async fn open(
        &self,
        peer: SocketAddr,
        user: Option<String>,
    ) -> Result<Arc<ZkSession>, Response> {
        // The browser's address, port 0: `ip` ACLs apply to it as to any
        // client from there.
        let at = SocketAddr::new(peer.ip(), 0);
        ZkSession::open(&self.core, at, user, &self.shutdown)
            .await
            .map_err(|_| {
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "this server is not serving clients (not in touch with a quorum?)",
                )
            })
    }
}

type Shared = State<Arc<Console>>;
type Peer = ConnectInfo<SocketAddr>;

/// What the server holds a session to be (`whoAmI`), as `scheme:user`:
/// after a login as the super user, `super:` is there only if the
/// password was right.
async fn ids(s: &ZkSession) -> Vec<String> {
    match s.call(Request::WhoAmI).await {
        Ok(ZkResponse::WhoAmI(w)) => w
            .client_info
            .iter()
            .map(|i| format!("{}:{}", i.auth_scheme, i.user))
            .collect(),
        _ => Vec::new(),
    }
}

/// Who the page acts as, and this member (a page still shows the
/// ensemble when no session can be opened here).
async fn whoami(State(c): Shared, headers: HeaderMap, ConnectInfo(peer): Peer) -> Response {
    let session = c.session(&headers, peer).await.ok();
    let ids = match &session {
        Some(s) => ids(s).await,
        None => Vec::new(),
    };
    reply(
        StatusCode::OK,
        &json!({
            "user": session.as_ref().and_then(|s| s.user.clone()),
            "ids": ids,
            "session": session.as_ref().map(|s| hex_id(s.id)),
            "edits": c.edits,
            "member": c.core.config.server_id,
            "mode": c.core.mode(),
            "version": crate::monitor::four_letter::version_string(),
        }),
    )
}

#[derive(Deserialize)]
struct Login {
    scheme: String,
    auth: String,
}

async fn login(State(c): Shared, ConnectInfo(peer): Peer, Json(l): Json<Login>) -> Response {
    if l.scheme != "digest" {
        return error(
            StatusCode::BAD_REQUEST,
            "the console logs in with the digest scheme (user:password)",
        );
    }
    let user = l.auth.split(':').next().unwrap_or_default().to_owned();
    let (full, idle) = {
        let mut sessions = c.lock();
        let idle = sessions.sweep();
        // An address at its share gives up its oldest login.
        let mut mine: Vec<(String, Duration)> = sessions
            .logins
            .iter()
            .filter(|(_, (_, ip))| *ip == peer.ip())
            .map(|(t, (s, _))| (t.clone(), s.idle()))
            .collect();
        mine.sort_by_key(|(_, idle)| std::cmp::Reverse(*idle));
        let mut gone = idle;
        for (t, _) in mine
            .iter()
            .take((mine.len() + 1).saturating_sub(LOGINS_PER_ADDRESS))
        {
            gone.extend(sessions.logins.remove(t).map(|(s, _)| s));
        }
        (sessions.logins.len() >= MAX_LOGINS, gone)
    };
    close_all(idle);
    if full {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the console holds {MAX_LOGINS} logged-in sessions already"),
        );
    }
    let s = match c.open(peer, Some(format!("digest:{user}"))).await {
        Ok(s) => s,
        Err(e) => return e,
    };
    if let Err(code) = s.add_auth(&l.scheme, l.auth.as_bytes()).await {
        s.close().await;
        tracing::info!(%peer, user, "console login refused");
        return reply(
            StatusCode::UNAUTHORIZED,
            &json!({ "error": code.name(), "code": i32::from(code) }),
        );
    }
    let ids = ids(&s).await;
    let t = hex::encode(rand::random::<[u8; 16]>());
    c.lock().logins.insert(t.clone(), (s.clone(), peer.ip()));
    tracing::info!(%peer, user, session_id = format_args!("0x{:x}", s.id), "console login");
    let cookie = format!("{COOKIE}={t}; Path=/ui; HttpOnly; SameSite=Strict");
    let mut r = reply(
        StatusCode::OK,
        &json!({ "user": s.user, "ids": ids, "session": hex_id(s.id) }),
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn logout(State(c): Shared, headers: HeaderMap) -> Response {
    if let Some(t) = token(&headers) {
        let s = c.lock().logins.remove(&t);
        if let Some((s, _)) = s {
            s.close().await;
        }
    }
    let mut r = reply(StatusCode::OK, &json!({}));
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("corral_console=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    r
}

fn hex_id(id: i64) -> String {
    format!("0x{id:x}")
}

/// A Stat for the page: zxids and the owner in hex (they pass 2^53),
/// times in ms since the epoch.
fn stat_json(s: &Stat) -> Value {
    json!({
        "czxid": hex_id(s.czxid),
        "mzxid": hex_id(s.mzxid),
        "pzxid": hex_id(s.pzxid),
        "ctime": s.ctime,
        "mtime": s.mtime,
        "version": s.version,
        "cversion": s.cversion,
        "aversion": s.aversion,
        "ephemeralOwner": hex_id(s.ephemeral_owner),
        "dataLength": s.data_length,
        "numChildren": s.num_children,
    })
}

/// zkCli's letters for the permission bits, in its order.
const PERM_LETTERS: [(Perms, char); 5] = [
    (Perms::READ, 'r'),
    (Perms::WRITE, 'w'),
    (Perms::CREATE, 'c'),
    (Perms::DELETE, 'd'),
    (Perms::ADMIN, 'a'),
];

fn perms(p: i32) -> String {
    let p = Perms::from_bits_retain(p);
    PERM_LETTERS
        .iter()
        .filter(|(bit, _)| p.contains(*bit))
        .map(|(_, c)| *c)
        .collect()
}

fn acl_json(acl: &[Acl]) -> Value {
    acl.iter()
        .map(|a| json!({ "scheme": a.id.scheme, "id": a.id.id, "perms": perms(a.perms) }))
        .collect()
}

#[derive(Deserialize)]
struct ChildrenQuery {
    path: String,
    #[serde(default)]
    offset: usize,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    prefix: String,
}

async fn children(
    State(c): Shared,
    headers: HeaderMap,
    ConnectInfo(peer): Peer,
    Query(q): Query<ChildrenQuery>,
) -> Response {
    let s = match c.session(&headers, peer).await {
        Ok(s) => s,
        Err(e) => return e,
    };
    let Ok(_permit) = c.tree_reads.acquire().await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "stopping");
    };
    let request = Request::GetChildren2(GetChildren2Request {
        path: q.path.clone(),
        watch: false,
    });
    let (mut names, stat) = match s.call(request).await {
        Ok(ZkResponse::GetChildren2(r)) => (r.children, r.stat),
        Ok(_) => return zk_error(ErrorCode::MarshallingError),
        Err(code) => return zk_error(code),
    };
    let total = names.len();
    names.retain(|n| n.starts_with(&q.prefix));
    names.sort_unstable();
    let matched = names.len();
    let limit = q.limit.unwrap_or(200).clamp(1, MAX_PAGE);
    let page: Vec<&String> = names.iter().skip(q.offset).take(limit).collect();
    reply(
        StatusCode::OK,
        &json!({
            "path": q.path,
            "stat": stat_json(&stat),
            "total": total,
            "matched": matched,
            "offset": q.offset,
            "children": page,
        }),
    )
}

#[derive(Deserialize)]
struct PathQuery {
    path: String,
}

/// The quota of `path`, if it has one: the text of its limits and stats
/// nodes, read as this session may.
async fn quota(s: &ZkSession, path: &str) -> Option<Value> {
    if path == "/" {
        return None;
    }
    let mut found = BTreeMap::new();
    for (leaf, node) in [
        (storage::quota::LIMITS, storage::quota::limits_path(path)),
        (storage::quota::STATS, storage::quota::stats_path(path)),
    ] {
        let request = Request::GetData(GetDataRequest {
            path: node,
            watch: false,
        });
        if let Ok(ZkResponse::GetData(r)) = s.call(request).await {
            let text = r.data.map(|d| String::from_utf8_lossy(&d).into_owned());
            found.insert(leaf, text.unwrap_or_default());
        }
    }
    (!found.is_empty()).then(|| json!(found))
}

async fn node(
    State(c): Shared,
    headers: HeaderMap,
    ConnectInfo(peer): Peer,
    Query(q): Query<PathQuery>,
) -> Response {
    let s = match c.session(&headers, peer).await {
        Ok(s) => s,
        Err(e) => return e,
    };
    let data = s
        .call(Request::GetData(GetDataRequest {
            path: q.path.clone(),
            watch: false,
        }))
        .await;
    let acl = s
        .call(Request::GetAcl(GetAclRequest {
            path: q.path.clone(),
        }))
        .await;
    // The ACL and Stat can be read where the data cannot (NOAUTH on the
    // data alone is shown as such).
    let (acl, acl_stat) = match acl {
        Ok(ZkResponse::GetAcl(r)) => (Ok(acl_json(&r.acl)), Some(r.stat)),
        Ok(_) => (Err(ErrorCode::MarshallingError), None),
        Err(code) => (Err(code), None),
    };
    let (data, stat) = match data {
        Ok(ZkResponse::GetData(r)) => (Ok(r.data), Some(r.stat)),
        Ok(_) => (Err(ErrorCode::MarshallingError), acl_stat),
        Err(code) => (Err(code), acl_stat),
    };
    let Some(stat) = stat else {
        return zk_error(data.err().unwrap_or(ErrorCode::NoNode));
    };
    let mut body = json!({
        "path": q.path,
        "stat": stat_json(&stat),
        "quota": quota(&s, &q.path).await,
    });
    match data {
        Ok(d) => body["data_hex"] = json!(d.map(hex::encode)),
        Err(code) => body["data_error"] = json!(code.name()),
    }
    match acl {
        Ok(a) => body["acl"] = a,
        Err(code) => body["acl_error"] = json!(code.name()),
    }
    if stat.ephemeral_owner != 0 {
        body["ephemeral"] = json!(true);
    }
    reply(StatusCode::OK, &body)
}

async fn sessions(State(c): Shared) -> Response {
    let core = &c.core;
    let view = core.sessions_view();
    let ephemerals: HashMap<i64, Vec<String>> = view.ephemerals.into_iter().collect();
    let watches = core.data_watches_sample(WATCHES_LISTED);
    let mut here: HashMap<i64, serde_json::Map<String, Value>> = HashMap::new();
    for conn in core.stats.connections() {
        let m = conn.json(true);
        if let Some(id) = m
            .get("session_id")
            .and_then(Value::as_i64)
            .filter(|id| *id != 0)
        {
            here.insert(id, m);
        }
    }
    let now = crate::monitor::stats::monotonic_ms();
    let total = view.timeouts.len();
    let list: Vec<Value> = view
        .timeouts
        .iter()
        .take(MAX_SESSION_ROWS)
        .map(|(id, timeout)| {
            let conn = here.get(id);
            let field = |k: &str| conn.and_then(|m| m.get(k)).cloned().unwrap_or(Value::Null);
            json!({
                "id": hex_id(*id),
                "timeout_ms": timeout,
                "connected_here": conn.is_some(),
                "client": field("remote_socket_address"),
                "established": field("established"),
                "since_reply_ms": conn
                    .and_then(|m| m.get("last_response_time"))
                    .and_then(Value::as_i64)
                    .map(|at| now.saturating_sub(at)),
                "last_operation": field("last_operation"),
                "packets_received": field("packets_received"),
                "packets_sent": field("packets_sent"),
                "outstanding_requests": field("outstanding_requests"),
                "ephemerals": ephemerals.get(id).cloned().unwrap_or_default(),
                "watch_count": watches.get(id).map_or(0, |(n, _)| *n),
                "watches": watches.get(id).map(|(_, p)| p.clone()).unwrap_or_default(),
            })
        })
        .collect();
    reply(
        StatusCode::OK,
        &json!({ "member": core.config.server_id, "total": total, "sessions": list }),
    )
}

async fn ensemble(State(c): Shared) -> Response {
    let core = &c.core;
    let (ready, ready_body) = crate::monitor::admin::readiness(core);
    let view = core.raft_view();
    let (leading, last_log) = (view.leading, view.last_log);
    let m = core.raft.metrics().borrow().clone();
    let me = core.me;
    let membership = m.membership_config.membership().clone();
    let voters: std::collections::BTreeSet<_> = membership.voter_ids().collect();
    let heard = core.heard.lock().map(|h| h.clone()).unwrap_or_default();
    let matched: HashMap<_, _> = m
        .replication
        .as_ref()
        .filter(|_| leading)
        .map(|r| {
            r.iter()
                .map(|(id, l)| (*id, l.map_or(0, |l| l.index)))
                .collect()
        })
        .unwrap_or_default();
    let members: Vec<Value> = membership
        .nodes()
        .map(|(id, peer)| {
            let role = if m.current_leader == Some(*id) {
                "leader"
            } else if voters.contains(id) {
                "follower"
            } else {
                "observer"
            };
            let mut row = json!({
                "id": id,
                "quorum": peer.raft_addr,
                "client": peer.client_addr,
                "role": role,
                "voter": voters.contains(id),
                "this": *id == me,
            });
            if *id == me {
                row["term"] = json!(view.term);
                row["last_log"] = json!(last_log);
                row["applied"] = json!(view.applied);
                row["lag"] = ready_body["lag"].clone();
                row["ready"] = json!(ready);
                row["mode"] = json!(core.mode());
            } else if let Some(idx) = matched.get(id) {
                row["matched"] = json!(idx);
                row["lag"] = json!(last_log.saturating_sub(*idx));
                // Within `/ready`'s lag of the leader's log (the member's
                // own `/ready` also needs it in touch with a quorum).
                row["synced"] = json!(last_log.saturating_sub(*idx) <= core.config.ready_max_lag);
                if let Some(at) = heard.get(id) {
                    row["heard_ms_ago"] = json!(at.elapsed().as_millis() as u64);
                }
            }
            row
        })
        .collect();
    reply(
        StatusCode::OK,
        &json!({
            "member": core.config.server_id,
            "me": me,
            "leader": m.current_leader,
            "leading": leading,
            "term": view.term,
            "voters": voters.len(),
            "quorum": voters.len() / 2 + 1,
            "standalone": core.config.is_standalone(),
            "ready": ready_body,
            "members": members,
        }),
    )
}

async fn load(State(c): Shared) -> Response {
    let samples: Vec<sampler::Sample> = c
        .samples
        .lock()
        .map(|s| s.iter().cloned().collect())
        .unwrap_or_default();
    reply(
        StatusCode::OK,
        &json!({
            "interval_ms": sampler::INTERVAL.as_millis() as u64,
            "samples": samples,
        }),
    )
}

#[derive(Deserialize)]
struct AclEntry {
    scheme: String,
    id: String,
    perms: String,
}

#[derive(Deserialize)]
struct Edit {
    op: String,
    path: String,
    #[serde(default)]
    data: Option<String>,
    #[serde(default = "any_version")]
    version: i32,
    /// `persistent`, `ephemeral`, `sequential`, `ephemeral_sequential`,
    /// `container`.
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    acl: Option<Vec<AclEntry>>,
}

fn any_version() -> i32 {
    -1
}

fn parse_perms(p: &str) -> Option<i32> {
    p.chars()
        .try_fold(Perms::empty(), |acc, ch| {
            PERM_LETTERS
                .iter()
                .find(|(_, c)| *c == ch)
                .map(|(bit, _)| acc | *bit)
        })
        .map(|p| p.bits())
}

/// Create, set, delete or setACL, as the logged-in user's session.
async fn edit(
    State(c): Shared,
    headers: HeaderMap,
    ConnectInfo(peer): Peer,
    Json(e): Json<Edit>,
) -> Response {
    if !c.edits {
        return error(
            StatusCode::FORBIDDEN,
            "the console is read-only (corral.console.readOnly=true)",
        );
    }
    if token(&headers).is_none() {
        return error(StatusCode::FORBIDDEN, "log in to edit");
    }
    let s = match c.session(&headers, peer).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let data = e.data.map(Bytes::from);
    let acl = match e.acl {
        None => vec![Acl::open()],
        Some(list) => {
            let mut out = Vec::with_capacity(list.len());
            for a in list {
                let Some(perms) = parse_perms(&a.perms) else {
                    return zk_error(ErrorCode::InvalidAcl);
                };
                out.push(Acl {
                    perms,
                    id: Id::new(a.scheme, a.id),
                });
            }
            out
        }
    };
    let request = match e.op.as_str() {
        "create" => {
            let mode = match e.mode.as_deref().unwrap_or("persistent") {
                "persistent" => CreateMode::Persistent,
                "ephemeral" => CreateMode::Ephemeral,
                "sequential" => CreateMode::PersistentSequential,
                "ephemeral_sequential" => CreateMode::EphemeralSequential,
                "container" => CreateMode::Container,
                other => return error(StatusCode::BAD_REQUEST, format!("unknown mode {other:?}")),
            };
            let r = CreateRequest {
                path: e.path.clone(),
                data,
                acl,
                flags: mode.into(),
            };
            if mode.is_container() {
                Request::CreateContainer(r)
            } else {
                Request::Create2(r)
            }
        }
        "set" => Request::SetData(SetDataRequest {
            path: e.path.clone(),
            data,
            version: e.version,
        }),
        "delete" => Request::Delete(DeleteRequest {
            path: e.path.clone(),
            version: e.version,
        }),
        "setacl" => Request::SetAcl(SetAclRequest {
            path: e.path.clone(),
            acl,
            version: e.version,
        }),
        other => return error(StatusCode::BAD_REQUEST, format!("unknown edit {other:?}")),
    };
    let user = s.user.clone().unwrap_or_default();
    match s.call(request).await {
        Ok(r) => {
            tracing::info!(%peer, user, op = e.op, path = e.path, "console edit");
            let (path, stat) = match r {
                ZkResponse::Create2(r) => (r.path, Some(r.stat)),
                ZkResponse::SetData(r) => (e.path, Some(r.stat)),
                ZkResponse::SetAcl(r) => (e.path, Some(r.stat)),
                _ => (e.path, None),
            };
            reply(
                StatusCode::OK,
                &json!({ "ok": true, "path": path, "stat": stat.as_ref().map(stat_json) }),
            )
        }
        Err(code) => {
            tracing::info!(%peer, user, op = e.op, path = e.path, error = code.name(), "console edit refused");
            zk_error(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perms_read_and_write_as_zkcli_spells_them() {
        assert_eq!(perms(31), "rwcda");
        assert_eq!(perms(1), "r");
        assert_eq!(perms(0), "");
        assert_eq!(parse_perms("cdrwa"), Some(31));
        assert_eq!(parse_perms("r"), Some(1));
        assert_eq!(parse_perms(""), Some(0));
        assert_eq!(parse_perms("rx"), None);
        for p in 0..32 {
            assert_eq!(parse_perms(&perms(p)), Some(p));
        }
    }

    #[test]
    fn the_login_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        assert_eq!(token(&h), None);
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; corral_console=abc; b=2"),
        );
        assert_eq!(token(&h).as_deref(), Some("abc"));
        h.insert(header::COOKIE, HeaderValue::from_static("corral_console="));
        assert_eq!(token(&h), None);
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("xcorral_console=abc"),
        );
        assert_eq!(token(&h), None);
    }

    #[test]
    fn stat_ids_are_hex_strings_that_survive_javascript() {
        let s = Stat {
            czxid: 0x1_0000_0003,
            ephemeral_owner: 0x1a2_5025_b7f8_0001,
            ..Stat::default()
        };
        let v = stat_json(&s);
        assert_eq!(v["czxid"], "0x100000003");
        assert_eq!(v["ephemeralOwner"], "0x1a25025b7f80001");
    }
}
