"""A ZooKeeper tree with everything a migration must carry, and the checks
on the other side (docs/migration.md).

    python3 kazoo_migrate.py populate HOST:PORT SESSIONS_FILE NODES [LIVE]
        Writes the tree (persistent, sequential, container and TTL nodes,
        digest and ip ACLs, a quota, data set and ACLs changed, deletes,
        multis good and failed, a closed session) and leaves LIVE (5)
        sessions holding ephemerals. Writes their ids and passwords to SESSIONS_FILE,
        prints "ready", then waits, sessions open, until killed.
    python3 kazoo_migrate.py write HOST:PORT PREFIX N
        N more writes under /more (creates, sets, deletes, a multi), then
        prints "written".
    python3 kazoo_migrate.py dump HOST:PORT OUT_FILE
        Every node as a client reads it (path, data, Stat, ACL), one JSON
        object per line, by path.
    python3 kazoo_migrate.py resume HOST:PORT SESSIONS_FILE
        Resumes each session with its id and password: no expiry, its
        ephemerals still its own, and it can write. Prints "ok <id>" or
        "FAIL <id>: <why>" per session, then "done".

A watchdog ends the process after 600 s.
"""

import json
import os
import sys
import threading
import time
from collections import namedtuple

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import BadVersionError, NoNodeError
from kazoo.protocol.serialization import int_struct, long_struct, read_string, write_buffer, write_string
from kazoo.security import ACL, Id, Permissions, make_digest_acl

AUTH = [("digest", "migrator:secret")]
DIGEST_ALL = make_digest_acl("migrator", "secret", all=True)
IP_READ = ACL(Permissions.READ, Id("ip", "127.0.0.1"))
OPEN = ACL(Permissions.ALL, Id("world", "anyone"))


def watchdog():
    time.sleep(600)
    print("WATCHDOG: giving up", flush=True)
    os._exit(3)


def encode_acl(acl):
    b = bytearray(int_struct.pack(len(acl)))
    for a in acl:
        b.extend(int_struct.pack(a.perms) + write_string(a.id.scheme) + write_string(a.id.id))
    return b


class CreateContainer(namedtuple("CreateContainer", "path data acl")):
    """`createContainer` (opcode 19), which kazoo 2.8 does not offer."""
    type = 19

    def serialize(self):
        b = bytearray(write_string(self.path))
        b.extend(write_buffer(self.data))
        b.extend(encode_acl(self.acl))
        b.extend(int_struct.pack(4))  # CONTAINER
        return b

    @classmethod
    def deserialize(cls, bytes, offset):
        return read_string(bytes, offset)[0]


class CreateTtl(namedtuple("CreateTtl", "path data acl ttl")):
    """`createTTL` (opcode 21), PERSISTENT_WITH_TTL."""
    type = 21

    def serialize(self):
        b = bytearray(write_string(self.path))
        b.extend(write_buffer(self.data))
        b.extend(encode_acl(self.acl))
        b.extend(int_struct.pack(5))
        b.extend(long_struct.pack(self.ttl))
        return b

    @classmethod
    def deserialize(cls, bytes, offset):
        return read_string(bytes, offset)[0]


def call(zk, request):
    result = zk.handler.async_result()
    zk._call(request, result)
    return result.get(timeout=30)


# MIGRATE_SESSION_TIMEOUT: seconds (the benchmark holds its sessions
# through minutes of reading a million nodes).
TIMEOUT = float(os.environ.get("MIGRATE_SESSION_TIMEOUT", "30"))


def client(hosts, **kw):
    c = KazooClient(hosts=hosts, timeout=TIMEOUT, auth_data=AUTH, **kw)
    c.start(timeout=30)
    return c


def populate(hosts, sessions_file, n, live):
    zk = client(hosts)
    zk.ensure_path("/app")
    pending = []
    for i in range(n):
        kind = i % 5
        if kind == 0:
            data = b""
        elif kind == 1:
            data = ("value %d" % i).encode()
        elif kind == 2:
            data = json.dumps({"i": i, "name": "node-%d" % i}).encode()
        elif kind == 3:
            data = bytes((i * 7 + j) % 256 for j in range(100))
        else:
            data = b"x" * (i % 300)
        pending.append(zk.create_async("/app/node-%05d" % i, data))
    for p in pending:
        p.get(timeout=30)
    # Versions: data set again, ACLs changed, children deleted.
    for i in range(0, n, 7):
        zk.set("/app/node-%05d" % i, b"set once")
        zk.set("/app/node-%05d" % i, b"set twice")
    for i in range(0, n, 11):
        zk.set_acls("/app/node-%05d" % i, [DIGEST_ALL, IP_READ])
    for i in range(3, n, 13):
        zk.delete("/app/node-%05d" % i)
    zk.create("/secret", b"only migrator", acl=[DIGEST_ALL])
    zk.create("/secret/ip", b"127.0.0.1 may read", acl=[IP_READ, DIGEST_ALL])
    zk.create("/nulldata", None)
    # Sequential nodes.
    zk.create("/seq", b"")
    for i in range(60):
        zk.create("/seq/n-", str(i).encode(), sequence=True)
    # Containers: one with children, one emptied (ZooKeeper reaps it).
    call(zk, CreateContainer("/cont", b"container", [OPEN]))
    for i in range(5):
        zk.create("/cont/c%d" % i, b"")
    call(zk, CreateContainer("/cont-gone", b"", [OPEN]))
    zk.create("/cont-gone/only", b"")
    zk.delete("/cont-gone/only")
    # TTL nodes: long-lived ones, and one that expires.
    zk.create("/ttl", b"")
    for i in range(5):
        # A week: a directory kept for later runs (benches/migrate.sh
        # --source) must not have them reaped between the two dumps.
        call(zk, CreateTtl("/ttl/t%d" % i, b"ttl", [OPEN], 604_800_000))
    call(zk, CreateTtl("/ttl/short", b"", [OPEN], 1))
    # A quota, as zkCli's setquota writes it.
    zk.create("/quota-app", b"")
    for i in range(20):
        zk.create("/quota-app/q%d" % i, b"12345")
    zk.ensure_path("/zookeeper/quota/quota-app")
    zk.create("/zookeeper/quota/quota-app/zookeeper_limits", b"count=100,bytes=10000")
    zk.create("/zookeeper/quota/quota-app/zookeeper_stats", b"count=0,bytes=0")
    zk.create("/quota-app/after", b"counted")
    # Multis: one that commits, one that fails (an error transaction).
    t = zk.transaction()
    t.create("/multi", b"m")
    t.create("/multi/a", b"a")
    t.set_data("/app/node-00001", b"by multi")
    t.delete("/app/node-00002")
    t.commit()
    t = zk.transaction()
    t.create("/multi/never", b"")
    t.check("/multi", 42)
    t.commit()
    # A session that ends: its ephemerals go with a closeSession.
    gone = client(hosts)
    gone.create("/gone-eph", b"", ephemeral=True)
    gone.stop()
    gone.close()
    # Sessions that stay, with their ephemerals.
    zk.create("/live", b"")
    sessions = []
    for s in range(live):
        c = client(hosts)
        mine = [
            c.create("/live/s%d-a" % s, b"mine", ephemeral=True),
            c.create("/live/s%d-b" % s, str(s).encode(), ephemeral=True),
            c.create("/live/s%d-seq-" % s, b"", ephemeral=True, sequence=True),
        ]
        sid, passwd = c.client_id
        sessions.append({"id": sid, "passwd": passwd.hex(), "ephemerals": mine, "client": c})
    time.sleep(2.5)  # the reaper takes the empty container and the TTL node
    with open(sessions_file, "w") as f:
        json.dump([{k: v for k, v in s.items() if k != "client"} for s in sessions], f)
    print("ready", flush=True)
    sys.stdin.read()  # held open until killed


def write(hosts, prefix, n):
    zk = client(hosts)
    zk.ensure_path("/more")
    for i in range(n):
        path = "/more/%s-%05d" % (prefix, i)
        zk.create(path, b"v0")
        if i % 3 == 0:
            zk.set(path, b"v1")
        if i % 5 == 0:
            zk.delete(path)
    t = zk.transaction()
    t.create("/more/%s-multi" % prefix, b"m")
    t.set_data("/more", prefix.encode())
    t.commit()
    zk.stop()
    zk.close()
    print("written", flush=True)


def reconfig(hosts, joining):
    """Adds JOINING (`server.N=...`) by ZooKeeper's own reconfig, as the
    super user "super:test"; prints the configuration it answers."""
    zk = KazooClient(hosts=hosts, timeout=TIMEOUT, auth_data=[("digest", "super:test")])
    zk.start(timeout=30)
    data, _ = zk.reconfig(joining=joining, leaving=None, new_members=None)
    zk.stop()
    zk.close()
    print(data.decode(), flush=True)


def dump(hosts, out):
    """Breadth first, a level's reads pipelined in batches (a million
    nodes in minutes, not hours)."""
    zk = client(hosts)
    rows = []
    level = ["/"]
    while level:
        following = []
        for i in range(0, len(level), 2000):
            batch = level[i:i + 2000]
            calls = [(p, zk.get_async(p), zk.get_acls_async(p), zk.get_children_async(p)) for p in batch]
            for path, g, a, c in calls:
                data, stat = g.get(timeout=60)
                acl, _ = a.get(timeout=60)
                rows.append({
                    "path": path,
                    "data": None if data is None else data.hex(),
                    "stat": [stat.czxid, stat.mzxid, stat.ctime, stat.mtime, stat.version,
                             stat.cversion, stat.aversion, stat.ephemeralOwner,
                             stat.dataLength, stat.numChildren, stat.pzxid],
                    "acl": sorted("%d:%s:%s" % (x.perms, x.id.scheme, x.id.id) for x in acl),
                })
                following.extend(path.rstrip("/") + "/" + child for child in c.get(timeout=60))
        level = following
    rows.sort(key=lambda r: r["path"])
    with open(out, "w") as f:
        for r in rows:
            f.write(json.dumps(r, sort_keys=True) + "\n")
    zk.stop()
    zk.close()
    print("dumped %d" % len(rows), flush=True)


def resume(hosts, sessions_file):
    with open(sessions_file) as f:
        sessions = json.load(f)
    for s in sessions:
        states = []
        c = KazooClient(hosts=hosts, timeout=30.0, auth_data=AUTH,
                        client_id=(s["id"], bytes.fromhex(s["passwd"])))
        c.add_listener(lambda st: states.append(st))
        try:
            c.start(timeout=30)
            why = None
            if KazooState.LOST in states:
                why = "the session was lost: %s" % states
            elif c.client_id[0] != s["id"]:
                why = "a new session %x, not %x" % (c.client_id[0], s["id"])
            else:
                for p in s["ephemerals"]:
                    st = c.exists(p)
                    if st is None or st.ephemeralOwner != s["id"]:
                        why = "%s: %s" % (p, "gone" if st is None else "owned by %x" % st.ephemeralOwner)
                        break
                if why is None:
                    c.create("/live/after-%x" % s["id"], b"", ephemeral=True)
            print("ok %x" % s["id"] if why is None else "FAIL %x: %s" % (s["id"], why), flush=True)
        except Exception as e:  # noqa: BLE001 - reported, not raised
            print("FAIL %x: %r" % (s["id"], e), flush=True)
        finally:
            c.stop()
            c.close()
    print("done", flush=True)


def main():
    threading.Thread(target=watchdog, daemon=True).start()
    mode, hosts = sys.argv[1], sys.argv[2]
    if mode == "populate":
        populate(hosts, sys.argv[3], int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 5)
    elif mode == "write":
        write(hosts, sys.argv[3], int(sys.argv[4]))
    elif mode == "dump":
        dump(hosts, sys.argv[3])
    elif mode == "resume":
        resume(hosts, sys.argv[3])
    elif mode == "reconfig":
        reconfig(hosts, sys.argv[3])
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
