"""x509 ids over TLS, seen by kazoo: the client certificate's subject is
the session's `x509` id, `auth` ACLs stand for it, and the configured
X509AuthenticationProvider.superUser may do anything.

    python3 kazoo_x509.py HOST:PORT DIR

DIR holds ca.pem and, for each of client, other and admin, <name>.crt
and <name>.key. Prints "acl <scheme>:<id> <perms>" for the ACL an `auth`
entry became, then "<name> get <outcome>" for each certificate.
"""

import sys

from kazoo.client import KazooClient
from kazoo.security import ACL, Id


def connect(hosts, d, name):
    c = KazooClient(hosts=hosts, use_ssl=True, ca=d + "/ca.pem",
                    certfile="%s/%s.crt" % (d, name),
                    keyfile="%s/%s.key" % (d, name), verify_certs=True,
                    timeout=10.0,
                    connection_retry={"max_tries": 3, "delay": 0.2})
    c.start(timeout=10)
    return c


def main():
    hosts, d = sys.argv[1], sys.argv[2]
    owner = connect(hosts, d, "client")
    try:
        # Checks the connection's certificate again.
        owner.add_auth("x509", "")
        print("addauth x509 ok", flush=True)
    except Exception as e:  # noqa: BLE001 - reported to the test
        print("addauth x509 %s" % type(e).__name__, flush=True)
    path = owner.create("/x509-", b"mine", sequence=True,
                        acl=[ACL(31, Id("auth", ""))])
    acls, _ = owner.get_acls(path)
    for a in acls:
        print("acl %s:%s %d" % (a.id.scheme, a.id.id, a.perms), flush=True)
    for name in ("client", "other", "admin"):
        c = owner if name == "client" else connect(hosts, d, name)
        try:
            c.get(path)
            print("%s get ok" % name, flush=True)
        except Exception as e:  # noqa: BLE001 - reported to the test
            print("%s get %s" % (name, type(e).__name__), flush=True)
        if c is not owner:
            c.stop()
            c.close()
    owner.delete(path)
    owner.stop()
    owner.close()


if __name__ == "__main__":
    main()
