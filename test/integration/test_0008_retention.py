"""0008: segment roll and time-based retention.

A topic with segment.bytes=2048 and retention.ms=2000 on brokers checking retention
every 500 ms: producing rolls several segment files (Kafka's 20-digit base-offset
names); then the old segments disappear from the partition directory, the log start
offset (ListOffsets earliest) moves forward to the first remaining segment's base
offset, a consumer assigned at offset 0 with auto.offset.reset=earliest starts at the
new log start, and with auto.offset.reset=error gets an out-of-range error.
"""

import os
import time

from confluent_kafka import KafkaError, TopicPartition as CkTP

import harness

CLUSTER = {"broker_props": {"log.retention.check.interval.ms": 500}}
TOPIC = "retained"


def base_offsets(pdir):
    out = []
    for f in harness.segment_files(pdir):
        stem = f[:-len(".log")]
        assert len(stem) == 20 and stem.isdigit(), "segment file name %r is not Kafka's" % f
        out.append(int(stem))
    return out


def test_roll_and_retention(cluster):
    c = cluster
    c.create_topic(TOPIC, partitions=1, rf=1,
                   config={"segment.bytes": "2048", "retention.ms": "2000"})
    dirs = c.partition_dirs(TOPIC, 0)
    assert len(dirs) == 1, dirs
    pdir = dirs[0]

    p = harness.ck_producer(c.bootstrap(), **{"linger.ms": 0})
    seen = set()
    values = {}
    for rnd in range(40):
        recs = [(b"k", b"%d-%d-" % (rnd, i) + b"y" * 150, {}) for i in range(4)]
        for err, _, off, msg in harness.ck_produce_all(p, recs, TOPIC):
            assert err is None, err
            values[off] = msg.value()
        seen.update(base_offsets(pdir))
    end = max(values) + 1
    assert len(seen) >= 4, "segments seen while producing %d x ~%dB: %s" % (
        len(values), 200, sorted(seen))
    assert 0 in seen

    cons = harness.ck_consumer(c.bootstrap())

    def moved():
        files = base_offsets(pdir)
        low, high = cons.get_watermark_offsets(CkTP(TOPIC, 0), timeout=5)
        return (0 not in files and low > 0 and files and low == min(files) and high == end
                and (files, low))
    try:
        files, low = harness.wait_until("old segments deleted and log start moved", moved,
                                        timeout=30)
    finally:
        cons.close()
    for b in files:  # Kafka's layout: every segment has its offset index
        assert os.path.exists(os.path.join(pdir, "%020d.index" % b)), os.listdir(pdir)
    left = [f for f in os.listdir(pdir)
            if f.startswith("%020d." % 0) and not f.endswith(".deleted")]
    assert not left, "files of the deleted segment left behind: %s" % left
    assert low <= end

    # reset=earliest: assigned at 0, the consumer starts at the new log start.
    fresh = harness.ck_produce_all(p, [(b"k", b"fresh", {})], TOPIC)[0]
    assert fresh[0] is None and fresh[2] == end
    cons = harness.ck_consumer(c.bootstrap(), **{"auto.offset.reset": "earliest"})
    try:
        low_now, _ = cons.get_watermark_offsets(CkTP(TOPIC, 0), timeout=5)
        m = harness.ck_consume(cons, [CkTP(TOPIC, 0, 0)], 1, timeout=20)[0]
        assert m.offset() > 0, "offset 0 served after retention deleted it"
        assert m.offset() >= low_now
        assert m.value() == (values.get(m.offset()) or b"fresh")
    finally:
        cons.close()

    # reset=error: an out-of-range error, no record.
    cons = harness.ck_consumer(c.bootstrap(), **{"auto.offset.reset": "error"})
    try:
        cons.assign([CkTP(TOPIC, 0, 0)])
        deadline = time.monotonic() + 20
        err = None
        while err is None:
            assert time.monotonic() < deadline, "no error fetching a deleted offset"
            m = cons.poll(0.5)
            if m is None or (m.error() and m.error().code() == KafkaError._PARTITION_EOF):
                continue
            assert m.error(), "record at offset %d served from a deleted segment" % m.offset()
            err = m.error()
        assert err.code() == KafkaError._AUTO_OFFSET_RESET, err
    finally:
        cons.close()
