//! A linearizability checker for one register (a znode's data), in the
//! manner of Wing & Gong with Lowe's memoisation (as Knossos and
//! Porcupine do): search for an order of the operations that respects real
//! time (an operation that returned before another was invoked comes
//! first) and the register's sequential meaning (a read returns the last
//! value written), remembering (linearized set, value) states already
//! explored so each is searched once.
//!
//! A write whose outcome is unknown (the connection dropped before its
//! reply) may take effect at any point after its invocation, or never:
//! it has no return time and need not be linearized.

use std::collections::HashSet;
use std::time::Instant;

/// What a client did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Set the register to this value.
    Write(String),
    /// Read the register; it held this value.
    Read(String),
}

/// One operation of a client history.
#[derive(Debug, Clone)]
pub struct Event {
    /// Which client (for messages only).
    pub client: usize,
    /// The operation and, for a read, its result.
    pub op: Op,
    /// When it was invoked.
    pub call: Instant,
    /// When its reply arrived; `None` if it never did (a write only).
    pub ret: Option<Instant>,
}

/// Whether `history`, starting from the register holding `initial`, is
/// linearizable. `Err` says why not (the longest prefix that could be
/// ordered and what could not follow it).
pub fn check(initial: &str, history: &[Event]) -> Result<(), String> {
    let mut ops: Vec<&Event> = history
        .iter()
        .filter(|e| e.ret.is_some() || matches!(e.op, Op::Write(_)))
        .collect();
    ops.sort_by_key(|e| e.call);
    let n = ops.len();
    let must = ops.iter().filter(|e| e.ret.is_some()).count();
    let words = n.div_ceil(64);

    struct Frame {
        done: Vec<u64>,
        /// Linearized operations that had replies.
        count: usize,
        value: String,
        /// Candidates still to try from this state.
        next: Vec<usize>,
    }
    let is_done = |d: &[u64], i: usize| d[i / 64] & (1 << (i % 64)) != 0;
    // The operations that may come next: not yet linearized, invoked
    // before every pending completed operation returned.
    let candidates = |d: &[u64]| -> Vec<usize> {
        let mut min_ret: Option<Instant> = None;
        let mut out = Vec::new();
        for (i, e) in ops.iter().enumerate() {
            if is_done(d, i) {
                continue;
            }
            if min_ret.is_some_and(|m| e.call > m) {
                break;
            }
            out.push(i);
            if let Some(r) = e.ret {
                min_ret = Some(min_ret.map_or(r, |m: Instant| m.min(r)));
            }
        }
        // Keep only those invoked before the earliest pending return.
        out.retain(|i| min_ret.is_none_or(|m| ops[*i].call <= m));
        out
    };

    let mut seen: HashSet<(Vec<u64>, String)> = HashSet::new();
    let start = vec![0u64; words];
    let mut stack = vec![Frame {
        next: candidates(&start),
        done: start,
        count: 0,
        value: initial.to_owned(),
    }];
    let mut best = 0usize;
    while let Some(top) = stack.last_mut() {
        if top.count == must {
            return Ok(());
        }
        best = best.max(top.count);
        let Some(i) = top.next.pop() else {
            stack.pop();
            continue;
        };
        let value = match &ops[i].op {
            Op::Write(v) => v.clone(),
            Op::Read(v) if *v == top.value => top.value.clone(),
            Op::Read(_) => continue,
        };
        let mut done = top.done.clone();
        done[i / 64] |= 1 << (i % 64);
        if !seen.insert((done.clone(), value.clone())) {
            continue;
        }
        let count = top.count + usize::from(ops[i].ret.is_some());
        stack.push(Frame {
            next: candidates(&done),
            done,
            count,
            value,
        });
    }
    Err(format!(
        "not linearizable: at most {best} of the {must} answered operations could be \
         ordered (of {n} in all)"
    ))
}
