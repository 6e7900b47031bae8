#!/usr/bin/env bash
# Start a reference Apache ZooKeeper 3.8 server (Debian package jars) in the
# background, listening on 127.0.0.1 only.
#
#   zk-ref.sh DIR PORT [extra zoo.cfg lines...]
#
# Creates DIR/zoo.cfg, DIR/log4j.properties, DIR/data/myid ($ZK_MYID, default
# 1; pass server.N lines as extra arguments for an ensemble), starts
# QuorumPeerMain, writes its PID to DIR/zk.pid, logs (INFO) to DIR/zk.log and
# waits until the four-letter word `ruok` answers `imok`.
# Stop it with zk-stop.sh DIR (kills exactly the PID in DIR/zk.pid).
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 DIR PORT [extra zoo.cfg lines...]" >&2
  exit 2
fi
DIR=$1
PORT=$2
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

if [ -f "$DIR/zk.pid" ] && kill -0 "$(cat "$DIR/zk.pid")" 2>/dev/null; then
  echo "zk-ref: a server from $DIR is already running (pid $(cat "$DIR/zk.pid"))" >&2
  exit 1
fi

# ZK_KEEP_DATA=1 restarts on the data already there (restart timing).
if [ "${ZK_KEEP_DATA:-0}" != 1 ]; then
  rm -rf "$DIR/data"
fi
rm -f "$DIR"/zoo.cfg.dynamic.* "$DIR/zoo.cfg.bak"
mkdir -p "$DIR/data"
echo "${ZK_MYID:-1}" > "$DIR/data/myid"

{
  echo "tickTime=2000"
  echo "dataDir=$DIR/data"
  echo "clientPort=$PORT"
  echo "clientPortAddress=127.0.0.1"
  echo "maxClientCnxns=0"
  echo "4lw.commands.whitelist=*"
  echo "extendedTypesEnabled=true"
  echo "admin.enableServer=false"
  for line in "$@"; do echo "$line"; done
} > "$DIR/zoo.cfg"

# Debian's zookeeper.jar logs through slf4j-api (its manifest Class-Path lists
# slf4j-api.jar but no binding).  We bind slf4j to log4j 1.2 explicitly
# (slf4j-log4j12.jar + log4j-1.2.jar) and configure log4j at INFO -> file.
# Without a configuration log4j would either stay silent or log at DEBUG.
cat > "$DIR/log4j.properties" <<LOG4J
log4j.rootLogger=INFO, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=$DIR/zk.log
log4j.appender.FILE.Append=false
log4j.appender.FILE.Threshold=INFO
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n
LOG4J

J=/usr/share/java
CP="$J/zookeeper.jar:$J/zookeeper-jute.jar"
# zookeeper.jar's manifest pulls in its other deps (netty, jackson, jetty,
# commons-cli, metrics, snappy, slf4j-api); add the log binding explicitly.
for jar in slf4j-api.jar slf4j-log4j12.jar log4j-1.2.jar servlet-api.jar; do
  if [ -f "$J/$jar" ]; then CP="$CP:$J/$jar"; fi
done

# The server's stdout/stderr go to DIR/zk.out (should stay almost empty).
# Tests start many short-lived servers: a quick-starting JVM (C1 only,
# serial GC) saves minutes on 2 cores and changes no behaviour. Benchmarks
# set ZK_UPSTREAM_JVM=1 for the JVM exactly as zkServer.sh starts it
# (-Xmx1000m, the JVM's default collector and full tiered compilation).
if [ "${ZK_UPSTREAM_JVM:-0}" = 1 ]; then
  JVM_FLAGS=(-Xmx1000m)
else
  JVM_FLAGS=(-Xmx1000m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC)
fi
nohup java "${JVM_FLAGS[@]}" \
  -cp "$CP" \
  -Dznode.container.checkIntervalMs=1000 \
  -Dlog4j.configuration="file:$DIR/log4j.properties" \
  -Dzookeeper.log.dir="$DIR" \
  -Dzookeeper.root.logger=INFO,FILE \
  -Dzookeeper.jmx.log4j.disable=true \
  org.apache.zookeeper.server.quorum.QuorumPeerMain "$DIR/zoo.cfg" \
  > "$DIR/zk.out" 2>&1 < /dev/null &
echo $! > "$DIR/zk.pid"

# Wait for `ruok` -> `imok` (python socket; nc is not required).
for _ in $(seq 1 "${ZK_WAIT_TRIES:-120}"); do
  if ! kill -0 "$(cat "$DIR/zk.pid")" 2>/dev/null; then
    echo "zk-ref: server exited early; see $DIR/zk.out and $DIR/zk.log" >&2
    exit 1
  fi
  ans=$(/usr/bin/python3 "$HERE/fourletter.py" "$PORT" ruok 2>/dev/null || true)
  if [ "$ans" = "imok" ]; then
    # imok only means "running"; in quorum mode also wait until `srvr`
    # reports a Mode (i.e. leader election is over and requests are served).
    mode=$(/usr/bin/python3 "$HERE/fourletter.py" "$PORT" --mode 2>/dev/null || true)
    if [ -n "$mode" ]; then
      echo "zk-ref: ZooKeeper up on 127.0.0.1:$PORT (pid $(cat "$DIR/zk.pid"), mode $mode)"
      exit 0
    fi
  fi
  sleep 0.5
done
echo "zk-ref: server did not answer ruok in time" >&2
exit 1
