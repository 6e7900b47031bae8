//! The linearizability checker used by the fault tests, on histories whose
//! answer is known.

mod common;

use std::time::{Duration, Instant};

use common::linearizability::{Event, Op, check};

/// An event from times in milliseconds after `t0`.
fn ev(t0: Instant, client: usize, op: Op, call: u64, ret: Option<u64>) -> Event {
    Event {
        client,
        op,
        call: t0 + Duration::from_millis(call),
        ret: ret.map(|r| t0 + Duration::from_millis(r)),
    }
}

fn w(v: &str) -> Op {
    Op::Write(v.into())
}

fn r(v: &str) -> Op {
    Op::Read(v.into())
}

#[test]
fn sequential_histories() {
    let t = Instant::now();
    let ok = [
        ev(t, 0, w("a"), 0, Some(1)),
        ev(t, 1, r("a"), 2, Some(3)),
        ev(t, 0, w("b"), 4, Some(5)),
        ev(t, 1, r("b"), 6, Some(7)),
    ];
    assert!(check("0", &ok).is_ok());
    // A read that returns an overwritten value after the overwrite
    // returned: stale.
    let stale = [
        ev(t, 0, w("a"), 0, Some(1)),
        ev(t, 0, w("b"), 2, Some(3)),
        ev(t, 1, r("a"), 4, Some(5)),
    ];
    let err = check("0", &stale).expect_err("a stale read");
    assert!(err.contains("not linearizable"), "{err}");
}

#[test]
fn concurrent_operations_may_take_effect_in_either_order() {
    let t = Instant::now();
    // Two overlapping writes; readers after both see one of them, and all
    // later readers must agree on the winner.
    let h = [
        ev(t, 0, w("a"), 0, Some(10)),
        ev(t, 1, w("b"), 1, Some(9)),
        ev(t, 2, r("a"), 11, Some(12)),
        ev(t, 3, r("a"), 13, Some(14)),
    ];
    assert!(check("0", &h).is_ok());
    let flip = [
        ev(t, 0, w("a"), 0, Some(10)),
        ev(t, 1, w("b"), 1, Some(9)),
        ev(t, 2, r("a"), 11, Some(12)),
        ev(t, 3, r("b"), 13, Some(14)),
    ];
    assert!(
        check("0", &flip).is_err(),
        "the winner changed without a write"
    );
    // A read overlapping a write may see either value.
    let overlap = [
        ev(t, 0, w("a"), 0, Some(10)),
        ev(t, 1, r("0"), 2, Some(3)),
        ev(t, 2, r("a"), 4, Some(5)),
        ev(t, 3, r("a"), 11, Some(12)),
    ];
    assert!(check("0", &overlap).is_ok());
    // ...but once one reader saw the new value, a later one cannot see the old.
    let back_in_time = [
        ev(t, 0, w("a"), 0, Some(10)),
        ev(t, 2, r("a"), 2, Some(3)),
        ev(t, 1, r("0"), 4, Some(5)),
    ];
    assert!(check("0", &back_in_time).is_err());
}

#[test]
fn a_write_without_a_reply_may_or_may_not_have_happened() {
    let t = Instant::now();
    let took_effect = [
        ev(t, 0, w("lost"), 0, None),
        ev(t, 1, r("lost"), 50, Some(51)),
    ];
    assert!(check("0", &took_effect).is_ok());
    let never = [ev(t, 0, w("lost"), 0, None), ev(t, 1, r("0"), 50, Some(51))];
    assert!(check("0", &never).is_ok());
    // A value nobody wrote is never linearizable.
    let invented = [ev(t, 1, r("ghost"), 0, Some(1))];
    assert!(check("0", &invented).is_err());
    // An acknowledged write that a later read does not see: lost.
    let lost = [
        ev(t, 0, w("acked"), 0, Some(1)),
        ev(t, 1, r("0"), 5, Some(6)),
    ];
    assert!(check("0", &lost).is_err());
}

#[test]
fn long_overlapping_histories() {
    // Four clients, 20 000 overlapping operations, linearizable by
    // construction: each write takes effect at its midpoint, reads see the
    // value at theirs.
    let t = Instant::now();
    let mut h = Vec::new();
    let mut value = "0".to_owned();
    let mut effects: Vec<(u64, usize, Op, u64, u64)> = Vec::new();
    for i in 0..20_000u64 {
        let client = usize::try_from(i % 4).unwrap_or(0);
        let call = i * 10;
        let ret = call + 25; // overlaps the next two operations
        let mid = call + 12;
        if i % 3 == 0 {
            effects.push((mid, client, w(&format!("v{i}")), call, ret));
        } else {
            effects.push((mid, client, r(""), call, ret));
        }
    }
    effects.sort_by_key(|e| e.0);
    for (_, client, op, call, ret) in effects {
        let op = match op {
            Op::Write(v) => {
                value = v.clone();
                Op::Write(v)
            }
            Op::Read(_) => Op::Read(value.clone()),
        };
        h.push(ev(t, client, op, call, Some(ret)));
    }
    assert!(check("0", &h).is_ok());
    // One read moved to see a value overwritten long before: caught.
    let last = h.len() - 1;
    h[last].op = Op::Read("v0".into());
    assert!(check("0", &h).is_err());
}
