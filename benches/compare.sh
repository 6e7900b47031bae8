#!/usr/bin/env bash
# Side-by-side: Corral and Apache ZooKeeper 3.8 (Debian jars, upstream
# defaults, fsync on), each as a standalone server and as a 3-server
# ensemble on loopback, driven by the same load generator (zk-load) in
# alternation. Prints one JSON line per run and a table of medians, with
# the spread and the ratio Corral / ZooKeeper.
#
#   benches/compare.sh [--runs N] [--seconds S] [--warmup S] [--warm-start S]
#                      [--topologies "1 3"] [--cases "set:64:4 get:64:4 ..."]
#                      [--generators "zk-load java"] [--zoo-cfg "forceSync=no ..."]
#
# --zoo-cfg adds the same zoo.cfg lines to both servers (e.g. forceSync=no,
# which both read).
#
# A case is WORKLOAD:SESSIONS:INFLIGHT[:RATE]. RATE `zk` paces both
# servers at ZooKeeper's median rate in this run's `set:64:4` case (its
# saturation rate), so their latencies compare at the same offered load.
# The default cases are issue #8's: set, get, mixed, create/delete churn
# and lock churn at 64 sessions x 4 in flight, session establishment at
# 64, watch fan-out to 1,000 watchers, one client with one write at a
# time, and sets at ZooKeeper's saturation rate.
#
# The ruler. Each freshly started server first takes --warm-start seconds
# of sets and as many of gets, and every run starts with --warmup seconds
# of load that are not counted (a JVM compiles its hot paths under load;
# without this the first runs of a freshly started ZooKeeper ensemble
# measured a third of its rate). Before each run the script waits until the machine is idle and the
# other server uses no CPU, and it records the other server's CPU during
# the run (`other_cpu`, shown in the table): the side not measured is
# proven idle. Two generators: zk-load (Rust, this repository) for every
# case, and ZooKeeper's own Java client on its async API
# (benches/java/ZkLoad.java) for set, get and mixed. The ratio is Corral's
# best median over ZooKeeper's best median, whichever generator gave each.
#
# Installs the Debian `zookeeper` package first if it is missing (root or
# sudo). Every server listens on 127.0.0.1 only and is stopped (by the PID
# this script started) when it ends. Needs cargo and python3.
set -euo pipefail

RUNS=3
SECONDS_PER_RUN=5
WARMUP=2
WARM_START=10
GENERATORS="zk-load java"
ZOO_CFG=""
TOPOLOGIES="1 3"
CASES="set:64:4 get:64:4 mixed:64:4 churn:64:4 lock:64:4 sessions:64:1 watch:1000:1 set:1:1 set:64:4:zk"
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --seconds) SECONDS_PER_RUN=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --warm-start) WARM_START=$2; shift 2 ;;
    --generators) GENERATORS=$2; shift 2 ;;
    --zoo-cfg) ZOO_CFG=$2; shift 2 ;;
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
if [[ " $GENERATORS " == *" java "* ]]; then
  build_java_load "$WORK/java"
fi
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
      for line in $ZOO_CFG; do echo "$line"; done
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
    for line in $ZOO_CFG; do extra+=("$line"); done
    if [ "$n" -gt 1 ]; then extra+=("${lines[@]}"); fi
    ZK_MYID=$id bash "$ZKREF" "$dir" "$port" "${extra[@]}" > "$dir.start.log" 2>&1 &
    pids+=("$!")
    addrs+=("127.0.0.1:$port")
  done
  for p in "${pids[@]}"; do wait "$p"; done
  ZK_ADDRS=$(IFS=,; echo "${addrs[*]}")
}

# zk_rate TOPO: ZooKeeper's best median ops/s (over the generators) in this
# run's set:64:4 case.
zk_rate() {
  /usr/bin/python3 - "$RESULTS" "$1" <<'PY'
import json, statistics, sys
from collections import defaultdict
rates = defaultdict(list)
for d in map(json.loads, open(sys.argv[1])):
    if (d["topology"] == int(sys.argv[2]) and d["label"] == "zookeeper"
            and d["workload"] == "set" and d["sessions"] == 64 and d["inflight"] == 4
            and d.get("offered_rate") is None):
        rates[d["generator"]].append(d["ops_per_s"])
print(round(max(statistics.median(r) for r in rates.values())) if rates else "")
PY
}

# pids_of corral|zookeeper: the processes of that side's running servers.
pids_of() {
  if [ "$1" = corral ]; then
    echo "${CORRAL_PIDS[@]}"
  else
    for d in "${ZK_DIRS[@]}"; do cat "$d/zk.pid"; done
  fi
}

# measure TARGET GENERATOR ADDRS WORKLOAD SESSIONS INFLIGHT [zk-load args...]:
# one run, once the machine is quiet, with the other side's CPU recorded;
# prints the generator's JSON line.
measure() {
  local target=$1 gen=$2 addrs=$3 workload=$4 clients=$5 inflight=$6
  shift 6
  local other=zookeeper
  if [ "$target" = zookeeper ]; then other=corral; fi
  local others waited t0 t1 c0 c1 line
  read -r -a others <<< "$(pids_of "$other")"
  waited=$(wait_quiet "${others[@]}")
  c0=$(cpu_ticks "${others[@]}")
  t0=$(date +%s.%N)
  local args=(--servers "$addrs" --workload "$workload" --sessions "$clients"
    --inflight "$inflight" --seconds "$SECONDS_PER_RUN" --warmup "$WARMUP" --label "$target")
  if [ "$gen" = java ]; then
    line=$("${JAVA_LOAD[@]}" "${args[@]}" | tail -n 1)
  else
    line=$("$LOAD" "${args[@]}" "$@" | tail -n 1)
  fi
  t1=$(date +%s.%N)
  c1=$(cpu_ticks "${others[@]}")
  echo "$line" | /usr/bin/python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
gen, waited, cpu = sys.argv[1], sys.argv[2], int(sys.argv[3]) / 100
secs = float(sys.argv[5]) - float(sys.argv[4])
d.update(generator=gen, quiet_wait=waited, other_cpu=round(cpu / max(secs, 1e-3), 4))
print(json.dumps(d))' "$gen" "$waited" "$((c1 - c0))" "$t0" "$t1"
}

for topo in $TOPOLOGIES; do
  echo "== $topo-server: starting Corral and ZooKeeper" >&2
  start_corral "$topo"
  start_zk "$topo"
  # Both servers freshly started: sets and gets for a while before any run,
  # so that no run measures ZooKeeper's JIT compiling.
  for addrs in "$CORRAL_ADDRS" "$ZK_ADDRS"; do
    for workload in set get; do
      "$LOAD" --servers "$addrs" --workload "$workload" --seconds "$WARM_START" --warmup 0 >/dev/null
    done
  done
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
    gens=()
    for gen in $GENERATORS; do
      # The Java generator drives set, get and mixed at full speed.
      if [ "$gen" = zk-load ] || { [ -z "${rate:-}" ] && [[ $workload =~ ^(set|get|mixed)$ ]]; }; then
        gens+=("$gen")
      fi
    done
    for run in $(seq 1 "$RUNS"); do
      for gen in "${gens[@]}"; do
        for target in corral zookeeper; do
          if [ $target = corral ]; then addrs=$CORRAL_ADDRS; else addrs=$ZK_ADDRS; fi
          line=$(measure "$target" "$gen" "$addrs" "$workload" "$clients" "$inflight" "${rate_args[@]}")
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

/usr/bin/python3 "$ROOT/benches/compare_report.py" "$RESULTS"
