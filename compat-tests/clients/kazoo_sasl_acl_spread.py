"""A sasl ACL written through one member, read back through others.

    python3 kazoo_sasl_acl_spread.py WRITER_HOST:PORT READER_HOST:PORT...

Authenticates (DIGEST-MD5, kazoo's test user) on the writer, creates a
node whose ACL names the SASL user (and lets anyone read), then prints
the ACL each reader has for it after a sync: "<reader> <scheme>:<id>
<perms>,...", or "<reader> <error>".
"""

import sys

from kazoo.client import KazooClient
from kazoo.security import ACL, Id, make_acl


def main():
    writer, readers = sys.argv[1], sys.argv[2:]
    c = KazooClient(hosts=writer, timeout=10.0,
                    sasl_options={"mechanism": "DIGEST-MD5",
                                  "username": "jaasuser",
                                  "password": "jaas_password"})
    c.start(timeout=10)
    acl = [make_acl("sasl", credential="jaasuser", all=True),
           ACL(1, Id("world", "anyone"))]
    try:
        c.create("/mixed", b"m", acl=acl)
        print("created", flush=True)
    except Exception as e:  # noqa: BLE001 - reported to the test
        print("create %s" % type(e).__name__, flush=True)
    c.stop()
    c.close()
    for r in readers:
        anon = KazooClient(hosts=r, timeout=10.0)
        anon.start(timeout=10)
        try:
            anon.sync("/mixed")
            acls, _ = anon.get_acls("/mixed")
            shown = ",".join("%s:%s %d" % (a.id.scheme, a.id.id, a.perms)
                             for a in acls)
            print("%s %s" % (r, shown), flush=True)
        except Exception as e:  # noqa: BLE001 - reported to the test
            print("%s %s" % (r, type(e).__name__), flush=True)
        anon.stop()
        anon.close()


if __name__ == "__main__":
    main()
