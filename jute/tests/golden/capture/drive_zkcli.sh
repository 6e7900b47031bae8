#!/usr/bin/env bash
# Golden-vector driver: the stock zkCli.sh (ZooKeeperMain, Java client) of the
# Debian zookeeper package, fed a scripted session on stdin.
#   drive_zkcli.sh PROXY_PORT
set -u
PORT=${1:?usage: drive_zkcli.sh PROXY_PORT}
ZKCLI=/usr/share/zookeeper/bin/zkCli.sh

# zkCli runs each line synchronously; errors (NODEEXISTS, NONODE, ...) are
# printed and the session goes on.
"$ZKCLI" -server "127.0.0.1:$PORT" <<'CMDS'
create /cli hello
create /cli dup
create -e /cli/eph e
create -s /cli/seq- s
create -e -s /cli/eseq- es
create -c /cli/cont c
create -t 60000 /cli/ttl t
create /cli/ro r world:anyone:r
create /cli/deep
create /cli/deep/a a
ls /cli
ls -s /cli
ls -R /cli
ls -w /cli
get /cli
get -s /cli
get -w /cli
set /cli world
set -v 0 /cli stale
stat /cli
stat /cli/none
getAcl /cli/ro
setAcl /cli/ro world:anyone:cdrwa
addauth digest dave:pw
whoami
getAllChildrenNumber /cli
getEphemerals
getEphemerals /cli
addWatch /cli
addWatch -m PERSISTENT /cli/cont
create /cli/cont/x 1
delete /cli/cont/x
set /cli again
delete /cli/ttl
delete /nope
deleteall /cli/deep
sync /cli
config
quit
CMDS
