#!/usr/bin/env python3
"""Send a ZooKeeper four-letter word to 127.0.0.1:PORT and print the answer.

    fourletter.py PORT WORD      the whole answer
    fourletter.py PORT --mode    the Mode of `srvr` (nothing if none)

Exits 1 if the server cannot be reached. Used by zk-ref.sh and the
benchmark scripts (nc is not required).
"""
import socket
import sys


def ask(port, word):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall(word.encode("ascii"))
    buf = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    return buf.decode("ascii", "replace")


def main():
    port, word = int(sys.argv[1]), sys.argv[2]
    try:
        if word == "--mode":
            for line in ask(port, "srvr").splitlines():
                if line.startswith("Mode:"):
                    print(line.split(":", 1)[1].strip())
        else:
            print(ask(port, word))
    except OSError:
        sys.exit(1)


if __name__ == "__main__":
    main()
