//! `dispatch`: the one `match` from a request to what serves it.
//!
//! Every reply is queued on the connection's outbound queue while the state
//! lock is held (see [`crate::core::Core`]'s lock rule), so replies and
//! notifications reach the client in the order of the states they reflect.

use bytes::Bytes;
use jute::proto::*;
use jute::{ClientInfo, DecodeError, ErrorCode, Id, OpCode, Request, Response, WatcherType, xid};
use storage::CommandOp;
use tracing::debug;

use crate::core::{Core, Outbound, Outgoing, State};

/// A write that must be proposed once the lock is released.
enum Write {
    /// Propose this, answer with the request's xid.
    Op(CommandOp),
    /// Propose this, then close the connection (closeSession).
    Close(CommandOp),
}
use crate::session::SessionCtx;
use crate::watch::Kind;

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
}

/// Answers a `sync` once the wait for the leader is over.
pub(crate) fn sync_done(core: &Core, tx: &Outbound, xid: i32, path: String) {
    let st = core.lock();
    reply(
        tx,
        xid,
        st.tree.last_zxid(),
        Ok(Response::Sync(SyncResponse { path })),
    );
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
        return read_only(core, session, tx, header.xid, served);
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
    }
}

/// A read-only session's request (`ReadOnlyRequestProcessor`): reads as
/// anywhere; writes and `sync` answered NOTREADONLY; `closeSession` ends
/// the local session here, without Raft.
fn read_only(core: &Core, session: &SessionCtx, tx: &Outbound, xid: i32, served: Served) -> Step {
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
        Served::Propose(Write::Op(_)) | Served::Sync(_) => {
            reply(tx, xid, last, Err(ErrorCode::NotReadOnly));
            Step::Done(Next::Continue)
        }
    }
}

/// Whether a request with this opcode may be pipelined behind the
/// session's earlier writes (a write) or must wait until they are applied
/// (everything else, so that its reply follows theirs and sees them).
pub(crate) fn is_write(op: i32) -> bool {
    OpCode::try_from(op).is_ok_and(|op| op.is_write() || op == OpCode::CloseSession)
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
}

/// Everything that needs only the lock; writes are handed back.
fn serve_locally(
    core: &Core,
    session: &mut SessionCtx,
    tx: &Outbound,
    header: &RequestHeader,
    body: &Bytes,
) -> Served {
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
    let auth = session.auth();
    let last = st.tree.last_zxid();
    match request {
        // ---- session control ----
        Request::Ping => reply(tx, xid::PING, last, Ok(Response::Empty)),
        // Answered when applied, then the connection closes.
        Request::CloseSession => return Served::Propose(Write::Close(CommandOp::CloseSession)),
        Request::Auth(packet) => {
            return Served::Done(auth_packet(core, &mut st, session, tx, header.xid, &packet));
        }
        Request::Sasl(_) => reply(tx, header.xid, last, Err(ErrorCode::Unimplemented)),
        Request::WhoAmI => {
            let client_info = auth
                .iter()
                .map(|id| ClientInfo {
                    auth_scheme: id.scheme.clone(),
                    user: match id.scheme.as_str() {
                        "digest" => id.id.split(':').next().unwrap_or("").to_owned(),
                        "ip" => id.id.clone(),
                        _ => String::new(),
                    },
                })
                .collect();
            reply(
                tx,
                header.xid,
                last,
                Ok(Response::WhoAmI(WhoAmIResponse { client_info })),
            );
        }
        Request::Sync(r) => return Served::Sync(r.path),

        // ---- watches ----
        Request::SetWatches(w) => {
            set_watches(
                &mut st,
                session.id,
                w.relative_zxid,
                &w.data_watches,
                &w.exist_watches,
                &w.child_watches,
            );
            reply(tx, header.xid, last, Ok(Response::Empty));
        }
        Request::SetWatches2(w) => {
            set_watches(
                &mut st,
                session.id,
                w.relative_zxid,
                &w.data_watches,
                &w.exist_watches,
                &w.child_watches,
            );
            for p in &w.persistent_watches {
                st.host.watches.add(session.id, p, Kind::Persistent);
            }
            for p in &w.persistent_recursive_watches {
                st.host.watches.add(session.id, p, Kind::Recursive);
            }
            reply(tx, header.xid, last, Ok(Response::Empty));
        }
        Request::AddWatch(r) => {
            let kind = match r.mode {
                0 => Some(Kind::Persistent),
                1 => Some(Kind::Recursive),
                _ => None,
            };
            match kind {
                Some(kind) => {
                    st.host.watches.add(session.id, &r.path, kind);
                    reply(
                        tx,
                        header.xid,
                        last,
                        Ok(Response::AddWatch(ErrorResponse { err: 0 })),
                    );
                }
                None => reply(tx, header.xid, last, Err(ErrorCode::MarshallingError)),
            }
        }
        Request::CheckWatches(CheckWatchesRequest { path, kind }) => {
            let result = match WatcherType::try_from(kind) {
                Ok(t) if st.host.watches.contains(session.id, &path, t) => Ok(Response::Empty),
                Ok(_) => Err(ErrorCode::NoWatcher),
                Err(_) => Err(ErrorCode::MarshallingError),
            };
            reply(tx, header.xid, last, result);
        }
        Request::RemoveWatches(RemoveWatchesRequest { path, kind }) => {
            let result = match WatcherType::try_from(kind) {
                Ok(t) if st.host.watches.remove(session.id, &path, t) => Ok(Response::Empty),
                Ok(_) => Err(ErrorCode::NoWatcher),
                Err(_) => Err(ErrorCode::MarshallingError),
            };
            reply(tx, header.xid, last, result);
        }

        // ---- reads ----
        Request::GetData(r) => {
            let result = st.tree.get_data(&r.path, auth);
            if r.watch && result.is_ok() {
                st.host.watches.add(session.id, &r.path, Kind::Data);
            }
            reply(tx, header.xid, last, result.map(Response::GetData));
        }
        Request::Exists(r) => {
            let result = st.tree.exists(&r.path, auth, core.config.exists_acl_check);
            // An exists watch is set on a missing node too (it fires on
            // creation), but not when the check itself failed.
            if r.watch && matches!(result, Ok(_) | Err(ErrorCode::NoNode)) {
                st.host.watches.add(session.id, &r.path, Kind::Data);
            }
            reply(
                tx,
                header.xid,
                last,
                result.map(|stat| Response::Exists(ExistsResponse { stat })),
            );
        }
        Request::GetChildren(r) => {
            let result = st.tree.get_children(&r.path, auth);
            if r.watch && result.is_ok() {
                st.host.watches.add(session.id, &r.path, Kind::Child);
            }
            reply(tx, header.xid, last, result.map(Response::GetChildren));
        }
        Request::GetChildren2(r) => {
            let result = st.tree.get_children2(&r.path, auth);
            if r.watch && result.is_ok() {
                st.host.watches.add(session.id, &r.path, Kind::Child);
            }
            reply(tx, header.xid, last, result.map(Response::GetChildren2));
        }
        Request::GetAcl(r) => reply(
            tx,
            header.xid,
            last,
            st.tree.get_acl(&r.path, auth).map(Response::GetAcl),
        ),
        Request::GetAllChildrenNumber(r) => {
            let result = st.tree.all_children_number(&r.path, auth);
            reply(
                tx,
                header.xid,
                last,
                result.map(|total_number| {
                    Response::GetAllChildrenNumber(GetAllChildrenNumberResponse { total_number })
                }),
            );
        }
        Request::GetEphemerals(r) => {
            let ephemerals = st.tree.ephemerals(session.id, &r.prefix_path);
            reply(
                tx,
                header.xid,
                last,
                Ok(Response::GetEphemerals(GetEphemeralsResponse {
                    ephemerals,
                })),
            );
        }
        Request::MultiRead(m) => {
            // Each read on its own; watch flags are ignored (ZooKeeper
            // rebuilds the sub-requests with watch=false).
            let mut results = Vec::with_capacity(m.ops.len());
            for op in &m.ops {
                results.push(match op {
                    Op::GetData(r) => match st.tree.get_data(&r.path, auth) {
                        Ok(d) => OpResult::GetData {
                            data: d.data,
                            stat: d.stat,
                        },
                        Err(e) => OpResult::Error { err: e.into() },
                    },
                    Op::GetChildren(r) => match st.tree.get_children(&r.path, auth) {
                        Ok(c) => OpResult::GetChildren {
                            children: c.children,
                        },
                        Err(e) => OpResult::Error { err: e.into() },
                    },
                    _ => {
                        reply(tx, header.xid, last, Err(ErrorCode::MarshallingError));
                        return Served::Done(Next::Continue);
                    }
                });
            }
            reply(
                tx,
                header.xid,
                last,
                Ok(Response::Multi(MultiResponse { results })),
            );
        }

        // ---- writes ----
        Request::Reconfig(_) => {
            // Reconfiguration arrives with ensembles (#4); ZooKeeper's
            // default is reconfigEnabled=false, answered as an error txn.
            return Served::Propose(Write::Op(CommandOp::Error {
                err: ErrorCode::ReconfigDisabled.into(),
            }));
        }
        Request::Check(_) => {
            // ZooKeeper 3.8.5+ refuses a standalone check (ZOOKEEPER-2623).
            reply(tx, header.xid, -1, Err(ErrorCode::Unimplemented));
            return Served::Done(Next::Close);
        }
        write @ (Request::Create(_)
        | Request::Create2(_)
        | Request::CreateContainer(_)
        | Request::CreateTtl(_)
        | Request::Delete(_)
        | Request::SetData(_)
        | Request::SetAcl(_)
        | Request::Multi(_)
        | Request::DeleteContainer(_)) => {
            return Served::Propose(Write::Op(CommandOp::Write(write)));
        }
    }
    Served::Done(Next::Continue)
}

/// `addauth`: digest and ip are ZooKeeper's built-in schemes. An unknown
/// scheme is AUTHFAILED and the connection is closed. Replies carry zxid 0.
fn auth_packet(
    core: &Core,
    st: &mut State,
    session: &mut SessionCtx,
    tx: &Outbound,
    xid: i32,
    packet: &AuthPacket,
) -> Next {
    let next = authenticate(core, session, tx, xid, packet);
    if let Some(a) = st.host.attached.get_mut(&session.id) {
        a.auth = session.auth().to_vec();
    }
    next
}

fn authenticate(
    core: &Core,
    session: &mut SessionCtx,
    tx: &Outbound,
    xid: i32,
    packet: &AuthPacket,
) -> Next {
    match packet.scheme.as_str() {
        "digest" => {
            let credentials = String::from_utf8_lossy(&packet.auth);
            let id = storage::acl::digest_id(&credentials);
            if core.config.super_digest.as_deref() == Some(id.as_str()) {
                session.add_auth(Id::new("super", ""));
            }
            session.add_auth(Id::new("digest", id));
            reply(tx, xid, 0, Ok(Response::Empty));
            Next::Continue
        }
        "ip" => {
            reply(tx, xid, 0, Ok(Response::Empty));
            Next::Continue
        }
        _ => {
            reply(tx, xid, 0, Err(ErrorCode::AuthFailed));
            Next::Close
        }
    }
}

/// Re-registers a reconnecting client's watches, firing at once what it
/// missed since `relative_zxid` (`DataTree.setWatches`).
fn set_watches(
    st: &mut State,
    session: i64,
    relative_zxid: i64,
    data: &[String],
    exist: &[String],
    child: &[String],
) {
    use jute::{EventType, KeeperState};
    let mut fire = Vec::new();
    for p in data {
        match st.tree.node(p) {
            None => fire.push((p.clone(), EventType::NodeDeleted)),
            Some(n) if n.stat.mzxid > relative_zxid => {
                fire.push((p.clone(), EventType::NodeDataChanged))
            }
            Some(_) => st.host.watches.add(session, p, Kind::Data),
        }
    }
    for p in exist {
        match st.tree.node(p) {
            Some(_) => fire.push((p.clone(), EventType::NodeCreated)),
            None => st.host.watches.add(session, p, Kind::Data),
        }
    }
    for p in child {
        match st.tree.node(p) {
            None => fire.push((p.clone(), EventType::NodeDeleted)),
            Some(n) if n.stat.pzxid > relative_zxid => {
                fire.push((p.clone(), EventType::NodeChildrenChanged))
            }
            Some(_) => st.host.watches.add(session, p, Kind::Child),
        }
    }
    let last = st.tree.last_zxid();
    for (path, kind) in fire {
        let event = WatcherEvent {
            kind: kind.into(),
            state: KeeperState::SyncConnected.into(),
            path,
        };
        st.host.send(
            session,
            ReplyHeader {
                xid: xid::NOTIFICATION,
                zxid: last,
                err: 0,
            },
            Response::Notification(event),
        );
    }
}
