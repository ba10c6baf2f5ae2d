#!/usr/bin/env bash
# Stop a ZooKeeper started by zookeeper-start.sh --daemon, by its pid file.
# Run by bash even when called as "sh script" (make run does that).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOT
Usage: $PROG [CONFIG | --pid-file FILE] [--timeout SECONDS]

Stop the ZooKeeper that zookeeper-start.sh --daemon started with CONFIG
(default: $REPO/conf/zookeeper.properties; pid file <dataDir>/zookeeper.pid):
SIGTERM, wait up to --timeout seconds (default 30), then SIGKILL.
Exits 1 if there was nothing to stop.
EOT
}

config="" pidfile="" timeout=30
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --pid-file) need_arg "$1" $#; pidfile=$2; shift 2 ;;
    --timeout) need_arg "$1" $#
        case $2 in '' | *[!0-9]*) usage_error "--timeout needs a number of seconds, got '$2'" ;; esac
        timeout=$2; shift 2 ;;
    -*) usage_error "unknown option '$1'" ;;
    *) [ -z "$config" ] || usage_error "unexpected argument '$1'"; config=$1; shift ;;
    esac
done
if [ -z "$pidfile" ]; then
    config=${config:-$REPO/conf/zookeeper.properties}
    [ -r "$config" ] || die "cannot read CONFIG '$config'"
    datadir=$(prop_get "$config" dataDir)
    [ -n "$datadir" ] || die "$config sets no dataDir"
    pidfile=$datadir/zookeeper.pid
fi
stop_pid zookeeper "$pidfile" QuorumPeerMain "$timeout"
