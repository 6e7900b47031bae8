"""kazoo's own TestReconfig cases (kazoo/tests/test_client.py), and a
watch on /zookeeper/config, against an ensemble with reconfigEnabled and
the super user "super:test".

    python3 kazoo_reconfig.py HOST:PORT[,HOST:PORT...]

Prints one line per case, "ok <name>" or "FAIL <name>: <why>", then
"done". A watchdog ends the process after 240 s.
"""

import os
import socket
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import (BadArgumentsError, BadVersionError,
                              MarshallingError, NoAuthError)


def watchdog():
    time.sleep(240)
    print("WATCHDOG: giving up", flush=True)
    os._exit(3)


def client(hosts, auth=None):
    c = KazooClient(hosts=hosts, timeout=10.0, auth_data=auth)
    c.start(timeout=30)
    return c


def free_sock_port():
    s = socket.socket()
    s.bind(("", 0))
    return s, s.getsockname()[1]


def version_of(data):
    return int(data.decode().split("\n")[-1].split("=")[1], base=16)


def test_no_super_auth(hosts):
    c = client(hosts)
    try:
        c.reconfig(joining="server.999=0.0.0.0:1234:2345:observer;3456",
                   leaving=None, new_members=None)
    except NoAuthError:
        return
    finally:
        c.stop()
    raise AssertionError("no NoAuthError")


def test_add_remove_observer(hosts):
    c = client(hosts, auth=[("digest", "super:test")])
    plain = client(hosts)
    try:
        # As kazoo's test: ports that answer connect() with a reset.
        s1, port1 = free_sock_port()
        s2, port2 = free_sock_port()
        s3, port3 = free_sock_port()
        joining = "server.100=0.0.0.0:%d:%d:observer;0.0.0.0:%d" % (
            port1, port2, port3)
        data, _ = c.reconfig(joining=joining, leaving=None, new_members=None)
        assert joining.encode("utf8") in data, data
        data, _ = c.reconfig(joining=None, leaving="100", new_members=None)
        assert joining.encode("utf8") not in data, data
        curver = version_of(data)
        try:
            plain.reconfig(joining=joining, leaving=None, new_members=None,
                           from_config=curver + 1)
        except BadVersionError:
            return
        raise AssertionError("no BadVersionError")
    finally:
        c.stop()
        plain.stop()


def test_bad_input(hosts):
    c = client(hosts, auth=[("digest", "super:test")])
    try:
        c.reconfig(joining="some thing", leaving=None, new_members=None)
    except BadArgumentsError:
        return
    finally:
        c.stop()
    raise AssertionError("no BadArgumentsError")


def test_leaving_not_a_number(hosts):
    """ZooKeeper's Long.parseLong throws: MARSHALLINGERROR."""
    c = client(hosts, auth=[("digest", "super:test")])
    try:
        c.reconfig(joining=None, leaving="x", new_members=None)
    except MarshallingError:
        return
    finally:
        c.stop()
    raise AssertionError("no MarshallingError")


def test_config_watch(hosts):
    """getConfig with a watch: a reconfig fires NodeDataChanged on
    /zookeeper/config, and the reply, the node and the version agree."""
    c = client(hosts, auth=[("digest", "super:test")])
    try:
        fired = threading.Event()
        events = []

        def watch(event):
            events.append(event)
            fired.set()

        before, stat = c.get("/zookeeper/config", watch=watch)
        assert stat.version == -1, stat
        s1, port1 = free_sock_port()
        s2, port2 = free_sock_port()
        s3, port3 = free_sock_port()
        joining = "server.101=127.0.0.1:%d:%d:observer;127.0.0.1:%d" % (
            port1, port2, port3)
        data, rstat = c.reconfig(joining=joining, leaving=None,
                                 new_members=None,
                                 from_config=version_of(before))
        assert fired.wait(10), "the config watch did not fire"
        assert events[0].type == "CHANGED", events
        assert events[0].path == "/zookeeper/config", events
        after, stat = c.get("/zookeeper/config")
        assert after == data, (after, data)
        assert version_of(after) == rstat.mzxid == stat.mzxid, (after, rstat)
        assert version_of(after) > version_of(before)
        c.reconfig(joining=None, leaving="101", new_members=None)
    finally:
        c.stop()


def main():
    threading.Thread(target=watchdog, daemon=True).start()
    hosts = sys.argv[1]
    for test in (test_no_super_auth, test_add_remove_observer, test_bad_input,
                 test_leaving_not_a_number, test_config_watch):
        try:
            test(hosts)
            print("ok " + test.__name__, flush=True)
        except Exception as e:  # noqa: BLE001 - reported, not hidden
            print("FAIL %s: %r" % (test.__name__, e), flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
