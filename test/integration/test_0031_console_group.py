"""0031: the console consumer as a consumer group member (`--group`).

scripts/console-consumer.sh --group G runs `weir consume -G G`: it subscribes,
resumes at the group's committed offsets (--from-beginning only says where
partitions without one start, as Kafka's auto.offset.reset=earliest), commits
what it printed and leaves the group when it stops.  On one 3-broker cluster
with group.initial.rebalance.delay.ms=500 and a replication-factor-3
__consumer_offsets:

  * a new group with --from-beginning --max-messages N reads all N records once;
    consumer-groups.sh --describe then shows every partition committed at its
    log end (lag 0);
  * a second run of the group reads nothing (--timeout-ms ends it), although
    --from-beginning is given again: the committed offsets win;
  * after M more records a third run reads exactly those M;
  * a run without a message limit stopped by SIGTERM or SIGINT exits 0, has
    committed everything it printed and has left the group (Empty at once, not
    after the session timeout);
  * Kafka's conflicts are usage errors (exit 2 with Kafka's message): --group
    with --partition or --offset, different group ids from --group and
    --consumer-property; `weir consume -G` refuses -p and numeric -o (exit 64);
  * scripts/run-demo.sh (its own cluster in a temporary WEIR_DEMO_DIR) reads the
    demo records through group 'demo-readers' and shows its describe with lag 0;
    the cluster is stopped with cluster.sh down --clean afterwards.
"""

import os
import shlex
import signal

import harness

CLUSTER = {"broker_props": {
    "group.initial.rebalance.delay.ms": 500,
    "offsets.topic.replication.factor": 3,
}}
SCRIPTS = os.path.join(harness.REPO, "scripts")
CC_SH = os.path.join(SCRIPTS, "console-consumer.sh")
CG_SH = os.path.join(SCRIPTS, "consumer-groups.sh")
ENV = dict(os.environ, WEIR_BIN=harness.WEIR_BIN)


# ---- helpers -----------------------------------------------------------------------------

def console(c, *args, check=0, timeout=120):
    """console-consumer.sh; returns CompletedProcess after asserting its exit status."""
    cp = harness.run(["env", "WEIR_BIN=" + harness.WEIR_BIN, "sh", CC_SH, "--bootstrap-server", c.bootstrap(),
                      *args], timeout=timeout, check=False)
    assert cp.returncode == check, "console-consumer.sh %s exited %d\nstdout:\n%s\nstderr:\n%s" % (
        " ".join(args), cp.returncode, cp.stdout[-3000:], cp.stderr[-3000:])
    return cp


def records(stdout):
    """[(partition, offset, value)] from lines printed with print.partition and print.offset."""
    out = []
    for ln in stdout.splitlines():
        part, off, value = ln.split("\t", 2)
        assert part.startswith("Partition:") and off.startswith("Offset:"), ln
        out.append((int(part[len("Partition:"):]), int(off[len("Offset:"):]), value))
    return out


def group_read(c, topic, group, *extra):
    cp = console(c, "--topic", topic, "--group", group, "--from-beginning", "--property", "print.partition=true",
                 "--property", "print.offset=true", *extra)
    return records(cp.stdout), cp.stderr


def produce(c, topic, nparts, n, tag):
    """n records spread over every partition; returns {(partition, offset): value}."""
    p = harness.ck_producer(c.bootstrap(), acks="all")
    recs = [(None, b"%s-%d" % (tag.encode(), i), {"partition": i % nparts}) for i in range(n)]
    res = harness.ck_produce_all(p, recs, topic)
    assert all(r[0] is None for r in res), [r[0] for r in res if r[0] is not None][:3]
    return {(r[1], r[2]): r[3].value().decode() for r in res}


def table(stdout, first):
    """Rows (lists of columns) under the header line starting with `first`."""
    lines = stdout.splitlines()
    for i, ln in enumerate(lines):
        if ln.split()[:1] == [first]:
            return [ln.split() for ln in lines[i + 1:] if ln.strip()]
    raise AssertionError("no %s header in:\n%s" % (first, stdout))


def describe(bootstrap, group, *extra):
    cp = harness.run(["env", "WEIR_BIN=" + harness.WEIR_BIN, "sh", CG_SH, "--bootstrap-server", bootstrap,
                      "--timeout", "20000", "--describe", "--group", group, *extra], timeout=90)
    return cp


def committed_rows(c, group):
    """{partition: (current offset, log end, lag)} from consumer-groups.sh --describe."""
    rows = table(describe(c.bootstrap(), group).stdout, "GROUP")
    return {int(r[2]): (r[3], r[4], r[5]) for r in rows if r[0] == group}


def all_read(produced):
    """What describe must say once everything produced was read and committed."""
    ends = {}
    for p, o in produced:
        ends[p] = max(ends.get(p, 0), o + 1)
    return {p: (str(e), str(e), "0") for p, e in ends.items()}


# ---- scenarios ---------------------------------------------------------------------------

def test_group_resumes_at_committed_offsets(cluster):
    c = cluster
    topic, group, nparts = "cg-topic", "g", 3
    c.create_topic(topic, partitions=nparts, rf=1)
    first = produce(c, topic, nparts, 30, "a")

    # A new group, from the beginning: every record once, in per-partition order.
    got, err = group_read(c, topic, group, "--max-messages", str(len(first)), "--timeout-ms", "30000")
    assert {(p, o): v for p, o, v in got} == first and len(got) == len(first)
    for part in range(nparts):
        offs = [o for p, o, _ in got if p == part]
        assert offs == sorted(offs), "partition %d out of order: %s" % (part, offs)
    assert "Processed a total of %d messages" % len(first) in err
    assert committed_rows(c, group) == all_read(first)

    # Again, still --from-beginning: the committed offsets win, nothing is new.
    got, err = group_read(c, topic, group, "--timeout-ms", "5000")
    assert got == [], "a second run of the group re-read %s" % got[:5]
    assert "Processed a total of 0 messages" in err

    # M more: a third run reads exactly those, and the group is at the log ends again.
    more = produce(c, topic, nparts, 7, "b")
    got, err = group_read(c, topic, group, "--max-messages", str(len(more)), "--timeout-ms", "30000")
    assert {(p, o): v for p, o, v in got} == more and len(got) == len(more)
    rows = committed_rows(c, group)
    assert rows == all_read({**first, **more}), rows
    assert all(lag == "0" for _, _, lag in rows.values())


def test_signal_commits_and_leaves(cluster):
    c = cluster
    topic, nparts = "cg-signal", 3
    c.create_topic(topic, partitions=nparts, rf=1)
    produced = produce(c, topic, nparts, 12, "s")
    for sig, group in ((signal.SIGTERM, "g-term"), (signal.SIGINT, "g-int")):
        argv = ["sh", CC_SH, "--bootstrap-server", c.bootstrap(), "--topic", topic, "--group", group,
                "--from-beginning", "--property", "print.partition=true", "--property", "print.offset=true"]
        proc = harness.Proc("console-%s" % group, argv, c.workdir, env=ENV)
        try:
            harness.wait_until("%s to print %d records" % (group, len(produced)),
                               lambda: len([ln for ln in proc.output().splitlines()
                                            if ln.startswith("Partition:")]) >= len(produced), timeout=60)
            # It is a live member now: describe names it.
            rows = table(describe(c.bootstrap(), group).stdout, "GROUP")
            assert rows and all(r[6] != "-" and r[8] == "console-consumer" for r in rows), rows
            os.kill(proc.pid, sig)
            rc = proc.wait_exit(30)
        finally:
            proc.stop(timeout=10)
        assert rc == 0, "%s: exit %s after %s\n%s" % (group, rc, sig.name, proc.tail(20))
        out = proc.output()
        got = records("\n".join(ln for ln in out.splitlines() if ln.startswith("Partition:")))
        assert {(p, o): v for p, o, v in got} == produced and len(got) == len(produced)
        assert "Processed a total of %d messages" % len(produced) in out
        # Committed on the way out, and left: the group is Empty at once (a member that
        # just vanished would stay until its session timeout, 45 s by default).
        assert committed_rows(c, group) == all_read(produced)
        rows = table(describe(c.bootstrap(), group, "--state").stdout, "GROUP")
        assert rows[0][0] == group and rows[0][-2:] == ["Empty", "0"], rows


def test_group_usage_errors():
    b = "127.0.0.1:1"  # never contacted: the flags are refused first
    with_partition = "Options group and partition cannot be specified together."
    for args, msg in [(("--group", "g", "--partition", "0"), with_partition),
                      (("--group", "g", "--partition", "0", "--offset", "3"), with_partition),
                      (("--group", "g", "--offset", "3"), "Options group and offset cannot be specified together"),
                      (("--consumer-property", "group.id=h", "--partition", "1"), with_partition),
                      (("--group", "g", "--consumer-property", "group.id=h"),
                       "The group ids provided in different places (directly using '--group', via "
                       "'--consumer-property', or via '--consumer.config') do not match. "
                       "Detected group ids: 'g', 'h'"),
                      (("--group",), "option '--group' requires a value"),
                      (("--group", ""), "option '--group' needs a group id")]:
        cp = harness.run(["env", "WEIR_BIN=" + harness.WEIR_BIN, "sh", CC_SH, "--bootstrap-server", b,
                          "--topic", "t", *args], check=False, timeout=30)
        assert cp.returncode == 2, (args, cp.returncode, cp.stdout, cp.stderr)
        assert msg in cp.stderr and "--help" in cp.stderr, (args, cp.stderr)
        assert cp.stdout == "", (args, cp.stdout)
    cp = harness.run(["env", "WEIR_BIN=" + harness.WEIR_BIN, "sh", CC_SH, "--bootstrap-server", b, "--topic", "t",
                      "--group", "g", "--from-beginning", "--consumer-property", "auto.offset.reset=latest"],
                     check=False, timeout=30)
    assert cp.returncode == 1 and "Can't simultaneously specify --from-beginning and 'auto.offset.reset=latest'" \
        in cp.stderr, (cp.returncode, cp.stderr)
    cp = harness.run(["sh", CC_SH, "--help"], timeout=30)
    assert "--group G" in cp.stdout
    weir = os.path.join(harness.WEIR_BIN, "weir")
    for args, msg in [(("-G", "g", "-p", "0"), "-p cannot be used with -G"),
                      (("-G", "g", "-o", "5"), "-o takes only beginning or end with -G"),
                      (("-G", "g", "-o", "-2"), "-o takes only beginning or end with -G")]:
        cp = harness.run([weir, "-b", b, "consume", "t", *args], check=False, timeout=30)
        assert cp.returncode == 64 and msg in cp.stderr, (args, cp.returncode, cp.stderr)


def test_run_demo_group(tmp_path):
    d = str(tmp_path / "demo")
    env_file = os.path.join(d, "cluster.env")
    try:
        cp = harness.run(["env", "WEIR_BIN=" + harness.WEIR_BIN, "WEIR_DEMO_DIR=" + d, "sh",
                          os.path.join(SCRIPTS, "run-demo.sh")], timeout=300)
        out = cp.stdout
        start = out.index("== Consuming them again through consumer group 'demo-readers'")
        section = out[start:out.index("== The group's committed offsets")]
        read = [ln for ln in section.splitlines()[1:] if ln.startswith("Partition:")]
        assert len(read) == 5, section
        assert sorted(ln.split("\t", 1)[1] for ln in read) == sorted(
            ["alice:likes tea", "bob:likes coffee", "carol:likes cocoa", "alice:changed her mind",
             "dave:likes water"]), section
        rows = table(out[out.index("== The group's committed offsets"):out.index("== The cluster is running.")],
                     "GROUP")
        assert rows and all(r[0] == "demo-readers" and r[1] == "demo" and r[3] == r[4] and r[5] == "0"
                            for r in rows), rows
        assert sum(int(r[3]) for r in rows) == 5, rows
        assert "--describe --group demo-readers" in out[out.index("== The cluster is running."):]
    finally:
        pids = []
        if os.path.exists(env_file):
            pids = demo_pids(env_file)
            harness.run(["env", "WEIR_BIN=" + harness.WEIR_BIN, os.path.join(SCRIPTS, "cluster.sh"), "down",
                         "--dir", d, "--clean"], timeout=180)
    assert pids, "run-demo.sh recorded no pids in %s" % env_file
    left = [p for p in pids if os.path.exists("/proc/%d" % p) and not _zombie(p)]
    assert not left, "demo processes still running after cluster.sh down: %s" % left
    assert not os.path.exists(d)


def demo_pids(env_file):
    """The daemons' pids from cluster.env: brokers and controllers, and ZooKeeper's pid file."""
    env = {}
    with open(env_file) as f:
        for ln in f:
            k, _, v = ln.strip().partition("=")
            words = shlex.split(v)
            env[k] = words[0] if words else ""
    pids = [int(v) for k, v in env.items() if k.endswith("_PID") and v.isdigit()]
    zk = env.get("ZK_PID_FILE")
    if zk and os.path.exists(zk):
        with open(zk) as f:
            v = f.read().strip()
        if v.isdigit():
            pids.append(int(v))
    return pids


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
