#!/usr/bin/env bash
# Stop a server started by zk-ref.sh: kills exactly the PID in DIR/zk.pid.
#   zk-stop.sh DIR
set -u
DIR=${1:?usage: zk-stop.sh DIR}
PIDFILE="$DIR/zk.pid"
[ -f "$PIDFILE" ] || exit 0
PID=$(cat "$PIDFILE")
if kill -0 "$PID" 2>/dev/null; then
  kill "$PID"
  for _ in $(seq 1 50); do
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$PID" 2>/dev/null; then kill -9 "$PID"; fi
fi
rm -f "$PIDFILE"
