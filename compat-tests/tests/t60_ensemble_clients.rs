//! The real-client suites against a 3-member Corral ensemble, with members
//! restarted between suites and in the middle of one:
//!
//! 1. zkCli.sh against a follower (its writes go through the leader), on
//!    the fresh tree its script expects;
//! 2. kazoo once against each member alone. The suite checks, as it must
//!    on one server, that a session reads another's write as soon as that
//!    write was acknowledged — which ZooKeeper does not promise across
//!    servers without a `sync`;
//! 3. the C client, given every member's address;
//! 4. the leader restarted; Curator's recipes spread over the members;
//! 5. a Curator session holding a lock, an ephemeral, a cache and a watch
//!    while the member it is on restarts: it must move with all of them;
//! 6. a follower restarted; the Rust client.
//!
//! Then every member must hold the same tree.

use compat_tests::{CorralEnsemble, suites};

#[test]
fn real_clients_against_an_ensemble_with_restarts() {
    let mut e = CorralEnsemble::start(3);
    let follower = (0..3).find(|i| Some(*i) != e.leader()).expect("a follower");
    suites::zkcli(&e.member(follower));
    for i in 0..3 {
        suites::kazoo(&e.member(i), true);
    }
    if let Err(m) = suites::c_client_dialogue(&e) {
        panic!("cli_mt against the ensemble FAILED: {m}");
    }

    let leader = e.leader().expect("a leader");
    e.restart(leader);
    let new_leader = e.leader().expect("a leader after the restart");
    println!("leader {leader} restarted; member {new_leader} leads now");
    suites::curator(&e, true);
    let moved_from = suites::curator_failover(&mut e);
    println!("member {moved_from} restarted under a Curator session");

    let follower = (0..3).find(|i| Some(*i) != e.leader()).expect("a follower");
    e.restart(follower);
    println!("follower {follower} restarted");
    suites::rust_client(&e);
    // Every member ends with the same tree (a member may trail for a
    // moment: the last sessions' ephemerals go as their closes apply).
    let counts = || -> Vec<String> {
        e.addrs()
            .into_iter()
            .map(|a| {
                compat_tests::four_letter(a, "mntr")
                    .unwrap_or_default()
                    .lines()
                    .find(|l| l.starts_with("zk_znode_count"))
                    .unwrap_or("")
                    .to_owned()
            })
            .collect()
    };
    let agreed = compat_tests::poll_until(std::time::Duration::from_secs(10), || {
        let c = counts();
        (c.windows(2).all(|w| w[0] == w[1]) && !c[0].is_empty()).then_some(())
    });
    assert!(
        agreed.is_some(),
        "members disagree on the tree: {:?}",
        counts()
    );
}
