#!/usr/bin/python3
"""Recording TCP proxy for the ZooKeeper client protocol.

    record_proxy.py LISTEN_PORT TARGET_PORT OUTDIR PREFIX
                    [--scenario TEXT] [--client NAME] [--server TEXT]
                    [--pidfile FILE] [--drop-hold SECONDS]

Listens on 127.0.0.1:LISTEN_PORT, connects every accepted connection to
127.0.0.1:TARGET_PORT and forwards bytes in both directions unchanged.
Every length-prefixed frame (4-byte big-endian length + body) seen in either
direction is recorded, per TCP connection, to OUTDIR/PREFIX-NN.txt
(NN = 01, 02, ... in order of the connections' first client bytes):

    # scenario: ...            (header comment lines, all start with "# ")
    > 0000002c00000000...      client -> server frame, lowercase hex
    < 00000024000000...        server -> client frame
    ... # comment              optional decoded-header comment after the hex

Connections whose first 4 client bytes are a four-letter word (ruok, srvr,
mntr, ...) are forwarded but not recorded and get no number.

Dropping connections on demand: on SIGUSR1 the proxy closes every current
connection (both sides) so clients reconnect (and resend their watches with
setWatches / setWatches2).  With --drop-hold S the listening socket is also
closed for S seconds after a drop, so reconnects are refused meanwhile (the
client stays disconnected while the driver changes things through another
path).  As an alternative to the signal, creating the file OUTDIR/.drop-PREFIX
triggers the same drop (the proxy deletes the file).

On SIGTERM/SIGINT all connections are closed, files are written, and the
proxy exits.  Files are written when a connection ends; existing
OUTDIR/PREFIX-NN.txt files are removed at start-up so reruns overwrite.
"""

import argparse
import asyncio
import datetime
import glob
import os
import signal
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the repo
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkwire  # noqa: E402

MAX_FRAME = 64 * 1024 * 1024

DEFAULT_SERVER = "ZooKeeper 3.8.0 (Debian 3.8.0-11+deb12u2)"


class Conn:
    def __init__(self, proxy):
        self.proxy = proxy
        self.num = None          # assigned on first client bytes
        self.ignored = False     # four-letter-word connection
        self.decided = False
        self.bufs = {">": bytearray(), "<": bytearray()}
        self.first = {">": True, "<": True}
        self.lines = []
        self.pending = {}        # xid -> opcode (latest request with that xid)
        self.closed_by = None
        self.unframed = {">": False, "<": False}
        self.writers = []
        self.started = datetime.datetime.now(datetime.timezone.utc)

    def feed(self, direction, data):
        if self.ignored:
            return
        self.bufs[direction] += data
        if not self.decided:
            if len(self.bufs[">"]) < 4:
                return
            self.decided = True
            if zkwire.is_four_letter_word(bytes(self.bufs[">"][:4])):
                self.ignored = True
                self.bufs = {">": bytearray(), "<": bytearray()}
                return
            self.num = self.proxy.next_number()
            self._parse(">")
            self._parse("<")
            return
        self._parse(direction)

    def _parse(self, direction):
        if self.unframed[direction]:
            return
        buf = self.bufs[direction]
        while len(buf) >= 4:
            n = int.from_bytes(buf[:4], "big", signed=True)
            if n < 0 or n > MAX_FRAME:
                self.unframed[direction] = True
                return
            if len(buf) < 4 + n:
                return
            frame = bytes(buf[:4 + n])
            del buf[:4 + n]
            self._record(direction, frame)

    def _record(self, direction, frame):
        body = frame[4:]
        try:
            comment = self._describe(direction, body)
        except Exception as e:  # labelling must never break recording
            comment = "undecodable: %s" % e
        line = "%s %s" % (direction, frame.hex())
        if comment:
            comment = comment.replace("\r", "\\r").replace("\n", "\\n")
            line += " # " + comment
        self.lines.append(line)

    def _describe(self, direction, body):
        first = self.first[direction]
        self.first[direction] = False
        if direction == ">":
            if first:
                return zkwire.describe_connect_request(body)
            if len(body) < 8:
                return "short frame"
            xid, op, _sub, text = zkwire.describe_request(body)
            self.pending[xid] = op
            return text
        if first:
            return zkwire.describe_connect_response(body)
        if len(body) < 16:
            return "short frame (%dB)" % len(body)
        xid = int.from_bytes(body[:4], "big", signed=True)
        op = None if xid == -1 else self.pending.pop(xid, None)
        return zkwire.describe_response(body, op)[4]

    def finish(self):
        if self.num is None or self.ignored:
            return
        path = os.path.join(self.proxy.outdir,
                            "%s-%02d.txt" % (self.proxy.prefix, self.num))
        a = self.proxy.args
        hdr = [
            "# scenario: %s" % a.scenario,
            "# client: %s" % a.client,
            "# server: %s" % a.server,
            "# date: %s" % self.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "# connection: %d of this scenario (file %s-%02d)" % (
                self.num, self.proxy.prefix, self.num),
            "# closed: %s" % (self.closed_by or "unknown"),
        ]
        for d, name in ((">", "client"), ("<", "server")):
            if self.unframed[d]:
                hdr.append("# note: %s stream stopped being length-framed; "
                           "%d bytes not recorded" % (name, len(self.bufs[d])))
            elif self.bufs[d]:
                hdr.append("# note: %d trailing %s bytes (incomplete frame) "
                           "not recorded: %s" % (len(self.bufs[d]), name,
                                                 bytes(self.bufs[d][:64]).hex()))
        hdr.append("# format: '> HEX' client->server frame, '< HEX' "
                   "server->client frame; HEX includes the 4-byte length")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(hdr + self.lines) + "\n")
        os.replace(tmp, path)


class Proxy:
    def __init__(self, args):
        self.args = args
        self.outdir = args.outdir
        self.prefix = args.prefix
        self.counter = 0
        self.conns = set()
        self.server = None
        self.hold_until = 0.0
        self.stopping = False
        self.tasks = set()

    def next_number(self):
        self.counter += 1
        return self.counter

    async def start_listening(self):
        self.server = await asyncio.start_server(
            self.handle, "127.0.0.1", self.args.listen_port, reuse_address=True)

    async def handle(self, creader, cwriter):
        task = asyncio.current_task()
        self.tasks.add(task)
        try:
            await self._handle(creader, cwriter)
        finally:
            self.tasks.discard(task)

    async def _handle(self, creader, cwriter):
        try:
            sreader, swriter = await asyncio.open_connection(
                "127.0.0.1", self.args.target_port)
        except OSError:
            cwriter.close()
            return
        conn = Conn(self)
        conn.writers = [cwriter, swriter]
        self.conns.add(conn)

        async def pump(reader, writer, direction, who):
            try:
                while True:
                    data = await reader.read(65536)
                    if not data:
                        break
                    writer.write(data)
                    conn.feed(direction, data)
                    await writer.drain()
            except (ConnectionError, OSError, asyncio.CancelledError):
                pass
            if conn.closed_by is None:
                conn.closed_by = "by %s" % who
            try:
                writer.close()
            except Exception:
                pass

        t1 = asyncio.ensure_future(pump(creader, swriter, ">", "client"))
        t2 = asyncio.ensure_future(pump(sreader, cwriter, "<", "server"))
        await asyncio.gather(t1, t2, return_exceptions=True)
        for w in conn.writers:
            try:
                w.close()
            except Exception:
                pass
        self.conns.discard(conn)
        conn.finish()

    def drop_all(self, reason="by proxy (drop on demand)"):
        n = 0
        for conn in list(self.conns):
            if conn.closed_by is None:
                conn.closed_by = reason
            for w in conn.writers:
                try:
                    w.transport.abort()
                except Exception:
                    pass
            n += 1
        sys.stderr.write("record_proxy[%s]: dropped %d connection(s)\n" % (
            self.prefix, n))
        hold = self.args.drop_hold
        if hold > 0 and self.server is not None and not self.stopping:
            self.server.close()
            self.server = None
            asyncio.get_running_loop().call_later(
                hold, lambda: asyncio.ensure_future(self._relisten()))

    async def _relisten(self):
        if self.stopping or self.server is not None:
            return
        await self.start_listening()
        sys.stderr.write("record_proxy[%s]: listening again\n" % self.prefix)

    async def watch_control_file(self):
        path = os.path.join(self.outdir, ".drop-%s" % self.prefix)
        while not self.stopping:
            if os.path.exists(path):
                try:
                    os.unlink(path)
                except OSError:
                    pass
                self.drop_all()
            await asyncio.sleep(0.05)

    async def run(self):
        for old in glob.glob(os.path.join(self.outdir, "%s-[0-9][0-9].txt"
                                          % glob.escape(self.prefix))):
            os.unlink(old)
        await self.start_listening()
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGUSR1, self.drop_all)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        if self.args.pidfile:
            with open(self.args.pidfile, "w") as f:
                f.write("%d\n" % os.getpid())
        ctl = asyncio.ensure_future(self.watch_control_file())
        await stop.wait()
        self.stopping = True
        ctl.cancel()
        if self.server is not None:
            self.server.close()
        # let in-flight bytes settle, then close what is left
        await asyncio.sleep(0.2)
        for conn in list(self.conns):
            if conn.closed_by is None:
                conn.closed_by = "still open when the proxy stopped"
            for w in conn.writers:
                try:
                    w.close()
                except Exception:
                    pass
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=3)
        if self.args.pidfile:
            try:
                os.unlink(self.args.pidfile)
            except OSError:
                pass


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("listen_port", type=int)
    p.add_argument("target_port", type=int)
    p.add_argument("outdir")
    p.add_argument("prefix")
    p.add_argument("--scenario", default="unspecified")
    p.add_argument("--client", default="unspecified")
    p.add_argument("--server", default=DEFAULT_SERVER)
    p.add_argument("--pidfile")
    p.add_argument("--drop-hold", type=float, default=0.0)
    args = p.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    asyncio.run(Proxy(args).run())


if __name__ == "__main__":
    main()
