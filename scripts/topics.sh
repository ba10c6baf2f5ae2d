#!/usr/bin/env bash
# kafka-topics.sh's flags, translated to 'weir topics ...'.
# Run by bash even when called as "sh script" (make run does that).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOT
Usage: $PROG --bootstrap-server HOST:PORT[,...] ACTION [options]

Actions (exactly one):
  --create --topic T [--partitions N] [--replication-factor R] [--config k=v]... [--if-not-exists]
  --list
  --describe [--topic T] [--under-replicated-partitions | --unavailable-partitions]
  --delete --topic T
  --alter --topic T --partitions N

Options:
  --bootstrap-server B      brokers to connect to (default: \$WEIR_BOOTSTRAP); --broker-list is an old name
  --command-config FILE     client properties (key=value per line), passed to librdkafka
  --command-property k=v    one client property (may repeat)
  -h, --help                show this help

--partitions and --replication-factor default to the brokers' num.partitions
and default.replication.factor.  --describe prints Kafka's format:
  Topic: t<TAB>TopicId: ..<TAB>PartitionCount: 3<TAB>ReplicationFactor: 1<TAB>Configs: ...
  <TAB>Topic: t<TAB>Partition: 0<TAB>Leader: 1<TAB>Replicas: 1<TAB>Isr: 1
EOT
}

BOOTSTRAP_SERVER=${WEIR_BOOTSTRAP:-} WEIR_X=() action="" topic="" partitions="" rf="" configs=() flags=()
set_action() {
    [ -z "$action" ] || usage_error "only one of --create, --list, --describe, --delete, --alter may be given (got $action and $1)"
    action=$1
}
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --bootstrap-server | --broker-list | --zookeeper) check_client_flag "$1"; need_arg "$1" $#; BOOTSTRAP_SERVER=$2; shift 2 ;;
    --create | --list | --describe | --delete | --alter) set_action "$1"; shift ;;
    --topic) need_arg "$1" $#; topic=$2; shift 2 ;;
    --partitions) need_arg "$1" $#
        case $2 in '' | *[!0-9]*) usage_error "option '--partitions' needs a positive number, got '$2'" ;; esac
        partitions=$2; shift 2 ;;
    --replication-factor) need_arg "$1" $#
        case $2 in '' | *[!0-9]*) usage_error "option '--replication-factor' needs a positive number, got '$2'" ;; esac
        rf=$2; shift 2 ;;
    --config) need_arg "$1" $#
        case $2 in ?*=*) ;; *) usage_error "option '--config' needs key=value, got '$2'" ;; esac
        configs+=(-c "$2"); shift 2 ;;
    --if-not-exists | --under-replicated-partitions | --unavailable-partitions) flags+=("$1"); shift ;;
    --if-exists) shift ;; # deleting a missing topic already reports an error per topic
    --command-config) need_arg "$1" $#; client_props_file "$2"; shift 2 ;;
    --command-property) need_arg "$1" $#; WEIR_X+=(-X "$2"); shift 2 ;;
    *) usage_error "unknown option '$1'" ;;
    esac
done
[ -n "$BOOTSTRAP_SERVER" ] || usage_error "missing --bootstrap-server HOST:PORT"
[ -n "$action" ] || usage_error "missing action: one of --create, --list, --describe, --delete, --alter"

# Options that the chosen action would silently ignore are errors, as in Kafka.
only_for() { # FLAG VALUE ACTIONS...
    local flag=$1 val=$2 a
    shift 2
    [ -z "$val" ] && return 0
    for a in "$@"; do [ "$action" = "$a" ] && return 0; done
    usage_error "option '$flag' cannot be used with $action"
}
only_for --partitions "$partitions" --create --alter
only_for --replication-factor "$rf" --create
only_for --config "${configs[*]:-}" --create
for f in ${flags[@]+"${flags[@]}"}; do
    case $f in --if-not-exists) only_for "$f" x --create ;; *) only_for "$f" x --describe ;; esac
done
case $action in --create | --delete | --alter) [ -n "$topic" ] || usage_error "$action requires --topic" ;; esac
only_for --topic "$topic" --create --delete --alter --describe

case $action in
--create)
    args=(topics create "$topic")
    [ -z "$partitions" ] || args+=(-p "$partitions")
    [ -z "$rf" ] || args+=(-r "$rf")
    args+=(${configs[@]+"${configs[@]}"} ${flags[@]+"${flags[@]}"})
    run_weir "${args[@]}" ;;
--list) run_weir topics list ;;
--describe)
    args=(topics describe)
    [ -z "$topic" ] || args+=("$topic")
    run_weir "${args[@]}" ${flags[@]+"${flags[@]}"} ;;
--delete) run_weir topics delete "$topic" ;;
--alter)
    [ -n "$partitions" ] || usage_error "--alter requires --partitions N"
    run_weir topics alter "$topic" -p "$partitions" ;;
esac
