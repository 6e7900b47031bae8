#!/usr/bin/python3
"""Golden-vector driver: kazoo (Debian python3-kazoo 2.8) through the proxy.

    /usr/bin/python3 drive_kazoo.py PROXY_PORT

Creates of several modes, get/set/exists/children with watches, a
transaction (multi, including an empty one), sync, add_auth, ACL ops,
four-letter words over separate connections (which the
proxy forwards but does not record) and the Lock recipe with two
contenders.  Every step checks its expected outcome; exit status != 0 on
any surprise.
"""

import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import (BadVersionError, NoAuthError, NodeExistsError,
                              NoNodeError, NotEmptyError,
                              RolledBackError)
from kazoo.security import (OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, make_acl,
                            make_digest_acl)


def log(msg):
    print("[kazoo] " + msg, flush=True)


def expect_error(what, exc, fn, *a, **kw):
    try:
        r = fn(*a, **kw)
    except exc as e:
        log("ERR  %s -> %s" % (what, type(e).__name__))
        return e
    raise SystemExit("%s: expected %s, got %r" % (what, exc.__name__, r))


def ok(what, fn, *a, **kw):
    r = fn(*a, **kw)
    log("OK   %s -> %r" % (what, r))
    return r


class Events:
    def __init__(self):
        self.cv = threading.Condition()
        self.events = []

    def __call__(self, ev):
        log("event %r" % (ev,))
        with self.cv:
            self.events.append(ev)
            self.cv.notify_all()

    def wait(self, type_, path, timeout=10):
        deadline = time.time() + timeout
        with self.cv:
            while True:
                for i, e in enumerate(self.events):
                    if e.type == type_ and e.path == path:
                        del self.events[i]
                        return e
                left = deadline - time.time()
                if left <= 0:
                    raise SystemExit("no %s event for %s" % (type_, path))
                self.cv.wait(left)


def main():
    port = int(sys.argv[1])
    hosts = "127.0.0.1:%d" % port
    zk = KazooClient(hosts=hosts, timeout=10)
    zk.start(timeout=15)
    ev = Events()

    # four-letter words: separate TCP connections, not recorded by the proxy
    ok("command ruok", zk.command, b"ruok")
    ok("server_version", zk.server_version)

    ok("add_auth digest", zk.add_auth, "digest", "bob:pw")

    # creates of several modes
    ok("create /kz", zk.create, "/kz", b"root")
    expect_error("create /kz again", NodeExistsError, zk.create, "/kz", b"x")
    expect_error("create missing parent", NoNodeError, zk.create, "/kz/no/such", b"x")
    ok("create ephemeral", zk.create, "/kz/eph", b"e", ephemeral=True)
    ok("create sequential", zk.create, "/kz/seq-", b"s", sequence=True)
    ok("create ephemeral sequential", zk.create, "/kz/eseq-", b"es",
       ephemeral=True, sequence=True)
    ok("create include_data (create2)", zk.create, "/kz/c2", b"two",
       include_data=True)
    ok("create empty value", zk.create, "/kz/empty", b"")
    ok("create makepath", zk.create, "/kz/deep/a/b", b"d", makepath=True)
    ok("ensure_path", zk.ensure_path, "/kz/ensured/x")

    # ACLs
    digest_acl = make_digest_acl("bob", "pw", all=True)
    ok("create digest acl", zk.create, "/kz/secret", b"s", acl=[digest_acl])
    ok("create read-only acl", zk.create, "/kz/ro", b"ro", acl=READ_ACL_UNSAFE)
    ip_acl = make_acl("ip", "127.0.0.1", read=True, write=True, admin=True)
    ok("create ip acl", zk.create, "/kz/ip", b"ip", acl=[ip_acl])
    ok("get_acls", zk.get_acls, "/kz/secret")
    ok("set_acls", zk.set_acls, "/kz/ip", OPEN_ACL_UNSAFE, 0)
    expect_error("set_acls bad version", BadVersionError, zk.set_acls,
                 "/kz/ip", OPEN_ACL_UNSAFE, 5)
    expect_error("set_acls no admin", NoAuthError, zk.set_acls, "/kz/ro",
                 OPEN_ACL_UNSAFE)
    expect_error("get_acls missing", NoNodeError, zk.get_acls, "/kz/nope")

    # get/set/exists/children with watches
    ok("exists /kz", zk.exists, "/kz")
    ok("exists absent with watch", zk.exists, "/kz/later", watch=ev)
    ok("create /kz/later", zk.create, "/kz/later", b"l")
    ev.wait("CREATED", "/kz/later")
    ok("get with watch", zk.get, "/kz/later", watch=ev)
    ok("set", zk.set, "/kz/later", b"l2")
    ev.wait("CHANGED", "/kz/later")
    expect_error("set bad version", BadVersionError, zk.set, "/kz/later", b"x", 0)
    ok("set good version", zk.set, "/kz/later", b"l3", 1)
    expect_error("get missing", NoNodeError, zk.get, "/kz/nope")
    ok("get_children with watch", zk.get_children, "/kz", watch=ev)
    ok("get_children include_data (getChildren2)", zk.get_children, "/kz",
       include_data=True)
    ok("create /kz/kid", zk.create, "/kz/kid", b"k")
    ev.wait("CHILD", "/kz")
    ok("get with watch", zk.get, "/kz/kid", watch=ev)
    ok("delete /kz/kid", zk.delete, "/kz/kid")
    ev.wait("DELETED", "/kz/kid")
    expect_error("delete not empty", NotEmptyError, zk.delete, "/kz/deep")
    expect_error("delete bad version", BadVersionError, zk.delete, "/kz/empty", 3)
    ok("delete recursive", zk.delete, "/kz/deep", recursive=True)

    # transaction = multi (14)
    t = zk.transaction()
    t.create("/kz/tx", b"t")
    t.check("/kz", 0)
    t.set_data("/kz/tx", b"t2")
    t.create("/kz/txseq-", b"s", sequence=True)
    t.delete("/kz/empty")
    ok("transaction commit", t.commit)
    t = zk.transaction()
    t.create("/kz/tx2", b"t")
    t.check("/kz", 42)
    t.delete("/kz/tx")
    res = ok("failing transaction commit", t.commit)
    if not any(isinstance(r, RolledBackError) for r in res):
        raise SystemExit("expected a rolled-back transaction")
    ok("empty transaction commit", zk.transaction().commit)

    # sync
    ok("sync", zk.sync, "/kz")

    # (no reconfig here: a standalone server answers RECONFIGDISABLED (-123),
    # an error code kazoo 2.8 does not know -- its reader thread dies with
    # "RuntimeError: Invalid error code".  Reconfig is captured with Java.)

    # Lock recipe: two contenders on one client
    lock1 = zk.Lock("/kz/lock", "first")
    lock2 = zk.Lock("/kz/lock", "second")
    ok("lock1 acquire", lock1.acquire, timeout=5)
    got = []

    def contender():
        got.append(lock2.acquire(timeout=10))
        log("lock2 acquired")

    th = threading.Thread(target=contender)
    th.start()
    time.sleep(1.0)
    ok("contenders", lock1.contenders)
    ok("lock1 release", lock1.release)
    th.join(15)
    if got != [True]:
        raise SystemExit("lock2 did not acquire")
    ok("lock2 release", lock2.release)

    # idle a bit so kazoo pings (timeout 10 s -> ping every ~3.3 s idle)
    time.sleep(4)

    zk.stop()
    zk.close()
    log("done")


if __name__ == "__main__":
    main()
