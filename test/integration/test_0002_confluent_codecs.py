"""0002: confluent-kafka (librdkafka) producer and assign-mode consumer, every codec.

Per codec none/gzip/snappy/lz4/zstd: headers, explicit CreateTime timestamps,
null key, null value, empty value and large compressible values survive the
round trip byte for byte, in order, at offsets 0..n-1. Compression is checked
for real: the partition's segment files hold far fewer bytes than the raw values
(librdkafka silently stops compressing when the broker advertises Produce with a
minimum version above 0, so this catches an ApiVersions table regression).
"""

import pytest
from confluent_kafka import TopicPartition, TIMESTAMP_CREATE_TIME

import harness

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
BASE_TS = 1700000000000
BIG = 200          # compressible 4 KiB records
BIG_SIZE = 4096


def records():
    recs = [
        (b"k-headers", b"v-headers", {"headers": [("h1", b"x"), ("h2", b""), ("h1", b"dup"),
                                               ("hnull", None)]}),
        (None, b"null-key", {}),
        (b"null-value", None, {}),
        (b"empty-value", b"", {}),
        (b"", b"empty-key", {}),
        (b"bin", bytes(range(256)), {"headers": [("bin", bytes(range(255, -1, -1)))]}),
    ]
    for i in range(BIG):
        recs.append((b"big-%d" % i, (b"%06d" % i) + b"a" * (BIG_SIZE - 6), {}))
    out = []
    for i, (k, v, kw) in enumerate(recs):
        kw = dict(kw)
        kw["timestamp"] = BASE_TS + i * 1000
        out.append((k, v, kw))
    return out


def norm_headers(h):
    """librdkafka returns None for "no headers"; compare as lists."""
    return list(h or [])


@pytest.mark.parametrize("codec", CODECS)
def test_confluent_roundtrip(shared_cluster, codec):
    c = shared_cluster
    topic = "ck-" + codec
    c.create_topic(topic, partitions=1, rf=1)
    recs = records()
    p = harness.ck_producer(c.bootstrap(), **{"compression.type": codec, "linger.ms": 50,
                                               "batch.num.messages": 1000})
    res = harness.ck_produce_all(p, recs, topic)
    for i, (err, part, off, _) in enumerate(res):
        assert err is None, "record %d: delivery error %s" % (i, err)
        assert part == 0
    assert sorted(r[2] for r in res) == list(range(len(recs)))

    cons = harness.ck_consumer(c.bootstrap())
    try:
        msgs = harness.ck_consume(cons, [TopicPartition(topic, 0, 0)], len(recs))
    finally:
        cons.close()
    for i, (m, (k, v, kw)) in enumerate(zip(msgs, recs)):
        assert m.offset() == i
        assert m.key() == k, "record %d key %r != %r" % (i, m.key(), k)
        assert m.value() == v, "record %d value differs (%r...)" % (i, (m.value() or b"")[:20])
        assert m.timestamp() == (TIMESTAMP_CREATE_TIME, kw["timestamp"]), \
            "record %d timestamp %s" % (i, m.timestamp())
        assert norm_headers(m.headers()) == norm_headers(kw.get("headers")), \
            "record %d headers %r" % (i, m.headers())

    dirs = c.partition_dirs(topic, 0)
    assert len(dirs) == 1, dirs
    stored = harness.dir_log_bytes(dirs[0])
    raw = BIG * BIG_SIZE
    if codec == "none":
        assert stored >= raw, "uncompressed topic stores %d bytes < %d of values" % (stored, raw)
    else:
        assert stored < raw / 4, "%s: %d bytes on disk for %d bytes of values: not compressed" % (
            codec, stored, raw)
