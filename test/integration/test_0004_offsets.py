"""0004: ListOffsets (earliest, latest, by timestamp), fetching from the middle,
and OFFSET_OUT_OF_RANGE handling, with librdkafka and kafka-python.

The topic holds N records with CreateTime BASE_TS + 10*i, one batch each.
"""

import os
import struct
import time

import pytest
from confluent_kafka import KafkaError, TopicPartition as CkTP
from kafka import KafkaConsumer, TopicPartition as KpTP
from kafka.errors import OffsetOutOfRangeError

import harness

TOPIC = "offsets"
N = 60
BASE_TS = 1720000000000


@pytest.fixture(scope="module")
def filled(shared_cluster):
    c = shared_cluster
    c.create_topic(TOPIC, partitions=1, rf=1)
    p = harness.ck_producer(c.bootstrap(), **{"linger.ms": 0})
    for i in range(N):
        res = harness.ck_produce_all(p, [(b"k%d" % i, b"v%d" % i, {"timestamp": BASE_TS + 10 * i})],
                                     TOPIC)
        assert res[0][0] is None and res[0][2] == i, res
    return c


def test_confluent_list_offsets(filled):
    cons = harness.ck_consumer(filled.bootstrap())
    try:
        tp = CkTP(TOPIC, 0)
        assert cons.get_watermark_offsets(tp, timeout=10) == (0, N)
        # Exact timestamp, between two records, before the first, after the last.
        q = [CkTP(TOPIC, 0, BASE_TS + 10 * 17)]
        assert cons.offsets_for_times(q, timeout=10)[0].offset == 17
        q = [CkTP(TOPIC, 0, BASE_TS + 10 * 17 + 3)]
        assert cons.offsets_for_times(q, timeout=10)[0].offset == 18
        q = [CkTP(TOPIC, 0, BASE_TS - 100000)]
        assert cons.offsets_for_times(q, timeout=10)[0].offset == 0
        q = [CkTP(TOPIC, 0, BASE_TS + 10 * N + 1)]
        assert cons.offsets_for_times(q, timeout=10)[0].offset == -1  # no such record: end
    finally:
        cons.close()


def test_kafka_python_list_offsets(filled):
    cons = KafkaConsumer(bootstrap_servers=filled.bootstrap(), group_id=None,
                         enable_auto_commit=False)
    try:
        tp = KpTP(TOPIC, 0)
        assert cons.beginning_offsets([tp]) == {tp: 0}
        assert cons.end_offsets([tp]) == {tp: N}
        r = cons.offsets_for_times({tp: BASE_TS + 10 * 42})[tp]
        assert (r.offset, r.timestamp) == (42, BASE_TS + 10 * 42)
        r = cons.offsets_for_times({tp: BASE_TS + 10 * 42 + 1})[tp]
        assert (r.offset, r.timestamp) == (43, BASE_TS + 10 * 43)
        assert cons.offsets_for_times({tp: BASE_TS + 10 * N + 5})[tp] is None
    finally:
        cons.close()


@pytest.mark.parametrize("start", [0, 1, N // 2, N - 1])
def test_confluent_fetch_from_middle(filled, start):
    cons = harness.ck_consumer(filled.bootstrap())
    try:
        msgs = harness.ck_consume(cons, [CkTP(TOPIC, 0, start)], N - start)
        assert [m.offset() for m in msgs] == list(range(start, N))
        assert [m.value() for m in msgs] == [b"v%d" % i for i in range(start, N)]
        # Nothing beyond the end: the next event is end-of-partition.
        m = cons.poll(2)
        assert m is None or m.error(), "record beyond the end: offset %d" % m.offset()
    finally:
        cons.close()


def test_kafka_python_fetch_from_middle(filled):
    start = 23
    cons = KafkaConsumer(bootstrap_servers=filled.bootstrap(), group_id=None,
                         enable_auto_commit=False, check_crcs=True, consumer_timeout_ms=10000)
    try:
        tp = KpTP(TOPIC, 0)
        cons.assign([tp])
        cons.seek(tp, start)
        got = []
        for m in cons:
            got.append(m)
            if len(got) == N - start:
                break
    finally:
        cons.close()
    assert [m.offset for m in got] == list(range(start, N))
    assert [m.value for m in got] == [b"v%d" % i for i in range(start, N)]


def _ck_first_after_reset(c, reset, offset):
    cons = harness.ck_consumer(c.bootstrap(), **{"auto.offset.reset": reset})
    cons.assign([CkTP(TOPIC, 0, offset)])
    return cons


def test_confluent_out_of_range_earliest(filled):
    cons = _ck_first_after_reset(filled, "earliest", N + 1000)
    try:
        msgs = harness.ck_consume(cons, [CkTP(TOPIC, 0, N + 1000)], 1)
        assert msgs[0].offset() == 0
    finally:
        cons.close()


def test_confluent_out_of_range_latest(filled):
    # Appends one record: the tests above count on exactly N, so this one runs after them.
    cons = _ck_first_after_reset(filled, "latest", N + 1000)
    try:
        # Reset to the end: nothing old is delivered, the next produced record is.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            m = cons.poll(0.5)
            assert m is None or m.error(), "old record delivered at offset %d" % m.offset()
        p = harness.ck_producer(filled.bootstrap())
        res = harness.ck_produce_all(p, [(b"late", b"late", {})], TOPIC)
        assert res[0][0] is None
        end = res[0][2]
        got = None
        deadline = time.monotonic() + 20
        while got is None:
            assert time.monotonic() < deadline, "record produced after the reset not delivered"
            m = cons.poll(0.5)
            if m is not None and not m.error():
                got = m
        assert (got.offset(), got.value()) == (end, b"late")
    finally:
        cons.close()


def test_confluent_out_of_range_error(filled):
    cons = _ck_first_after_reset(filled, "error", N + 1000)
    try:
        deadline = time.monotonic() + 20
        err = None
        while err is None:
            assert time.monotonic() < deadline, "no error for an out-of-range fetch offset"
            m = cons.poll(0.5)
            if m is None:
                continue
            assert m.error(), "record delivered at offset %d despite reset=error" % m.offset()
            if m.error().code() == KafkaError._PARTITION_EOF:
                continue
            err = m.error()
        assert err.code() == KafkaError._AUTO_OFFSET_RESET, err
        assert "out of range" in err.str().lower(), err.str()
    finally:
        cons.close()


def test_kafka_python_out_of_range(filled):
    tp = KpTP(TOPIC, 0)
    for reset, want in (("earliest", 0), ("latest", None), ("none", "error")):
        cons = KafkaConsumer(bootstrap_servers=filled.bootstrap(), group_id=None,
                             enable_auto_commit=False, auto_offset_reset=reset)
        try:
            cons.assign([tp])
            cons.seek(tp, N + 1000)
            if want == "error":
                with pytest.raises(OffsetOutOfRangeError):
                    for _ in range(20):
                        cons.poll(timeout_ms=500)
                continue
            recs = []
            for _ in range(6):
                for batch in cons.poll(timeout_ms=500).values():
                    recs += batch
            if want is None:
                assert recs == [], "reset=latest delivered old records"
                assert cons.position(tp) >= N
            else:
                assert recs and recs[0].offset == 0
        finally:
            cons.close()


def test_offsets_for_times_inside_a_batch(shared_cluster):
    """By-time lookup is per record, not per batch (Kafka scans the batch's records)."""
    c = shared_cluster
    t = "offsets-batched"
    c.create_topic(t, partitions=1, rf=1)
    ts0 = BASE_TS + 10000000
    p = harness.ck_producer(c.bootstrap(), **{"linger.ms": 200})
    res = harness.ck_produce_all(p, [(None, b"b%d" % i, {"timestamp": ts0 + 100 * i})
                                     for i in range(10)], t)
    assert [r[2] for r in res] == list(range(10)) and all(r[0] is None for r in res), \
        [(r[0], r[2]) for r in res]
    dirs = c.partition_dirs(t, 0)
    # One batch on disk: 61-byte header, then the 10 records (so the lookup must look inside).
    with open(os.path.join(dirs[0], harness.segment_files(dirs[0])[0]), "rb") as f:
        head = f.read(61)
    n = struct.unpack_from(">i", head, 57)[0]
    assert n == 10, "records not in one batch: the first holds %d" % n
    cons = harness.ck_consumer(c.bootstrap())
    try:
        for target, want in ((ts0 + 500, 5), (ts0 + 501, 6), (ts0 + 900, 9), (ts0, 0)):
            got = cons.offsets_for_times([CkTP(t, 0, target)], timeout=10)[0]
            assert got.error is None and got.offset == want, \
                "timestamp +%d: offset %d (error %s), want %d" % (target - ts0, got.offset, got.error, want)
    finally:
        cons.close()
    kp = KafkaConsumer(bootstrap_servers=c.bootstrap(), group_id=None, enable_auto_commit=False)
    try:
        tp = KpTP(t, 0)
        r = kp.offsets_for_times({tp: ts0 + 301})[tp]
        assert r is not None and (r.offset, r.timestamp) == (4, ts0 + 400), "kafka-python: %r" % (r,)
    finally:
        kp.close()
