"""03: kill -9 the active controller in the middle of a burst of leader changes.

Six partitions with leaders spread over the three brokers. A round kills -9 the
broker leading partition 0 and the active controller: in odd rounds at the same
moment (the successor must discover the leaderless partitions when it takes
over), in even rounds as soon as the broker's /brokers/ids node is gone (the
controller is then issuing new leaders and ISR shrinks for everything the broker
was in, and may die with part of that written). The standby must take over
(higher controller epoch, one /controller), finish the elections it inherited
half-done, and every partition must end with a live leader and a higher leader
epoch where the leader changed. Both processes are restarted and the ISR must
return to full before the next round. The unavailability window is measured
from the broker kill. Then the history and replica checks.
"""

import time

import faultlib
import harness

SCEN = "03-controller-kill"
TOPIC = "f03"
PARTS = 6
ROUNDS = faultlib.scale(2, 6)


def controller_epoch(c):
    return int(c.zk.get(c.zpath("/controller_epoch")))


def test_kill_controller_during_leader_changes(fleet):
    c = faultlib.start_cluster(fleet)
    c.create_topic(TOPIC, partitions=PARTS, rf=3, config={"min.insync.replicas": "2"})
    faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=30)
    t0 = time.time()
    w = faultlib.Workload(c.bootstrap(), TOPIC, PARTS, rate=faultlib.scale(300, 800)).start()
    w.wait_progress(t0, n=10, timeout=30)
    for rnd in range(1, ROUNDS + 1):
        faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=60)
        time.sleep(1)
        before = faultlib.states(c, TOPIC, PARTS)
        victim = before[0][0]["leader"]
        led = [p for p, (s, _) in before.items() if s["leader"] == victim]
        ctl = c.active_controller()
        epoch0 = controller_epoch(c)

        together = rnd % 2 == 1
        t_kill = time.time()
        c.brokers[victim].kill9()
        if together:
            # The controller dies before it can see the broker go: its successor must
            # find the leaderless partitions itself when it takes over.
            c.controllers[ctl].kill9()
            how = "at the same moment"
        else:
            harness.wait_until("broker %d's registration to expire" % victim,
                               lambda: victim not in c.registered_brokers(), timeout=20,
                               interval=0.02)
            c.controllers[ctl].kill9()
            how = "%.2fs later, as soon as the broker's session expired" % (time.time() - t_kill)
        faultlib.note(SCEN, "round %d: broker %d (leader of %s) killed; controller %d killed %s"
                      % (rnd, victim, led, ctl, how))

        after = faultlib.wait_new_leaders(c, TOPIC, PARTS, victim, timeout=40)
        new_ctl = harness.wait_until("a new active controller", lambda: (
            c.active_controller() not in (None, ctl) and c.active_controller()), timeout=30)
        assert controller_epoch(c) > epoch0, "controller epoch did not move"
        for p in led:
            assert after[p][0]["leader_epoch"] > before[p][0]["leader_epoch"], (p, before[p], after[p])
        for p, (s, _) in after.items():
            assert victim not in s["isr"], "partition %d: dead broker %d still in ISR %s" % (
                p, victim, s["isr"])
            assert len(s["isr"]) >= 1 and s["leader"] in s["isr"], (p, s)
        w.wait_progress(t_kill, timeout=60)
        faultlib.report_unavailability(
            SCEN, "round %d (kill -9 broker %d, then controller %d)" % (rnd, victim, ctl),
            [w], t_kill, PARTS)

        c.start_controller(ctl)
        t_back = time.time()
        faultlib.restart_broker(c, victim)
        faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=60)
        faultlib.figure(SCEN, "round %d: broker %d back in every ISR" % (rnd, victim),
                        time.time() - t_back)
        assert c.active_controller() == new_ctl, "leadership of the controller moved again"
    time.sleep(1)
    w.stop()
    faultlib.note(SCEN, w.summary())
    faultlib.read_and_check(SCEN, c, TOPIC, PARTS, [w])
