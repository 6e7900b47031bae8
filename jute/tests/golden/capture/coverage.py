#!/usr/bin/python3
"""Print which ZooKeeper opcodes / notification types the golden files cover.

    coverage.py [GOLDEN_DIR] [--update-readme README.md]
                                  (GOLDEN_DIR defaults to the directory
                                  above this script)

Reads every GOLDEN_DIR/*-NN.txt file, decodes each frame with zkwire.py
(first client frame = ConnectRequest, first server frame = ConnectResponse,
later client frames = RequestHeader + body, later server frames =
ReplyHeader + body; replies are matched to requests by xid) and prints
markdown tables:

  * per opcode: files with the request, files with the reply, error codes
    seen in replies, files where the op appears inside a multi/multiRead
  * per watch event type: files with such a notification (xid -1)
  * connect handshake variants
"""

import glob
import os
import re
import sys
from collections import defaultdict

sys.dont_write_bytecode = True  # keep __pycache__ out of the repo
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkwire  # noqa: E402

WANTED = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21,
          22, 100, 101, 103, 104, 105, 106, 107, -11]

LINE = re.compile(r"^([<>]) ([0-9a-f]+)(?: # .*)?$")


def parse_file(path):
    frames = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("# "):
                continue
            m = LINE.match(line)
            if not m:
                raise SystemExit("%s:%d: bad line %r" % (path, n, line[:80]))
            raw = bytes.fromhex(m.group(2))
            size = int.from_bytes(raw[:4], "big")
            if size != len(raw) - 4:
                raise SystemExit("%s:%d: length prefix %d != body %d" % (
                    path, n, size, len(raw) - 4))
            frames.append((m.group(1), raw[4:]))
    return frames


def short(name):
    return os.path.basename(name)[:-4]


def group(files):
    """java-crud-01, java-crud-02, kazoo-01 -> 'java-crud-01,02 kazoo-01'."""
    by = defaultdict(list)
    for f in sorted(files):
        pre, num = f.rsplit("-", 1)
        by[pre].append(num)
    return " ".join("%s-%s" % (p, ",".join(n)) for p, n in sorted(by.items()))


BEGIN = "<!-- coverage:begin -->"
END = "<!-- coverage:end -->"


def main():
    args = sys.argv[1:]
    readme = None
    if "--update-readme" in args:
        i = args.index("--update-readme")
        readme = args[i + 1]
        del args[i:i + 2]
    d = args[0] if args else os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))
    files = sorted(glob.glob(os.path.join(d, "*-[0-9][0-9].txt")))
    if not files:
        raise SystemExit("no *-NN.txt files in %s" % d)

    req = defaultdict(set)        # op -> files
    rsp = defaultdict(set)        # op -> files
    errs = defaultdict(set)       # op -> error codes seen in replies
    in_multi = defaultdict(set)   # op -> files (as sub-op of multi/multiRead)
    sub_rsp = defaultdict(set)    # result type -> files (inside multi replies)
    notif = defaultdict(set)      # event type -> files
    connect = defaultdict(set)    # handshake variant -> files
    nframes = 0

    for path in files:
        name = short(path)
        first = {">": True, "<": True}
        pending = {}
        for direction, body in parse_file(path):
            nframes += 1
            if first[direction]:
                first[direction] = False
                if direction == ">":
                    s = zkwire.describe_connect_request(body)
                    ro = "readOnly" in s and "no readOnly" not in s
                    sid = "sessionId=0x0 " not in s
                    connect["ConnectRequest %s readOnly byte, %s" % (
                        "with" if ro else "WITHOUT",
                        "reattach (sessionId!=0)" if sid else "new session")].add(name)
                else:
                    s = zkwire.describe_connect_response(body)
                    ro = "no readOnly" not in s
                    expired = "timeOut=0 " in s
                    connect["ConnectResponse %s readOnly byte%s" % (
                        "with" if ro else "WITHOUT",
                        ", session expired (timeOut=0, sessionId=0)" if expired else "")].add(name)
                continue
            if direction == ">":
                xid, op, sub, _ = zkwire.describe_request(body)
                pending[xid] = op
                req[op].add(name)
                for t in sub:
                    in_multi[t].add(name)
                continue
            xid, zxid, err, results, _ = zkwire.describe_response(
                body, None)
            if xid == -1:
                t = int.from_bytes(body[16:20], "big", signed=True)
                notif[t].add(name)
                continue
            op = pending.pop(xid, None)
            if op is None:
                continue
            rsp[op].add(name)
            errs[op].add(err)
            if op in (14, 22):
                _, _, _, results, _ = zkwire.describe_response(body, op)
                for t, e in results or []:
                    sub_rsp[t].add(name)
                    if t == -1:
                        errs["sub"].add(e)

    out = []
    out.append("Golden files: %d, frames: %d\n" % (len(files), nframes))
    out.append("| opcode | name | captured | request in | reply in | reply err codes | inside multi/multiRead request |")
    out.append("|---:|---|---|---|---|---|---|")
    ops = WANTED + sorted(set(req) - set(WANTED))
    missing = []
    for op in ops:
        r = group(req.get(op, ())) or "-"
        p = group(rsp.get(op, ())) or "-"
        e = " ".join(str(x) for x in sorted(errs.get(op, ()), reverse=True)) or "-"
        m = group(in_multi.get(op, ())) or "-"
        if op not in req and op not in in_multi:
            missing.append(op)
        if op in req and op in rsp:
            cap = "yes"
        elif op in req:
            cap = "request only"
        elif op in in_multi:
            cap = "inside multi only"
        else:
            cap = "NO"
        if op not in WANTED:
            cap += " (malformed probe)" if op in (0, 999) else " (extra)"
        out.append("| %d | %s | %s | %s | %s | %s | %s |" % (
            op, zkwire.OPS.get(op, "unknown"), cap, r, p, e, m))
    out.append("")
    out.append("Result types inside multi/multiRead replies:\n")
    out.append("| type | name | in |")
    out.append("|---:|---|---|")
    for t in sorted(sub_rsp):
        out.append("| %d | %s | %s |" % (t, zkwire.OPS.get(t, "?"), group(sub_rsp[t])))
    out.append("")
    out.append("Per-op error codes inside failed multi / multiRead replies: %s\n" % (
        " ".join(str(x) for x in sorted(errs.get("sub", ()), reverse=True)) or "-"))
    out.append("Notifications (xid -1):\n")
    out.append("| event type | name | in |")
    out.append("|---:|---|---|")
    for t in (1, 2, 3, 4, 5, 6, 7):
        out.append("| %d | %s | %s |" % (t, zkwire.EVENTS[t], group(notif.get(t, ())) or "-"))
    out.append("")
    out.append("Connect handshakes:\n")
    out.append("| variant | in |")
    out.append("|---|---|")
    for k in sorted(connect):
        out.append("| %s | %s |" % (k, group(connect[k])))
    out.append("")
    out.append("Opcodes from the wanted set never seen in a request: %s" % (
        ", ".join("%d %s" % (o, zkwire.OPS[o]) for o in missing) or "none"))
    text = "\n".join(out)
    print(text)
    if readme:
        with open(readme) as f:
            doc = f.read()
        if BEGIN not in doc or END not in doc:
            raise SystemExit("%s: coverage markers not found" % readme)
        head, rest = doc.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        with open(readme, "w") as f:
            f.write(head + BEGIN + "\n" + text + "\n" + END + tail)


if __name__ == "__main__":
    main()
