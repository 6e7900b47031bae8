//! Dynamic reconfiguration: ZooKeeper's `reconfig` on openraft's
//! membership changes.
//!
//! `/zookeeper/config` is the ensemble's configuration as ZooKeeper keeps
//! it (the `server.N` lines and `version=<hex>`), replicated like any
//! node. A `reconfig` is served in ZooKeeper's order
//! (`PrepRequestProcessor`):
//!
//! ```text
//! origin (any member)                 leader
//! ReconfigDisabled? standalone? ──►  ReconfigInProgress? BadVersion? BadArguments?
//! WRITE on /zookeeper/config          new members added as learners, caught up
//!                                     NewConfigNoQuorum? NoAuth?
//!                                     SetConfig (version = its own zxid)
//!                                     membership → openraft (joint consensus)
//! reply: the new config and its Stat ◄─ zxid (or the error, as an error txn)
//! ```
//!
//! The committed configuration is the goal; the leader's [`reconcile`]
//! drives openraft's membership to it (new members become learners, then
//! voters through joint consensus; removed members go), on every tick as
//! well as after each `reconfig`, so a leader that fails halfway through
//! leaves the work to the next one. A leader that removes itself hands
//! over: once the change is committed it asks the most up-to-date
//! remaining voter to stand for election at once.
//!
//! Messages between members travel as the server's own peer messages
//! ([`consensus::network::PeerRequest::App`]), told apart by their first
//! byte: session touches start with 0 (their count's top byte), the
//! others with a tag below.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use consensus::openraft::ChangeMembers;
use consensus::{NodeId, Peer};
use jute::ErrorCode;
use jute::proto::ReconfigRequest;
use tracing::{debug, info, warn};

use crate::config::zoo_cfg::{self, ServerLine};
use crate::core::{Core, NO_REPLY};

/// A `reconfig` forwarded to the leader.
pub(crate) const TAG_RECONFIG: u8 = b'R';
/// "Stand for election now": the removed leader to its successor.
pub(crate) const TAG_ELECT: u8 = b'E';
/// "You are no longer a member": the leader to the members a change
/// removed (openraft stops replicating to them, so they would not learn
/// it from the log).
pub(crate) const TAG_REMOVED: u8 = b'X';
/// "Which configuration do you serve?": `corral --k8s` asks, to tell a
/// running ensemble from a new one and to join it.
pub(crate) const TAG_CONFIG: u8 = b'C';
/// "Do you hold a log?": a member starting on an empty directory asks,
/// to tell a new ensemble (form it) from a running one (wait to be added).
pub(crate) const TAG_PROBE: u8 = b'J';

/// How a member is reached, from its line.
pub(crate) fn peer_of(s: &ServerLine) -> Peer {
    Peer {
        raft_addr: s.quorum_addr.clone(),
        client_addr: s.client_addr.clone().unwrap_or_default(),
    }
}

/// A `reconfig` as the leader is asked it: the request, and whether the
/// session may write `/zookeeper/config` (checked where the session is,
/// answered in ZooKeeper's order by the leader).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ask {
    pub request: ReconfigRequest,
    pub authorized: bool,
}

fn put_str(out: &mut Vec<u8>, s: Option<&String>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
}

fn take_str(b: &mut &[u8]) -> Option<Option<String>> {
    let (flag, rest) = b.split_first()?;
    if *flag == 0 {
        *b = rest;
        return Some(None);
    }
    let (len, rest) = rest.split_first_chunk::<4>()?;
    let (s, rest) = rest.split_at_checked(u32::from_be_bytes(*len) as usize)?;
    *b = rest;
    Some(Some(String::from_utf8(s.to_vec()).ok()?))
}

impl Ask {
    /// `[tag][str joining][str leaving][str newMembers][i64 curConfigId][u8 authorized]`,
    /// each string `[u8 present][u32 len][utf-8]`.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = vec![TAG_RECONFIG];
        put_str(&mut out, self.request.joining_servers.as_ref());
        put_str(&mut out, self.request.leaving_servers.as_ref());
        put_str(&mut out, self.request.new_members.as_ref());
        out.extend_from_slice(&self.request.cur_config_id.to_be_bytes());
        out.push(u8::from(self.authorized));
        out
    }

    pub(crate) fn decode(b: &[u8]) -> Option<Self> {
        let mut b = b.strip_prefix(&[TAG_RECONFIG])?;
        let joining_servers = take_str(&mut b)?;
        let leaving_servers = take_str(&mut b)?;
        let new_members = take_str(&mut b)?;
        let (id, rest) = b.split_first_chunk::<8>()?;
        let authorized = *rest.first()? == 1;
        Some(Ask {
            request: ReconfigRequest {
                joining_servers,
                leaving_servers,
                new_members,
                cur_config_id: i64::from_be_bytes(*id),
            },
            authorized,
        })
    }
}

/// Why the leader's part gave no configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The member asked does not lead (any more): ask the leader.
    NotLeader,
    /// ZooKeeper's answer to the client (an error transaction), or
    /// CONNECTIONLOSS when the outcome is unknown (never asked again).
    Code(ErrorCode),
}

impl From<ErrorCode> for Refused {
    fn from(c: ErrorCode) -> Self {
        Refused::Code(c)
    }
}

/// The wire value of [`Refused::NotLeader`]: no ZooKeeper code.
const NOT_LEADER: i32 = i32::MIN;

/// The leader's answer: `[i32 err][i64 zxid]`, err 0 with the zxid of the
/// new configuration, else the error code ([`NOT_LEADER`]: ask the
/// leader).
fn encode_answer(r: Result<i64, Refused>) -> Vec<u8> {
    let (err, zxid) = match r {
        Ok(z) => (0, z),
        Err(Refused::NotLeader) => (NOT_LEADER, 0),
        Err(Refused::Code(e)) => (i32::from(e), 0),
    };
    let mut out = err.to_be_bytes().to_vec();
    out.extend_from_slice(&zxid.to_be_bytes());
    out
}

pub(crate) fn decode_answer(b: &[u8]) -> Option<Result<i64, Refused>> {
    let (err, rest) = b.split_first_chunk::<4>()?;
    let (zxid, _) = rest.split_first_chunk::<8>()?;
    let err = i32::from_be_bytes(*err);
    Some(match err {
        0 => Ok(i64::from_be_bytes(*zxid)),
        NOT_LEADER => Err(Refused::NotLeader),
        e => Err(Refused::Code(
            ErrorCode::try_from(e).unwrap_or(ErrorCode::SystemError),
        )),
    })
}

/// The server's peer messages: a `reconfig` for the leader, the
/// successor's call to elections, the start-up probe; anything else is a
/// follower's session touches.
pub(crate) fn on_message(
    core: Arc<Core>,
    from: NodeId,
    payload: Vec<u8>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Vec<u8>> + Send>> {
    Box::pin(async move {
        match payload.first() {
            Some(&TAG_CONFIG) => {
                // Only a member that holds a log speaks for an ensemble.
                if core.raft.metrics().borrow().last_log_index.is_none() {
                    return Vec::new();
                }
                let (servers, version) = live_config(&core);
                zoo_cfg::dynamic_config(&servers, version).into_bytes()
            }
            Some(&TAG_RECONFIG) => {
                // From another member (or a joining pod): led here, or
                // passed on to the leader.
                let limit =
                    core.config.tick_time * (core.config.init_limit + core.config.sync_limit);
                let led = core.is_leader();
                let answer = match Ask::decode(&payload) {
                    Some(ask) if led => lead_within(&core, &ask, limit).await,
                    Some(ask) => ask_leader(&core, &ask, limit).await.map_err(Refused::Code),
                    None => Err(Refused::Code(ErrorCode::MarshallingError)),
                };
                // A leader that removed itself stops serving its clients
                // at once (when the asking client is its own, only once
                // it has its answer: `pipeline::reconfig`).
                if led && !core.is_member() {
                    crate::leader_tasks::set_removed(&core, true);
                }
                encode_answer(answer)
            }
            Some(&TAG_ELECT) => {
                if core.abstain.is_set() {
                    // Repairing its stores: no election of its doing.
                } else if payload.get(1) == Some(&1) {
                    tokio::spawn(async move { consensus::election::stand(&core.raft, from).await });
                } else if core.raft.metrics().borrow().current_leader == Some(from) {
                    // Stepping aside: a vote of its own (uncommitted) lets
                    // the successor's request through at once, where the
                    // old leader's lease would have it refused.
                    let _ = core.raft.trigger().elect().await;
                }
                Vec::new()
            }
            Some(&TAG_REMOVED) => {
                // Only from the leader, and only if the membership this
                // member knows agrees that a change is under way or done.
                let leader = core.raft.metrics().borrow().current_leader;
                if leader == Some(from) {
                    crate::leader_tasks::set_removed(&core, true);
                }
                Vec::new()
            }
            Some(&TAG_PROBE) => {
                let holds_log = core.raft.metrics().borrow().last_log_index.is_some();
                vec![u8::from(holds_log)]
            }
            _ => crate::leader_tasks::on_touches(&core, from, &payload),
        }
    })
}

/// Where a `reconfig` is served: asks the leader (itself, when this
/// member leads) and returns the new configuration's zxid or the error
/// to answer with. A leader that changes or cannot be reached is asked
/// again until `limit`.
pub(crate) async fn ask_leader(core: &Core, ask: &Ask, limit: Duration) -> Result<i64, ErrorCode> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let answer = if core.is_leader() {
            Some(lead_within(core, ask, left).await)
        } else {
            match core.proposer.to_leader(ask.encode(), left).await {
                Ok((_, reply)) => Some(
                    decode_answer(&reply).unwrap_or(Err(Refused::Code(ErrorCode::SystemError))),
                ),
                Err(e) => {
                    warn!(error = %e, "reconfig: the leader could not be asked");
                    None
                }
            }
        };
        match answer {
            Some(Ok(zxid)) => return Ok(zxid),
            Some(Err(Refused::Code(code))) => return Err(code),
            // The asked member no longer led: ask whoever does now.
            Some(Err(Refused::NotLeader)) | None => {}
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ErrorCode::ConnectionLoss);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// [`lead`], bounded by `limit` (CONNECTIONLOSS, outcome unknown, if it
/// takes longer: the membership change may still finish).
async fn lead_within(core: &Core, ask: &Ask, limit: Duration) -> Result<i64, Refused> {
    tokio::time::timeout(limit, lead(core, ask))
        .await
        .unwrap_or(Err(Refused::Code(ErrorCode::ConnectionLoss)))
}

/// The configuration in force: `/zookeeper/config` as committed, or (on
/// an ensemble that has not published it yet) the configured lines.
pub(crate) fn live_config(core: &Core) -> (Vec<ServerLine>, i64) {
    let text = core.lock().tree.node(storage::CONFIG).and_then(|n| {
        n.data
            .as_deref()
            .map(|d| String::from_utf8_lossy(d).into_owned())
    });
    match text.as_deref().map(zoo_cfg::parse_dynamic_config) {
        Some(Ok((servers, version))) if !servers.is_empty() => (servers, version.unwrap_or(0)),
        _ => (core.config.servers.clone(), core.config.config_version),
    }
}

/// Whether a configuration set by `reconfig` (a version other than 0)
/// leaves member `me` out: it was removed, and stays so (this is on disk,
/// with the tree) until a `reconfig` names it again.
pub(crate) fn excluded((servers, version): &(Vec<ServerLine>, i64), me: NodeId) -> bool {
    *version != 0 && !servers.iter().any(|s| s.id == me)
}

/// The next configuration a request asks for, from `current`
/// (`PrepRequestProcessor`'s parsing, with its BADARGUMENTS).
fn next_config(current: &[ServerLine], r: &ReconfigRequest) -> Result<Vec<ServerLine>, ErrorCode> {
    if let Some(members) = &r.new_members {
        // Commas or newlines between members.
        let text = members.replace(',', "\n");
        let (servers, _) = zoo_cfg::parse_dynamic_config(&text).map_err(|e| {
            warn!(error = %e, "reconfig: bad newMembers");
            ErrorCode::BadArguments
        })?;
        return Ok(servers);
    }
    let mut next: BTreeMap<u64, ServerLine> = current.iter().map(|s| (s.id, s.clone())).collect();
    let list = |s: &Option<String>| -> Vec<String> {
        s.as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for leaving in list(&r.leaving_servers) {
        // Java's Long.parseLong throws: ZooKeeper's generic catch makes
        // it MARSHALLINGERROR (an error transaction all the same).
        let id = leaving
            .parse::<u64>()
            .map_err(|_| ErrorCode::MarshallingError)?;
        next.remove(&id);
    }
    for joiner in list(&r.joining_servers) {
        // server.x=server_spec;client_spec
        let (key, spec) = joiner.split_once('=').ok_or(ErrorCode::BadArguments)?;
        let id = key
            .rsplit('.')
            .next()
            .and_then(|n| n.trim().parse::<u64>().ok())
            .ok_or(ErrorCode::MarshallingError)?;
        let line = zoo_cfg::parse_server_line(id, spec.trim()).map_err(|e| {
            warn!(error = %e, "reconfig: bad joining server");
            ErrorCode::BadArguments
        })?;
        // "each server should have 3 ports specified"
        if line.client_addr.is_none() {
            return Err(ErrorCode::BadArguments);
        }
        let election = |s: &ServerLine| {
            let host = s
                .quorum_addr
                .rsplit_once(':')
                .map_or("", |(h, _)| h)
                .to_owned();
            (host, s.election_port)
        };
        for other in next.values().filter(|o| o.id != id) {
            if other.quorum_addr == line.quorum_addr
                || election(other) == election(&line)
                || (other.client_addr.is_some() && other.client_addr == line.client_addr)
            {
                warn!(joiner = %joiner, clash = other.id, "reconfig: an address is taken");
                return Err(ErrorCode::BadArguments);
            }
        }
        next.insert(id, line);
    }
    Ok(next.into_values().collect())
}

/// The leader's part of a `reconfig`: the checks in ZooKeeper's order,
/// the new members caught up as learners, the configuration committed,
/// then the membership changed. Returns the configuration's zxid.
async fn lead(core: &Core, ask: &Ask) -> Result<i64, Refused> {
    if !core.is_leader() {
        return Err(Refused::NotLeader);
    }
    let Ok(_one_at_a_time) = core.reconfig_lock.try_lock() else {
        return Err(Refused::Code(ErrorCode::ReconfigInProgress));
    };
    if in_joint_consensus(core) {
        return Err(Refused::Code(ErrorCode::ReconfigInProgress));
    }
    let (current, version) = live_config(core);
    let r = &ask.request;
    if r.cur_config_id != -1 && r.cur_config_id != version {
        return Err(Refused::Code(ErrorCode::BadVersion));
    }
    let next = next_config(&current, r)?;
    let voters = next.iter().filter(|s| !s.observer).count();
    if (core.config.standalone_enabled && voters < 2) || voters < 1 {
        warn!(voters, "reconfig: the new configuration needs more voters");
        return Err(Refused::Code(ErrorCode::BadArguments));
    }
    if !ask.authorized {
        // Refused without touching the membership; the quorum check that
        // ZooKeeper makes first is made over the members known already
        // (a new server would have to be added to be counted).
        if !quorum_synced(core, &next) {
            return Err(Refused::Code(ErrorCode::NewConfigNoQuorum));
        }
        return Err(Refused::Code(ErrorCode::NoAuth));
    }
    // New members first become learners and catch up (ZooKeeper's new
    // servers sync with the leader before the change is proposed).
    let known: BTreeSet<NodeId> = core
        .raft
        .metrics()
        .borrow()
        .membership_config
        .membership()
        .nodes()
        .map(|(id, _)| *id)
        .collect();
    let added: Vec<&ServerLine> = next.iter().filter(|s| !known.contains(&s.id)).collect();
    for s in &added {
        info!(id = s.id, addr = %s.quorum_addr, observer = s.observer, "reconfig: adding a learner");
        if let Err(e) = core.raft.add_learner(s.id, peer_of(s), false).await {
            warn!(id = s.id, error = %e, "reconfig: learner not added");
        }
    }
    // The new participants catch up together, for at most `initLimit`
    // ticks (ZooKeeper's bound for a learner's sync); a new observer
    // catches up on its own, as in ZooKeeper.
    let voters_added: BTreeSet<NodeId> =
        added.iter().filter(|s| !s.observer).map(|s| s.id).collect();
    let deadline = tokio::time::Instant::now() + core.config.tick_time * core.config.init_limit;
    while !synced(core, &voters_added) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !quorum_synced(core, &next) {
        warn!("reconfig: no connected and synced quorum in the new configuration");
        let gone: BTreeSet<NodeId> = added.iter().map(|s| s.id).collect();
        if !gone.is_empty()
            && let Err(e) = core
                .raft
                .change_membership(ChangeMembers::RemoveNodes(gone), false)
                .await
        {
            warn!(error = %e, "reconfig: could not drop the learners it added");
        }
        return Err(Refused::Code(ErrorCode::NewConfigNoQuorum));
    }
    let op = storage::CommandOp::SetConfig {
        version: -1,
        data: zoo_cfg::member_lines(&next).into(),
    };
    core.propose(NO_REPLY, 0, Vec::new(), op)
        .await
        .map_err(|e| {
            warn!(error = %e, "reconfig: the configuration was not committed");
            ErrorCode::ConnectionLoss
        })?;
    let zxid = core
        .lock()
        .tree
        .node(storage::CONFIG)
        .map_or(0, |n| n.stat.mzxid);
    info!(
        version = format_args!("{zxid:x}"),
        members = next.len(),
        "reconfig committed"
    );
    if let Err(e) = reconcile(core, &next).await {
        // The configuration is committed: the leader's next round (this
        // one's or a successor's) finishes the change.
        warn!(error = %e, "reconfig: membership not changed yet");
    }
    Ok(zxid)
}

/// Whether openraft is between two memberships (joint consensus).
fn in_joint_consensus(core: &Core) -> bool {
    core.raft
        .metrics()
        .borrow()
        .membership_config
        .membership()
        .get_joint_config()
        .len()
        > 1
}

/// Whether every member of `ids` has a log within `corral.readyMaxLag` of
/// this leader's.
fn synced(core: &Core, ids: &BTreeSet<NodeId>) -> bool {
    let m = core.raft.metrics();
    let m = m.borrow();
    let last = m.last_log_index.unwrap_or(0);
    let Some(replication) = m.replication.as_ref() else {
        return ids.is_empty();
    };
    ids.iter().all(|id| {
        replication.get(id).is_some_and(|matched| {
            matched.is_some_and(|l| l.index.saturating_add(core.config.ready_max_lag) >= last)
        })
    })
}

/// ZooKeeper's `Leader.isQuorumSynced`: a majority of the new voters are
/// this leader or members whose log is within `corral.readyMaxLag` of
/// it.
fn quorum_synced(core: &Core, next: &[ServerLine]) -> bool {
    let voters: BTreeSet<NodeId> = next.iter().filter(|s| !s.observer).map(|s| s.id).collect();
    let m = core.raft.metrics();
    let m = m.borrow();
    let last = m.last_log_index.unwrap_or(0);
    let mut synced = usize::from(voters.contains(&core.me));
    if let Some(replication) = m.replication.as_ref() {
        for (id, matched) in replication.iter() {
            if *id != core.me
                && voters.contains(id)
                && matched
                    .is_some_and(|l| l.index.saturating_add(core.config.ready_max_lag) >= last)
            {
                synced += 1;
            }
        }
    }
    synced * 2 > voters.len()
}

/// Drives openraft's membership to `want`: unknown members become
/// learners, the voters become `want`'s participants (openraft's joint
/// consensus), members `want` does not name are removed. A leader that
/// is no longer a voter afterwards hands over to the most up-to-date
/// voter.
///
/// # Errors
/// What openraft refused (not leader, a change under way, a learner not
/// reachable), as text.
pub(crate) async fn reconcile(core: &Core, want: &[ServerLine]) -> Result<(), String> {
    let limit = core.config.tick_time * core.config.sync_limit;
    let bounded = |what: &'static str| {
        move |r: Result<Result<(), String>, tokio::time::error::Elapsed>| {
            r.map_err(|_| format!("{what}: not committed within syncLimit ticks"))?
        }
    };
    let voters: BTreeSet<NodeId> = want.iter().filter(|s| !s.observer).map(|s| s.id).collect();
    let nodes: BTreeMap<NodeId, Peer> = want.iter().map(|s| (s.id, peer_of(s))).collect();
    if voters.is_empty() {
        return Err("a configuration without voters".into());
    }
    let membership = core.raft.metrics().borrow().membership_config.clone();
    let membership = membership.membership();
    if membership.get_joint_config().len() > 1 {
        return Err("a membership change is under way".into());
    }
    for (id, peer) in &nodes {
        if membership.get_node(id).is_none() {
            let add = async {
                core.raft
                    .add_learner(*id, peer.clone(), false)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            };
            bounded("adding a learner")(tokio::time::timeout(limit, add).await)?;
        }
    }
    let before: BTreeMap<NodeId, Peer> =
        membership.nodes().map(|(id, p)| (*id, p.clone())).collect();
    let current: BTreeSet<NodeId> = membership.voter_ids().collect();
    if current != voters {
        // Voters that stay as observers are kept (as learners); the rest
        // of the removed go at once.
        let demoted = current
            .iter()
            .any(|id| nodes.contains_key(id) && !voters.contains(id));
        let successor = successor(core, &voters);
        info!(?current, want = ?voters, "changing the voters (joint consensus)");
        let change = async {
            core.raft
                .change_membership(ChangeMembers::ReplaceAllVoters(voters.clone()), demoted)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        bounded("changing the voters")(tokio::time::timeout(limit, change).await)?;
        tell_removed(core, &before).await;
        if !voters.contains(&core.me) {
            hand_over(core, successor).await;
            return Ok(());
        }
    }
    let now = core.raft.metrics().borrow().membership_config.clone();
    let extra: BTreeSet<NodeId> = now
        .membership()
        .nodes()
        .map(|(id, _)| *id)
        .filter(|id| !nodes.contains_key(id))
        .collect();
    if !extra.is_empty() {
        info!(?extra, "removing members the configuration no longer names");
        let change = async {
            core.raft
                .change_membership(ChangeMembers::RemoveNodes(extra), false)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        bounded("removing members")(tokio::time::timeout(limit, change).await)?;
        tell_removed(core, &before).await;
    }
    Ok(())
}

/// Tells each member of `before` that the committed membership no longer
/// names (this one aside) that it is out, so it closes its clients'
/// connections at once and they move to the members that stay.
async fn tell_removed(core: &Core, before: &BTreeMap<NodeId, Peer>) {
    let now = core.raft.metrics().borrow().membership_config.clone();
    let gone = before
        .iter()
        .filter(|(id, _)| **id != core.me && now.membership().get_node(id).is_none());
    let calls = gone.map(|(id, peer)| async move {
        let msg = consensus::network::PeerRequest::App(vec![TAG_REMOVED]);
        if let Err(e) = core
            .clients
            .call(*id, &peer.raft_addr, msg, Duration::from_millis(500))
            .await
        {
            debug!(member = id, error = %e, "could not tell a removed member");
        }
    });
    futures::future::join_all(calls).await;
}

/// The voter of `voters` (other than this member) whose log matches the
/// leader's furthest.
fn successor(core: &Core, voters: &BTreeSet<NodeId>) -> Option<NodeId> {
    let m = core.raft.metrics();
    let m = m.borrow();
    m.replication
        .as_ref()?
        .iter()
        .filter(|(id, _)| **id != core.me && voters.contains(id))
        .max_by_key(|(_, matched)| matched.map_or(0, |l| l.index))
        .map(|(id, _)| *id)
}

/// A leader that removed itself hands over at once, rather than leave the
/// voters to wait out its lease and then their election timers: the
/// other voters each stand once (their own votes, not yet committed, let
/// the successor's request through: openraft refuses a vote while the
/// leader's lease holds only to a member whose vote is committed), then
/// the successor, the voter whose log matched the leader's furthest,
/// stands and wins. Raft's safety does not rest on the lease; the
/// successor's log is checked by every voter as always.
async fn hand_over(core: &Core, successor: Option<NodeId>) {
    let Some(to) = successor else {
        return;
    };
    let membership = core.raft.metrics().borrow().membership_config.clone();
    let voters: Vec<(NodeId, String)> = membership
        .membership()
        .voter_ids()
        .filter(|id| *id != core.me)
        .filter_map(|id| {
            let addr = membership.membership().get_node(&id)?.raft_addr.clone();
            Some((id, addr))
        })
        .collect();
    info!(successor = to, "handing leadership over");
    let asks = voters.iter().map(|(id, addr)| async move {
        let role = u8::from(*id == to);
        let msg = consensus::network::PeerRequest::App(vec![TAG_ELECT, role]);
        if let Err(e) = core
            .clients
            .call(*id, addr, msg, Duration::from_secs(1))
            .await
        {
            warn!(member = id, error = %e, "hand-over: could not reach a voter");
        }
    });
    futures::future::join_all(asks).await;
}

/// A leader told to stop (SIGTERM) hands over before it goes, as one
/// that removed itself does: its clients' writes then wait for a
/// successor's election (a few milliseconds) rather than for the voters'
/// timers (about a second). Returns once another leader is known, or after
/// 2 s.
pub(crate) async fn step_down(core: &Core) {
    if core.config.is_standalone() || !core.is_leader() {
        return;
    }
    let voters: BTreeSet<NodeId> = core
        .raft
        .metrics()
        .borrow()
        .membership_config
        .membership()
        .voter_ids()
        .collect();
    if voters.len() < 2 {
        return;
    }
    let started = std::time::Instant::now();
    let Some(to) = successor(core, &voters) else {
        return;
    };
    // The successor first holds all this leader's log (its clients are
    // gone; only writes the others forward still come): every voter,
    // this one included, then grants it its vote.
    let _ = core
        .raft
        .wait(Some(Duration::from_millis(500)))
        .metrics(
            |m| {
                let matched = m
                    .replication
                    .as_ref()
                    .and_then(|r| r.get(&to).copied().flatten())
                    .map(|l| l.index);
                matched >= m.last_log_index
            },
            "the successor to hold the whole log",
        )
        .await;
    // Once it has stepped down it must not stand again itself: with its
    // vote no longer committed its own timer would soon run out, and a
    // round of its own at a higher term would hide the successor from it.
    core.raft.runtime_config().elect(false);
    hand_over(core, Some(to)).await;
    // Done when the successor leads, or has this member's vote (all a
    // two-voter ensemble needs from it) and a moment to count the others'.
    let me = core.me;
    match core
        .raft
        .wait(Some(Duration::from_secs(2)))
        .metrics(
            |m| {
                m.current_leader.is_some_and(|l| l != me)
                    || m.vote.leader_id().voted_for() == Some(to)
            },
            "a successor",
        )
        .await
    {
        Ok(m) => {
            if m.current_leader.is_none() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            info!(
                successor = to,
                ms = started.elapsed().as_millis(),
                "stopping: leadership handed over"
            );
        }
        Err(e) => {
            warn!(error = %e, "stopping: no successor elected yet; the voters' timers will elect one");
        }
    }
}

/// `corral.k8s.removeAfterMs`: on the leader, every half tick, a member
/// of the configuration whose name no longer resolves (its pod left the
/// headless Service: a StatefulSet scaled down) and that the leader has
/// not heard from since (every member reports to it every half tick) is
/// removed by `reconfig` once both have lasted `after`; the highest id
/// first, one at a time. A name that stops resolving while the member
/// still talks (a DNS outage) removes nothing. A member removed so that
/// comes back is added again by its entrypoint (`k8s::join`).
pub(crate) async fn sweep_departed(
    core: Arc<Core>,
    after: Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut gone_since: BTreeMap<NodeId, tokio::time::Instant> = BTreeMap::new();
    let mut tick =
        tokio::time::interval((core.config.tick_time / 2).max(Duration::from_millis(10)));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if !core.is_leader() {
            gone_since.clear();
            continue;
        }
        let (servers, _) = live_config(&core);
        let now = tokio::time::Instant::now();
        let mut departed = Vec::new();
        for s in servers.iter().filter(|s| s.id != core.me) {
            let resolves = tokio::net::lookup_host(s.quorum_addr.as_str())
                .await
                .is_ok();
            let heard = core
                .heard
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&s.id)
                .is_some_and(|t| t.elapsed() < after);
            if resolves || heard {
                gone_since.remove(&s.id);
                continue;
            }
            let since = *gone_since.entry(s.id).or_insert(now);
            if now.duration_since(since) >= after {
                departed.push(s.id);
            }
        }
        let Some(id) = departed.into_iter().max() else {
            continue;
        };
        info!(
            member = id,
            "left the Service and stopped replicating: removing it"
        );
        let ask = Ask {
            request: ReconfigRequest {
                joining_servers: None,
                leaving_servers: Some(id.to_string()),
                new_members: None,
                cur_config_id: -1,
            },
            authorized: true,
        };
        let limit = core.config.tick_time * (core.config.init_limit + core.config.sync_limit);
        match lead_within(&core, &ask, limit).await {
            Ok(zxid) => {
                info!(
                    member = id,
                    version = format_args!("{zxid:x}"),
                    "removed by reconfig"
                );
                gone_since.remove(&id);
            }
            Err(e) => warn!(member = id, error = ?e, "could not remove a departed member"),
        }
    }
}

/// Asks the other members whether any holds a log, for a member starting
/// on an empty directory: if one does, the ensemble runs already and this
/// member must be added by `reconfig` rather than form one.
pub(crate) async fn ensemble_runs(
    me: NodeId,
    servers: &[ServerLine],
    faults: Arc<consensus::network::Faults>,
    tls: Option<consensus::network::PeerTls>,
) -> bool {
    let clients = consensus::network::PeerClients::new(me, faults, tls);
    let asks = servers.iter().filter(|s| s.id != me).map(|s| {
        let clients = clients.clone();
        async move {
            let msg = consensus::network::PeerRequest::App(vec![TAG_PROBE]);
            matches!(
                clients.call(s.id, &s.quorum_addr, msg, Duration::from_secs(1)).await,
                Ok(consensus::network::PeerResponse::App(r)) if r.first() == Some(&1)
            )
        }
    });
    futures::future::join_all(asks).await.into_iter().any(|b| b)
}

/// Writes each new configuration where ZooKeeper keeps it, on every
/// member started from a zoo.cfg: `<zoo.cfg>.dynamic.<hex version>` (the
/// `server.N` lines), and the zoo.cfg itself rewritten to point at it
/// (`QuorumPeerConfig.writeDynamicConfig` and `editStaticConfig`), so a
/// restart reads the membership it left with. Looks every half tick.
pub(crate) async fn keep_config_files(
    core: Arc<Core>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let Some(cfg_file) = core.config.config_file.clone() else {
        return;
    };
    let mut written = core.config.config_version;
    let mut failed: Option<i64> = None;
    let mut tick =
        tokio::time::interval((core.config.tick_time / 2).max(Duration::from_millis(10)));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let (servers, version) = live_config(&core);
        if version == 0 || version == written {
            continue;
        }
        let me = servers.iter().find(|s| s.id == core.me);
        let erase_client = me.is_some_and(|s| s.client_addr.is_some());
        match write_config_files(&cfg_file, &servers, version, erase_client) {
            Ok(path) => {
                info!(file = %path.display(), version = format_args!("{version:x}"), "dynamic configuration written");
                written = version;
            }
            Err(e) => {
                // Tried again next time; said once per version.
                if failed != Some(version) {
                    warn!(file = %cfg_file.display(), error = %e, "could not write the dynamic configuration");
                    failed = Some(version);
                }
            }
        }
    }
}

/// Writes `path` through a temporary file and a rename.
fn write_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The files of one configuration; returns the dynamic file's path.
fn write_config_files(
    cfg_file: &std::path::Path,
    servers: &[ServerLine],
    version: i64,
    erase_client: bool,
) -> std::io::Result<std::path::PathBuf> {
    let dynamic = std::path::PathBuf::from(format!("{}.dynamic.{version:x}", cfg_file.display()));
    write_atomically(&dynamic, &zoo_cfg::dynamic_file_text(servers))?;
    let dynamic = dynamic.canonicalize()?;
    let text = std::fs::read_to_string(cfg_file)?;
    let mut out = String::new();
    for line in text.lines() {
        let key = zoo_cfg::line_key(line);
        let dropped = key.starts_with("server.")
            || key.starts_with("group")
            || key.starts_with("weight")
            || key.starts_with("dynamicConfigFile")
            || key.starts_with("peerType")
            || (erase_client && (key == "clientPort" || key == "clientPortAddress"));
        if !dropped {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(&format!("dynamicConfigFile={}\n", dynamic.display()));
    write_atomically(cfg_file, &out)?;
    Ok(dynamic)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<ServerLine> {
        zoo_cfg::parse_dynamic_config(text).expect("valid").0
    }

    #[test]
    fn config_files_as_zookeeper_writes_them() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let cfg = dir.path().join("zoo.cfg");
        std::fs::write(
            &cfg,
            "# mine\ntickTime=2000\nclientPort=2181\nserver.1=a:1:2\nserver.2=b:1:2\n",
        )
        .expect("write zoo.cfg");
        let servers =
            lines("server.1=a:1:2;2181\nserver.2=b:1:2;2181\nserver.10=c:1:2:observer;2181\n");
        let dynamic = write_config_files(&cfg, &servers, 0x1_0000_0003, true).expect("written");
        assert!(
            dynamic.ends_with("zoo.cfg.dynamic.100000003"),
            "{}",
            dynamic.display()
        );
        assert_eq!(
            std::fs::read_to_string(&dynamic).expect("read"),
            // Sorted as Java sorts strings: '0' before '='.
            "server.10=c:1:2:observer;0.0.0.0:2181\n\
             server.1=a:1:2:participant;0.0.0.0:2181\n\
             server.2=b:1:2:participant;0.0.0.0:2181"
        );
        assert_eq!(
            std::fs::read_to_string(&cfg).expect("read"),
            format!(
                "# mine\ntickTime=2000\ndynamicConfigFile={}\n",
                dynamic.display()
            )
        );
        // Read back at the next start: the lines and the version.
        let (back, version) = crate::config::read_dynamic_file(&dynamic).expect("reads");
        assert_eq!(version, 0x1_0000_0003);
        assert_eq!(back.len(), 3);
    }

    #[test]
    fn asks_round_trip() {
        let ask = Ask {
            request: ReconfigRequest {
                joining_servers: Some("server.4=127.0.0.1:1:2;3".into()),
                leaving_servers: None,
                new_members: Some(String::new()),
                cur_config_id: 0x1_0000_0004,
            },
            authorized: true,
        };
        assert_eq!(Ask::decode(&ask.encode()), Some(ask.clone()));
        let bytes = ask.encode();
        assert_eq!(Ask::decode(&bytes[..bytes.len() - 1]), None);
        assert_eq!(decode_answer(&encode_answer(Ok(7))), Some(Ok(7)));
        assert_eq!(
            decode_answer(&encode_answer(Err(Refused::Code(
                ErrorCode::NewConfigNoQuorum
            )))),
            Some(Err(Refused::Code(ErrorCode::NewConfigNoQuorum)))
        );
        assert_eq!(
            decode_answer(&encode_answer(Err(Refused::NotLeader))),
            Some(Err(Refused::NotLeader))
        );
    }

    #[test]
    fn incremental_and_whole_changes() {
        let current = lines("server.1=a:1:2;3\nserver.2=b:1:2;3\nserver.3=c:1:2;3\n");
        let r =
            |joining: Option<&str>, leaving: Option<&str>, members: Option<&str>| ReconfigRequest {
                joining_servers: joining.map(str::to_owned),
                leaving_servers: leaving.map(str::to_owned),
                new_members: members.map(str::to_owned),
                cur_config_id: -1,
            };
        let next = next_config(
            &current,
            &r(Some("server.4=d:1:2:observer;3"), Some("1,2"), None),
        )
        .expect("valid");
        let ids: Vec<(u64, bool)> = next.iter().map(|s| (s.id, s.observer)).collect();
        assert_eq!(ids, vec![(3, false), (4, true)]);
        // Promotion: the same id again, as a participant.
        let next = next_config(&next, &r(Some("server.4=d:1:2:participant;3"), None, None))
            .expect("valid");
        assert!(next.iter().all(|s| !s.observer));
        // Each joiner needs its client port.
        assert_eq!(
            next_config(&current, &r(Some("server.4=d:1:2"), None, None)),
            Err(ErrorCode::BadArguments)
        );
        // An address already taken.
        assert_eq!(
            next_config(&current, &r(Some("server.4=a:1:9;3"), None, None)),
            Err(ErrorCode::BadArguments)
        );
        // Not a number: Java's exception, MARSHALLINGERROR in ZooKeeper.
        assert_eq!(
            next_config(&current, &r(None, Some("x"), None)),
            Err(ErrorCode::MarshallingError)
        );
        assert_eq!(
            next_config(&current, &r(Some("server.x=d:1:2;3"), None, None)),
            Err(ErrorCode::MarshallingError)
        );
        let next = next_config(
            &current,
            &r(None, None, Some("server.7=g:1:2;3,server.8=h:1:2;3")),
        )
        .expect("valid");
        assert_eq!(next.iter().map(|s| s.id).collect::<Vec<_>>(), vec![7, 8]);
        assert_eq!(
            next_config(&current, &r(None, None, Some("server.7=g"))),
            Err(ErrorCode::BadArguments)
        );
    }
}
