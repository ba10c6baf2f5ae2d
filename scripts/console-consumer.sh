#!/usr/bin/env bash
# kafka-console-consumer.sh's flags, translated to 'weir consume'.
# client.id defaults to console-consumer, as in Kafka (--consumer-property wins).
# Run by bash even when called as "sh script" (make run does that).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOT
Usage: $PROG --bootstrap-server HOST:PORT[,...] --topic T [options]

Prints the records of T, one per line, from the end of the log unless told otherwise.
Without --group the partitions are read directly and nothing is committed; with
--group G the consumer joins group G, which shares out the partitions, resumes
at G's committed offsets and commits what was printed (also on Ctrl-C).

  --bootstrap-server B            brokers (default: \$WEIR_BOOTSTRAP); --broker-list is an old name
  --topic T                       topic to read
  --group G                       consume as a member of consumer group G
  --from-beginning                start at the earliest offset (with --group: where
                                  G has no committed offset, e.g. a new group)
  --partition P                   read only partition P (not with --group)
  --offset N|earliest|latest      start offset (needs --partition, as in Kafka)
  --max-messages N                exit after N records
  --timeout-ms N                  exit when no record arrives for N ms
  --property print.key=true       also print the key (before key.separator)
  --property print.offset=true    also print the offset
  --property print.timestamp=true also print the timestamp
  --property print.headers=true   also print the headers
  --property print.partition=true also print the partition
  --property key.separator=X      separator between key and value (default: a TAB)
  --consumer-property k=v         one librdkafka consumer property (may repeat)
  --consumer.config FILE          consumer properties, key=value per line
  -h, --help                      show this help
EOT
}

BOOTSTRAP_SERVER=${WEIR_BOOTSTRAP:-} WEIR_X=(-X client.id=console-consumer)
topic="" partition="" offset="" from_beginning=0 args=() group="" group_given=0
bool_prop() { # NAME VALUE FLAG
    case $2 in
    true) args+=("$3") ;;
    false) ;;
    *) usage_error "--property $1 must be true or false, got '$2'" ;;
    esac
}
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --bootstrap-server | --broker-list | --zookeeper) check_client_flag "$1"; need_arg "$1" $#; BOOTSTRAP_SERVER=$2; shift 2 ;;
    --topic) need_arg "$1" $#; topic=$2; shift 2 ;;
    --from-beginning) from_beginning=1; shift ;;
    --partition) need_arg "$1" $#
        case $2 in '' | *[!0-9]*) usage_error "option '--partition' needs a partition number, got '$2'" ;; esac
        partition=$2; shift 2 ;;
    --offset) need_arg "$1" $#
        case $2 in earliest) offset=beginning ;; latest) offset=end ;;
        '' | *[!0-9]*) usage_error "option '--offset' needs a number, earliest or latest, got '$2'" ;;
        *) offset=$2 ;;
        esac
        shift 2 ;;
    --max-messages) need_arg "$1" $#
        case $2 in '' | *[!0-9]*) usage_error "option '--max-messages' needs a number, got '$2'" ;; esac
        args+=(-c "$2"); shift 2 ;;
    --timeout-ms) need_arg "$1" $#
        case $2 in '' | *[!0-9]*) usage_error "option '--timeout-ms' needs a number, got '$2'" ;; esac
        args+=(-t "$2"); shift 2 ;;
    --property) need_arg "$1" $#
        case $2 in
        print.key=*) bool_prop print.key "${2#*=}" --print-key ;;
        print.offset=*) bool_prop print.offset "${2#*=}" --print-offset ;;
        print.timestamp=*) bool_prop print.timestamp "${2#*=}" --print-timestamp ;;
        print.headers=*) bool_prop print.headers "${2#*=}" --print-headers ;;
        print.partition=*) bool_prop print.partition "${2#*=}" --print-partition ;;
        key.separator=*) args+=(-K "${2#key.separator=}") ;;
        *) usage_error "unsupported --property '$2' (supported: print.key, print.offset, print.timestamp, print.headers, print.partition, key.separator)" ;;
        esac
        shift 2 ;;
    --consumer-property) need_arg "$1" $#; WEIR_X+=(-X "$2"); shift 2 ;;
    --consumer.config) need_arg "$1" $#; client_props_file "$2"; shift 2 ;;
    --group) need_arg "$1" $#; [ -n "$2" ] || usage_error "option '--group' needs a group id"
        group=$2 group_given=1; shift 2 ;;
    *) usage_error "unknown option '$1'" ;;
    esac
done
[ -n "$BOOTSTRAP_SERVER" ] || usage_error "missing --bootstrap-server HOST:PORT"
[ -n "$topic" ] || usage_error "missing --topic T"

# group.id may also come from --consumer-property or --consumer.config; as in
# Kafka, every place that names a group must name the same one.
groups=() reset=""
[ $group_given -eq 0 ] || groups+=("$group")
for kv in ${WEIR_X[@]+"${WEIR_X[@]}"}; do
    case $kv in
    group.id=*) groups+=("${kv#group.id=}") ;;
    auto.offset.reset=*) reset=${kv#auto.offset.reset=} ;;
    esac
done
for g in ${groups[@]+"${groups[@]}"}; do
    if [ "$g" != "${groups[0]}" ]; then
        ids=$(printf ", '%s'" "${groups[@]}")
        usage_error "The group ids provided in different places (directly using '--group', via '--consumer-property', or via '--consumer.config') do not match. Detected group ids: ${ids#, }"
    fi
done
if [ ${#groups[@]} -gt 0 ]; then
    group=${groups[0]}
    [ -n "$group" ] || usage_error "property 'group.id' needs a group id"
    [ -z "$partition" ] || usage_error "Options group and partition cannot be specified together."
    [ -z "$offset" ] || usage_error "Options group and offset cannot be specified together: a group resumes at its committed offsets (--from-beginning: where it has none)."
fi
if [ $from_beginning -eq 1 ] && [ -n "$reset" ] && ! [[ $reset =~ ^(earliest|smallest|beginning)$ ]]; then
    echo "Can't simultaneously specify --from-beginning and 'auto.offset.reset=$reset', please remove one option" >&2
    exit 1
fi
if [ -n "$offset" ]; then
    [ -n "$partition" ] || usage_error "option '--offset' requires --partition"
    [ $from_beginning -eq 0 ] || usage_error "options '--offset' and '--from-beginning' cannot be used together"
elif [ $from_beginning -eq 1 ]; then
    offset=beginning
else
    offset=end
fi
[ -z "$partition" ] || args=(-p "$partition" ${args[@]+"${args[@]}"})
[ -z "$group" ] || args=(-G "$group" ${args[@]+"${args[@]}"})
run_weir consume "$topic" -o "$offset" ${args[@]+"${args[@]}"}
