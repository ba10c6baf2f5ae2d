"""Weir fault suite: cluster shape, workload, history checker and replica comparison.

What it owns: everything the numbered fault scenarios share —
  * the cluster shape (ZooKeeper + 2 controllers + N brokers, RF 3,
    min.insync.replicas=2, 6 s ZooKeeper sessions, replica.lag.time.max.ms=3000),
    built on test/integration/harness.py (imported, never edited);
  * `Workload`: a producer thread (confluent-kafka, acks=all, no idempotence,
    retries effectively unbounded, one request in flight per connection) that writes unique values `<name>-<seq>` round-robin to
    every partition and records each operation with its send time, ack time,
    partition, offset and error (the history);
  * `read_all`: a fresh assign-mode consumer reading every partition from the
    beginning to its high watermark;
  * `check_history`: lost acknowledged writes, conflicting values at one
    (partition, offset) across readers, acknowledgement order == offset order per
    partition; duplicates and send-order inversions are counted (both allowed
    without idempotence);
  * `check_replicas`: every replica's `.log` segments parsed with struct, the
    batches below the high watermark compared byte for byte (leader epochs
    included) across the replicas;
  * `unavailability`: the time from a fault to the first acknowledged write,
    issued after the fault, on every partition; figures go to `FIGURES`, which
    conftest prints in the terminal summary so they can be quoted;
  * `raw_produce`: one hand-built Produce v7 request to one broker, to ask a
    suspected zombie leader directly whether it still acknowledges.

Invariants: values are unique per run (workload name + sequence); nothing here
retries a product operation silently (waits raise with a description); wall-clock
times (time.time()) are used for everything compared with ZooKeeper mtimes, which
come from the same host.

Called from pytest's single thread; each `Workload` runs one producer thread that
only touches its own producer and its own history list.
"""

import collections
import json
import os
import signal
import socket
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402  (the integration harness, reused as is)

LONG = bool(os.environ.get("WEIR_FAULT_LONG"))

SESSION_MS = 6000
LAG_MS = 3000

BROKER_PROPS = {
    "zookeeper.session.timeout.ms": SESSION_MS,
    "replica.lag.time.max.ms": LAG_MS,
    "min.insync.replicas": 2,
    "default.replication.factor": 3,
    "num.partitions": 3,
    "unclean.leader.election.enable": "false",
    "offsets.topic.replication.factor": 3,
}
CONTROLLER_PROPS = {"zookeeper.session.timeout.ms": SESSION_MS}

# Figures (unavailability windows, catch-up times) printed by conftest at the end.
FIGURES = []


def scale(short, long):
    """The short-run value, or the long one under WEIR_FAULT_LONG."""
    return long if LONG else short


def note(scenario, text):
    FIGURES.append("%s: %s" % (scenario, text))
    print("%s: %s" % (scenario, text))


def figure(scenario, what, value, unit="s"):
    line = "%s: %s = %s%s" % (scenario, what,
                              ("%.2f" % value) if isinstance(value, float) else value, unit)
    FIGURES.append(line)
    print(line)


def start_cluster(fleet, brokers=3, controllers=2, broker_props=None, **kw):
    """The fault suite's cluster shape; `kw` goes to fleet.cluster (zk, cluster_class...)."""
    props = dict(BROKER_PROPS)
    props.update(broker_props or {})
    return fleet.cluster(brokers=brokers, controllers=controllers, broker_props=props,
                         controller_props=dict(CONTROLLER_PROPS), **kw)


# ---- processes -----------------------------------------------------------------

def pause(proc):
    os.kill(proc.pid, signal.SIGSTOP)


def resume(proc):
    if proc.alive():
        os.kill(proc.pid, signal.SIGCONT)


def restart_broker(c, bid):
    """Start a broker again (after kill -9 or a clean stop) and wait until it registers."""
    c.start_broker(bid)
    harness.wait_until("broker %d registered again" % bid,
                       lambda: bid in c.registered_brokers() or _died(c.brokers[bid]),
                       timeout=30)
    if not c.brokers[bid].alive():
        raise harness.ProcessDied("broker %d exited on restart:\n%s" % (bid, c.brokers[bid].tail()))


def _died(proc):
    return not proc.alive()


# ---- metadata ------------------------------------------------------------------

def partition_state(c, topic, p):
    """(state JSON, mtime in seconds) of /brokers/topics/<t>/partitions/<p>/state."""
    data, stat = c.zk.client().get(c.zpath("/brokers/topics/%s/partitions/%d/state" % (topic, p)))
    return json.loads(data.decode()), stat.mtime / 1000.0


def states(c, topic, parts):
    return {p: partition_state(c, topic, p) for p in range(parts)}


def metadata(c, topic, timeout=5):
    """{partition: (leader, sorted isr, replicas)} from a Metadata response."""
    tm = c.topic_metadata(topic, timeout=timeout)
    if tm is None or tm.error is not None:
        raise AssertionError("no metadata for %s: %s" % (topic, tm and tm.error))
    return {p: (pm.leader, sorted(pm.isrs), list(pm.replicas)) for p, pm in tm.partitions.items()}


def wait_full_isr(c, topic, parts, timeout=60, replicas=None):
    """Until every partition has a leader and ISR == its replica set (via Metadata)."""
    def ok():
        md = metadata(c, topic)
        if len(md) != parts:
            return False
        for p, (leader, isr, reps) in md.items():
            want = sorted(replicas[p] if replicas else reps)
            if leader < 0 or isr != want:
                return False
        return md
    return harness.wait_until("full ISR on every partition of %s" % topic, ok, timeout=timeout,
                              interval=0.3)


def wait_new_leaders(c, topic, parts, old_leader, timeout=60):
    """Until ZooKeeper names a live leader other than `old_leader` for every partition.

    Returns {partition: (state, mtime)}: the mtime is the election's commit time.
    """
    def ok():
        st = states(c, topic, parts)
        if all(s["leader"] not in (-1, old_leader) for s, _ in st.values()):
            return st
        return False
    return harness.wait_until("partitions of %s to elect a leader other than %d"
                              % (topic, old_leader), ok, timeout=timeout, interval=0.2)


def common_leader(c, topic, parts):
    leaders = {s["leader"] for s, _ in states(c, topic, parts).values()}
    assert len(leaders) == 1, "partitions of %s have leaders %s, not one" % (topic, leaders)
    return leaders.pop()


# ---- workload ------------------------------------------------------------------

class Op:
    __slots__ = ("value", "partition", "t_send", "t_ack", "offset", "err")

    def __init__(self, value, partition, t_send):
        self.value = value
        self.partition = partition
        self.t_send = t_send
        self.t_ack = None
        self.offset = None
        self.err = None

    @property
    def ok(self):
        return self.t_ack is not None and self.err is None


PRODUCER_CONF = {
    "acks": "all",
    "enable.idempotence": False,
    "retries": 1000000,
    "retry.backoff.ms": 100,
    "message.timeout.ms": 180000,
    # Short client timers, so that a request parked on a stopped or cut-off broker is
    # given up and retried elsewhere quickly: the unavailability windows then measure
    # the cluster, not librdkafka's socket timeout (a request still in flight on a
    # stuck connection is otherwise waited for socket.timeout.ms).
    "request.timeout.ms": 3000,
    "socket.timeout.ms": 4000,
    "max.in.flight.requests.per.connection": 1,
    "linger.ms": 5,
    # librdkafka grows a broker's reconnect backoff across restarts and keeps it
    # after a good connection: with its default cap (10 s) a producer waits up to
    # 10 s to reach a restarted broker that has just become leader (seen in 07,
    # "Delaying next reconnect by 9999ms"). The Java client's cap is 1 s.
    "reconnect.backoff.max.ms": 1000,
}


class Workload:
    """One producer thread writing unique values round-robin over the partitions."""

    def __init__(self, bootstrap, topic, parts, rate=400, name="w", value_pad=64, conf=None):
        from confluent_kafka import Producer
        c = dict(PRODUCER_CONF, **{"bootstrap.servers": bootstrap})
        if os.environ.get("WEIR_FAULT_RDKAFKA_DEBUG"):  # e.g. "broker,topic,msg" (stderr)
            c["debug"] = os.environ["WEIR_FAULT_RDKAFKA_DEBUG"]
        c.update(conf or {})
        self.producer = Producer(c)
        self.topic = topic
        self.parts = parts
        self.rate = rate
        self.name = name
        self.pad = b"." * value_pad
        self.ops = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="workload-" + name, daemon=True)
        self.error = None

    def start(self):
        self._thread.start()
        return self

    def _cb(self, op):
        def cb(err, msg):
            op.t_ack = time.time()
            if err is not None:
                op.err = str(err)
            else:
                op.offset = msg.offset()
                assert msg.partition() == op.partition
        return cb

    def _run(self):
        try:
            seq = 0
            t0 = time.monotonic()
            while not self._stop.is_set():
                due = t0 + seq / float(self.rate)
                now = time.monotonic()
                if now < due:
                    self.producer.poll(min(0.05, due - now))
                    continue
                p = seq % self.parts
                op = Op(b"%s-%d-" % (self.name.encode(), seq) + self.pad, p, time.time())
                while True:
                    try:
                        self.producer.produce(self.topic, value=op.value, partition=p,
                                              on_delivery=self._cb(op))
                        break
                    except BufferError:
                        self.producer.poll(0.1)
                self.ops.append(op)
                seq += 1
                self.producer.poll(0)
        except Exception as e:  # surfaced by stop()
            self.error = e

    def stop(self, drain_timeout=200):
        """Stop producing and wait for every outstanding delivery report."""
        self._stop.set()
        self._thread.join(30)
        left = self.producer.flush(drain_timeout)
        assert self.error is None, "workload thread failed: %r" % self.error
        assert left == 0, "%d records without a delivery report after %ss" % (left, drain_timeout)
        return self

    def acked(self):
        return [o for o in self.ops if o.ok]

    def failed(self):
        return [o for o in self.ops if o.t_ack is not None and o.err is not None]

    def acked_since(self, t):
        return sum(1 for o in self.ops if o.ok and o.t_send >= t)

    def wait_progress(self, t, n=None, timeout=90):
        """Until `n` writes issued at or after `t` are acknowledged on every partition."""
        n = n or 1

        def ok():
            per = collections.Counter(o.partition for o in list(self.ops) if o.ok and o.t_send >= t)
            return all(per[p] >= n for p in range(self.parts))
        harness.wait_until("%d acknowledged writes per partition after t=%.1f" % (n, t), ok,
                           timeout=timeout, interval=0.2)

    def summary(self):
        ok = len(self.acked())
        return "%d sent, %d acknowledged, %d failed" % (len(self.ops), ok, len(self.failed()))


def unavailability(workloads, t_fault, parts):
    """Seconds from t_fault to the first acked write issued at/after it, per partition."""
    first = {}
    for w in workloads:
        for o in list(w.ops):
            if o.ok and o.t_send >= t_fault:
                if o.partition not in first or o.t_ack < first[o.partition]:
                    first[o.partition] = o.t_ack
    return {p: (first[p] - t_fault) if p in first else None for p in range(parts)}


def report_unavailability(scenario, label, workloads, t_fault, parts):
    per = unavailability(workloads, t_fault, parts)
    missing = [p for p, v in per.items() if v is None]
    assert not missing, "%s %s: no write acknowledged after the fault on partitions %s" % (
        scenario, label, missing)
    worst = max(per.values())
    figure(scenario, "%s unavailability (max over %d partitions; per partition %s)" % (
        label, parts, ", ".join("%d:%.1f" % (p, v) for p, v in sorted(per.items()))), worst)
    return worst


# ---- reading ------------------------------------------------------------------

def read_all(bootstrap, topic, parts, timeout=90, name="reader"):
    """A fresh consumer reads every partition from the beginning to its high watermark.

    Returns ({partition: {offset: value}}, {partition: high watermark}).
    """
    from confluent_kafka import Consumer, KafkaError, TopicPartition, OFFSET_BEGINNING
    cons = Consumer({"bootstrap.servers": bootstrap, "group.id": "weir-fault-" + name,
                     "enable.auto.commit": False, "enable.partition.eof": True,
                     "auto.offset.reset": "error", "check.crcs": True,
                     "fetch.wait.max.ms": 100})
    try:
        hw = {}
        for p in range(parts):
            hw[p] = harness.wait_until(
                "high watermark of %s-%d" % (topic, p),
                lambda: cons.get_watermark_offsets(TopicPartition(topic, p), timeout=5),
                timeout=30)[1]
        out = {p: {} for p in range(parts)}
        todo = {p for p in range(parts) if hw[p] > 0}
        cons.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(parts)])
        deadline = time.monotonic() + timeout
        while todo:
            assert time.monotonic() < deadline, "%s: read stalled; partitions %s short of HW %s" % (
                name, sorted(todo), {p: (len(out[p]), hw[p]) for p in todo})
            m = cons.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError("%s: consumer error: %s" % (name, m.error()))
            p, o = m.partition(), m.offset()
            if o < hw[p]:
                assert o not in out[p], "%s: offset %d-%d delivered twice" % (name, p, o)
                out[p][o] = m.value()
            if o >= hw[p] - 1:
                todo.discard(p)
        return out, hw
    finally:
        cons.close()


# ---- checking -------------------------------------------------------------------

def _seq(value):
    name, seq, _ = value.split(b"-", 2)
    return name, int(seq)


def check_history(scenario, workloads, readings):
    """Assert the safety properties over the producers' histories and the readings.

    readings: list of {partition: {offset: value}} from independent readers.
    """
    ops = [o for w in workloads for o in w.ops]
    acked = [o for o in ops if o.ok]
    problems = []

    # One value per (partition, offset) across readers, and the same high watermark.
    conflicts = []
    base = readings[0]
    for r in readings[1:]:
        for p in base:
            for o, v in base[p].items():
                if o in r.get(p, {}) and r[p][o] != v:
                    conflicts.append((p, o, base[p][o][:24], r[p][o][:24]))
            if len(r.get(p, {})) != len(base[p]):
                problems.append("readers disagree on the length of partition %d: %d vs %d" % (
                    p, len(base[p]), len(r.get(p, {}))))
    if conflicts:
        problems.append("%d offsets with different values across readers, e.g. %s" % (
            len(conflicts), conflicts[:5]))

    # Dense offsets from 0 (no retention in these runs).
    for p, recs in base.items():
        if sorted(recs) != list(range(len(recs))):
            problems.append("partition %d: offsets not dense from 0" % p)

    # Zero acknowledged records lost: each is at its acknowledged offset.
    lost = [(o.partition, o.offset, o.value[:24]) for o in acked
            if base.get(o.partition, {}).get(o.offset) != o.value]
    if lost:
        problems.append("%d acknowledged records lost or overwritten, e.g. %s" % (len(lost), lost[:5]))

    # Per partition: the acknowledged order is the log order (acks arrive in offset
    # order). The send order is only counted: without idempotence librdkafka
    # documents that a retry may reorder (a retried batch can follow newer records
    # sent during its backoff), so an inversion there is the client's, not the log's.
    by_part = collections.defaultdict(list)
    for o in acked:
        by_part[o.partition].append(o)
    inversions = 0
    for p, lst in by_part.items():
        by_ack = sorted(lst, key=lambda o: o.t_ack)
        offs = [o.offset for o in by_ack]
        bad = [(a, b) for a, b in zip(offs, offs[1:]) if a >= b]
        if bad:
            problems.append("partition %d: acknowledgements out of offset order, e.g. %s" % (
                p, bad[:3]))
        last = {}
        for off in sorted(base.get(p, {})):
            name, seq = _seq(base[p][off])
            if name in last and seq < last[name]:
                inversions += 1
            last[name] = max(seq, last.get(name, seq))

    # Duplicates are allowed without idempotence: count them.
    seen = collections.Counter(v for recs in base.values() for v in recs.values())
    dups = sum(n - 1 for n in seen.values() if n > 1)
    acked_values = {o.value for o in acked}
    unacked_visible = sum(1 for v in seen if v not in acked_values)
    total = sum(len(r) for r in base.values())
    note(scenario, "history: %d sent, %d acked, %d failed, %d in log, %d duplicates, "
         "%d visible but unacknowledged, %d send-order inversions (client retries)" % (
             len(ops), len(acked), sum(1 for o in ops if o.err), total, dups, unacked_visible,
             inversions))
    assert not problems, "%s: history check failed:\n  %s" % (scenario, "\n  ".join(problems))
    return {"acked": len(acked), "in_log": total, "duplicates": dups}


def read_and_check(scenario, c, topic, parts, workloads, replicas=None):
    """Two independent readers (different bootstrap orders), the history check, replicas."""
    ids = sorted(c.broker_ports)
    r1, hw1 = read_all(c.bootstrap(ids), topic, parts, name="reader1")
    r2, hw2 = read_all(c.bootstrap(list(reversed(ids))), topic, parts, name="reader2")
    assert hw1 == hw2, "high watermarks moved between two reads of a quiet topic: %s vs %s" % (
        hw1, hw2)
    res = check_history(scenario, workloads, [r1, r2])
    check_replicas(scenario, c, topic, parts, hw1, replicas=replicas)
    return res


# ---- on-disk replicas -------------------------------------------------------------

BATCH_HEADER = struct.Struct(">qiibIhi")  # BaseOffset, BatchLength, PartitionLeaderEpoch,
                                          # Magic, CRC, Attributes, LastOffsetDelta


def log_batches(partition_dir):
    """[(base, last, epoch, bytes)] of every complete batch, in segment order."""
    out = []
    for name in harness.segment_files(partition_dir):
        with open(os.path.join(partition_dir, name), "rb") as f:
            data = f.read()
        pos = 0
        while pos + BATCH_HEADER.size <= len(data):
            base, blen, epoch, magic, _crc, _attr, lod = BATCH_HEADER.unpack_from(data, pos)
            if blen < BATCH_HEADER.size - 12 or pos + 12 + blen > len(data):
                break  # a torn or in-progress tail
            assert magic == 2, "%s/%s at %d: magic %d" % (partition_dir, name, pos, magic)
            out.append((base, base + lod, epoch, data[pos:pos + 12 + blen]))
            pos += 12 + blen
    return out


def client_held(c, broker, topic, p, t_from, t_to, slack=1.0):
    """True when broker's log of topic-p holds one batch whose records were
    created from about t_from to about t_to (epoch seconds): the producer kept
    them through the whole gap and sent them only at its end, so the gap was
    the client's, not the broker's."""
    spanning = inside = 0
    for _base, _last, _epoch, raw in log_batches(os.path.join(c.log_dir(broker), "%s-%d" % (topic, p))):
        first_ts, max_ts = (t / 1000.0 for t in struct.unpack_from(">qq", raw, 27))
        if first_ts <= t_from + slack and max_ts >= t_to - slack:
            spanning += 1
        elif t_from + slack < first_ts < t_to - slack:
            inside += 1  # the client did send during the gap
    return spanning == 1 and inside == 0


def replica_prefix(partition_dir, hw):
    """The bytes of the batches below `hw`, or None if this replica does not reach hw yet."""
    batches = [b for b in log_batches(partition_dir) if b[0] < hw]
    if not batches or batches[-1][1] < hw - 1:
        return None if hw > 0 else (b"", [])
    assert batches[-1][1] == hw - 1, "%s: a batch straddles the high watermark %d (%d..%d)" % (
        partition_dir, hw, batches[-1][0], batches[-1][1])
    return b"".join(b[3] for b in batches), [(b[0], b[2]) for b in batches]


def check_replicas(scenario, c, topic, parts, hw, replicas=None, timeout=60):
    """Every replica's log, up to the high watermark, is byte-identical to the others'."""
    md = None if replicas else metadata(c, topic)
    for p in range(parts):
        reps = replicas[p] if replicas else md[p][2]
        dirs = {b: os.path.join(c.log_dir(b), "%s-%d" % (topic, p)) for b in reps}

        def caught_up():
            got = {}
            for b, d in dirs.items():
                pre = replica_prefix(d, hw[p]) if os.path.isdir(d) else None
                if pre is None:
                    return False
                got[b] = pre
            return got
        got = harness.wait_until("replicas %s of %s-%d to reach the high watermark %d on disk" % (
            reps, topic, p, hw[p]), caught_up, timeout=timeout, interval=0.5)
        first = reps[0]
        for b in reps[1:]:
            if got[b][0] != got[first][0]:
                diff = _first_diff(got[first][1], got[b][1])
                raise AssertionError(
                    "%s: %s-%d replicas %d and %d differ below HW %d (%d vs %d bytes); "
                    "first differing batch (base offset, leader epoch): %s" % (
                        scenario, topic, p, first, b, hw[p], len(got[first][0]),
                        len(got[b][0]), diff))
    note(scenario, "replicas byte-identical up to HW %s" % hw)


def _first_diff(a, b):
    for x, y in zip(a, b):
        if x != y:
            return (x, y)
    return ("lengths", len(a), len(b))


def batch_epoch_at(c, broker, topic, p, offset):
    """Leader epoch stamped on the batch holding `offset` in one replica's log."""
    for base, last, epoch, _ in log_batches(os.path.join(c.log_dir(broker), "%s-%d" % (topic, p))):
        if base <= offset <= last:
            return epoch
    return None


# ---- raw Produce (zombie probes) ----------------------------------------------------

def _kstr(b):
    return struct.pack(">h", len(b)) + b


def _batch(values):
    from kafka.record.default_records import DefaultRecordBatchBuilder
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=0,
                                  producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                  batch_size=1 << 20)
    ts = int(time.time() * 1000)
    for i, v in enumerate(values):
        b.append(i, timestamp=ts, key=None, value=v, headers=[])
    return bytes(b.build())


def raw_produce(host, port, topic, partition, values, acks=-1, timeout_ms=3000, corr=1):
    """One Produce v7 request to one broker: (error code, base offset), or an exception
    (connection refused, reset or timed out) when the broker does not answer."""
    batch = _batch(values)
    body = struct.pack(">hhi", -1, acks, timeout_ms) + struct.pack(">i", 1) + _kstr(topic.encode())
    body += struct.pack(">ii", 1, partition) + struct.pack(">i", len(batch)) + batch
    cid = b"weir-fault-probe"
    hdr = struct.pack(">hhih", 0, 7, corr, len(cid)) + cid
    frame = struct.pack(">i", len(hdr) + len(body)) + hdr + body
    with socket.create_connection((host, port), timeout=timeout_ms / 1000.0 + 3) as s:
        s.sendall(frame)
        size = struct.unpack(">i", _recv(s, 4))[0]
        resp = _recv(s, size)
    got_corr, ntopics = struct.unpack_from(">ii", resp, 0)
    assert got_corr == corr and ntopics == 1, (got_corr, ntopics)
    (nlen,) = struct.unpack_from(">h", resp, 8)
    pos = 10 + nlen
    nparts, index, err, base = struct.unpack_from(">iihq", resp, pos)
    assert nparts == 1 and index == partition
    return err, base


def _recv(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


class Writes:
    """A fixed list of writes made synchronously; has `ops` like a Workload."""

    def __init__(self, bootstrap, topic, partition, values, acks="all", timeout=60):
        from confluent_kafka import Producer
        conf = dict(PRODUCER_CONF, **{"bootstrap.servers": bootstrap, "acks": acks,
                                      "message.timeout.ms": int(timeout * 1000)})
        p = Producer(conf)
        self.ops = []
        for v in values:
            op = Op(v, partition, time.time())
            self.ops.append(op)
            p.produce(topic, value=v, partition=partition, on_delivery=self._cb(op))
            p.poll(0)
        left = p.flush(timeout + 10)
        assert left == 0, "%d writes without a delivery report" % left

    @staticmethod
    def _cb(op):
        def cb(err, msg):
            op.t_ack = time.time()
            if err is not None:
                op.err = str(err)
            else:
                op.offset = msg.offset()
        return cb

    def acked(self):
        return [o for o in self.ops if o.ok]

    def offsets(self):
        return [o.offset for o in self.ops if o.ok]


def _request(api_key, version, body, corr=1):
    cid = b"weir-fault-probe"
    hdr = struct.pack(">hhih", api_key, version, corr, len(cid)) + cid
    return struct.pack(">i", len(hdr) + len(body)) + hdr + body


class _Rd:
    """Minimal big-endian reader for the probe responses (raises on short data)."""

    def __init__(self, data):
        self.d, self.p = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.p)
        self.p += struct.calcsize(fmt)
        return v if len(v) > 1 else v[0]

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        s = self.d[self.p:self.p + n]
        assert len(s) == n, "short string"
        self.p += n
        return s.decode()

    def ints(self):
        return [self.take(">i") for _ in range(self.take(">i"))]


def raw_metadata(host, port, topic, timeout=3.0):
    """What one broker itself claims (Metadata v1): {partition: (leader, isr)}."""
    body = struct.pack(">i", 1) + _kstr(topic.encode())
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(_request(3, 1, body))
        size = struct.unpack(">i", _recv(s, 4))[0]
        r = _Rd(_recv(s, size))
    r.take(">i")  # correlation id
    for _ in range(r.take(">i")):  # brokers
        r.take(">i"), r.string(), r.take(">i"), r.string()
    r.take(">i")  # controller id
    out = {}
    for _ in range(r.take(">i")):
        r.take(">h"), r.string(), r.take(">b")
        for _ in range(r.take(">i")):
            _err, part, leader = r.take(">hii")
            r.ints()
            out[part] = (leader, r.ints())
    return out


def claims(c, topic, host_of=None):
    """{broker: what it claims in Metadata, or the error asking it} for a diagnosis note."""
    out = {}
    for b in sorted(c.brokers):
        host = host_of(b) if host_of else "127.0.0.1"
        try:
            out[b] = raw_metadata(host, c.broker_ports[b], topic)
        except Exception as e:
            out[b] = repr(e)
    return out
