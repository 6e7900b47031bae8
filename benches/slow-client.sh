#!/usr/bin/env bash
# A client that stops reading, side by side: a standalone Corral (default
# corral.maxOutboundBytes, 64 MiB) and a standalone ZooKeeper 3.8 (Debian
# jars, upstream defaults), each started fresh for every run:
#   - reads: the slow session pipelines 2,000 getData of a 1 MB znode and
#     reads no reply (issue #22's case);
#   - watches: the slow session holds a persistent watch on a node with a
#     1,000-byte name and reads nothing while another session sets the
#     node 100,000 times (100 MB of notifications);
# each beside a control run with the same load and no slow session. Prints
# slow-client's JSON line for every run, then per server and mode the
# resident memory the slow session added (slow run minus control) and the
# other client's slowest read.
#
#   benches/slow-client.sh [--targets "corral zookeeper"] [--runs 3]
#
# Loopback only; every server started here is stopped by its PID.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
TARGETS="corral zookeeper"
RUNS=3
while [ $# -gt 0 ]; do
  case $1 in
    --targets) TARGETS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
ensure_zookeeper
build_release
WORK=$(mktemp -d "${TMPDIR:-/tmp}/corral-slow-client.XXXXXX")
PID=""
ZKDIR=""
stop() {
  if [ -n "$ZKDIR" ]; then bash "$ZKSTOP" "$ZKDIR" >/dev/null 2>&1 || true; ZKDIR=""; fi
  if [ -n "$PID" ]; then kill -9 "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; fi
}
cleanup() { stop; rm -rf "$WORK"; }
trap cleanup EXIT
RESULTS="$WORK/results.jsonl"
SLOW="$ROOT/target/release/slow-client"

for run in $(seq "$RUNS"); do
  for target in $TARGETS; do
    for mode in reads watches; do
      for control in --control ""; do
        p=$(free_port)
        dir="$WORK/$target-$mode-$run${control:+-control}"
        mkdir -p "$dir"
        if [ "$target" = corral ]; then
          "$CORRAL" --client-addr "127.0.0.1:$p" --data-dir "$dir" --max-client-cnxns 0 \
            --admin-port 0 --metrics-port 0 --log warn > "$dir/corral.log" 2>&1 &
          PID=$!
          wait_mode "$p"
        else
          ZKDIR=$dir
          bash "$ZKREF" "$dir" "$p" > /dev/null
          PID=$(cat "$dir/zk.pid")
        fi
        if [ "$mode" = reads ]; then
          args=(--requests 2000 --size 1000000)
        else
          args=(--requests 100000 --size 1000)
        fi
        "$SLOW" --server "127.0.0.1:$p" --pid "$PID" --mode "$mode" "${args[@]}" \
          --seconds 5 --label "$target" $control | tee -a "$RESULTS"
        stop
      done
    done
  done
done

/usr/bin/python3 - "$RESULTS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("server     mode     added MiB (median)  other client's slowest read, ms (median)")
for target in dict.fromkeys(r["label"] for r in rows):
    for mode in ("reads", "watches"):
        pick = lambda control: [r for r in rows if r["label"] == target and r["mode"] == mode and r["control"] == control]
        slow, ctl = pick(False), pick(True)
        added = statistics.median(s["rss_grown_mib"] for s in slow) - statistics.median(c["rss_grown_mib"] for c in ctl)
        worst = statistics.median(s["other_read_max_ms"] for s in slow)
        print(f"{target:10} {mode:8} {added:18.1f}  {worst:.1f}")
PY
