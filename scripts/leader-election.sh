#!/usr/bin/env bash
# kafka-leader-election.sh for Weir.  The brokers do not implement the
# ElectLeaders API, so this writes a request znode in the cluster's ZooKeeper
# and the active controller acts on it, deletes it, and this script reports
# the outcome:
#   preferred  Kafka's /admin/preferred_replica_election: each listed
#              partition's preferred replica (the head of its assignment)
#              leads if it is live and in sync.
#   unclean    /admin/unclean_leader_election (Weir's path, same JSON): each
#              listed partition without a live leader gets one: its in-sync
#              replica even if that broker restarted after an unclean shutdown
#              (which the controller otherwise refuses to elect, R22), else
#              the first live replica (Kafka's unclean rule).  Records the new
#              leader never received are lost.
# Run by bash even when called as "sh script".
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOT
Usage: $PROG --bootstrap-server B (--zookeeper HOST:PORT/chroot | --dir DIR)
       (--all-topic-partitions | --topic T [--partition P] | --path-to-json-file FILE)
       [--election-type preferred|unclean] [--timeout SECONDS]

  --bootstrap-server B      the cluster's brokers (accepted for Kafka's habits)
  --zookeeper Z             the cluster's ZooKeeper with its chroot, e.g. 127.0.0.1:2181/weir
  --dir DIR                 a cluster started by cluster.sh: ZooKeeper from DIR/cluster.env
  --all-topic-partitions    every partition of every topic
  --topic T [--partition P] one topic, or one of its partitions
  --path-to-json-file FILE  {"partitions":[{"topic":"t","partition":0},...]}
  --election-type TYPE      preferred (the default): move leadership to the
                            preferred replica if it is live and in sync.
                            unclean: give a leader to partitions that have
                            none, accepting data loss: the in-sync replica
                            even if it restarted after an unclean shutdown
                            (the controller keeps such a partition offline
                            until asked, see conf/controller.properties),
                            else the first live replica, out of sync or not.
                            unclean.leader.election.enable on a topic is the
                            standing form of the same choice.
  --timeout SECONDS         how long to wait for the controller (default 30)
  -h, --help                show this help

Exit status 0 when every partition ends up led by its preferred replica
(preferred), or by some live replica (unclean).
EOT
}

zk="" dir="" all=0 topic="" part="" jfile="" timeout=30 etype=preferred
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --bootstrap-server) need_arg "$1" $#; shift 2 ;;
    --zookeeper) need_arg "$1" $#; zk=$2; shift 2 ;;
    --dir) need_arg "$1" $#; dir=$2; shift 2 ;;
    --all-topic-partitions) all=1; shift ;;
    --topic) need_arg "$1" $#; topic=$2; shift 2 ;;
    --partition) need_arg "$1" $#
        case $2 in '' | *[!0-9]*) usage_error "option '--partition' needs a partition number, got '$2'" ;; esac
        part=$2; shift 2 ;;
    --path-to-json-file) need_arg "$1" $#; jfile=$2; shift 2 ;;
    --election-type) need_arg "$1" $#
        case $2 in
        preferred | PREFERRED) etype=preferred ;;
        unclean | UNCLEAN) etype=unclean ;;
        *) usage_error "unknown election type '$2' (preferred or unclean)" ;;
        esac
        shift 2 ;;
    --timeout) need_arg "$1" $#
        case $2 in '' | *[!0-9]*) usage_error "option '--timeout' needs seconds, got '$2'" ;; esac
        timeout=$2; shift 2 ;;
    *) usage_error "unknown option '$1'" ;;
    esac
done
n=$(( all + (${#topic} > 0) + (${#jfile} > 0) ))
[ "$n" = 1 ] || usage_error "exactly one of --all-topic-partitions, --topic or --path-to-json-file is required"
[ -z "$part" ] || [ -n "$topic" ] || usage_error "--partition needs --topic"
[ -n "$zk" ] || [ -n "$dir" ] || usage_error "missing --zookeeper HOST:PORT/chroot or --dir DIR"
export PROG
export WEIR_SCRIPTS="$REPO/scripts"

exec /usr/bin/python3 - "$zk" "$dir" "$all" "$topic" "${part:--1}" "$jfile" "$timeout" "$etype" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["WEIR_SCRIPTS"])
from weirzk import PROG, die, zk_connect, read_json_file, topic_assignment, admin_request, dumps, NoNodeError


def targets(zk, all_parts, topic, part, jfile):
    if jfile:
        doc = read_json_file(jfile)
        lst = doc.get("partitions") if isinstance(doc, dict) else None
        if not isinstance(lst, list) or not lst:
            die("the JSON file must hold {\"partitions\":[{\"topic\":\"t\",\"partition\":0},...]}")
        out = []
        for e in lst:
            if not isinstance(e.get("topic"), str) or not isinstance(e.get("partition"), int):
                die("each entry needs \"topic\" and \"partition\": %s" % dumps(e))
            out.append((e["topic"], e["partition"]))
        return out
    names = sorted(zk.get_children("/brokers/topics")) if all_parts else [topic]
    out = []
    for t in names:
        a = topic_assignment(zk, t)
        if a is None:
            die("Topic %s does not exist" % t)
        ps = sorted(int(p) for p in a["partitions"])
        if part >= 0:
            if part not in ps:
                die("Partition %s-%d does not exist" % (t, part))
            ps = [part]
        out += [(t, p) for p in ps]
    return out


def state(zk, t, p):
    try:
        data, _ = zk.get("/brokers/topics/%s/partitions/%d/state" % (t, p))
        return json.loads(data)
    except NoNodeError:
        return None


def preferred(zk, t, p):
    a = topic_assignment(zk, t)
    return a["partitions"][str(p)][0] if a and str(p) in a["partitions"] else None


def led(zk, t, p, etype):
    """Whether t-p already has the leader this election type asks for."""
    leader = (state(zk, t, p) or {}).get("leader")
    if etype == "preferred":
        return leader == preferred(zk, t, p)
    return isinstance(leader, int) and leader >= 0 and zk.exists("/brokers/ids/%d" % leader) is not None


zk_arg, dir_arg, all_parts, topic, part, jfile, timeout, etype = sys.argv[1:9]
zk = zk_connect(zk_arg, dir_arg)
path = {"preferred": "/admin/preferred_replica_election", "unclean": "/admin/unclean_leader_election"}[etype]
kind = etype.upper()
rc = 0
try:
    parts = targets(zk, all_parts == "1", topic, int(part), jfile)
    already = [(t, p) for t, p in parts if led(zk, t, p, etype)]
    todo = [tp for tp in parts if tp not in already]
    if todo:
        doc = {"version": 1, "partitions": [{"topic": t, "partition": p} for t, p in todo]}
        admin_request(zk, path, doc, timeout, "%s leader election" % etype.capitalize(),
                      withdraw=etype == "unclean")
    done = [(t, p) for t, p in todo if led(zk, t, p, etype)]
    failed = [tp for tp in todo if tp not in done]
    fmt = lambda l: ", ".join("%s-%d" % tp for tp in l)
    if done:
        print("Successfully completed leader election (%s) for partitions %s" % (kind, fmt(done)))
        if etype == "unclean":
            for t, p in done:
                s = state(zk, t, p) or {}
                print("  %s-%d: leader %s, isr %s" % (t, p, s.get("leader"), s.get("isr")))
    if already:
        print("Valid replica already elected for partitions %s" % fmt(already))
    if failed:
        rc = 1
        why = ("the preferred replica is not available (not live or not in the ISR)" if etype == "preferred"
               else "no replica is live")
        print("Error completing leader election (%s) for partitions %s: %s" % (kind, fmt(failed), why),
              file=sys.stderr)
finally:
    zk.stop()
    zk.close()
sys.exit(rc)
PY
