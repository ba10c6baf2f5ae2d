"""01: kill -9 the leader of every partition, repeatedly, under continuous load.

All partitions of the topic have the same replica list [1, 2, 3], so after each
election (first live ISR member in assignment order) they share one leader
again, and one kill takes out the leader of every partition at once. Each round:
wait for a full ISR, kill -9 the common leader, measure the unavailability window
(kill to the first acks=all write issued after it, acknowledged on every
partition), check ZooKeeper moved every partition to a new leader with a higher
leader epoch, restart the killed broker and wait until it is back in every ISR
(catch-up time printed). The worst window must stay under the session timeout
+ 5 s (reliability.md §5.3). After the rounds: two fresh readers, the history
checker, and the byte-for-byte replica comparison up to the high watermark.
"""

import time

import faultlib

SCEN = "01-leader-kill"
TOPIC = "f01"
PARTS = 4
ROUNDS = faultlib.scale(3, 8)


def test_kill_leader_of_all_partitions_repeatedly(fleet):
    c = faultlib.start_cluster(fleet)
    c.create_topic(TOPIC, assignment=[[1, 2, 3]] * PARTS, config={"min.insync.replicas": "2"})
    faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=30)
    t0 = time.time()
    w = faultlib.Workload(c.bootstrap(), TOPIC, PARTS, rate=faultlib.scale(300, 800)).start()
    w.wait_progress(t0, n=10, timeout=30)
    windows = []
    for rnd in range(1, ROUNDS + 1):
        faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=60)
        time.sleep(faultlib.scale(1.0, 4.0))  # load on the leader before the kill
        before = faultlib.states(c, TOPIC, PARTS)
        leader = faultlib.common_leader(c, TOPIC, PARTS)
        t_kill = time.time()
        c.brokers[leader].kill9()
        after = faultlib.wait_new_leaders(c, TOPIC, PARTS, leader, timeout=40)
        for p in range(PARTS):
            assert after[p][0]["leader_epoch"] > before[p][0]["leader_epoch"], (
                "partition %d: leader changed without a leader epoch bump: %s -> %s" % (
                    p, before[p][0], after[p][0]))
        w.wait_progress(t_kill, timeout=60)
        windows.append(faultlib.report_unavailability(
            SCEN, "round %d (kill -9 broker %d)" % (rnd, leader), [w], t_kill, PARTS))
        t_back = time.time()
        faultlib.restart_broker(c, leader)
        faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=60)
        faultlib.figure(SCEN, "round %d: broker %d back in every ISR after restart" % (rnd, leader),
                        time.time() - t_back)
    time.sleep(1)
    w.stop()
    faultlib.figure(SCEN, "worst unavailability over %d rounds" % ROUNDS, max(windows))
    # reliability.md §5.3: failover within the session timeout + 5 s.
    bound = faultlib.SESSION_MS / 1000.0 + 5
    assert max(windows) <= bound, "failover took %.1fs (> %.0fs) in some round: %s" % (
        max(windows), bound, windows)
    faultlib.note(SCEN, w.summary())
    faultlib.read_and_check(SCEN, c, TOPIC, PARTS, [w])
