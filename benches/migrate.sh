#!/usr/bin/env bash
# `corral import` against ZooKeeper's own load of the same directory
# (issue 19, docs/migration.md). The reference ZooKeeper 3.8 (upstream JVM
# settings) is populated with --count znodes of 100 bytes by zk-load plus
# kazoo_migrate's tree (sequential, container, TTL, digest and ip ACLs, a
# quota, multis) with --live sessions holding ephemerals, and killed (-9)
# with the sessions open. Then, --runs times each, alternating:
#   - zookeeper: QuorumPeerMain started on a copy of the directory, timed
#     until `srvr` reports a mode; its own account of loading ("Snapshot
#     loaded in", "txns loaded in") read from its log;
#   - corral: `corral import` into an empty directory, wall time.
# (Corral first in each run: the last ZooKeeper stays up for what follows.)
# Then Corral serves one import and ZooKeeper its copy, and:
#   - every node is read from both by kazoo and compared (data, Stat, ACL);
#   - Corral is stopped and its tree exported (`corral export`, timed); a
#     ZooKeeper started on the export is read by kazoo and compared with
#     what Corral served;
#   - Corral is started again and the live sessions resume on it with their
#     ZooKeeper passwords.
#
#   benches/migrate.sh [--count 1000000] [--live 100] [--runs 3] [--source DIR]
#
# --source DIR keeps the populated ZooKeeper directory (and the sessions'
# ids and passwords) in DIR, and a later run given the same DIR starts from
# it instead of populating again (--count and --live are then DIR's; its
# sessions last 30 minutes from each server's start and its TTL nodes a
# week from the populate).
#
# One JSON line. Loopback only; every process started here is stopped by
# its PID.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
COUNT=1000000
LIVE=100
RUNS=3
SOURCE=
while [ $# -gt 0 ]; do
  case $1 in
    --count) COUNT=$2; shift 2 ;;
    --live) LIVE=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --source) SOURCE=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
ensure_zookeeper
build_release
KAZOO="$ROOT/compat-tests/clients/kazoo_migrate.py"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/corral-migrate.XXXXXX")
PIDS=()
ZK_DIRS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for d in "${ZK_DIRS[@]}"; do bash "$ZKSTOP" "$d" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Sessions of 30 minutes, so they outlive reading every node from both
# servers (three dumps of a million nodes) before they resume.
ZKCFG=("snapCount=100000" "maxSessionTimeout=1800000")
export MIGRATE_SESSION_TIMEOUT=1800
if [ -n "$SOURCE" ] && [ -d "$SOURCE/data/version-2" ]; then
  echo "== zookeeper: the populated directory kept in $SOURCE" >&2
  cp "$SOURCE/sessions.json" "$WORK/sessions.json"
  SRC="$SOURCE/data"
else
  echo "== zookeeper: populating $COUNT znodes and $LIVE live sessions" >&2
  ZKPORT=$(free_port)
  ZK_DIRS+=("$WORK/source")
  bash "$ZKREF" "$WORK/source" "$ZKPORT" "${ZKCFG[@]}" > "$WORK/source.start.log" 2>&1
  wait_mode "$ZKPORT"
  "$LOAD" --servers "127.0.0.1:$ZKPORT" --workload populate --count "$COUNT" --sessions 16 \
    --inflight 64 --seconds 1800 --label zookeeper | tail -n 1 > "$WORK/populate.json"
  # The writer holds its sessions until killed; its stdin stays open on a FIFO.
  mkfifo "$WORK/hold"
  /usr/bin/python3 "$KAZOO" populate "127.0.0.1:$ZKPORT" "$WORK/sessions.json" 2000 "$LIVE" \
    > "$WORK/kazoo.out" 2>&1 < "$WORK/hold" &
  PIDS+=($!)
  exec 3> "$WORK/hold"
  for _ in $(seq 1 1200); do grep -q '^ready$' "$WORK/kazoo.out" && break; sleep 0.5; done
  grep -q '^ready$' "$WORK/kazoo.out" || { cat "$WORK/kazoo.out" >&2; exit 1; }
  kill -9 "$(cat "$WORK/source/zk.pid")"
  kill -9 "${PIDS[-1]}" 2>/dev/null || true
  exec 3>&-
  rm -f "$WORK/source/zk.pid"
  SRC="$WORK/source/data"
  if [ -n "$SOURCE" ]; then
    mkdir -p "$SOURCE"
    cp -a "$SRC" "$SOURCE/data"
    cp "$WORK/sessions.json" "$SOURCE/sessions.json"
  fi
fi
du -sh "$SRC/version-2" >&2

zk_ms=() zk_load_ms=() corral_ms=()
for run in $(seq 1 "$RUNS"); do
  echo "== run $run: corral imports, zookeeper loads" >&2
  dir="$WORK/zk-$run"
  mkdir -p "$dir"
  cp -a "$SRC" "$dir/data"
  # The copy written back before either server is timed.
  sync
  # Corral first: the last run's ZooKeeper keeps running for the
  # comparison, and must not run beside an import.
  target="$WORK/corral-$run"
  t0=$(date +%s%N)
  "$CORRAL" --log warn import --data-dir "$target" --zookeeper-data-dir "$SRC" > "$WORK/import-$run.out"
  corral_ms+=($(( ($(date +%s%N) - t0) / 1000000 )))
  cat "$WORK/import-$run.out" >&2
  if [ "$run" -lt "$RUNS" ]; then rm -rf "$target"; fi
  port=$(free_port)
  ZK_DIRS+=("$dir")
  t0=$(date +%s%N)
  ZK_KEEP_DATA=1 bash "$ZKREF" "$dir" "$port" "${ZKCFG[@]}" > "$dir.start.log" 2>&1
  wait_mode "$port"
  zk_ms+=($(( ($(date +%s%N) - t0) / 1000000 )))
  snap=$(grep -o 'Snapshot loaded in [0-9]* ms' "$dir/zk.log" | tail -n 1 | grep -o '[0-9]*' || echo 0)
  txns=$(grep -o 'txns loaded in [0-9]* ms' "$dir/zk.log" | tail -n 1 | grep -o '[0-9]* ms' | grep -o '[0-9]*' || echo 0)
  zk_load_ms+=($(( snap + txns )))
  if [ "$run" -lt "$RUNS" ]; then bash "$ZKSTOP" "$dir" >/dev/null 2>&1; rm -rf "$dir/data"; fi
  ZKRUN=$port
done

echo "== comparing every node, then resuming the sessions on corral" >&2
CPORT=$(free_port)
start_corral() {
  "$CORRAL" --data-dir "$WORK/corral-$RUNS" --client-addr "127.0.0.1:$CPORT" --admin-port 0 \
    --metrics-port 0 --log warn >> "$WORK/corral.log" 2>&1 &
  PIDS+=($!)
  wait_mode "$CPORT"
}
start_corral
/usr/bin/python3 "$KAZOO" dump "127.0.0.1:$CPORT" "$WORK/corral.jsonl" >&2
/usr/bin/python3 "$KAZOO" dump "127.0.0.1:$ZKRUN" "$WORK/zookeeper.jsonl" >&2
grep -v '"path": "/zookeeper/config"' "$WORK/corral.jsonl" > "$WORK/c" || true
grep -v '"path": "/zookeeper/config"' "$WORK/zookeeper.jsonl" > "$WORK/z" || true
nodes=$(wc -l < "$WORK/z")
differing=$(diff "$WORK/z" "$WORK/c" | grep -c '^[<>]' || true)

echo "== exporting corral's tree, and serving it from zookeeper" >&2
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
t0=$(date +%s%N)
"$CORRAL" --log warn export --data-dir "$WORK/corral-$RUNS" --to "$WORK/exported/data" >&2
export_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
EPORT=$(free_port)
ZK_DIRS+=("$WORK/exported")
ZK_KEEP_DATA=1 bash "$ZKREF" "$WORK/exported" "$EPORT" "${ZKCFG[@]}" > "$WORK/exported.start.log" 2>&1
wait_mode "$EPORT"
/usr/bin/python3 "$KAZOO" dump "127.0.0.1:$EPORT" "$WORK/exported.jsonl" >&2
grep -v '"path": "/zookeeper/config"' "$WORK/exported.jsonl" > "$WORK/e" || true
export_differing=$(diff "$WORK/c" "$WORK/e" | grep -c '^[<>]' || true)
bash "$ZKSTOP" "$WORK/exported" >/dev/null 2>&1 || true

start_corral
resumed=$(/usr/bin/python3 "$KAZOO" resume "127.0.0.1:$CPORT" "$WORK/sessions.json" | grep -c '^ok ' || true)

/usr/bin/python3 - "$COUNT" "$LIVE" "$nodes" "$differing" "$resumed" "$(du -sb "$SRC/version-2" | cut -f1)" \
  "$export_ms" "$export_differing" "${zk_ms[*]}" "${zk_load_ms[*]}" "${corral_ms[*]}" <<'PY'
import json, statistics, sys
count, live, nodes, differing, resumed, size, export_ms, export_differing = map(int, sys.argv[1:9])
zk, zk_load, corral = ([int(x) for x in a.split()] for a in sys.argv[9:12])
m = lambda xs: statistics.median(xs)
print(json.dumps({
  "znodes": nodes, "populated": count, "live_sessions": live, "zookeeper_dir_bytes": size,
  "zookeeper_to_serving_ms": zk, "zookeeper_load_ms": zk_load, "corral_import_ms": corral,
  "median_zookeeper_to_serving_ms": m(zk), "median_zookeeper_load_ms": m(zk_load),
  "median_corral_import_ms": m(corral),
  "import_vs_zookeeper_load": round(m(corral) / max(m(zk_load), 1), 3),
  "nodes_differing": differing, "sessions_resumed": resumed,
  "corral_export_ms": export_ms, "exported_nodes_differing": export_differing,
}))
PY
