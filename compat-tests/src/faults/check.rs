//! The checkers, run on a run's records and on what every member holds
//! afterwards. Each returns the violations it found (empty: green).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use jute::proto::{GetChildrenRequest, GetDataRequest};
use jute::{Request, Response};

use super::client::{Connected, Outcome, connect};
use super::workload::Record;
use crate::linearizability::{self, Event};

/// What one member holds at the end, read through a session of its own
/// (linearizable reads: the member has caught up to the read's point).
#[derive(Debug, Default)]
pub struct MemberState {
    /// Children of `/acked`.
    pub acked: HashSet<String>,
    /// Children of `/seq`.
    pub sequential: HashSet<String>,
    /// Children of `/eph`.
    pub ephemerals: HashSet<String>,
    /// Each register's value.
    pub registers: Vec<String>,
}

async fn children(c: &mut super::client::Conn, path: &str) -> Result<HashSet<String>, String> {
    let req = Request::GetChildren(GetChildrenRequest {
        path: path.into(),
        watch: false,
    });
    match c.call(&req).await {
        Outcome::Reply(0, _, Response::GetChildren(r)) => Ok(r.children.into_iter().collect()),
        other => Err(format!("getChildren {path}: {other:?}")),
    }
}

/// Reads member `i`'s state (retrying for up to 30 s while it catches up).
///
/// # Errors
/// The member did not answer.
pub async fn read_member(
    addr: SocketAddr,
    i: usize,
    registers: usize,
) -> Result<MemberState, String> {
    let until = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    while Instant::now() < until {
        match read_once(addr, i, registers).await {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("member {}: {last}", i + 1))
}

async fn read_once(addr: SocketAddr, i: usize, registers: usize) -> Result<MemberState, String> {
    let Connected::Ok(mut c) = connect(addr, i, None).await else {
        return Err("no session".into());
    };
    // After a sync, this session's reads see every write committed before
    // it (ZooKeeper's followers answer from where they are otherwise).
    let sync = Request::Sync(jute::proto::SyncRequest { path: "/".into() });
    if !matches!(c.call(&sync).await, Outcome::Reply(0, ..)) {
        return Err("sync failed".into());
    }
    let mut s = MemberState {
        acked: children(&mut c, "/acked").await?,
        sequential: children(&mut c, "/seq").await?,
        ephemerals: children(&mut c, "/eph").await?,
        registers: Vec::new(),
    };
    for r in 0..registers {
        let req = Request::GetData(GetDataRequest {
            path: format!("/r/{r}"),
            watch: false,
        });
        match c.call(&req).await {
            Outcome::Reply(0, _, Response::GetData(d)) => s
                .registers
                .push(String::from_utf8_lossy(d.data.as_deref().unwrap_or_default()).into_owned()),
            other => return Err(format!("getData /r/{r}: {other:?}")),
        }
    }
    c.close().await;
    Ok(s)
}

/// Every acknowledged create, plain or sequential, is on every member,
/// and every member holds the same register values.
pub fn acknowledged_writes(records: &[Record], states: &[MemberState]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, st) in states.iter().enumerate() {
        let missing: Vec<&String> = records
            .iter()
            .flat_map(|r| r.acked.iter())
            .filter(|p| !st.acked.contains(p.trim_start_matches("/acked/")))
            .collect();
        if !missing.is_empty() {
            out.push(format!(
                "member {}: {} acknowledged creates missing, e.g. {:?}",
                i + 1,
                missing.len(),
                &missing[..missing.len().min(5)]
            ));
        }
        let missing_seq: Vec<&String> = records
            .iter()
            .flat_map(|r| r.sequential.iter().map(|(_, p)| p))
            .filter(|p| !st.sequential.contains(p.trim_start_matches("/seq/")))
            .collect();
        if !missing_seq.is_empty() {
            out.push(format!(
                "member {}: {} acknowledged sequential creates missing, e.g. {:?}",
                i + 1,
                missing_seq.len(),
                &missing_seq[..missing_seq.len().min(5)]
            ));
        }
        if st.registers != states[0].registers {
            out.push(format!(
                "member {} holds other register values than member 1",
                i + 1
            ));
        }
    }
    out
}

/// Each register's history is linearizable (reads are linearizable in
/// `corral.linearizableReads` mode).
/// A register that fails has its history written to `dump` (if given) as
/// `history-r<n>.txt`, one operation per line, times from `t0`.
pub fn registers(
    records: &[Record],
    count: usize,
    t0: Instant,
    dump: Option<&std::path::Path>,
) -> Vec<String> {
    let mut per: Vec<Vec<Event>> = vec![Vec::new(); count];
    for r in records {
        for (reg, e) in &r.registers {
            per[*reg].push(e.clone());
        }
    }
    // A write without a reply whose value nobody read may be taken never
    // to have happened, as the checker may take it anyway: dropping it
    // changes no verdict, and keeps the search small when faults leave
    // many writes unanswered (each otherwise stays a candidate to the
    // end of the history).
    for h in &mut per {
        let read: HashSet<String> = h
            .iter()
            .filter_map(|e| match &e.op {
                crate::linearizability::Op::Read(v) => Some(v.clone()),
                crate::linearizability::Op::Write(_) => None,
            })
            .collect();
        h.retain(|e| match &e.op {
            crate::linearizability::Op::Write(v) => e.ret.is_some() || read.contains(v),
            crate::linearizability::Op::Read(_) => true,
        });
    }
    per.iter_mut()
        .enumerate()
        .filter_map(|(i, h)| {
            let e = linearizability::check("", h).err()?;
            if let Some(dir) = dump {
                h.sort_by_key(|e| e.call);
                let at = |t: Instant| t.saturating_duration_since(t0).as_secs_f64();
                let text: String = h
                    .iter()
                    .map(|e| {
                        format!(
                            "{:.6} {} client {} {:?}\n",
                            at(e.call),
                            e.ret.map_or("?".to_owned(), |r| format!("{:.6}", at(r))),
                            e.client,
                            e.op
                        )
                    })
                    .collect();
                let _ = std::fs::write(dir.join(format!("history-r{i}.txt")), text);
            }
            Some(format!("/r/{i} ({} operations): {e}", h.len()))
        })
        .collect()
}

/// Each session's register reads are in order, as ZooKeeper promises of
/// any read (sequential consistency, whatever member answers): a read sent
/// after the session had seen zxid `Z` sees every write to its register
/// up to `Z` (its own writes among them, and whatever an earlier read of
/// it saw). Writes are known by their zxid from acknowledged writes' and
/// from reads' `mzxid`; one zxid never carries two values, and a read
/// returns the first value or one that was written.
pub fn session_reads(records: &[Record]) -> Vec<String> {
    let mut out = Vec::new();
    // Per register: every write known by its zxid, and every value sent.
    let mut known: HashMap<usize, BTreeMap<i64, String>> = HashMap::new();
    let mut sent: HashMap<usize, HashSet<String>> = HashMap::new();
    for r in records {
        for (reg, e) in &r.registers {
            if let crate::linearizability::Op::Write(v) = &e.op {
                sent.entry(*reg).or_default().insert(v.clone());
            }
        }
    }
    for v in records.iter().flat_map(|r| &r.views) {
        let at = known.entry(v.register).or_default();
        match at.get(&v.mzxid) {
            Some(other) if *other != v.value => out.push(format!(
                "/r/{}: zxid {:#x} holds {:?} and {:?}",
                v.register, v.mzxid, other, v.value
            )),
            Some(_) => {}
            None => {
                at.insert(v.mzxid, v.value.clone());
            }
        }
        let written = sent.get(&v.register).is_some_and(|s| s.contains(&v.value));
        if !v.write && !v.value.is_empty() && !written {
            out.push(format!(
                "/r/{}: session {:#x} read {:?}, which nobody wrote",
                v.register, v.session, v.value
            ));
        }
    }
    for v in records.iter().flat_map(|r| &r.views).filter(|v| !v.write) {
        let Some(writes) = known.get(&v.register) else {
            continue;
        };
        // The newest write the session must see.
        if let Some((w, value)) = writes.range(..=v.seen).next_back()
            && *w > v.mzxid
        {
            out.push(format!(
                "/r/{}: session {:#x}, having seen zxid {:#x}, read {:?} (zxid {:#x}), \
                 older than {value:?} (zxid {w:#x})",
                v.register, v.session, v.seen, v.value, v.mzxid
            ));
        }
    }
    out
}

/// Sequential names are never handed out twice, and one session's
/// increase in the order of their replies.
pub fn sequential(records: &[Record]) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut last: HashMap<i64, String> = HashMap::new();
    for r in records {
        for (sid, p) in &r.sequential {
            if !seen.insert(p.clone()) {
                out.push(format!("{p} was acknowledged twice"));
            }
            if let Some(prev) = last.get(sid)
                && p <= prev
            {
                out.push(format!("session {sid:#x}: {p} acknowledged after {prev}"));
            }
            last.insert(*sid, p.clone());
        }
    }
    out
}

/// Never two holders of the lock at once.
pub fn lock(records: &[Record]) -> Vec<String> {
    let mut holds: Vec<(Instant, Instant, usize)> = records
        .iter()
        .flat_map(|r| r.holds.iter().map(move |(a, b)| (*a, *b, r.client)))
        .collect();
    holds.sort();
    holds
        .windows(2)
        .filter(|w| w[1].0 < w[0].1)
        .map(|w| {
            format!(
                "lock held by clients {} and {} at once (overlap {:?})",
                w[0].2,
                w[1].2,
                w[0].1 - w[1].0
            )
        })
        .collect()
}

/// The ephemerals of sessions that ended (given up or expired) are gone
/// from every member: each member's `/eph` holds only live sessions'.
pub fn ephemerals(records: &[Record], states: &[MemberState]) -> Vec<String> {
    let ended: HashSet<String> = records
        .iter()
        .flat_map(|r| r.ended_sessions.iter().map(|(s, _)| format!("{s:x}")))
        .collect();
    let mut out = Vec::new();
    for (i, st) in states.iter().enumerate() {
        let stale: Vec<&String> = st
            .ephemerals
            .iter()
            .filter(|e| ended.contains(*e))
            .collect();
        if !stale.is_empty() {
            out.push(format!(
                "member {}: ephemerals of ended sessions remain: {stale:?}",
                i + 1
            ));
        }
    }
    out
}

/// Pauses: for each window (fault start, fault end), the longest time
/// without an acknowledged write, from the window's start to a settle
/// time after its end.
pub fn pauses(
    records: &[Record],
    windows: &[(Instant, Instant)],
    settle: Duration,
) -> Vec<Duration> {
    let mut acks: Vec<Instant> = records
        .iter()
        .flat_map(|r| r.ack_times.iter().copied())
        .collect();
    acks.sort();
    windows
        .iter()
        .map(|(start, end)| {
            let stop = *end + settle;
            let mut prev = *start;
            let mut worst = Duration::ZERO;
            for t in acks.iter().filter(|t| **t > *start && **t <= stop) {
                worst = worst.max(*t - prev);
                prev = *t;
            }
            if prev < stop {
                // No write after `prev` within the window: counted to its
                // end at least.
                let next = acks.iter().find(|t| **t > prev).copied().unwrap_or(stop);
                worst = worst.max(next - prev);
            }
            worst
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::workload::View;
    use crate::linearizability::Op;

    /// Client 0 writes "a" then "b" to `/r/0` (zxids 5 and 9); client 1
    /// reads.
    fn history(reads: &[(i64, i64, &str)]) -> Vec<Record> {
        let now = Instant::now();
        let write = |v: &str, mzxid: i64, seen: i64| {
            (
                (
                    0,
                    Event {
                        client: 0,
                        op: Op::Write(v.into()),
                        call: now,
                        ret: Some(now),
                    },
                ),
                View {
                    session: 1,
                    register: 0,
                    seen,
                    mzxid,
                    value: v.into(),
                    write: true,
                },
            )
        };
        let (wa, va) = write("a", 5, 0);
        let (wb, vb) = write("b", 9, 5);
        let writer = Record {
            client: 0,
            registers: vec![wa, wb],
            views: vec![va, vb],
            ..Record::default()
        };
        let reader = Record {
            client: 1,
            views: reads
                .iter()
                .map(|(seen, mzxid, value)| View {
                    session: 2,
                    register: 0,
                    seen: *seen,
                    mzxid: *mzxid,
                    value: (*value).into(),
                    write: false,
                })
                .collect(),
            ..Record::default()
        };
        vec![writer, reader]
    }

    #[test]
    fn reads_that_move_forward_are_in_order() {
        // Stale reads are allowed (a follower behind), as long as they do
        // not go behind what the session saw.
        let ok = history(&[
            (0, 0, ""),
            (3, 5, "a"),
            (6, 5, "a"),
            (9, 9, "b"),
            (12, 9, "b"),
        ]);
        assert_eq!(session_reads(&ok), Vec::<String>::new());
    }

    #[test]
    fn a_read_behind_what_its_session_saw_is_caught() {
        let bad = history(&[(9, 9, "b"), (10, 5, "a")]);
        let v = session_reads(&bad);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].contains("older than \"b\""), "{v:?}");
    }

    #[test]
    fn a_value_nobody_wrote_and_two_values_at_one_zxid_are_caught() {
        let v = session_reads(&history(&[(0, 7, "z")]));
        assert!(v.iter().any(|m| m.contains("nobody wrote")), "{v:?}");
        let v = session_reads(&history(&[(0, 9, "a")]));
        assert!(v.iter().any(|m| m.contains("holds")), "{v:?}");
    }
}
