#!/usr/bin/env python3
"""An open console page's requests, for benches/console.sh:

  console_poll.py BASE_URL SECONDS

The page, whoami, the root's children and node once; then every 2 s the
Load, Ensemble and Sessions tabs' requests, for SECONDS. Fails on any
answer other than 200 with JSON; the last line printed counts requests.
"""
import json
import sys
import time
import urllib.request

base, seconds = sys.argv[1], float(sys.argv[2])
count = 0


def get(path, want_json=True):
    global count
    with urllib.request.urlopen(base + path, timeout=10) as r:
        body = r.read()
        if r.status != 200:
            sys.exit("%s: HTTP %d" % (path, r.status))
    if want_json:
        json.loads(body)
    count += 1


get("/ui", want_json=False)
for p in ["/ui/api/whoami", "/ui/api/children?path=/", "/ui/api/node?path=/"]:
    get(p)
end = time.monotonic() + seconds
while time.monotonic() < end:
    for p in ["/ui/api/load", "/ui/api/ensemble", "/ui/api/sessions"]:
        get(p)
    time.sleep(2)
print("%d requests" % count)
