"""The checker itself: fed hand-made histories and logs, it must catch each anomaly.

No cluster: synthetic producer histories, readings and segment files. Each case
breaks exactly one property (an acknowledged record missing, two values at one
offset, acknowledgements out of offset order, replicas differing only in a
batch's leader epoch, a replica short of the high watermark) and the checker
must raise; the clean case must pass, with duplicates and send-order inversions
only counted.
"""

import os
import struct

import pytest

import faultlib


@pytest.fixture(autouse=True)
def _no_figures():
    """Keep the self-test's lines out of the scenarios' figures summary."""
    n = len(faultlib.FIGURES)
    yield
    del faultlib.FIGURES[n:]


class Hist:
    def __init__(self, ops):
        self.ops = ops


def op(value, partition, offset, t_ack, err=None):
    o = faultlib.Op(value, partition, t_ack - 0.01)
    o.t_ack, o.offset, o.err = t_ack, offset, err
    return o


def clean():
    ops = [op(b"w-%d-x" % i, 0, i, 10.0 + i) for i in range(4)]
    reading = {0: {o.offset: o.value for o in ops}}
    return ops, reading


def test_clean_history_passes():
    ops, r = clean()
    res = faultlib.check_history("selftest", [Hist(ops)], [r, dict(r)])
    assert res["acked"] == 4 and res["in_log"] == 4 and res["duplicates"] == 0


def test_duplicates_and_send_inversions_are_counted_not_failed():
    ops, r = clean()
    r[0][4] = b"w-1-x"  # a retried copy of seq 1 after seq 3
    res = faultlib.check_history("selftest", [Hist(ops)], [r])
    assert res["duplicates"] == 1


def test_lost_acknowledged_record_fails():
    ops, r = clean()
    del r[0][3]
    with pytest.raises(AssertionError, match="lost"):
        faultlib.check_history("selftest", [Hist(ops)], [r])


def test_overwritten_acknowledged_record_fails():
    ops, r = clean()
    r[0][2] = b"w-99-x"
    with pytest.raises(AssertionError, match="lost or overwritten"):
        faultlib.check_history("selftest", [Hist(ops)], [r])


def test_conflicting_readers_fail():
    ops, r = clean()
    r2 = {0: dict(r[0])}
    r2[0][1] = b"w-77-x"
    with pytest.raises(AssertionError, match="different values across readers"):
        faultlib.check_history("selftest", [Hist([])], [r, r2])


def test_acks_out_of_offset_order_fail():
    ops, r = clean()
    ops[3].t_ack = 5.0  # acknowledged before the others, yet at the highest offset
    with pytest.raises(AssertionError, match="out of offset order"):
        faultlib.check_history("selftest", [Hist(ops)], [r])


def test_hole_in_offsets_fails():
    ops, r = clean()
    r[0][7] = b"w-9-x"
    with pytest.raises(AssertionError, match="not dense"):
        faultlib.check_history("selftest", [Hist(ops)], [r])


# ---- replicas on disk ----------------------------------------------------------

def batch_bytes(base, count, epoch, payload=b"p"):
    """A syntactically valid v2 batch header + body (records are opaque here)."""
    body = struct.pack(">bIhi", 2, 0, 0, count - 1) + b"\0" * 40 + payload
    return struct.pack(">qii", base, 4 + len(body), epoch) + body


class FakeCluster:
    def __init__(self, root, logs):
        self.root = root
        for b, data in logs.items():
            d = os.path.join(root, "b%d" % b, "t-0")
            os.makedirs(d)
            with open(os.path.join(d, "%020d.log" % 0), "wb") as f:
                f.write(data)

    def log_dir(self, b):
        return os.path.join(self.root, "b%d" % b)


def test_replica_prefix_parses_batches(tmp_path):
    log = batch_bytes(0, 3, 0) + batch_bytes(3, 2, 1) + batch_bytes(5, 1, 1)[:20]  # torn tail
    c = FakeCluster(str(tmp_path), {1: log})
    bs = faultlib.log_batches(os.path.join(c.log_dir(1), "t-0"))
    assert [(b[0], b[1], b[2]) for b in bs] == [(0, 2, 0), (3, 4, 1)]
    data, heads = faultlib.replica_prefix(os.path.join(c.log_dir(1), "t-0"), 5)
    assert heads == [(0, 0), (3, 1)] and data == log[:len(data)]
    assert faultlib.replica_prefix(os.path.join(c.log_dir(1), "t-0"), 6) is None


def test_replicas_identical_pass(tmp_path):
    log = batch_bytes(0, 3, 0) + batch_bytes(3, 2, 1)
    c = FakeCluster(str(tmp_path), {1: log, 2: log + batch_bytes(5, 1, 1)})
    faultlib.check_replicas("selftest", c, "t", 1, {0: 5}, replicas=[[1, 2]], timeout=1)


def test_replicas_differing_only_in_leader_epoch_fail(tmp_path):
    c = FakeCluster(str(tmp_path), {1: batch_bytes(0, 3, 0) + batch_bytes(3, 2, 1),
                                    2: batch_bytes(0, 3, 0) + batch_bytes(3, 2, 2)})
    with pytest.raises(AssertionError, match=r"differ below HW 5.*\(3, 1\), \(3, 2\)"):
        faultlib.check_replicas("selftest", c, "t", 1, {0: 5}, replicas=[[1, 2]], timeout=1)


def test_replica_short_of_hw_fails(tmp_path):
    c = FakeCluster(str(tmp_path), {1: batch_bytes(0, 3, 0) + batch_bytes(3, 2, 1),
                                    2: batch_bytes(0, 3, 0)})
    with pytest.raises(AssertionError, match="to reach the high watermark"):
        faultlib.check_replicas("selftest", c, "t", 1, {0: 5}, replicas=[[1, 2]], timeout=1)
