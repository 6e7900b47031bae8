//! `apply`: the only mutator of the tree. Validates a command exactly as
//! ZooKeeper's `PrepRequestProcessor` does (same checks, same order, same
//! error codes), then mutates as `DataTree.processTxn` does, and returns the
//! reply and the change events as values.
//!
//! ### Correctness requirements
//! Pure: the outcome depends only on the tree, the command and the zxid. No
//! clock (the leader's time is in the command), no randomness (the session
//! password is in the command), no iteration over unordered collections
//! where the order reaches the outcome.

use std::cell::RefCell;
use std::sync::Arc;

use bytes::Bytes;
use jute::proto::*;
use jute::{Acl, CreateMode, ErrorCode, Id, OpCode, Perms, Request, Response};

use crate::acl;
use crate::command::{Command, CommandOp};
use crate::events::{ChangeEvent, ChangeKind};
use crate::node::{MAX_TTL, Node, NodeKind};
use crate::path;
use crate::quota::{self, QuotaExceeded, StatsTrack};
use crate::sessions::SessionInfo;
use crate::tree::{CONFIG, QUOTA, Tree, ZOOKEEPER};

/// What applying one command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// The reply body, or the ZooKeeper error code (sent with an empty body).
    /// A failed `multi` is `Ok` with per-op error results, as in ZooKeeper.
    pub result: Result<Response, ErrorCode>,
    /// The changes, in the order ZooKeeper triggers their watches.
    pub events: Vec<ChangeEvent>,
    /// Quota limits the command went past (with `enforceQuota`): a hard
    /// one failed it, a soft one is only to be logged.
    pub quota_exceeded: Vec<QuotaExceeded>,
}

impl ApplyOutcome {
    fn ok(result: Response, events: Vec<ChangeEvent>) -> Self {
        ApplyOutcome {
            result: Ok(result),
            events,
            quota_exceeded: Vec::new(),
        }
    }

    fn err(code: ErrorCode) -> Self {
        ApplyOutcome {
            result: Err(code),
            events: Vec::new(),
            quota_exceeded: Vec::new(),
        }
    }
}

/// The context every op of a command shares.
struct Ctx<'a> {
    zxid: i64,
    time: i64,
    session: i64,
    auth: &'a [Id],
    /// Quota limits passed so far (the outcome's `quota_exceeded`).
    quota: RefCell<Vec<QuotaExceeded>>,
}

/// How to take back one mutation of a multi that failed later.
enum Undo {
    Created(String),
    Deleted(String, Node, Vec<Acl>),
    Stat(String, jute::StatPersisted),
    Data(String, Option<Box<[u8]>>, jute::StatPersisted),
    Acl(String, Vec<Acl>, jute::StatPersisted),
}

/// Applies `cmd` as the write with zxid `zxid`. Every command consumes its
/// zxid, failed or not (ZooKeeper's `ErrorTxn`).
pub fn apply(tree: &mut Tree, cmd: &Command, zxid: i64) -> ApplyOutcome {
    let ctx = Ctx {
        zxid,
        time: cmd.time,
        session: cmd.session_id,
        auth: &cmd.auth,
        quota: RefCell::new(Vec::new()),
    };
    let mut out = match &cmd.op {
        CommandOp::CreateSession { timeout_ms, passwd } => {
            tree.open_session(
                cmd.session_id,
                SessionInfo {
                    timeout_ms: *timeout_ms,
                    passwd: passwd.clone(),
                },
            );
            ApplyOutcome::ok(Response::Empty, Vec::new())
        }
        CommandOp::CloseSession => close_session(tree, &ctx),
        CommandOp::Error { err } => {
            ApplyOutcome::err(ErrorCode::try_from(*err).unwrap_or(ErrorCode::SystemError))
        }
        CommandOp::Write(req) => write(tree, &ctx, req),
        CommandOp::SetConfig { version, data } => set_config(tree, &ctx, *version, data),
        CommandOp::Restore { snapshot } => restore(tree, snapshot),
    };
    out.quota_exceeded = ctx.quota.take();
    tree.last_zxid = zxid;
    out
}

fn write(tree: &mut Tree, ctx: &Ctx<'_>, req: &Request) -> ApplyOutcome {
    let mut events = Vec::new();
    let result = match req {
        Request::Multi(m) => return multi(tree, ctx, &m.ops),
        Request::DeleteContainer(path) => delete_container(tree, ctx, path, &mut events),
        other => {
            if !tree.sessions.is_live(ctx.session) {
                return ApplyOutcome::err(ErrorCode::SessionExpired);
            }
            if let Request::SetAcl(r) = other {
                set_acl(tree, ctx, &r.path, &r.acl, r.version, None)
                    .map(|stat| Response::SetAcl(SetAclResponse { stat }))
            } else if let Some(op) = as_op(other) {
                one(tree, ctx, &op, &mut events, None).map(|r| op_response(other.opcode(), r))
            } else {
                // Reads and session control never become commands.
                Err(ErrorCode::Unimplemented)
            }
        }
    };
    match result {
        Ok(rsp) => ApplyOutcome::ok(rsp, events),
        Err(code) => ApplyOutcome::err(code),
    }
}

/// A single write as the `multi` op it is equivalent to.
fn as_op(req: &Request) -> Option<Op> {
    Some(match req {
        Request::Create(r) => Op::Create(r.clone()),
        Request::Create2(r) => Op::Create2(r.clone()),
        Request::CreateContainer(r) => Op::CreateContainer(r.clone()),
        Request::CreateTtl(r) => Op::CreateTtl(r.clone()),
        Request::Delete(r) => Op::Delete(r.clone()),
        Request::SetData(r) => Op::SetData(r.clone()),
        Request::Check(r) => Op::Check(r.clone()),
        _ => return None,
    })
}

/// The reply of a single (non-multi) write from its op result.
fn op_response(opcode: OpCode, r: OpResult) -> Response {
    match r {
        OpResult::Create { path } => Response::Create(CreateResponse { path }),
        OpResult::Create2 { path, stat } => match opcode {
            OpCode::Create => Response::Create(CreateResponse { path }),
            _ => Response::Create2(Create2Response { path, stat }),
        },
        OpResult::SetData { stat } => Response::SetData(SetDataResponse { stat }),
        OpResult::Delete | OpResult::Check => Response::Empty,
        OpResult::GetChildren { .. } | OpResult::GetData { .. } | OpResult::Error { .. } => {
            Response::Empty
        }
    }
}

/// One write op. Validates fully before mutating; with `undo`, records how to
/// take the mutation back.
fn one(
    tree: &mut Tree,
    ctx: &Ctx<'_>,
    op: &Op,
    events: &mut Vec<ChangeEvent>,
    undo: Option<&mut Vec<Undo>>,
) -> Result<OpResult, ErrorCode> {
    match op {
        Op::Create(r) | Op::Create2(r) | Op::CreateContainer(r) => {
            let spec = CreateSpec {
                opcode: op.opcode(),
                path: &r.path,
                data: &r.data,
                acl: &r.acl,
                flags: r.flags,
                ttl: -1,
            };
            create(tree, ctx, &spec, events, undo)
        }
        Op::CreateTtl(r) => {
            let spec = CreateSpec {
                opcode: OpCode::CreateTtl,
                path: &r.path,
                data: &r.data,
                acl: &r.acl,
                flags: r.flags,
                ttl: r.ttl,
            };
            create(tree, ctx, &spec, events, undo)
        }
        Op::Delete(r) => {
            delete(tree, ctx, &r.path, r.version, events, undo).map(|()| OpResult::Delete)
        }
        Op::SetData(r) => set_data(tree, ctx, &r.path, &r.data, r.version, events, undo)
            .map(|stat| OpResult::SetData { stat }),
        Op::Check(r) => check(tree, ctx, &r.path, r.version).map(|()| OpResult::Check),
        // Reads never reach here: `multi` refuses them up front.
        Op::GetChildren(_) | Op::GetData(_) => Err(ErrorCode::MarshallingError),
    }
}

/// `checkAndIncVersion`: −1 matches any version; the next version wraps as a
/// Java `int` (3.8 and 3.9 have no ZOOKEEPER-4743 special case, so a node can
/// reach version −1).
fn check_and_inc_version(current: i32, expected: i32) -> Result<i32, ErrorCode> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BadVersion);
    }
    Ok(current.wrapping_add(1))
}

/// The ACL list of the node at `p` as a shared handle (empty if there is
/// none), for an event's delivery check.
fn acl_of(tree: &Tree, p: &str) -> Arc<[Acl]> {
    tree.nodes
        .get(p)
        .map_or_else(|| Arc::from(Vec::new()), |n| tree.acls.shared(n.acl))
}

fn validate_path(p: &str) -> Result<(), ErrorCode> {
    path::validate(p).map_err(|_| ErrorCode::BadArguments)
}

/// The system paths a client may not delete (`DataTree.isSpecialPath`).
fn is_special(p: &str) -> bool {
    matches!(p, "/" | ZOOKEEPER | QUOTA | CONFIG)
}

// ---------------------------------------------------------------- create ---

struct CreateSpec<'a> {
    opcode: OpCode,
    path: &'a str,
    data: &'a Option<Bytes>,
    acl: &'a [Acl],
    flags: i32,
    ttl: i64,
}

fn create(
    tree: &mut Tree,
    ctx: &Ctx<'_>,
    spec: &CreateSpec<'_>,
    events: &mut Vec<ChangeEvent>,
    undo: Option<&mut Vec<Undo>>,
) -> Result<OpResult, ErrorCode> {
    // validateCreateRequest (session liveness was checked by the caller)
    let mode = CreateMode::try_from(spec.flags).map_err(|_| ErrorCode::BadArguments)?;
    if mode.is_ttl() && !tree.config.ttl_enabled {
        return Err(ErrorCode::Unimplemented);
    }
    let ttl_ok = if mode.is_ttl() {
        spec.ttl > 0 && spec.ttl <= MAX_TTL
    } else {
        spec.ttl < 0
    };
    if !ttl_ok || (spec.opcode == OpCode::CreateTtl && !mode.is_ttl()) {
        return Err(ErrorCode::BadArguments);
    }
    // validatePathForCreate
    let slash = spec.path.rfind('/').ok_or(ErrorCode::BadArguments)?;
    if spec.path.contains('\0') {
        return Err(ErrorCode::BadArguments);
    }
    let parent_path = if slash == 0 { "/" } else { &spec.path[..slash] };
    let acl = acl::fixup(spec.acl, ctx.auth)?;
    let parent = tree.nodes.get(parent_path).ok_or(ErrorCode::NoNode)?;
    acl::check(tree.acls.get(parent.acl), Perms::CREATE, ctx.auth)?;
    let parent_cversion = parent.stat.cversion;
    let full = if mode.is_sequential() {
        let mut p = spec.path.to_owned();
        p.push_str(&path::sequence_suffix(parent_cversion));
        p
    } else {
        spec.path.to_owned()
    };
    validate_path(&full)?;
    if tree.nodes.contains(full.as_str()) {
        return Err(ErrorCode::NodeExists);
    }
    if matches!(parent.kind(), NodeKind::Ephemeral(_)) {
        return Err(ErrorCode::NoChildrenForEphemerals);
    }
    let len = spec.data.as_ref().map_or(0, |d| d.len() as i64);
    check_quota(tree, ctx, &full, len, 1)?;
    // The kind the committed transaction gives the node: the opcode decides
    // for containers and TTLs (CreateContainerTxn, CreateTTLTxn); a plain
    // create is ephemeral or persistent by its flags.
    let kind = match spec.opcode {
        OpCode::CreateContainer => NodeKind::Container,
        OpCode::CreateTtl => NodeKind::Ttl(spec.ttl),
        _ if mode.is_ephemeral() => NodeKind::Ephemeral(ctx.session),
        _ => NodeKind::Persistent,
    };

    // Mutate.
    let mut undo = undo;
    let parent_path = parent_path.to_owned();
    if let Some(parent) = tree.node_mut(parent_path.as_str()) {
        if let Some(log) = undo.as_deref_mut() {
            log.push(Undo::Stat(parent_path.clone(), parent.stat.clone()));
            log.push(Undo::Created(full.clone()));
        }
        // DataTree.createNode: only a newer cversion moves cversion and pzxid.
        let next = parent_cversion.wrapping_add(1);
        if next > parent.stat.cversion {
            parent.stat.cversion = next;
            parent.stat.pzxid = ctx.zxid;
        }
    }
    let acl_ref = tree.intern_acl(&acl);
    let node = Node::new(spec.data.as_deref(), acl_ref, kind, ctx.zxid, ctx.time);
    let stat = node.stat();
    tree.insert(&full, node);
    // A new stats node starts from the subtree's actual usage
    // (`updateQuotaForPath`); the reply keeps the data as sent.
    if let Some(root) = quota::root_of(&full, quota::STATS) {
        let usage = subtree_usage(tree, &root);
        let _ = tree.set_data(&full, Some(usage.to_bytes().into()));
    }
    quota_update(tree, &full, len, 1, undo);
    let parent_acl = acl_of(tree, parent_path.as_str());
    events.push(ChangeEvent {
        zxid: ctx.zxid,
        path: full.clone(),
        kind: ChangeKind::Created,
        acl: tree.acls.shared(acl_ref),
    });
    events.push(ChangeEvent {
        zxid: ctx.zxid,
        path: parent_path,
        kind: ChangeKind::ChildrenChanged,
        acl: parent_acl,
    });
    Ok(match spec.opcode {
        OpCode::Create => OpResult::Create { path: full },
        _ => OpResult::Create2 { path: full, stat },
    })
}

// ---------------------------------------------------------------- delete ---

fn delete(
    tree: &mut Tree,
    ctx: &Ctx<'_>,
    p: &str,
    version: i32,
    events: &mut Vec<ChangeEvent>,
    undo: Option<&mut Vec<Undo>>,
) -> Result<(), ErrorCode> {
    // getParentPathAndValidate
    let slash = p.rfind('/').ok_or(ErrorCode::BadArguments)?;
    if p.contains('\0') || is_special(p) {
        return Err(ErrorCode::BadArguments);
    }
    let parent_path = if slash == 0 { "/" } else { &p[..slash] };
    let parent = tree.nodes.get(parent_path).ok_or(ErrorCode::NoNode)?;
    acl::check(tree.acls.get(parent.acl), Perms::DELETE, ctx.auth)?;
    let node = tree.nodes.get(p).ok_or(ErrorCode::NoNode)?;
    check_and_inc_version(node.stat.version, version)?;
    if node.num_children() != 0 {
        return Err(ErrorCode::NotEmpty);
    }
    remove_node(tree, ctx.zxid, p, events, undo);
    Ok(())
}

/// Removes a childless node and updates its parent as `DataTree.deleteNode`
/// does, emitting `NodeDeleted` and the parent's `NodeChildrenChanged`.
fn remove_node(
    tree: &mut Tree,
    zxid: i64,
    p: &str,
    events: &mut Vec<ChangeEvent>,
    undo: Option<&mut Vec<Undo>>,
) {
    let parent_path = path::parent(p).unwrap_or("/").to_owned();
    let mut undo = undo;
    if let Some(parent) = tree.node_mut(parent_path.as_str()) {
        if let Some(log) = undo.as_deref_mut() {
            log.push(Undo::Stat(parent_path.clone(), parent.stat.clone()));
        }
        // The internal cversion counts creates only (the visible one still
        // goes up, as children went down); pzxid only moves forward
        // (DataTree.deleteNode).
        if zxid > parent.stat.pzxid {
            parent.stat.pzxid = zxid;
        }
    }
    // The ACL list must be read before `remove` releases it.
    let node_acl = acl_of(tree, p);
    let mut len = 0;
    if let Some(node) = tree.remove(p) {
        len = node.data.as_ref().map_or(0, |d| d.len() as i64);
        if let Some(log) = undo.as_deref_mut() {
            log.push(Undo::Deleted(p.to_owned(), node, node_acl.to_vec()));
        }
    }
    quota_update(tree, p, -len, -1, undo);
    let parent_acl = acl_of(tree, parent_path.as_str());
    events.push(ChangeEvent {
        zxid,
        path: p.to_owned(),
        kind: ChangeKind::Deleted,
        acl: node_acl,
    });
    events.push(ChangeEvent {
        zxid,
        path: parent_path,
        kind: ChangeKind::ChildrenChanged,
        acl: parent_acl,
    });
}

/// The leader's reaper: delete a container or TTL node that is still empty.
///
/// ZooKeeper's `deleteContainer` re-checks only emptiness (NOTEMPTY) and
/// refuses session ephemerals (BADVERSION); it would delete a persistent
/// node that replaced the container since the reaper's scan. Corral
/// re-checks the whole criterion at apply time with the leader's time from
/// the command, so a node that changed since the scan is left alone (the
/// reaper's proposal simply fails). A client that sends opcode 20 gets
/// BADARGUMENTS, as from ZooKeeper (whose parse of it always contains NUL).
fn delete_container(
    tree: &mut Tree,
    ctx: &Ctx<'_>,
    p: &str,
    events: &mut Vec<ChangeEvent>,
) -> Result<Response, ErrorCode> {
    if ctx.session != 0 || is_special(p) || !p.starts_with('/') || p.contains('\0') {
        return Err(ErrorCode::BadArguments);
    }
    let node = tree.nodes.get(p).ok_or(ErrorCode::NoNode)?;
    if node.num_children() != 0 {
        return Err(ErrorCode::NotEmpty);
    }
    let expired = match node.kind() {
        // Collected once it has had a child (internal cversion > 0).
        NodeKind::Container => node.stat.cversion > 0,
        NodeKind::Ttl(ttl) => ttl != 0 && ctx.time.saturating_sub(node.stat.mtime) > ttl,
        NodeKind::Persistent | NodeKind::Ephemeral(_) => false,
    };
    if !expired {
        return Err(ErrorCode::BadVersion);
    }
    remove_node(tree, ctx.zxid, p, events, None);
    Ok(Response::Empty)
}

// --------------------------------------------------------------- setData ---

fn set_data(
    tree: &mut Tree,
    ctx: &Ctx<'_>,
    p: &str,
    data: &Option<Bytes>,
    version: i32,
    events: &mut Vec<ChangeEvent>,
    undo: Option<&mut Vec<Undo>>,
) -> Result<jute::Stat, ErrorCode> {
    validate_path(p)?;
    let node = tree.nodes.get(p).ok_or(ErrorCode::NoNode)?;
    acl::check(tree.acls.get(node.acl), Perms::WRITE, ctx.auth)?;
    let old_len = node.data.as_ref().map_or(0, |d| d.len() as i64);
    let diff = data.as_ref().map_or(0, |d| d.len() as i64) - old_len;
    check_quota(tree, ctx, p, diff, 0)?;
    let next = check_and_inc_version(node.stat.version, version)?;
    let Some((old_data, node)) = tree.set_data(p, data.as_deref().map(Box::from)) else {
        return Err(ErrorCode::NoNode);
    };
    let mut undo = undo;
    if let Some(log) = undo.as_deref_mut() {
        log.push(Undo::Data(p.to_owned(), old_data, node.stat.clone()));
    }
    node.stat.version = next;
    node.stat.mzxid = ctx.zxid;
    node.stat.mtime = ctx.time;
    let stat = node.stat();
    let acl = node.acl;
    quota_update(tree, p, diff, 0, undo);
    events.push(ChangeEvent {
        zxid: ctx.zxid,
        path: p.to_owned(),
        kind: ChangeKind::DataChanged,
        acl: tree.acls.shared(acl),
    });
    Ok(stat)
}

// ---------------------------------------------------------------- setACL ---

fn set_acl(
    tree: &mut Tree,
    ctx: &Ctx<'_>,
    p: &str,
    acl: &[Acl],
    version: i32,
    undo: Option<&mut Vec<Undo>>,
) -> Result<jute::Stat, ErrorCode> {
    validate_path(p)?;
    let acl = acl::fixup(acl, ctx.auth)?;
    let node = tree.nodes.get(p).ok_or(ErrorCode::NoNode)?;
    acl::check(tree.acls.get(node.acl), Perms::ADMIN, ctx.auth)?;
    let next = check_and_inc_version(node.stat.aversion, version)?;
    let old_ref = node.acl;
    let old_list = tree.acls.get(old_ref).to_vec();
    let new_ref = tree.intern_acl(&acl);
    tree.acls.release(old_ref);
    let Some(node) = tree.node_mut(p) else {
        return Err(ErrorCode::NoNode);
    };
    if let Some(log) = undo {
        log.push(Undo::Acl(p.to_owned(), old_list, node.stat.clone()));
    }
    node.acl = new_ref;
    node.stat.aversion = next;
    Ok(node.stat())
}

// ----------------------------------------------------------------- quota ---

/// `ZooKeeperServer.checkQuota`, with `enforceQuota`: whether adding
/// `count` nodes and `bytes` bytes at `p` stays within the deepest quota's
/// limits. Past a hard limit: `QUOTAEXCEEDED`; past a soft one: noted.
fn check_quota(
    tree: &Tree,
    ctx: &Ctx<'_>,
    p: &str,
    bytes: i64,
    count: i64,
) -> Result<(), ErrorCode> {
    if !tree.config.enforce_quota {
        return Ok(());
    }
    let Some(root) = tree.quota_root_of(p) else {
        return Ok(());
    };
    let Some(limits) = tree.nodes.get(quota::limits_path(root).as_str()) else {
        return Ok(());
    };
    let limits = StatsTrack::parse(limits.data.as_deref().unwrap_or_default());
    let check_count = count != 0 && (limits.count() > -1 || limits.count_hard_limit() > -1);
    let check_bytes = bytes != 0 && (limits.bytes() > -1 || limits.byte_hard_limit() > -1);
    if !check_count && !check_bytes {
        return Ok(());
    }
    let Some(stats) = tree.nodes.get(quota::stats_path(root).as_str()) else {
        return Ok(());
    };
    let usage = StatsTrack::parse(stats.data.as_deref().unwrap_or_default());
    let checks = [
        (
            check_count,
            true,
            usage.count() + count,
            limits.count_limit(),
        ),
        (
            check_bytes,
            false,
            usage.bytes() + bytes,
            limits.byte_limit(),
        ),
    ];
    for (wanted, is_count, current, (limit, hard)) in checks {
        if wanted && current > limit {
            ctx.quota.borrow_mut().push(QuotaExceeded {
                root: root.to_owned(),
                namespace: quota::namespace(p).to_owned(),
                count: is_count,
                current,
                limit,
                hard,
            });
            if hard {
                return Err(ErrorCode::QuotaExceeded);
            }
        }
    }
    Ok(())
}

/// `DataTree.updateQuotaStat`: adds to the usage of the deepest quota at
/// or above `p`, changing its stats node's data in place (its Stat stays).
fn quota_update(tree: &mut Tree, p: &str, bytes: i64, count: i64, undo: Option<&mut Vec<Undo>>) {
    let Some(root) = tree.quota_root_of(p) else {
        return;
    };
    let stats_path = quota::stats_path(root);
    let Some(node) = tree.nodes.get(stats_path.as_str()) else {
        // ZooKeeper logs "Missing node for stat" and goes on.
        return;
    };
    let mut usage = StatsTrack::parse(node.data.as_deref().unwrap_or_default());
    usage.set_count(usage.count() + count);
    usage.set_bytes(usage.bytes() + bytes);
    if let Some((old, n)) = tree.set_data(&stats_path, Some(usage.to_bytes().into()))
        && let Some(log) = undo
    {
        log.push(Undo::Data(stats_path, old, n.stat.clone()));
    }
}

/// The node count and data bytes of the subtree at `root`, itself
/// included (`DataTree.getCounts`); zero if there is no such node.
pub(crate) fn subtree_usage(tree: &Tree, root: &str) -> StatsTrack {
    let (mut count, mut bytes) = (0i64, 0i64);
    let mut stack: Vec<&Node> = tree.nodes.get(root).into_iter().collect();
    while let Some(n) = stack.pop() {
        count += 1;
        bytes += n.data.as_ref().map_or(0, |d| d.len() as i64);
        for name in tree.nodes.child_names(n) {
            if let Some(c) = tree.nodes.get(&path::join(n.path(), name)) {
                stack.push(c);
            }
        }
    }
    let mut usage = StatsTrack::default();
    usage.set_count(count);
    usage.set_bytes(bytes);
    usage
}

// ----------------------------------------------------------------- check ---

fn check(tree: &Tree, ctx: &Ctx<'_>, p: &str, version: i32) -> Result<(), ErrorCode> {
    validate_path(p)?;
    let node = tree.nodes.get(p).ok_or(ErrorCode::NoNode)?;
    acl::check(tree.acls.get(node.acl), Perms::READ, ctx.auth)?;
    check_and_inc_version(node.stat.version, version).map(|_| ())
}

// ----------------------------------------------------------------- multi ---

/// All or nothing. On the first failing op the mutations made so far are
/// undone, and the results are ZooKeeper's: `OK` (as an error result with
/// code 0) for the ops before, the failure's code, `RUNTIMEINCONSISTENCY`
/// for the ops after. The reply header's code stays 0.
fn multi(tree: &mut Tree, ctx: &Ctx<'_>, ops: &[Op]) -> ApplyOutcome {
    if !tree.sessions.is_live(ctx.session) {
        return ApplyOutcome::err(ErrorCode::SessionExpired);
    }
    // A read op in a write multi fails the whole request, as ZooKeeper's
    // MultiOperationRecord does (MARSHALLINGERROR, empty body; golden
    // capture raw-malformed-04).
    if ops
        .iter()
        .any(|op| matches!(op, Op::GetChildren(_) | Op::GetData(_)))
    {
        return ApplyOutcome::err(ErrorCode::MarshallingError);
    }
    // So does a create sub-op with an invalid or TTL mode (3.8.2+:
    // MultiOperationRecord builds CreateOptions, which refuse them).
    let bad_create = ops.iter().any(|op| match op {
        Op::Create(r) | Op::Create2(r) | Op::CreateContainer(r) => {
            CreateMode::try_from(r.flags).map_or(true, CreateMode::is_ttl)
        }
        _ => false,
    });
    if bad_create {
        return ApplyOutcome::err(ErrorCode::MarshallingError);
    }
    let mut events = Vec::new();
    let mut undo = Vec::new();
    let mut results = Vec::with_capacity(ops.len());
    let mut failed: Option<(usize, ErrorCode)> = None;
    for (i, op) in ops.iter().enumerate() {
        match one(tree, ctx, op, &mut events, Some(&mut undo)) {
            Ok(r) => results.push(r),
            Err(code) => {
                failed = Some((i, code));
                break;
            }
        }
    }
    let Some((at, code)) = failed else {
        return ApplyOutcome::ok(Response::Multi(MultiResponse { results }), events);
    };
    rollback(tree, undo);
    let results = (0..ops.len())
        .map(|i| {
            let err = if i < at {
                ErrorCode::Ok
            } else if i == at {
                code
            } else {
                ErrorCode::RuntimeInconsistency
            };
            OpResult::Error { err: err.into() }
        })
        .collect();
    ApplyOutcome::ok(Response::Multi(MultiResponse { results }), Vec::new())
}

fn rollback(tree: &mut Tree, undo: Vec<Undo>) {
    for u in undo.into_iter().rev() {
        match u {
            Undo::Created(p) => {
                tree.remove(&p);
            }
            Undo::Deleted(p, mut node, acl) => {
                node.acl = tree.intern_acl(&acl);
                tree.insert(&p, node);
            }
            Undo::Stat(p, stat) => {
                if let Some(n) = tree.node_mut(p.as_str()) {
                    n.stat = stat;
                }
            }
            Undo::Data(p, data, stat) => {
                if let Some((_, n)) = tree.set_data(p.as_str(), data) {
                    n.stat = stat;
                }
            }
            Undo::Acl(p, acl, stat) => {
                let r = tree.intern_acl(&acl);
                if let Some(n) = tree.node_mut(p.as_str()) {
                    let old = std::mem::replace(&mut n.acl, r);
                    n.stat = stat;
                    tree.acls.release(old);
                }
            }
        }
    }
}

// ---------------------------------------------------------------- config ---

/// `/zookeeper/config` takes the membership's text as ZooKeeper's
/// `DataTree.setData(CONFIG_NODE, data, -1, version, time)` does: the
/// data version stays −1, `mzxid` is the configuration's version, and its
/// data watchers hear `NodeDataChanged`.
///
/// A negative `version` is a `reconfig`: the configuration's version is
/// this command's own zxid, and `data` (the `server.N` lines) gets the
/// `version=<hex>` line that names it. The reply is the node's data and
/// Stat, as ZooKeeper answers `reconfig`.
fn set_config(tree: &mut Tree, ctx: &Ctx<'_>, version: i64, data: &Bytes) -> ApplyOutcome {
    let (version, data): (i64, Box<[u8]>) = if version < 0 {
        let mut text = data.to_vec();
        text.extend_from_slice(format!("version={:x}", ctx.zxid).as_bytes());
        (ctx.zxid, text.into_boxed_slice())
    } else {
        (version, Box::from(data.as_ref()))
    };
    let Some((_, node)) = tree.set_data(CONFIG, Some(data)) else {
        return ApplyOutcome::err(ErrorCode::NoNode);
    };
    node.stat.version = -1;
    node.stat.mzxid = version;
    node.stat.mtime = ctx.time;
    let reply = GetDataResponse {
        data: node.data.as_deref().map(Bytes::copy_from_slice),
        stat: node.stat(),
    };
    let acl = node.acl;
    let event = ChangeEvent {
        zxid: ctx.zxid,
        path: CONFIG.to_owned(),
        kind: ChangeKind::DataChanged,
        acl: tree.acls.shared(acl),
    };
    ApplyOutcome::ok(Response::GetData(reply), vec![event])
}

// --------------------------------------------------------------- restore ---

/// The tree becomes the snapshot's, sessions included; its zxid is the
/// restore's own (set by [`apply`]), so zxids never go back. A snapshot
/// that does not parse changes nothing (BADARGUMENTS). No watch fires:
/// the server drops every watch and connection after a restore
/// (`Host::reset`), as ZooKeeper's restore starts a new database.
fn restore(tree: &mut Tree, snapshot: &Bytes) -> ApplyOutcome {
    match crate::snapshot::read(&mut snapshot.as_ref(), tree.config.clone()) {
        Ok(mut restored) => {
            restored.changes = tree.changes.as_ref().map(|_| crate::tree::Changes {
                everything: true,
                ..Default::default()
            });
            *tree = restored;
            ApplyOutcome::ok(Response::Empty, Vec::new())
        }
        Err(_) => ApplyOutcome::err(ErrorCode::BadArguments),
    }
}

// --------------------------------------------------------------- session ---

/// Ends a session: its ephemerals are deleted in path order, each with its
/// events, then the session is gone.
fn close_session(tree: &mut Tree, ctx: &Ctx<'_>) -> ApplyOutcome {
    let Some(ephemerals) = tree.close_session(ctx.session) else {
        return ApplyOutcome::err(ErrorCode::SessionExpired);
    };
    let mut events = Vec::new();
    for p in ephemerals {
        if tree.nodes.contains(p.as_str()) {
            remove_node(tree, ctx.zxid, &p, &mut events, None);
        }
    }
    ApplyOutcome::ok(Response::Empty, events)
}
