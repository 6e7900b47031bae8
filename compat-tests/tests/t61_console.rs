//! The web console (`/ui` on the AdminServer's port) in headless Chromium
//! against a 3-member Corral ensemble holding data: the tree walked from
//! `/` into a node (JSON data, Stat with dates, ACL), binary data as hex,
//! a family of 450 children paged and filtered, one of 100,000 paged, a session's ephemeral
//! linked to its session, NOAUTH for an anonymous reader, every member's
//! role from the leader and from a follower, the load charts. Then edits:
//! with the console read-only (the default) nothing a logged-in user sends
//! changes the tree (the tree's digest is the same after); with edits on,
//! a user without the ACL's right gets ZooKeeper's NOAUTH on the page and
//! the one with it creates the node. Screenshots are kept in
//! `target/console-screenshots/`. (`compat-tests/clients/console_selenium.py`
//! drives the browser.)

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use compat_tests::{
    CorralEnsemble, CorralServer, PYTHON, admin_command, clients_dir, http_get, require_file,
    run_with_timeout,
};
use serde_json::json;
use zookeeper_client as zk;

const MANY: usize = 450;
/// A family the browser must page through without loading it whole.
const BIG: usize = 100_000;

fn within<T>(
    what: &str,
    f: impl std::future::Future<Output = T>,
) -> impl std::future::Future<Output = T> {
    let what = what.to_owned();
    async move {
        tokio::time::timeout(Duration::from_secs(20), f)
            .await
            .unwrap_or_else(|_| panic!("{what}: no answer in 20 s"))
    }
}

async fn connect(addrs: &str, auth: Option<&[u8]>) -> zk::Client {
    let mut c = zk::Client::connector().with_session_timeout(Duration::from_secs(30));
    if let Some(a) = auth {
        c = c.with_auth("digest", a);
    }
    within("connect", c.connect(addrs)).await.expect("connect")
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    dir
}

fn url(a: SocketAddr) -> String {
    format!("http://{a}")
}

/// The tree's digest once every member has applied the same writes (all
/// of them report it alike).
fn settled_digest(admins: &[SocketAddr]) -> serde_json::Value {
    compat_tests::poll_until(Duration::from_secs(30), || {
        let all: Vec<serde_json::Value> = admins
            .iter()
            .map(|a| admin_command(*a, "hash")["digests"][0]["digest"].clone())
            .collect();
        all.windows(2).all(|w| w[0] == w[1]).then(|| all[0].clone())
    })
    .expect("the members agree on the tree's digest")
}

#[test]
fn the_console_in_headless_chromium_on_an_ensemble() {
    require_file("/usr/bin/chromium", "Debian's chromium");
    require_file("/usr/bin/chromedriver", "Debian's chromium-driver");
    // Member 3's console takes edits; the others are read-only (the default).
    let ensemble = CorralEnsemble::start_with(3, |c| c.console_read_only = c.server_id != 3);
    let connect_string = ensemble
        .addrs()
        .iter()
        .map(SocketAddr::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let leader = ensemble.leader().expect("a leader");
    let follower = (0..3).find(|i| *i != leader).expect("a follower");
    let read_only = (0..2).find(|i| *i != leader).unwrap_or(follower);

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let config = json!({"name": "orders", "replicas": 3, "tags": ["a", "b"]});
    let (holder, owner) = rt.block_on(async {
        let c = connect(&connect_string, None).await;
        let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        within("app", c.create("/app", b"", &open))
            .await
            .expect("/app");
        let text = serde_json::to_vec(&config).expect("json");
        within("config", c.create("/app/config", &text, &open))
            .await
            .expect("config");
        within("config v1", c.set_data("/app/config", &text, None))
            .await
            .expect("set");
        within(
            "bin",
            c.create("/app/bin", &[0, 0xff, 0x10, 0x80, 0xc3], &open),
        )
        .await
        .expect("bin");
        within("many", c.create("/app/many", b"", &open))
            .await
            .expect("many");
        for i in 0..MANY {
            within(
                "child",
                c.create(&format!("/app/many/c-{i:05}"), b"", &open),
            )
            .await
            .expect("child");
        }
        // A quota on /app, as zkCli's `setquota -n 1000000 /app` leaves it.
        for (path, data) in [
            ("/zookeeper/quota/app", &b""[..]),
            (
                "/zookeeper/quota/app/zookeeper_limits",
                b"count=1000000,bytes=-1",
            ),
        ] {
            within("quota", c.create(path, data, &open))
                .await
                .expect("quota");
        }
        within("big", c.create("/app/big", b"", &open))
            .await
            .expect("big");
        let batches = (0..BIG).step_by(1000).map(|from| {
            let c = &c;
            let open = &open;
            async move {
                let mut w = c.new_multi_writer();
                for i in from..(from + 1000).min(BIG) {
                    w.add_create(&format!("/app/big/c{i}"), b"", open)
                        .expect("a create");
                }
                w.commit().await.expect("a batch of creates")
            }
        });
        within("the big family", futures::future::join_all(batches)).await;
        let alice = connect(&connect_string, Some(b"alice:alice-pw")).await;
        let mine = zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all());
        within("secret", alice.create("/secret", b"s", &mine))
            .await
            .expect("secret");
        // A session holding an ephemeral, open through the whole run.
        let holder = connect(&connect_string, None).await;
        let eph = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
        within("lock", holder.create("/app/lock", b"held", &eph))
            .await
            .expect("lock");
        let owner = format!("0x{:x}", holder.session_id().0);
        (holder, owner)
    });

    let shots = screenshots();
    let leader_id = ensemble.config_mut_ref(leader).server_id;
    let plan = json!({
        "leader": url(ensemble.admin[leader]),
        "leader_id": leader_id,
        "follower": url(ensemble.admin[follower]),
        "read_only": url(ensemble.admin[read_only]),
        "editable": url(ensemble.admin[2]),
        "config": config,
        "config_version": 1,
        "new_config": "{\"name\": \"orders\", \"replicas\": 5}",
        "many": MANY,
        "big": BIG,
        "ephemeral": "/app/lock",
        "owner": owner,
        "secret": "/secret",
        "screenshots": shots,
    });
    let before = settled_digest(&ensemble.admin);
    browse(&plan, "read");
    // Browsing, logging in and a hand-made edit on a read-only console
    // changed nothing in the tree (the console's own sessions are not in
    // it).
    assert_eq!(
        settled_digest(&ensemble.admin),
        before,
        "the tree changed through a read-only console"
    );
    // The console's sessions are clients like any other: `cons` lists
    // the browser's address, port 0.
    let conns = admin_command(ensemble.admin[leader], "connections");
    assert!(
        conns["connections"].as_array().is_some_and(|l| l
            .iter()
            .any(|c| c["remote_socket_address"] == "127.0.0.1:0")),
        "no console session in `cons`: {conns}"
    );
    browse(&plan, "edit");
    for name in ["tree", "sessions", "ensemble", "load", "noauth"] {
        let f = shots.join(format!("{name}.png"));
        let len = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        assert!(
            len > 10_000,
            "{} is missing or blank ({len} bytes)",
            f.display()
        );
    }

    // What the page did, read back by a client: bob's set went through,
    // bob's create did not, alice's did.
    rt.block_on(async {
        let c = connect(&connect_string, Some(b"alice:alice-pw")).await;
        within("sync", c.sync("/")).await.expect("sync");
        let (data, stat) = within("config", c.get_data("/app/config"))
            .await
            .expect("config");
        assert_eq!(data, br#"{"name": "orders", "replicas": 5}"#, "bob's set");
        assert_eq!(stat.version, 2);
        let kids = within("secret", c.list_children("/secret"))
            .await
            .expect("children");
        assert_eq!(
            kids,
            vec!["by-alice".to_owned()],
            "only alice's create (her second one deleted)"
        );
        let (data, _) = within("by-alice", c.get_data("/secret/by-alice"))
            .await
            .expect("by-alice");
        assert_eq!(data, b"hello");
        let (acl, stat) = within("acl", c.get_acl("/secret/by-alice"))
            .await
            .expect("acl");
        assert_eq!(stat.aversion, 1, "alice's setACL");
        assert_eq!(
            acl,
            vec![zk::Acl::new(
                zk::Permission::READ,
                zk::AuthId::new("world", "anyone")
            )],
            "alice's setACL"
        );
        drop(holder);
    });
}

/// Runs the browser through `phase` of the plan.
fn browse(plan: &serde_json::Value, phase: &str) {
    let mut plan = plan.clone();
    plan["phase"] = json!(phase);
    let file = screenshots().join(format!("plan-{phase}.json"));
    std::fs::write(&file, plan.to_string()).expect("write the plan");
    let mut cmd = Command::new(PYTHON);
    cmd.arg(clients_dir().join("console_selenium.py"))
        .arg(&file)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let run = run_with_timeout(cmd, b"", Duration::from_secs(240));
    println!("{phase}: {}", run.transcript());
    assert!(
        run.success(),
        "the console's {phase} phase failed:\n{}",
        run.transcript()
    );
}

#[test]
fn the_console_can_be_turned_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut on = server::Config::for_tests(dir.path().join("on"));
    let admin_on = SocketAddr::from(([127, 0, 0, 1], compat_tests::free_port()));
    on.admin_addr = Some(admin_on);
    let mut off = server::Config::for_tests(dir.path().join("off"));
    let admin_off = SocketAddr::from(([127, 0, 0, 1], compat_tests::free_port()));
    off.admin_addr = Some(admin_off);
    off.console_enabled = false;
    let _a = CorralServer::start_with(on, 0);
    let _b = CorralServer::start_with(off, 0);
    let got = |a: SocketAddr, p: &str| {
        compat_tests::poll_until(Duration::from_secs(10), || http_get(a, p).ok()).expect("http")
    };
    let (status, body) = got(admin_on, "/ui");
    assert_eq!(status, 200);
    assert_eq!(got(admin_on, "/").0, 307, "/ leads to the console");
    assert!(body.contains("Corral console"), "{body}");
    assert_eq!(got(admin_off, "/ui").0, 404);
    assert_eq!(got(admin_off, "/ui/api/whoami").0, 404);
    // A name that is not this server's (a page whose DNS name was made to
    // resolve here) is refused; an IP address and localhost are not.
    let with_host = |host: &str| {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(admin_on).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        write!(s, "GET /ui/api/ensemble HTTP/1.0\r\nHost: {host}\r\n\r\n").expect("write");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out.split_whitespace().nth(1).unwrap_or_default().to_owned()
    };
    assert_eq!(with_host("evil.example:8080"), "421");
    assert_eq!(with_host(&admin_on.to_string()), "200");
    assert_eq!(with_host(&format!("localhost:{}", admin_on.port())), "200");
    // The AdminServer itself still answers.
    assert_eq!(got(admin_off, "/commands/ruok").0, 200);
}
