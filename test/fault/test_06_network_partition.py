"""06: network partition: the leader cut off from the other brokers and ZooKeeper,
still reachable by the producer (matrix F7, control-plane.md §8.7 item 5).

Every process runs in its own network namespace on a private switch (netns.py):
ZooKeeper and both controllers in "zk", broker <id> in "b<id>", and this test's
clients in "cl" (the pytest thread moves there). Replica lists are [1, 2, 3],
so broker 1 leads every partition. The partition is a pair of blackhole routes
between b1 and each of zk, b2, b3; "cl" still reaches b1. While cut off:
  * the old leader must never acknowledge an acks=all write (asked directly with
    hand-built Produce requests, and through the producers' history);
  * after its lease (2/3 of the session timeout without ZooKeeper) it must not
    acknowledge acks=1 either (DESIGN §4);
  * the controller elects new leaders among {2, 3} once b1's session expires,
    and writes resume there before the heal (the unavailability window is
    printed; this liveness check is asserted last, after the safety checks).
After healing, broker 1 re-registers, truncates what it appended alone, and
rejoins every ISR; then the history check (no acknowledged write lost, every
write issued after the election acknowledged in the new epoch) and the
byte-for-byte replica comparison.
"""

import collections
import time

import pytest

import faultlib
import harness
import netcluster
import netns

SCEN = "06-network-partition"
TOPIC = "f06"
PARTS = 3
CUT_S = faultlib.scale(20, 45)
LEASE_S = faultlib.SESSION_MS / 1000.0 * 2 / 3


def probe(c, bid, acks, tag):
    out = []
    for p in range(PARTS):
        try:
            err, base = faultlib.raw_produce(c.broker_host(bid), 9092, TOPIC, p,
                                             [b"probe-%d-%s" % (p, tag.encode())], acks=acks,
                                             timeout_ms=1500)
            out.append((p, err, base))
        except Exception as e:  # no answer is not an acknowledgement
            out.append((p, repr(e), None))
    return out


def test_partition_leader_from_cluster_not_from_producer(fleet):
    reason = netns.available()
    if reason:
        pytest.skip("network namespaces unavailable here: " + reason)
    net = fleet.net()
    net.add_node("zk", 2)
    for b in (1, 2, 3):
        net.add_node("b%d" % b, 10 + b)
    net.add_node("cl", 100)
    net.enter("cl")
    zk = fleet.zookeeper(zk_class=netcluster.NetZooKeeper, net=net)
    c = faultlib.start_cluster(fleet, zk=zk, cluster_class=netcluster.NetCluster, net=net)
    c.create_topic(TOPIC, assignment=[[1, 2, 3]] * PARTS, config={"min.insync.replicas": "2"})
    faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=30)
    t0 = time.time()
    w = faultlib.Workload(c.bootstrap(), TOPIC, PARTS, rate=faultlib.scale(300, 800)).start()
    w.wait_progress(t0, n=10, timeout=30)
    time.sleep(1)
    old = faultlib.common_leader(c, TOPIC, PARTS)
    before = faultlib.states(c, TOPIC, PARTS)

    net.cut("b%d" % old, ["zk"] + ["b%d" % b for b in c.brokers if b != old])
    # The cut is in force once net.cut returns: a write issued while its rules
    # were being installed may still be replicated and acknowledged, and would
    # pass for a write acknowledged after the fault.
    t_cut = time.time()
    acked_all, acked_one_late, acked_one_early = [], [], []
    outcomes = collections.Counter()
    elected = None
    while time.time() < t_cut + CUT_S:
        now = time.time() - t_cut
        for p, err, base in probe(c, old, -1, "all-%d" % int(now * 1000)):
            outcomes[("acks=all", err if isinstance(err, int) else err.split("(")[0])] += 1
            if err == 0:
                acked_all.append((round(now, 2), p, base))
        for p, err, base in probe(c, old, 1, "one-%d" % int(now * 1000)):
            outcomes[("acks=1", err if isinstance(err, int) else err.split("(")[0])] += 1
            if err == 0:
                (acked_one_late if now > LEASE_S + 1.0 else acked_one_early).append(
                    (round(now, 2), p, base))
        if elected is None:
            st = faultlib.states(c, TOPIC, PARTS)
            if all(s["leader"] not in (-1, old) for s, _ in st.values()):
                elected = st
                faultlib.figure(SCEN, "new leaders elected after the cut",
                                max(m for _, m in st.values()) - t_cut)
        time.sleep(0.3)
    faultlib.note(SCEN, "probes of the isolated leader (acks, error code): %s" % dict(outcomes))
    faultlib.note(SCEN, "at the end of the cut, each broker claims (partition: leader, isr): %s"
                  % faultlib.claims(c, TOPIC, c.broker_host))
    assert elected is not None, "no new leaders elected in %ss: %s" % (
        CUT_S, faultlib.states(c, TOPIC, PARTS))
    for p in range(PARTS):
        assert elected[p][0]["leader_epoch"] > before[p][0]["leader_epoch"]
    faultlib.note(SCEN, "acks=1 accepted by the isolated leader within its lease (allowed): %d"
                  % len(acked_one_early))
    assert not acked_all, "isolated leader %d acknowledged acks=all writes " \
        "(s after cut, partition, offset): %s" % (old, acked_all[:10])
    assert not acked_one_late, "isolated leader %d acknowledged acks=1 writes after its " \
        "%.1fs lease: %s" % (old, LEASE_S, acked_one_late[:10])
    # Liveness during the cut: writes must resume on the new leaders before the heal.
    # Recorded now, asserted after the safety checks so that those always run.
    slow = []
    during = faultlib.unavailability([w], t_cut, PARTS)
    stuck = [p for p, v in during.items() if v is None]
    if stuck:
        slow.append("no write acknowledged on partitions %s during the %ds cut although new "
                    "leaders were elected %.1fs after it; brokers claim: %s" % (
                        stuck, CUT_S, max(m for _, m in elected.values()) - t_cut,
                        faultlib.claims(c, TOPIC, c.broker_host)))

    net.heal()
    t_heal = time.time()
    w.wait_progress(t_cut, timeout=60)  # reliability.md §5.3: progress within 60 s of heal
    faultlib.report_unavailability(SCEN, "leader %d cut off for %ds (heal at %.1fs)" % (
        old, CUT_S, t_heal - t_cut), [w], t_cut, PARTS)
    harness.wait_until("broker %d registered again after the heal" % old,
                       lambda: old in c.registered_brokers(), timeout=30)
    faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=60)
    faultlib.figure(SCEN, "old leader back in every ISR after the heal", time.time() - t_heal)
    time.sleep(1)
    w.stop()
    faultlib.note(SCEN, w.summary())
    faultlib.read_and_check(SCEN, c, TOPIC, PARTS, [w])
    final = faultlib.states(c, TOPIC, PARTS)
    late = []
    for o in w.acked():
        s, mtime = elected[o.partition]
        if o.t_send > mtime:
            ep = faultlib.batch_epoch_at(c, final[o.partition][0]["leader"], TOPIC, o.partition,
                                         o.offset)
            if ep is None or ep < s["leader_epoch"]:
                late.append((o.partition, o.offset, ep, s["leader_epoch"]))
    assert not late, "writes issued after the election acknowledged in an older epoch: %s" % (
        late[:10])
    assert not slow, slow[0]
