#!/usr/bin/env bash
# Memory per idle session and per watch, side by side: a standalone Corral
# and a standalone ZooKeeper 3.8 (Debian jars, upstream JVM), each started
# fresh for each phase, its resident memory read before and after `hold`
# opens the sessions or sets the watches (benches/src/bin/hold.rs).
#
#   benches/footprint.sh [--sessions 10000] [--watches 1000000]
#                        [--watch-sessions 100] [--targets "corral zookeeper"]
#
# sessions: --sessions idle sessions (30 s timeout, pinging). watches:
# --watches exists-watches over --watch-sessions sessions, each on a path
# of its own. Both readings of ZooKeeper follow a full GC (`jcmd GC.run`),
# so that its figure is live memory, not garbage. Prints one JSON line per
# server and phase: resident memory before and after, bytes each, and how
# long the set-up took. Servers listen on 127.0.0.1 only and are stopped by
# the PIDs this script started.
set -euo pipefail

SESSIONS=10000
WATCHES=1000000
WATCH_SESSIONS=100
TARGETS="corral zookeeper"
while [ $# -gt 0 ]; do
  case $1 in
    --sessions) SESSIONS=$2; shift 2 ;;
    --watches) WATCHES=$2; shift 2 ;;
    --watch-sessions) WATCH_SESSIONS=$2; shift 2 ;;
    --targets) TARGETS=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

. "$(dirname "$0")/lib.sh"
ensure_zookeeper
build_release
HOLD="$ROOT/target/release/hold"
# Each end of a session holds a descriptor: as many as this shell may.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((SESSIONS + 1000)) ]; then
  echo "open files limited to $(ulimit -n): fewer than --sessions $SESSIONS needs" >&2
  exit 1
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/corral-footprint.XXXXXX")
PIDS=()
ZKDIR=""
cleanup() {
  exec 3>&- 2>/dev/null || true
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  if [ -n "$ZKDIR" ]; then bash "$ZKSTOP" "$ZKDIR" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# rss_kib PID [zookeeper]: resident KiB, after a full GC for the JVM.
rss_kib() {
  if [ "${2:-}" = zookeeper ]; then
    jcmd "$1" GC.run > /dev/null
    sleep 1
  fi
  awk '/^VmRSS/ {print $2}' "/proc/$1/status"
}

# start TARGET PORT DIR: sets PID.
start() {
  if [ "$1" = corral ]; then
    "$CORRAL" --client-addr "127.0.0.1:$2" --data-dir "$3" --max-client-cnxns 0 \
      --admin-port 0 --metrics-port 0 --log warn > "$3.log" 2>&1 &
    PID=$!
    PIDS+=("$PID")
    wait_mode "$2"
  else
    ZKDIR=$3
    bash "$ZKREF" "$3" "$2" > /dev/null
    PID=$(cat "$3/zk.pid")
  fi
}

stop() {
  if [ "$1" = zookeeper ]; then
    bash "$ZKSTOP" "$ZKDIR" > /dev/null 2>&1 || true
    ZKDIR=""
  else
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
}

for target in $TARGETS; do
  for phase in sessions watches; do
    p=$(free_port)
    dir="$WORK/$target-$phase"
    start "$target" "$p" "$dir"
    # A short warm-up: sessions and watches come and go once, so that
    # neither side's first-use allocations count.
    "$HOLD" --servers "127.0.0.1:$p" --sessions 100 --watches 1000 < /dev/null > /dev/null
    sleep 2
    before=$(rss_kib "$PID" "$target")
    if [ "$phase" = sessions ]; then
      args=(--sessions "$SESSIONS")
      count=$SESSIONS
    else
      args=(--sessions "$WATCH_SESSIONS" --watches "$WATCHES")
      count=$WATCHES
    fi
    rm -f "$WORK/in"
    mkfifo "$WORK/in"
    "$HOLD" --servers "127.0.0.1:$p" "${args[@]}" < "$WORK/in" > "$WORK/out" &
    hold=$!
    PIDS+=("$hold")
    exec 3> "$WORK/in"
    until [ -s "$WORK/out" ]; do
      if ! kill -0 "$hold" 2>/dev/null; then
        echo "hold ended before it was ready" >&2
        exit 1
      fi
      sleep 0.2
    done
    sleep 3
    after=$(rss_kib "$PID" "$target")
    exec 3>&-
    wait "$hold" || true
    /usr/bin/python3 - "$target" "$phase" "$count" "$before" "$after" "$(cat "$WORK/out")" <<'PY'
import json, sys
target, phase, count, before, after, held = sys.argv[1:7]
count, before, after = int(count), int(before), int(after)
print(json.dumps({"server": target, "phase": phase, "count": count,
                  "setup_s": json.loads(held)["setup_s"],
                  "rss_before_mib": round(before / 1024, 1), "rss_after_mib": round(after / 1024, 1),
                  "bytes_each": round((after - before) * 1024 / count)}))
PY
    stop "$target"
  done
done
