"""02: kill -9 a follower, keep producing, restart it: it catches up and rejoins.

Replica lists are [1, 2, 3] everywhere, so broker 3 is a follower of every
partition. After kill -9 of broker 3 the leader must drop it from the ISR (after
replica.lag.time.max.ms, through the controller) and acks=all writes must keep
succeeding with ISR {1, 2} >= min.insync.replicas; the stall is printed as the
unavailability window and must end within 2 x replica.lag.time.max.ms + 1 s
(see the comment at the bound for why 2x);
the ISR shrink is checked through Metadata. Broker 3
is restarted after more writes; it must catch up and be back in every ISR
(Metadata), with the catch-up time printed. Then the history and replica checks.
"""

import time

import faultlib
import harness

SCEN = "02-follower-kill"
TOPIC = "f02"
PARTS = 4
FOLLOWER = 3


def test_kill_follower_then_rejoin(fleet):
    c = faultlib.start_cluster(fleet)
    c.create_topic(TOPIC, assignment=[[1, 2, 3]] * PARTS, config={"min.insync.replicas": "2"})
    faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=30)
    t0 = time.time()
    w = faultlib.Workload(c.bootstrap(), TOPIC, PARTS, rate=faultlib.scale(300, 800)).start()
    w.wait_progress(t0, n=10, timeout=30)
    time.sleep(1)

    before = faultlib.states(c, TOPIC, PARTS)
    t_kill = time.time()
    c.brokers[FOLLOWER].kill9()
    w.wait_progress(t_kill, n=5, timeout=40)
    stall = faultlib.report_unavailability(SCEN, "kill -9 follower %d" % FOLLOWER, [w], t_kill,
                                           PARTS)
    # Kafka's rule (Partition.isFollowerOutOfSync): a follower is out of sync when its
    # LEO differs from the leader's and it has not caught up for `lag`; the leader
    # checks every lag/2. A partition that gets no append is not shrunk, and with one
    # request in flight per connection a partition's next append can wait behind
    # another partition's stalled acks=all: so the stall is bounded by ~2 x lag
    # (+ an AlterPartition round trip), and must end through the leader's lag check
    # rather than only at the controller's session expiry (6 s).
    bound = 2.0 * faultlib.LAG_MS / 1000.0 + 1.0
    slow = []
    if stall > bound:
        slow.append("acks=all stalled %.1fs after a follower died; the lag-based ISR shrink "
                    "(replica.lag.time.max.ms=%d) should end it within %.1fs; per partition: %s"
                    % (stall, faultlib.LAG_MS, bound,
                       faultlib.unavailability([w], t_kill, PARTS)))

    def shrunk():
        md = faultlib.metadata(c, TOPIC)
        return all(isr == [1, 2] for _, isr, _ in md.values())
    harness.wait_until("ISR of every partition to shrink to [1, 2]", shrunk, timeout=30)
    faultlib.figure(SCEN, "ISR shrink seen in Metadata after the kill", time.time() - t_kill)
    # A shrink by the leader (AlterPartition) keeps the leader epoch; the controller's
    # removal of a dead replica bumps it (R15). At least the partitions that kept
    # taking appends must have been shrunk by the leader's lag check.
    after = faultlib.states(c, TOPIC, PARTS)
    by_leader = [p for p in range(PARTS)
                 if after[p][0]["leader_epoch"] == before[p][0]["leader_epoch"]]
    faultlib.note(SCEN, "partitions shrunk by the leader's lag check: %s; by the controller "
                  "after the session expired: %s" % (
                      by_leader, [p for p in range(PARTS) if p not in by_leader]))
    assert by_leader, "no partition was shrunk by the leader's lag check (all by the " \
        "controller at session expiry): %s" % after
    assert faultlib.common_leader(c, TOPIC, PARTS) == 1

    time.sleep(faultlib.scale(5, 30))  # the follower falls further behind
    t_restart = time.time()
    faultlib.restart_broker(c, FOLLOWER)
    faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=90)
    faultlib.figure(SCEN, "follower %d back in every ISR after restart (behind by %d writes)" % (
        FOLLOWER, w.acked_since(t_kill)), time.time() - t_restart)
    w.wait_progress(time.time(), n=5, timeout=30)
    w.stop()
    assert not w.failed(), "errors reached the application: %s" % [o.err for o in w.failed()][:5]
    faultlib.note(SCEN, w.summary())
    faultlib.read_and_check(SCEN, c, TOPIC, PARTS, [w])
    assert not slow, slow[0]  # liveness, asserted after the safety checks ran
