"""0007: kill -9 a broker while producing, restart it, lose nothing acknowledged.

A 6-partition, replication-factor-1 topic spreads over the 3 brokers. A librdkafka
producer (acks=1) writes batches of BATCH records and flushes after each; every
record whose delivery report said "ok" is remembered with its partition and
offset. Half-way, the leader of partition 0 is killed with SIGKILL; production
continues (records for its partitions fail, the rest keep succeeding), then it is
restarted. Afterwards every acknowledged record must be readable at its acknowledged
offset with its value, read by kafka-python with check_crcs=True and by librdkafka
with check.crcs=true (so nothing torn or corrupt is served), and each partition's
offsets must be dense from 0.
"""

import collections

from confluent_kafka import TopicPartition as CkTP
from kafka import KafkaConsumer, TopicPartition as KpTP

import harness

TOPIC = "kill9"
PARTS = 6
BATCH = 300
ROUNDS = 10
KILL_AFTER = 6


def produce_round(p, rnd, acked, mid_round=None):
    """One batch of BATCH records, flushed; `mid_round` runs with half of them in flight."""
    recs = [(b"k%d-%d" % (rnd, i), b"r%d-%d-" % (rnd, i) + b"x" * 200, {})
            for i in range(BATCH)]
    results = {}

    def cb(err, msg):
        results[(msg.key(), msg.value())] = (err, msg.partition(), msg.offset())
    for i, (k, v, _) in enumerate(recs):
        p.produce(TOPIC, key=k, value=v, on_delivery=cb)
        if mid_round is not None and i == BATCH // 2:
            p.poll(0.01)  # let librdkafka put requests on the wire
            mid_round()
    assert p.flush(60) == 0, "records still queued after 60s"
    assert len(results) == BATCH
    for (_, v), (err, part, off) in results.items():
        if err is None:
            assert (part, off) not in acked, "offset %d-%d acknowledged twice" % (part, off)
            acked[(part, off)] = v


def test_kill9_broker_while_producing(cluster):
    c = cluster
    c.create_topic(TOPIC, partitions=PARTS, rf=1)
    victim = c.leader_of(TOPIC, 0)
    victim_parts = [p for p, pm in c.topic_metadata(TOPIC).partitions.items()
                    if pm.leader == victim]

    p = harness.ck_producer(c.bootstrap(), **{"acks": 1, "linger.ms": 2,
                                               "message.timeout.ms": 4000,
                                               "retries": 2})
    acked = {}
    killed_at = []
    for rnd in range(ROUNDS):
        mid = None
        if rnd == KILL_AFTER:
            def mid():
                c.brokers[victim].kill9()
                killed_at.append(len(acked))
        produce_round(p, rnd, acked, mid)
    assert killed_at and len(acked) > killed_at[0], "nothing acknowledged after the kill"

    c.start_broker(victim)
    c.wait_ready()
    c.wait_topic_leaders(TOPIC, PARTS, timeout=40)
    # The restarted broker is writable again.
    after = {}
    produce_round(p, ROUNDS, after)
    assert any(part in victim_parts for part, _ in after), \
        "no record acknowledged on the restarted broker's partitions"
    acked.update(after)

    per_part = collections.Counter(part for part, _ in acked)
    assert all(per_part[v] > 0 for v in victim_parts)

    # kafka-python, CRC checked.
    kp = KafkaConsumer(bootstrap_servers=c.bootstrap(), group_id=None, enable_auto_commit=False,
                       check_crcs=True, consumer_timeout_ms=15000)
    got_kp = {}
    try:
        tps = [KpTP(TOPIC, i) for i in range(PARTS)]
        ends = kp.end_offsets(tps)
        kp.assign(tps)
        kp.seek_to_beginning()
        want = sum(ends.values())
        for m in kp:
            assert (m.partition, m.offset) not in got_kp, "offset served twice"
            got_kp[(m.partition, m.offset)] = m.value
            if len(got_kp) == want:
                break
    finally:
        kp.close()
    assert len(got_kp) == sum(ends.values()), "kafka-python read %d of %d" % (
        len(got_kp), sum(ends.values()))
    check_dense_and_acked(got_kp, acked)

    # librdkafka, CRC checked.
    ck = harness.ck_consumer(c.bootstrap(), **{"check.crcs": True})
    try:
        msgs = harness.ck_consume(ck, [CkTP(TOPIC, i, 0) for i in range(PARTS)],
                                  sum(ends.values()), timeout=60)
    finally:
        ck.close()
    got_ck = {(m.partition(), m.offset()): m.value() for m in msgs}
    assert got_ck == got_kp


def check_dense_and_acked(got, acked):
    parts = collections.defaultdict(list)
    for part, off in got:
        parts[part].append(off)
    for part, offs in parts.items():
        assert sorted(offs) == list(range(len(offs))), "partition %d offsets not dense" % part
    missing = [k for k in acked if k not in got]
    assert not missing, "%d acknowledged records missing, e.g. %s" % (len(missing), missing[:5])
    wrong = [k for k, v in acked.items() if got[k] != v]
    assert not wrong, "%d acknowledged records changed, e.g. %s" % (len(wrong), wrong[:5])
