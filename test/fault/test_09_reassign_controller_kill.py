"""09: reassign a loaded topic to other brokers, killing the controller midway.

Four brokers; a 3-partition topic on [1, 2, 3] takes continuous acks=all writes.
The reassignment to [4, 2, 3] (broker 4 in, broker 1 out, so leadership has to
move too) is requested through /admin/reassign_partitions, Kafka's JSON
(scripts/reassign-partitions.sh, when present, writes the same znode). As soon as
the controller has started it (the topic znode lists adding replicas) or after
a short delay, the active controller is killed -9. The standby must resume it
from ZooKeeper and finish: /admin/reassign_partitions removed, the topic znode
holding exactly the targets with no adding/removing replicas, Metadata showing
the target replicas all in the ISR with leaders among them, and broker 1's
replica directories deleted. Then the history check and the byte comparison of
the target replicas.
"""

import json
import os
import time

import faultlib
import harness

SCEN = "09-reassign-controller-kill"
TOPIC = "f09"
PARTS = 3
TARGET = [4, 2, 3]


def topic_znode(c):
    return json.loads(c.zk.get(c.zpath("/brokers/topics/%s" % TOPIC)))


def test_reassignment_survives_controller_kill(fleet):
    c = faultlib.start_cluster(fleet, brokers=4)
    c.create_topic(TOPIC, assignment=[[1, 2, 3]] * PARTS, config={"min.insync.replicas": "2"})
    faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=30)
    t0 = time.time()
    w = faultlib.Workload(c.bootstrap(), TOPIC, PARTS, rate=faultlib.scale(300, 800),
                          value_pad=faultlib.scale(256, 1024)).start()
    w.wait_progress(t0, n=10, timeout=30)
    time.sleep(faultlib.scale(4, 20))  # data for the new replica to copy

    req = {"version": 1, "partitions": [{"topic": TOPIC, "partition": p, "replicas": TARGET}
                                        for p in range(PARTS)]}
    ctl = c.active_controller()
    t_req = time.time()
    c.zk.client().create(c.zpath("/admin/reassign_partitions"), json.dumps(req).encode(),
                         makepath=True)

    def started():
        return topic_znode(c).get("adding_replicas") or time.time() > t_req + 1.5
    harness.wait_until("the reassignment to start", started, timeout=10, interval=0.02)
    faultlib.note(SCEN, "topic znode when the controller was killed: %s" % topic_znode(c))
    c.controllers[ctl].kill9()
    t_kill = time.time()

    def done():
        if c.zk.get(c.zpath("/admin/reassign_partitions")) is not None:
            return False
        tz = topic_znode(c)
        parts = tz.get("partitions", {})
        return (all(parts.get(str(p)) == TARGET for p in range(PARTS))
                and not any(tz.get("adding_replicas", {}).values())
                and not any(tz.get("removing_replicas", {}).values()))
    harness.wait_until("reassignment finished in ZooKeeper", done, timeout=120, interval=0.5)
    faultlib.figure(SCEN, "reassignment finished after the controller kill", time.time() - t_kill)
    assert c.active_controller() not in (None, ctl)
    md = faultlib.wait_full_isr(c, TOPIC, PARTS, timeout=60, replicas=[TARGET] * PARTS)
    for p, (leader, isr, reps) in md.items():
        assert sorted(reps) == sorted(TARGET) and leader in TARGET, (p, leader, isr, reps)
    faultlib.report_unavailability(SCEN, "reassignment with controller kill (from the request)",
                                   [w], t_req, PARTS)
    harness.wait_until("broker 1's replica directories deleted", lambda: not any(
        os.path.isdir(os.path.join(c.log_dir(1), "%s-%d" % (TOPIC, p))) for p in range(PARTS)),
        timeout=30)
    time.sleep(1)
    w.stop()
    faultlib.note(SCEN, w.summary())
    faultlib.read_and_check(SCEN, c, TOPIC, PARTS, [w], replicas=[TARGET] * PARTS)
