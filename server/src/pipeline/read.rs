//! The reads: `getData`, `exists`, `getChildren(2)`, `getACL`,
//! `getAllChildrenNumber`, `getEphemerals`, `multiRead`. Each reads the
//! tree and registers its watch under the replica lock, so no change can
//! slip between the read and the watch; the permission checks are the
//! tree's (see the table in `docs/compatibility.md`).

use jute::proto::*;
use jute::{ErrorCode, Response};

use super::{Call, Next};
use crate::core::State;
use crate::watch::Kind;

/// `getData`: a data watch when the read succeeded.
pub(super) fn get_data(st: &mut State, c: &Call<'_>, r: &GetDataRequest) {
    let result = st.tree.get_data(&r.path, c.auth);
    if r.watch && result.is_ok() {
        st.host.watches.add(c.session, &r.path, Kind::Data);
    }
    c.reply(result.map(Response::GetData));
}

/// `exists`: READ checked as `corral.existsAclCheck` says; a watch is set
/// on a missing node too (it fires on creation), but not when the check
/// itself failed.
pub(super) fn exists(st: &mut State, c: &Call<'_>, r: &ExistsRequest, check_read: bool) {
    let result = st.tree.exists(&r.path, c.auth, check_read);
    if r.watch && matches!(result, Ok(_) | Err(ErrorCode::NoNode)) {
        st.host.watches.add(c.session, &r.path, Kind::Data);
    }
    c.reply(result.map(|stat| Response::Exists(ExistsResponse { stat })));
}

/// `getChildren` (8): a child watch when the read succeeded.
pub(super) fn get_children(st: &mut State, c: &Call<'_>, r: &GetChildrenRequest) {
    let result = st.tree.get_children(&r.path, c.auth);
    if r.watch && result.is_ok() {
        st.host.watches.add(c.session, &r.path, Kind::Child);
    }
    c.reply(result.map(Response::GetChildren));
}

/// `getChildren2` (12): with the Stat.
pub(super) fn get_children2(st: &mut State, c: &Call<'_>, r: &GetChildren2Request) {
    let result = st.tree.get_children2(&r.path, c.auth);
    if r.watch && result.is_ok() {
        st.host.watches.add(c.session, &r.path, Kind::Child);
    }
    c.reply(result.map(Response::GetChildren2));
}

/// `getACL`.
pub(super) fn get_acl(st: &State, c: &Call<'_>, r: &GetAclRequest) {
    c.reply(st.tree.get_acl(&r.path, c.auth).map(Response::GetAcl));
}

/// `getAllChildrenNumber`.
pub(super) fn all_children_number(st: &State, c: &Call<'_>, r: &GetAllChildrenNumberRequest) {
    let result = st.tree.all_children_number(&r.path, c.auth);
    c.reply(result.map(|total_number| {
        Response::GetAllChildrenNumber(GetAllChildrenNumberResponse { total_number })
    }));
}

/// `getEphemerals`: the session's own, under a prefix.
pub(super) fn ephemerals(st: &State, c: &Call<'_>, r: &GetEphemeralsRequest) {
    let ephemerals = st.tree.ephemerals(c.session, &r.prefix_path);
    c.reply(Ok(Response::GetEphemerals(GetEphemeralsResponse {
        ephemerals,
    })));
}

/// `multiRead`: each read on its own, with an error result per failed
/// one; watch flags are ignored (ZooKeeper rebuilds the sub-requests with
/// watch=false). A write among them is MARSHALLINGERROR for the whole.
pub(super) fn multi_read(st: &State, c: &Call<'_>, m: &MultiRequest) -> Next {
    let mut results = Vec::with_capacity(m.ops.len());
    for op in &m.ops {
        results.push(match op {
            Op::GetData(r) => match st.tree.get_data(&r.path, c.auth) {
                Ok(d) => OpResult::GetData {
                    data: d.data,
                    stat: d.stat,
                },
                Err(e) => OpResult::Error { err: e.into() },
            },
            Op::GetChildren(r) => match st.tree.get_children(&r.path, c.auth) {
                Ok(ch) => OpResult::GetChildren {
                    children: ch.children,
                },
                Err(e) => OpResult::Error { err: e.into() },
            },
            _ => {
                c.reply(Err(ErrorCode::MarshallingError));
                return Next::Continue;
            }
        });
    }
    c.reply(Ok(Response::Multi(MultiResponse { results })));
    Next::Continue
}
