"""A kazoo TLS session held open while the test changes the server.

    python3 kazoo_tls_hold.py HOST:PORT CA_PEM CLIENT_CERT CLIENT_KEY

Prints "> connected <session id>", then for each "check" line on stdin
creates and reads a node and prints "> ok <session id>"; "quit" ends it.
kazoo's own log lines (a dropped connection, say) are printed too.
"""

import sys

from kazoo.client import KazooClient


def main():
    hosts, ca, cert, key = sys.argv[1:5]
    client = KazooClient(hosts=hosts, use_ssl=True, ca=ca, certfile=cert,
                         keyfile=key, verify_certs=True, timeout=10.0)
    client.start(timeout=15)
    print("> connected %x" % client.client_id[0], flush=True)
    for line in sys.stdin:
        if line.strip() == "check":
            path = client.create("/hold-", b"x", sequence=True)
            client.get(path)
            print("> ok %x" % client.client_id[0], flush=True)
        elif line.strip() == "quit":
            break
    client.stop()
    client.close()


if __name__ == "__main__":
    main()
