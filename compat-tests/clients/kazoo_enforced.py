"""Enforced authentication (enforce.auth.enabled / enforce.auth.schemes,
sessionRequireClientSASLAuth) seen by kazoo: a session that has not
authenticated with an enforced scheme is refused its first request; one
that has is served.

    python3 kazoo_enforced.py HOST:PORT sasl|digest

Prints "anon connect <outcome>", "anon get <outcome>" and "authed get
<outcome>" lines, an outcome being "ok" or an exception's class name.
"""

import sys

from kazoo.client import KazooClient


def outcome(f):
    try:
        f()
        return "ok"
    except Exception as e:  # noqa: BLE001 - reported to the test
        return type(e).__name__


def main():
    hosts, scheme = sys.argv[1], sys.argv[2]
    retry = {"max_tries": 1, "delay": 0.2}
    anon = KazooClient(hosts=hosts, timeout=10.0, connection_retry=retry,
                       command_retry={"max_tries": 0})
    print("anon connect", outcome(lambda: anon.start(timeout=10)), flush=True)
    # kazoo 2.8 knows no error -124 (its reader raises on it and drops
    # the connection), so the reply may never reach the caller: bounded.
    print("anon get",
          outcome(lambda: anon.get_async("/").get(timeout=8)), flush=True)
    anon.stop()
    anon.close()
    if scheme == "sasl":
        auth = {"sasl_options": {"mechanism": "DIGEST-MD5",
                                 "username": "jaasuser",
                                 "password": "jaas_password"}}
    else:
        auth = {"auth_data": [("digest", "alice:secret")]}
    authed = KazooClient(hosts=hosts, timeout=10.0, connection_retry=retry,
                         **auth)
    authed.start(timeout=10)
    print("authed get", outcome(lambda: authed.get("/")), flush=True)
    authed.stop()
    authed.close()


if __name__ == "__main__":
    main()
