#!/usr/bin/env bash
# What the web console costs a loaded server (issue 20): a standalone
# Corral under zk-load's set 64×4, alternately with nobody looking and
# with the console open. "Open" is benches/console_poll.py making the
# requests of an open page and more: the page and the tree's root once,
# then every 2 s the Load tab's /ui/api/load, the Ensemble tab's
# /ui/api/ensemble and the Sessions tab's /ui/api/sessions (a page polls
# one of these). A headless browser is not used: on this 2-core machine
# its own CPU would be counted as the server's cost.
#
#   benches/console.sh [--runs 7] [--seconds 5]
#
# First, on the idle server, its CPU over 20 s with nobody looking and
# over 20 s with the console open: what the console's requests cost,
# without the load's noise. Then the load. One JSON line: both CPU
# figures, the set rates without and with the console (medians of the
# alternated runs, the order swapped every run) and their ratio.
# Loopback only; every process started here is stopped by its PID.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
RUNS=7
SECONDS_EACH=5
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --seconds) SECONDS_EACH=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
build_release
WORK=$(mktemp -d "${TMPDIR:-/tmp}/corral-console.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(free_port)
ADMIN=$(free_port)
cat > "$WORK/zoo.cfg" <<EOF
dataDir=$WORK/data
clientPort=$PORT
clientPortAddress=127.0.0.1
admin.serverAddress=127.0.0.1
admin.serverPort=$ADMIN
metricsProvider.httpPort=$(free_port)
maxClientCnxns=0
EOF
"$CORRAL" --config "$WORK/zoo.cfg" --log warn > "$WORK/corral.log" 2>&1 &
SERVER=$!
PIDS+=("$SERVER")
wait_mode "$PORT"
echo "== the idle server's CPU, 20 s without and 20 s with the console" >&2
wait_quiet "$SERVER" > /dev/null
t0=$(cpu_ticks "$SERVER")
sleep 20
t1=$(cpu_ticks "$SERVER")
/usr/bin/python3 "$ROOT/benches/console_poll.py" "http://127.0.0.1:$ADMIN" 20 > "$WORK/poll.out"
t2=$(cpu_ticks "$SERVER")
IDLE_TICKS=$((t1 - t0))
POLLED_TICKS=$((t2 - t1))
echo "   idle: $IDLE_TICKS ticks; with the console: $POLLED_TICKS ticks ($(tail -n 1 "$WORK/poll.out"))" >&2
echo "== warming up (10 s of sets)" >&2
"$LOAD" --servers "127.0.0.1:$PORT" --seconds 10 --warmup 0 --label warm > /dev/null

run() { # run off|on -> ops/s
  local poller=""
  wait_quiet "$SERVER" > /dev/null
  if [ "$1" = on ]; then
    /usr/bin/python3 "$ROOT/benches/console_poll.py" "http://127.0.0.1:$ADMIN" "$((SECONDS_EACH + 4))" \
      > "$WORK/poll.out" 2>&1 &
    poller=$!
    PIDS+=("$poller")
  fi
  "$LOAD" --servers "127.0.0.1:$PORT" --seconds "$SECONDS_EACH" --warmup 2 --label "$1" \
    | tail -n 1 | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["ops_per_s"])'
  if [ -n "$poller" ]; then
    wait "$poller" || { echo "the poller failed:" >&2; cat "$WORK/poll.out" >&2; exit 1; }
    echo "   console requests: $(tail -n 1 "$WORK/poll.out")" >&2
  fi
}

OFF=()
ON=()
for i in $(seq 1 "$RUNS"); do
  if [ $((i % 2)) -eq 1 ]; then order="off on"; else order="on off"; fi
  for mode in $order; do
    r=$(run "$mode")
    echo "run $i, console $mode: $r sets/s" >&2
    if [ "$mode" = on ]; then ON+=("$r"); else OFF+=("$r"); fi
  done
done
/usr/bin/python3 - "${OFF[*]}" "${ON[*]}" "$IDLE_TICKS" "$POLLED_TICKS" <<'PY'
import json, statistics, sys
off = [float(x) for x in sys.argv[1].split()]
on = [float(x) for x in sys.argv[2].split()]
idle, polled = int(sys.argv[3]), int(sys.argv[4])
m_off, m_on = statistics.median(off), statistics.median(on)
print(json.dumps({"idle_server_cpu_ms_per_s": {"without_console": idle * 10 / 20,
                                               "with_console": polled * 10 / 20},
                  "workload": "set 64x4", "without_console": off, "with_console": on,
                  "median_without": m_off, "median_with": m_on,
                  "cost_percent": round(100 * (1 - m_on / m_off), 2)}))
PY
