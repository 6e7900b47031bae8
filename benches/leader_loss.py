#!/usr/bin/env python3
"""One leader-loss cycle, seen by a client: kazoo, connected to the members
that do not lead, sets one znode in a loop; after --before seconds the
leader is struck (kill -9, SIGSTOP for --stopped seconds then SIGCONT, or
SIGTERM); writing goes on for --after seconds more. Prints one JSON line:
the longest gap between acknowledged writes from the fault on (the pause a
client saw), and the writes acknowledged.

  leader_loss.py --hosts 127.0.0.1:2182,127.0.0.1:2183 --pid PID --fault kill

Used by benches/leader-loss.sh, which starts the ensembles and passes the
leader's pid: this script signals only that pid.
"""
import argparse
import json
import logging
import os
import signal
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException
from kazoo.retry import KazooRetry

parser = argparse.ArgumentParser()
parser.add_argument("--hosts", required=True)
parser.add_argument("--pid", type=int, required=True)
parser.add_argument("--fault", choices=["kill", "stop", "term"], required=True)
parser.add_argument("--before", type=float, default=2.0)
parser.add_argument("--after", type=float, default=8.0)
parser.add_argument("--stopped", type=float, default=10.0)
parser.add_argument("--path", default="/leader-loss")
args = parser.parse_args()
for h in args.hosts.split(","):
    if not h.startswith("127."):
        sys.exit("loopback servers only")

logging.basicConfig(level=logging.CRITICAL)
zk = KazooClient(
    hosts=args.hosts,
    timeout=10.0,
    connection_retry=KazooRetry(max_tries=-1, delay=0.02, backoff=1, max_delay=0.05),
)
zk.start(timeout=15)
zk.ensure_path(args.path)

acks = []
errors = 0
fault_at = [None]


def strike():
    time.sleep(args.before)
    fault_at[0] = time.monotonic()
    if args.fault == "kill":
        os.kill(args.pid, signal.SIGKILL)
    elif args.fault == "term":
        os.kill(args.pid, signal.SIGTERM)
    else:
        os.kill(args.pid, signal.SIGSTOP)
        time.sleep(args.stopped)
        os.kill(args.pid, signal.SIGCONT)


threading.Thread(target=strike, daemon=True).start()
end = time.monotonic() + args.before + args.after + (args.stopped if args.fault == "stop" else 0)
i = 0
while time.monotonic() < end:
    try:
        zk.set(args.path, str(i).encode())
        acks.append(time.monotonic())
        i += 1
    except KazooException:
        errors += 1
        time.sleep(0.005)
zk.stop()
zk.close()

t0 = fault_at[0]
pause = None
if t0 is not None:
    before = [a for a in acks if a < t0]
    after = [a for a in acks if a >= t0]
    if after:
        # The gap around the fault, then every later gap.
        points = ([before[-1]] if before else [t0]) + after
        pause = max(b - a for a, b in zip(points, points[1:])) if len(points) > 1 else None
first_after = next((a - t0 for a in acks if t0 is not None and a >= t0), None)
print(json.dumps({
    "fault": args.fault,
    "fault_at_unix": round(time.time() - (time.monotonic() - t0), 3) if t0 is not None else None,
    "first_ack_after_s": round(first_after, 3) if first_after is not None else None,
    "pause_s": round(pause, 3) if pause is not None else None,
    "acked": len(acks),
    "acked_after_fault": len([a for a in acks if t0 is not None and a >= t0]),
    "errors": errors,
}))
