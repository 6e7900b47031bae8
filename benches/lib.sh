# Shared by the benchmark scripts: paths, the release build, a free port,
# waiting for a server to report a mode.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CAPTURE="$ROOT/jute/tests/golden/capture"
ZKREF="$CAPTURE/zk-ref.sh"
ZKSTOP="$CAPTURE/zk-stop.sh"
# ZooKeeper's JVM exactly as zkServer.sh starts it (see zk-ref.sh).
export ZK_UPSTREAM_JVM=1
# CORRAL_BIN: another build of the server to measure (e.g. the one before a
# change); the default is this tree's release build.
CORRAL="${CORRAL_BIN:-$ROOT/target/release/corral}"
LOAD="$ROOT/target/release/zk-load"

# ensure_zookeeper: installs the Debian ZooKeeper 3.8 and a JRE if either
# is missing (root, or sudo), as .ci/run does.
ensure_zookeeper() {
  if [ -d /usr/share/zookeeper ] && command -v java >/dev/null; then
    return 0
  fi
  echo "== installing the Debian zookeeper package and a JRE" >&2
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends zookeeper default-jre-headless python3
}

build_release() {
  (cd "$ROOT" && cargo build --release --locked -q -p server -p benches)
}

# build_java_load DIR: compiles benches/java/ZkLoad.java (ZooKeeper's Java
# client as a load generator) into DIR; sets JAVA_LOAD to the command.
build_java_load() {
  local j=/usr/share/java
  local cp="$j/zookeeper.jar:$j/zookeeper-jute.jar:$j/slf4j-api.jar:$j/slf4j-nop.jar"
  mkdir -p "$1"
  javac -d "$1" -cp "$cp" "$ROOT/benches/java/ZkLoad.java"
  JAVA_LOAD=(java -cp "$1:$cp" ZkLoad)
}

# cpu_ticks PID...: user + system CPU of these processes so far, in ticks.
cpu_ticks() { /usr/bin/python3 "$ROOT/benches/cpu.py" ticks "$@"; }

# wait_quiet PID...: until these processes and the machine are idle (at
# most 30 s); prints the seconds waited (benches/cpu.py).
wait_quiet() { /usr/bin/python3 "$ROOT/benches/cpu.py" quiet "$@"; }

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

# last_populated COUNT SESSIONS: the path of the last znode session 0 of
# `zk-load --workload populate` writes (its share is COUNT/SESSIONS, +1 if
# it gets a remainder; 1,000 children per parent).
last_populated() {
  local share=$(( $1 / $2 + ($1 % $2 > 0 ? 1 : 0) ))
  local k=$(( share - 1 ))
  if [ $(( k % 1000 )) -eq 0 ]; then
    echo "/zk-load/s0/d$(( k / 1000 ))"
  else
    echo "/zk-load/s0/d$(( k / 1000 ))/n$(( k % 1000 ))"
  fi
}

# Seconds until a new session reads PATH on PORT (polling every 20 ms).
time_to_read() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import socket, struct, sys, time
port, path = int(sys.argv[1]), sys.argv[2].encode()
t0 = time.monotonic()
def frame(s, body):
    s.sendall(struct.pack(">i", len(body)) + body)
def read(s):
    n = b""
    while len(n) < 4:
        d = s.recv(4 - len(n))
        if not d:
            raise OSError("closed")
        n += d
    (ln,) = struct.unpack(">i", n)
    buf = b""
    while len(buf) < ln:
        d = s.recv(ln - len(buf))
        if not d:
            raise OSError("closed")
        buf += d
    return buf
while time.monotonic() - t0 < 600:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        frame(s, struct.pack(">iqiqi", 0, 0, 30000, 0, 16) + b"\0" * 16 + b"\0")
        rsp = read(s)
        if struct.unpack(">q", rsp[8:16])[0] == 0:
            raise OSError("no session")
        frame(s, struct.pack(">iii", 1, 4, len(path)) + path + b"\0")
        rsp = read(s)
        xid, zxid, err = struct.unpack(">iqi", rsp[:16])
        if err == 0:
            print(f"{time.monotonic() - t0:.2f}")
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.02)
print("timeout")
sys.exit(1)
PY
}


# populate_args "$@": the options of the populate-based scripts (scale.sh,
# snapshot.sh): --count N (1,000,000) and --targets "corral zookeeper";
# sets COUNT, TARGETS and SESSIONS (16, as zk-load populates).
populate_args() {
  COUNT=1000000
  TARGETS="corral zookeeper"
  SESSIONS=16
  while [ $# -gt 0 ]; do
    case $1 in
      --count) COUNT=$2; shift 2 ;;
      --targets) TARGETS=$2; shift 2 ;;
      *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
  done
}
