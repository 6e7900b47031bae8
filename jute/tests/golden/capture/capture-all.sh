#!/usr/bin/env bash
# Re-capture every golden vector in jute/tests/golden/ from real traffic
# between real clients and a real ZooKeeper 3.8 server (Debian packages).
#
#   jute/tests/golden/capture/capture-all.sh
#
# Needs: zookeeper + libzookeeper-java (server jars), java + javac (17),
# python3-kazoo for /usr/bin/python3, zookeeper-bin (cli_mt, optional).
# Everything listens on 127.0.0.1 only, on ports 21810-21823:
#   21810 reference server (standalone)   21811 recording proxy in front of it
#   21820 reference server (1-member ensemble, reconfigEnabled)
#   21821/21822 its quorum/election ports 21823 recording proxy in front of it
# (21830-21832 appear only inside reconfig requests; nothing listens there).
#
# Safe to run repeatedly: it overwrites the *.txt vectors.  It stops only
# the processes it started, by PID.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
GOLDEN=$(dirname "$HERE")
PY=/usr/bin/python3
J=/usr/share/java

ZK1=21810; PROXY1=21811
ZK2=21820; ZK2_QUORUM=21821; ZK2_ELECT=21822; PROXY2=21823
OBSERVER="server.2=127.0.0.1:21831:21832:observer;127.0.0.1:21830"

SERVER_DESC="ZooKeeper 3.8.0 (Debian $(dpkg-query -W -f '${Version}' zookeeper 2>/dev/null || echo unknown))"

WORK=$(mktemp -d /tmp/corral-golden.XXXXXX)
PROXY_PIDS=()
OK=0

cleanup() {
  for pid in "${PROXY_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
  done
  "$HERE/zk-stop.sh" "$WORK/zk1" || true
  "$HERE/zk-stop.sh" "$WORK/zk2" || true
  if [ "$OK" = 1 ]; then
    rm -rf "$WORK"
  else
    echo "capture-all: FAILED; logs kept in $WORK" >&2
  fi
}
trap cleanup EXIT

port_free() {
  "$PY" - "$1" <<'PY'
import socket, sys
s = socket.socket()
# SO_REUSEADDR: ignore TIME_WAIT leftovers, still fail if anything listens
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

for p in $ZK1 $PROXY1 $ZK2 $ZK2_QUORUM $ZK2_ELECT $PROXY2; do
  if ! port_free "$p"; then
    echo "capture-all: port $p on 127.0.0.1 is busy" >&2
    exit 1
  fi
done

echo "== compiling Drive.java"
mkdir -p "$WORK/classes"
CP="$J/zookeeper.jar:$J/zookeeper-jute.jar"
javac -nowarn -implicit:none -d "$WORK/classes" -cp "$CP" "$HERE/Drive.java"
# slf4j-nop silences the client's logging (the server logs to zk.log).
RUNCP="$CP:$J/slf4j-api.jar:$J/slf4j-nop.jar:$WORK/classes"

# Old vectors go; every scenario writes its own PREFIX-NN.txt files.
rm -f "$GOLDEN"/*-[0-9][0-9].txt

start_zk1() {
  "$HERE/zk-stop.sh" "$WORK/zk1"
  "$HERE/zk-ref.sh" "$WORK/zk1" "$ZK1"
}

# start_proxy LISTEN TARGET PREFIX CLIENT SCENARIO [--drop-hold S]
start_proxy() {
  local listen=$1 target=$2 prefix=$3 client=$4 scenario=$5
  shift 5
  local pidfile="$WORK/proxy-$prefix.pid"
  rm -f "$pidfile"
  "$PY" "$HERE/record_proxy.py" "$listen" "$target" "$GOLDEN" "$prefix" \
    --client "$client" --scenario "$scenario" --server "$SERVER_DESC" \
    --pidfile "$pidfile" "$@" 2>>"$WORK/proxy-$prefix.log" &
  local pid=$!
  PROXY_PIDS+=("$pid")
  for _ in $(seq 1 100); do
    if [ -s "$pidfile" ] && ! port_free "$listen"; then
      CUR_PROXY=$pid
      return 0
    fi
    sleep 0.1
  done
  echo "capture-all: proxy $prefix did not start" >&2
  return 1
}

stop_proxy() {
  sleep 0.5                       # let the last frames drain
  kill "$CUR_PROXY" 2>/dev/null || true
  wait "$CUR_PROXY" 2>/dev/null || true
}

# scenario PREFIX CLIENT "DESCRIPTION" [proxy options] -- COMMAND...
scenario() {
  local prefix=$1 client=$2 desc=$3
  shift 3
  local popts=()
  while [ "$1" != "--" ]; do popts+=("$1"); shift; done
  shift
  echo "== $prefix: $desc"
  start_proxy "$PROXY1" "$ZK1" "$prefix" "$client" "$desc" "${popts[@]}"
  local cmd=("$@")
  cmd=("${cmd[@]//@PROXY_PID@/$CUR_PROXY}")
  if ! timeout 300 "${cmd[@]}" >"$WORK/$prefix.out" 2>&1; then
    echo "capture-all: driver for $prefix failed; output:" >&2
    tail -40 "$WORK/$prefix.out" >&2
    exit 1
  fi
  stop_proxy
  ls "$GOLDEN/$prefix"-*.txt | sed 's/^/   /'
}

start_zk1
scenario java-crud java \
  "java-crud: Java client, every create mode (create/create2/createContainer/createTTL), delete, exists, getData, setData, getACL, setACL, getChildren, getChildren2, sync, getEphemerals, getAllChildrenNumber, whoAmI, auth, getConfig, reconfig on standalone (error), ACL flavours, success and error cases, TTL/container expiry, pings, a 2nd unauthenticated session (NOAUTH), a 3rd session with a failing auth scheme, closeSession" \
  -- java -XX:TieredStopAtLevel=1 -cp "$RUNCP" Drive crud "$PROXY1" "$ZK1"

start_zk1
scenario java-multi java \
  "java-multi: Java client, multi (create/createContainer/createTTL/setData/check/delete) succeeding and failing at first/middle/last op, transaction() API, multiRead (getData/getChildren) with and without per-op errors" \
  -- java -XX:TieredStopAtLevel=1 -cp "$RUNCP" Drive multi "$PROXY1" "$ZK1"

start_zk1
scenario java-watches java \
  "java-watches: Java client, one-shot watches firing every event type, checkWatches/removeWatches incl. NOWATCHER, connection dropped by the proxy with standard watches (-> setWatches on reconnect, changes made meanwhile fire at once), addWatch PERSISTENT and PERSISTENT_RECURSIVE, second drop (-> setWatches2), removal of persistent watches" \
  --drop-hold 2 \
  -- java -XX:TieredStopAtLevel=1 -cp "$RUNCP" Drive watches "$PROXY1" "$ZK1" @PROXY_PID@

start_zk1
scenario kazoo kazoo \
  "kazoo: kazoo 2.8 (python3-kazoo), creates of several modes, get/set/exists/children with watches, transaction (multi; succeeding, failing, empty), sync, add_auth, ACL ops, Lock recipe with two contenders, pings, close; its four-letter-word connections are not recorded" \
  -- "$PY" "$HERE/drive_kazoo.py" "$PROXY1"

start_zk1
scenario zkcli zkCli \
  "zkcli: zkCli.sh (ZooKeeperMain) scripted session: create (all flags), ls/ls -s/ls -R/ls -w, get/get -s/get -w, set, stat, getAcl/setAcl, addauth, whoami, getAllChildrenNumber, getEphemerals, addWatch (recursive and persistent), delete, deleteall, sync, config, quit" \
  -- "$HERE/drive_zkcli.sh" "$PROXY1"

if [ -x /usr/lib/zookeeper/bin/cli_mt ]; then
  start_zk1
  scenario cclient "C (cli_mt, libzookeeper-mt 3.8.0)" \
    "cclient: C client shell cli_mt: addauth, create modes (+e +s +c +t), create2, ls/ls2 (watches), set/get/exists/wexists, sync, config, reconfig (standalone error), delete errors, then the proxy drops the connection and the client re-sends auth + setWatches on reconnect" \
    --drop-hold 1 \
    -- "$HERE/drive_cli_mt.sh" "$PROXY1" @PROXY_PID@
else
  echo "== cclient: skipped (cli_mt not installed)"
fi

start_zk1
scenario raw-edge raw-python \
  "raw-edge: hand-made but valid frames from a raw Python socket (not a real client) to record the real server's answers: ConnectRequest without the readOnly byte, re-attach to an unknown session id, empty multi and empty multiRead, readOnly=true ConnectRequest" \
  -- "$PY" "$HERE/drive_raw.py" "$PROXY1" edge

start_zk1
scenario raw-malformed raw-python \
  "raw-malformed: deliberately broken requests from a raw Python socket (not a real client) to record the real server's answers: unknown opcode 999, getData with garbage body, getData with truncated body, multi containing a getData op, a second ConnectRequest on an established connection" \
  -- "$PY" "$HERE/drive_raw.py" "$PROXY1" malformed

"$HERE/zk-stop.sh" "$WORK/zk1"

echo "== java-reconfig: reference server as a 1-member ensemble"
"$HERE/zk-ref.sh" "$WORK/zk2" "$ZK2" initLimit=10 syncLimit=5 \
  standaloneEnabled=false reconfigEnabled=true skipACL=yes \
  "server.1=127.0.0.1:$ZK2_QUORUM:$ZK2_ELECT:participant;127.0.0.1:$ZK2"
desc="java-reconfig: Java ZooKeeperAdmin against a 1-member ensemble (standaloneEnabled=false, reconfigEnabled=true, skipACL=yes): getConfig with watch, reconfig with stale version (BADVERSION), incremental add of an observer (config-changed notification), incremental remove, non-incremental newMembers, removing the only voter (BADARGUMENTS)"
echo "== java-reconfig: $desc"
start_proxy "$PROXY2" "$ZK2" java-reconfig java "$desc"
timeout 300 java -XX:TieredStopAtLevel=1 -cp "$RUNCP" Drive reconfig-quorum "$PROXY2" "$ZK2" x "$OBSERVER" \
  >"$WORK/java-reconfig.out" 2>&1 || { tail -40 "$WORK/java-reconfig.out" >&2; exit 1; }
stop_proxy
ls "$GOLDEN"/java-reconfig-*.txt | sed 's/^/   /'
"$HERE/zk-stop.sh" "$WORK/zk2"

echo "== coverage"
"$PY" "$HERE/coverage.py" "$GOLDEN" --update-readme "$GOLDEN/README.md"
echo "== total size: $(cat "$GOLDEN"/*-[0-9][0-9].txt | wc -c) bytes in $(ls "$GOLDEN"/*-[0-9][0-9].txt | wc -l) files"
OK=1
