"""07: rolling restart of every broker with controlled shutdown, under load.

Six partitions spread over three brokers. Each broker in turn gets SIGTERM: a
controlled shutdown moves its leaderships away before it exits (exit status 0,
time printed), then it is restarted and must be back in every ISR before the
next one goes. The producer keeps writing with acks=all: retries are allowed,
but no error may reach the application (every delivery report is a success).
The unavailability window per restart is printed; the target is under 2 s
(reliability.md §5.3: clean shutdown with leadership moved first) and the ones
over it are listed; the test fails above 4.5 s. Then the history and replica checks.
"""

import time

import faultlib

SCEN = "07-rolling-restart"
TOPIC = "f07"
PARTS = 6
PASSES = faultlib.scale(1, 3)


def test_rolling_restart_controlled_shutdown(fleet):
    c = faultlib.start_cluster(fleet)
    c.create_topic(TOPIC, partitions=PARTS, rf=3, config={"min.insync.replicas": "2"})
    faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=30)
    t0 = time.time()
    w = faultlib.Workload(c.bootstrap(), TOPIC, PARTS, rate=faultlib.scale(300, 800)).start()
    w.wait_progress(t0, n=10, timeout=30)
    over = []
    for rnd in range(PASSES):
        for bid in sorted(c.brokers):
            faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=60)
            time.sleep(1)
            led = [p for p, (s, _) in faultlib.states(c, TOPIC, PARTS).items()
                   if s["leader"] == bid]
            t_term = time.time()
            rc = c.brokers[bid].stop(timeout=30)
            took = time.time() - t_term
            assert rc == 0, "broker %d exited %s on SIGTERM:\n%s" % (bid, rc, c.brokers[bid].tail())
            faultlib.figure(SCEN, "pass %d: broker %d controlled shutdown (led %s)" % (
                rnd + 1, bid, led), took)
            after = faultlib.states(c, TOPIC, PARTS)
            still = [p for p in led if after[p][0]["leader"] == bid]
            assert not still, "partitions %s still led by broker %d after it exited" % (still, bid)
            w.wait_progress(t_term, timeout=60)
            stall = faultlib.report_unavailability(
                SCEN, "pass %d: SIGTERM broker %d" % (rnd + 1, bid), [w], t_term, PARTS)
            # reliability.md §5.3 targets < 2 s; windows over it are listed at the end.
            # The hard bound is looser because the client adds its own delays (once in
            # a long run: 3.1 s with nothing sent to the new leader, see README), but it
            # stays far below a failover by session expiry (~6 s), which is what a
            # shutdown that did not move leadership first would cost.
            if stall > 2.0:
                over.append("broker %d: %.1fs" % (bid, stall))
            if stall > 4.5:
                # Allowed only where the new leader provably got nothing to
                # write: one batch at the end of the gap holding records the
                # producer created all through it (seen with librdkafka).
                per = faultlib.unavailability([w], t_term, PARTS)
                slow = [p for p, v in per.items() if v > 4.5]
                broker_side = [p for p in slow if not faultlib.client_held(
                    c, after[p][0]["leader"], TOPIC, p, t_term, t_term + per[p])]
                assert not broker_side, "clean shutdown of broker %d stalled writes %.1fs on %s" % (
                    bid, stall, broker_side)
                faultlib.note(SCEN, "broker %d: %.1fs on %s, all of it in the producer (one batch of records "
                              "created through the gap reached the new leader at its end)" % (bid, stall, slow))
            faultlib.restart_broker(c, bid)
    faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=60)
    time.sleep(1)
    w.stop()
    faultlib.note(SCEN, w.summary())
    faultlib.note(SCEN, "windows over the 2 s target: %s" % (over or "none"))
    assert not w.failed(), "errors reached the application during a rolling restart: %s" % (
        sorted({o.err for o in w.failed()})[:5])
    faultlib.read_and_check(SCEN, c, TOPIC, PARTS, [w])
