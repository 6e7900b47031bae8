//! The HTTP side: ZooKeeper's AdminServer (`/commands`, JSON), the
//! Prometheus endpoint (`/metrics`) and Corral's readiness probe
//! (`/ready`).
//!
//! - The AdminServer (`admin.serverAddress:admin.serverPort`, default the
//!   client IP and 8080) answers `/commands` with ZooKeeper 3.8's listing
//!   and `/commands/<name>` (a primary name or an alias) with ZooKeeper's
//!   JSON: the command's fields, then `command` and `error`, always with
//!   status 200, as ZooKeeper does. It also serves `/ready` and
//!   `/metrics`.
//! - The metrics port (`metricsProvider.httpPort`, default 7000) serves
//!   `/metrics` as ZooKeeper's Prometheus provider does.
//!
//! Both run on the server's tokio runtime and stop with it. A port that
//! cannot be bound is logged and the server goes on without it, as
//! ZooKeeper goes on when its AdminServer cannot start.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::core::Core;
use crate::monitor::four_letter::{self, MonValue, NOT_SERVING};

/// A command: its primary name, its aliases, and whether it needs a
/// serving server (ZooKeeper's `CommandBase.isServerRequired`).
struct Command {
    name: &'static str,
    aliases: &'static [&'static str],
    server_required: bool,
}

/// The commands Corral serves, by primary name.
const COMMANDS: &[Command] = &[
    Command {
        name: "configuration",
        aliases: &["conf", "config"],
        server_required: true,
    },
    Command {
        name: "connection_stat_reset",
        aliases: &["crst"],
        server_required: true,
    },
    Command {
        name: "connections",
        aliases: &["cons"],
        server_required: true,
    },
    Command {
        name: "get_trace_mask",
        aliases: &["gtmk"],
        server_required: false,
    },
    Command {
        name: "hash",
        aliases: &[],
        server_required: true,
    },
    Command {
        name: "last_snapshot",
        aliases: &["lsnp"],
        server_required: true,
    },
    Command {
        name: "observer_connection_stat_reset",
        aliases: &["orst"],
        server_required: true,
    },
    Command {
        name: "observers",
        aliases: &["obsr"],
        server_required: true,
    },
    Command {
        name: "restore",
        aliases: &["rest"],
        server_required: true,
    },
    Command {
        name: "set_trace_mask",
        aliases: &["stmk"],
        server_required: false,
    },
    Command {
        name: "snapshot",
        aliases: &["snap"],
        server_required: true,
    },
    Command {
        name: "system_properties",
        aliases: &["sysp"],
        server_required: false,
    },
    Command {
        name: "zabstate",
        aliases: &[],
        server_required: false,
    },
    Command {
        name: "dirs",
        aliases: &[],
        server_required: true,
    },
    Command {
        name: "dump",
        aliases: &[],
        server_required: true,
    },
    Command {
        name: "environment",
        aliases: &["env", "envi"],
        server_required: false,
    },
    Command {
        name: "initial_configuration",
        aliases: &["icfg"],
        server_required: true,
    },
    Command {
        name: "is_read_only",
        aliases: &["isro"],
        server_required: true,
    },
    Command {
        name: "leader",
        aliases: &["lead"],
        server_required: true,
    },
    Command {
        name: "monitor",
        aliases: &["mntr"],
        server_required: false,
    },
    Command {
        name: "ruok",
        aliases: &[],
        server_required: true,
    },
    Command {
        name: "server_stats",
        aliases: &["srvr"],
        server_required: true,
    },
    Command {
        name: "stat_reset",
        aliases: &["srst"],
        server_required: true,
    },
    Command {
        name: "stats",
        aliases: &["stat"],
        server_required: true,
    },
    Command {
        name: "voting_view",
        aliases: &[],
        server_required: true,
    },
    Command {
        name: "watch_summary",
        aliases: &["wchs"],
        server_required: true,
    },
    Command {
        name: "watches",
        aliases: &["wchc"],
        server_required: true,
    },
    Command {
        name: "watches_by_path",
        aliases: &["wchp"],
        server_required: true,
    },
];

/// The AdminServer's routes (plus `/ready` and `/metrics`).
pub(crate) fn admin_router(core: Arc<Core>) -> Router {
    Router::new()
        .route("/commands", get(listing))
        .route("/commands/", get(listing))
        .route("/commands/{*name}", get(command).post(command_post))
        .layer(DefaultBodyLimit::max(
            crate::monitor::admin_ops::MAX_RESTORE_BYTES,
        ))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .with_state(core)
}

/// The metrics port's route.
pub(crate) fn metrics_router(core: Arc<Core>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(core)
}

/// Binds `addr` and serves `router` until `shutdown`; a bind failure is
/// logged (the server goes on without this port).
pub(crate) async fn serve(
    what: &'static str,
    addr: SocketAddr,
    router: Router,
    shutdown: CancellationToken,
) {
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(%addr, error = %e, "{what} not started: cannot bind its port");
            return;
        }
    };
    tracing::info!(addr = %listener.local_addr().unwrap_or(addr), "{what} listening");
    if let Err(e) = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await
    {
        tracing::warn!(error = %e, "{what} stopped");
    }
}

/// `GET /commands`: ZooKeeper's listing of every primary name, sorted
/// (`JettyAdminServer.CommandServlet`), without a content type.
async fn listing() -> String {
    let names: BTreeSet<&str> = COMMANDS.iter().map(|c| c.name).collect();
    names
        .iter()
        .map(|n| format!("<a href=\"/commands/{n}\">{n}</a>\n<br/>\n"))
        .collect()
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let text = serde_json::to_string_pretty(body).unwrap_or_else(|_| {
        "{\"error\": \"Exception writing command response to JSON\"}".to_owned()
    });
    (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// `key=value` pairs of a query string (the commands' arguments take no
/// escaping: numbers and booleans).
fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (p.to_owned(), String::new()),
        })
        .collect()
}

/// The command a typed name or alias names.
fn lookup(typed: &str) -> Option<&'static Command> {
    COMMANDS
        .iter()
        .find(|c| c.name == typed || c.aliases.contains(&typed))
}

/// `GET /commands/<name>`: JSON, with status 200 for every command but
/// `snapshot` (its own codes and a byte stream) and `restore` (POST
/// only: 405).
async fn command(
    State(core): State<Arc<Core>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    let kwargs = query_pairs(query.as_deref());
    match lookup(&name).map(|c| c.name) {
        Some("snapshot") if core.answering() => {
            crate::monitor::admin_ops::snapshot(&core, "snapshot", &kwargs, &headers, peer.ip())
                .await
        }
        Some("restore") => {
            let mut m = Map::new();
            m.insert("command".into(), json!("restore"));
            m.insert("error".into(), json!("restore is a POST command"));
            json_response(StatusCode::METHOD_NOT_ALLOWED, &Value::Object(m))
        }
        _ => json_response(StatusCode::OK, &Value::Object(run(&core, &name, &kwargs))),
    }
}

/// `POST /commands/<name>`: `restore`, with the snapshot as the body.
async fn command_post(
    State(core): State<Arc<Core>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: bytes::Bytes,
) -> Response {
    match lookup(&name).map(|c| c.name) {
        Some("restore") if core.answering() => {
            crate::monitor::admin_ops::restore(&core, "restore", &headers, peer.ip(), body).await
        }
        Some("restore") => json_response(StatusCode::OK, &Value::Object(run(&core, &name, &[]))),
        Some(other) => {
            let mut m = Map::new();
            m.insert("command".into(), json!(other));
            m.insert("error".into(), json!(format!("{other} is a GET command")));
            json_response(StatusCode::METHOD_NOT_ALLOWED, &Value::Object(m))
        }
        None => json_response(StatusCode::OK, &Value::Object(run(&core, &name, &[]))),
    }
}

/// The response map of command `typed` (a name or an alias): its fields,
/// then `command` and `error` (`CommandResponse.toMap`).
fn run(core: &Core, typed: &str, kwargs: &[(String, String)]) -> Map<String, Value> {
    let Some(cmd) = COMMANDS
        .iter()
        .find(|c| c.name == typed || c.aliases.contains(&typed))
    else {
        let mut m = Map::new();
        m.insert("command".into(), json!(typed));
        m.insert("error".into(), json!(format!("Unknown command: {typed}")));
        return m;
    };
    if cmd.server_required && !core.answering() {
        let mut m = Map::new();
        m.insert("command".into(), json!(typed));
        m.insert("error".into(), json!(NOT_SERVING.trim_end()));
        return m;
    }
    let mut m = fields(core, cmd.name, kwargs);
    m.insert("command".into(), json!(cmd.name));
    if !m.contains_key("error") {
        m.insert("error".into(), Value::Null);
    }
    m
}

/// `system_properties`: Corral is no JVM, so these are the settings it
/// honours under the names ZooKeeper reads them from (`zookeeper.*`
/// properties, the zoo.cfg keys ZooKeeper turns into properties), and the
/// process facts Java reports (`os.*`, `user.*`, separators), sorted.
fn system_properties(core: &Core) -> BTreeMap<String, String> {
    let c = &core.config;
    let mut p = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        p.insert(k.to_owned(), v);
    };
    put("file.separator", "/".into());
    put("line.separator", "\n".into());
    put("path.separator", ":".into());
    put(
        "os.name",
        match std::env::consts::OS {
            "linux" => "Linux".into(),
            other => other.into(),
        },
    );
    put(
        "os.arch",
        match std::env::consts::ARCH {
            "x86_64" => "amd64".into(),
            other => other.into(),
        },
    );
    if let Ok(dir) = std::env::current_dir() {
        put("user.dir", dir.display().to_string());
    }
    if let Ok(v) = std::env::var("HOME") {
        put("user.home", v);
    }
    if let Some(name) = user_name() {
        put("user.name", name);
    }
    if let Ok(release) = std::fs::read_to_string("/proc/sys/kernel/osrelease") {
        put("os.version", release.trim().to_owned());
    }
    put("corral.version", env!("CARGO_PKG_VERSION").into());
    put(
        "znode.container.checkIntervalMs",
        c.container_check_interval.as_millis().to_string(),
    );
    put("jute.maxbuffer", c.max_frame_len.to_string());
    put("readonlymode.enabled", c.read_only_mode.to_string());
    put(
        "zookeeper.extendedTypesEnabled",
        c.extended_types_enabled.to_string(),
    );
    put("zookeeper.enforceQuota", c.enforce_quota.to_string());
    put(
        "zookeeper.4lw.commands.whitelist",
        c.four_letter_whitelist
            .as_ref()
            .map_or("*".to_owned(), |w| {
                w.iter().cloned().collect::<Vec<_>>().join(",")
            }),
    );
    put(
        "zookeeper.admin.enableServer",
        c.admin_addr.is_some().to_string(),
    );
    if let Some(a) = c.admin_addr {
        put("zookeeper.admin.serverAddress", a.ip().to_string());
        put("zookeeper.admin.serverPort", a.port().to_string());
    }
    put(
        "zookeeper.admin.rateLimiterIntervalInMS",
        c.admin_rate_limit_interval.as_millis().to_string(),
    );
    put(
        "zookeeper.admin.snapshot.enabled",
        c.admin_snapshot_enabled.to_string(),
    );
    put(
        "zookeeper.admin.restore.enabled",
        c.admin_restore_enabled.to_string(),
    );
    p
}

/// The process's user name, as Java's `user.name` finds it: the password
/// entry of its uid (`/proc/self/status`, `/etc/passwd`), else `$USER`.
fn user_name() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok();
    let uid = status.as_deref().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|v| v.split_whitespace().next().map(str::to_owned))
    });
    let from_passwd = uid.and_then(|uid| {
        std::fs::read_to_string("/etc/passwd").ok().and_then(|p| {
            p.lines().find_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                (f.nth(1)? == uid).then(|| name.to_owned())
            })
        })
    });
    from_passwd.or_else(|| std::env::var("USER").ok())
}

/// ZooKeeper's `MultipleAddresses` as Jackson writes it, for one address.
fn multiple_addresses(host: &str, port: &str) -> Value {
    let addr = format!("{host}:{port}");
    let port_num: u64 = port.parse().unwrap_or(0);
    json!({
        "empty": false,
        "all_addresses": [addr],
        "all_reachable_addresses": [addr],
        "one": addr,
        "reachable_address": addr,
        "wildcard_addresses": [format!("0.0.0.0:{port}")],
        "all_ports": [port_num],
        "all_host_strings": [host],
        "all_reachable_addresses_or_all": [addr],
        "reachable_or_one": addr,
    })
}

/// `zabstate`: on a member of an ensemble, ZooKeeper's fields with the
/// Raft state behind them (`broadcast` while serving, `election`
/// otherwise; the zxid's epoch is the Raft term); standalone, only
/// `voting` false and an empty state, as ZooKeeper's.
fn zabstate(core: &Core, m: &mut Map<String, Value>) {
    let c = &core.config;
    let (servers, _) = crate::reconfig::live_config(core);
    let me = servers.iter().find(|s| u64::from(c.server_id) == s.id);
    let Some(me) = me.filter(|_| !c.is_standalone()) else {
        m.insert("voting".into(), json!(false));
        m.insert("zabstate".into(), json!(""));
        return;
    };
    let (host, quorum_port) = me
        .quorum_addr
        .rsplit_once(':')
        .unwrap_or((&me.quorum_addr, "0"));
    let zxid = core.last_zxid();
    m.insert("myid".into(), json!(me.id));
    m.insert("is_leader".into(), json!(core.is_leader()));
    m.insert(
        "quorum_address".into(),
        multiple_addresses(host, quorum_port),
    );
    m.insert(
        "election_address".into(),
        multiple_addresses(host, &me.election_port.to_string()),
    );
    m.insert("client_address".into(), json!(c.client_addr.to_string()));
    m.insert("voting".into(), json!(!me.observer));
    m.insert("last_zxid".into(), json!(format!("0x{zxid:x}")));
    m.insert("zab_epoch".into(), json!(zxid >> 32));
    m.insert("zab_counter".into(), json!(zxid & 0xffff_ffff));
    let state = if core.serving() {
        "broadcast"
    } else {
        "election"
    };
    m.insert("zabstate".into(), json!(state));
}

fn mon_json(v: &MonValue) -> Value {
    match v {
        MonValue::Int(i) => json!(i),
        MonValue::Double(d) => json!(d),
        MonValue::Text(t) => json!(t),
    }
}

/// `ServerStats` as Jackson writes the bean, and the client response
/// sizes (`BufferStats`, which Corral does not track: ZooKeeper's "none
/// yet", -1).
fn server_stats(core: &Core) -> Map<String, Value> {
    let s = core.stats.snapshot();
    let (tree, log) = four_letter::data_dirs(core);
    let (zxid, nodes) = core.zxid_and_znodes();
    let sizes = json!({"last_buffer_size": -1, "min_buffer_size": -1, "max_buffer_size": -1});
    let mut stats = Map::new();
    stats.insert("packets_sent".into(), json!(s.sent));
    stats.insert("packets_received".into(), json!(s.received));
    stats.insert("fsync_threshold_exceed_count".into(), json!(0));
    stats.insert("client_response_stats".into(), sizes.clone());
    stats.insert("server_state".into(), json!(core.mode()));
    stats.insert("num_alive_client_connections".into(), json!(s.connections));
    stats.insert("max_latency".into(), json!(s.max_ms));
    stats.insert("min_latency".into(), json!(s.min_ms));
    stats.insert("avg_latency".into(), json!(s.avg_ms));
    stats.insert("uptime".into(), json!(core.started.elapsed().as_millis()));
    stats.insert("data_dir_size".into(), json!(four_letter::dir_size(&tree)));
    stats.insert("log_dir_size".into(), json!(four_letter::dir_size(&log)));
    stats.insert("last_processed_zxid".into(), json!(zxid));
    stats.insert(
        "outstanding_requests".into(),
        json!(core.stats.outstanding()),
    );
    stats.insert(
        "auth_failed_count".into(),
        json!(core.stats.auth_failed_count()),
    );
    stats.insert("non_mtlsremote_conn_count".into(), json!(0));
    stats.insert("non_mtlslocal_conn_count".into(), json!(0));
    stats.insert("provider_null".into(), json!(false));
    let mut m = Map::new();
    m.insert("version".into(), json!(four_letter::version_string()));
    m.insert("read_only".into(), json!(false));
    m.insert("server_stats".into(), Value::Object(stats));
    m.insert("client_response".into(), sizes.clone());
    if core.mode() == "leader" {
        m.insert("proposal_stats".into(), sizes);
    }
    m.insert("node_count".into(), json!(nodes));
    m
}

/// Session id → paths (`watches`), or path → session ids
/// (`watches_by_path`): data watches, as ZooKeeper reports them.
fn watch_maps(core: &Core) -> BTreeMap<String, BTreeSet<i64>> {
    core.data_watches()
}

/// `connections` (every connection, in the full form or the brief one)
/// and `secure_connections` (none: Corral has no TLS port).
fn connection_lists(core: &Core, full: bool, m: &mut Map<String, Value>) {
    let conns: Vec<Value> = core
        .stats
        .connections()
        .iter()
        .map(|c| Value::Object(c.json(full)))
        .collect();
    m.insert("connections".into(), Value::Array(conns));
    m.insert("secure_connections".into(), json!([]));
}

fn fields(core: &Core, name: &str, kwargs: &[(String, String)]) -> Map<String, Value> {
    let c = &core.config;
    let mut m = Map::new();
    let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    match name {
        "configuration" => {
            let (tree, log) = four_letter::data_dirs(core);
            m.insert("client_port".into(), json!(c.client_addr.port()));
            m.insert("data_dir".into(), json!(four_letter::absolute(&tree)));
            m.insert("data_log_dir".into(), json!(four_letter::absolute(&log)));
            m.insert("tick_time".into(), json!(ms(c.tick_time)));
            m.insert("max_client_cnxns".into(), json!(c.max_client_cnxns));
            m.insert(
                "min_session_timeout".into(),
                json!(ms(c.min_session_timeout)),
            );
            m.insert(
                "max_session_timeout".into(),
                json!(ms(c.max_session_timeout)),
            );
            let id = if c.is_standalone() {
                0
            } else {
                u64::from(c.server_id)
            };
            m.insert("server_id".into(), json!(id));
            m.insert("client_port_listen_backlog".into(), json!(-1));
        }
        "connection_stat_reset" => {
            for conn in core.stats.connections() {
                conn.reset();
            }
        }
        "stat_reset" => core.stats.reset(),
        "connections" => connection_lists(core, true, &mut m),
        "dirs" => {
            let (tree, log) = four_letter::data_dirs(core);
            m.insert("datadir_size".into(), json!(four_letter::dir_size(&tree)));
            m.insert("logdir_size".into(), json!(four_letter::dir_size(&log)));
        }
        "dump" => {
            let tick = ms(c.tick_time).max(1);
            let now = std::time::Instant::now();
            let base = crate::monitor::stats::monotonic_ms();
            let view = core.sessions_view();
            let mut expiry: BTreeMap<u64, Vec<i64>> = BTreeMap::new();
            for (id, at) in &view.deadlines {
                let ahead = ms(at.saturating_duration_since(now));
                let at = u64::try_from(base).unwrap_or(0) + ahead;
                expiry.entry((at / tick + 1) * tick).or_default().push(*id);
            }
            let expiry: Map<String, Value> = expiry
                .into_iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            let mut ephemerals = Map::new();
            for (id, paths) in view.ephemerals {
                ephemerals.insert(id.to_string(), json!(paths));
            }
            m.insert("expiry_time_to_session_ids".into(), Value::Object(expiry));
            m.insert(
                "session_id_to_ephemeral_paths".into(),
                Value::Object(ephemerals),
            );
        }
        "environment" => {
            for (k, v) in four_letter::environment() {
                m.insert(k.into(), json!(v));
            }
        }
        "initial_configuration" => {
            m.insert(
                "initial_configuration".into(),
                json!(c.initial_configuration),
            );
        }
        "is_read_only" => {
            m.insert("read_only".into(), json!(core.read_only()));
        }
        "get_trace_mask" => {
            let mask = core.admin.trace_mask.load(Ordering::Relaxed);
            m.insert("tracemask".into(), json!(mask));
        }
        "set_trace_mask" => match kwargs.iter().find(|(k, _)| k == "traceMask") {
            None => {
                m.insert(
                    "error".into(),
                    json!("setTraceMask requires long traceMask argument"),
                );
            }
            Some((_, v)) => match v.parse::<i64>() {
                Ok(mask) => {
                    core.admin.trace_mask.store(mask, Ordering::Relaxed);
                    m.insert("tracemask".into(), json!(mask));
                }
                Err(_) => {
                    m.insert(
                        "error".into(),
                        json!(format!(
                            "setTraceMask requires long traceMask argument, got {v}"
                        )),
                    );
                }
            },
        },
        "hash" => {
            // ZooKeeper keeps a digest every 128 transactions; Corral
            // computes the tree's digest when asked, at the last zxid.
            let (zxid, digest) = core.digest();
            m.insert(
                "digests".into(),
                json!([{
                    "zxid": zxid,
                    "digest_version": storage::digest::DIGEST_VERSION,
                    "digest": digest,
                }]),
            );
        }
        "last_snapshot" => {
            let (zxid, secs) = core.last_snapshot().unwrap_or((-1, -1));
            m.insert("zxid".into(), json!(format!("{:x}", zxid)));
            m.insert("timestamp".into(), json!(secs));
        }
        "observer_connection_stat_reset" => {}
        "observers" => {
            // The leader's observers (Raft learners), each with what
            // Corral knows of it: ZooKeeper's per-learner packet counters
            // are not kept.
            let mut list = Vec::new();
            if core.is_leader() {
                let (servers, _) = crate::reconfig::live_config(core);
                for s in servers.iter().filter(|s| s.observer) {
                    list.push(json!({
                        "remote_socket_address": s.quorum_addr,
                        "sid": s.id,
                    }));
                }
            }
            m.insert(
                "synced_observers".into(),
                json!(if core.is_leader() {
                    core.raft_view().synced_observers
                } else {
                    0
                }),
            );
            m.insert("observers".into(), Value::Array(list));
        }
        "system_properties" => {
            for (k, v) in system_properties(core) {
                m.insert(k, json!(v));
            }
        }
        "zabstate" => zabstate(core, &mut m),
        "leader" => {
            if c.is_standalone() {
                m.insert("error".into(), json!("server is not initialized"));
            } else {
                let leader = core.raft.metrics().borrow().current_leader;
                let (servers, _) = crate::reconfig::live_config(core);
                let ip = leader
                    .and_then(|id| servers.iter().find(|s| s.id == id))
                    .and_then(|s| s.quorum_addr.rsplit_once(':').map(|(h, _)| h.to_owned()))
                    .unwrap_or_default();
                m.insert("is_leader".into(), json!(core.is_leader()));
                m.insert("leader_id".into(), json!(leader.unwrap_or(0)));
                m.insert("leader_ip".into(), json!(ip));
            }
        }
        "monitor" => {
            for (k, v) in four_letter::monitor_values(core) {
                m.insert(k.trim_start_matches("zk_").to_owned(), mon_json(&v));
            }
        }
        "ruok" => {}
        "server_stats" => m = server_stats(core),
        "stats" => {
            m = server_stats(core);
            connection_lists(core, false, &mut m);
        }
        "voting_view" => {
            let mut view = Map::new();
            if !c.is_standalone() {
                let (servers, _) = crate::reconfig::live_config(core);
                for s in &servers {
                    let host = s.quorum_addr.rsplit_once(':').map_or("", |(h, _)| h);
                    view.insert(
                        s.id.to_string(),
                        json!({
                            "server_addresses": [s.quorum_addr],
                            "election_addresses": [format!("{host}:{}", s.election_port)],
                            "client_address": s.client_addr.clone().unwrap_or_default(),
                            "learner_type": if s.observer { "observer" } else { "participant" },
                        }),
                    );
                }
            }
            m.insert("current_config".into(), Value::Object(view));
        }
        "watch_summary" => {
            let by_path = watch_maps(core);
            let sessions: BTreeSet<i64> = by_path.values().flatten().copied().collect();
            let total: usize = by_path.values().map(BTreeSet::len).sum();
            m.insert("num_connections".into(), json!(sessions.len()));
            m.insert("num_paths".into(), json!(by_path.len()));
            m.insert("num_total_watches".into(), json!(total));
        }
        "watches" => {
            let map: Map<String, Value> = core
                .data_watches_by_session()
                .into_iter()
                .map(|(s, p)| (s.to_string(), json!(p)))
                .collect();
            m.insert("session_id_to_watched_paths".into(), Value::Object(map));
        }
        "watches_by_path" => {
            let map: Map<String, Value> = watch_maps(core)
                .into_iter()
                .map(|(p, s)| (p, json!(s)))
                .collect();
            m.insert("path_to_session_ids".into(), Value::Object(map));
        }
        _ => {}
    }
    m
}

/// `GET /metrics`: Prometheus' text format.
async fn metrics(State(core): State<Arc<Core>>) -> Response {
    let text = crate::monitor::metrics::render(&core);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)],
        text,
    )
        .into_response()
}

/// `GET /ready`: 200 while this server is serving clients (a member in
/// touch with a quorum) and its applied index trails the leader's by at
/// most `corral.readyMaxLag` entries; 503 with the reason otherwise.
async fn ready(State(core): State<Arc<Core>>) -> Response {
    let (ready, body) = readiness(&core);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(status, &body)
}

/// Whether this member is ready (`/ready`), and the body `/ready` answers.
pub(crate) fn readiness(core: &Core) -> (bool, Value) {
    let raft = core.raft_view();
    let serving = core.serving();
    let lag = raft.leader_applied.saturating_sub(raft.applied);
    let max_lag = core.config.ready_max_lag;
    let reason = if let Some(why) = core.failed.get() {
        Some(format!(
            "storage failed, not serving until restarted: {why}"
        ))
    } else if !serving {
        Some("not in touch with a quorum: not serving clients".to_owned())
    } else if lag > max_lag {
        Some(format!(
            "applied index {} trails the leader's {} by {lag} entries (more than {max_lag})",
            raft.applied, raft.leader_applied
        ))
    } else {
        None
    };
    let body = json!({
        "ready": reason.is_none(),
        "mode": core.mode(),
        "serving": serving,
        "applied_index": raft.applied,
        "leader_applied_index": raft.leader_applied,
        "lag": lag,
        "max_lag": max_lag,
        "reason": reason,
    });
    (reason.is_none(), body)
}
