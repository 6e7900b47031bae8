//! ZooKeeper 3.9's AdminServer `snapshot` and `restore` (the reference
//! here is 3.8, which has neither: they follow 3.9.5's `Commands.java`),
//! with the 3.9.4 rule that the caller holds ALL on `/` through the
//! AdminServer's own authentication (`Authorization: digest user:pw`).
//!
//! On a 3-member Corral ensemble: missing, unknown and insufficient
//! credentials are refused (401, 401, 403); a snapshot streams with its
//! `last_zxid` and `snapshot_size` headers and is rate-limited (429); the
//! tree is changed, then `restore` of that snapshot, posted to a follower,
//! brings every member back to it, and zxids keep growing. On a
//! standalone server: a body that is not a snapshot (500), the restore
//! rate limit (429), the wrong method (405), a disabled command (503) and
//! `streaming=false` (JSON, headers only).

use std::net::SocketAddr;
use std::time::Duration;

use compat_tests::{CorralEnsemble, CorralServer, HttpReply, free_port, http_request};
use zookeeper_client as zk;

const SUPER_DIGEST: &str = "super:0bX78nEegDzJM3ju0iLBEJdWzjg=";

fn get(admin: SocketAddr, path: &str, auth: Option<&str>) -> HttpReply {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    http_request(admin, "GET", path, &headers, b"").expect("GET")
}

fn post(admin: SocketAddr, path: &str, auth: Option<&str>, body: &[u8]) -> HttpReply {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    http_request(admin, "POST", path, &headers, body).expect("POST")
}

/// Waits (bounded) until the AdminServer answers.
fn wait_admin(admin: SocketAddr) {
    let up = compat_tests::poll_until(Duration::from_secs(10), || {
        http_request(admin, "GET", "/commands/ruok", &[], b"").ok()
    });
    assert!(up.is_some(), "the AdminServer on {admin} did not come up");
}

fn error_of(r: &HttpReply) -> String {
    r.json()["error"].as_str().unwrap_or_default().to_owned()
}

async fn client(addrs: &str) -> zk::Client {
    tokio::time::timeout(
        Duration::from_secs(20),
        zk::Client::connector()
            .with_session_timeout(Duration::from_secs(10))
            .connect(addrs),
    )
    .await
    .expect("connect in time")
    .expect("connect")
}

fn open() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

#[test]
fn snapshot_and_replicated_restore_on_an_ensemble() {
    let e = CorralEnsemble::start_with(3, |c| {
        c.super_digest = Some(SUPER_DIGEST.to_owned());
        // Snapshots once per 3 s (the interval read as microseconds, as
        // ZooKeeper's SnapshotCommand does), restores once per 50 min.
        c.admin_rate_limit_interval = Duration::from_secs(3000);
    });
    let modes = e.modes();
    let follower = modes
        .iter()
        .position(|m| m == "follower")
        .expect("a follower");
    let admin = e.admin[follower];
    let addrs: Vec<String> = e.addrs().iter().map(SocketAddr::to_string).collect();
    let rt = tokio::runtime::Runtime::new().expect("runtime");

    rt.block_on(async {
        let c = client(&addrs.join(",")).await;
        c.create("/snap", b"before", &open()).await.expect("create");
        c.create("/snap/a", b"1", &open()).await.expect("create a");
        // Only alice may do everything at the root; anyone may read.
        let alice = zk::Acl::new(
            zk::Permission::ALL,
            zk::AuthId::new("digest", "alice:V55/p2T0OpjQ+low3NVAH4aLvm0="),
        );
        let anyone = zk::Acl::new(zk::Permission::READ, zk::AuthId::new("world", "anyone"));
        let acls = [alice, anyone];
        c.set_acl("/", &acls, None).await.expect("root ACL");
    });

    // Who may take a snapshot.
    let r = get(admin, "/commands/snapshot", None);
    assert_eq!(r.status, 401);
    assert_eq!(error_of(&r), "Auth info is missing for the command");
    let r = get(admin, "/commands/snapshot", Some("x509"));
    assert_eq!(
        (r.status, error_of(&r).as_str()),
        (401, "Not authenticated")
    );
    let r = get(admin, "/commands/snapshot", Some("digest bob:pw"));
    assert_eq!((r.status, error_of(&r).as_str()), (403, "Not authorized"));
    let r = get(admin, "/commands/snapshot", Some("ip"));
    assert_eq!(r.status, 403, "ip has no ALL on the root any more");

    // alice may, once per window.
    let snap = get(admin, "/commands/snap", Some("digest alice:pw"));
    assert_eq!(snap.status, 200, "{}", String::from_utf8_lossy(&snap.body));
    assert_eq!(
        snap.header("content-type"),
        Some("application/octet-stream")
    );
    let size: usize = snap
        .header("snapshot_size")
        .and_then(|s| s.parse().ok())
        .expect("snapshot_size");
    assert_eq!(size, snap.body.len());
    let zxid_hex = snap.header("last_zxid").expect("last_zxid").to_owned();
    let snap_zxid = i64::from_str_radix(zxid_hex.trim_start_matches("0x"), 16).expect("hex");
    assert!(snap_zxid > 0, "{zxid_hex}");
    let again = get(admin, "/commands/snapshot", Some("digest alice:pw"));
    assert_eq!(again.status, 429, "rate-limited");

    // Change the tree, then restore the snapshot through a follower.
    let before_restore = rt.block_on(async {
        let c = client(&addrs.join(",")).await;
        c.set_data("/snap", b"after", None).await.expect("set");
        c.delete("/snap/a", None).await.expect("delete");
        let (stat, _) = c.create("/snap/c", b"3", &open()).await.expect("create c");
        stat.czxid
    });
    let r = post(
        admin,
        "/commands/restore",
        Some("digest bob:pw"),
        &snap.body,
    );
    assert_eq!(r.status, 403);
    let r = post(admin, "/commands/rest", Some("digest super:pw"), &snap.body);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    assert_eq!(body["command"], "restore");
    assert!(body["error"].is_null());
    let restored_at = body["last_zxid"].as_i64().expect("last_zxid");
    assert!(restored_at > before_restore, "zxids keep growing");
    let r = post(
        admin,
        "/commands/restore",
        Some("digest super:pw"),
        &snap.body,
    );
    assert_eq!(r.status, 429, "one restore per window");

    // Every member serves the snapshot's tree.
    rt.block_on(async {
        for addr in &addrs {
            let c = client(addr).await;
            c.sync("/").await.expect("sync");
            let (data, stat) = c.get_data("/snap").await.expect("get /snap");
            assert_eq!(data, b"before", "{addr}");
            assert!(stat.mzxid <= snap_zxid, "{addr}: the snapshot's Stat");
            assert!(
                c.check_stat("/snap/a").await.expect("a").is_some(),
                "{addr}"
            );
            assert!(
                c.check_stat("/snap/c").await.expect("c").is_none(),
                "{addr}"
            );
        }
    });
}

#[test]
fn admin_snapshot_and_restore_refusals_standalone() {
    let dir = tempfile::tempdir().expect("dir");
    let mut config = server::Config::for_tests(dir.path().to_path_buf());
    let admin = SocketAddr::from(([127, 0, 0, 1], free_port()));
    config.admin_addr = Some(admin);
    config.admin_rate_limit_interval = Duration::from_secs(3000);
    let corral = CorralServer::start_with(config, 0);
    wait_admin(admin);

    // streaming=false: JSON, with the headers.
    let r = get(admin, "/commands/snapshot?streaming=false", Some("ip"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["command"], "snapshot");
    assert!(r.header("last_zxid").is_some() && r.header("snapshot_size").is_some());
    // Wrong methods.
    assert_eq!(get(admin, "/commands/restore", Some("ip")).status, 405);
    assert_eq!(
        post(admin, "/commands/snapshot", Some("ip"), b"x").status,
        405
    );
    // Not a snapshot: refused before anything is proposed; then the
    // window's one restore is spent.
    let r = post(admin, "/commands/restore", Some("ip"), b"not a snapshot");
    assert_eq!(r.status, 500);
    assert!(
        error_of(&r).contains("not a Corral snapshot"),
        "{}",
        error_of(&r)
    );
    assert_eq!(
        post(admin, "/commands/restore", Some("ip"), b"still not").status,
        429
    );
    // The server is unharmed.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let c = client(&corral.addr().to_string()).await;
        c.create("/alive", b"", &open()).await.expect("create");
    });
    drop(corral);

    // Disabled.
    let dir = tempfile::tempdir().expect("dir");
    let mut config = server::Config::for_tests(dir.path().to_path_buf());
    let admin = SocketAddr::from(([127, 0, 0, 1], free_port()));
    config.admin_addr = Some(admin);
    config.admin_snapshot_enabled = false;
    config.admin_restore_enabled = false;
    let _corral = CorralServer::start_with(config, 0);
    wait_admin(admin);
    assert_eq!(get(admin, "/commands/snapshot", Some("ip")).status, 503);
    assert_eq!(
        post(admin, "/commands/restore", Some("ip"), b"x").status,
        503
    );
}
