//! The writes: what each becomes as a replicated command, and what a
//! read-only session gets instead (`ReadOnlyRequestProcessor`). A write is
//! proposed with the replica lock released; its reply is queued when it
//! is applied (`core::ServerHost::applied`).

use jute::{ErrorCode, Request, Response};
use storage::CommandOp;

use super::{Call, Next, Served, Step, reply};
use crate::core::{Core, Outbound};
use crate::session::SessionCtx;

/// A write that must be proposed once the lock is released.
pub(super) enum Write {
    /// Propose this, answer with the request's xid.
    Op(CommandOp),
    /// Propose this, then close the connection (closeSession).
    Close(CommandOp),
}

/// `reconfig`, checked here as ZooKeeper's `PrepRequestProcessor` does
/// before it asks the leader: RECONFIGDISABLED unless `reconfigEnabled`,
/// UNIMPLEMENTED on a standalone server, both as error transactions
/// (they consume a zxid). Whether the session may write
/// `/zookeeper/config` (the super user, or `skipACL`) travels with the
/// request: the leader answers NOAUTH in ZooKeeper's order, after its
/// own checks.
pub(super) fn reconfig(
    core: &Core,
    st: &crate::core::State,
    c: &Call<'_>,
    request: jute::proto::ReconfigRequest,
) -> Served {
    let refuse = |err: ErrorCode| Served::Propose(Write::Op(CommandOp::Error { err: err.into() }));
    if !core.config.reconfig_enabled {
        return refuse(ErrorCode::ReconfigDisabled);
    }
    if core.config.is_standalone() {
        return refuse(ErrorCode::Unimplemented);
    }
    let authorized = core.config.skip_acl
        || st.tree.node(storage::CONFIG).is_some_and(|n| {
            storage::acl::check(st.tree.acl_of(n), jute::Perms::WRITE, c.auth).is_ok()
        });
    Served::Reconfig(crate::reconfig::Ask {
        request,
        authorized,
    })
}

/// `check` outside a multi: ZooKeeper 3.8.5+ refuses it
/// (ZOOKEEPER-2623), UNIMPLEMENTED with zxid −1, and closes.
pub(super) fn lone_check(c: &Call<'_>) -> Served {
    reply(c.tx, c.xid, -1, Err(ErrorCode::Unimplemented));
    Served::Done(Next::Close)
}

/// A client write, proposed as it is.
pub(super) fn client_write(req: Request) -> Served {
    Served::Propose(Write::Op(CommandOp::Write(req)))
}

/// `closeSession`: answered when applied, then the connection closes.
pub(super) fn close_session() -> Served {
    Served::Propose(Write::Close(CommandOp::CloseSession))
}

/// A read-only session's request: reads as anywhere; writes and `sync`
/// answered NOTREADONLY, the connection kept; `closeSession` ends the
/// local session here, without Raft.
pub(super) fn read_only(
    core: &Core,
    session: &SessionCtx,
    tx: &Outbound,
    xid: i32,
    served: Served,
) -> Step {
    let mut st = core.lock();
    let last = st.tree.last_zxid();
    match served {
        Served::Done(next) => Step::Done(next),
        Served::Propose(Write::Close(_)) => {
            st.host.local_sessions.remove(&session.id);
            st.host.deadlines.remove(&session.id);
            st.host.watches.remove_session(session.id);
            reply(tx, xid, last, Ok(Response::Empty));
            Step::Done(Next::Close)
        }
        Served::Propose(Write::Op(_)) | Served::Sync(_) | Served::Reconfig(_) => {
            reply(tx, xid, last, Err(ErrorCode::NotReadOnly));
            Step::Done(Next::Continue)
        }
    }
}
