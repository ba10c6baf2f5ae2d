"""0010: hostile bytes on a raw socket; the broker drops the connection and keeps serving.

The cluster runs with socket.request.max.bytes=1 MiB. Against one broker:
  * a size prefix above the limit, a negative size, a truncated frame, garbage after
    a valid request header, random bytes: the connection is closed (or, for garbage
    after a header, answered with the request's correlation id);
  * ApiVersions v99: a v0-shaped response with UNSUPPORTED_VERSION (35) that names
    ApiVersions' own range; ApiVersions v0 advertises Produce from version 0;
  * Produce v7 with a batch whose CRC-32C is wrong: CORRUPT_MESSAGE (2) and nothing
    appended; a batch whose RecordsCount contradicts LastOffsetDelta: rejected;
    a well-formed batch on the same connection: appended and readable;
  * Produce to an invalid topic name: an error in the partition response.
After each case the broker process is alive and a normal client still produces to
and consumes from it.
"""

import os
import socket
import struct

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import NewTopic
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.util import calc_crc32c

import harness

CLUSTER = {"brokers": 3, "controllers": 2,
           # message.max.bytes must stay below the frame limit (checked at start-up)
           "broker_props": {"socket.request.max.bytes": 1048576, "message.max.bytes": 1000000}}
TARGET = 2          # the broker under attack
TOPIC = "raw"       # one partition, its only replica on TARGET
CANARY = "canary"   # likewise, used by the normal clients after each case


@pytest.fixture(scope="module")
def target(shared_cluster):
    c = shared_cluster
    a = c.admin()
    fs = a.create_topics([NewTopic(t, num_partitions=1, replica_assignment=[[TARGET]])
                          for t in (TOPIC, CANARY)],
                         operation_timeout=30)
    for f in fs.values():
        f.result(timeout=40)
    c.wait_topic_leaders(TOPIC, 1)
    c.wait_topic_leaders(CANARY, 1)
    assert c.leader_of(TOPIC, 0) == TARGET and c.leader_of(CANARY, 0) == TARGET
    return c


@pytest.fixture(autouse=True)
def still_serving(request):
    """After every case: the target is alive and serves a normal client."""
    yield
    if "target" not in request.fixturenames:
        return
    c = request.getfixturevalue("target")
    proc = c.brokers[TARGET]
    assert proc.alive(), "broker %d died (exit %s)" % (TARGET, proc.returncode())
    boot = "127.0.0.1:%d" % c.broker_ports[TARGET]
    value = b"canary-" + request.node.name.encode()
    p = harness.ck_producer(boot)
    err, part, off, _ = harness.ck_produce_all(p, [(None, value, {})], CANARY, timeout=20)[0]
    assert err is None, "normal produce failed after %s: %s" % (request.node.name, err)
    cons = harness.ck_consumer(boot)
    try:
        m = harness.ck_consume(cons, [TopicPartition(CANARY, 0, off)], 1, timeout=20)[0]
        assert (m.offset(), m.value()) == (off, value)
    finally:
        cons.close()


# ---- raw protocol ------------------------------------------------------------

def connect(c):
    s = socket.create_connection(("127.0.0.1", c.broker_ports[TARGET]), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def request(api_key, version, corr, body, client_id=b"weir-it", flexible=False):
    hdr = struct.pack(">hhih", api_key, version, corr, len(client_id)) + client_id
    if flexible:
        hdr += b"\x00"  # empty tagged-field section (request header v2)
    payload = hdr + body
    return struct.pack(">i", len(payload)) + payload


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def recv_frame(s):
    (size,) = struct.unpack(">i", recv_exact(s, 4))
    assert 0 <= size < 64 << 20, "response size %d" % size
    return recv_exact(s, size)


def closed_or_answer(s, timeout=10):
    """'closed' when the peer closes, else the first response frame."""
    s.settimeout(timeout)
    try:
        first = s.recv(4)
    except ConnectionResetError:
        return "closed"
    except socket.timeout:
        raise AssertionError("connection neither closed nor answered within %ss" % timeout)
    if not first:
        return "closed"
    (size,) = struct.unpack(">i", first + recv_exact(s, 4 - len(first)))
    return recv_exact(s, size)


def expect_closed(s, timeout=10):
    r = closed_or_answer(s, timeout)
    assert r == "closed", "expected the broker to close the connection, got %r" % r[:64]


def kstr(b):
    return struct.pack(">h", len(b)) + b


def produce_v7(topic, batch, acks=1):
    body = struct.pack(">hhi", -1, acks, 10000)      # TransactionalId null, Acks, TimeoutMs
    body += struct.pack(">i", 1) + kstr(topic)
    body += struct.pack(">i", 1) + struct.pack(">i", 0) + struct.pack(">i", len(batch)) + batch
    return body


def parse_produce_v7(frame, corr):
    (got_corr, ntopics) = struct.unpack_from(">ii", frame, 0)
    assert got_corr == corr and ntopics == 1, (got_corr, ntopics)
    (nlen,) = struct.unpack_from(">h", frame, 8)
    pos = 10 + nlen
    (nparts, index, err, base, append_time, log_start) = struct.unpack_from(">iihqqq", frame, pos)
    assert nparts == 1 and index == 0
    assert len(frame) == pos + 4 + 4 + 2 + 24 + 4, "produce v7 response length %d" % len(frame)
    return err, base, log_start


def batch(values, ts=1730000000000):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=0,
                                  producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                  batch_size=1 << 20)
    for i, v in enumerate(values):
        b.append(i, timestamp=ts + i, key=b"k%d" % i, value=v, headers=[])
    return bytes(b.build())


def end_offset(c):
    cons = harness.ck_consumer("127.0.0.1:%d" % c.broker_ports[TARGET])
    try:
        return cons.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=10)[1]
    finally:
        cons.close()


# ---- cases ---------------------------------------------------------------------

@pytest.mark.parametrize("size", [1048576 + 1, 2 * 1048576, 0x7fffffff])
def test_size_over_limit_closes(target, size):
    with connect(target) as s:
        s.sendall(struct.pack(">i", size) + b"\x00" * 4096)
        expect_closed(s)


@pytest.mark.parametrize("size", [-1, -0x80000000, -4])
def test_negative_size_closes(target, size):
    with connect(target) as s:
        s.sendall(struct.pack(">i", size) + b"\x00\x12\x00\x00")
        expect_closed(s)


def test_truncated_frame_then_close(target):
    for cut in (1, 2, 4, 10, 30):
        with connect(target) as s:
            full = request(3, 1, 5, struct.pack(">i", -1))
            s.sendall(struct.pack(">i", 100) + full[4:4 + cut])
    with connect(target) as s:  # size prefix cut in half
        s.sendall(b"\x00\x00")


def test_garbage_after_valid_header(target):
    cases = [
        request(3, 1, 7, struct.pack(">i", 0x7fffffff)),                 # 2^31-1 topics
        request(3, 1, 7, struct.pack(">i", 3) + struct.pack(">h", 30000) + b"abc"),
        request(0, 7, 7, b"\xff" * 40),                                  # produce, all -1s
        struct.pack(">ihhih", 10, 18, 0, 7, 400),                        # client id overruns
    ]
    for raw in cases:
        with connect(target) as s:
            s.sendall(raw)
            r = closed_or_answer(s)
            if r != "closed":
                assert struct.unpack_from(">i", r)[0] == 7, "answer with a foreign correlation id"


def test_random_bytes_close(target):
    for seed in range(5):
        junk = os.urandom(200)
        with connect(target) as s:
            s.sendall(struct.pack(">i", len(junk)) + junk)
            r = closed_or_answer(s)
            if r != "closed":  # random api key/version can only be answered if it parsed
                assert struct.unpack_from(">i", r)[0] == struct.unpack_from(">i", junk, 4)[0]


def test_api_versions_v99(target):
    with connect(target) as s:
        body = b"\x0aweir-test\x021\x00"  # compact strings + tags, as a v3+ client sends
        s.sendall(request(18, 99, 4242, body, flexible=True))
        r = recv_frame(s)
    corr, err, n = struct.unpack_from(">ihi", r, 0)
    assert corr == 4242
    assert err == 35, "ApiVersions v99 answered with error %d, want UNSUPPORTED_VERSION" % err
    assert n >= 1 and len(r) == 10 + 6 * n, "not a v0-shaped body: %d entries, %d bytes" % (
        n, len(r))
    apis = {struct.unpack_from(">h", r, 10 + 6 * i)[0]: struct.unpack_from(">hh", r, 12 + 6 * i)
            for i in range(n)}
    assert 18 in apis and apis[18][0] == 0 and apis[18][1] >= 3, apis


def test_api_versions_v0_table(target):
    with connect(target) as s:
        s.sendall(request(18, 0, 1, b""))
        r = recv_frame(s)
    corr, err, n = struct.unpack_from(">ihi", r, 0)
    assert (corr, err) == (1, 0)
    assert len(r) == 10 + 6 * n
    apis = {}
    for i in range(n):
        k, lo, hi = struct.unpack_from(">hhh", r, 10 + 6 * i)
        apis[k] = (lo, hi)
    # librdkafka silently drops compression unless Produce's range reaches down to 0.
    assert apis.get(0, (99, -1))[0] == 0 and apis[0][1] >= 7, apis.get(0)
    assert apis.get(1, (99, -1))[0] == 0 and apis[1][1] >= 4, apis.get(1)
    assert apis.get(3, (99, -1))[0] == 0, apis.get(3)
    assert apis.get(18) and apis[18][1] >= 3


def test_produce_bad_crc(target):
    before = end_offset(target)
    good = bytearray(batch([b"hello", b"world"]))
    assert struct.unpack_from(">I", good, 17)[0] == calc_crc32c(bytes(good[21:]))
    bad = bytearray(good)
    bad[-3] ^= 0x5a               # flip bits inside the last record
    bad_crc = bytearray(good)
    struct.pack_into(">I", bad_crc, 17, struct.unpack_from(">I", good, 17)[0] ^ 1)
    with connect(target) as s:
        for corr, raw in ((11, bad), (12, bad_crc)):
            s.sendall(request(0, 7, corr, produce_v7(TOPIC.encode(), bytes(raw))))
            err, base, _ = parse_produce_v7(recv_frame(s), corr)
            assert err == 2, "corrupt batch: error %d, want CORRUPT_MESSAGE (2)" % err
        assert end_offset(target) == before, "a corrupt batch was appended"

        # Same connection, a good batch: appended at the old end.
        s.sendall(request(0, 7, 13, produce_v7(TOPIC.encode(), bytes(good))))
        err, base, _ = parse_produce_v7(recv_frame(s), 13)
        assert (err, base) == (0, before)
    assert end_offset(target) == before + 2
    cons = harness.ck_consumer("127.0.0.1:%d" % target.broker_ports[TARGET])
    try:
        msgs = harness.ck_consume(cons, [TopicPartition(TOPIC, 0, before)], 2)
        assert [(m.key(), m.value()) for m in msgs] == [(b"k0", b"hello"), (b"k1", b"world")]
    finally:
        cons.close()


def test_produce_records_count_mismatch(target):
    before = end_offset(target)
    b = bytearray(batch([b"a", b"b", b"c"]))
    struct.pack_into(">i", b, 57, 7)                                 # RecordsCount 7, 3 records
    struct.pack_into(">I", b, 17, calc_crc32c(bytes(b[21:])))       # CRC made valid again
    with connect(target) as s:
        s.sendall(request(0, 7, 21, produce_v7(TOPIC.encode(), bytes(b))))
        r = closed_or_answer(s)
    if r != "closed":
        err, _, _ = parse_produce_v7(r, 21)
        # Kafka answers INVALID_RECORD (87); older brokers CORRUPT_MESSAGE (2).
        assert err in (87, 2), "inconsistent batch accepted or odd error %d" % err
    assert end_offset(target) == before, "an inconsistent batch was appended"


@pytest.mark.parametrize("name", [b"bad topic!", b"..", b""])
def test_produce_invalid_topic(target, name):
    with connect(target) as s:
        s.sendall(request(0, 7, 31, produce_v7(name, batch([b"x"]))))
        r = closed_or_answer(s)
    if r == "closed":
        pytest.fail("broker closed the connection instead of answering an invalid topic name")
    err, _, _ = parse_produce_v7(r, 31)
    assert err in (3, 17), "produce to invalid topic %r: error %d" % (name, err)
    assert name.decode() not in target.admin().list_topics(timeout=5).topics
