#!/usr/bin/env bash
# Golden-vector driver: the C client shell cli_mt (libzookeeper-mt 3.8.0,
# Debian zookeeper-bin) with commands on stdin.  cli_mt reads stdin
# asynchronously, so commands are paced with short sleeps.  Halfway through,
# the proxy is told to drop the connection (SIGUSR1) while watches are
# registered; the C client reconnects and re-sends auth + setWatches (xid -8).
#   drive_cli_mt.sh PROXY_PORT PROXY_PID
set -u
PORT=${1:?usage: drive_cli_mt.sh PROXY_PORT PROXY_PID}
PROXY_PID=${2:?usage: drive_cli_mt.sh PROXY_PORT PROXY_PID}
CLI=/usr/lib/zookeeper/bin/cli_mt
if [ ! -x "$CLI" ]; then
  echo "drive_cli_mt: $CLI not installed (package zookeeper-bin); skipping" >&2
  exit 0
fi

{
  for c in \
    'addauth digest carol:pw' \
    'create /cc' \
    'create /cc' \
    'create +e /cc/eph' \
    'create +s /cc/seq-' \
    'create +es /cc/eseq-' \
    'create +c /cc/cont' \
    'create +t=60000 /cc/ttl' \
    'create2 /cc/c2' \
    'create2 +t=60000 /cc/ttl2' \
    'ls /cc' \
    'ls2 /cc' \
    'set /cc hello' \
    'get /cc' \
    'exists /cc' \
    'exists /cc/none' \
    'wexists /cc/later' \
    'sync /cc' \
    'config' \
    'reconfig -add server.5=127.0.0.1:21981:21982;21983' \
    'delete /cc/none' \
    'delete /cc'; do
    echo "$c"
    sleep 0.3
  done
  kill -USR1 "$PROXY_PID"     # drop the connection; proxy refuses reconnects ~1 s
  sleep 2.5
  echo 'create /cc/later'
  sleep 0.5
  echo 'get /cc/later'
  sleep 0.3
  echo 'delete /cc/later'
  sleep 0.5
  echo 'quit'
  sleep 0.5
} | "$CLI" -h "127.0.0.1:$PORT"
