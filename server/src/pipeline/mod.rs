//! `dispatch`: the one `match` from a request to what serves it.
//!
//! ```text
//! serve ─► decode ─► session moved? ─► dispatch (one arm per request)
//!            │                            ├─ read::*     under the replica lock
//!            │                            ├─ control::*  under the replica lock
//!            │                            └─ write::*    handed back to propose
//!            └─ unknown opcode: UNIMPLEMENTED, close; bad body: MARSHALLINGERROR
//! a read-only session's writes and sync: write::read_only (NOTREADONLY)
//! ```
//!
//! - `read`: `getData`, `exists`, `getChildren(2)`, `getACL`,
//!   `getAllChildrenNumber`, `getEphemerals`, `multiRead`.
//! - `control`: `ping`, `auth`, `whoAmI`, the watch requests, `sync`'s
//!   answer.
//! - `write`: what each write becomes as a command; read-only sessions.
//!
//! Every reply is queued on the connection's outbound queue while the state
//! lock is held (see [`crate::core::Core`]'s lock rule), so replies and
//! notifications reach the client in the order of the states they reflect.
//! The per-session order (a read waits for the session's earlier writes)
//! is kept by the connection task (`net::connection`).

mod control;
mod read;
mod write;

use bytes::Bytes;
use jute::proto::*;
use jute::{DecodeError, ErrorCode, Id, OpCode, Request, Response};
use storage::CommandOp;
use tracing::debug;

pub(crate) use control::sync_done;

/// Serves a `reconfig` once the session's earlier requests are done: the
/// leader's answer, then, once this member has applied the new
/// configuration, its data and Stat (as ZooKeeper replies); an error
/// becomes an error transaction, answered when applied. Returns whether
/// the connection carries on.
pub(crate) async fn reconfig(
    core: &Core,
    tx: &Outbound,
    xid: i32,
    session: i64,
    auth: Vec<Id>,
    conn_id: u64,
    ask: &crate::reconfig::Ask,
) -> bool {
    let limit = core.config.tick_time * (core.config.init_limit + core.config.sync_limit);
    match crate::reconfig::ask_leader(core, ask, limit).await {
        Ok(zxid) => {
            // Applied here before the answer (not a `sync`: a leader that
            // removed itself has no leader to ask, and has applied it).
            let deadline = tokio::time::Instant::now() + limit;
            while core.lock().tree.last_zxid() < zxid {
                if tokio::time::Instant::now() >= deadline {
                    debug!("reconfig: the new configuration was not applied here in time");
                    return false;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            {
                let st = core.lock();
                let Some(node) = st.tree.node(storage::CONFIG) else {
                    return false;
                };
                let body = GetDataResponse {
                    data: node.data.as_deref().map(Bytes::copy_from_slice),
                    stat: node.stat(),
                };
                reply(tx, xid, zxid, Ok(Response::GetData(body)));
            }
            // A member this change removed stops serving now that the
            // client has its answer.
            if !core.is_member() {
                crate::leader_tasks::set_removed(core, true);
            }
            true
        }
        // No leader to ask: the client reconnects and asks again.
        Err(ErrorCode::ConnectionLoss) => false,
        Err(err) => core
            .submit(
                xid,
                session,
                auth,
                CommandOp::Error { err: err.into() },
                conn_id,
            )
            .await
            .is_ok(),
    }
}
use write::Write;

use crate::core::{Core, Outbound, Outgoing};
use crate::session::SessionCtx;

/// What the connection does after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Read the next request.
    Continue,
    /// Flush and close the connection.
    Close,
}

fn reply(tx: &Outbound, xid: i32, zxid: i64, result: Result<Response, ErrorCode>) {
    let (err, body) = match result {
        Ok(body) => (0, body),
        Err(code) => (i32::from(code), Response::Empty),
    };
    let _ = tx.send(Outgoing::Frame(ReplyHeader { xid, zxid, err }, body));
}

/// One request as its handler sees it: where the reply goes, with which
/// xid and zxid, and the session's id and authenticated ids.
struct Call<'a> {
    tx: &'a Outbound,
    xid: i32,
    /// The last applied zxid: what reads reply with.
    last: i64,
    session: i64,
    auth: &'a [Id],
}

impl Call<'_> {
    fn reply(&self, result: Result<Response, ErrorCode>) {
        reply(self.tx, self.xid, self.last, result);
    }
}

/// What the connection does with a request after [`serve`].
pub(crate) enum Step {
    /// Answered (or refused) under the lock.
    Done(Next),
    /// A write: propose `op` (its reply is queued when it is applied), then
    /// carry on or, for `closeSession`, close once it is done.
    Propose {
        /// The command to propose.
        op: CommandOp,
        /// What comes after it is applied.
        then: Next,
    },
    /// `sync`: answer with this path once this server has caught up with
    /// the leader's commit point.
    Sync(String),
    /// `reconfig`: ask the leader, then answer (`crate::reconfig`).
    Reconfig(crate::reconfig::Ask),
}

/// Serves one request of `session`: reads and session control under the
/// lock; writes are handed back to be proposed with the lock released.
pub(crate) fn serve(
    core: &Core,
    session: &mut SessionCtx,
    tx: &Outbound,
    header: &RequestHeader,
    body: &Bytes,
) -> Step {
    let served = serve_locally(core, session, tx, header, body);
    if session.read_only {
        return write::read_only(core, session, tx, header.xid, served);
    }
    match served {
        Served::Done(next) => Step::Done(next),
        Served::Propose(Write::Op(op)) => Step::Propose {
            op,
            then: Next::Continue,
        },
        Served::Propose(Write::Close(op)) => Step::Propose {
            op,
            then: Next::Close,
        },
        Served::Sync(path) => Step::Sync(path),
        Served::Reconfig(ask) => Step::Reconfig(ask),
    }
}

/// Whether a request with this opcode may be pipelined behind the
/// session's earlier writes (a write) or must wait until they are applied
/// (everything else, so that its reply follows theirs and sees them).
pub(crate) fn is_write(op: i32) -> bool {
    // `reconfig` is answered outside the proposer's order: it waits.
    OpCode::try_from(op)
        .is_ok_and(|op| (op.is_write() && op != OpCode::Reconfig) || op == OpCode::CloseSession)
}

/// Whether a request reads the tree (and, with linearizable reads on,
/// first waits for this server to catch up with the leader).
pub(crate) fn reads_tree(op: i32) -> bool {
    OpCode::try_from(op).is_ok_and(|op| {
        matches!(
            op,
            OpCode::GetData
                | OpCode::Exists
                | OpCode::GetChildren
                | OpCode::GetChildren2
                | OpCode::GetAcl
                | OpCode::GetAllChildrenNumber
                | OpCode::GetEphemerals
                | OpCode::MultiRead
        )
    })
}

/// What serving a request under the lock came to.
enum Served {
    /// Answered (or refused); what the connection does next.
    Done(Next),
    /// A write, to be proposed once the lock is released.
    Propose(Write),
    /// A `sync`, answered once caught up.
    Sync(String),
    /// A `reconfig` for the leader.
    Reconfig(crate::reconfig::Ask),
}

/// Everything that needs only the lock; writes are handed back.
fn serve_locally(
    core: &Core,
    session: &mut SessionCtx,
    tx: &Outbound,
    header: &RequestHeader,
    body: &Bytes,
) -> Served {
    // Enforced authentication (`AuthenticationHelper`): before anything
    // but `auth` and `sasl`, a session without an id of an enforced
    // scheme is refused and its connection closed, as ZooKeeper checks
    // it before reading the request.
    if header.op != i32::from(OpCode::Auth)
        && header.op != i32::from(OpCode::Sasl)
        && let Some(schemes) = core.config.auth.enforced()
        && !session.auth().iter().any(|id| schemes.contains(&id.scheme))
    {
        core.metrics
            .error(crate::monitor::metrics::class::AUTH_REQUIRED);
        debug!(
            op = header.op,
            "not authenticated by an enforced scheme; closing"
        );
        reply(
            tx,
            header.xid,
            0,
            Err(ErrorCode::SessionClosedRequireSaslAuth),
        );
        return Served::Done(Next::Close);
    }
    let request = match Request::decode(header.op, body) {
        Ok(r) => r,
        // ZooKeeper answers an opcode it does not serve with UNIMPLEMENTED
        // and zxid -1, then closes (golden raw-malformed-01/05).
        Err(DecodeError::UnknownOpCode(_) | DecodeError::UnexpectedOpCode(_)) => {
            reply(tx, header.xid, -1, Err(ErrorCode::Unimplemented));
            return Served::Done(Next::Close);
        }
        // A body that does not parse: MARSHALLINGERROR, connection stays.
        Err(e) => {
            debug!(error = %e, op = header.op, "undecodable request body");
            let op = OpCode::try_from(header.op).ok();
            if op.is_some_and(OpCode::is_write) {
                // A write that fails to parse is still an error txn: it
                // consumes a zxid, and its reply comes when it is applied.
                return Served::Propose(Write::Op(CommandOp::Error {
                    err: ErrorCode::MarshallingError.into(),
                }));
            }
            let mut st = core.lock();
            st.host.touch(session.id, session.timeout);
            let zxid = st.tree.last_zxid();
            reply(tx, header.xid, zxid, Err(ErrorCode::MarshallingError));
            return Served::Done(Next::Continue);
        }
    };
    let mut st = core.lock();
    if st
        .host
        .attached
        .get(&session.id)
        .is_none_or(|a| a.conn_id != session.conn_id)
    {
        // The session lives on another connection now (or is gone).
        reply(
            tx,
            header.xid,
            st.tree.last_zxid(),
            Err(ErrorCode::SessionMoved),
        );
        return Served::Done(Next::Close);
    }
    st.host.touch(session.id, session.timeout);
    if let Request::Auth(packet) = &request {
        return Served::Done(control::auth(
            core, &mut st, session, tx, header.xid, packet,
        ));
    }
    if let Request::Sasl(r) = &request {
        return Served::Done(control::sasl(
            core, &mut st, session, tx, header.xid, &r.token,
        ));
    }
    let c = Call {
        tx,
        xid: header.xid,
        last: st.tree.last_zxid(),
        session: session.id,
        auth: session.auth(),
    };
    match request {
        // ---- session control ----
        Request::Ping => control::ping(&c),
        Request::CloseSession => return write::close_session(),
        Request::Auth(_) => {} // served above: it changes the session
        Request::Sasl(_) => {} // served above: it changes the session
        Request::WhoAmI => control::who_am_i(&c),
        Request::Sync(r) => return Served::Sync(r.path),

        // ---- watches ----
        Request::SetWatches(w) => control::set_watches(&mut st, &c, &w),
        Request::SetWatches2(w) => control::set_watches2(&mut st, &c, &w),
        Request::AddWatch(r) => control::add_watch(&mut st, &c, &r),
        Request::CheckWatches(r) => control::check_watches(&st, &c, &r),
        Request::RemoveWatches(r) => control::remove_watches(&mut st, &c, &r),

        // ---- reads ----
        Request::GetData(r) => read::get_data(&mut st, &c, &r),
        Request::Exists(r) => read::exists(&mut st, &c, &r, core.config.exists_acl_check),
        Request::GetChildren(r) => read::get_children(&mut st, &c, &r),
        Request::GetChildren2(r) => read::get_children2(&mut st, &c, &r),
        Request::GetAcl(r) => read::get_acl(&st, &c, &r),
        Request::GetAllChildrenNumber(r) => read::all_children_number(&st, &c, &r),
        Request::GetEphemerals(r) => read::ephemerals(&st, &c, &r),
        Request::MultiRead(m) => return Served::Done(read::multi_read(&st, &c, &m)),

        // ---- writes ----
        Request::Reconfig(r) => return write::reconfig(core, &st, &c, r),
        Request::Check(_) => return write::lone_check(&c),
        write @ (Request::Create(_)
        | Request::Create2(_)
        | Request::CreateContainer(_)
        | Request::CreateTtl(_)
        | Request::Delete(_)
        | Request::SetData(_)
        | Request::SetAcl(_)
        | Request::Multi(_)
        | Request::DeleteContainer(_)) => return write::client_write(write),
    }
    Served::Done(Next::Continue)
}
