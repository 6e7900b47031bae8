"""kazoo (Debian's python3-kazoo) in read-only mode, driven line by line.

    python3 kazoo_readonly.py HOST:PORT[,HOST:PORT...]

Connects with read_only=True, creates /ro-test (data "x", one child),
prints "ready", then answers one command per stdin line, printing one
line each, prefixed with "> ":

    state    -> the client's state (CONNECTED, CONNECTED_RO, ...)
    wait_ro  -> "ro" once the client is CONNECTED_RO (waits up to 60 s)
    wait_rw  -> "rw" once it is CONNECTED to a read-write server (60 s)
    read     -> "read <children> <data>" of /ro-test
    write    -> "written" or the exception's class name
    quit     -> stops the client and exits

Every wait is bounded; a watchdog ends the process after 300 s.
"""

import sys
import threading
import time
import os

from kazoo.client import KazooClient
from kazoo.protocol.states import KeeperState


def watchdog():
    time.sleep(300)
    print("WATCHDOG: giving up", flush=True)
    os._exit(3)


def say(line):
    """One answer line, marked apart from kazoo's own log output."""
    print("> " + str(line), flush=True)


def wait_for(client, wanted, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if client.client_state == wanted:
            return True
        time.sleep(0.1)
    return False


def main():
    threading.Thread(target=watchdog, daemon=True).start()
    client = KazooClient(hosts=sys.argv[1], read_only=True, timeout=10.0,
                         connection_retry={"max_tries": -1, "delay": 0.2,
                                           "max_delay": 1.0})
    client.start(timeout=30)
    client.ensure_path("/ro-test")
    client.set("/ro-test", b"x")
    client.ensure_path("/ro-test/child")
    say("ready")
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "state":
            say(client.client_state)
        elif cmd == "wait_ro":
            ok = wait_for(client, KeeperState.CONNECTED_RO, 60)
            say("ro" if ok else "timeout: %s" % client.client_state)
        elif cmd == "wait_rw":
            ok = wait_for(client, KeeperState.CONNECTED, 60)
            say("rw" if ok else "timeout: %s" % client.client_state)
        elif cmd == "read":
            try:
                children = client.get_children("/ro-test")
                data, _ = client.get("/ro-test")
                say("read %s %s" % (sorted(children), data.decode()))
            except Exception as e:  # noqa: BLE001 - reported to the test
                say("read failed: %s" % type(e).__name__)
        elif cmd == "write":
            try:
                client.create("/ro-test/w", b"w", sequence=True)
                say("written")
            except Exception as e:  # noqa: BLE001 - reported to the test
                say(type(e).__name__)
        elif cmd == "quit":
            break
    client.stop()
    client.close()


if __name__ == "__main__":
    main()
