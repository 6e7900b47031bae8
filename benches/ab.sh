#!/usr/bin/env bash
# A/B of two (or more) Corral builds, alternated on one machine: for each
# round and each build, a fresh standalone server and a fresh 3-server
# ensemble on loopback, 3 s of sets to warm up, then `zk-load` sets at
# 64x4 and at 1x1 (5 s after 1 s not counted). Prints one JSON line per
# build, round and topology, then each build's medians.
#
#   benches/ab.sh [--rounds N] BUILD_A BUILD_B ...
#
# A build is the path of a `corral` binary (copy target/release/corral
# aside before rebuilding). Servers listen on 127.0.0.1 only and are
# stopped, by the PIDs this script started, after each measurement.
set -euo pipefail

ROUNDS=3
BUILDS=()
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    *) BUILDS+=("$1"); shift ;;
  esac
done
[ ${#BUILDS[@]} -ge 2 ] || { echo "usage: $0 [--rounds N] BUILD_A BUILD_B ..." >&2; exit 2; }

. "$(dirname "$0")/lib.sh"
build_release
WORK=$(mktemp -d "${TMPDIR:-/tmp}/corral-ab.XXXXXX")
RESULTS="$WORK/results.jsonl"
PIDS=()
stop_all() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
trap 'stop_all; rm -rf "$WORK"/s*; echo "results kept in $RESULTS" >&2' EXIT

# start BUILD N: N members (1: standalone); sets ADDRS.
start() {
  local build=$1 n=$2 lines="" ports=() addrs=()
  for id in $(seq 1 "$n"); do
    ports+=("$(free_port)")
    if [ "$n" -gt 1 ]; then
      lines+="server.$id=127.0.0.1:$(free_port):$(free_port)"$'\n'
    fi
  done
  for id in $(seq 1 "$n"); do
    local dir="$WORK/s$n-$id" port=${ports[$((id - 1))]}
    rm -rf "$dir"; mkdir -p "$dir"; echo "$id" > "$dir/myid"
    printf 'tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\n4lw.commands.whitelist=*\nadmin.enableServer=false\nmetricsProvider.httpPort=0\n%s' \
      "$dir" "$port" "$lines" > "$dir/zoo.cfg"
    "$build" --config "$dir/zoo.cfg" --log warn > "$dir/corral.log" 2>&1 &
    PIDS+=("$!")
    addrs+=("127.0.0.1:$port")
  done
  for p in "${ports[@]}"; do wait_mode "$p"; done
  ADDRS=$(IFS=,; echo "${addrs[*]}")
}

for r in $(seq 1 "$ROUNDS"); do
  for build in "${BUILDS[@]}"; do
    for topo in 1 3; do
      start "$build" "$topo"
      "$LOAD" --servers "$ADDRS" --workload set --seconds 3 --warmup 0 > /dev/null
      many=$("$LOAD" --servers "$ADDRS" --workload set --seconds 5 --warmup 1 | tail -1)
      one=$("$LOAD" --servers "$ADDRS" --workload set --sessions 1 --inflight 1 --seconds 5 --warmup 1 | tail -1)
      stop_all
      echo "{\"build\":\"$build\",\"topology\":$topo,\"round\":$r,\"set64\":$many,\"set1\":$one}" | tee -a "$RESULTS"
    done
  done
done

/usr/bin/python3 - "$RESULTS" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| build | servers | set 64x4 ops/s (spread) | set 1x1 p50 ms (spread) |")
print("|---|---|---|---|")
for build in dict.fromkeys(r["build"] for r in rows):
    for topo in (1, 3):
        rs = [r for r in rows if r["build"] == build and r["topology"] == topo]
        many = [r["set64"]["ops_per_s"] for r in rs]
        one = [r["set1"]["p50_ms"] for r in rs]
        print(f"| {build} | {topo} | {statistics.median(many):,.0f} ({min(many):,.0f}–{max(many):,.0f}) "
              f"| {statistics.median(one):.3f} ({min(one):.3f}–{max(one):.3f}) |")
EOF
