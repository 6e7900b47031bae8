//! The real-client suites against a 3-member Corral ensemble; between
//! suites a member is stopped and started again on its data — first the
//! leader, then a follower — so the later suites run on an ensemble that
//! has changed leader and re-admitted a member that missed writes.
//!
//! Curator and the Rust client are given every member's address and
//! spread their sessions over them. The kazoo suite checks, as it must on
//! one server, that a session reads another's write as soon as that write
//! was acknowledged — which ZooKeeper does not promise across servers
//! without a `sync` — so it runs once against each member alone: on the
//! leader and on both followers.

use compat_tests::{CorralEnsemble, suites};

#[test]
fn real_clients_against_an_ensemble_with_restarts() {
    let mut e = CorralEnsemble::start(3);
    for i in 0..3 {
        suites::kazoo(&e.member(i), true);
    }

    let leader = e.leader().expect("a leader");
    e.restart(leader);
    let new_leader = e.leader().expect("a leader after the restart");
    println!("leader {leader} restarted; member {new_leader} leads now");
    suites::curator(&e);

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
