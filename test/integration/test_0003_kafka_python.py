"""0003: kafka-python producer and assign-mode consumer, every codec it supports.

kafka-python infers the broker version from ApiVersions (no api_version given),
then uses Produce v7 / Fetch v4. Per codec none/gzip/snappy/lz4/zstd: keys
(including null), headers, explicit timestamps and values (including empty and
null) come back in order at offsets 0..n-1, with CRCs checked by the client;
compressed topics really are stored compressed (kafka-python writes xerial
snappy, unlike librdkafka).
"""

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

import harness

CODECS = [None, "gzip", "snappy", "lz4", "zstd"]
BASE_TS = 1710000000000
BIG = 150
BIG_SIZE = 4096


def records():
    recs = [
        (b"k1", b"v1", [("h", b"1"), ("h2", b"")]),
        (None, b"null-key", []),
        (b"null-value", None, []),
        (b"empty", b"", [("e", b"")]),
    ]
    for i in range(BIG):
        recs.append((b"big-%d" % i, (b"%06d" % i) + b"b" * (BIG_SIZE - 6), [("i", b"%d" % i)]))
    return recs


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c or "none")
def test_kafka_python_roundtrip(shared_cluster, codec):
    c = shared_cluster
    topic = "kp-" + (codec or "none")
    c.create_topic(topic, partitions=1, rf=1)
    recs = records()
    prod = KafkaProducer(bootstrap_servers=c.bootstrap(), compression_type=codec, linger_ms=50,
                         acks=1, retries=3, request_timeout_ms=20000)
    try:
        futs = [prod.send(topic, key=k, value=v, headers=h, partition=0,
                          timestamp_ms=BASE_TS + i)
                for i, (k, v, h) in enumerate(recs)]
        prod.flush(60)
        metas = [f.get(timeout=30) for f in futs]
    finally:
        prod.close(10)
    assert [m.offset for m in metas] == list(range(len(recs)))

    cons = KafkaConsumer(bootstrap_servers=c.bootstrap(), group_id=None,
                         enable_auto_commit=False, check_crcs=True,
                         auto_offset_reset="earliest", consumer_timeout_ms=20000)
    try:
        tp = TopicPartition(topic, 0)
        cons.assign([tp])
        cons.seek(tp, 0)
        got = []
        for m in cons:
            got.append(m)
            if len(got) == len(recs):
                break
    finally:
        cons.close()
    assert len(got) == len(recs), "read %d of %d records" % (len(got), len(recs))
    for i, (m, (k, v, h)) in enumerate(zip(got, recs)):
        assert m.offset == i
        assert m.key == k, "record %d key %r" % (i, m.key)
        assert m.value == v, "record %d value differs" % i
        assert m.timestamp == BASE_TS + i and m.timestamp_type == 0
        assert list(m.headers) == h, "record %d headers %r" % (i, m.headers)

    dirs = c.partition_dirs(topic, 0)
    assert len(dirs) == 1, dirs
    stored, raw = harness.dir_log_bytes(dirs[0]), BIG * BIG_SIZE
    if codec is None:
        assert stored >= raw
    else:
        assert stored < raw / 4, "%s: %d bytes stored for %d raw: not compressed" % (
            codec, stored, raw)
