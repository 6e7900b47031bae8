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

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::core::Core;
use crate::four_letter::{self, MonValue, NOT_SERVING};

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
        .route("/commands/{*name}", get(command))
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
    if let Err(e) = axum::serve(listener, router)
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

fn json_response(status: StatusCode, body: &Value) -> Response {
    let text = serde_json::to_string_pretty(body).unwrap_or_else(|_| {
        "{\"error\": \"Exception writing command response to JSON\"}".to_owned()
    });
    (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// `GET /commands/<name>`: always 200 with JSON, errors included.
async fn command(State(core): State<Arc<Core>>, Path(name): Path<String>) -> Response {
    json_response(StatusCode::OK, &Value::Object(run(&core, &name)))
}

/// The response map of command `typed` (a name or an alias): its fields,
/// then `command` and `error` (`CommandResponse.toMap`).
fn run(core: &Core, typed: &str) -> Map<String, Value> {
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
    let mut m = fields(core, cmd.name);
    m.insert("command".into(), json!(cmd.name));
    if !m.contains_key("error") {
        m.insert("error".into(), Value::Null);
    }
    m
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
    let (zxid, nodes) = {
        let st = core.lock();
        (st.tree.last_zxid(), st.tree.node_count() + 1)
    };
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
    stats.insert("auth_failed_count".into(), json!(0));
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
    core.lock().host.watches.data_watches()
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

fn fields(core: &Core, name: &str) -> Map<String, Value> {
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
            let base = crate::stats::monotonic_ms();
            let st = core.lock();
            let mut expiry: BTreeMap<u64, Vec<i64>> = BTreeMap::new();
            for (id, at) in &st.host.deadlines {
                let ahead = ms(at.saturating_duration_since(now));
                let at = u64::try_from(base).unwrap_or(0) + ahead;
                expiry.entry((at / tick + 1) * tick).or_default().push(*id);
            }
            let expiry: Map<String, Value> = expiry
                .into_iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            let mut ephemerals = Map::new();
            for (id, _) in st.tree.sessions().iter() {
                let paths: Vec<String> = st
                    .tree
                    .sessions()
                    .ephemerals_of(*id)
                    .map(String::from)
                    .collect();
                if !paths.is_empty() {
                    ephemerals.insert(id.to_string(), json!(paths));
                }
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
        "leader" => {
            if c.is_standalone() {
                m.insert("error".into(), json!("server is not initialized"));
            } else {
                let leader = core.raft.metrics().borrow().current_leader;
                let ip = leader
                    .and_then(|id| c.servers.iter().find(|s| s.id == id))
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
                for s in &c.servers {
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
            let mut by_session: BTreeMap<i64, Vec<String>> = BTreeMap::new();
            for (path, sessions) in watch_maps(core) {
                for s in sessions {
                    by_session.entry(s).or_default().push(path.clone());
                }
            }
            let map: Map<String, Value> = by_session
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
    let text = crate::metrics::render(&core);
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
    let raft = core.raft_view();
    let serving = core.serving();
    let lag = raft.leader_applied.saturating_sub(raft.applied);
    let max_lag = core.config.ready_max_lag;
    let reason = if !serving {
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
    let status = if reason.is_none() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(status, &body)
}
