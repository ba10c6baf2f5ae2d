"""One consumer-group member for test_0030_groups.py, run as its own process.

A separate process so that a scenario can kill -9 it.  It subscribes to one
topic with confluent-kafka (--client ck) or kafka-python (--client kp) and
prints one JSON object per line on standard output, flushed at once:

  {"ev": "start", "pid": N, "ts": T}
  {"ev": "assign", "parts": [[topic, partition], ...], "ts": T}   the whole new assignment
  {"ev": "revoke", "parts": [...], "ts": T}
  {"ev": "recs", "r": [[partition, offset], ...], "ts": T}          records handed to the app
  {"ev": "commit", "offsets": [[topic, partition, next offset], ...], "ts": T}
  {"ev": "error", "err": "...", "ts": T}
  {"ev": "closed", "ts": T}

Commits are at-least-once: a record is printed before its offset can be
committed.  --commit manual commits the printed records' next
offsets synchronously after each batch (with --metadata as commit metadata on
kafka-python); --commit auto lets the client commit every second and on close
(librdkafka with enable.auto.offset.store=false and an explicit store after
printing).  --max-msgs N hands exactly N records to the app, commits them
(manual: explicitly; auto: by closing) and exits.  SIGTERM closes the consumer
(LeaveGroup unless static) and exits 0.
"""

import argparse
import json
import os
import signal
import sys
import time

STOP = []


def emit(ev, **kw):
    kw["ev"] = ev
    kw["ts"] = time.time()
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


def on_term(_sig, _frm):
    STOP.append(1)


def run_ck(a):
    from confluent_kafka import Consumer, KafkaError, TopicPartition
    conf = {
        "bootstrap.servers": a.bootstrap, "group.id": a.group, "client.id": a.client_id,
        "session.timeout.ms": a.session_ms, "heartbeat.interval.ms": a.heartbeat_ms,
        "max.poll.interval.ms": max(a.session_ms, 20000),
        "partition.assignment.strategy": a.assignor,
        "auto.offset.reset": "earliest", "enable.partition.eof": False,
        "enable.auto.commit": a.commit == "auto", "auto.commit.interval.ms": 1000,
        "enable.auto.offset.store": False,
        "topic.metadata.refresh.interval.ms": 5000,
    }
    if a.instance_id:
        conf["group.instance.id"] = a.instance_id
    c = Consumer(conf)

    def on_assign(_c, parts):
        emit("assign", parts=[[p.topic, p.partition] for p in parts])

    def on_revoke(_c, parts):
        emit("revoke", parts=[[p.topic, p.partition] for p in parts])
    c.subscribe([a.topic], on_assign=on_assign, on_revoke=on_revoke)
    done = 0
    while not STOP:
        msgs = c.consume(num_messages=200, timeout=0.2)
        batch, nexts = [], {}
        for m in msgs:
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    emit("error", err=str(m.error()))
                continue
            if a.max_msgs and done >= a.max_msgs:
                break  # records past the limit are dropped, not stored
            batch.append([m.partition(), m.offset()])
            nexts[(m.topic(), m.partition())] = m.offset() + 1
            done += 1
        if batch:
            emit("recs", r=batch)
            tps = [TopicPartition(t, p, o) for (t, p), o in sorted(nexts.items())]
            if a.commit == "manual":
                try:
                    c.commit(offsets=tps, asynchronous=False)
                    emit("commit", offsets=[[t, p, o] for (t, p), o in sorted(nexts.items())])
                except Exception as e:  # a rebalance may fence the commit: the records come again
                    emit("error", err="commit: %s" % e)
            else:
                c.store_offsets(offsets=tps)
        if a.max_msgs and done >= a.max_msgs:
            break
    c.close()
    emit("closed")


def run_kp(a):
    from kafka import KafkaConsumer, TopicPartition, OffsetAndMetadata
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
    from kafka.consumer.subscription_state import ConsumerRebalanceListener
    assignors = {"range": [RangePartitionAssignor], "roundrobin": [RoundRobinPartitionAssignor]}

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            emit("revoke", parts=sorted([tp.topic, tp.partition] for tp in revoked))

        def on_partitions_assigned(self, assigned):
            emit("assign", parts=sorted([tp.topic, tp.partition] for tp in assigned))
    c = KafkaConsumer(bootstrap_servers=a.bootstrap, group_id=a.group, client_id=a.client_id,
                      session_timeout_ms=a.session_ms, heartbeat_interval_ms=a.heartbeat_ms,
                      max_poll_interval_ms=max(a.session_ms, 20000),
                      partition_assignment_strategy=assignors[a.assignor.split(",")[0]],
                      auto_offset_reset="earliest", enable_auto_commit=a.commit == "auto",
                      auto_commit_interval_ms=1000, metadata_max_age_ms=5000)
    c.subscribe([a.topic], listener=Listener())
    done = 0
    while not STOP:
        limit = 200 if not a.max_msgs else min(200, a.max_msgs - done)
        got = c.poll(timeout_ms=200, max_records=limit)
        batch, nexts = [], {}
        for tp, recs in sorted(got.items()):
            for r in recs:
                batch.append([r.partition, r.offset])
                nexts[(tp.topic, tp.partition)] = r.offset + 1
        done += len(batch)
        if batch:
            emit("recs", r=batch)
            if a.commit == "manual":
                offs = {TopicPartition(t, p): OffsetAndMetadata(o, a.metadata) for (t, p), o in nexts.items()}
                try:
                    c.commit(offs)
                    emit("commit", offsets=[[t, p, o] for (t, p), o in sorted(nexts.items())])
                except Exception as e:
                    emit("error", err="commit: %s" % e)
        if a.max_msgs and done >= a.max_msgs:
            break
    c.close()  # auto-commit: commits the consumed positions, then LeaveGroup
    emit("closed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", choices=("ck", "kp"), required=True)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--client-id", default="weir-member")
    ap.add_argument("--instance-id", default="")
    ap.add_argument("--session-ms", type=int, default=6000)
    ap.add_argument("--heartbeat-ms", type=int, default=1000)
    ap.add_argument("--assignor", default="range")
    ap.add_argument("--commit", choices=("manual", "auto"), default="manual")
    ap.add_argument("--metadata", default="")
    ap.add_argument("--max-msgs", type=int, default=0)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    emit("start", pid=os.getpid())
    try:
        (run_ck if a.client == "ck" else run_kp)(a)
    except Exception as e:
        emit("error", err="fatal: %r" % e)
        raise


if __name__ == "__main__":
    main()
