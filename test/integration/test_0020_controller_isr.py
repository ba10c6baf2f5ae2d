"""0020: the controller's side of replication against real ZooKeeper and brokers.

* AlterPartition v1 sent from a raw socket as the partition leader would:
  Kafka's validation order (stale broker epoch, fenced leader epoch, idempotent
  retry, stale partition epoch, ineligible replica), a successful ISR change
  written at the next zkVersion without a leader-epoch bump, and pushed to the
  brokers' metadata.
* ControlledShutdown v2: leadership of RF>1 partitions moves to the next
  in-sync replica, the broker leaves every ISR, and the answer lists only the
  partitions it must keep (RF 1).
* Unclean leader election, per topic: with it, a returning out-of-sync replica
  leads; without it, the partition stays leaderless with its last ISR member.
* Preferred leader election through /admin/preferred_replica_election.
* Reassignment through /admin/reassign_partitions: adding/removing recorded in
  the topic znode, completion once the new replica is in the ISR, znode removed.
* Deletion of a topic with a replica on an offline broker completes when it
  returns.
"""

import json
import os
import socket
import struct
import time

import harness

CLUSTER = {"brokers": 3, "controllers": 1,
           "controller_props": {"auto.leader.rebalance.enable": "false"}}


# ---- a minimal Kafka client for the controller's broker-facing APIs ----------

def _uvarint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


class _Rd:
    def __init__(self, buf):
        self.b, self.o = buf, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.b, self.o)
        self.o += struct.calcsize(fmt)
        return v[0]

    def uvarint(self):
        shift = n = 0
        while True:
            x = self.b[self.o]
            self.o += 1
            n |= (x & 0x7F) << shift
            shift += 7
            if not x & 0x80:
                return n

    def cstr(self):
        n = self.uvarint() - 1
        s = self.b[self.o:self.o + n].decode()
        self.o += n
        return s

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.o += self.uvarint()


def _call(port, api_key, version, body, flexible):
    hdr = struct.pack(">hhih", api_key, version, 7, 4) + b"test"
    if flexible:
        hdr += b"\x00"
    msg = hdr + body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(struct.pack(">i", len(msg)) + msg)
        size = struct.unpack(">i", _recv(s, 4))[0]
        resp = _recv(s, size)
    assert struct.unpack_from(">i", resp)[0] == 7
    return resp[5:] if flexible else resp[4:]


def _recv(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        assert chunk, "controller closed the connection"
        buf += chunk
    return buf


def alter_partition(port, broker, epoch, topic, part, leader_epoch, isr, partition_epoch):
    """One partition's AlterPartition v1; returns (top error, {fields of the partition})."""
    body = struct.pack(">iq", broker, epoch) + _uvarint(2) + _uvarint(len(topic) + 1) + topic.encode()
    body += _uvarint(2) + struct.pack(">ii", part, leader_epoch) + _uvarint(len(isr) + 1)
    body += b"".join(struct.pack(">i", r) for r in isr) + struct.pack(">bi", 0, partition_epoch)
    body += b"\x00\x00\x00"
    rd = _Rd(_call(port, 56, 1, body, True))
    rd.take(">i")
    top = rd.take(">h")
    out = None
    for _ in range(rd.uvarint() - 1):
        rd.cstr()
        for _ in range(rd.uvarint() - 1):
            p = {"partition": rd.take(">i"), "error": rd.take(">h"), "leader": rd.take(">i"),
                 "leader_epoch": rd.take(">i")}
            p["isr"] = [rd.take(">i") for _ in range(rd.uvarint() - 1)]
            rd.take(">b")
            p["partition_epoch"] = rd.take(">i")
            rd.tags()
            out = p
        rd.tags()
    return top, out


def controlled_shutdown(port, broker, epoch):
    rd = _Rd(_call(port, 7, 2, struct.pack(">iq", broker, epoch), False))
    err = rd.take(">h")
    rem = []
    for _ in range(rd.take(">i")):
        n = rd.take(">h")
        t = rd.b[rd.o:rd.o + n].decode()
        rd.o += n
        rem.append((t, rd.take(">i")))
    return err, sorted(rem)


# ---- cluster helpers ----------------------------------------------------------

def ctl_port(c):
    return c.controller_ports[c.active_controller()]


def broker_epoch(c, bid):
    _, st = c.zk.client().get(c.zpath("/brokers/ids/%d" % bid))
    return st.czxid


def pstate(c, topic, part):
    data, st = c.zk.client().get(c.zpath("/brokers/topics/%s/partitions/%d/state" % (topic, part)))
    s = json.loads(data)
    s["version"] = st.version
    return s


def wait_state(c, topic, part, pred, what, timeout=30):
    return harness.wait_until(what, lambda: (lambda s: s if pred(s) else None)(pstate(c, topic, part)),
                              timeout=timeout)


def md_isr(c, topic, part):
    return sorted(c.topic_metadata(topic).partitions[part].isrs)


def set_isr(c, topic, part, isr):
    """Act as the leader and ask for `isr` (used where followers may not fetch yet)."""
    s = pstate(c, topic, part)
    top, p = alter_partition(ctl_port(c), s["leader"], broker_epoch(c, s["leader"]), topic, part,
                             s["leader_epoch"], isr, s["version"])
    assert top == 0 and p["error"] == 0, (top, p)


# ---- scenarios ------------------------------------------------------------------

def test_alter_partition_validation_and_write(cluster):
    c = cluster
    c.create_topic("ap", assignment=[[1, 2, 3]])
    s = pstate(c, "ap", 0)
    leader, le, ver = s["leader"], s["leader_epoch"], s["version"]
    follower = [b for b in (1, 2, 3) if b != leader][0]
    port, ep = ctl_port(c), broker_epoch(c, leader)
    cur = s["isr"]

    # Stale broker epoch: top-level error, nothing per partition.
    top, p = alter_partition(port, leader, ep - 1, "ap", 0, le, [leader], ver)
    assert top == 77 and p is None
    # Fenced leader epoch.
    assert alter_partition(port, leader, ep, "ap", 0, le - 1, [leader], ver)[1]["error"] == 74
    # A newer leader epoch than the controller's: NOT_CONTROLLER.
    assert alter_partition(port, leader, ep, "ap", 0, le + 1, [leader], ver)[1]["error"] == 41
    # Not the leader.
    assert alter_partition(port, follower, broker_epoch(c, follower), "ap", 0, le, [leader], ver)[1]["error"] == 6
    # Unknown partition.
    assert alter_partition(port, leader, ep, "ap", 7, le, [leader], ver)[1]["error"] == 3
    # Ineligible: a broker that is not registered.
    assert alter_partition(port, leader, ep, "ap", 0, le, [leader, 9], ver)[1]["error"] == 107
    # Idempotent retry of the current state, even with an old partition epoch.
    top, p = alter_partition(port, leader, ep, "ap", 0, le, cur, ver - 1 if ver > 0 else 0)
    assert top == 0 and p["error"] == 0 and p["isr"] == cur and p["partition_epoch"] == ver

    # Shrink: written at the next zkVersion, same leader epoch.
    want = [leader]
    top, p = alter_partition(port, leader, ep, "ap", 0, le, want, ver)
    assert (top, p["error"], p["leader"], p["leader_epoch"], p["isr"]) == (0, 0, leader, le, want), p
    assert p["partition_epoch"] == ver + 1
    s2 = pstate(c, "ap", 0)
    assert s2["leader_epoch"] == le and s2["version"] >= ver + 1
    # The old partition epoch with a different ISR is now stale (if nobody moved on meanwhile).
    if s2["version"] == ver + 1:
        r = alter_partition(port, leader, ep, "ap", 0, le, sorted(cur), ver)[1]
        assert r["error"] in (95, 0), r  # 0 only if this equals the state written meanwhile
    # Brokers learn the new ISR through UpdateMetadata (or the leader grows it back).
    harness.wait_until("metadata to show the AlterPartition result",
                       lambda: md_isr(c, "ap", 0) == sorted(pstate(c, "ap", 0)["isr"]), timeout=15)


def test_controlled_shutdown(cluster):
    c = cluster
    c.create_topic("cs3", assignment=[[1, 2, 3], [2, 3, 1], [1, 3, 2]])
    c.create_topic("cs1", assignment=[[1]])
    port = ctl_port(c)
    assert controlled_shutdown(port, 1, broker_epoch(c, 1) + 1)[0] == 77
    err, rem = controlled_shutdown(port, 1, broker_epoch(c, 1))
    assert err == 0
    assert rem == [("cs1", 0)], rem
    for p in range(3):
        s = pstate(c, "cs3", p)
        assert s["leader"] != 1 and 1 not in s["isr"], (p, s)
    assert pstate(c, "cs3", 0)["leader"] == 2  # next in assignment order
    assert pstate(c, "cs3", 2)["leader"] == 3
    # Shutting down: an AlterPartition may not add it back.
    s = pstate(c, "cs3", 1)
    r = alter_partition(port, s["leader"], broker_epoch(c, s["leader"]), "cs3", 1, s["leader_epoch"],
                        s["isr"] + [1], s["version"])[1]
    assert r["error"] == 107, r
    harness.wait_until("metadata leaders off broker 1",
                       lambda: all(pm.leader != 1 for pm in c.topic_metadata("cs3").partitions.values()),
                       timeout=15)


def test_unclean_leader_election(cluster):
    c = cluster
    c.create_topic("dirty", assignment=[[1, 2]], config={"unclean.leader.election.enable": "true"})
    c.create_topic("clean", assignment=[[1, 2]])
    c.brokers[2].stop()
    for t in ("dirty", "clean"):
        wait_state(c, t, 0, lambda s: s["isr"] == [1] and s["leader"] == 1, "%s ISR [1]" % t)
    c.brokers[1].stop()
    for t in ("dirty", "clean"):
        wait_state(c, t, 0, lambda s: s["leader"] == -1 and s["isr"] == [1], "%s leaderless, ISR [1]" % t)
    c.start_broker(2)
    s = wait_state(c, "dirty", 0, lambda s: s["leader"] == 2, "unclean election of broker 2")
    assert s["isr"] == [2]
    time.sleep(1)
    s = pstate(c, "clean", 0)
    assert s["leader"] == -1 and s["isr"] == [1], s
    # An operator's unclean election that no controller takes up within the
    # timeout is withdrawn, so that a controller starting later cannot act
    # on it unasked.
    for ctl in c.controllers.values():
        ctl.stop()
    r = _script("leader-election.sh", "--bootstrap-server", c.bootstrap(), "--zookeeper", c.zk_connect,
                "--election-type", "unclean", "--topic", "clean", "--partition", "0", "--timeout", "2",
                check=False)
    assert r.returncode != 0 and "the request was withdrawn" in r.stderr, (r.returncode, r.stderr)
    assert c.zk.get(c.zpath("/admin/unclean_leader_election")) is None
    for cid in list(c.controllers):
        c.start_controller(cid)
    c.start_broker(1)
    wait_state(c, "clean", 0, lambda s: s["leader"] == 1, "clean topic back with broker 1")


def test_preferred_leader_election(cluster):
    c = cluster
    c.create_topic("pref", assignment=[[1, 2]])
    c.brokers[1].stop()
    wait_state(c, "pref", 0, lambda s: s["leader"] == 2, "leader 2 after broker 1 stops")
    c.start_broker(1)
    c.wait_ready()
    if 1 not in pstate(c, "pref", 0)["isr"]:
        try:
            wait_state(c, "pref", 0, lambda s: 1 in s["isr"], "broker 1 back in the ISR", timeout=10)
        except AssertionError:
            set_isr(c, "pref", 0, [2, 1])
    path = c.zpath("/admin/preferred_replica_election")
    c.zk.client().create(path, json.dumps({"version": 1, "partitions": [
        {"topic": "pref", "partition": 0}]}).encode())
    wait_state(c, "pref", 0, lambda s: s["leader"] == 1, "preferred replica 1 leads")
    harness.wait_until("request znode removed", lambda: c.zk.get(path) is None, timeout=15)
    harness.wait_until("metadata leader 1", lambda: c.leader_of("pref", 0) == 1, timeout=15)


def test_reassignment(cluster):
    c = cluster
    c.create_topic("move", assignment=[[1], [2]])
    path = c.zpath("/admin/reassign_partitions")
    c.zk.client().create(path, json.dumps({"version": 1, "partitions": [
        {"topic": "move", "partition": 0, "replicas": [3]}]}).encode())
    tpath = c.zpath("/brokers/topics/move")

    def recorded():
        a = json.loads(c.zk.get(tpath))
        return a if a["partitions"]["0"] == [3] or a.get("adding_replicas", {}).get("0") == [3] else None
    a = harness.wait_until("reassignment recorded in the topic znode", recorded, timeout=15)
    if a["partitions"]["0"] != [3]:
        assert a["partitions"]["0"] == [3, 1] and a["removing_replicas"]["0"] == [1]
        s = pstate(c, "move", 0)
        if 3 not in s["isr"]:
            time.sleep(3)  # a fetching follower joins the ISR by itself
            if 3 not in pstate(c, "move", 0)["isr"]:
                set_isr(c, "move", 0, [1, 3])
    harness.wait_until("RS = TRS written", lambda: json.loads(c.zk.get(tpath))["partitions"]["0"] == [3],
                       timeout=20)
    a = json.loads(c.zk.get(tpath))
    assert a["adding_replicas"] == {} and a["removing_replicas"] == {}
    assert a["partitions"]["1"] == [2]
    s = pstate(c, "move", 0)
    assert s["leader"] == 3 and s["isr"] == [3], s
    harness.wait_until("request znode removed", lambda: c.zk.get(path) is None, timeout=15)
    harness.wait_until("metadata names broker 3", lambda: c.leader_of("move", 0) == 3, timeout=15)
    harness.wait_until("old replica deleted from broker 1",
                       lambda: not os.path.isdir(os.path.join(c.log_dir(1), "move-0")),
                       timeout=15)


def test_delete_topic_with_offline_replica(cluster):
    c = cluster
    c.create_topic("gone", assignment=[[1, 2, 3], [2, 3, 1]])
    c.brokers[3].stop()
    a = c.admin()
    fs = a.delete_topics(["gone"], operation_timeout=2, request_timeout=10)
    try:
        fs["gone"].result(timeout=15)  # times out: a replica cannot be deleted yet
    except Exception:
        pass
    time.sleep(1)
    assert c.zk.get(c.zpath("/brokers/topics/gone")) is not None, "deleted while a replica was offline"
    assert "gone" in c.zk.children(c.zpath("/admin/delete_topics"))
    c.start_broker(3)
    harness.wait_until("topic znode gone", lambda: c.zk.get(c.zpath("/brokers/topics/gone")) is None,
                       timeout=30)
    harness.wait_until("every replica directory removed", lambda: not c.partition_dirs("gone", 0), timeout=15)


def _script(name, *args, check=True):
    return harness.run(["bash", os.path.join(harness.REPO, "scripts", name)] + list(args), check=check)


def test_operator_scripts(cluster, tmp_path):
    c = cluster
    c.create_topic("ops", assignment=[[1, 2], [2, 3]])
    zk = c.zk_connect
    topics = tmp_path / "topics.json"
    topics.write_text(json.dumps({"version": 1, "topics": [{"topic": "ops"}]}))
    out = _script("reassign-partitions.sh", "--bootstrap-server", c.bootstrap(), "--zookeeper", zk,
                  "--topics-to-move-json-file", str(topics), "--broker-list", "1,3", "--generate").stdout
    assert "Current partition replica assignment" in out and "Proposed partition reassignment configuration" in out
    proposal = json.loads(out.split("Proposed partition reassignment configuration")[1].strip())
    assert len(proposal["partitions"]) == 2
    assert all(sorted(p["replicas"]) == [1, 3] for p in proposal["partitions"])

    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [{"topic": "ops", "partition": 1, "replicas": [3, 1]}]}))
    out = _script("reassign-partitions.sh", "--bootstrap-server", c.bootstrap(), "--zookeeper", zk,
                  "--reassignment-json-file", str(plan), "--execute").stdout
    assert '"replicas":[2,3]' in out and "Successfully started partition reassignments for ops-1" in out

    def verified():
        r = _script("reassign-partitions.sh", "--bootstrap-server", c.bootstrap(), "--zookeeper", zk,
                    "--reassignment-json-file", str(plan), "--verify", check=False)
        if "Reassignment of partition ops-1 is complete." in r.stdout:
            assert r.returncode == 0
            return True
        assert "Reassignment of partition ops-1 is still in progress." in r.stdout and r.returncode == 1
        s = pstate(c, "ops", 1)
        if 1 not in s["isr"] and s["leader"] >= 0:
            set_isr(c, "ops", 1, s["isr"] + [1])
        return False
    harness.wait_until("reassign-partitions.sh --verify to report completion", verified, timeout=30, interval=1)
    s = pstate(c, "ops", 1)
    assert s["leader"] in (3, 1) and sorted(s["isr"]) == [1, 3], s

    # Bad input is refused before anything is written.
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 1, "partitions": [{"topic": "ops", "partition": 0, "replicas": [1, 9]}]}))
    r = _script("reassign-partitions.sh", "--bootstrap-server", c.bootstrap(), "--zookeeper", zk,
                "--reassignment-json-file", str(bad), "--execute", check=False)
    assert r.returncode != 0 and "non-existent brokerIDs: 9" in r.stderr
    assert c.zk.get(c.zpath("/admin/reassign_partitions")) is None

    # Preferred election: ops-1's preferred replica is now 3.
    if pstate(c, "ops", 1)["leader"] == 3:
        c.brokers[3].stop()
        wait_state(c, "ops", 1, lambda s: s["leader"] == 1, "leader 1 while broker 3 is down")
        c.start_broker(3)
        c.wait_ready()
        try:
            wait_state(c, "ops", 1, lambda s: 3 in s["isr"], "broker 3 back in sync", timeout=10)
        except AssertionError:
            set_isr(c, "ops", 1, [1, 3])
    out = _script("leader-election.sh", "--bootstrap-server", c.bootstrap(), "--zookeeper", zk,
                  "--election-type", "preferred", "--all-topic-partitions").stdout
    assert "Valid replica already elected for partitions" in out
    assert "ops-1" in out and pstate(c, "ops", 1)["leader"] == 3
    r = _script("leader-election.sh", "--bootstrap-server", c.bootstrap(), "--zookeeper", zk,
                "--topic", "nope", check=False)
    assert r.returncode != 0 and "Topic nope does not exist" in r.stderr


def test_auto_leader_rebalance(cluster_factory):
    c = cluster_factory.cluster(brokers=2, controllers=1, controller_props={
        "auto.leader.rebalance.enable": "true", "leader.imbalance.check.interval.seconds": 1})
    c.create_topic("bal", assignment=[[1, 2], [2, 1]])
    c.brokers[1].stop()
    wait_state(c, "bal", 0, lambda s: s["leader"] == 2, "leader 2 while broker 1 is down")
    c.start_broker(1)
    c.wait_ready()
    try:
        wait_state(c, "bal", 0, lambda s: 1 in s["isr"], "broker 1 back in sync", timeout=5)
    except AssertionError:
        set_isr(c, "bal", 0, [2, 1])
    # Broker 1 prefers 1 of 2 partitions and leads none of them: 100% > 10%.
    wait_state(c, "bal", 0, lambda s: s["leader"] == 1, "automatic preferred election", timeout=20)
    assert pstate(c, "bal", 1)["leader"] == 2
