#!/usr/bin/python3
"""Golden-vector driver: hand-made frames over a raw socket, through the proxy.

    /usr/bin/python3 drive_raw.py PROXY_PORT GROUP

Not a real client: used only to record how the real 3.8 server answers
frames that no real client sends (or sends only in old versions).  One TCP
connection per case, in order, so the proxy numbers them PREFIX-01, -02, ...

GROUP "edge" (valid but unusual frames; capture prefix raw-edge):
  1. ConnectRequest WITHOUT the trailing readOnly byte (pre-3.4 layout),
     then exists + closeSession: the ConnectResponse also lacks readOnly
  2. ConnectRequest re-attaching to a session id that does not exist
     (sessionId 0x7fffff0000000001, zero password): expired-session reply
  3. empty multi and empty multiRead (only the done header), ping, close
  4. ConnectRequest with readOnly=true against a standalone server

GROUP "malformed" (deliberately broken requests; prefix raw-malformed):
  1. request with unknown opcode 999, then ping + closeSession if still open
  2. getData (opcode 4) with a garbage body (path length 0x7fffffff)
  3. getData with a truncated body (no watch byte)
  4. multi containing a read op (getData inside opcode 14)
  5. a second ConnectRequest on the same, already connected socket

The answers (or the server closing the connection) are printed and, via the
proxy, recorded.
"""

import socket
import struct
import sys
import time


def log(msg):
    print("[raw] " + msg, flush=True)


def frame(body):
    return struct.pack(">i", len(body)) + body


def ustr(s):
    b = s.encode()
    return struct.pack(">i", len(b)) + b


def connect_request(session_id=0, passwd=b"\0" * 16, timeout=10000,
                    last_zxid=0, read_only=False, with_ro_byte=True):
    body = struct.pack(">iqiq", 0, last_zxid, timeout, session_id)
    body += struct.pack(">i", len(passwd)) + passwd
    if with_ro_byte:
        body += b"\x01" if read_only else b"\x00"
    return frame(body)


def request(xid, op, body=b""):
    return frame(struct.pack(">ii", xid, op) + body)


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        self.closed = False

    def send(self, data):
        if self.closed:
            return False
        try:
            self.s.sendall(data)
            return True
        except OSError as e:
            log("send failed: %s" % e)
            self.closed = True
            return False

    def read_frame(self, timeout=3.0):
        """Returns a frame body, or None on close/timeout."""
        deadline = time.time() + timeout
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">i", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    body = self.buf[4:4 + n]
                    self.buf = self.buf[4 + n:]
                    return body
            left = deadline - time.time()
            if left <= 0 or self.closed:
                return None
            self.s.settimeout(left)
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return None
            except OSError as e:
                log("recv failed: %s" % e)
                self.closed = True
                return None
            if not d:
                log("server closed the connection")
                self.closed = True
                return None
            self.buf += d

    def expect_reply(self, what):
        body = self.read_frame()
        if body is None:
            log("%s: no reply (%s)" % (what, "closed" if self.closed else "timeout"))
            return None
        if len(body) >= 16:
            xid, zxid, err = struct.unpack(">iqi", body[:16])
            log("%s: reply xid=%d zxid=0x%x err=%d +%dB" % (
                what, xid, zxid, err, len(body) - 16))
        else:
            log("%s: short reply %s" % (what, body.hex()))
        return body

    def connect(self, **kw):
        self.send(connect_request(**kw))
        body = self.read_frame()
        if body is None:
            log("connect: no ConnectResponse (%s)" % (
                "closed" if self.closed else "timeout"))
            return None
        proto, to, sid = struct.unpack(">iiq", body[:16])
        log("connect: ConnectResponse proto=%d timeout=%d sessionId=0x%x len=%d" % (
            proto, to, sid, len(body)))
        return body

    def finish(self, xid):
        """ping + closeSession if the connection is still open, then close."""
        # give the server a moment to close the connection on its own
        extra = self.read_frame(timeout=0.5)
        if extra is not None:
            log("unexpected extra frame: %s" % extra.hex())
        if not self.closed:
            self.send(request(-2, 11))
            self.expect_reply("ping")
        if not self.closed:
            self.send(request(xid, -11))
            self.expect_reply("closeSession")
            # wait for the server to close
            self.read_frame(timeout=2)
        self.s.close()


def create_body(path):
    return (ustr(path) + struct.pack(">i", 0) +           # data: empty
            struct.pack(">i", 1) + struct.pack(">i", 31) +
            ustr("world") + ustr("anyone") +               # OPEN acl
            struct.pack(">i", 0))                          # flags


DONE = struct.pack(">i?i", -1, True, -1)


def edge(port):
    log("edge 1: ConnectRequest without readOnly byte")
    c = Conn(port)
    c.connect(with_ro_byte=False)
    c.send(request(1, 3, ustr("/") + b"\x00"))
    c.expect_reply("exists /")
    c.send(request(2, -11))
    c.expect_reply("closeSession")
    c.read_frame(timeout=2)
    c.s.close()
    time.sleep(0.3)

    log("edge 2: re-attach to an unknown session")
    c = Conn(port)
    c.connect(session_id=0x7fffff0000000001, last_zxid=0)
    c.read_frame(timeout=2)
    log("closed by server: %s" % c.closed)
    c.s.close()
    time.sleep(0.3)

    log("edge 3: empty multi, empty multiRead")
    c = Conn(port)
    c.connect()
    c.send(request(1, 14, DONE))
    c.expect_reply("empty multi")
    c.send(request(2, 22, DONE))
    c.expect_reply("empty multiRead")
    c.finish(3)
    time.sleep(0.3)

    log("edge 4: read-only ConnectRequest")
    c = Conn(port)
    c.connect(read_only=True)
    c.send(request(1, 4, ustr("/") + b"\x00"))
    c.expect_reply("getData / (ro session)")
    c.finish(2)


def malformed(port):
    log("malformed 1: unknown opcode 999")
    c = Conn(port)
    c.connect()
    c.send(request(1, 999))
    c.expect_reply("op 999")
    c.finish(2)
    time.sleep(0.3)

    log("malformed 2: getData with garbage body")
    c = Conn(port)
    c.connect()
    c.send(request(1, 4, b"\x7f\xff\xff\xff\x00"))
    c.expect_reply("getData garbage")
    c.finish(2)
    time.sleep(0.3)

    log("malformed 3: getData with truncated body")
    c = Conn(port)
    c.connect()
    c.send(request(1, 4, ustr("/")))
    c.expect_reply("getData truncated")
    c.finish(2)
    time.sleep(0.3)

    log("malformed 4: multi containing a read op")
    c = Conn(port)
    c.connect()
    mixed = (struct.pack(">i?i", 1, False, -1) + create_body("/rawmix") +
             struct.pack(">i?i", 4, False, -1) + ustr("/") + b"\x00" +
             DONE)
    c.send(request(1, 14, mixed))
    c.expect_reply("multi with getData inside")
    c.finish(2)
    time.sleep(0.3)

    log("malformed 5: second ConnectRequest on a connected session")
    c = Conn(port)
    c.connect()
    c.send(connect_request())
    c.expect_reply("second ConnectRequest")
    c.finish(2)


def main():
    port = int(sys.argv[1])
    group = sys.argv[2] if len(sys.argv) > 2 else ""
    if group == "edge":
        edge(port)
    elif group == "malformed":
        malformed(port)
    else:
        raise SystemExit("usage: drive_raw.py PROXY_PORT edge|malformed")
    log("done")


if __name__ == "__main__":
    main()
