#!/usr/bin/env bash
# Data-set scale, side by side: populate N znodes of 100 bytes (1,000 per
# parent) into a standalone Corral and a standalone ZooKeeper 3.8 (Debian
# jars, upstream defaults, fsync on), then report each server's resident
# memory, and the time from a restart after `kill -9` until a client reads
# the last node written.
#
#   benches/scale.sh [--count 1000000] [--targets "corral zookeeper"]
#
# Servers listen on 127.0.0.1 only and are stopped by the PIDs this script
# started. ZooKeeper runs with -Xmx1000m (upstream's default), which holds
# about a million such znodes; larger counts are for Corral alone.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
populate_args "$@"
ensure_zookeeper
build_release
WORK=$(mktemp -d "${TMPDIR:-/tmp}/corral-scale.XXXXXX")
PIDS=()
ZKDIR=""
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  if [ -n "$ZKDIR" ]; then bash "$ZKSTOP" "$ZKDIR" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

LAST=$(last_populated "$COUNT" "$SESSIONS")

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

for target in $TARGETS; do
  p=$(free_port)
  dir="$WORK/$target"
  mkdir -p "$dir"
  echo "== $target: populating $COUNT znodes" >&2
  if [ "$target" = corral ]; then
    "$CORRAL" --client-addr "127.0.0.1:$p" --data-dir "$dir" --max-client-cnxns 0 --admin-port 0 --metrics-port 0 --log warn \
      > "$dir/corral.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    time_to_read "$p" / > /dev/null
  else
    ZKDIR=$dir
    bash "$ZKREF" "$dir" "$p" > /dev/null
    pid=$(cat "$dir/zk.pid")
  fi
  load=$("$LOAD" --servers "127.0.0.1:$p" --workload populate --count "$COUNT" \
    --sessions "$SESSIONS" --inflight 64 --seconds 1800 --label "$target" | tail -n 1)
  sleep 5
  rss=$(rss_kib "$pid")
  disk=$(du -sk "$dir" | awk '{print $1}')
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  echo "== $target: restarting after kill -9" >&2
  if [ "$target" = corral ]; then
    "$CORRAL" --client-addr "127.0.0.1:$p" --data-dir "$dir" --max-client-cnxns 0 --admin-port 0 --metrics-port 0 --log warn \
      >> "$dir/corral.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
  else
    rm -f "$dir/zk.pid"
    ZK_KEEP_DATA=1 ZK_WAIT_TRIES=1200 bash "$ZKREF" "$dir" "$p" > /dev/null &
  fi
  restart=$(time_to_read "$p" "$LAST")
  if [ "$target" = zookeeper ]; then
    wait
    pid=$(cat "$dir/zk.pid")
  fi
  rss2=$(rss_kib "$pid")
  echo "$load" | /usr/bin/python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
count, rss, rss2, disk, restart = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
print(json.dumps({"server": d["label"], "znodes": count, "populate_ops_per_s": d["ops_per_s"],
  "rss_mib": round(rss / 1024), "bytes_per_znode": round(rss * 1024 / count),
  "rss_after_restart_mib": round(rss2 / 1024), "disk_mib": round(disk / 1024),
  "restart_to_read_s": float(restart) if restart != "timeout" else None}))' \
    "$COUNT" "$rss" "$rss2" "$disk" "$restart"
  kill -9 "$pid" 2>/dev/null || true
  if [ "$target" = zookeeper ]; then bash "$ZKSTOP" "$dir" >/dev/null 2>&1 || true; ZKDIR=""; fi
done
