#!/usr/bin/env bash
# Side-by-side: Corral and Apache ZooKeeper 3.8 (Debian jars, upstream
# defaults, fsync on), each as a standalone server and as a 3-server
# ensemble on loopback, driven by the same load generator (zk-load) in
# alternation. Prints one JSON line per run and a table of medians, with
# the spread and the ratio Corral / ZooKeeper.
#
#   benches/compare.sh [--runs N] [--seconds S] [--topologies "1 3"]
#                      [--cases "set:64:4 get:64:4 ..."]
#
# A case is WORKLOAD:SESSIONS:INFLIGHT[:RATE]. RATE `zk` paces both
# servers at ZooKeeper's median rate in this run's `set:64:4` case (its
# saturation rate), so their latencies compare at the same offered load.
# The default cases are issue #8's: set, get, mixed, create/delete churn
# and lock churn at 64 sessions x 4 in flight, session establishment at
# 64, watch fan-out to 1,000 watchers, one client with one write at a
# time, and sets at ZooKeeper's saturation rate.
#
# Installs the Debian `zookeeper` package first if it is missing (root or
# sudo). Every server listens on 127.0.0.1 only and is stopped (by the PID
# this script started) when it ends. Needs cargo and python3.
set -euo pipefail

RUNS=3
SECONDS_PER_RUN=5
TOPOLOGIES="1 3"
CASES="set:64:4 get:64:4 mixed:64:4 churn:64:4 lock:64:4 sessions:64:1 watch:1000:1 set:1:1 set:64:4:zk"
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --seconds) SECONDS_PER_RUN=$2; shift 2 ;;
    --topologies) TOPOLOGIES=$2; shift 2 ;;
    --cases) CASES=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

. "$(dirname "$0")/lib.sh"
ensure_zookeeper
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

# zk_rate TOPO: ZooKeeper's median ops/s in this run's set:64:4 case.
zk_rate() {
  /usr/bin/python3 - "$RESULTS" "$1" <<'PY'
import json, statistics, sys
rates = [d["ops_per_s"] for d in map(json.loads, open(sys.argv[1]))
         if d["topology"] == int(sys.argv[2]) and d["label"] == "zookeeper"
         and d["workload"] == "set" and d["sessions"] == 64 and d["inflight"] == 4
         and d.get("offered_rate") is None]
print(round(statistics.median(rates)) if rates else "")
PY
}

for topo in $TOPOLOGIES; do
  echo "== $topo-server: starting Corral and ZooKeeper" >&2
  start_corral "$topo"
  start_zk "$topo"
  for case in $CASES; do
    IFS=: read -r workload clients inflight rate <<< "$case"
    rate_args=()
    if [ "${rate:-}" = zk ]; then
      rate=$(zk_rate "$topo")
      if [ -z "$rate" ]; then
        echo "case $case: no set:64:4 figure for ZooKeeper before it; skipped" >&2
        continue
      fi
    fi
    if [ -n "${rate:-}" ]; then rate_args=(--rate "$rate"); fi
    for run in $(seq 1 "$RUNS"); do
      for target in corral zookeeper; do
        if [ $target = corral ]; then addrs=$CORRAL_ADDRS; else addrs=$ZK_ADDRS; fi
        line=$("$LOAD" --servers "$addrs" --workload "$workload" --sessions "$clients" \
          --inflight "$inflight" --seconds "$SECONDS_PER_RUN" --label "$target" \
          "${rate_args[@]}" | tail -n 1)
        echo "$line" | /usr/bin/python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
d.update(topology=int(sys.argv[1]), run=int(sys.argv[2]))
print(json.dumps(d))' "$topo" "$run" | tee -a "$RESULTS"
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
    key = (d["topology"], d["workload"], d["sessions"], d["inflight"], d.get("offered_rate") or 0)
    rows[key + (d["label"],)].append(d)
order = []
for k in rows:
    if k[:5] not in order:
        order.append(k[:5])
print()
print("| servers | case | Corral ops/s (spread) | ZooKeeper ops/s (spread) | ratio | Corral p50 / p99 ms | ZooKeeper p50 / p99 ms | p99, Corral / ZooKeeper | generator CPU, Corral / ZooKeeper |")
print("|---|---|---|---|---|---|---|---|---|")
for k in order:
    c, z = rows.get(k + ("corral",), []), rows.get(k + ("zookeeper",), [])
    if not c or not z:
        continue
    med = lambda rs, f: statistics.median(r[f] for r in rs)
    spread = lambda rs: f"{min(r['ops_per_s'] for r in rs):,.0f}–{max(r['ops_per_s'] for r in rs):,.0f}"
    co, zo = med(c, "ops_per_s"), med(z, "ops_per_s")
    case = f"{k[1]} {k[2]}×{k[3]}" + (f" at {k[4]:,.0f}/s" if k[4] else "")
    print(f"| {k[0]} | {case} | {co:,.0f} ({spread(c)}) | {zo:,.0f} ({spread(z)}) | {co / zo:.2f}× | "
          f"{med(c, 'p50_ms'):.2f} / {med(c, 'p99_ms'):.2f} | {med(z, 'p50_ms'):.2f} / {med(z, 'p99_ms'):.2f} | "
          f"{med(c, 'p99_ms') / max(med(z, 'p99_ms'), 1e-9):.2f} | "
          f"{100 * med(c, 'loadgen_cpu'):.0f} % / {100 * med(z, 'loadgen_cpu'):.0f} % |")
print(f"\n(medians of {max(len(v) for v in rows.values())} runs each; watch: ops are fan-out rounds, "
      "latency from the set to the last watcher notified; sessions: an op is a connect + close)")
PY
