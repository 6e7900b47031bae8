# Shared by the benchmark scripts: paths, the release build, a free port,
# waiting for a server to report a mode.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CAPTURE="$ROOT/jute/tests/golden/capture"
ZKREF="$CAPTURE/zk-ref.sh"
ZKSTOP="$CAPTURE/zk-stop.sh"
# ZooKeeper's JVM exactly as zkServer.sh starts it (see zk-ref.sh).
export ZK_UPSTREAM_JVM=1
CORRAL="$ROOT/target/release/corral"
LOAD="$ROOT/target/release/zk-load"

build_release() {
  (cd "$ROOT" && cargo build --release --locked -q -p server -p benches)
}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_mode PORT: until `srvr` on PORT reports a Mode (about 60 s at most).
wait_mode() {
  for _ in $(seq 1 240); do
    if [ -n "$(/usr/bin/python3 "$CAPTURE/fourletter.py" "$1" --mode 2>/dev/null || true)" ]; then
      return 0
    fi
    sleep 0.25
  done
  echo "server on port $1 never reported a mode" >&2
  return 1
}
