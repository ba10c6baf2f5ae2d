#!/usr/bin/env bash
# Start Debian's ZooKeeper (3.8, java) standalone for development and tests.
# Run by bash even when called as "sh script" (make run does that).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOT
Usage: $PROG [CONFIG] [--daemon] [--timeout SECONDS]

Start a standalone ZooKeeper with CONFIG (default: $REPO/conf/zookeeper.properties),
using its dataDir, clientPort and clientPortAddress.

  --daemon            run in the background; pid file <dataDir>/zookeeper.pid,
                      log <dataDir>/zookeeper.log; waits until it answers 'ruok'
                      and prints its pid
  --timeout SECONDS   how long --daemon waits for 'imok' (default 30)
  -h, --help          show this help

Environment: ZOOKEEPER_HEAP_OPTS (default -Xms32m -Xmx256m), ZK_CLASSPATH
(default /usr/share/java/zookeeper.jar from Debian's libzookeeper-java).
EOT
}

config="" daemon=0 timeout=30
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --daemon | -daemon) daemon=1; shift ;;
    --timeout) need_arg "$1" $#
        case $2 in '' | *[!0-9]*) usage_error "--timeout needs a number of seconds, got '$2'" ;; esac
        timeout=$2; shift 2 ;;
    -*) usage_error "unknown option '$1'" ;;
    *) [ -z "$config" ] || usage_error "unexpected argument '$1'"; config=$1; shift ;;
    esac
done
config=${config:-$REPO/conf/zookeeper.properties}
[ -r "$config" ] || die "cannot read CONFIG '$config'"
config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
datadir=$(prop_get "$config" dataDir)
port=$(prop_get "$config" clientPort)
addr=$(prop_get "$config" clientPortAddress)
[ -n "$datadir" ] || die "$config sets no dataDir"
[ -n "$port" ] || die "$config sets no clientPort"
case $addr in '' | 0.0.0.0) addr=127.0.0.1 ;; esac
[ -r "$ZK_CLASSPATH" ] || die "no $ZK_CLASSPATH: install Debian's zookeeper package (make deps)"
command -v java > /dev/null || die "no java: install default-jre-headless (make deps)"
mkdir -p "$datadir"

# slf4j-simple sends ZooKeeper's log to stderr, i.e. to the daemon's log file.
cp="$ZK_CLASSPATH"
[ -r /usr/share/java/slf4j-simple.jar ] && cp="$cp:/usr/share/java/slf4j-simple.jar"
# shellcheck disable=SC2206  # heap options are meant to split into words
cmd=(java ${ZOOKEEPER_HEAP_OPTS:--Xms32m -Xmx256m} -Dorg.slf4j.simpleLogger.showDateTime=true
    -cp "$cp" org.apache.zookeeper.server.quorum.QuorumPeerMain "$config")

if zk_ruok "$addr" "$port"; then
    die "a ZooKeeper already answers on $addr:$port"
fi
if [ $daemon -eq 0 ]; then
    exec "${cmd[@]}"
fi
spawn_daemon zookeeper "$datadir/zookeeper.pid" "$datadir/zookeeper.log" "${cmd[@]}"
for ((i = 0; i < timeout * 5; i++)); do
    if zk_ruok "$addr" "$port"; then
        echo "Started ZooKeeper on $addr:$port (pid $SPAWNED_PID); data and log in $datadir" >&2
        echo "$SPAWNED_PID"
        exit 0
    fi
    pid_alive "$SPAWNED_PID" || break
    sleep 0.2
done
echo "$PROG: ZooKeeper did not answer on $addr:$port within ${timeout}s; last lines of $datadir/zookeeper.log:" >&2
tail -n 20 "$datadir/zookeeper.log" >&2
stop_pid zookeeper "$datadir/zookeeper.pid" QuorumPeerMain 10 > /dev/null || true
exit 1
