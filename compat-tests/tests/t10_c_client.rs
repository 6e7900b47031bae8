//! The C client (`libzookeeper-mt` 3.8, through its shell `cli_mt` from the
//! Debian package `zookeeper-bin`) against Corral and against the reference
//! ZooKeeper 3.8: the same dialogue must succeed on both.
//!
//! `cli_mt` reads stdin asynchronously; instead of pacing commands with
//! sleeps, each command is sent only once the previous one's answer has been
//! read back.

use std::collections::BTreeSet;
use std::process::Command;
use std::thread;
use std::time::Duration;

use compat_tests::{CLI_MT, Conversation, CorralServer, Target, ZooKeeperServer, require_file};

/// Bound on each wait for an answer.
const STEP: Duration = Duration::from_secs(10);

/// A line equal to `want` (ignoring trailing blanks).
fn line(want: &'static str) -> impl FnMut(&str) -> bool {
    move |l: &str| l.trim_end() == want
}

/// Sends `cmd`, then expects `answers` in this order (other lines, such as
/// the client's own log, may come in between).
fn step(cli: &mut Conversation, cmd: &str, answers: &[&'static str]) -> Result<(), String> {
    cli.send(cmd).map_err(|e| format!("send {cmd:?}: {e}"))?;
    for want in answers {
        cli.expect(&format!("{want:?} after {cmd:?}"), STEP, line(want))?;
    }
    Ok(())
}

/// The dialogue; `Err` carries what went wrong and the transcript.
fn dialogue(target: &dyn Target) -> Result<(), String> {
    require_file(CLI_MT, "cli_mt (Debian package zookeeper-bin)");
    let mut cmd = Command::new(CLI_MT);
    cmd.arg("-h").arg(target.addr().to_string());
    let mut cli = Conversation::start(cmd, "cli_mt");
    cli.expect("a session", STEP, |l| {
        l.starts_with("Got a new session id: 0x")
    })?;

    step(&mut cli, "create /cm", &["[/cm]: rc = 0", "\tname = /cm"])?;
    step(&mut cli, "create /cm", &["[/cm]: rc = -110"])?; // NODEEXISTS
    step(
        &mut cli,
        "create +e /cm/eph",
        &["[/cm/eph]: rc = 0", "\tname = /cm/eph"],
    )?;
    step(
        &mut cli,
        "create +s /cm/seq-",
        &["[/cm/seq-]: rc = 0", "\tname = /cm/seq-0000000001"],
    )?;
    step(
        &mut cli,
        "set /cm hello",
        &[
            "/cm: rc = 0 Stat:",
            "\tversion=1\taversion=0",
            "\tephemeralOwner = 0",
        ],
    )?;
    step(
        &mut cli,
        "get /cm",
        &[
            "/cm: rc = 0",
            " value_len = 5",
            "hello",
            "Stat:",
            "\tversion=1\taversion=0",
        ],
    )?;
    step(&mut cli, "get /cm/none", &["/cm/none: rc = -101"])?; // NONODE

    // ls (which also leaves a child watch on /cm): the children, in any
    // order, up to the "time = ..." line that ends the listing.
    step(&mut cli, "ls /cm", &["/cm: rc = 0"])?;
    let listing = cli.expect("the end of the listing", STEP, |l| l.starts_with("time = "))?;
    let children: BTreeSet<&str> = listing
        .iter()
        .filter_map(|l| l.strip_prefix('\t'))
        .collect();
    if children != BTreeSet::from(["eph", "seq-0000000001"]) {
        return Err(format!(
            "ls /cm listed {children:?}; transcript:\n{}",
            cli.transcript.join("\n")
        ));
    }

    step(&mut cli, "exists /cm/none", &["Error -101 for /cm/none"])?;
    // An exists watch on a missing node, then the create that fires it: the
    // notification is delivered before the create's own completion, and the
    // child watch left by ls fires too.
    step(&mut cli, "wexists /cm/later", &["Error -101 for /cm/later"])?;
    cli.send("create /cm/later").map_err(|e| e.to_string())?;
    let got = cli.expect("the create's completion", STEP, line("[/cm/later]: rc = 0"))?;
    let created = "Watcher CREATED_EVENT state = CONNECTED_STATE for path /cm/later";
    if !got.iter().any(|l| l.trim_end() == created) {
        return Err(format!(
            "no {created:?} before the completion of the create; transcript:\n{}",
            cli.transcript.join("\n")
        ));
    }
    let child = "Watcher CHILD_EVENT state = CONNECTED_STATE for path /cm";
    if !cli.transcript.iter().any(|l| l.trim_end() == child) {
        cli.expect(&format!("{child:?}"), STEP, line(child))?;
    }

    step(&mut cli, "delete /cm", &["/cm: rc = -111"])?; // NOTEMPTY
    step(&mut cli, "delete /cm/later", &["/cm/later: rc = 0"])?;
    step(&mut cli, "delete /cm/nope", &["/cm/nope: rc = -101"])?;
    step(&mut cli, "sync /cm", &["[/cm]: rc = 0", "\tname = /cm"])?;
    step(&mut cli, "quit", &["Quitting..."])?;
    let status = cli.finish(STEP)?;
    if !status.success() {
        return Err(format!(
            "cli_mt exited with {status}; transcript:\n{}",
            cli.transcript.join("\n")
        ));
    }
    Ok(())
}

#[test]
fn c_client_against_corral_and_reference() {
    let reference = thread::spawn(|| {
        let zk = ZooKeeperServer::start();
        let result = dialogue(&zk);
        (zk.name(), result, zk.diagnostics())
    });
    let corral = CorralServer::start();
    let ours = dialogue(&corral);
    let (zk_name, theirs, zk_log) = reference.join().expect("reference thread");
    let mut failures = Vec::new();
    if let Err(e) = &theirs {
        failures.push(format!("cli_mt against {zk_name} FAILED: {e}\n{zk_log}"));
    }
    if let Err(e) = &ours {
        failures.push(format!("cli_mt against Corral FAILED: {e}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
