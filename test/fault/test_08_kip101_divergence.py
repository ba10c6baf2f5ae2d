"""08: KIP-101 scenario 2: a returning old leader truncates to the diverging epoch.

control-plane.md §8.7 item 2. Topic with replicas [1, 2] (min.insync.replicas=1
for this topic). After a common prefix m1 (acks=all, on both), follower 2 is
stopped (SIGSTOP) and its parked long-poll fetch left to expire, so that leader 1
alone appends m2 (acks=1), and leader 1 is killed -9. Follower 2 is resumed at once (its session never expires, it is in
the ISR), so the controller elects it: this is the "old follower comes back
first" half, made deterministic — killing both and racing their session
expiries would let the controller's processing order decide who is electable.
The new leader takes m3 (acks=all) at the very offsets where broker 1 holds m2
in the older epoch: the logs now diverge. Broker 1 is restarted: it must
truncate m2 by leader epoch (not by its high watermark), fetch m3, and rejoin the
ISR. Checks: m1 and m3 and a final m4 all at their acknowledged offsets, no m2
value readable, and the two replicas byte-identical up to the high watermark.
"""

import os
import time

import faultlib

SCEN = "08-kip101-divergence"
TOPIC = "f08"
A, B = 1, 2


def values(tag, n):
    return [b"%s-%d-kip101" % (tag, i) for i in range(n)]


def test_old_leader_truncates_to_diverging_epoch(fleet):
    c = faultlib.start_cluster(fleet)
    c.create_topic(TOPIC, assignment=[[A, B]], config={"min.insync.replicas": "1"})
    faultlib.wait_full_isr(c, TOPIC, 1, timeout=30)
    m1 = faultlib.Writes(c.bootstrap(), TOPIC, 0, values(b"m1", 50))
    assert len(m1.acked()) == 50, [o.err for o in m1.ops if not o.ok][:3]
    faultlib.wait_full_isr(c, TOPIC, 1, timeout=30)
    epoch_a = faultlib.partition_state(c, TOPIC, 0)[0]["leader_epoch"]

    faultlib.pause(c.brokers[B])
    # B's long-poll fetch is still parked on A; its answer would land in B's socket
    # buffer and be applied after SIGCONT. Let it expire empty first (fetch wait is
    # well under a second), but stay far below replica.lag.time.max.ms.
    time.sleep(1.0)
    m2 = faultlib.Writes(c.bootstrap([A]), TOPIC, 0, values(b"m2", 20), acks=1, timeout=10)
    assert len(m2.acked()) == 20, "acks=1 writes to leader %d failed: %s" % (
        A, [o.err for o in m2.ops if not o.ok][:3])
    c.brokers[A].kill9()
    faultlib.resume(c.brokers[B])
    t_kill = time.time()

    st = faultlib.wait_new_leaders(c, TOPIC, 1, A, timeout=40)[0][0]
    assert st["leader"] == B and st["leader_epoch"] > epoch_a, st
    faultlib.figure(SCEN, "broker %d elected after kill -9 of %d" % (B, A), time.time() - t_kill)
    m3 = faultlib.Writes(c.bootstrap([B]), TOPIC, 0, values(b"m3", 30))
    assert len(m3.acked()) == 30, [o.err for o in m3.ops if not o.ok][:3]
    assert min(m3.offsets()) == min(m2.offsets()) == 50, (
        "no divergence constructed: m2 at %s, m3 at %s" % (m2.offsets()[:3], m3.offsets()[:3]))

    # The divergence is on disk: A ends with m2 (old epoch) where B now has m3.
    a_log = faultlib.log_batches(os.path.join(c.log_dir(A), "%s-0" % TOPIC))
    assert a_log and a_log[-1][1] == max(m2.offsets()) and a_log[-1][2] == epoch_a, (
        "killed leader's log does not end with m2 in epoch %d: %s" % (
            epoch_a, [(b, l, e) for b, l, e, _ in a_log[-3:]]))

    t_restart = time.time()
    faultlib.restart_broker(c, A)
    faultlib.wait_full_isr(c, TOPIC, 1, timeout=60)
    faultlib.figure(SCEN, "old leader %d truncated, caught up and back in the ISR" % A,
                    time.time() - t_restart)
    m4 = faultlib.Writes(c.bootstrap(), TOPIC, 0, values(b"m4", 20))
    assert len(m4.acked()) == 20, [o.err for o in m4.ops if not o.ok][:3]

    readings = [faultlib.read_all(c.bootstrap(ids), TOPIC, 1, name="r%d" % i)
                for i, ids in enumerate(([A, B], [B, A]))]
    faultlib.check_history(SCEN, [m1, m3, m4], [r for r, _ in readings])
    m2_seen = {o.value for o in m2.ops} & set(readings[0][0][0].values())
    assert not m2_seen, "unreplicated acks=1 values from the old epoch survived: %s" % (
        sorted(m2_seen)[:3])
    faultlib.check_replicas(SCEN, c, TOPIC, 1, readings[0][1], replicas=[[A, B]])
