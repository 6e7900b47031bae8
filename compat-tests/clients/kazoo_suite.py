#!/usr/bin/python3
"""kazoo (Debian python3-kazoo 2.8) against a ZooKeeper-compatible server.

    /usr/bin/python3 kazoo_suite.py HOST:PORT [SCENARIO...]

Runs the scenarios below in order (all, or the ones named), each under its
own root znode, printing one line per check:

    ok   <scenario>: <check>

and, on the first failure, a line

    FAIL <scenario>: <check>: <details>

then exits with status 1. An unexpected exception is a failure too (status
1, with its traceback); a scenario that hangs is stopped by a watchdog
(status 3). Exit status 0 means every check passed.

Every expectation here is ZooKeeper 3.8's behaviour: the Rust test
(compat-tests/tests/t10_kazoo.rs) runs this suite against the reference
ZooKeeper as well as against Corral, and both must pass.

Watch ordering is checked on the wire: each client records, in its reader
thread, the order in which notifications and replies arrive (kazoo
dispatches watch callbacks on another thread, so callback timing alone
cannot show the order).
"""

import os
import sys
import threading
import time
import traceback

from kazoo.client import KazooClient
from kazoo.exceptions import (BadVersionError, InvalidACLError, NoAuthError,
                              NoChildrenForEphemeralsError, NodeExistsError,
                              NoNodeError, NotEmptyError, RolledBackError,
                              RuntimeInconsistency)
from kazoo.protocol.serialization import Watch
from kazoo.protocol.states import EventType, KazooState
from kazoo.security import (CREATOR_ALL_ACL, OPEN_ACL_UNSAFE,
                            Permissions, make_acl, make_digest_acl,
                            make_digest_acl_credential)

WAIT = 10.0          # bound on every single wait
WATCHDOG = 100.0     # bound on the whole suite

HOSTS = None
CLIENTS = []
CURRENT = ["(start)"]


class CheckFailed(Exception):
    pass


LAST_OK = [None]


def check(what, cond, details=""):
    if not cond:
        raise CheckFailed("%s: %s" % (what, details))
    LAST_OK[0] = what
    print("ok   %s: %s" % (CURRENT[0], what), flush=True)


def check_eq(what, got, want):
    check(what, got == want, "expected %r, got %r" % (want, got))


def expect_error(what, exc, fn, *a, **kw):
    try:
        r = fn(*a, **kw)
    except exc:
        check(what, True)
        return
    except Exception as e:  # noqa: BLE001 - reported as the failure
        check(what, False, "expected %s, got %s: %s"
              % (exc.__name__, type(e).__name__, e))
    check(what, False, "expected %s, got the result %r" % (exc.__name__, r))


def wait_for(what, fn, timeout=WAIT):
    """Polls fn() until it is truthy (every 10 ms, bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise CheckFailed("%s: not within %.0f s" % (what, timeout))
        time.sleep(0.01)


# --------------------------------------------------------------------------
# Clients, with a record of what arrives on the wire, in order
# --------------------------------------------------------------------------

def client(**kw):
    zk = KazooClient(hosts=HOSTS, timeout=10, **kw)
    zk.wire = []
    conn = zk._connection
    orig_event = conn._read_watch_event
    orig_response = conn._read_response

    def on_event(buffer, offset):
        watch, _ = Watch.deserialize(buffer, offset)
        zk.wire.append(("event", watch.type, watch.path))
        return orig_event(buffer, offset)

    def on_response(header, buffer, offset):
        request = zk._pending[0][0] if zk._pending else None
        zk.wire.append(("reply", type(request).__name__,
                        getattr(request, "path", None), header.err))
        return orig_response(header, buffer, offset)

    conn._read_watch_event = on_event
    conn._read_response = on_response
    zk.start(timeout=WAIT)
    CLIENTS.append(zk)
    return zk


def close(zk):
    zk.stop()
    zk.close()
    if zk in CLIENTS:
        CLIENTS.remove(zk)


CREATED, DELETED, CHANGED, CHILD = 1, 2, 3, 4   # wire event types


def wire_events(zk, path, kind=None):
    return [e for e in list(zk.wire)
            if e[0] == "event" and e[2] == path
            and (kind is None or e[1] == kind)]


class Events:
    """A watch callback that records events and can be waited on."""

    def __init__(self):
        self.cv = threading.Condition()
        self.events = []

    def __call__(self, ev):
        with self.cv:
            self.events.append(ev)
            self.cv.notify_all()

    def wait(self, what, type_, path):
        deadline = time.monotonic() + WAIT
        with self.cv:
            while True:
                if any(e.type == type_ and e.path == path
                       for e in self.events):
                    check(what, True)
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    check(what, False, "no %s event for %s within %.0f s; "
                          "got %r" % (type_, path, WAIT, self.events))
                self.cv.wait(left)

    def count(self):
        with self.cv:
            return len(self.events)


def run_thread(fn, *args):
    t = threading.Thread(target=fn, args=args, daemon=True)
    t.start()
    return t


def join(what, t):
    t.join(WAIT)
    check(what, not t.is_alive(), "thread still running after %.0f s" % WAIT)


# --------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------

SCENARIOS = []


def scenario(fn):
    SCENARIOS.append(fn)
    return fn


@scenario
def crud_and_stat(zk):
    root = "/kz-crud"
    check_eq("create returns the path", zk.create(root, b"v0"), root)
    data, st = zk.get(root)
    check_eq("get returns the data", data, b"v0")
    check_eq("new node: version", st.version, 0)
    check_eq("new node: cversion", st.cversion, 0)
    check_eq("new node: aversion", st.aversion, 0)
    check_eq("new node: numChildren", st.numChildren, 0)
    check_eq("new node: dataLength", st.dataLength, 2)
    check_eq("new node: ephemeralOwner", st.ephemeralOwner, 0)
    check("new node: czxid == mzxid == pzxid",
          st.czxid == st.mzxid == st.pzxid and st.czxid > 0, repr(st))
    check("new node: ctime == mtime, within a minute of now",
          st.ctime == st.mtime and abs(st.ctime - time.time() * 1000) < 60000,
          repr(st))
    created = st

    st = zk.set(root, b"value-1", version=0)
    check_eq("set: version", st.version, 1)
    check_eq("set: dataLength", st.dataLength, 7)
    check("set: mzxid > czxid, czxid unchanged",
          st.mzxid > st.czxid and st.czxid == created.czxid, repr(st))
    check("set: mtime >= ctime", st.mtime >= st.ctime, repr(st))
    check_eq("get after set", zk.get(root)[0], b"value-1")
    expect_error("set with a stale version is BadVersion",
                 BadVersionError, zk.set, root, b"x", version=0)
    check_eq("set with version -1 ignores the version",
             zk.set(root, b"value-2", version=-1).version, 2)

    path, st = zk.create(root + "/child", b"c", include_data=True)
    check_eq("create2 returns the path", path, root + "/child")
    check_eq("create2 returns the stat", (st.version, st.dataLength), (0, 1))
    parent = zk.exists(root)
    check_eq("parent after a create: cversion", parent.cversion, 1)
    check_eq("parent after a create: numChildren", parent.numChildren, 1)
    check_eq("parent after a create: pzxid is the child's czxid",
             parent.pzxid, st.czxid)
    check_eq("parent's data version unchanged by a child",
             parent.version, 2)
    check_eq("get_children", zk.get_children(root), ["child"])
    children, pst = zk.get_children(root, include_data=True)
    check_eq("get_children with stat", (children, pst.numChildren),
             (["child"], 1))

    expect_error("create of an existing node is NodeExists",
                 NodeExistsError, zk.create, root + "/child", b"")
    expect_error("create under a missing parent is NoNode",
                 NoNodeError, zk.create, root + "/none/x", b"")
    expect_error("delete of a missing node is NoNode",
                 NoNodeError, zk.delete, root + "/none")
    expect_error("get of a missing node is NoNode",
                 NoNodeError, zk.get, root + "/none")
    expect_error("set of a missing node is NoNode",
                 NoNodeError, zk.set, root + "/none", b"")
    expect_error("get_children of a missing node is NoNode",
                 NoNodeError, zk.get_children, root + "/none")
    check_eq("exists of a missing node is None", zk.exists(root + "/none"),
             None)
    expect_error("delete of a node with children is NotEmpty",
                 NotEmptyError, zk.delete, root)
    expect_error("delete with a wrong version is BadVersion",
                 BadVersionError, zk.delete, root + "/child", version=5)
    zk.delete(root + "/child", version=0)
    check_eq("deleted child is gone", zk.exists(root + "/child"), None)
    parent = zk.exists(root)
    check_eq("parent after a delete: cversion", parent.cversion, 2)
    check_eq("parent after a delete: numChildren", parent.numChildren, 0)
    check("parent after a delete: pzxid moved",
          parent.pzxid > st.czxid, repr(parent))
    zk.delete(root)
    check_eq("deleted node is gone", zk.exists(root), None)


@scenario
def null_and_empty_data(zk):
    root = "/kz-null"
    zk.create(root, b"")
    zk.create(root + "/null", None)
    zk.create(root + "/empty", b"")
    data, st = zk.get(root + "/null")
    check_eq("node created with null data reads back None", data, None)
    check_eq("null data: dataLength", st.dataLength, 0)
    data, st = zk.get(root + "/empty")
    check_eq("node created with empty data reads back b''", data, b"")
    check_eq("empty data: dataLength", st.dataLength, 0)
    zk.set(root + "/empty", None)
    check_eq("set to null reads back None", zk.get(root + "/empty")[0], None)
    zk.set(root + "/null", b"")
    check_eq("set to empty reads back b''", zk.get(root + "/null")[0], b"")
    big = bytes(range(256)) * 1024
    zk.set(root + "/empty", big)
    data, st = zk.get(root + "/empty")
    check("256 KiB of binary data round-trips",
          data == big and st.dataLength == len(big), "dataLength %d"
          % st.dataLength)
    zk.delete(root, recursive=True)


@scenario
def sequential_names(zk):
    root = "/kz-seq"
    zk.create(root)
    check_eq("first sequential child", zk.create(root + "/n-", sequence=True),
             root + "/n-0000000000")
    check_eq("second sequential child",
             zk.create(root + "/n-", sequence=True), root + "/n-0000000001")
    zk.create(root + "/plain")
    check_eq("the counter is the parent's cversion (plain creates count)",
             zk.create(root + "/n-", sequence=True), root + "/n-0000000003")
    zk.delete(root + "/plain")
    check_eq("the visible cversion counts creates and deletes",
             zk.exists(root).cversion, 5)
    check_eq("but the counter counts creates only (cversion is shown as "
             "2 * creates - children)",
             zk.create(root + "/n-", sequence=True), root + "/n-0000000004")
    check_eq("a sequential name may be only the counter",
             zk.create(root + "/", sequence=True), root + "/0000000005")
    path = zk.create(root + "/e-", b"es", ephemeral=True, sequence=True)
    check_eq("ephemeral-sequential name", path, root + "/e-0000000006")
    st = zk.exists(path)
    check_eq("ephemeral-sequential: ephemeralOwner is the session",
             st.ephemeralOwner, zk.client_id[0])
    check_eq("persistent: ephemeralOwner 0",
             zk.exists(root + "/n-0000000000").ephemeralOwner, 0)
    check_eq("children", sorted(zk.get_children(root)),
             ["0000000005", "e-0000000006", "n-0000000000", "n-0000000001",
              "n-0000000003", "n-0000000004"])
    expect_error("an ephemeral node cannot have children",
                 NoChildrenForEphemeralsError, zk.create, path + "/x")
    zk.delete(root, recursive=True)


@scenario
def ephemerals_end_with_their_session(zk):
    root = "/kz-eph"
    zk.create(root)
    owner = client()
    owner.create(root + "/a", b"a", ephemeral=True)
    seq = owner.create(root + "/s-", b"s", ephemeral=True, sequence=True)
    sid = owner.client_id[0]
    st = zk.exists(root + "/a")
    check_eq("another client sees the ephemeral and its owner",
             st.ephemeralOwner, sid)
    check("the owner is not 0", sid != 0, "session id %#x" % sid)
    data_w, child_w = Events(), Events()
    zk.get(root + "/a", watch=data_w)
    zk.get_children(root, watch=child_w)
    close(owner)
    data_w.wait("closing the session fires NodeDeleted on its ephemeral",
                EventType.DELETED, root + "/a")
    child_w.wait("and NodeChildrenChanged on the parent",
                 EventType.CHILD, root)
    check_eq("the ephemerals are gone", zk.exists(root + "/a"), None)
    check_eq("the ephemeral-sequential too", zk.exists(seq), None)
    check_eq("parent has no children", zk.get_children(root), [])
    zk.delete(root)


@scenario
def watches_fire_once(zk):
    root = "/kz-watch"
    other = client()
    zk.create(root, b"0")
    zk.create(root + "/d", b"0")

    # data watch
    w = Events()
    zk.get(root + "/d", watch=w)
    other.set(root + "/d", b"1")
    w.wait("data watch fires NodeDataChanged", EventType.CHANGED,
           root + "/d")
    other.set(root + "/d", b"2")
    zk.get(root + "/d")   # a round trip after the second change
    check_eq("data watch is one-shot (one notification on the wire)",
             len(wire_events(zk, root + "/d", CHANGED)), 1)
    check_eq("data watch callback ran once", w.count(), 1)

    # child watch
    w = Events()
    zk.get_children(root, watch=w)
    other.create(root + "/c1")
    w.wait("child watch fires NodeChildrenChanged", EventType.CHILD, root)
    other.create(root + "/c2")
    other.set(root, b"data change is not a child event")
    zk.get_children(root)
    check_eq("child watch is one-shot, and not fired by a data change",
             len(wire_events(zk, root)), 1)

    # exists watch on a missing node
    w = Events()
    check_eq("exists on a missing node", zk.exists(root + "/later", watch=w),
             None)
    other.create(root + "/later")
    w.wait("exists watch fires NodeCreated", EventType.CREATED,
           root + "/later")
    other.delete(root + "/later")
    zk.exists(root + "/later")
    check_eq("exists watch is one-shot",
             len(wire_events(zk, root + "/later")), 1)

    # exists watch on an existing node fires on delete; so do data watches;
    # a child watch on the deleted node gets NodeDeleted too
    ew, dw, cw = Events(), Events(), Events()
    zk.exists(root + "/c1", watch=ew)
    zk.get(root + "/c2", watch=dw)
    zk.get_children(root + "/c2", watch=cw)
    other.delete(root + "/c1")
    other.delete(root + "/c2")
    ew.wait("exists watch fires NodeDeleted", EventType.DELETED,
            root + "/c1")
    dw.wait("data watch fires NodeDeleted", EventType.DELETED, root + "/c2")
    cw.wait("child watch on a deleted node fires NodeDeleted",
            EventType.DELETED, root + "/c2")
    zk.sync(root)
    check_eq("one NodeDeleted on the wire for both watches of /c2",
             wire_events(zk, root + "/c2"), [("event", DELETED, root + "/c2")])

    # a watch set by a failed read is not set
    zk.set(root, b"x")
    expect_error("get of a missing node with a watch is NoNode",
                 NoNodeError, zk.get, root + "/nope", watch=Events())
    other.create(root + "/nope")
    zk.sync(root)
    check_eq("a get that failed left no watch",
             wire_events(zk, root + "/nope"), [])

    close(other)
    zk.delete(root, recursive=True)


@scenario
def event_before_a_later_reply(zk):
    root = "/kz-order"
    other = client()
    zk.create(root, b"0")
    zk.create(root + "/elsewhere", b"e")
    zk.get(root, watch=Events())
    other.set(root, b"1")
    mark = len(zk.wire)
    data, _ = zk.get(root)
    check_eq("the read sees the change", data, b"1")
    after = zk.wire[mark:]
    replies = [i for i, e in enumerate(after)
               if e[:3] == ("reply", "GetData", root)]
    events = [i for i, e in enumerate(zk.wire)
              if e == ("event", CHANGED, root)]
    check("the notification arrived before the reply of the later read",
          replies and events and events[0] < mark + replies[0],
          "wire order: %r" % (zk.wire,))

    # any read that reflects a later state: a read of another path
    zk.exists(root, watch=Events())
    other.delete(root + "/elsewhere")
    other.set(root, b"2")
    mark = len(zk.wire)
    zk.get_children(root)
    idx = [mark + i for i, e in enumerate(zk.wire[mark:])
           if e[:3] == ("reply", "GetChildren", root)]
    events = [i for i, e in enumerate(zk.wire)
              if e == ("event", CHANGED, root)]
    check("an event comes before the reply to a read of another node",
          idx and len(events) == 2 and events[1] < idx[0],
          "wire order: %r" % (zk.wire,))
    close(other)
    zk.delete(root, recursive=True)


@scenario
def transactions(zk):
    root = "/kz-tx"
    zk.create(root, b"0")
    t = zk.transaction()
    t.create(root + "/a", b"1")
    t.create(root + "/s-", b"s", sequence=True)
    t.set_data(root, b"x")
    t.check(root, 1)
    t.delete(root + "/a")
    results = t.commit()
    check_eq("committed transaction: 5 results", len(results), 5)
    check_eq("create result is the path", results[0], root + "/a")
    check_eq("sequential create in a transaction counts earlier ops",
             results[1], root + "/s-0000000001")
    check_eq("set_data result is the stat", getattr(results[2], "version",
                                                     results[2]), 1)
    check_eq("check and delete results", results[3:], [True, True])
    check_eq("the transaction's effects", (zk.get(root)[0],
                                          zk.get_children(root)),
             (b"x", ["s-0000000001"]))

    t = zk.transaction()
    t.create(root + "/new", b"")
    t.check(root, 99)
    t.set_data(root, b"never")
    results = t.commit()
    check_eq("failed transaction results: rolled back, the error, "
             "then runtime inconsistency",
             [type(r).__name__ for r in results],
             ["RolledBackError", "BadVersionError", "RuntimeInconsistency"])
    check("result types are kazoo's exceptions",
          isinstance(results[0], RolledBackError)
          and isinstance(results[1], BadVersionError)
          and isinstance(results[2], RuntimeInconsistency), repr(results))
    check_eq("a failed transaction changes nothing",
             (zk.exists(root + "/new"), zk.get(root)[0],
              zk.exists(root).version), (None, b"x", 1))

    t = zk.transaction()
    t.delete(root + "/s-0000000001")
    t.create(root + "/s-0000000001/under-deleted", b"")
    results = t.commit()
    check_eq("a create under a node deleted earlier in the same "
             "transaction fails",
             [type(r).__name__ for r in results],
             ["RolledBackError", "NoNodeError"])
    check("the delete was rolled back",
          zk.exists(root + "/s-0000000001") is not None)
    check_eq("an empty transaction commits to []",
             zk.transaction().commit(), [])
    zk.delete(root, recursive=True)


@scenario
def acls_and_auth(zk):
    root = "/kz-acl"
    zk.create(root)
    zk.add_auth("digest", "alice:secret")
    alice = make_digest_acl("alice", "secret", all=True)
    check_eq("make_digest_acl id", alice.id.id,
             make_digest_acl_credential("alice", "secret"))
    zk.create(root + "/s", b"top", acl=[alice])
    other = client()
    try:
        st = other.exists(root + "/s")
    except NoAuthError:
        st = "NoAuthError"
    if EXISTS_NEEDS_READ:
        # ZooKeeper 3.8.4+ (ZOOKEEPER-2590), which Corral follows: exists on
        # a node the caller may not READ is NoAuth.
        check("exists needs READ (ZooKeeper 3.8.4+)", st == "NoAuthError",
              "expected NoAuthError, got %r" % (st,))
    else:
        check("exists needs no permission (ZooKeeper 3.8.0-3.8.3)",
              st is not None and st != "NoAuthError",
              "expected a Stat, got %r" % (st,))
    expect_error("get without auth is NoAuth", NoAuthError, other.get,
                 root + "/s")
    expect_error("set without auth is NoAuth", NoAuthError, other.set,
                 root + "/s", b"x")
    expect_error("create under it without auth is NoAuth", NoAuthError,
                 other.create, root + "/s/c")
    expect_error("get_children without auth is NoAuth", NoAuthError,
                 other.get_children, root + "/s")
    expect_error("get_acls without READ or ADMIN is NoAuth", NoAuthError,
                 other.get_acls, root + "/s")
    check_eq("the authenticated creator reads it", zk.get(root + "/s")[0],
             b"top")
    acls, st = zk.get_acls(root + "/s")
    check_eq("get_acls returns the digest ACL", acls, [alice])
    check_eq("get_acls: aversion", st.aversion, 0)
    check_eq("get_acls of an open node",
             list(zk.get_acls(root)[0]), list(OPEN_ACL_UNSAFE))
    other.add_auth("digest", "alice:wrong")
    expect_error("a wrong password does not help", NoAuthError, other.get,
                 root + "/s")
    other.add_auth("digest", "alice:secret")
    check_eq("after add_auth another client reads it",
             other.get(root + "/s")[0], b"top")

    reader = make_acl("world", "anyone", read=True)
    st = zk.set_acls(root + "/s", [alice, reader], version=0)
    check_eq("set_acls bumps aversion", st.aversion, 1)
    expect_error("set_acls with a stale aversion is BadVersion",
                 BadVersionError, zk.set_acls, root + "/s", [alice],
                 version=0)
    third = client()
    check_eq("world read now allowed", third.get(root + "/s")[0], b"top")
    expect_error("but not write", NoAuthError, third.set, root + "/s", b"")

    zk.create(root + "/auth", b"", acl=[make_acl("auth", "", all=True)])
    check_eq("the 'auth' scheme expands to the creator's digest id",
             zk.get_acls(root + "/auth")[0], [alice])
    expect_error("CREATOR_ALL_ACL without auth is InvalidACL",
                 InvalidACLError, third.create, root + "/c",
                 acl=CREATOR_ALL_ACL)
    # ZooKeeper 3.8.0 (the reference) gives a create with an empty ACL
    # list the open ACL, but refuses an empty list in setACL.
    zk.create(root + "/empty", acl=[])
    check_eq("create with an empty ACL list gets world:anyone ALL",
             list(zk.get_acls(root + "/empty")[0]), list(OPEN_ACL_UNSAFE))
    expect_error("set_acls with an empty list is InvalidACL",
                 InvalidACLError, zk.set_acls, root + "/empty", [])
    zk.create(root + "/admin", b"", acl=[make_acl("world", "anyone",
                                                   admin=True)])
    zk.create(root + "/write", b"", acl=[make_acl("world", "anyone",
                                                   write=True)])
    check_eq("get_acls with ADMIN alone is allowed",
             third.get_acls(root + "/admin")[0][0].perms, Permissions.ADMIN)
    expect_error("get_acls with WRITE alone is NoAuth", NoAuthError,
                 third.get_acls, root + "/write")
    # deletion is checked against the parent's ACL, not the node's
    zk.create(root + "/locked", b"", acl=[alice])
    third.delete(root + "/locked")
    check_eq("delete needs DELETE on the parent only",
             zk.exists(root + "/locked"), None)
    # unlistable nodes (no READ) cannot go by a recursive delete
    zk.delete(root + "/admin")
    zk.delete(root + "/write")
    close(other)
    close(third)
    zk.delete(root, recursive=True)


@scenario
def ensure_path_and_recursive_delete(zk):
    root = "/kz-deep"
    check("ensure_path creates every level",
          zk.ensure_path(root + "/a/b/c") is not None)
    for p in (root, root + "/a", root + "/a/b", root + "/a/b/c"):
        check("%s exists" % p, zk.exists(p) is not None)
    check("ensure_path of an existing path is fine",
          zk.ensure_path(root + "/a/b") is not None)
    zk.create(root + "/a/b/c/d", b"d")
    zk.create(root + "/a/x", b"x")
    zk.delete(root, recursive=True)
    check_eq("recursive delete removes the subtree", zk.exists(root), None)
    check_eq("create with makepath",
             zk.create(root + "/p/q", b"q", makepath=True), root + "/p/q")
    zk.delete(root, recursive=True)


@scenario
def lock(zk):
    path = "/kz-lock"
    other = client()
    first = zk.Lock(path, "one")
    second = other.Lock(path, "two")
    log = []
    check("first client acquires", first.acquire(timeout=WAIT))
    log.append("one acquired")

    def contend():
        if second.acquire(timeout=WAIT):
            log.append("two acquired")

    t = run_thread(contend)
    wait_for("second contender queued",
             lambda: first.contenders() == ["one", "two"])
    check("the second has not acquired while the first holds it",
          "two acquired" not in log, repr(log))
    log.append("one releasing")
    first.release()
    join("second acquires after the release", t)
    check_eq("order", log, ["one acquired", "one releasing", "two acquired"])
    check_eq("contenders", second.contenders(), ["two"])
    second.release()
    check_eq("no contenders left", first.contenders(), [])
    close(other)
    zk.delete(path, recursive=True)


@scenario
def election(zk):
    path = "/kz-election"
    other = client()
    log = []
    elected = {n: threading.Event() for n in ("one", "two")}
    step_down = {n: threading.Event() for n in ("one", "two")}

    def lead(name):
        log.append(name + " elected")
        elected[name].set()
        step_down[name].wait(WAIT)
        log.append(name + " steps down")

    e1 = zk.Election(path, "one")
    e2 = other.Election(path, "two")
    t1 = run_thread(e1.run, lead, "one")
    check("the first candidate is elected", elected["one"].wait(WAIT))
    t2 = run_thread(e2.run, lead, "two")
    wait_for("both candidates listed",
             lambda: e2.contenders() == ["one", "two"])
    check("the second is not elected while the first leads",
          not elected["two"].is_set(), repr(log))
    step_down["one"].set()
    check("the second is elected when the first steps down",
          elected["two"].wait(WAIT))
    check_eq("order", log, ["one elected", "one steps down", "two elected"])
    step_down["two"].set()
    join("first candidate done", t1)
    join("second candidate done", t2)
    close(other)
    zk.delete(path, recursive=True)


@scenario
def barrier(zk):
    path = "/kz-barrier"
    other = client()
    b = zk.Barrier(path)
    check("an absent barrier does not block", other.Barrier(path).wait(1))
    b.create()
    result = []
    t = run_thread(lambda: result.append(other.Barrier(path).wait(WAIT)))
    wait_for("the waiter saw the barrier up",
             lambda: ("reply", "Exists", path, 0) in other.wire)
    check_eq("the waiter is blocked", result, [])
    b.remove()
    join("the waiter passes once the barrier is removed", t)
    check_eq("wait() returned True", result, [True])
    close(other)


@scenario
def double_barrier(zk):
    path = "/kz-dbarrier"
    other = client()
    log = []
    entered = {n: threading.Event() for n in ("one", "two")}
    go = threading.Event()

    def member(db, name):
        db.enter()
        log.append(name + " in")
        entered[name].set()
        go.wait(WAIT)
        db.leave()
        log.append(name + " out")

    d1 = zk.DoubleBarrier(path, 2, identifier="one")
    d2 = other.DoubleBarrier(path, 2, identifier="two")
    t1 = run_thread(member, d1, "one")
    wait_for("the first member waits for the ready node",
             lambda: ("reply", "Exists", path + "/ready", -101) in zk.wire)
    check("the first member is not in alone", not entered["one"].is_set())
    t2 = run_thread(member, d2, "two")
    check("both enter once both arrived",
          entered["one"].wait(WAIT) and entered["two"].wait(WAIT))
    check("both participate", d1.participating and d2.participating)
    go.set()
    join("first member left", t1)
    join("second member left", t2)
    check_eq("all in before anyone out", sorted(log[:2]),
             ["one in", "two in"])
    check_eq("no member nodes left", zk.get_children(path), [])
    close(other)
    zk.delete(path, recursive=True)


@scenario
def counter(zk):
    path = "/kz-counter"
    c = zk.Counter(path)
    check_eq("a new counter is 0", c.value, 0)
    c += 5
    c -= 2
    check_eq("5 - 2", c.value, 3)
    check_eq("pre/post values", (c.pre_value, c.post_value), (5, 3))
    retry = {"max_tries": -1, "delay": 0.005, "backoff": 1.5,
             "max_delay": 0.1}
    a, b = client(command_retry=retry), client(command_retry=retry)

    def bump(zkc):
        cc = zkc.Counter(path)
        for _ in range(10):
            cc += 1

    ts = [run_thread(bump, a), run_thread(bump, b)]
    for t in ts:
        join("concurrent increments done", t)
    check_eq("concurrent increments from two clients all count",
             zk.Counter(path).value, 23)
    fc = zk.Counter(path + "-float", default=0.0)
    fc += 1.5
    check_eq("a float counter", fc.value, 1.5)
    close(a)
    close(b)
    zk.delete(path)
    zk.delete(path + "-float")


@scenario
def queues(zk):
    path = "/kz-queue"
    other = client()
    q = zk.Queue(path)
    q.put(b"a")
    q.put(b"b")
    q.put(b"urgent", priority=10)
    check_eq("queue length", len(q), 3)
    check_eq("priority first", other.Queue(path).get(), b"urgent")
    check_eq("then FIFO", q.get(), b"a")
    check_eq("then the last", other.Queue(path).get(), b"b")
    check_eq("empty queue get() is None", q.get(), None)

    lpath = "/kz-lqueue"
    c1 = zk.LockingQueue(lpath)
    c2 = other.LockingQueue(lpath)
    c1.put_all([b"1", b"2"])
    c1.put(b"3", priority=200)
    check_eq("locking queue length", len(c1), 3)
    check_eq("consumer one gets the first entry", c1.get(WAIT), b"1")
    check_eq("consumer two skips the locked entry", c2.get(WAIT), b"2")
    check("consumer one holds its lock", c1.holds_lock())
    check("consumer one consumes", c1.consume())
    check("consumer two releases without consuming", c2.release())
    check_eq("the released entry comes back", c1.get(WAIT), b"2")
    check("consume", c1.consume())
    check_eq("the low-priority entry last", c2.get(WAIT), b"3")
    check("consume", c2.consume())
    check_eq("locking queue empty", len(c1), 0)
    close(other)
    zk.delete(path, recursive=True)
    zk.delete(lpath, recursive=True)


@scenario
def party(zk):
    path = "/kz-party"
    other = client()
    p1 = zk.Party(path, "one")
    p2 = other.Party(path, "two")
    p1.join()
    p2.join()
    check_eq("both members listed", sorted(p1), ["one", "two"])
    check_eq("party size", len(p2), 2)
    p2.leave()
    check_eq("after one leaves", list(p1), ["one"])
    s1 = zk.ShallowParty(path + "-shallow", "x")
    s2 = other.ShallowParty(path + "-shallow", "y")
    s1.join()
    s2.join()
    check_eq("shallow party", sorted(s1), ["x", "y"])
    close(other)
    check_eq("a member whose session ended is gone", list(s1), ["x"])
    p1.leave()
    check_eq("empty party", len(p1), 0)
    zk.delete(path, recursive=True)
    zk.delete(path + "-shallow", recursive=True)


@scenario
def data_and_children_watch_recipes(zk):
    path = "/kz-recipes"
    other = client()
    zk.create(path, b"v0")
    datas, kids = [], []
    zk.DataWatch(path, lambda data, stat: datas.append(data))
    zk.ChildrenWatch(path, lambda children: kids.append(sorted(children)))
    wait_for("DataWatch got the initial value", lambda: datas == [b"v0"])
    wait_for("ChildrenWatch got the initial list", lambda: kids == [[]])
    other.set(path, b"v1")
    wait_for("DataWatch sees a change", lambda: datas[-1:] == [b"v1"])
    other.create(path + "/k")
    wait_for("ChildrenWatch sees a new child", lambda: kids[-1:] == [["k"]])
    other.set(path, b"v2")
    wait_for("DataWatch re-registers and sees another change",
             lambda: datas[-1:] == [b"v2"])
    other.delete(path, recursive=True)
    wait_for("DataWatch sees the deletion (None)",
             lambda: datas[-1:] == [None])
    close(other)


# Set by the Rust test for servers that check READ on exists (ZooKeeper
# 3.8.4+ and Corral); the Debian reference is 3.8.0, which does not.
EXISTS_NEEDS_READ = os.environ.get("EXISTS_NEEDS_READ") == "1"


def main():
    global HOSTS
    if len(sys.argv) < 2:
        sys.exit("usage: kazoo_suite.py HOST:PORT [SCENARIO...]")
    HOSTS = sys.argv[1]
    wanted = sys.argv[2:]
    names = [f.__name__ for f in SCENARIOS]
    unknown = [w for w in wanted if w not in names]
    if unknown:
        sys.exit("unknown scenarios %r; known: %r" % (unknown, names))

    def watchdog():
        print("FAIL %s: the suite did not finish within %.0f s"
              % (CURRENT[0], WATCHDOG), flush=True)
        os._exit(3)

    timer = threading.Timer(WATCHDOG, watchdog)
    timer.daemon = True
    timer.start()

    started = time.monotonic()
    zk = None
    try:
        CURRENT[0] = "connect"
        zk = client()
        check("session established", zk.state == KazooState.CONNECTED)
        # Best effort for manual reruns against the same server (the Rust
        # tests always start a fresh one): leftovers of an earlier run.
        cleaner = client(auth_data=[("digest", "alice:secret")])
        for name in cleaner.get_children("/"):
            if name.startswith("kz-"):
                try:
                    cleaner.delete("/" + name, recursive=True)
                except NoAuthError:
                    print("note: could not remove /%s" % name, flush=True)
        close(cleaner)
        for fn in SCENARIOS:
            if wanted and fn.__name__ not in wanted:
                continue
            CURRENT[0] = fn.__name__
            LAST_OK[0] = None
            t0 = time.monotonic()
            fn(zk)
            print("---- %s passed in %.2f s" % (fn.__name__,
                                                time.monotonic() - t0),
                  flush=True)
    except CheckFailed as e:
        print("FAIL %s: %s" % (CURRENT[0], e), flush=True)
        return 1
    except Exception as e:  # noqa: BLE001 - reported as the failure
        here = [f for f in traceback.extract_tb(e.__traceback__)
                if f.filename == os.path.abspath(__file__)]
        where = ("line %d: %s" % (here[-1].lineno, here[-1].line)
                 if here else "?")
        print("FAIL %s: unexpected %s (after the check %r; at %s)\n%s"
              % (CURRENT[0], type(e).__name__, LAST_OK[0], where,
                 traceback.format_exc()), flush=True)
        return 1
    finally:
        for c in list(CLIENTS):
            try:
                c.stop()
                c.close()
            except Exception:  # noqa: BLE001 - best effort at exit
                pass
    print("PASS all scenarios in %.2f s" % (time.monotonic() - started),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
