//! Quotas as ZooKeeper 3.7+ keeps them, through zkCli.sh's `setquota`,
//! `listquota` and `delquota`, against Corral and the reference ZooKeeper
//! 3.8, both with `enforceQuota=true`: the `zookeeper_stats` node follows
//! every create, set and delete under the quota, a hard limit refuses the
//! write that would pass it (QUOTAEXCEEDED) while a soft one does not, and
//! both transcripts are the same line for line. The per-namespace quota
//! metrics in `mntr` are compared too.

use std::thread;

use compat_tests::{
    CorralServer, Target, ZooKeeperServer, four_letter, free_port, http_get, suites,
};

const SCRIPT: &str = "\
create /q \"\"
create /q/a 12345
setquota -n 5 /q
setquota -B 20 /q
listquota /q
create /q/b xyz
listquota /q
get /zookeeper/quota/q/zookeeper_stats
get /zookeeper/quota/q/zookeeper_limits
set /q/a 1234567890123456789
get /q/a
create /q/c 1
create /q/d 2
create /q/e 3
listquota /q
setquota -N 5 /q
listquota /q
create /q/f 4
listquota /q
setquota -n 2 /q/a
setquota -n 2 /
delquota -N /q
listquota /q
create /q/f 4
delete /q/b
listquota /q
delquota /q
listquota /q
create /q/g 5
get /zookeeper/quota/q/zookeeper_stats
setquota -n 10 /q
setquota -B 100 /q
create /q/h 123
listquota /q
ls /q
quit
";

/// The lines of `mntr` about quotas, sorted.
fn quota_mntr(t: &dyn Target) -> Vec<String> {
    let text = four_letter(t.addr(), "mntr").expect("mntr");
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| l.contains("_quota_"))
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

fn run(t: &dyn Target) -> (suites::ZkCliTranscript, Vec<String>) {
    let run = suites::zkcli_run_script(t.addr(), SCRIPT);
    println!(
        "zkCli against {} ({:.1?}):\n{}\n{}",
        t.name(),
        run.elapsed,
        run.stdout,
        run.stderr
    );
    assert!(
        run.success(),
        "zkCli against {}:\n{}",
        t.name(),
        run.transcript()
    );
    (
        suites::zkcli_transcript(&run, t.addr().port()),
        quota_mntr(t),
    )
}

#[test]
fn zkcli_quotas_against_corral_and_reference() {
    let reference = thread::spawn(|| {
        let zk = ZooKeeperServer::start_with(&["enforceQuota=true"]);
        run(&zk)
    });
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut config = server::Config::for_tests(dir.path().to_path_buf());
    config.enforce_quota = true;
    let metrics = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    config.metrics_addr = Some(metrics);
    let corral = CorralServer::start_with(config, 0);
    let (ours, our_mntr) = run(&corral);
    let (theirs, their_mntr) = reference.join().expect("reference thread");

    // What the script must show, whatever the server.
    for want in [
        "Output stat for /q count=2,bytes=5",
        "Output stat for /q count=3,bytes=8",
        "count=3,bytes=8",
        "count=5,bytes=-1=;byteHardLimit=20;countHardLimit=-1",
    ] {
        assert!(
            ours.out.iter().any(|l| l == want),
            "Corral's zkCli output lacks {want:?}:\n{}",
            ours.out.join("\n")
        );
    }
    assert!(
        ours.err.iter().any(|l| l.contains("Quota has exceeded")),
        "the write past the hard limit is refused:\n{}",
        ours.err.join("\n")
    );
    assert_eq!(
        ours.err,
        theirs.err,
        "zkCli stderr differs:\nCorral:\n{}\nZooKeeper:\n{}",
        ours.err.join("\n"),
        theirs.err.join("\n")
    );
    assert_eq!(
        ours.out,
        theirs.out,
        "zkCli stdout differs:\nCorral:\n{}\nZooKeeper:\n{}",
        ours.out.join("\n"),
        theirs.out.join("\n")
    );
    assert_eq!(
        our_mntr,
        [
            "zk_q_quota_bytes_limit_per_namespace\t100",
            "zk_q_quota_bytes_usage_per_namespace\t13",
            "zk_q_quota_count_limit_per_namespace\t10",
            "zk_q_quota_count_usage_per_namespace\t8",
            "zk_q_quota_exceeded_error_per_namespace\t2",
        ],
        "Corral's mntr quota metrics"
    );
    // Prometheus: the same sets, labelled by namespace as ZooKeeper's
    // Prometheus provider labels them.
    let (status, body) = http_get(metrics, "/metrics").expect("scrape");
    assert_eq!(status, 200);
    for want in [
        "quota_count_limit_per_namespace{key=\"q\"} 10",
        "quota_bytes_usage_per_namespace{key=\"q\"} 13",
        "quota_exceeded_error_per_namespace{key=\"q\"} 2",
    ] {
        assert!(body.lines().any(|l| l == want), "/metrics lacks {want:?}");
    }
    assert_eq!(our_mntr, their_mntr, "mntr's quota metrics differ");
}
