"""The common name of the certificate a TLS server presents, or the
protocol and cipher suite it agreed to.

    python3 tls_peer.py HOST PORT CA_PEM CLIENT_CERT CLIENT_KEY [session]
    python3 tls_peer.py HOST PORT CA_PEM CLIENT_CERT CLIENT_KEY word WORD

Prints "cn <name>" (or, with `session`, "<version> <cipher>"; with
`word`, the server's answer to the four-letter word), or
"failed: <error>".
"""

import socket
import ssl
import sys


def main():
    host, port, ca, cert, key = sys.argv[1:6]
    ctx = ssl.create_default_context(cafile=ca)
    ctx.load_cert_chain(cert, key)
    try:
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as tls:
                if sys.argv[6:7] == ["word"]:
                    tls.sendall(sys.argv[7].encode())
                    answer = b""
                    while True:
                        chunk = tls.recv(4096)
                        if not chunk:
                            break
                        answer += chunk
                    print(answer.decode().strip(), flush=True)
                    return
                if sys.argv[6:7] == ["session"]:
                    print("%s %s" % (tls.version(), tls.cipher()[0]),
                          flush=True)
                    return
                subject = dict(x[0] for x in tls.getpeercert()["subject"])
                print("cn %s" % subject.get("commonName"), flush=True)
    except Exception as e:  # noqa: BLE001 - reported to the test
        print("failed: %s" % e, flush=True)


if __name__ == "__main__":
    main()
