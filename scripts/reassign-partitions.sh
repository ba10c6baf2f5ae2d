#!/usr/bin/env bash
# kafka-reassign-partitions.sh for Weir.  The brokers do not implement
# AlterPartitionReassignments, so this speaks to the cluster's ZooKeeper
# (Kafka's pre-2.4 interface): --execute writes /admin/reassign_partitions,
# which the active controller carries out and removes; --verify reads the
# topic znodes.  Run by bash even when called as "sh script".
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOT
Usage: $PROG --bootstrap-server B (--zookeeper HOST:PORT/chroot | --dir DIR) ACTION

Actions (exactly one):
  --reassignment-json-file FILE --execute   start moving partitions to the replicas in FILE
  --reassignment-json-file FILE --verify    report each partition of FILE: complete or in progress
  --topics-to-move-json-file FILE --broker-list "1,2,3" --generate
                                            print the current assignment of the topics in FILE
                                            and a proposal spreading them over the listed brokers

Options:
  --bootstrap-server B   the cluster's brokers (accepted for Kafka's habits; the
                         work happens in ZooKeeper)
  --zookeeper Z          the cluster's ZooKeeper with its chroot, e.g. 127.0.0.1:2181/weir
  --dir DIR              a cluster started by cluster.sh: ZooKeeper from DIR/cluster.env
  -h, --help             show this help

FILE formats are Kafka's:
  {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]}]}
  {"version":1,"topics":[{"topic":"t"}]}
EOT
}

zk="" dir="" action="" rfile="" tfile="" blist=""
set_action() {
    [ -z "$action" ] || usage_error "only one of --execute, --verify, --generate may be given"
    action=$1
}
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --bootstrap-server) need_arg "$1" $#; shift 2 ;;
    --zookeeper) need_arg "$1" $#; zk=$2; shift 2 ;;
    --dir) need_arg "$1" $#; dir=$2; shift 2 ;;
    --reassignment-json-file) need_arg "$1" $#; rfile=$2; shift 2 ;;
    --topics-to-move-json-file) need_arg "$1" $#; tfile=$2; shift 2 ;;
    --broker-list) need_arg "$1" $#; blist=$2; shift 2 ;;
    --execute | --verify | --generate) set_action "${1#--}"; shift ;;
    *) usage_error "unknown option '$1'" ;;
    esac
done
[ -n "$action" ] || usage_error "one of --execute, --verify or --generate is required"
[ -n "$zk" ] || [ -n "$dir" ] || usage_error "missing --zookeeper HOST:PORT/chroot or --dir DIR"
export PROG
export WEIR_SCRIPTS="$REPO/scripts"
case $action in
execute | verify) [ -n "$rfile" ] || usage_error "--$action needs --reassignment-json-file FILE" ;;
generate)
    [ -n "$tfile" ] || usage_error "--generate needs --topics-to-move-json-file FILE"
    [ -n "$blist" ] || usage_error "--generate needs --broker-list \"1,2,3\""
    case $blist in *[!0-9,]* | '' | ,* | *, | *,,*) usage_error "--broker-list needs ids like \"1,2,3\", got '$blist'" ;; esac ;;
esac

exec /usr/bin/python3 - "$zk" "$dir" "$action" "${rfile:-$tfile}" "$blist" <<'PY'
import json, os, sys, time
sys.path.insert(0, os.environ["WEIR_SCRIPTS"])
from weirzk import PROG, die, zk_connect, read_json_file, topic_assignment, dumps, NoNodeError, NodeExistsError


def check_reassignment(zk, doc):
    """Kafka's checks of a reassignment file; returns [(topic, partition, replicas)]."""
    if not isinstance(doc, dict) or not isinstance(doc.get("partitions"), list) or not doc["partitions"]:
        die("the reassignment file must hold {\"version\":1,\"partitions\":[...]} with at least one partition")
    live = set(int(b) for b in zk.get_children("/brokers/ids"))
    out, seen = [], set()
    for e in doc["partitions"]:
        t, p, r = e.get("topic"), e.get("partition"), e.get("replicas")
        if not isinstance(t, str) or not isinstance(p, int) or not isinstance(r, list) or not r:
            die("each partition needs \"topic\", \"partition\" and a non-empty \"replicas\" list: %s" % dumps(e))
        if (t, p) in seen:
            die("Partition reassignment contains duplicate topic partitions: %s-%d" % (t, p))
        seen.add((t, p))
        if len(set(r)) != len(r) or any(not isinstance(x, int) or x < 0 for x in r):
            die("Partition replica lists may not contain duplicate entries: %s-%d %s" % (t, p, r))
        a = topic_assignment(zk, t)
        if a is None or str(p) not in a["partitions"]:
            die("Topic or partition does not exist: %s-%d" % (t, p))
        missing = [x for x in r if x not in live]
        if missing:
            die("The proposed assignment contains non-existent brokerIDs: %s" % ",".join(map(str, missing)))
        out.append((t, p, r))
    return out


def current_of(zk, parts):
    cur = []
    for t, p in parts:
        a = topic_assignment(zk, t)
        cur.append({"topic": t, "partition": p, "replicas": a["partitions"][str(p)],
                    "log_dirs": ["any"] * len(a["partitions"][str(p)])})
    return {"version": 1, "partitions": cur}


def execute(zk, path):
    parts = check_reassignment(zk, read_json_file(path))
    print("Current partition replica assignment\n")
    print(dumps(current_of(zk, [(t, p) for t, p, _ in parts])))
    print("\nSave this to use as the --reassignment-json-file option during rollback")
    doc = {"version": 1, "partitions": [{"topic": t, "partition": p, "replicas": r} for t, p, r in parts]}
    try:
        zk.create("/admin/reassign_partitions", dumps(doc).encode(), makepath=True)
    except NodeExistsError:
        die("There is an existing assignment running.")
    print("Successfully started partition reassignments for %s" % ",".join("%s-%d" % (t, p) for t, p, _ in parts))


def verify(zk, path):
    doc = read_json_file(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("partitions"), list):
        die("the reassignment file must hold {\"version\":1,\"partitions\":[...]}")
    print("Status of partition reassignment:")
    pending = False
    for e in doc["partitions"]:
        t, p, r = e.get("topic"), e.get("partition"), e.get("replicas")
        a = topic_assignment(zk, t)
        key = str(p)
        if a is None or key not in a["partitions"]:
            print("Reassignment of partition %s-%s failed: the partition does not exist." % (t, p))
            pending = True
            continue
        moving = key in (a.get("adding_replicas") or {}) or key in (a.get("removing_replicas") or {})
        if a["partitions"][key] == r and not moving:
            print("Reassignment of partition %s-%d is complete." % (t, p))
        else:
            print("Reassignment of partition %s-%d is still in progress." % (t, p))
            pending = True
    sys.exit(1 if pending else 0)


def assign(brokers, nparts, rf, rnd):
    """Kafka's rack-unaware AdminUtils.assignReplicasToBrokers."""
    n = len(brokers)
    start, shift = rnd.randrange(n), rnd.randrange(n)
    out = []
    for p in range(nparts):
        if p > 0 and p % n == 0:
            shift += 1
        first = (p + start) % n
        reps = [brokers[first]]
        for j in range(rf - 1):
            reps.append(brokers[(first + 1 + (shift + j) % (n - 1)) % n])
        out.append(reps)
    return out


def generate(zk, path, blist):
    import random
    doc = read_json_file(path)
    topics = [e.get("topic") for e in doc.get("topics", [])] if isinstance(doc, dict) else []
    if not topics or not all(isinstance(t, str) for t in topics):
        die("the topics file must hold {\"version\":1,\"topics\":[{\"topic\":\"t\"},...]}")
    brokers = sorted(set(int(b) for b in blist.split(",")))
    cur, prop = [], []
    rnd = random.Random(os.environ.get("WEIR_REASSIGN_SEED"))
    for t in topics:
        a = topic_assignment(zk, t)
        if a is None:
            die("Topic %s does not exist" % t)
        nparts = len(a["partitions"])
        rf = len(a["partitions"]["0"])
        if rf > len(brokers):
            die("Replication factor: %d larger than available brokers: %d." % (rf, len(brokers)))
        for p in range(nparts):
            r = a["partitions"][str(p)]
            cur.append({"topic": t, "partition": p, "replicas": r, "log_dirs": ["any"] * len(r)})
        for p, r in enumerate(assign(brokers, nparts, rf, rnd)):
            prop.append({"topic": t, "partition": p, "replicas": r, "log_dirs": ["any"] * len(r)})
    print("Current partition replica assignment")
    print(dumps({"version": 1, "partitions": cur}))
    print("")
    print("Proposed partition reassignment configuration")
    print(dumps({"version": 1, "partitions": prop}))


zk_arg, dir_arg, action, path, blist = sys.argv[1:6]
zk = zk_connect(zk_arg, dir_arg)
try:
    {"execute": lambda: execute(zk, path), "verify": lambda: verify(zk, path),
     "generate": lambda: generate(zk, path, blist)}[action]()
finally:
    zk.stop()
    zk.close()
PY
