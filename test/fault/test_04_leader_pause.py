"""04: SIGSTOP the leader past the session timeout, SIGCONT: a zombie must not ack.

Replica lists are [1, 2, 3], so broker 1 leads every partition. It is stopped
with SIGSTOP for longer than the ZooKeeper session timeout; the controller must
elect new leaders (their commit time is the state znode's mtime). Right after
SIGCONT the test asks the resumed broker directly (hand-built Produce v7 to its
port) to append to each partition, with acks=all and with acks=1: it must
refuse every one (its session expired and a newer leader epoch exists; DESIGN
§4 lease). Through the history: no acknowledged record is missing, and every
write issued after a partition's new leader was elected that was acknowledged
sits in a batch stamped with the new leader epoch or later, i.e. no
acknowledgement came from the old leader after its replacement was elected.
"""

import time

import faultlib
import harness

SCEN = "04-leader-pause"
TOPIC = "f04"
PARTS = 4
PAUSE_S = faultlib.SESSION_MS / 1000.0 + faultlib.scale(3, 10)


def probe(c, bid, acks, tag):
    """Produce directly to broker `bid`; return [(partition, error code or exception)]."""
    out = []
    for p in range(PARTS):
        try:
            err, base = faultlib.raw_produce("127.0.0.1", c.broker_ports[bid], TOPIC, p,
                                             [b"probe-%d-%s" % (p, tag.encode())], acks=acks,
                                             timeout_ms=2000)
            out.append((p, err, base))
        except Exception as e:  # refused, reset or no answer: not an acknowledgement
            out.append((p, repr(e), None))
    return out


def test_paused_leader_does_not_ack_after_replacement(fleet):
    c = faultlib.start_cluster(fleet)
    c.create_topic(TOPIC, assignment=[[1, 2, 3]] * PARTS, config={"min.insync.replicas": "2"})
    faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=30)
    t0 = time.time()
    w = faultlib.Workload(c.bootstrap(), TOPIC, PARTS, rate=faultlib.scale(300, 800)).start()
    w.wait_progress(t0, n=10, timeout=30)
    time.sleep(1)
    old = faultlib.common_leader(c, TOPIC, PARTS)
    before = faultlib.states(c, TOPIC, PARTS)

    t_stop = time.time()
    faultlib.pause(c.brokers[old])
    elected = faultlib.wait_new_leaders(c, TOPIC, PARTS, old, timeout=PAUSE_S + 30)
    for p in range(PARTS):
        assert elected[p][0]["leader_epoch"] > before[p][0]["leader_epoch"]
    faultlib.note(SCEN, "new leaders elected %.1fs after SIGSTOP: %s" % (
        max(m for _, m in elected.values()) - t_stop,
        {p: (s["leader"], s["leader_epoch"]) for p, (s, _) in elected.items()}))
    time.sleep(max(0.0, t_stop + PAUSE_S - time.time()))
    faultlib.resume(c.brokers[old])
    t_cont = time.time()

    # The resumed broker, asked directly at once and for a few seconds after.
    acked = []
    while time.time() < t_cont + 4:
        for acks in (-1, 1):
            for p, err, base in probe(c, old, acks, "%d-%d" % (acks, int(time.time() * 1000))):
                if err == 0:
                    acked.append((round(time.time() - t_cont, 2), acks, p, base))
        time.sleep(0.2)
    faultlib.note(SCEN, "after SIGCONT, each broker claims (partition: leader, isr): %s"
                  % faultlib.claims(c, TOPIC))
    assert not acked, "resumed old leader %d acknowledged writes after its replacement was " \
        "elected (s after SIGCONT, acks, partition, offset): %s" % (old, acked[:10])

    w.wait_progress(t_stop, timeout=60)
    faultlib.report_unavailability(SCEN, "SIGSTOP leader %d for %.0fs" % (old, PAUSE_S),
                                   [w], t_stop, PARTS)
    faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=60)
    faultlib.figure(SCEN, "old leader back in every ISR after SIGCONT", time.time() - t_cont)
    time.sleep(1)
    w.stop()
    faultlib.note(SCEN, w.summary())
    faultlib.read_and_check(SCEN, c, TOPIC, PARTS, [w])

    # No ack from the old leader after the election: such writes carry a new epoch.
    late = []
    final = faultlib.states(c, TOPIC, PARTS)
    for o in w.acked():
        s, mtime = elected[o.partition]
        if o.t_send <= mtime:
            continue
        ep = faultlib.batch_epoch_at(c, final[o.partition][0]["leader"], TOPIC, o.partition,
                                     o.offset)
        if ep is None or ep < s["leader_epoch"]:
            late.append((o.partition, o.offset, ep, s["leader_epoch"]))
    assert not late, "writes issued after the election acknowledged in an older leader epoch " \
        "(partition, offset, batch epoch, new epoch): %s" % late[:10]
    harness.wait_until("old leader %d still running" % old, lambda: c.brokers[old].alive(), 1)
