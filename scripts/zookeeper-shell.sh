#!/usr/bin/env bash
# Kafka's zookeeper-shell.sh: Debian's zkCli (ZooKeeperMain) against HOST:PORT[/chroot].
# Run by bash even when called as "sh script".
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

case ${1:-} in
-h | --help | '')
    cat <<EOT
Usage: $PROG HOST:PORT[/chroot] [COMMAND ARGS...]

Without COMMAND, an interactive ZooKeeper shell; with it, runs that one
command and prints only its result.  Examples (cluster.sh's chroot is /weir):
  $PROG 127.0.0.1:2181/weir ls /brokers/ids
  $PROG 127.0.0.1:2181/weir get /controller
  $PROG 127.0.0.1:2181/weir get /brokers/topics/demo/partitions/0/state
EOT
    [ -n "${1:-}" ] || exit 2
    exit 0 ;;
-*) usage_error "unknown option '$1'" ;;
esac
server=$1
shift
case $server in *:*) ;; *) usage_error "expected HOST:PORT[/chroot], got '$server'" ;; esac
if [ $# -gt 0 ]; then
    zk_cli "$server" "$@"
else
    exec java -Xmx64m -cp "$ZK_CLASSPATH:/usr/share/java/slf4j-nop.jar" org.apache.zookeeper.ZooKeeperMain -server "$server"
fi
