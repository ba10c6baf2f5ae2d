#!/usr/bin/env bash
# 'make run': a local 3-broker, 2-controller cluster with its own ZooKeeper in
# /tmp/weir-demo, a topic 'demo', five keyed records produced and read back,
# then read again through the consumer group 'demo-readers' and its offsets shown.
# Run by bash even when called as "sh script" (make run does that).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

case ${1:-} in
-h | --help)
    cat <<EOT
Usage: $PROG

Starts a demo cluster in \$WEIR_DEMO_DIR (default /tmp/weir-demo): ZooKeeper,
2 controllers, 3 brokers; creates topic 'demo' (3 partitions, replication
factor \$WEIR_DEMO_RF, default 1), produces 5 keyed records and consumes them
back, then consumes them again as consumer group 'demo-readers' and describes
that group (committed offsets, lag 0).  A demo cluster already running there
is replaced.  The cluster keeps running afterwards; stop it with:
scripts/cluster.sh down --dir DIR
EOT
    exit 0 ;;
'') ;;
*) usage_error "unknown option '$1'" ;;
esac

DIR=${WEIR_DEMO_DIR:-/tmp/weir-demo}
RF=${WEIR_DEMO_RF:-1}
S=$REPO/scripts

if [ -e "$DIR/cluster.env" ]; then
    echo "== Replacing the previous demo cluster in $DIR"
    "$S/cluster.sh" down --dir "$DIR" --clean > /dev/null
fi
echo "== Starting ZooKeeper, 2 controllers and 3 brokers in $DIR"
"$S/cluster.sh" up --dir "$DIR" --brokers 3 --controllers 2
# shellcheck disable=SC1091
. "$DIR/cluster.env"
B=$BOOTSTRAP

echo
echo "== Creating topic 'demo' (3 partitions, replication factor $RF)"
"$S/topics.sh" --bootstrap-server "$B" --create --topic demo --partitions 3 --replication-factor "$RF"
"$S/topics.sh" --bootstrap-server "$B" --describe --topic demo

echo
echo "== Producing 5 keyed records (key:value)"
records="alice:likes tea
bob:likes coffee
carol:likes cocoa
alice:changed her mind
dave:likes water"
while IFS= read -r line; do echo "  $line"; done <<< "$records"
echo "$records" | "$S/console-producer.sh" --bootstrap-server "$B" --topic demo \
    --property parse.key=true --property key.separator=: --request-required-acks all

echo
echo "== Consuming them back (records with the same key share a partition)"
"$S/console-consumer.sh" --bootstrap-server "$B" --topic demo --from-beginning --max-messages 5 \
    --timeout-ms 20000 --property print.key=true --property print.partition=true --property key.separator=:

echo
echo "== Consuming them again through consumer group 'demo-readers' (it commits what it read)"
"$S/console-consumer.sh" --bootstrap-server "$B" --topic demo --group demo-readers --from-beginning \
    --max-messages 5 --timeout-ms 20000 --property print.key=true --property print.partition=true \
    --property key.separator=:

echo
echo "== The group's committed offsets (lag 0: it has read everything)"
"$S/consumer-groups.sh" --bootstrap-server "$B" --describe --group demo-readers

cat <<EOT

== The cluster is running.
  Bootstrap servers:  $B
  ZooKeeper:          $ZK_CONNECT
  Status:             scripts/cluster.sh status --dir $DIR
  Topics:             scripts/topics.sh --bootstrap-server $B --list
  Produce:            scripts/console-producer.sh --bootstrap-server $B --topic demo
  Consume:            scripts/console-consumer.sh --bootstrap-server $B --topic demo --from-beginning
  Consume as a group: scripts/console-consumer.sh --bootstrap-server $B --topic demo --group demo-readers
  Groups:             scripts/consumer-groups.sh --bootstrap-server $B --list
  Group offsets, lag: scripts/consumer-groups.sh --bootstrap-server $B --describe --group demo-readers
  kcat:               kcat -b $B -L
  Logs:               $DIR/broker-*/broker-*.log, $DIR/controller-*/controller-*.log
  Stop it:            scripts/cluster.sh down --dir $DIR
EOT
