"""05: a broker's ZooKeeper session expires; it re-registers and rejoins.

Six partitions spread over three brokers. Broker 3 (leader of some partitions,
follower of others) is stopped with SIGSTOP for ~8 s, longer than the 6 s
session: its /brokers/ids/3 node must disappear while it is stopped (the session
expired), the partitions it led must get new leaders. After SIGCONT it must
notice the expiry, register again with a new broker epoch (czxid), follow the
new leaders and be back in every ISR. Unavailability from the stop, rejoin time,
then the history and replica checks.
"""

import time

import faultlib
import harness

SCEN = "05-session-expiry"
TOPIC = "f05"
PARTS = 6
VICTIM = 3


def broker_epoch(c, bid):
    _, stat = c.zk.client().get(c.zpath("/brokers/ids/%d" % bid))
    return stat.czxid


def test_broker_session_expiry_rejoins(fleet):
    c = faultlib.start_cluster(fleet)
    c.create_topic(TOPIC, partitions=PARTS, rf=3, config={"min.insync.replicas": "2"})
    faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=30)
    t0 = time.time()
    w = faultlib.Workload(c.bootstrap(), TOPIC, PARTS, rate=faultlib.scale(300, 800)).start()
    w.wait_progress(t0, n=10, timeout=30)
    time.sleep(1)
    epoch0 = broker_epoch(c, VICTIM)
    before = faultlib.states(c, TOPIC, PARTS)
    led = [p for p, (s, _) in before.items() if s["leader"] == VICTIM]

    t_stop = time.time()
    faultlib.pause(c.brokers[VICTIM])
    harness.wait_until("broker %d's session to expire while stopped" % VICTIM,
                       lambda: VICTIM not in c.registered_brokers(), timeout=20, interval=0.1)
    faultlib.figure(SCEN, "session expiry seen after SIGSTOP", time.time() - t_stop)
    time.sleep(max(0.0, t_stop + 8.0 - time.time()))
    faultlib.resume(c.brokers[VICTIM])
    t_cont = time.time()

    harness.wait_until("broker %d to register again" % VICTIM,
                       lambda: VICTIM in c.registered_brokers(), timeout=30, interval=0.1)
    faultlib.figure(SCEN, "re-registered after SIGCONT", time.time() - t_cont)
    assert broker_epoch(c, VICTIM) > epoch0, "re-registration kept the old broker epoch"
    after = faultlib.states(c, TOPIC, PARTS)
    for p in led:
        assert after[p][0]["leader_epoch"] > before[p][0]["leader_epoch"], (p, before[p], after[p])
    w.wait_progress(t_stop, timeout=60)
    faultlib.report_unavailability(SCEN, "SIGSTOP broker %d for 8s (leader of %s)" % (VICTIM, led),
                                   [w], t_stop, PARTS)
    faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=60)
    faultlib.figure(SCEN, "broker %d back in every ISR after SIGCONT" % VICTIM,
                    time.time() - t_cont)
    assert c.brokers[VICTIM].alive(), c.brokers[VICTIM].tail()
    time.sleep(1)
    w.stop()
    faultlib.note(SCEN, w.summary())
    faultlib.read_and_check(SCEN, c, TOPIC, PARTS, [w])
