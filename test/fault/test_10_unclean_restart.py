"""10: a sole ISR member that restarts after an unclean shutdown is not elected (R22).

control-plane.md §8.4 R22 and §8.7 item 9, reliability.md §5 F5. Topic with
replicas [X, Y] and min.insync.replicas=1. Y is stopped cleanly, so the ISR
shrinks to [X] and X alone acknowledges acks=all writes. X is killed -9: once
its session expires the partition is leaderless with ISR [X]. X restarts
without its clean-shutdown marker and registers with "unclean_shutdown":true;
the controller must not elect it (X may have lost acknowledged records that Y
would then truncate to match); a topic with unclean leader election enabled
elects it as before. The partition stays leaderless for longer than
a session timeout and produce fails, until the operator runs
`leader-election.sh --election-type unclean`: then X leads with a new epoch,
every acknowledged record is readable, and Y rejoins with identical bytes.

The loophole cases: X restarted uncleanly and then stopped cleanly (SIGTERM
writes the marker) registers as clean, but the block recorded in the state
znode holds through a preferred election, a controller failover and a
reassignment whose only target is X (which finishes once the operator lifts
the block); and when no controller saw the unclean restart at all (both
stopped), the broker keeps registering as unclean across its clean restart,
and the controller that then starts removes X's stale leadership instead of
confirming it.  In a larger ISR [X, Y] the same unseen restart makes X leave
the ISR and Y lead with a new epoch (X then rejoins as a follower).
"""

import json
import os
import time

import faultlib
import harness

SCEN = "10-unclean-restart"
TOPIC = "f10"
STANDING = "f10u"  # unclean.leader.election.enable=true: a standing override
X, Y = 1, 2
HOLD_S = 10  # well past the 6 s session timeout
PENDING = ".weir_unclean_shutdown"


def values(tag, n):
    return [b"%s-%d-r22" % (tag, i) for i in range(n)]


def registration(c, bid):
    data = c.zk.get(c.zpath("/brokers/ids/%d" % bid))
    return json.loads(data) if data else None


def restart_registered(c, bid):
    """Restart a broker and wait for its new registration (a killed incarnation's node
    lingers until its session expires; the new one has another czxid)."""
    path = c.zpath("/brokers/ids/%d" % bid)
    st = c.zk.client().exists(path)
    old = st.czxid if st else None
    c.start_broker(bid)

    def registered():
        if not c.brokers[bid].alive():
            raise harness.ProcessDied("broker %d exited on restart:\n%s" % (bid, c.brokers[bid].tail()))
        st = c.zk.client().exists(path)
        return st is not None and st.czxid != old
    harness.wait_until("broker %d registered again" % bid, registered, timeout=30)


def state(c, topic=TOPIC):
    return faultlib.partition_state(c, topic, 0)[0]


def wait_state(c, what, pred, timeout=30):
    return harness.wait_until(what, lambda: (lambda s: s if pred(s) else False)(state(c)),
                              timeout=timeout, interval=0.2)


def active_controller_log(c):
    return c.controllers[c.active_controller()].output()


def setup_sole_isr(fleet, standing=False):
    """Cluster with t-0 on [X, Y], Y stopped cleanly, ISR [X]; acknowledged writes m1.
    standing: also topic STANDING, the same but with unclean leader election enabled."""
    c = faultlib.start_cluster(fleet)
    c.create_topic(TOPIC, assignment=[[X, Y]], config={"min.insync.replicas": "1"})
    faultlib.wait_full_isr(c, TOPIC, 1, timeout=30)
    if standing:
        c.create_topic(STANDING, assignment=[[X, Y]], config={
            "min.insync.replicas": "1", "unclean.leader.election.enable": "true"})
        faultlib.wait_full_isr(c, STANDING, 1, timeout=30)
    assert c.brokers[Y].stop() == 0, "broker %d did not stop cleanly" % Y
    wait_state(c, "ISR shrunk to [%d]" % X, lambda s: s["leader"] == X and s["isr"] == [X])
    m1 = faultlib.Writes(c.bootstrap([X]), TOPIC, 0, values(b"m1", 200))
    assert len(m1.acked()) == 200, [o.err for o in m1.ops if not o.ok][:3]
    return c, m1


def kill_leaderless(c):
    """kill -9 X and wait until the controller writes leader -1, ISR [X]."""
    epoch = state(c)["leader_epoch"]
    c.brokers[X].kill9()
    t = time.time()
    s = wait_state(c, "leader -1, ISR [%d] after kill -9" % X,
                   lambda s: s["leader"] == -1 and s["isr"] == [X], timeout=30)
    assert s["leader_epoch"] > epoch, s
    faultlib.figure(SCEN, "partition leaderless after kill -9 of its sole ISR member", time.time() - t)


def assert_held(c, why):
    """Leader -1, ISR [X], block recorded, for HOLD_S; produce fails meanwhile."""
    end = time.time() + HOLD_S
    probe = None
    while time.time() < end:
        s = state(c)
        assert s["leader"] == -1 and s["isr"] == [X] and s.get("unclean_shutdown_blocked") is True, (
            "%s: partition state changed while held: %s" % (why, s))
        if probe is None:
            probe = faultlib.Writes(c.bootstrap(), TOPIC, 0, values(b"held", 5), timeout=4)
            assert not probe.acked(), "%s: a write was acknowledged while the partition was held" % why
        time.sleep(0.5)
    faultlib.note(SCEN, "%s: held leaderless for %d s, produce failed (%s)" % (
        why, HOLD_S, probe.ops[0].err))
    return probe


def override(c):
    cp = harness.run(["bash", os.path.join(harness.REPO, "scripts", "leader-election.sh"),
                      "--bootstrap-server", c.bootstrap(), "--zookeeper", c.zk_connect,
                      "--election-type", "unclean", "--topic", TOPIC, "--partition", "0"])
    assert "Successfully completed leader election (UNCLEAN) for partitions %s-0" % TOPIC in cp.stdout, cp.stdout
    return cp


def finish(c, held_epoch, writes, y_replica=True):
    """After the override: X leads a new epoch, everything acknowledged is readable,
    Y rejoins with identical bytes (y_replica) or is no longer a replica at all."""
    s = state(c)
    assert s["leader"] == X and s["isr"] == [X] and s["leader_epoch"] > held_epoch, s
    assert "unclean_shutdown_blocked" not in s, s
    c.wait_topic_leaders(TOPIC, 1, timeout=20)
    m3 = faultlib.Writes(c.bootstrap(), TOPIC, 0, values(b"m3", 50))
    assert len(m3.acked()) == 50, [o.err for o in m3.ops if not o.ok][:3]
    faultlib.restart_broker(c, Y)
    if y_replica:
        faultlib.wait_full_isr(c, TOPIC, 1, timeout=60)
        orders = ([X, Y], [Y, X])
    else:
        orders = ([X], [Y, X])
    readings = [faultlib.read_all(c.bootstrap(ids), TOPIC, 1, name="r%d" % i)
                for i, ids in enumerate(orders)]
    faultlib.check_history(SCEN, writes + [m3], [r for r, _ in readings])
    faultlib.check_replicas(SCEN, c, TOPIC, 1, readings[0][1], replicas=[[X, Y] if y_replica else [X]])


def reassign(c, plan, action, check=True):
    return harness.run(["bash", os.path.join(harness.REPO, "scripts", "reassign-partitions.sh"),
                        "--bootstrap-server", c.bootstrap(), "--zookeeper", c.zk_connect,
                        "--reassignment-json-file", plan, action], check=check)


def assignment(c):
    return json.loads(c.zk.get(c.zpath("/brokers/topics/%s" % TOPIC)))


def test_unclean_restart_held_until_operator_override(fleet):
    c, m1 = setup_sole_isr(fleet, standing=True)
    kill_leaderless(c)
    s = state(c, STANDING)
    assert s["leader"] == -1 and s["isr"] == [X], s

    t = time.time()
    restart_registered(c, X)
    assert registration(c, X).get("unclean_shutdown") is True, registration(c, X)
    s = wait_state(c, "the controller to record the block",
                   lambda s: s.get("unclean_shutdown_blocked") is True, timeout=15)
    held_epoch = s["leader_epoch"]
    # The controller has talked to X, so X's log dir no longer carries the crash.
    harness.wait_until("X's unclean-shutdown file removed once a controller saw it",
                       lambda: not os.path.exists(os.path.join(c.log_dir(X), PENDING)), timeout=15)
    # The topic that allows unclean elections gets X back as before.
    s = state(c, STANDING)
    assert s["leader"] == X and "unclean_shutdown_blocked" not in s, s
    probe = assert_held(c, "unclean restart")
    log = active_controller_log(c)
    warn = [ln for ln in log.splitlines() if "Partition %s-0 stays offline" % TOPIC in ln]
    assert len(warn) == 1, "expected one warning for %s-0, got %s" % (TOPIC, warn)
    assert "broker %d" % X in warn[0] and (
        "leader-election.sh --election-type unclean --topic %s --partition 0" % TOPIC) in warn[0], warn[0]

    out = override(c)
    faultlib.figure(SCEN, "unavailability until the operator's unclean election", time.time() - t)
    faultlib.note(SCEN, "override: %s" % out.stdout.strip().replace("\n", " | "))
    finish(c, held_epoch, [m1, probe])


def test_clean_restart_does_not_lift_the_block(fleet):
    c, m1 = setup_sole_isr(fleet)
    kill_leaderless(c)
    restart_registered(c, X)
    s = wait_state(c, "the controller to record the block",
                   lambda s: s.get("unclean_shutdown_blocked") is True, timeout=15)
    held_epoch = s["leader_epoch"]
    harness.wait_until("X's unclean-shutdown file removed once a controller saw it",
                       lambda: not os.path.exists(os.path.join(c.log_dir(X), PENDING)), timeout=15)

    # The operator restarts X cleanly: it now registers as clean.
    assert c.brokers[X].stop() == 0, "broker %d did not stop cleanly" % X
    assert os.path.exists(os.path.join(c.log_dir(X), ".kafka_cleanshutdown"))
    restart_registered(c, X)
    assert "unclean_shutdown" not in registration(c, X), registration(c, X)

    # A preferred election (X heads the assignment) does not lift it...
    cp = harness.run(["bash", os.path.join(harness.REPO, "scripts", "leader-election.sh"),
                      "--bootstrap-server", c.bootstrap(), "--zookeeper", c.zk_connect,
                      "--election-type", "preferred", "--topic", TOPIC, "--partition", "0", "--timeout", "10"],
                     check=False)
    assert cp.returncode != 0 and "Error completing leader election (PREFERRED)" in cp.stderr, (
        cp.returncode, cp.stdout, cp.stderr)
    # ...nor does a controller failover: the successor reads the block back.
    active = c.active_controller()
    assert c.controllers[active].stop() == 0
    harness.wait_until("another controller active", lambda: c.active_controller() not in (None, active),
                       timeout=30)
    c.start_controller(active)
    time.sleep(2)
    assert state(c)["leader_epoch"] == held_epoch, state(c)
    # ...nor does a reassignment that drops Y: its target, X alone, is in sync,
    # but finishing it must not elect X either.
    plan = os.path.join(fleet.workdir, "f10-to-x.json")
    with open(plan, "w") as f:
        json.dump({"version": 1, "partitions": [{"topic": TOPIC, "partition": 0, "replicas": [X]}]}, f)
    reassign(c, plan, "--execute")
    harness.wait_until("the controller to start the reassignment",
                       lambda: (assignment(c).get("removing_replicas") or {}).get("0") == [Y], timeout=15)
    probe = assert_held(c, "clean restart after an unclean one, a preferred election, a controller failover "
                           "and a reassignment")
    cp = reassign(c, plan, "--verify", check=False)
    assert cp.returncode != 0 and "Reassignment of partition %s-0 is still in progress." % TOPIC in cp.stdout, (
        cp.returncode, cp.stdout, cp.stderr)

    override(c)
    # Lifting the block lets the reassignment finish: Y is no longer a replica.
    harness.wait_until("the reassignment to finish after the override",
                       lambda: assignment(c)["partitions"]["0"] == [X]
                       and not assignment(c).get("removing_replicas"), timeout=15)
    out = reassign(c, plan, "--verify").stdout
    assert "Reassignment of partition %s-0 is complete." % TOPIC in out, out
    finish(c, held_epoch, [m1, probe], y_replica=False)


def test_unclean_restart_no_controller_saw(fleet):
    c, m1 = setup_sole_isr(fleet)
    epoch = state(c)["leader_epoch"]
    # No controller: nobody writes X's death, the state keeps naming X as leader.
    for cid in sorted(c.controllers):
        assert c.controllers[cid].stop() == 0
    c.brokers[X].kill9()
    restart_registered(c, X)  # waits for the dead session's node to expire first
    assert registration(c, X).get("unclean_shutdown") is True, registration(c, X)
    assert os.path.exists(os.path.join(c.log_dir(X), PENDING))
    assert c.brokers[X].stop() == 0, "broker %d did not stop cleanly" % X
    restart_registered(c, X)
    # The clean stop wrote the marker, but no controller ever saw the crash.
    assert registration(c, X).get("unclean_shutdown") is True, registration(c, X)
    s = state(c)
    assert s["leader"] == X and s["leader_epoch"] == epoch, s

    for cid in sorted(c.controllers):
        c.start_controller(cid)
    s = wait_state(c, "the new controller to remove X's stale leadership",
                   lambda s: s["leader"] == -1 and s.get("unclean_shutdown_blocked") is True, timeout=30)
    assert s["isr"] == [X] and s["leader_epoch"] > epoch, s
    harness.wait_until("X's unclean-shutdown file removed once a controller saw it",
                       lambda: not os.path.exists(os.path.join(c.log_dir(X), PENDING)), timeout=15)
    probe = assert_held(c, "unclean restart while no controller ran")
    override(c)
    finish(c, s["leader_epoch"], [m1, probe])


def test_unseen_unclean_restart_in_larger_isr(fleet):
    """ISR [X, Y] led by X; with no controller running X is killed -9 and
    restarts (unclean). The controller that then starts must not keep X as
    leader at the old epoch (Y would truncate to X's possibly shorter log): X
    leaves the ISR, Y leads with a new epoch, and X rejoins as a follower."""
    c = faultlib.start_cluster(fleet)
    c.create_topic(TOPIC, assignment=[[X, Y]], config={"min.insync.replicas": "1"})
    faultlib.wait_full_isr(c, TOPIC, 1, timeout=30)
    wait_state(c, "X leads with ISR [X, Y]", lambda s: s["leader"] == X and sorted(s["isr"]) == [X, Y])
    m1 = faultlib.Writes(c.bootstrap(), TOPIC, 0, values(b"m1", 200))
    assert len(m1.acked()) == 200, [o.err for o in m1.ops if not o.ok][:3]
    epoch = state(c)["leader_epoch"]
    for cid in sorted(c.controllers):
        assert c.controllers[cid].stop() == 0
    c.brokers[X].kill9()
    restart_registered(c, X)
    assert registration(c, X).get("unclean_shutdown") is True, registration(c, X)
    s = state(c)
    assert s["leader"] == X and s["leader_epoch"] == epoch, s

    for cid in sorted(c.controllers):
        c.start_controller(cid)
    # X catches up within milliseconds and the preferred-leader rebalance
    # may give it back the lead later: the decision is read from the
    # controller's state-change log.
    s = wait_state(c, "a new leader epoch", lambda s: s["leader_epoch"] > epoch, timeout=30)
    assert "unclean_shutdown_blocked" not in s, s
    want = "Partition %s-0: leader %d->%d, epoch %d->%d, isr [%d] (UncleanShutdown" % (
        TOPIC, X, Y, epoch, epoch + 1, Y)
    harness.wait_until("the controller to move the lead to Y and drop X from the ISR",
                       lambda: want in active_controller_log(c), timeout=15)
    faultlib.wait_full_isr(c, TOPIC, 1, timeout=60)
    c.wait_topic_leaders(TOPIC, 1, timeout=20)
    m2 = faultlib.Writes(c.bootstrap(), TOPIC, 0, values(b"m2", 50))
    assert len(m2.acked()) == 50, [o.err for o in m2.ops if not o.ok][:3]
    faultlib.wait_full_isr(c, TOPIC, 1, timeout=60)
    readings = [faultlib.read_all(c.bootstrap(ids), TOPIC, 1, name="r%d" % i)
                for i, ids in enumerate(([X, Y], [Y, X]))]
    faultlib.check_history(SCEN, [m1, m2], [r for r, _ in readings])
    faultlib.check_replicas(SCEN, c, TOPIC, 1, readings[0][1], replicas=[[X, Y]])
