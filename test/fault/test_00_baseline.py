"""00: no fault (matrix F1): the workload, readers and checker on a healthy cluster.

A 3-partition RF-3 topic takes acks=all writes for a while; then two fresh
readers, the history checker and the byte-for-byte replica comparison must find
nothing. This proves the checker's plumbing before any fault scenario blames
the broker, and it fails if replication does not copy the leader's batches
exactly (leader epochs included) to both followers.
"""

import time

import faultlib

SCEN = "00-baseline"
TOPIC = "f00"
PARTS = 3


def test_baseline_no_fault(fleet):
    c = faultlib.start_cluster(fleet)
    c.create_topic(TOPIC, partitions=PARTS, rf=3, config={"min.insync.replicas": "2"})
    faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=30)
    t0 = time.time()
    w = faultlib.Workload(c.bootstrap(), TOPIC, PARTS, rate=faultlib.scale(300, 1000)).start()
    w.wait_progress(t0, n=20, timeout=30)
    faultlib.figure(SCEN, "first acks=all write on every partition after start",
                    max(v for v in faultlib.unavailability([w], t0, PARTS).values()))
    time.sleep(faultlib.scale(5, 30))
    w.stop()
    assert not w.failed(), "errors reached the application without any fault: %s" % (
        [o.err for o in w.failed()][:5])
    faultlib.note(SCEN, w.summary())
    faultlib.read_and_check(SCEN, c, TOPIC, PARTS, [w])
