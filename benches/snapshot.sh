#!/usr/bin/env bash
# Snapshots, side by side: a 3-server Corral ensemble and a 3-server
# ZooKeeper 3.8 ensemble (Debian jars, upstream JVM settings, fsync on,
# snapCount 100,000 on both) are each populated with N znodes of 100 bytes;
# then
#   - build: `mntr`'s zk_max_snapshottime and zk_cnt_snapshottime on every
#     member (the longest snapshot write, i.e. the one of the largest tree);
#   - install: one follower is killed (-9), its data deleted, and restarted;
#     timed until a new session on it reads the last znode written. The
#     leader must send it the whole tree: a snapshot (Corral keeps at most
#     1,000 log entries behind its last snapshot; ZooKeeper sends SNAP to a
#     member this far behind).
#
#   benches/snapshot.sh [--count 1000000] [--targets "corral zookeeper"]
#
# One JSON line per target. Loopback only; every process started here is
# stopped by its PID.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
populate_args "$@"
ensure_zookeeper
build_release
WORK=$(mktemp -d "${TMPDIR:-/tmp}/corral-snapshot.XXXXXX")
CORRAL_PIDS=()
ZK_DIRS=()
cleanup() {
  for pid in "${CORRAL_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for d in "${ZK_DIRS[@]}"; do bash "$ZKSTOP" "$d" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
LAST=$(last_populated "$COUNT" "$SESSIONS")

mntr_key() { /usr/bin/python3 "$CAPTURE/fourletter.py" "$1" mntr | awk -v k="$2" '$1 == k {print $2}'; }

for target in $TARGETS; do
  ports=() peers=""
  for id in 1 2 3; do
    ports+=("$(free_port)")
    peers+="server.$id=127.0.0.1:$(free_port):$(free_port)"$'\n'
  done
  start_member() { # start_member ID [keep]
    local id=$1 dir="$WORK/$target-$1" port=${ports[$(( $1 - 1 ))]}
    mkdir -p "$dir"
    if [ "$target" = corral ]; then
      echo "$id" > "$dir/myid"
      {
        echo "tickTime=2000"; echo "initLimit=10"; echo "syncLimit=5"
        echo "dataDir=$dir"; echo "clientPort=$port"; echo "clientPortAddress=127.0.0.1"
        echo "maxClientCnxns=0"; echo "4lw.commands.whitelist=*"; echo "snapCount=100000"
        echo "admin.enableServer=false"; echo "metricsProvider.httpPort=0"
        printf '%s' "$peers"
      } > "$dir/zoo.cfg"
      "$CORRAL" --config "$dir/zoo.cfg" --log info >> "$dir/corral.log" 2>&1 &
      CORRAL_PIDS[$id]=$!
    else
      local lines=()
      mapfile -t lines < <(printf '%s' "$peers")
      ZK_MYID=$id bash "$ZKREF" "$dir" "$port" "initLimit=10" "syncLimit=5" "snapCount=100000" \
        "${lines[@]}" > "$dir.start.log" 2>&1 &
    fi
  }
  echo "== $target: 3 servers, populating $COUNT znodes" >&2
  for id in 1 2 3; do start_member "$id"; done
  if [ "$target" = zookeeper ]; then
    wait
    for id in 1 2 3; do ZK_DIRS+=("$WORK/$target-$id"); done
  fi
  for p in "${ports[@]}"; do wait_mode "$p"; done
  addrs=$(printf '127.0.0.1:%s,' "${ports[@]}"); addrs=${addrs%,}
  "$LOAD" --servers "$addrs" --workload populate --count "$COUNT" --sessions "$SESSIONS" \
    --inflight 64 --seconds 1800 --label "$target" | tail -n 1 > "$WORK/$target.load"
  sleep 10
  builds=()
  follower=""
  for id in 1 2 3; do
    p=${ports[$((id - 1))]}
    builds+=("$(mntr_key "$p" zk_max_snapshottime)/$(mntr_key "$p" zk_cnt_snapshottime)")
    mode=$(/usr/bin/python3 "$CAPTURE/fourletter.py" "$p" --mode)
    if [ -z "$follower" ] && [ "$mode" = follower ]; then follower=$id; fi
  done
  echo "== $target: rebuilding member $follower from nothing" >&2
  dir="$WORK/$target-$follower"
  if [ "$target" = corral ]; then
    kill -9 "${CORRAL_PIDS[$follower]}"
    wait "${CORRAL_PIDS[$follower]}" 2>/dev/null || true
    rm -rf "$dir/raft" "$dir/tree" "$dir/tree-snapshots"
    start_member "$follower"
  else
    kill -9 "$(cat "$dir/zk.pid")"
    rm -f "$dir/zk.pid"
    start_member "$follower" # zk-ref.sh starts on an empty data directory
  fi
  install=$(time_to_read "${ports[$((follower - 1))]}" "$LAST")
  installed_ms=null
  if [ "$target" = zookeeper ]; then
    wait
  else
    # The rebuilt member logs how long installing the snapshot took.
    installed_ms=$(sed 's/\x1b\[[0-9;]*m//g' "$dir/corral.log" \
      | grep -o 'snapshot installed.* ms=[0-9]*' | tail -n 1 | sed 's/.*ms=//' || true)
    installed_ms=${installed_ms:-null}
  fi
  /usr/bin/python3 - "$(cat "$WORK/$target.load")" "$target" "$COUNT" "$install" "$installed_ms" "${builds[@]}" <<'PY'
import json, sys
load = json.loads(sys.argv[1])
target, count, install, installed_ms, builds = sys.argv[2], int(sys.argv[3]), sys.argv[4], json.loads(sys.argv[5]), sys.argv[6:]
ms = [int(b.split("/")[0] or 0) for b in builds]
cnt = [int(b.split("/")[1] or 0) for b in builds]
print(json.dumps({"server": target, "znodes": count, "populate_ops_per_s": load["ops_per_s"],
  "snapshot_build_max_ms": max(ms), "snapshots_per_member": cnt, "install_ms": installed_ms,
  "rebuilt_member_to_read_s": float(install) if install != "timeout" else None}))
PY
  for pid in "${CORRAL_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  CORRAL_PIDS=()
  for d in "${ZK_DIRS[@]}"; do bash "$ZKSTOP" "$d" >/dev/null 2>&1 || true; done
  ZK_DIRS=()
done
