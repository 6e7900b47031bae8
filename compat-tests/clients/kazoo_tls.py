"""kazoo (Debian's python3-kazoo) over TLS: one session's CRUD.

    python3 kazoo_tls.py HOST:PORT CA_PEM CLIENT_CERT CLIENT_KEY
    python3 kazoo_tls.py HOST:PORT plain
    python3 kazoo_tls.py HOST:PORT nocert CA_PEM

Prints "ok <data>" after creating, reading, updating and deleting a node,
or "refused: <error>" when the session cannot be had (within 8 s).
"""

import sys

from kazoo.client import KazooClient


def main():
    hosts = sys.argv[1]
    retry = {"max_tries": 3, "delay": 0.2}
    if sys.argv[2] == "plain":
        client = KazooClient(hosts=hosts, timeout=10.0,
                             connection_retry=retry)
    elif sys.argv[2] == "nocert":
        client = KazooClient(hosts=hosts, use_ssl=True, ca=sys.argv[3],
                             verify_certs=True, timeout=10.0,
                             connection_retry=retry)
    else:
        ca, cert, key = sys.argv[2:5]
        client = KazooClient(hosts=hosts, use_ssl=True, ca=ca, certfile=cert,
                             keyfile=key, verify_certs=True, timeout=10.0,
                             connection_retry=retry)
    try:
        client.start(timeout=8)
    except Exception as e:  # noqa: BLE001 - reported to the test
        print("refused: %s" % type(e).__name__, flush=True)
        client.close()
        return
    path = client.create("/tls-", b"v1", sequence=True)
    client.set(path, b"v2")
    data, stat = client.get(path)
    client.delete(path, version=stat.version)
    print("ok %s" % data.decode(), flush=True)
    client.stop()
    client.close()


if __name__ == "__main__":
    main()
