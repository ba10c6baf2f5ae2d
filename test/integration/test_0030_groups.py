"""0030: consumer groups and committed offsets.

Members run as separate processes (group_member.py, confluent-kafka or
kafka-python) so that one can be closed or killed with SIGKILL; each prints its
assignments and the (partition, offset) of every record it handed to the app.
Scenarios, on one 3-broker cluster with group.initial.rebalance.delay.ms=500,
a 1 s minimum session timeout and a replication-factor-3 __consumer_offsets:

  * three members over 12 partitions (confluent-kafka, then kafka-python): every
    partition owned by exactly one member; a closed member's partitions move in
    one rebalance; a killed member's move within its session timeout plus slack;
    every produced record consumed at least once;
  * a group mixing both clients on the range assignor: both get partitions;
  * kcat -G consumes everything, and a second run only what was produced since;
  * commit, stop, restart (both clients, manual and auto commit): the next run
    starts exactly at the committed offsets; commit metadata round-trips and
    over-long metadata is refused;
  * static membership: a member killed and restarted with its group.instance.id
    within the session timeout gets its partitions back and the others see no
    rebalance, not even when the old incarnation's session would have expired;
  * scripts/consumer-groups.sh: list, describe (lag = produced - committed),
    members, state, reset-offsets (dry run, execute, clamping, by time, refused
    while active), delete, and bad usage;
  * coordinator fail-over (last: it kills and restarts a broker): the coordinator
    is the leader of __consumer_offsets partition abs(hashCode(group)) % 50;
    after kill -9 of it another broker answers with the same committed offsets
    and the group resumes there, never before them.
"""

import collections
import json
import os
import time

import pytest
from confluent_kafka import Consumer, TopicPartition as CkTP
from kafka import KafkaConsumer, TopicPartition as KpTP
from kafka.structs import OffsetAndMetadata

import harness

SESSION_MS = 6000
CLUSTER = {"broker_props": {
    "group.initial.rebalance.delay.ms": 500,
    "group.min.session.timeout.ms": 1000,
    "offsets.topic.replication.factor": 3,
}}
HERE = os.path.dirname(os.path.abspath(__file__))
MEMBER = os.path.join(HERE, "group_member.py")
CG_SH = os.path.join(harness.REPO, "scripts", "consumer-groups.sh")
OFFSETS_PARTITIONS = 50


# ---- helpers -----------------------------------------------------------------------------

class Member:
    """A group_member.py process and the JSON events it printed."""

    def __init__(self, c, name, client, group, topic, **opts):
        argv = [harness.PYTHON, MEMBER, "--client", client, "--bootstrap", c.bootstrap(),
                "--group", group, "--topic", topic, "--client-id", opts.pop("client_id", name)]
        opts.setdefault("session_ms", SESSION_MS)
        for k, v in opts.items():
            argv += ["--" + k.replace("_", "-"), str(v)]
        self.name = name
        self.proc = harness.Proc(name, argv, c.workdir)

    def events(self, ev=None):
        out = []
        for line in self.proc.output().splitlines():
            if line.startswith("{"):
                try:
                    e = json.loads(line)
                except ValueError:
                    continue  # a line cut by kill -9
                if ev is None or e["ev"] == ev:
                    out.append(e)
        return out

    def assignment(self):
        """Partitions held now: the last assign, unless a revoke came after it."""
        cur = set()
        for e in self.events():
            if e["ev"] == "assign":
                cur = {p for _, p in e["parts"]}
            elif e["ev"] == "revoke":
                cur = set()
        return cur

    def assigns_after(self, ts):
        return [e for e in self.events() if e["ev"] in ("assign", "revoke") and e["ts"] > ts]

    def records(self):
        return [tuple(r) for e in self.events("recs") for r in e["r"]]

    def last_commit(self):
        """{partition: next offset} from the member's commit events."""
        out = {}
        for e in self.events("commit"):
            for _, p, o in e["offsets"]:
                out[p] = o
        return out

    def errors(self):
        return [e["err"] for e in self.events("error")]

    def close(self):
        """SIGTERM: the member closes its consumer (commit, LeaveGroup) and exits 0."""
        rc = self.proc.stop(timeout=30)
        assert rc == 0, "%s exited %s:\n%s" % (self.name, rc, self.proc.tail(20))
        assert self.events("closed"), "%s did not close its consumer" % self.name

    def wait_exit(self, timeout=60):
        rc = self.proc.wait_exit(timeout)
        assert rc == 0, "%s exited %s:\n%s" % (self.name, rc, self.proc.tail(20))


@pytest.fixture
def members():
    """Start members with members.start(...); all are stopped at the end."""
    started = []

    class Factory:
        def start(self, *a, **kw):
            m = Member(*a, **kw)
            started.append(m)
            return m
    yield Factory()
    for m in started:
        m.proc.stop(timeout=10)


def produce(c, topic, partitions, per_partition, tag, timestamps=None):
    """per_partition records to each partition; returns {(partition, offset)}."""
    p = harness.ck_producer(c.bootstrap(), **{"acks": "all"})
    recs = []
    for i in range(per_partition):
        for part in range(partitions):
            kw = {"partition": part}
            if timestamps is not None:
                kw["timestamp"] = timestamps[i]
            recs.append((None, b"%s-%d-%d" % (tag.encode(), part, i), kw))
    res = harness.ck_produce_all(p, recs, topic)
    bad = [r for r in res if r[0] is not None]
    assert not bad, "produce failed: %s" % bad[:3]
    return {(r[1], r[2]) for r in res}


def wait_balanced(ms, nparts, timeout=40):
    """Until the members' assignments are disjoint, cover all partitions and none is empty."""
    def ok():
        sets = [m.assignment() for m in ms]
        if any(not s for s in sets):
            return False
        union = set().union(*sets)
        return union == set(range(nparts)) and sum(len(s) for s in sets) == nparts and sets
    return harness.wait_until("%s to share %d partitions" % ([m.name for m in ms], nparts), ok,
                              timeout=timeout, interval=0.2)


def wait_consumed(ms, produced, timeout=60):
    def ok():
        got = set()
        for m in ms:
            got.update(m.records())
        return produced <= got
    harness.wait_until("all %d records consumed" % len(produced), ok, timeout=timeout, interval=0.3)


def java_hash(s):
    """Java's String.hashCode: over UTF-16 code units, in 32-bit signed arithmetic."""
    b = s.encode("utf-16-be")
    h = 0
    for i in range(0, len(b), 2):
        h = (31 * h + int.from_bytes(b[i:i + 2], "big")) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def offsets_partition(group):
    h = java_hash(group)
    return 0 if h == -(1 << 31) else abs(h) % OFFSETS_PARTITIONS


def find_coordinator(c, group, timeout=30):
    """FindCoordinator v0 (kafka-python's path): the coordinator's node id."""
    from kafka.client_async import KafkaClient
    from kafka.protocol.commit import GroupCoordinatorRequest
    cl = KafkaClient(bootstrap_servers=c.bootstrap().split(","), client_id="it-find-coord",
                     api_version_auto_timeout_ms=5000)
    try:
        def ask():
            node = cl.least_loaded_node()
            deadline = time.monotonic() + 2
            while node is None or not cl.ready(node):
                if time.monotonic() > deadline:
                    return None  # a dead broker still in the metadata: ask another next time
                cl.poll(timeout_ms=50)
                node = node if node is not None else cl.least_loaded_node()
            f = cl.send(node, GroupCoordinatorRequest[0](group))
            cl.poll(future=f, timeout_ms=5000)
            if f.succeeded() and f.value.error_code == 0:
                return f.value.coordinator_id
            return None
        return harness.wait_until("a coordinator for %s" % group, ask, timeout=timeout, interval=0.5)
    finally:
        cl.close()


def ck_committed(c, group, topic, nparts):
    """{partition: committed offset} through librdkafka's OffsetFetch (-1001 = none)."""
    cons = Consumer({"bootstrap.servers": c.bootstrap(), "group.id": group, "enable.auto.commit": False})
    try:
        res = cons.committed([CkTP(topic, p) for p in range(nparts)], timeout=20)
    finally:
        cons.close()
    assert all(r.error is None for r in res), res
    return {r.partition: r.offset for r in res if r.offset >= 0}


def kp_committed(c, group, topic, nparts):
    """{partition: OffsetAndMetadata} through kafka-python (OffsetFetch v1)."""
    cons = KafkaConsumer(bootstrap_servers=c.bootstrap(), group_id=group, enable_auto_commit=False)
    try:
        out = {}
        for p in range(nparts):
            om = cons.committed(KpTP(topic, p), metadata=True)
            if om is not None:
                out[p] = om
        return out
    finally:
        cons.close()


def first_offsets(recs):
    out = {}
    for p, o in recs:
        out[p] = min(o, out.get(p, o))
    return out


def cg(c, *args, check=None):
    """consumer-groups.sh; returns CompletedProcess.  check=rc asserts the exit status."""
    cp = harness.run(["sh", CG_SH, "--bootstrap-server", c.bootstrap(), "--timeout", "20000", *args],
                     timeout=90, check=False)
    if check is not None:
        assert cp.returncode == check, "consumer-groups.sh %s exited %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(args), cp.returncode, cp.stdout, cp.stderr)
    return cp


def table(stdout, first):
    """Rows (lists of columns) under the header line starting with `first`."""
    lines = stdout.splitlines()
    for i, ln in enumerate(lines):
        if ln.split()[:1] == [first]:
            return [ln.split() for ln in lines[i + 1:] if ln.strip()]
    raise AssertionError("no %s header in:\n%s" % (first, stdout))


# ---- three members -----------------------------------------------------------------------

@pytest.mark.parametrize("client", ["ck", "kp"])
def test_three_members_close_kill(shared_cluster, members, client):
    c = shared_cluster
    topic, group, nparts = "g3-" + client, "g3-" + client, 12
    c.create_topic(topic, partitions=nparts, rf=1)
    produced = produce(c, topic, nparts, 50, "a")
    ms = [members.start(c, "%s-m%d" % (group, i), client, group, topic, commit="auto") for i in range(3)]
    sets = wait_balanced(ms, nparts)
    assert all(len(s) == 4 for s in sets), "range over 12 partitions, 3 members: %s" % sets
    wait_consumed(ms, produced)

    # A member closed: LeaveGroup, its partitions move in one rebalance.
    closed, rest = ms[1], [ms[0], ms[2]]
    t_close = time.time()
    closed.close()
    sets = wait_balanced(rest, nparts, timeout=20)
    t_moved = time.time()
    assert all(len(s) == 6 for s in sets), sets
    time.sleep(2)  # let a second rebalance show up if one were coming
    for m in rest:
        n = [e["ev"] for e in m.assigns_after(t_close)].count("assign")
        assert n == 1, "%s saw %d assignments after a member left (one rebalance expected): %s" % (
            m.name, n, m.assigns_after(t_close))
    print("closed member's partitions moved in %.1fs" % (t_moved - t_close))
    produced |= produce(c, topic, nparts, 50, "b")

    # A member killed: its partitions move when its session expires.
    killed, last = rest[1], rest[0]
    t_kill = time.time()
    killed.proc.kill9()
    harness.wait_until("the survivor to own all partitions", lambda: last.assignment() == set(range(nparts)),
                       timeout=SESSION_MS / 1000 + 10, interval=0.2)
    moved = time.time() - t_kill
    print("killed member's partitions moved in %.1fs (session timeout %.1fs)" % (moved, SESSION_MS / 1000))
    assert moved <= SESSION_MS / 1000 + 8
    produced |= produce(c, topic, nparts, 50, "c")
    wait_consumed(ms, produced)

    # No partition skipped anything: per partition the consumed offsets are dense from 0.
    got = set()
    for m in ms:
        got.update(m.records())
    per = collections.defaultdict(set)
    for p, o in got:
        per[p].add(o)
    for p in range(nparts):
        assert per[p] == set(range(150)), "partition %d: consumed %d distinct offsets of 150" % (p, len(per[p]))
    last.close()
    assert not [e for m in ms for e in m.errors() if "fatal" in e]


def test_mixed_clients_range(shared_cluster, members):
    c = shared_cluster
    topic = group = "gmix"
    nparts = 12
    c.create_topic(topic, partitions=nparts, rf=1)
    produced = produce(c, topic, nparts, 20, "m")
    ck = members.start(c, "gmix-ck", "ck", group, topic, assignor="range")
    kp = members.start(c, "gmix-kp", "kp", group, topic, assignor="range")
    sets = wait_balanced([ck, kp], nparts)
    assert sorted(len(s) for s in sets) == [6, 6], sets
    wait_consumed([ck, kp], produced)
    assert {p for p, _ in ck.records()} and {p for p, _ in kp.records()}
    ck.close()
    kp.close()


def test_kcat_balanced_consumer(shared_cluster):
    c = shared_cluster
    topic = group = "gkcat"
    c.create_topic(topic, partitions=6, rf=1)
    produced = produce(c, topic, 6, 100, "k")

    def kcat(count):
        cp = harness.run([harness.KCAT, "-b", c.bootstrap(), "-G", group, "-X", "auto.offset.reset=earliest",
                          "-X", "session.timeout.ms=6000", "-f", "%p %o\\n", "-c", str(count), "-q", topic],
                         timeout=90)
        return [tuple(int(x) for x in ln.split()) for ln in cp.stdout.splitlines() if ln.strip()]
    got = kcat(len(produced))
    assert set(got) == produced and len(got) == len(produced)
    more = produce(c, topic, 6, 10, "k2")
    got2 = kcat(len(more))
    assert set(got2) == more, "the second run did not resume at the committed offsets"


# ---- commit, stop, restart ---------------------------------------------------------------

@pytest.mark.parametrize("client,commit", [("ck", "manual"), ("ck", "auto"), ("kp", "manual"), ("kp", "auto")])
def test_commit_stop_restart(shared_cluster, members, client, commit):
    c = shared_cluster
    topic = group = "gcr-%s-%s" % (client, commit)
    nparts = 3
    c.create_topic(topic, partitions=nparts, rf=1)
    produced = produce(c, topic, nparts, 100, "r")
    meta = "run1-%s" % client if client == "kp" and commit == "manual" else ""
    m1 = members.start(c, group + "-1", client, group, topic, commit=commit, max_msgs=120, metadata=meta)
    m1.wait_exit()
    r1 = m1.records()
    assert len(r1) == 120 and len(set(r1)) == 120
    pos = {}
    for p, o in r1:
        pos[p] = max(pos.get(p, 0), o + 1)
    committed = ck_committed(c, group, topic, nparts)
    # kafka-python's auto-commit also commits the start position of partitions it read nothing from.
    untouched = {p: o for p, o in committed.items() if p not in pos}
    assert not untouched or (client, commit) == ("kp", "auto") and set(untouched.values()) == {0}, untouched
    committed = {p: o for p, o in committed.items() if p in pos}
    assert committed == pos, "committed %s, consumed up to %s" % (committed, pos)
    if commit == "manual":
        assert m1.last_commit() == pos
    if meta:
        kp = kp_committed(c, group, topic, nparts)
        assert {p: (om.offset, om.metadata) for p, om in kp.items()} == {p: (o, meta) for p, o in pos.items()}

    m2 = members.start(c, group + "-2", client, group, topic, commit=commit, max_msgs=180)
    m2.wait_exit()
    r2 = m2.records()
    assert set(r1) | set(r2) == produced, "records lost between the runs"
    assert not set(r1) & set(r2), "records consumed again after their offsets were committed"
    firsts = first_offsets(r2)
    for p, o in firsts.items():
        assert o == pos.get(p, 0), "partition %d resumed at %d, committed %s" % (p, o, pos.get(p))


def test_commit_metadata_limits(shared_cluster):
    c = shared_cluster
    topic = group = "gmeta"
    c.create_topic(topic, partitions=1, rf=1)
    produce(c, topic, 1, 10, "x")
    from kafka.errors import OffsetMetadataTooLargeError
    cons = KafkaConsumer(bootstrap_servers=c.bootstrap(), group_id=group, enable_auto_commit=False)
    try:
        tp = KpTP(topic, 0)
        cons.assign([tp])  # simple consumer: commits with generation -1 to an Empty group
        cons.commit({tp: OffsetAndMetadata(7, "m" * 4096)})
        assert cons.committed(tp, metadata=True) == OffsetAndMetadata(7, "m" * 4096)
        with pytest.raises(OffsetMetadataTooLargeError):
            cons.commit({tp: OffsetAndMetadata(8, "m" * 4097)})
        assert cons.committed(tp) == 7
    finally:
        cons.close()
    assert ck_committed(c, group, topic, 1) == {0: 7}


# ---- static membership ------------------------------------------------------------------

def test_static_membership(shared_cluster, members):
    c = shared_cluster
    topic = group = "gstatic"
    nparts = 12
    c.create_topic(topic, partitions=nparts, rf=1)
    produce(c, topic, nparts, 10, "s")

    def start(i):
        return members.start(c, "gstatic-s%d-%d" % (i, time.monotonic_ns() % 100000), "ck", group, topic,
                             instance_id="inst-%d" % i, client_id="static-%d" % i)
    # s1 first, alone: it stays the leader, so the member restarted below is a follower.
    s1 = start(1)
    wait_balanced([s1], nparts)
    s2, s3 = start(2), start(3)
    wait_balanced([s1, s2, s3], nparts)
    time.sleep(1)
    before = s3.assignment()
    t_kill = time.time()
    s3.proc.kill9()
    s3b = start(3)
    harness.wait_until("the restarted static member to get its partitions back",
                       lambda: s3b.assignment() == before, timeout=SESSION_MS / 1000 - 1, interval=0.1)
    back = time.time() - t_kill
    print("static member back with its partitions after %.1fs" % back)
    # Past the old incarnation's session timeout: still no rebalance anywhere.
    time.sleep(max(0.0, t_kill + SESSION_MS / 1000 + 2 - time.time()))
    for m in (s1, s2):
        assert not m.assigns_after(t_kill), "%s saw a rebalance: %s" % (m.name, m.assigns_after(t_kill))
    assert [e["ev"] for e in s3b.events() if e["ev"] in ("assign", "revoke")] == ["assign"]
    assert s3b.assignment() == before
    out = cg(c, "--describe", "--group", group, "--members", check=0).stdout
    rows = table(out, "GROUP")
    assert sorted(r[2] for r in rows) == ["inst-1", "inst-2", "inst-3"], out


# ---- consumer-groups.sh -----------------------------------------------------------------

def test_consumer_groups_script(shared_cluster, members):
    c = shared_cluster
    topic = group = "gcli"
    nparts = 3
    c.create_topic(topic, partitions=nparts, rf=1)
    base = int(time.time() * 1000) - 3600 * 1000
    produce(c, topic, nparts, 30, "c", timestamps=[base + i * 1000 for i in range(30)])
    ends = {p: 30 for p in range(nparts)}

    m1 = members.start(c, "gcli-1", "kp", group, topic, commit="manual", max_msgs=40, metadata="cli")
    m1.wait_exit()
    committed = ck_committed(c, group, topic, nparts)
    assert sum(committed.values()) == 40

    cp = cg(c, "--list", check=0)
    assert group in cp.stdout.split()
    cp = cg(c, "--describe", "--group", group, check=0)
    assert "Consumer group '%s' has no active members." % group in cp.stderr
    rows = table(cp.stdout, "GROUP")
    seen = {}
    for g, t, p, cur, end, lag, cid, host, client in rows:
        assert (g, t) == (group, topic) and (cid, host, client) == ("-", "-", "-")
        seen[int(p)] = (cur, end, lag)
    want = {p: (str(o), "30", str(30 - o)) for p, o in committed.items()}
    assert seen == want, "describe said %s, committed %s" % (seen, committed)

    # An active member: describe shows it, reset and delete are refused.
    m2 = members.start(c, "gcli-2", "ck", group, topic, commit="manual", client_id="cli-active")
    wait_balanced([m2], nparts)
    harness.wait_until("the member to commit the log ends", lambda: ck_committed(c, group, topic, nparts) == ends,
                       timeout=30)
    rows = table(cg(c, "--describe", "--group", group, check=0).stdout, "GROUP")
    assert sorted((int(r[2]), r[3], r[4], r[5], r[8]) for r in rows) == \
        [(p, "30", "30", "0", "cli-active") for p in range(nparts)]
    assert all(r[6] != "-" and r[7] != "-" for r in rows)
    out = cg(c, "--describe", "--group", group, "--members", "--verbose", check=0).stdout
    rows = table(out, "GROUP")
    assert len(rows) == 1 and rows[0][3] == "cli-active" and rows[0][4] == "3" and rows[0][5] == "gcli(0,1,2)", out
    out = cg(c, "--describe", "--group", group, "--state", check=0).stdout
    rows = table(out, "GROUP")
    coord = find_coordinator(c, group)
    assert rows[0][0] == group and rows[0][2] == "(%d)" % coord and rows[0][3:] == ["range", "Stable", "1"], out
    cp = cg(c, "--reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--execute", check=1)
    assert ("Error: Assignments can only be reset if the group '%s' is inactive, but the current state is "
            "Stable." % group) in cp.stdout
    cp = cg(c, "--delete", "--group", group, check=1)
    assert "* Group '%s' could not be deleted due to: org.apache.kafka.common.errors.GroupNotEmptyException: " \
           "The group is not empty." % group in cp.stdout
    assert ck_committed(c, group, topic, nparts) == ends
    m2.close()

    def reset(*how, mode="--execute"):
        cp = cg(c, "--reset-offsets", "--group", group, *how, mode, check=0)
        return {int(r[2]): int(r[3]) for r in table(cp.stdout, "GROUP")}
    # Dry run: a plan, nothing written.
    assert reset("--topic", topic, "--to-earliest", mode="--dry-run") == {p: 0 for p in range(nparts)}
    assert ck_committed(c, group, topic, nparts) == ends
    assert reset("--topic", topic + ":1", "--to-offset", "10") == {1: 10}
    assert ck_committed(c, group, topic, nparts) == {0: 30, 1: 10, 2: 30}
    assert reset("--all-topics", "--shift-by", "-25") == {0: 5, 1: 0, 2: 5}  # 10-25 clamped to 0
    assert reset("--topic", topic, "--to-offset", "1000") == ends            # clamped to the log end
    when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((base + 12000) // 1000)) + ".%03d" % ((base + 12000) % 1000)
    assert reset("--topic", topic, "--to-datetime", when) == {p: 12 for p in range(nparts)}
    # The same wall-clock time an hour east is before every record, an hour west after all of them.
    assert reset("--topic", topic, "--to-datetime", when[:-4] + ".000+01:00", mode="--dry-run") == \
        {p: 0 for p in range(nparts)}
    assert reset("--topic", topic, "--to-datetime", when[:-4] + ".000-01:00", mode="--dry-run") == ends
    assert ck_committed(c, group, topic, nparts) == {p: 12 for p in range(nparts)}
    rows = table(cg(c, "--describe", "--group", group, check=0).stdout, "GROUP")
    assert sorted((int(r[2]), r[3], r[5]) for r in rows) == [(p, "12", "18") for p in range(nparts)]
    assert reset("--topic", topic, "--by-duration", "PT2H", mode="--dry-run") == {p: 0 for p in range(nparts)}
    assert reset("--topic", topic, "--to-current", mode="--dry-run") == {p: 12 for p in range(nparts)}
    # --export writes the plan as CSV; --from-file applies an edited one (clamped like --to-offset).
    cp = cg(c, "--reset-offsets", "--group", group, "--all-topics", "--to-latest", "--dry-run", "--export", check=0)
    assert sorted(cp.stdout.split()) == ["%s,%d,30" % (topic, p) for p in range(nparts)], cp.stdout
    plan = os.path.join(c.workdir, "plan.csv")
    with open(plan, "w") as f:
        f.write("%s,0,3\n%s,2,99\n" % (topic, topic))
    assert reset("--from-file", plan) == {0: 3, 2: 30}
    assert ck_committed(c, group, topic, nparts) == {0: 3, 1: 12, 2: 30}
    assert reset("--topic", topic, "--to-offset", "12") == {p: 12 for p in range(nparts)}
    # The group resumes where the reset put it.
    m3 = members.start(c, "gcli-3", "ck", group, topic, max_msgs=54)
    m3.wait_exit()
    assert first_offsets(m3.records()) == {p: 12 for p in range(nparts)}

    cp = cg(c, "--delete-offsets", "--group", group, "--topic", "%s:0" % topic, check=0)
    assert cp.stdout.startswith("Request succeed for deleting offsets with topic %s:0 group %s" % (topic, group))
    assert table(cp.stdout, "TOPIC") == [[topic, "0", "Successful"]]
    assert ck_committed(c, group, topic, nparts) == {1: 30, 2: 30}

    cp = cg(c, "--delete", "--group", group, check=0)
    assert cp.stdout.strip() == "Deletion of requested consumer groups ('%s') was successful." % group
    assert group not in cg(c, "--list", check=0).stdout.split()
    assert ck_committed(c, group, topic, nparts) == {}
    cp = cg(c, "--describe", "--group", group, check=1)
    assert "Error: Consumer group '%s' does not exist." % group in cp.stdout
    cp = cg(c, "--delete", "--group", group, check=1)
    assert "org.apache.kafka.common.errors.GroupIdNotFoundException: The group id does not exist." in cp.stdout


def test_consumer_groups_script_usage(shared_cluster):
    c = shared_cluster
    for args, msg in [((), "exactly one action"),
                      (("--describe",), "--group, --all-groups"),
                      (("--list", "--describe"), "exactly one action"),
                      (("--reset-offsets", "--group", "g", "--to-earliest"), "reset scopes"),
                      (("--reset-offsets", "--group", "g", "--all-topics"), "scenarios"),
                      (("--reset-offsets", "--group", "g", "--all-topics", "--to-earliest", "--to-latest"),
                       "can't be used with"),
                      (("--reset-offsets", "--group", "g", "--all-topics", "--to-earliest", "--dry-run",
                        "--execute"), "only accepts one of"),
                      (("--describe", "--group", "g", "--members", "--state"), "at most one"),
                      (("--list", "--bogus"), "unknown option")]:
        cp = cg(c, *args)
        assert cp.returncode == 2, (args, cp.returncode, cp.stdout, cp.stderr)
        assert msg in cp.stderr, (args, cp.stderr)
    cp = harness.run(["sh", CG_SH, "--list"], check=False)
    assert cp.returncode == 2 and "bootstrap-server" in cp.stderr
    cp = harness.run(["sh", CG_SH, "--help"])
    assert "--reset-offsets" in cp.stdout


# ---- coordinator fail-over (last: kills and restarts a broker) ---------------------------

def test_coordinator_failover(shared_cluster, members):
    c = shared_cluster
    topic = group = "gfailover"
    nparts = 6
    c.create_topic(topic, partitions=nparts, rf=3)
    produced = produce(c, topic, nparts, 100, "f")

    m1 = members.start(c, "gfo-1", "ck", group, topic, commit="manual", max_msgs=300)
    m1.wait_exit()
    before = ck_committed(c, group, topic, nparts)
    assert sum(before.values()) == 300

    coord = find_coordinator(c, group)
    op = offsets_partition(group)
    md = c.admin().list_topics(topic="__consumer_offsets", timeout=10).topics["__consumer_offsets"]
    assert len(md.partitions) == OFFSETS_PARTITIONS
    assert md.partitions[op].leader == coord, "coordinator %d, leader of __consumer_offsets-%d is %d" % (
        coord, op, md.partitions[op].leader)
    assert len(md.partitions[op].replicas) == 3

    t_kill = time.time()
    c.brokers[coord].kill9()
    alive = [b for b in c.brokers if b != coord]
    new = harness.wait_until("another coordinator for %s" % group,
                             lambda: (lambda n: n if n != coord else None)(find_coordinator(c, group)),
                             timeout=40)
    print("coordinator moved %d -> %d in %.1fs" % (coord, new, time.time() - t_kill))
    assert new in alive
    assert ck_committed(c, group, topic, nparts) == before, "the new coordinator lost committed offsets"

    more = produce(c, topic, nparts, 20, "g")
    m2 = members.start(c, "gfo-2", "ck", group, topic, commit="manual")
    m3 = members.start(c, "gfo-3", "kp", group, topic, commit="manual")
    wait_consumed([m1, m2, m3], produced | more, timeout=60)
    for m in (m2, m3):
        for p, o in first_offsets(m.records()).items():
            assert o >= before.get(p, 0), "%s started partition %d at %d, before the committed %d" % (
                m.name, p, o, before.get(p, 0))
    resumed = first_offsets(m2.records() + m3.records())
    assert resumed == {p: before.get(p, 0) for p in resumed}
    harness.wait_until("the group to commit every log end",
                       lambda: ck_committed(c, group, topic, nparts) == {p: 120 for p in range(nparts)},
                       timeout=30, interval=0.5)
    m2.close()
    m3.close()

    c.start_broker(coord)
    c.wait_ready()
