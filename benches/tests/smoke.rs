//! A smoke run of every `zk-load` workload (and of `slow-client`) for a
//! second against a standalone Corral in this process: each must complete requests without
//! an error or a failed session. No timing is asserted (figures come from
//! `benches/compare.sh`, `docs/benchmarks.md`).

use std::process::Command;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

const WORKLOADS: [&str; 8] = [
    "set", "get", "mixed", "create", "churn", "lock", "watch", "sessions",
];

/// Corral on 127.0.0.1 on its own runtime; stopped when the token is
/// cancelled.
fn start_corral(dir: &std::path::Path) -> (std::net::SocketAddr, CancellationToken) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut config = server::Config::for_tests(dir.to_path_buf());
    config.client_addr = addr;
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    std::thread::spawn(move || {
        let _ = rt.block_on(server::run(config, listener, token));
    });
    (addr, shutdown)
}

#[test]
fn every_workload_runs_against_corral() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (addr, shutdown) = start_corral(dir.path());
    let mut runs = Vec::new();
    for w in WORKLOADS.iter().copied().chain(["populate"]) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zk-load"));
        cmd.args(["--servers", &addr.to_string(), "--workload", w])
            .args(["--sessions", "4", "--inflight", "2"]);
        if w == "populate" {
            cmd.args(["--count", "500", "--seconds", "30"]);
        } else {
            cmd.args(["--seconds", "1", "--warmup", "1"]);
        }
        let out = cmd.output().expect("run zk-load");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{w}: zk-load failed\n{stdout}\n{stderr}"
        );
        let json = stdout
            .lines()
            .find(|l| l.starts_with('{'))
            .unwrap_or_else(|| panic!("{w}: no JSON line\n{stdout}"));
        let v: serde_json::Value = serde_json::from_str(json).expect("JSON");
        println!("{}", stdout.lines().next().unwrap_or(""));
        assert!(
            v["ops_per_s"].as_f64().is_some_and(|o| o > 0.0),
            "{w}: {json}"
        );
        assert_eq!(v["errors"].as_u64(), Some(0), "{w}: {json}\n{stderr}");
        assert_eq!(
            v["failed_sessions"].as_u64(),
            Some(0),
            "{w}: {json}\n{stderr}"
        );
        assert_eq!(v["workload"].as_str(), Some(w));
        runs.push(w);
    }
    assert_eq!(runs.len(), WORKLOADS.len() + 1);
    shutdown.cancel();
    std::thread::sleep(Duration::from_millis(200));
}

#[test]
fn slow_client_runs_against_corral() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (addr, shutdown) = start_corral(dir.path());
    for (mode, requests, size) in [("reads", "50", "100000"), ("watches", "2000", "100")] {
        let out = Command::new(env!("CARGO_BIN_EXE_slow-client"))
            .args(["--server", &addr.to_string(), "--mode", mode])
            .args(["--requests", requests, "--size", size, "--seconds", "1"])
            .args(["--pid", &std::process::id().to_string()])
            .output()
            .expect("run slow-client");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{mode}: slow-client failed\n{stdout}\n{stderr}"
        );
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
        assert_eq!(v["mode"].as_str(), Some(mode));
        assert!(
            v["other_reads"].as_u64().is_some_and(|n| n > 10),
            "{stdout}"
        );
        assert!(
            v["rss_peak_mib"].as_f64().is_some_and(|m| m > 0.0),
            "{stdout}"
        );
    }
    shutdown.cancel();
    std::thread::sleep(Duration::from_millis(200));
}

/// `hold` (behind `benches/footprint.sh`) opens its sessions and sets its
/// watches: the server counts them (`wchs`) while they are held.
#[test]
fn hold_keeps_sessions_and_watches_open() {
    use std::io::{BufRead, Read, Write};
    let dir = tempfile::tempdir().expect("tempdir");
    let (addr, shutdown) = start_corral(dir.path());
    let mut hold = Command::new(env!("CARGO_BIN_EXE_hold"))
        .args(["--servers", &addr.to_string(), "--sessions", "20"])
        .args(["--watches", "2000", "--seconds", "60"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run hold");
    let mut ready = String::new();
    std::io::BufReader::new(hold.stdout.take().expect("stdout"))
        .read_line(&mut ready)
        .expect("ready line");
    let v: serde_json::Value = serde_json::from_str(ready.trim()).expect("JSON");
    assert_eq!(
        (v["sessions"].as_u64(), v["watches"].as_u64()),
        (Some(20), Some(2000))
    );
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.write_all(b"wchs").expect("wchs");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("answer");
    assert!(
        answer.contains("20 connections watching 2000 paths")
            && answer.contains("Total watches:2000"),
        "{answer}"
    );
    drop(hold.stdin.take());
    assert!(hold.wait().expect("hold ends").success());
    shutdown.cancel();
    std::thread::sleep(Duration::from_millis(200));
}

/// The second generator of `benches/compare.sh`, ZooKeeper's own Java
/// client (`benches/java/ZkLoad.java`), compiles and drives a server.
#[test]
fn java_generator_runs_against_corral() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (addr, shutdown) = start_corral(dir.path());
    let j = "/usr/share/java";
    let cp =
        format!("{j}/zookeeper.jar:{j}/zookeeper-jute.jar:{j}/slf4j-api.jar:{j}/slf4j-nop.jar");
    let classes = dir.path().join("classes");
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/java/ZkLoad.java");
    let javac = Command::new("javac")
        .arg("-d")
        .arg(&classes)
        .args(["-cp", &cp, source])
        .output()
        .expect("javac (the JDK; .ci/run installs it)");
    assert!(
        javac.status.success(),
        "{}",
        String::from_utf8_lossy(&javac.stderr)
    );
    let out = Command::new("java")
        .arg("-cp")
        .arg(format!("{}:{cp}", classes.display()))
        .args([
            "ZkLoad",
            "--servers",
            &addr.to_string(),
            "--workload",
            "mixed",
        ])
        .args([
            "--sessions",
            "4",
            "--inflight",
            "2",
            "--seconds",
            "1",
            "--warmup",
            "1",
        ])
        .output()
        .expect("java");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = stdout
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("a JSON line");
    let v: serde_json::Value = serde_json::from_str(json).expect("JSON");
    assert!(v["ops_per_s"].as_f64().is_some_and(|o| o > 0.0), "{json}");
    assert_eq!(v["errors"].as_u64(), Some(0), "{json}");
    assert_eq!(v["workload"].as_str(), Some("mixed"));
    shutdown.cancel();
    std::thread::sleep(Duration::from_millis(200));
}
