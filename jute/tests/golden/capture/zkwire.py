"""Minimal decoder for the ZooKeeper client wire protocol (jute encoding).

Shared by record_proxy.py (to write the `# ...` comments next to each
frame) and coverage.py (to build the opcode coverage table).  It is only a
labelling aid for humans: the golden data are the raw hex frames.

All integers are big-endian; `ustring`/`buffer` are an int length (-1 =
null) followed by the bytes; vectors are an int count (-1 = null) followed
by the elements; booleans are one byte.
"""

import struct

OPS = {
    0: "notification", 1: "create", 2: "delete", 3: "exists", 4: "getData",
    5: "setData", 6: "getACL", 7: "setACL", 8: "getChildren", 9: "sync",
    11: "ping", 12: "getChildren2", 13: "check", 14: "multi", 15: "create2",
    16: "reconfig", 17: "checkWatches", 18: "removeWatches",
    19: "createContainer", 20: "deleteContainer", 21: "createTTL",
    22: "multiRead", 100: "auth", 101: "setWatches", 102: "sasl",
    103: "getEphemerals", 104: "getAllChildrenNumber", 105: "setWatches2",
    106: "addWatch", 107: "whoAmI", -10: "createSession",
    -11: "closeSession", -1: "error",
}

ERRS = {
    0: "OK", -1: "SYSTEMERROR", -2: "RUNTIMEINCONSISTENCY",
    -3: "DATAINCONSISTENCY", -4: "CONNECTIONLOSS", -5: "MARSHALLINGERROR",
    -6: "UNIMPLEMENTED", -7: "OPERATIONTIMEOUT", -8: "BADARGUMENTS",
    -12: "UNKNOWNSESSION", -13: "NEWCONFIGNOQUORUM",
    -14: "RECONFIGINPROGRESS", -100: "APIERROR", -101: "NONODE",
    -102: "NOAUTH", -103: "BADVERSION", -108: "NOCHILDRENFOREPHEMERALS",
    -110: "NODEEXISTS", -111: "NOTEMPTY", -112: "SESSIONEXPIRED",
    -113: "INVALIDCALLBACK", -114: "INVALIDACL", -115: "AUTHFAILED",
    -118: "SESSIONMOVED", -119: "NOTREADONLY",
    -120: "EPHEMERALONLOCALSESSION", -121: "NOWATCHER",
    -122: "REQUESTTIMEOUT", -123: "RECONFIGDISABLED",
    -124: "SESSIONCLOSEDREQUIRESASLAUTH", -125: "QUOTAEXCEEDED",
    -127: "THROTTLEDOP",
}

EVENTS = {
    -1: "None", 1: "NodeCreated", 2: "NodeDeleted", 3: "NodeDataChanged",
    4: "NodeChildrenChanged", 5: "DataWatchRemoved", 6: "ChildWatchRemoved",
    7: "PersistentWatchRemoved",
}

STATES = {
    -112: "Expired", 0: "Disconnected", 3: "SyncConnected", 4: "AuthFailed",
    5: "ConnectedReadOnly", 6: "SaslAuthenticated", 7: "Closed",
}

# Special request xids used by the clients.
SPECIAL_XIDS = {-1: "notification", -2: "ping", -4: "auth", -8: "setWatches"}

FOUR_LETTER_WORDS = {
    b"ruok", b"srvr", b"stat", b"mntr", b"conf", b"cons", b"crst", b"dump",
    b"envi", b"gtmk", b"isro", b"reqs", b"srst", b"stmk", b"wchc", b"wchp",
    b"wchs", b"dirs", b"hash", b"kill", b"tchk", b"telnet",
}

CREATE_MODES = {
    0: "PERSISTENT", 1: "EPHEMERAL", 2: "PERSISTENT_SEQUENTIAL",
    3: "EPHEMERAL_SEQUENTIAL", 4: "CONTAINER", 5: "PERSISTENT_WITH_TTL",
    6: "PERSISTENT_SEQUENTIAL_WITH_TTL",
}

STAT_LEN = 68  # czxid mzxid ctime mtime version cversion aversion
#                ephemeralOwner dataLength numChildren pzxid


def opname(op):
    return "%s(%d)" % (OPS.get(op, "unknown"), op)


def errname(err):
    if err == 0:
        return "0"
    return "%d(%s)" % (err, ERRS.get(err, "?"))


def is_four_letter_word(first4):
    return first4 in FOUR_LETTER_WORDS or (
        len(first4) == 4 and first4.isalpha() and first4.islower())


class DecodeError(Exception):
    pass


class Reader:
    def __init__(self, data, pos=0):
        self.b = data
        self.p = pos

    def left(self):
        return len(self.b) - self.p

    def take(self, n):
        if n < 0 or self.p + n > len(self.b):
            raise DecodeError("short read")
        v = self.b[self.p:self.p + n]
        self.p += n
        return v

    def int(self):
        return struct.unpack(">i", self.take(4))[0]

    def long(self):
        return struct.unpack(">q", self.take(8))[0]

    def bool(self):
        return self.take(1)[0] != 0

    def buf(self):
        n = self.int()
        if n < 0:
            return None
        return self.take(n)

    def ustr(self):
        v = self.buf()
        return None if v is None else v.decode("utf-8", "replace")

    def vec(self, f):
        n = self.int()
        if n < 0:
            return None
        if n > 1_000_000:
            raise DecodeError("vector too long")
        return [f() for _ in range(n)]

    def acl(self):
        perms = self.int()
        scheme = self.ustr()
        ident = self.ustr()
        return (perms, scheme, ident)

    def stat(self):
        return self.take(STAT_LEN)


def _short(s, n=40):
    if s is None:
        return "null"
    return s if len(s) <= n else s[:n] + "..."


def parse_request_body(op, r):
    """Parse one request body for `op`; returns a short description.

    For multi/multiRead also returns the list of sub-op codes."""
    sub = []
    d = ""
    if op in (1, 15, 19, 21):
        path = r.ustr()
        data = r.buf()
        acl = r.vec(r.acl)
        flags = r.int()
        d = "path=%s data=%s acl=%s mode=%s" % (
            _short(path), "null" if data is None else "%dB" % len(data),
            ",".join("%s:%s/%d" % (a[1], _short(a[2], 20), a[0]) for a in acl)
            if acl is not None else "null",
            CREATE_MODES.get(flags, str(flags)))
        if op == 21:
            d += " ttl=%d" % r.long()
    elif op == 2:
        d = "path=%s version=%d" % (_short(r.ustr()), r.int())
    elif op in (3, 4, 8, 12):
        d = "path=%s watch=%s" % (_short(r.ustr()), str(r.bool()).lower())
    elif op == 5:
        path = r.ustr()
        data = r.buf()
        d = "path=%s data=%s version=%d" % (
            _short(path), "null" if data is None else "%dB" % len(data),
            r.int())
    elif op in (6, 9, 104):
        d = "path=%s" % _short(r.ustr())
    elif op == 7:
        path = r.ustr()
        acl = r.vec(r.acl)
        d = "path=%s acl=%d version=%d" % (
            _short(path), -1 if acl is None else len(acl), r.int())
    elif op == 13:
        d = "path=%s version=%d" % (_short(r.ustr()), r.int())
    elif op in (14, 22):
        while True:
            t = r.int()
            done = r.bool()
            r.int()  # err
            if done:
                break
            sub.append(t)
            parse_request_body(t, r)
        d = "ops=[%s]" % ",".join(opname(t) for t in sub)
    elif op == 16:
        joining = r.ustr()
        leaving = r.ustr()
        members = r.ustr()
        cfg = r.long()
        d = "joining=%s leaving=%s newMembers=%s curConfigId=%d" % (
            _short(joining, 60), _short(leaving), _short(members, 60), cfg)
    elif op in (17, 18):
        d = "path=%s type=%d" % (_short(r.ustr()), r.int())
    elif op == 100:
        t = r.int()
        scheme = r.ustr()
        auth = r.buf()
        d = "type=%d scheme=%s auth=%dB" % (
            t, scheme, -1 if auth is None else len(auth))
    elif op in (101, 105):
        rz = r.long()
        lists = [r.vec(r.ustr) for _ in range(3 if op == 101 else 5)]
        names = ["data", "exist", "child", "persistent", "persistentRecursive"]
        d = "relativeZxid=0x%x %s" % (rz, " ".join(
            "%s=%d" % (names[i], -1 if l is None else len(l))
            for i, l in enumerate(lists)))
    elif op == 103:
        d = "prefix=%s" % _short(r.ustr())
    elif op == 106:
        d = "path=%s mode=%d" % (_short(r.ustr()), r.int())
    elif op in (11, 107, -11):
        d = ""
    else:
        raise DecodeError("unknown op %d" % op)
    return d, sub


def parse_multi_response(r):
    """Returns list of (type, err) for a multi/multiRead response body."""
    out = []
    while True:
        t = r.int()
        done = r.bool()
        err = r.int()
        if done:
            break
        if t == -1:
            e = r.int()
            out.append((t, e))
            continue
        out.append((t, err))
        if t == 1:
            r.ustr()
        elif t in (15, 19, 21):
            r.ustr()
            r.stat()
        elif t in (2, 13):
            pass
        elif t == 5:
            r.stat()
        elif t == 4:
            r.buf()
            r.stat()
        elif t == 8:
            r.vec(r.ustr)
        else:
            raise DecodeError("unknown multi result type %d" % t)
    return out


def describe_connect_request(body):
    r = Reader(body)
    proto = r.int()
    last = r.long()
    to = r.int()
    sid = r.long()
    pw = r.buf()
    s = ("ConnectRequest protocolVersion=%d lastZxidSeen=0x%x timeOut=%d "
         "sessionId=0x%x passwd=%dB" % (proto, last, to, sid,
                                        -1 if pw is None else len(pw)))
    if r.left() >= 1:
        s += " readOnly=%s" % str(r.bool()).lower()
    else:
        s += " (no readOnly byte)"
    if r.left():
        s += " +%dB trailing" % r.left()
    return s


def describe_connect_response(body):
    r = Reader(body)
    proto = r.int()
    to = r.int()
    sid = r.long()
    pw = r.buf()
    s = ("ConnectResponse protocolVersion=%d timeOut=%d sessionId=0x%x "
         "passwd=%dB" % (proto, to, sid, -1 if pw is None else len(pw)))
    if r.left() >= 1:
        s += " readOnly=%s" % str(r.bool()).lower()
    else:
        s += " (no readOnly byte)"
    if r.left():
        s += " +%dB trailing" % r.left()
    return s


def describe_request(body):
    """body = frame without its 4-byte length. Returns (xid, op, sub, text)."""
    r = Reader(body)
    xid = r.int()
    op = r.int()
    text = "xid=%d op=%s" % (xid, opname(op))
    sub = []
    try:
        d, sub = parse_request_body(op, r)
        if d:
            text += " " + d
        if r.left():
            text += " +%dB unparsed" % r.left()
    except DecodeError as e:
        text += " (body not decodable: %s)" % e
    return xid, op, sub, text


def describe_response(body, op=None):
    """body = frame without length; op = the request opcode matched by xid.

    Returns (xid, zxid, err, results, text); results is the multi result
    list or None."""
    r = Reader(body)
    xid = r.int()
    zxid = r.long()
    err = r.int()
    results = None
    if xid == -1:
        try:
            t = r.int()
            st = r.int()
            path = r.ustr()
            text = "notification xid=-1 zxid=%s err=%s type=%s(%d) state=%s(%d) path=%s" % (
                zxid if zxid < 0 else "0x%x" % zxid, errname(err),
                EVENTS.get(t, "?"), t, STATES.get(st, "?"), st, _short(path))
        except DecodeError:
            text = "notification xid=-1 zxid=%d err=%s (body not decodable)" % (
                zxid, errname(err))
        return xid, zxid, err, None, text
    text = "xid=%d zxid=0x%x err=%s" % (xid, zxid, errname(err)) if zxid >= 0 \
        else "xid=%d zxid=%d err=%s" % (xid, zxid, errname(err))
    if op is not None:
        text += " op=%s" % opname(op)
    if op in (14, 22) and r.left():
        try:
            results = parse_multi_response(r)
            text += " results=[%s]" % ",".join(
                "%s:%s" % (opname(t), errname(e)) for t, e in results)
        except DecodeError as e:
            text += " (multi body not decodable: %s)" % e
    text += " body=%dB" % (len(body) - 16)
    return xid, zxid, err, results, text
