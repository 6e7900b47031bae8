//! Quotas as ZooKeeper 3.7+ keeps them: the stats node tracks the subtree's
//! count and bytes through every write (multi rollbacks and session ends
//! included), and `enforceQuota` turns hard limits into `QUOTAEXCEEDED`.

mod common;

use bytes::Bytes;
use common::*;
use jute::proto::*;
use jute::{ErrorCode, Request, Response};
use storage::{CommandOp, TreeConfig};

fn data(h: &Harness, path: &str) -> String {
    let d = h.tree.get_data(path, &[]).expect(path).data;
    String::from_utf8_lossy(&d.unwrap_or_default()).into_owned()
}

/// What zkCli's `setquota` sends: the quota's parents, the limits, then
/// the stats node created with zeros (which the server recomputes).
fn set_quota(h: &mut Harness, path: &str, limits: &str) {
    let mut q = String::from("/zookeeper/quota");
    for part in path.split('/').filter(|p| !p.is_empty()) {
        q.push('/');
        q.push_str(part);
        let _ = h.create(&q, b"", 0);
    }
    h.must_create_with(&format!("{q}/zookeeper_limits"), limits.as_bytes());
    h.must_create_with(&format!("{q}/zookeeper_stats"), b"count=0,bytes=0");
}

trait Creates {
    fn must_create_with(&mut self, path: &str, data: &[u8]);
}

impl Creates for Harness {
    fn must_create_with(&mut self, path: &str, data: &[u8]) {
        match self.create(path, data, 0) {
            Ok(Response::Create2(r)) => {
                // The reply shows the data as sent, even for a stats node.
                assert_eq!(r.stat.data_length as usize, data.len(), "{path}");
            }
            other => panic!("create {path}: {other:?}"),
        }
    }
}

fn set(h: &mut Harness, path: &str, d: &[u8]) -> Result<Response, ErrorCode> {
    h.write(
        S1,
        Request::SetData(SetDataRequest {
            path: path.into(),
            data: Some(Bytes::copy_from_slice(d)),
            version: -1,
        }),
    )
}

fn delete(h: &mut Harness, path: &str) -> Result<Response, ErrorCode> {
    h.write(
        S1,
        Request::Delete(DeleteRequest {
            path: path.into(),
            version: -1,
        }),
    )
}

const STATS: &str = "/zookeeper/quota/app/zookeeper_stats";

#[test]
fn stats_follow_every_write_under_the_quota() {
    let mut h = Harness::new();
    h.must_create_with("/app", b"12345");
    h.must_create_with("/app/a", b"xy");
    h.must_create_with("/other", b"zzz");
    set_quota(&mut h, "/app", "count=10,bytes=100");
    // Recomputed when the stats node is created: /app and /app/a.
    assert_eq!(data(&h, STATS), "count=2,bytes=7");
    let before = h.tree.exists(STATS, &[], true).expect("stats");
    h.must_create_with("/app/b", b"abc");
    assert_eq!(data(&h, STATS), "count=3,bytes=10");
    set(&mut h, "/app/b", b"a").expect("set");
    assert_eq!(data(&h, STATS), "count=3,bytes=8");
    delete(&mut h, "/app/a").expect("delete");
    assert_eq!(data(&h, STATS), "count=2,bytes=6");
    // Outside the quota: unchanged.
    h.must_create_with("/other/x", b"many bytes");
    assert_eq!(data(&h, STATS), "count=2,bytes=6");
    // The stats node's Stat is untouched (data changed in place), but its
    // data length follows the data.
    let after = h.tree.exists(STATS, &[], true).expect("stats");
    assert_eq!((after.version, after.mzxid), (before.version, before.mzxid));
    assert_eq!(after.data_length, 15);
    // An ephemeral goes with its session.
    h.write(S2, Request::Create2(create_req("/app/e", b"eph", 1)))
        .expect("ephemeral");
    assert_eq!(data(&h, STATS), "count=3,bytes=9");
    assert!(h.run(S2, CommandOp::CloseSession).result.is_ok());
    assert_eq!(data(&h, STATS), "count=2,bytes=6");
    // A failed multi leaves no trace.
    let out = h.write(
        S1,
        Request::Multi(MultiRequest {
            ops: vec![
                Op::Create(create_req("/app/m", b"mm", 0)),
                Op::SetData(SetDataRequest {
                    path: "/app".into(),
                    data: None,
                    version: 99,
                }),
            ],
        }),
    );
    assert!(matches!(out, Ok(Response::Multi(_))));
    assert_eq!(data(&h, STATS), "count=2,bytes=6");
    // Extra keys a client wrote into the stats survive, sorted, after "=".
    set(&mut h, STATS, b"count=2,bytes=6,zeta=1;alpha=2").expect("set stats");
    h.must_create_with("/app/c", b"");
    assert_eq!(data(&h, STATS), "count=3,bytes=6=;alpha=2;zeta=1");
    // Without the limits node, no quota: nothing is tracked.
    delete(&mut h, "/zookeeper/quota/app/zookeeper_limits").expect("delquota");
    assert_eq!(h.tree.quota_roots().count(), 0);
    h.must_create_with("/app/d", b"dd");
    assert_eq!(data(&h, STATS), "count=3,bytes=6=;alpha=2;zeta=1");
}

#[test]
fn the_deepest_quota_counts() {
    let mut h = Harness::new();
    h.must_create_with("/a", b"");
    h.must_create_with("/a/b", b"");
    set_quota(&mut h, "/a", "count=5,bytes=-1");
    set_quota(&mut h, "/a/b", "count=5,bytes=-1");
    h.must_create_with("/a/b/c", b"x");
    assert_eq!(
        data(&h, "/zookeeper/quota/a/b/zookeeper_stats"),
        "count=2,bytes=1"
    );
    // ZooKeeper counts /a/b in /a's stats only when /a's was created.
    assert_eq!(
        data(&h, "/zookeeper/quota/a/zookeeper_stats"),
        "count=2,bytes=0"
    );
    assert_eq!(h.tree.quota_root_of("/a/b/c/d"), Some("/a/b"));
    assert_eq!(h.tree.quota_root_of("/a/bc"), Some("/a"));
    assert_eq!(h.tree.quota_root_of("/ab"), None);
}

#[test]
fn hard_limits_refuse_writes_only_with_enforce_quota() {
    for enforce in [false, true] {
        let mut h = Harness::with_config(TreeConfig {
            ttl_enabled: true,
            enforce_quota: enforce,
        });
        h.must_create_with("/app", b"");
        set_quota(
            &mut h,
            "/app",
            "count=-1,bytes=-1=;byteHardLimit=10;countHardLimit=3",
        );
        h.must_create_with("/app/a", b"12345");
        h.must_create_with("/app/b", b"");
        // A fourth node: past the hard count.
        let out = h.run(
            S1,
            CommandOp::Write(Request::Create2(create_req("/app/c", b"", 0))),
        );
        if enforce {
            assert_eq!(out.result, Err(ErrorCode::QuotaExceeded));
            let q = &out.quota_exceeded[0];
            assert!(q.hard && q.count && q.current == 4 && q.limit == 3, "{q:?}");
            assert_eq!(q.namespace, "app");
            assert_eq!(
                q.to_string(),
                "Quota exceeded: /app [current count=4, hardCountLimit=3]"
            );
            assert_eq!(data(&h, STATS), "count=3,bytes=5");
        } else {
            assert!(out.result.is_ok() && out.quota_exceeded.is_empty());
            delete(&mut h, "/app/c").expect("delete");
        }
        // Bytes: 5 + 6 > 10.
        let out = set(&mut h, "/app/b", b"123456");
        if enforce {
            assert_eq!(out, Err(ErrorCode::QuotaExceeded));
        } else {
            assert!(out.is_ok());
        }
        // Shrinking is always allowed.
        assert!(set(&mut h, "/app/a", b"1").is_ok());
    }
}

#[test]
fn soft_limits_are_reported_not_enforced() {
    let mut h = Harness::with_config(TreeConfig {
        ttl_enabled: true,
        enforce_quota: true,
    });
    h.must_create_with("/app", b"");
    set_quota(&mut h, "/app", "count=1,bytes=2");
    let out = h.run(
        S1,
        CommandOp::Write(Request::Create2(create_req("/app/a", b"xyz", 0))),
    );
    assert!(out.result.is_ok());
    let kinds: Vec<(bool, bool, i64, i64)> = out
        .quota_exceeded
        .iter()
        .map(|q| (q.hard, q.count, q.current, q.limit))
        .collect();
    assert_eq!(kinds, vec![(false, true, 2, 1), (false, false, 3, 2)]);
    assert_eq!(
        out.quota_exceeded[1].to_string(),
        "Quota exceeded: /app [current bytes=3, softByteLimit=2]"
    );
}

#[test]
fn metrics_sum_limits_and_usage_per_namespace() {
    let mut h = Harness::new();
    h.must_create_with("/ns", b"");
    h.must_create_with("/ns/a", b"1234");
    h.must_create_with("/ns/b", b"");
    set_quota(
        &mut h,
        "/ns/a",
        "count=3,bytes=-1=;byteHardLimit=50;countHardLimit=-1",
    );
    set_quota(&mut h, "/ns/b", "count=2,bytes=9");
    let m = storage::quota::by_namespace(&h.tree);
    let ns = m.get("ns").copied().expect("namespace ns");
    assert_eq!(
        (
            ns.count_limit,
            ns.bytes_limit,
            ns.count_usage,
            ns.bytes_usage
        ),
        (5, 59, 2, 4)
    );
    assert_eq!(m.len(), 1);
}

#[test]
fn quota_roots_come_back_after_a_restart() {
    use storage::{Durability, Store};
    let dir = tempfile::tempdir().expect("dir");
    let config = TreeConfig::default();
    let mut h = Harness::new();
    let (store, tree) = Store::open(dir.path(), config.clone()).expect("open");
    h.tree = tree;
    h.open(S1);
    h.must_create_with("/app", b"ab");
    set_quota(&mut h, "/app", "count=10,bytes=-1");
    store
        .commit(&mut h.tree, Durability::Synced)
        .expect("commit");
    drop(store);
    let (_store, tree) = Store::open(dir.path(), config).expect("reopen");
    h.tree = tree;
    assert_eq!(h.tree.quota_roots().collect::<Vec<_>>(), ["/app"]);
    assert_eq!(data(&h, STATS), "count=1,bytes=2");
    h.must_create_with("/app/x", b"xyz");
    assert_eq!(data(&h, STATS), "count=2,bytes=5");
}
