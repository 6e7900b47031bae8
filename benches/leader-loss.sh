#!/usr/bin/env bash
# Losing the leader, as a client sees it, side by side: a 3-member Corral
# ensemble and a 3-member ZooKeeper 3.8 ensemble (Debian jars, upstream
# JVM settings; tickTime=2000, initLimit=10, syncLimit=5 on both). In each
# cycle a kazoo client connected to the two members that do not lead sets
# one znode in a loop, and the leader is struck: `kill -9` (then restarted
# with its data), SIGSTOP for 10 s then SIGCONT, or SIGTERM (then
# restarted). A cycle's pause is the longest gap between acknowledged
# writes from the fault on (benches/leader_loss.py). Prints each cycle's
# JSON line, then per server and fault the median, p99 and max pause.
#
#   benches/leader-loss.sh [--targets "corral zookeeper"] [--faults "kill stop term"] [--cycles 5]
#
# KEEP_WORK=1 keeps the members' directories and logs. Loopback only;
# every process started here is stopped by its PID.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
TARGETS="corral zookeeper"
FAULTS="kill stop term"
CYCLES=5
while [ $# -gt 0 ]; do
  case $1 in
    --targets) TARGETS=$2; shift 2 ;;
    --faults) FAULTS=$2; shift 2 ;;
    --cycles) CYCLES=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if [ "$CYCLES" -gt 200 ]; then echo "at most 200 cycles" >&2; exit 2; fi
ensure_zookeeper
build_release
WORK=$(mktemp -d "${TMPDIR:-/tmp}/corral-leader-loss.XXXXXX")
RESULTS="$WORK/results.jsonl"
CORRAL_PIDS=()
cleanup() {
  for pid in "${CORRAL_PIDS[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill -9 "$pid" 2>/dev/null || true; done
  for d in "$WORK"/zookeeper-*; do
    if [ -f "$d/zk.pid" ]; then kill -CONT "$(cat "$d/zk.pid")" 2>/dev/null || true; fi
    bash "$ZKSTOP" "$d" >/dev/null 2>&1 || true
  done
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

mode_of() { /usr/bin/python3 "$CAPTURE/fourletter.py" "$1" --mode 2>/dev/null || true; }

for target in $TARGETS; do
  ports=() peers=""
  for id in 1 2 3; do
    ports+=("$(free_port)")
    peers+="server.$id=127.0.0.1:$(free_port):$(free_port)"$'\n'
  done
  start_member() { # start_member ID: on the data already there, if any
    local id=$1 dir="$WORK/$target-$1" port=${ports[$(( $1 - 1 ))]}
    if [ "$target" = corral ]; then
      mkdir -p "$dir"
      echo "$id" > "$dir/myid"
      {
        echo "tickTime=2000"; echo "initLimit=10"; echo "syncLimit=5"
        echo "dataDir=$dir"; echo "clientPort=$port"; echo "clientPortAddress=127.0.0.1"
        echo "maxClientCnxns=0"; echo "4lw.commands.whitelist=*"
        echo "admin.enableServer=false"; echo "metricsProvider.httpPort=0"
        printf '%s' "$peers"
      } > "$dir/zoo.cfg"
      "$CORRAL" --config "$dir/zoo.cfg" --log info >> "$dir/corral.log" 2>&1 &
      CORRAL_PIDS[$id]=$!
    else
      local lines=() keep=0
      mapfile -t lines < <(printf '%s' "$peers")
      if [ -d "$dir/data" ]; then keep=1; fi
      rm -f "$dir/zk.pid"
      ZK_KEEP_DATA=$keep ZK_MYID=$id bash "$ZKREF" "$dir" "$port" "initLimit=10" "syncLimit=5" \
        "${lines[@]}" >> "$dir.start.log" 2>&1 &
    fi
  }
  pid_of() { # pid_of ID
    if [ "$target" = corral ]; then echo "${CORRAL_PIDS[$1]}"; else cat "$WORK/$target-$1/zk.pid"; fi
  }
  # settled: every member reports a mode and exactly one leads.
  settled() {
    for _ in $(seq 1 240); do
      local leaders=0 up=0 m
      for p in "${ports[@]}"; do
        m=$(mode_of "$p")
        if [ -n "$m" ]; then up=$((up + 1)); fi
        if [ "$m" = leader ]; then leaders=$((leaders + 1)); fi
      done
      if [ "$up" = 3 ] && [ "$leaders" = 1 ]; then return 0; fi
      sleep 0.25
    done
    echo "the $target ensemble did not settle" >&2
    return 1
  }
  echo "== $target: 3 members" >&2
  for id in 1 2 3; do start_member "$id"; done
  if [ "$target" = zookeeper ]; then wait; fi
  settled
  for fault in $FAULTS; do
    for cycle in $(seq "$CYCLES"); do
      leader="" hosts=""
      for id in 1 2 3; do
        p=${ports[$((id - 1))]}
        if [ "$(mode_of "$p")" = leader ]; then leader=$id; else hosts+="127.0.0.1:$p,"; fi
      done
      echo "== $target: $fault, cycle $cycle, leader $leader" >&2
      line=$(/usr/bin/python3 "$ROOT/benches/leader_loss.py" --hosts "${hosts%,}" \
        --pid "$(pid_of "$leader")" --fault "$fault")
      echo "{\"server\": \"$target\", \"cycle\": $cycle, ${line#\{}" | tee -a "$RESULTS"
      if [ "$fault" != stop ]; then
        if [ "$target" = corral ]; then
          wait "${CORRAL_PIDS[$leader]}" 2>/dev/null || true
        else
          for _ in $(seq 1 100); do kill -0 "$(pid_of "$leader")" 2>/dev/null || break; sleep 0.1; done
        fi
        start_member "$leader"
        if [ "$target" = zookeeper ]; then wait; fi
      fi
      settled
      sleep 2
    done
  done
  for id in 1 2 3; do
    if [ "$target" = corral ]; then
      kill -9 "${CORRAL_PIDS[$id]}" 2>/dev/null || true
      wait "${CORRAL_PIDS[$id]}" 2>/dev/null || true
    else
      bash "$ZKSTOP" "$WORK/$target-$id" >/dev/null 2>&1 || true
    fi
  done
done

/usr/bin/python3 - "$RESULTS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("server     fault  cycles  pause median / p99 / max, s")
for server in dict.fromkeys(r["server"] for r in rows):
    for fault in dict.fromkeys(r["fault"] for r in rows):
        p = sorted(r["pause_s"] for r in rows if r["server"] == server and r["fault"] == fault and r["pause_s"] is not None)
        missing = len([r for r in rows if r["server"] == server and r["fault"] == fault and r["pause_s"] is None])
        if not p:
            continue
        p99 = p[min(len(p) - 1, int(len(p) * 0.99))]
        print(f"{server:10} {fault:5} {len(p):7}  {statistics.median(p):.2f} / {p99:.2f} / {p[-1]:.2f}" + (f"  ({missing} without a write after the fault)" if missing else ""))
PY
