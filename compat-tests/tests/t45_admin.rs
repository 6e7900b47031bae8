//! The AdminServer against the reference ZooKeeper 3.8's, side by side:
//! after the same session (an ephemeral node and a data watch) on each,
//! every command Corral serves, by its primary name and by an alias,
//! answers with ZooKeeper's JSON shape — the same keys, nested the same
//! way, with values of the same JSON types (values themselves may
//! differ). `monitor` reports a subset of ZooKeeper's keys, with the same
//! types. Then the Prometheus endpoint: ZooKeeper's metric names with the
//! types its Prometheus provider gives them (the provider's jars are not
//! in Debian, so the names come from its source, see
//! `docs/operations.md`), and Corral's own.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use compat_tests::{
    CorralServer, ZooKeeperServer, admin_command as command, assert_monitor_subset, free_port,
    http_get, json_shape as shape,
};
use serde_json::Value;
use zookeeper_client as zk;

/// A session with an ephemeral node and a data watch on it, held open.
async fn session(addr: SocketAddr) -> (zk::Client, zk::OneshotWatcher) {
    let c = zk::Client::connector()
        .with_session_timeout(Duration::from_secs(10))
        .connect(&addr.to_string())
        .await
        .expect("connect");
    let mode = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
    c.create("/admin-test", b"x", &mode).await.expect("create");
    // One error reply, for the error counter.
    assert_eq!(
        c.create("/admin-test", b"x", &mode).await.err(),
        Some(zk::Error::NodeExists)
    );
    let (_, _, w) = c.get_and_watch_data("/admin-test").await.expect("watch");
    (c, w)
}

#[test]
fn admin_commands_answer_zookeepers_json() {
    let admin_port = free_port();
    let zk = ZooKeeperServer::start_with(&[
        "admin.enableServer=true",
        "admin.serverAddress=127.0.0.1",
        &format!("admin.serverPort={admin_port}"),
    ]);
    let zk_admin = SocketAddr::from((Ipv4Addr::LOCALHOST, admin_port));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = server::Config::for_tests(dir.path().to_path_buf());
    let corral_admin = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
    let corral_metrics = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
    config.admin_addr = Some(corral_admin);
    config.metrics_addr = Some(corral_metrics);
    // As if started from a file, as the reference is.
    config.initial_configuration = Some("clientPort=2181\n".into());
    let corral = CorralServer::start_with(config, 0);

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let _sessions = rt.block_on(async { (session(corral.addr()).await, session(zk.addr()).await) });

    // The listing: every command Corral serves is one of ZooKeeper's.
    let listed = |a: SocketAddr| -> BTreeSet<String> {
        let (status, body) = http_get(a, "/commands").expect("GET /commands");
        assert_eq!(status, 200);
        body.lines()
            .filter_map(|l| l.strip_prefix("<a href=\"/commands/"))
            .filter_map(|l| l.split('"').next().map(str::to_owned))
            .collect()
    };
    let ours = listed(corral_admin);
    let mut theirs = listed(zk_admin);
    // ZooKeeper 3.9's additions (the reference is 3.8).
    theirs.extend(["snapshot".to_owned(), "restore".to_owned()]);
    assert!(ours.len() >= 28, "Corral lists {ours:?}");
    assert!(
        ours.is_subset(&theirs),
        "not ZooKeeper's: {:?}",
        ours.difference(&theirs)
    );
    // Every command of ZooKeeper's is served.
    assert_eq!(ours, theirs, "Corral lists {ours:?}, ZooKeeper {theirs:?}");

    // Every command, by name and by alias: the same shape.
    let names = [
        ("configuration", "conf"),
        ("connections", "cons"),
        ("dirs", "dirs"),
        ("dump", "dump"),
        ("environment", "envi"),
        ("initial_configuration", "icfg"),
        ("is_read_only", "isro"),
        ("leader", "lead"),
        ("ruok", "ruok"),
        ("server_stats", "srvr"),
        ("stats", "stat"),
        ("voting_view", "voting_view"),
        ("watch_summary", "wchs"),
        ("watches", "wchc"),
        ("watches_by_path", "wchp"),
        ("connection_stat_reset", "crst"),
        ("stat_reset", "srst"),
        ("get_trace_mask", "gtmk"),
        ("last_snapshot", "lsnp"),
        ("observers", "obsr"),
        ("observer_connection_stat_reset", "orst"),
        ("zabstate", "zabstate"),
    ];
    for (name, alias) in names {
        for typed in [name, alias] {
            let a = command(corral_admin, typed);
            let b = command(zk_admin, typed);
            println!("{typed}:\n  Corral    {a}\n  ZooKeeper {b}");
            assert_eq!(
                shape(&a, false),
                shape(&b, false),
                "/commands/{typed}: Corral {a:#}\nZooKeeper {b:#}"
            );
            assert_eq!(a["command"], Value::from(name), "{typed}");
            // `command` and `error` come last, in this order.
            let keys: Vec<&String> = a
                .as_object()
                .map(|m| m.keys().collect())
                .unwrap_or_default();
            if name != "leader" {
                assert_eq!(
                    keys[keys.len() - 2..],
                    ["command", "error"],
                    "{typed}: {keys:?}"
                );
            }
        }
    }
    // Values that must agree on a fresh server with the same session.
    let ws = command(corral_admin, "wchs");
    assert_eq!(ws, command(zk_admin, "wchs"), "watch_summary");
    assert_eq!(command(corral_admin, "isro"), command(zk_admin, "isro"));
    assert_eq!(command(corral_admin, "ruok"), command(zk_admin, "ruok"));
    assert_eq!(command(corral_admin, "nope"), command(zk_admin, "nope"));
    assert_eq!(command(corral_admin, "gtmk"), command(zk_admin, "gtmk"));
    assert_eq!(
        command(corral_admin, "zabstate"),
        command(zk_admin, "zabstate")
    );
    assert_eq!(command(corral_admin, "obsr"), command(zk_admin, "obsr"));
    // set_trace_mask: the same refusal without its argument, then set and
    // read back.
    assert_eq!(
        command(corral_admin, "set_trace_mask"),
        command(zk_admin, "set_trace_mask")
    );
    for a in [corral_admin, zk_admin] {
        let (_, body) = http_get(a, "/commands/stmk?traceMask=42").expect("stmk");
        let v: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["tracemask"], 42, "{body}");
        assert_eq!(command(a, "gtmk")["tracemask"], 42);
    }
    // hash: ZooKeeper lists a digest every 128 transactions (none yet on
    // the reference); Corral gives the digest at its last zxid.
    assert_eq!(command(zk_admin, "hash")["digests"], serde_json::json!([]));
    let h = command(corral_admin, "hash");
    let d = &h["digests"][0];
    assert!(
        d["zxid"].is_i64() && d["digest"].is_i64() && d["digest_version"] == 2,
        "{h}"
    );
    // The four-letter word gives the same digest, as ZooKeeper's lines
    // `<zxid hex>: <digest>`.
    let word = compat_tests::four_letter(corral.addr(), "hash").expect("hash");
    assert_eq!(
        word,
        format!(
            "{:x}: {}\n",
            d["zxid"].as_i64().unwrap_or(-1),
            d["digest"].as_i64().unwrap_or(-1)
        )
    );
    // system_properties: the keys both have, where the values are facts of
    // the same machine and configuration.
    let (a, b) = (
        command(corral_admin, "system_properties"),
        command(zk_admin, "system_properties"),
    );
    for k in [
        "os.name",
        "os.arch",
        "file.separator",
        "path.separator",
        "user.name",
        "user.home",
        "os.version",
        "zookeeper.extendedTypesEnabled",
        "zookeeper.admin.enableServer",
    ] {
        assert_eq!(
            a[k], b[k],
            "system_properties {k}: Corral {a}\nZooKeeper {b}"
        );
    }

    // monitor: each of Corral's keys is one of ZooKeeper's, same type.
    let a = command(corral_admin, "monitor");
    let b = command(zk_admin, "monitor");
    assert_monitor_subset(&a, &b, "standalone");
    let a = a.as_object().expect("object");
    let b = b.as_object().expect("object");
    for k in [
        "znode_count",
        "watch_count",
        "ephemerals_count",
        "readlatency",
        "updatelatency",
    ]
    .iter()
    .flat_map(|k| {
        if k.ends_with("latency") {
            vec![format!("p99_{k}"), format!("avg_{k}")]
        } else {
            vec![(*k).to_owned()]
        }
    }) {
        assert!(a.contains_key(&k), "monitor lacks {k}");
    }
    assert_eq!(a["znode_count"], b["znode_count"]);
    assert_eq!(a["ephemerals_count"], b["ephemerals_count"]);

    // Prometheus: ZooKeeper's names and types, and Corral's own.
    let (status, text) = http_get(corral_metrics, "/metrics").expect("GET /metrics");
    assert_eq!(status, 200);
    let types: BTreeMap<&str, &str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .collect();
    for (name, kind) in [
        // ZooKeeper's (PrometheusMetricsProvider: gauges, summaries).
        ("znode_count", "gauge"),
        ("watch_count", "gauge"),
        ("ephemerals_count", "gauge"),
        ("approximate_data_size", "gauge"),
        ("outstanding_requests", "gauge"),
        ("num_alive_connections", "gauge"),
        ("avg_latency", "gauge"),
        ("global_sessions", "gauge"),
        ("uptime", "gauge"),
        ("open_file_descriptor_count", "gauge"),
        ("readlatency", "summary"),
        ("updatelatency", "summary"),
        ("fsynctime", "summary"),
        ("snapshottime", "summary"),
        // Corral's.
        ("corral_request_seconds", "histogram"),
        ("corral_errors", "counter"),
        ("corral_write_batch_size", "histogram"),
        ("corral_write_commit_seconds", "histogram"),
        ("corral_raft_fsync_seconds", "histogram"),
        ("corral_raft_append_seconds", "histogram"),
        ("corral_proposer_queue_depth", "gauge"),
        ("corral_raft_term", "gauge"),
        ("corral_raft_applied_index", "gauge"),
        ("process_resident_memory_bytes", "gauge"),
    ] {
        assert_eq!(types.get(name), Some(&kind), "/metrics: {name}\n{text}");
    }
    let find = |name: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
            .and_then(|v| v.parse().ok())
    };
    let sample =
        |name: &str| -> f64 { find(name).unwrap_or_else(|| panic!("no sample {name} in\n{text}")) };
    assert_eq!(sample("znode_count"), 6.0, "the fresh tree and /admin-test");
    assert_eq!(sample("ephemerals_count"), 1.0);
    assert!(sample("updatelatency_count") >= 1.0, "the create");
    assert!(sample("readlatency_count") >= 1.0, "the getData");
    let creates = ["Create", "Create2"]
        .iter()
        .filter_map(|op| find(&format!("corral_request_seconds_count{{op=\"{op}\"}}")))
        .sum::<f64>();
    assert_eq!(creates, 2.0, "two creates by opcode");
    assert!(sample("corral_request_seconds_count{op=\"GetData\"}") >= 1.0);
    assert!(sample("corral_raft_fsync_seconds_count") >= 1.0);
    assert_eq!(sample("corral_errors{class=\"NODEEXISTS\"}"), 1.0);
    drop(corral);
}
