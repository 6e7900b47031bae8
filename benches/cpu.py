#!/usr/bin/env python3
"""CPU use of processes, for the benchmark scripts (benches/lib.sh).

  cpu.py ticks PID...   user + system CPU of these processes so far, in
                        ticks (1/100 s); a process that is gone counts nothing
  cpu.py quiet PID...   waits until these processes use under 2 % of a core
                        and the machine is at least 85 % idle over one second
                        (30 s at most); prints the seconds waited, with a `+`
                        if it never got quiet
"""
import sys
import time


def ticks(pids):
    total = 0
    for pid in pids:
        try:
            f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += int(f[11]) + int(f[12])
        except OSError:
            pass
    return total


def machine():
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return v[3] + v[4], sum(v)


def quiet(pids):
    t0 = time.monotonic()
    while True:
        p0, (i0, a0) = ticks(pids), machine()
        time.sleep(1)
        p1, (i1, a1) = ticks(pids), machine()
        ok = p1 - p0 <= 2 and (i1 - i0) >= 0.85 * max(1, a1 - a0)
        if ok or time.monotonic() - t0 >= 30:
            return f"{time.monotonic() - t0:.1f}" + ("" if ok else "+")


if __name__ == "__main__":
    mode, pids = sys.argv[1], sys.argv[2:]
    print(ticks(pids) if mode == "ticks" else quiet(pids))
