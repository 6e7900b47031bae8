//! A store file damaged between a crash and the restart (issue #22): a
//! journal torn at its end, as a crash in mid-write leaves it, is
//! recovered (the unfinished batch was never synced, so never
//! acknowledged); a flipped bit inside it fails fjall's checksum and the
//! server refuses to start, saying why, rather than serve a state it
//! cannot vouch for.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{call, create, free_port, try_connect};
use jute::proto::GetChildrenRequest;
use jute::{CreateMode, Request, Response};

/// Starts corral on `cfg`; its stderr captured if `capture`, else shown.
fn spawn(cfg: &Path, capture: bool) -> Child {
    Command::new(env!("CARGO_BIN_EXE_corral"))
        .arg("--config")
        .arg(cfg)
        .args(["--log", "warn", "--admin-port", "0", "--metrics-port", "0"])
        .env_remove("FAILPOINTS")
        .stdout(Stdio::null())
        .stderr(if capture {
            Stdio::piped()
        } else {
            Stdio::inherit()
        })
        .spawn()
        .expect("spawn corral")
}

async fn wait_serving(addr: std::net::SocketAddr) {
    let until = Instant::now() + Duration::from_secs(20);
    while try_connect(addr, 4000, None).await.is_none() {
        assert!(Instant::now() < until, "never served");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts corral on `cfg` and expects it to exit with status 1 within
/// 20 s (killing it otherwise); returns what it printed.
async fn refused(cfg: &Path, on: &str) -> String {
    let child = spawn(cfg, true);
    let pid = child.id();
    let waited = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await;
    let Ok(Ok(Ok(out))) = waited else {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        panic!("corral did not exit on {on}");
    };
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "refused: {stderr}");
    stderr
}

/// Where the last written byte of `journal` is (the rest is preallocated
/// zeros).
fn used(journal: &[u8]) -> usize {
    journal.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).expect("copy");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_journal_tail_is_recovered_and_a_flipped_bit_refused() {
    let root = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let write_cfg = |dir: &Path| {
        let cfg = dir.join("zoo.cfg");
        std::fs::create_dir_all(dir).expect("mkdir");
        std::fs::write(
            &cfg,
            format!(
                "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n",
                dir.join("data").display()
            ),
        )
        .expect("zoo.cfg");
        cfg
    };
    let first = root.path().join("a");
    let cfg = write_cfg(&first);
    let mut child = spawn(&cfg, false);
    wait_serving(addr).await;
    let (mut c, _) = try_connect(addr, 4000, None).await.expect("session");
    for i in 0..50 {
        let (h, _) = call(
            &mut c,
            i + 1,
            create(&format!("/n-{i}"), b"x", CreateMode::Persistent),
        )
        .await;
        assert_eq!(h.err, 0, "create /n-{i}");
    }
    child.kill().expect("kill -9");
    let _ = child.wait();

    // The same crash, two damages.
    let second = root.path().join("b");
    copy_dir(&first, &second);
    let cfg_b = write_cfg(&second);

    // Torn: a batch that was being written when the machine went down
    // (never synced, so never acknowledged) reached the disk only in part:
    // its first bytes (a batch's start, as the journal's first 24 bytes
    // are) after the last synced batch.
    let journal = first.join("data/raft/0.jnl");
    let mut bytes = std::fs::read(&journal).expect("journal");
    let end = used(&bytes);
    assert!(end > 1000, "the journal holds the writes ({end} bytes)");
    let start: Vec<u8> = bytes[..24].to_vec();
    if bytes.len() < end + 24 {
        bytes.resize(end + 24, 0);
    }
    bytes[end..end + 24].copy_from_slice(&start);
    std::fs::write(&journal, &bytes).expect("tear");
    let mut child = spawn(&cfg, false);
    wait_serving(addr).await;
    let (mut c, _) = try_connect(addr, 4000, None).await.expect("session");
    let req = Request::GetChildren(GetChildrenRequest {
        path: "/".into(),
        watch: false,
    });
    match call(&mut c, 1, req).await {
        (h, Response::GetChildren(r)) if h.err == 0 => {
            let n = r.children.iter().filter(|c| c.starts_with("n-")).count();
            assert_eq!(n, 50, "every acknowledged create after a torn tail");
        }
        other => panic!("getChildren: {other:?}"),
    }
    child.kill().expect("kill");
    let _ = child.wait();

    // Flipped: one bit in the middle of the journal.
    let journal = second.join("data/raft/0.jnl");
    let mut bytes = std::fs::read(&journal).expect("journal");
    let mid = used(&bytes) / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&journal, &bytes).expect("flip");
    let stderr = refused(&cfg_b, "a corrupt journal").await;
    assert!(
        stderr.contains("is corrupt") && stderr.contains("refusing to start"),
        "says why: {stderr}"
    );
    assert!(
        try_connect(addr, 4000, None).await.is_none(),
        "nothing serves from a corrupt log"
    );

    // Cut in the middle: what fjall makes of a journal damaged inside an
    // entry's header rather than its checksummed payload (it reads up to
    // there and drops the rest as a torn tail, without an error). The
    // tree applied what was dropped, so the loss is seen and refused.
    let third = root.path().join("c");
    copy_dir(&first, &third);
    let cfg_c = write_cfg(&third);
    let journal = third.join("data/raft/0.jnl");
    let mut bytes = std::fs::read(&journal).expect("journal");
    let end = used(&bytes);
    bytes[end / 2..end].fill(0);
    std::fs::write(&journal, &bytes).expect("cut");
    let stderr = refused(&cfg_c, "a journal that lost synced entries").await;
    assert!(
        stderr.contains("lost entries it had synced"),
        "says why: {stderr}"
    );
}
