"""kazoo with SASL GSSAPI (Kerberos), its ticket from the environment's
cache (KRB5CCNAME, KRB5_CONFIG), against one server.

    python3 kazoo_gssapi.py HOST:PORT

Prints "connect <outcome>", then for an authenticated client the ACL an
`auth` entry became and whether an anonymous client may read the node.
"""

import sys

from kazoo.client import KazooClient
from kazoo.exceptions import AuthFailedError, NoAuthError
from kazoo.protocol.states import KeeperState
from kazoo.security import ACL, Id
from kazoo_sasl import watch_states


def main():
    hosts = sys.argv[1]
    retry = {"max_tries": 1, "delay": 0.2}
    c = KazooClient(hosts=hosts, timeout=10.0, connection_retry=retry,
                    sasl_options={"mechanism": "GSSAPI"})
    states = watch_states(c)
    try:
        c.start(timeout=10)
        c.get_async("/").get(timeout=10)
    except Exception as e:  # noqa: BLE001 - reported to the test
        # kazoo 2.8 races its own refusal (start() may say "Connection
        # time-out" with the client in AUTH_FAILED): one name for both.
        refused = (isinstance(e, AuthFailedError)
                   or KeeperState.AUTH_FAILED in states)
        print("connect %s" % ("AuthFailedError" if refused
                              else type(e).__name__), flush=True)
        try:
            c.stop()
            c.close()
        except Exception:  # noqa: BLE001 - the test has its answer
            pass
        return
    print("connect ok", flush=True)
    path = c.create("/gssapi-", b"k", sequence=True,
                    acl=[ACL(31, Id("auth", ""))])
    acls, _ = c.get_acls(path)
    for a in acls:
        print("acl %s:%s %d" % (a.id.scheme, a.id.id, a.perms), flush=True)
    anon = KazooClient(hosts=hosts, timeout=10.0, connection_retry=retry)
    anon.start(timeout=10)
    try:
        anon.get(path)
        print("anon get ok", flush=True)
    except NoAuthError:
        print("anon get NoAuthError", flush=True)
    anon.stop()
    anon.close()
    c.delete(path)
    c.stop()
    c.close()


if __name__ == "__main__":
    main()
