//! Session control and watches: `ping`, `auth` (asking [`crate::auth`]),
//! `whoAmI`, `setWatches(2)`, `addWatch`, `checkWatches`, `removeWatches`,
//! and the answer to a `sync` once it has caught up. None needs a
//! permission (see `docs/compatibility.md`).

use jute::proto::*;
use jute::{ClientInfo, ErrorCode, Response, WatcherType, xid};

use super::{Call, Next, reply};
use crate::core::{Core, Outbound, State};
use crate::session::SessionCtx;
use crate::watch::Kind;

/// `ping`: answered with its reserved xid.
pub(super) fn ping(c: &Call<'_>) {
    reply(c.tx, xid::PING, c.last, Ok(Response::Empty));
}

/// `whoAmI`: the session's ids as ZooKeeper's `AuthUtil.getClientInfos`
/// names them (a digest's user; an address, a DN, a SASL user as they
/// are).
pub(super) fn who_am_i(c: &Call<'_>) {
    let client_info = c
        .auth
        .iter()
        .filter(|id| id.scheme != storage::acl::SCHEMES_ID)
        .map(|id| ClientInfo {
            auth_scheme: id.scheme.clone(),
            user: match id.scheme.as_str() {
                "digest" => id.id.split(':').next().unwrap_or("").to_owned(),
                "ip" | "x509" | "sasl" => id.id.clone(),
                // No provider (`super`): AuthUtil gives "".
                _ => String::new(),
            },
        })
        .collect();
    c.reply(Ok(Response::WhoAmI(WhoAmIResponse { client_info })));
}

/// `addauth`: the ids [`crate::auth`] finds for the credential join the
/// connection's (and its route's, for notifications); a scheme no
/// provider serves is AUTHFAILED and the connection closes. Replies carry
/// zxid 0.
pub(super) fn auth(
    core: &Core,
    st: &mut State,
    session: &mut SessionCtx,
    tx: &Outbound,
    xid: i32,
    packet: &AuthPacket,
) -> Next {
    // `addauth x509` checks the connection's certificate again
    // (X509AuthenticationProvider): OK with one, AUTHFAILED without.
    if packet.scheme == "x509" && core.config.acl_schemes().x509 {
        if session.auth().iter().any(|id| id.scheme == "x509") {
            reply(tx, xid, 0, Ok(Response::Empty));
            return Next::Continue;
        }
        reply(tx, xid, 0, Err(ErrorCode::AuthFailed));
        return Next::Close;
    }
    let next =
        match crate::auth::authenticate(&core.config, &packet.scheme, &packet.auth, session.peer) {
            Some(ids) => {
                for id in ids {
                    session.add_auth(id);
                }
                reply(tx, xid, 0, Ok(Response::Empty));
                Next::Continue
            }
            None => {
                reply(tx, xid, 0, Err(ErrorCode::AuthFailed));
                Next::Close
            }
        };
    publish_auth(st, session);
    next
}

/// Gives the session's route (which filters its notifications by ACL)
/// the connection's ids after they changed.
fn publish_auth(st: &mut State, session: &SessionCtx) {
    if let Some(a) = st.host.attached.get_mut(&session.id) {
        a.auth = session.auth().to_vec();
    }
}

/// `sasl` (102): one step of the connection's DIGEST-MD5 or GSSAPI exchange
/// (`ZooKeeperServer.processSasl`); replies carry zxid 0. Once the client
/// is authenticated the connection is `sasl:<user>` (and `super` when the
/// user is a `zookeeper.superUser`). Without a JAAS file ZooKeeper
/// answers OK with a null token and authenticates no one; so does
/// Corral. A failed exchange is AUTHFAILED (SESSIONCLOSEDREQUIRESASLAUTH
/// when SASL is enforced) and the connection closes, unless
/// `allowSaslFailedClients` lets it go on unauthenticated.
pub(super) fn sasl(
    core: &Core,
    st: &mut State,
    session: &mut SessionCtx,
    tx: &Outbound,
    xid: i32,
    token: &[u8],
) -> Next {
    use crate::auth::sasl::{DigestMd5, Exchange, Step};
    let auth = &core.config.auth;
    let answer = |token: Option<Vec<u8>>, err: Option<ErrorCode>| {
        sasl_reply(tx, xid, err, token);
    };
    if auth.gssapi.is_none() && auth.sasl_users.is_none() {
        answer(None, None);
        return Next::Continue;
    }
    // The mechanism the JAAS section gives, made on the first token.
    let exchange = session
        .sasl
        .get_or_insert_with(|| match (&auth.gssapi, &auth.sasl_users) {
            (Some(acceptor), _) => {
                Exchange::Gssapi(crate::auth::gssapi::Gssapi::new(acceptor.clone()))
            }
            (None, users) => Exchange::Digest(DigestMd5::new(
                users.clone().unwrap_or_default(),
                auth.sasl_super_password.clone(),
            )),
        });
    match exchange.step(token) {
        Ok(Step::Challenge(c)) => {
            answer(Some(c), None);
            Next::Continue
        }
        Ok(Step::Done { token, user }) => {
            let id = crate::auth::sasl::principal(auth, &user);
            tracing::info!(user = %id, "SASL authentication succeeded");
            if auth.super_users.contains(&id) {
                session.add_auth(jute::Id::new("super", ""));
            }
            session.add_auth(jute::Id::new("sasl", id));
            publish_auth(st, session);
            // GSSAPI ends with nothing to say: a null token.
            answer((!token.is_empty()).then_some(token), None);
            Next::Continue
        }
        Err(e) => {
            tracing::info!(error = %e, "SASL authentication failed");
            if auth.allow_sasl_failed_clients && !auth.sasl_required() {
                answer(None, None);
                return Next::Continue;
            }
            let code = if auth.sasl_required() {
                ErrorCode::SessionClosedRequireSaslAuth
            } else {
                ErrorCode::AuthFailed
            };
            answer(None, Some(code));
            Next::Close
        }
    }
}

/// A `sasl` reply: ZooKeeper sends the `SetSASLResponse` body even with
/// an error code, its token null then.
fn sasl_reply(tx: &Outbound, xid: i32, err: Option<ErrorCode>, token: Option<Vec<u8>>) {
    let header = ReplyHeader {
        xid,
        zxid: 0,
        err: err.map_or(0, i32::from),
    };
    let body = Response::Sasl(SetSaslResponse {
        token: token.map(bytes::Bytes::from),
    });
    let _ = tx.send(crate::core::Outgoing::Frame(header, body));
}

/// `setWatches` (101): the standard watches again.
pub(super) fn set_watches(st: &mut State, c: &Call<'_>, w: &SetWatches) {
    reregister(
        st,
        c.session,
        w.relative_zxid,
        &w.data_watches,
        &w.exist_watches,
        &w.child_watches,
    );
    c.reply(Ok(Response::Empty));
}

/// `setWatches2` (105): the standard and the persistent watches again.
pub(super) fn set_watches2(st: &mut State, c: &Call<'_>, w: &SetWatches2) {
    reregister(
        st,
        c.session,
        w.relative_zxid,
        &w.data_watches,
        &w.exist_watches,
        &w.child_watches,
    );
    for p in &w.persistent_watches {
        st.host.watches.add(c.session, p, Kind::Persistent);
    }
    for p in &w.persistent_recursive_watches {
        st.host.watches.add(c.session, p, Kind::Recursive);
    }
    c.reply(Ok(Response::Empty));
}

/// `addWatch`: persistent (0) or persistent-recursive (1).
pub(super) fn add_watch(st: &mut State, c: &Call<'_>, r: &AddWatchRequest) {
    let kind = match r.mode {
        0 => Kind::Persistent,
        1 => Kind::Recursive,
        _ => return c.reply(Err(ErrorCode::MarshallingError)),
    };
    st.host.watches.add(c.session, &r.path, kind);
    c.reply(Ok(Response::AddWatch(ErrorResponse { err: 0 })));
}

/// `checkWatches`: NOWATCHER unless this session watches the path so.
pub(super) fn check_watches(st: &State, c: &Call<'_>, r: &CheckWatchesRequest) {
    let result = match WatcherType::try_from(r.kind) {
        Ok(t) if st.host.watches.contains(c.session, &r.path, t) => Ok(Response::Empty),
        Ok(_) => Err(ErrorCode::NoWatcher),
        Err(_) => Err(ErrorCode::MarshallingError),
    };
    c.reply(result);
}

/// `removeWatches`: NOWATCHER unless there was one to remove.
pub(super) fn remove_watches(st: &mut State, c: &Call<'_>, r: &RemoveWatchesRequest) {
    let result = match WatcherType::try_from(r.kind) {
        Ok(t) if st.host.watches.remove(c.session, &r.path, t) => Ok(Response::Empty),
        Ok(_) => Err(ErrorCode::NoWatcher),
        Err(_) => Err(ErrorCode::MarshallingError),
    };
    c.reply(result);
}

/// Re-registers a reconnecting client's watches, firing at once what it
/// missed since `relative_zxid` (`DataTree.setWatches`).
fn reregister(
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
