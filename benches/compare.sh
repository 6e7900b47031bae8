#!/usr/bin/env bash
# Side-by-side: Corral and Apache ZooKeeper 3.8 (Debian jars, upstream
# defaults, fsync on), each as a standalone server and as a 3-server
# ensemble on loopback, driven by the same load generator (zk-load) in
# alternation. Prints one JSON line per run and a table of medians with
# the ratio Corral / ZooKeeper.
#
#   benches/compare.sh [--runs N] [--seconds S] [--topologies "1 3"]
#                      [--workloads "set"] [--clients "1 16 256"]
#                      [--inflight 1]
#
# Every server listens on 127.0.0.1 only and is stopped (by the PID this
# script started) when it ends. Needs: cargo, java and the Debian
# `zookeeper` package, python3.
set -euo pipefail

RUNS=3
SECONDS_PER_RUN=5
TOPOLOGIES="1 3"
WORKLOADS="set"
CLIENTS="1 16 256"
INFLIGHT=1
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --seconds) SECONDS_PER_RUN=$2; shift 2 ;;
    --topologies) TOPOLOGIES=$2; shift 2 ;;
    --workloads) WORKLOADS=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --inflight) INFLIGHT=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

. "$(dirname "$0")/lib.sh"
build_release
WORK=$(mktemp -d "${TMPDIR:-/tmp}/corral-compare.XXXXXX")
RESULTS="$WORK/results.jsonl"
CORRAL_PIDS=()
ZK_DIRS=()

cleanup() {
  for pid in "${CORRAL_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for d in "${ZK_DIRS[@]}"; do
    bash "$ZKSTOP" "$d" >/dev/null 2>&1 || true
  done
  for pid in "${CORRAL_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  CORRAL_PIDS=()
  ZK_DIRS=()
}
# The servers' data goes; the results stay.
trap 'cleanup; rm -rf "$WORK"/corral[0-9]* "$WORK"/zk[0-9]*; echo "results kept in $RESULTS" >&2' EXIT

# start_corral N -> sets CORRAL_ADDRS
start_corral() {
  local n=$1 lines="" ports=() addrs=()
  for id in $(seq 1 "$n"); do
    ports+=("$(free_port)")
    if [ "$n" -gt 1 ]; then
      lines+="server.$id=127.0.0.1:$(free_port):$(free_port)"$'\n'
    fi
  done
  for id in $(seq 1 "$n"); do
    local dir="$WORK/corral$n-$id" port=${ports[$((id - 1))]}
    mkdir -p "$dir"
    echo "$id" > "$dir/myid"
    {
      echo "tickTime=2000"
      echo "initLimit=10"
      echo "syncLimit=5"
      echo "dataDir=$dir"
      echo "clientPort=$port"
      echo "clientPortAddress=127.0.0.1"
      echo "maxClientCnxns=0"
      echo "4lw.commands.whitelist=*"
      # As the reference runs: no AdminServer, no metrics endpoint.
      echo "admin.enableServer=false"
      echo "metricsProvider.httpPort=0"
      printf '%s' "$lines"
    } > "$dir/zoo.cfg"
    "$CORRAL" --config "$dir/zoo.cfg" --log warn > "$dir/corral.log" 2>&1 &
    CORRAL_PIDS+=("$!")
    addrs+=("127.0.0.1:$port")
  done
  for p in "${ports[@]}"; do wait_mode "$p"; done
  CORRAL_ADDRS=$(IFS=,; echo "${addrs[*]}")
}

# start_zk N -> sets ZK_ADDRS
start_zk() {
  local n=$1 lines=() ports=() addrs=() pids=()
  for id in $(seq 1 "$n"); do
    ports+=("$(free_port)")
    if [ "$n" -gt 1 ]; then
      lines+=("server.$id=127.0.0.1:$(free_port):$(free_port)")
    fi
  done
  for id in $(seq 1 "$n"); do
    local dir="$WORK/zk$n-$id" port=${ports[$((id - 1))]}
    ZK_DIRS+=("$dir")
    local extra=("initLimit=10" "syncLimit=5")
    if [ "$n" -gt 1 ]; then extra+=("${lines[@]}"); fi
    ZK_MYID=$id bash "$ZKREF" "$dir" "$port" "${extra[@]}" > "$dir.start.log" 2>&1 &
    pids+=("$!")
    addrs+=("127.0.0.1:$port")
  done
  for p in "${pids[@]}"; do wait "$p"; done
  ZK_ADDRS=$(IFS=,; echo "${addrs[*]}")
}

for topo in $TOPOLOGIES; do
  echo "== $topo-server: starting Corral and ZooKeeper" >&2
  start_corral "$topo"
  start_zk "$topo"
  for workload in $WORKLOADS; do
    for clients in $CLIENTS; do
      for run in $(seq 1 "$RUNS"); do
        for target in corral zookeeper; do
          if [ $target = corral ]; then addrs=$CORRAL_ADDRS; else addrs=$ZK_ADDRS; fi
          line=$("$LOAD" --servers "$addrs" --workload "$workload" --sessions "$clients" \
            --inflight "$INFLIGHT" --seconds "$SECONDS_PER_RUN" --label "$target" | tail -n 1)
          echo "$line" | /usr/bin/python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
d.update(topology=int(sys.argv[1]), run=int(sys.argv[2]))
print(json.dumps(d))' "$topo" "$run" | tee -a "$RESULTS"
        done
      done
    done
  done
  cleanup
done

/usr/bin/python3 - "$RESULTS" <<'PY'
import json, statistics, sys
from collections import defaultdict
rows = defaultdict(list)
for line in open(sys.argv[1]):
    d = json.loads(line)
    rows[(d["topology"], d["workload"], d["sessions"], d["inflight"], d["label"])].append(d)
keys = sorted({k[:4] for k in rows})
print()
print("| servers | workload | clients × in flight | Corral ops/s | ZooKeeper ops/s | ratio | Corral p50 / p99 ms | ZooKeeper p50 / p99 ms |")
print("|---|---|---|---|---|---|---|---|")
for k in keys:
    c, z = rows.get(k + ("corral",), []), rows.get(k + ("zookeeper",), [])
    if not c or not z:
        continue
    med = lambda rs, f: statistics.median(r[f] for r in rs)
    co, zo = med(c, "ops_per_s"), med(z, "ops_per_s")
    print(f"| {k[0]} | {k[1]} | {k[2]} × {k[3]} | {co:,.0f} | {zo:,.0f} | {co / zo:.2f}× | "
          f"{med(c, 'p50_ms'):.2f} / {med(c, 'p99_ms'):.2f} | {med(z, 'p50_ms'):.2f} / {med(z, 'p99_ms'):.2f} |")
print(f"\n(medians of {max(len(v) for v in rows.values())} runs each)")
PY
