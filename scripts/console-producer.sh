#!/usr/bin/env bash
# kafka-console-producer.sh's flags, translated to 'weir produce'.
# Run by bash even when called as "sh script" (make run does that).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOT
Usage: $PROG --bootstrap-server HOST:PORT[,...] --topic T [options] < lines

Reads lines from stdin and produces one record per line.

  --bootstrap-server B         brokers (default: \$WEIR_BOOTSTRAP); --broker-list is an old name
  --topic T                    topic to produce to
  --property parse.key=true    each line is KEY<separator>VALUE
  --property key.separator=S   the separator (default: a TAB)
  --partition P                produce to this partition (default: by key / sticky)
  --compression-codec C        none, gzip, snappy, lz4 or zstd (no value: gzip)
  --request-required-acks N    acks: 0, 1 or -1/all
  --producer-property k=v      one librdkafka producer property (may repeat)
  --producer.config FILE       producer properties, key=value per line
  -h, --help                   show this help
EOT
}

BOOTSTRAP_SERVER=${WEIR_BOOTSTRAP:-} WEIR_X=() topic="" parse_key=false sep=$'\t' args=()
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --bootstrap-server | --broker-list | --zookeeper) check_client_flag "$1"; need_arg "$1" $#; BOOTSTRAP_SERVER=$2; shift 2 ;;
    --topic) need_arg "$1" $#; topic=$2; shift 2 ;;
    --property) need_arg "$1" $#
        case $2 in
        parse.key=*) parse_key=${2#parse.key=} ;;
        key.separator=*) sep=${2#key.separator=} ;;
        *) usage_error "unsupported --property '$2' (supported: parse.key, key.separator)" ;;
        esac
        shift 2 ;;
    --partition) need_arg "$1" $#
        case $2 in '' | *[!0-9]*) usage_error "option '--partition' needs a partition number, got '$2'" ;; esac
        args+=(-p "$2"); shift 2 ;;
    --compression-codec)
        # As in Kafka, the flag alone means gzip.
        if [ $# -ge 2 ] && [ "${2#-}" = "$2" ]; then codec=$2; shift 2; else codec=gzip; shift; fi
        case $codec in none | gzip | snappy | lz4 | zstd) args+=(-z "$codec") ;;
        *) usage_error "option '--compression-codec' must be none, gzip, snappy, lz4 or zstd, got '$codec'" ;;
        esac ;;
    --request-required-acks) need_arg "$1" $#
        case $2 in 0 | 1 | -1) args+=(-a "$2") ;; all) args+=(-a -1) ;;
        *) usage_error "option '--request-required-acks' must be 0, 1, -1 or all, got '$2'" ;;
        esac
        shift 2 ;;
    --producer-property) need_arg "$1" $#; WEIR_X+=(-X "$2"); shift 2 ;;
    --producer.config) need_arg "$1" $#; client_props_file "$2"; shift 2 ;;
    --sync) WEIR_X+=(-X linger.ms=0); shift ;;
    *) usage_error "unknown option '$1'" ;;
    esac
done
[ -n "$BOOTSTRAP_SERVER" ] || usage_error "missing --bootstrap-server HOST:PORT"
[ -n "$topic" ] || usage_error "missing --topic T"
case $parse_key in
true) [ -n "$sep" ] || usage_error "--property key.separator must not be empty"; args+=(-K "$sep") ;;
false) ;;
*) usage_error "--property parse.key must be true or false, got '$parse_key'" ;;
esac
run_weir produce "$topic" ${args[@]+"${args[@]}"}
