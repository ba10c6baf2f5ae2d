"""Weir integration harness: real ZooKeeper, controllers and brokers on loopback.

What it owns: starting and stopping every process a scenario needs (Debian's
ZooKeeper, weir-controller, weir-broker), their per-test configuration files and
logs under a temporary directory, and small client helpers shared by the
numbered scenarios.

Invariants:
  * every process is started through `Proc`, which records it in `ALL_PROCS`;
    conftest stops each one by pid (SIGTERM, then SIGKILL) in teardown, even when
    the test failed, and then asserts none is left running;
  * only 127.0.0.1 is ever bound, on ports the kernel reported free;
  * nothing here retries a failing product operation silently: `wait_until`
    raises with the caller's description when its deadline passes.

Called from pytest's single thread only.
"""

import json
import os
import signal
import socket
import subprocess
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WEIR_BIN = os.environ.get("WEIR_BIN", os.path.join(REPO, "bin"))
KCAT = "/usr/bin/kcat"
PYTHON = "/usr/bin/python3"

ZK_CLASSPATH = "/usr/share/java/*:/usr/share/zookeeper/*:/etc/zookeeper/conf"

# Controllers take ids from a separate id space (control-plane.md R2) so that
# /controller can never be mistaken for a broker id.
CONTROLLER_ID_BASE = 10000

# Every Proc ever started in this pytest process; conftest checks all are gone.
ALL_PROCS = []


def free_port():
    """A loopback port nobody listens on right now (the kernel picked it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ProcessDied(AssertionError):
    """A product process exited while it should be running: waiting longer is useless."""


def wait_until(what, fn, timeout=30.0, interval=0.2):
    """Poll fn() until it returns a truthy value; return it, or raise naming `what`."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = fn()
            if v:
                return v
        except ProcessDied:
            raise
        except Exception as e:  # the product may not be ready yet; keep the reason
            last_exc = e
        if time.monotonic() >= deadline:
            raise AssertionError(
                "timed out after %.1fs waiting for %s (last error: %r)" % (timeout, what, last_exc))
        time.sleep(interval)


def attach_failure_logs(item, rep, lines):
    """On a failed setup or call, attach the last `lines` lines of every process log
    the test started (and of older ones still running), then repeat the failure
    itself: the end of the report, all a truncated CI log may keep, must say it."""
    if rep.when == "setup":
        item._weir_first_proc = len(ALL_PROCS)
    if not (rep.failed and rep.when in ("setup", "call")):
        return
    first = getattr(item, "_weir_first_proc", 0)
    for i, p in enumerate(ALL_PROCS):
        if i < first and not p.alive():
            continue
        try:
            rep.sections.append(("%s (pid %d, %s) last %d lines" % (
                p.name, p.pid, "alive" if p.alive() else "exit %s" % p.returncode(), lines),
                p.tail(lines)))
        except OSError:
            pass
    crash = getattr(rep.longrepr, "reprcrash", None)
    if crash is not None:
        rep.sections.append(("failure of %s" % item.nodeid,
                             "%s:%d: %s" % (crash.path, crash.lineno, crash.message)))


def tcp_alive(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class Proc:
    """One child process with its output in a file; stopped by pid only."""

    def __init__(self, name, argv, logdir, env=None):
        self.name = name
        self.argv = argv
        self.log_path = os.path.join(logdir, name + ".log")
        self.logf = open(self.log_path, "ab")
        self.start_offset = self.logf.tell()  # earlier incarnations' output comes before
        self.logf.write(("=== start %s: %s\n" % (time.strftime("%H:%M:%S"), " ".join(argv))).encode())
        self.logf.flush()
        self.popen = subprocess.Popen(argv, stdout=self.logf, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        self.pid = self.popen.pid
        ALL_PROCS.append(self)

    def alive(self):
        return self.popen.poll() is None

    def returncode(self):
        return self.popen.poll()

    def wait_exit(self, timeout):
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill9(self):
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout=15.0):
        """SIGTERM, then SIGKILL after `timeout`; returns the exit status."""
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            if self.wait_exit(timeout) is None:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        if not self.logf.closed:
            self.logf.close()
        return self.popen.returncode

    def output(self):
        """What this incarnation wrote (the log file may hold earlier runs first)."""
        with open(self.log_path, "rb") as f:
            f.seek(self.start_offset)
            return f.read().decode("utf-8", "replace")

    def tail(self, n=50):
        return "\n".join(self.output().splitlines()[-n:])


def write_zoo_cfg(workdir, datadir, host, port):
    """zoo.cfg of a standalone test ZooKeeper, as conf/zookeeper.properties sets it up:
    a 500 ms tick, because ZooKeeper expires sessions on tick boundaries and a dead
    broker is noticed up to one tick after its session timeout."""
    cfg = os.path.join(workdir, "zoo.cfg")
    with open(cfg, "w") as f:
        f.write("tickTime=500\nmaxSessionTimeout=60000\ninitLimit=20\nsyncLimit=10\n"
                "dataDir=%s\nclientPort=%d\nclientPortAddress=%s\n"
                "maxClientCnxns=0\nadmin.enableServer=false\n"
                "4lw.commands.whitelist=ruok,srvr,stat\n" % (datadir, port, host))
    return cfg


class ZooKeeper:
    """Debian's standalone ZooKeeper on a free loopback port."""

    def __init__(self, workdir):
        self.port = free_port()
        self.datadir = os.path.join(workdir, "zookeeper")
        os.makedirs(self.datadir, exist_ok=True)
        cfg = write_zoo_cfg(workdir, self.datadir, "127.0.0.1", self.port)
        argv = ["java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Dzookeeper.root.logger=INFO,CONSOLE",
                "-cp", ZK_CLASSPATH, "org.apache.zookeeper.server.ZooKeeperServerMain", cfg]
        self.proc = Proc("zookeeper", argv, workdir)
        wait_until("ZooKeeper to answer ruok on port %d" % self.port, self._ruok, timeout=60)
        self._kazoo = None

    def _ruok(self):
        if not self.proc.alive():
            raise AssertionError("ZooKeeper exited:\n" + self.proc.tail())
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(b"ruok")
            return s.recv(16) == b"imok"

    @property
    def connect(self):
        return "127.0.0.1:%d" % self.port

    def client(self):
        """A shared kazoo client on the root (paths passed in include the chroot)."""
        if self._kazoo is None:
            from kazoo.client import KazooClient
            self._kazoo = KazooClient(hosts=self.connect, timeout=10)
            self._kazoo.start(timeout=15)
        return self._kazoo

    def get(self, path):
        """The znode's data as text, or None if it does not exist."""
        from kazoo.exceptions import NoNodeError
        try:
            data, _ = self.client().get(path)
        except NoNodeError:
            return None
        return data.decode() if data is not None else ""

    def children(self, path):
        from kazoo.exceptions import NoNodeError
        try:
            return sorted(self.client().get_children(path))
        except NoNodeError:
            return []

    def stop(self):
        if self._kazoo is not None:
            try:
                self._kazoo.stop()
                self._kazoo.close()
            except Exception:
                pass
            self._kazoo = None
        self.proc.stop(timeout=10)


def write_properties(path, props):
    with open(path, "w") as f:
        f.write("# written by test/integration/harness.py\n")
        for k, v in props.items():
            f.write("%s=%s\n" % (k, v))


class Cluster:
    """A Weir cluster under one chroot of a ZooKeeper: M controllers, N brokers."""

    def __init__(self, workdir, zk, chroot="/weir", brokers=3, controllers=2,
                 broker_props=None, controller_props=None, name="c"):
        self.workdir = workdir
        self.zk = zk
        self.chroot = chroot
        self.name = name
        self.broker_props = dict(broker_props or {})
        self.controller_props = dict(controller_props or {})
        self.brokers = {}        # id -> Proc (latest incarnation)
        self.broker_ports = {}   # id -> port (kept across restarts)
        self.controllers = {}    # id -> Proc
        self.controller_ports = {}
        for i in range(1, controllers + 1):
            self.start_controller(CONTROLLER_ID_BASE + i)
        for i in range(1, brokers + 1):
            self.start_broker(i)

    # ---- configuration -------------------------------------------------
    @property
    def zk_connect(self):
        return self.zk.connect + self.chroot

    def zpath(self, path):
        """A path inside this cluster's chroot, for reading ZooKeeper directly."""
        return (self.chroot.rstrip("/") + path) if self.chroot != "/" else path

    def log_dir(self, broker_id):
        return os.path.join(self.workdir, "%s-b%d" % (self.name, broker_id))

    def broker_config(self, broker_id, extra=None):
        port = self.broker_ports.setdefault(broker_id, free_port())
        props = {
            "broker.id": broker_id,
            "listeners": "PLAINTEXT://127.0.0.1:%d" % port,
            "log.dirs": self.log_dir(broker_id),
            "zookeeper.connect": self.zk_connect,
            "zookeeper.session.timeout.ms": 6000,
            "num.partitions": 1,
            "default.replication.factor": 1,
            "auto.create.topics.enable": "true",
            "log.segment.bytes": 1073741824,
            "log.retention.ms": 604800000,
            "log.retention.check.interval.ms": 300000,
        }
        props.update(self.broker_props)
        props.update(extra or {})
        path = os.path.join(self.workdir, "%s-broker-%d.properties" % (self.name, broker_id))
        write_properties(path, props)
        return path

    def controller_config(self, cid):
        port = self.controller_ports.setdefault(cid, free_port())
        props = {
            "controller.id": cid,
            "listeners": "PLAINTEXT://127.0.0.1:%d" % port,
            "zookeeper.connect": self.zk_connect,
            "zookeeper.session.timeout.ms": 6000,
        }
        # Controllers pick defaults for CreateTopics with -1 and for auto-creation.
        for k in ("num.partitions", "default.replication.factor"):
            if k in self.broker_props:
                props[k] = self.broker_props[k]
        props.update(self.controller_props)
        path = os.path.join(self.workdir, "%s-controller-%d.properties" % (self.name, cid))
        write_properties(path, props)
        return path

    # ---- processes -----------------------------------------------------
    def start_controller(self, cid):
        conf = self.controller_config(cid)
        p = Proc("%s-controller-%d" % (self.name, cid),
                 [os.path.join(WEIR_BIN, "weir-controller"), conf], self.workdir)
        self.controllers[cid] = p
        return p

    def start_broker(self, broker_id, overrides=None, log_dir=None):
        """Start (or restart) a broker; `overrides` go on the command line as --override."""
        conf = self.broker_config(broker_id)
        argv = [os.path.join(WEIR_BIN, "weir-broker"), conf]
        for k, v in (overrides or {}).items():
            argv += ["--override", "%s=%s" % (k, v)]
        if log_dir is not None:
            argv += ["--override", "log.dirs=%s" % log_dir]
        p = Proc("%s-broker-%d" % (self.name, broker_id), argv, self.workdir)
        self.brokers[broker_id] = p
        return p

    def all_procs(self):
        return list(self.controllers.values()) + list(self.brokers.values())

    def check_alive(self):
        dead = [p.name + " (exit %s)" % p.returncode() for p in self.all_procs() if not p.alive()]
        if dead:
            raise ProcessDied("process(es) exited: " + ", ".join(dead))

    def bootstrap(self, ids=None):
        ids = ids or sorted(self.broker_ports)
        return ",".join("127.0.0.1:%d" % self.broker_ports[i] for i in ids)

    def admin(self, **conf):
        from confluent_kafka.admin import AdminClient
        c = {"bootstrap.servers": self.bootstrap(), "socket.timeout.ms": 10000}
        c.update(conf)
        return AdminClient(c)

    # ---- state seen from outside ---------------------------------------
    def active_controller(self):
        """The id in /controller, or None."""
        data = self.zk.get(self.zpath("/controller"))
        if not data:
            return None
        return int(json.loads(data)["brokerid"])

    def cluster_id(self):
        data = self.zk.get(self.zpath("/cluster/id"))
        return json.loads(data)["id"] if data else None

    def registered_brokers(self):
        return [int(x) for x in self.zk.children(self.zpath("/brokers/ids"))]

    def metadata_brokers(self, timeout=5):
        md = self.admin().list_topics(timeout=timeout)
        return sorted(md.brokers)

    def wait_ready(self, timeout=60, brokers=None):
        """Every broker in a Metadata response and an active controller registered."""
        want = sorted(brokers or self.brokers)

        def ready():
            self.check_alive()
            return self.active_controller() is not None and self.metadata_brokers() == want
        wait_until("cluster %s ready with brokers %s" % (self.name, want), ready, timeout=timeout,
                   interval=0.5)

    def create_topic(self, topic, partitions=1, rf=1, config=None, timeout=30, assignment=None):
        """CreateTopics through a broker; `assignment` is [[replica ids] per partition]."""
        from confluent_kafka.admin import NewTopic
        if assignment is not None:
            nt = NewTopic(topic, num_partitions=len(assignment), replica_assignment=assignment,
                          config=config or {})
            partitions = len(assignment)
        else:
            nt = NewTopic(topic, num_partitions=partitions, replication_factor=rf,
                          config=config or {})
        a = self.admin()  # keep the handle alive until the future completes
        fs = a.create_topics([nt], operation_timeout=timeout, request_timeout=timeout + 5)
        fs[topic].result(timeout=timeout + 10)
        self.wait_topic_leaders(topic, partitions)

    def topic_metadata(self, topic, timeout=5):
        md = self.admin().list_topics(timeout=timeout)
        return md.topics.get(topic)

    def wait_topic_leaders(self, topic, partitions, timeout=30):
        """Until Metadata shows `partitions` partitions, each with a live leader."""
        def ok():
            tm = self.topic_metadata(topic)
            if tm is None or tm.error is not None or len(tm.partitions) != partitions:
                return False
            return all(p.leader >= 0 and p.error is None for p in tm.partitions.values())
        wait_until("topic %s with %d led partitions" % (topic, partitions), ok, timeout=timeout)

    def leader_of(self, topic, partition):
        return self.topic_metadata(topic).partitions[partition].leader

    def partition_dirs(self, topic, partition):
        """Every broker log dir holding `<topic>-<partition>` (Kafka's layout)."""
        out = []
        for bid in self.broker_ports:
            d = os.path.join(self.log_dir(bid), "%s-%d" % (topic, partition))
            if os.path.isdir(d):
                out.append(d)
        return out

    def stop(self):
        # Brokers first so that they do not spin against a vanished controller.
        for p in list(self.brokers.values()) + list(self.controllers.values()):
            p.stop()


# ---- client helpers ----------------------------------------------------------

def ck_producer(bootstrap, **conf):
    from confluent_kafka import Producer
    c = {"bootstrap.servers": bootstrap, "linger.ms": 5, "message.timeout.ms": 30000}
    c.update(conf)
    return Producer(c)


def ck_consumer(bootstrap, **conf):
    from confluent_kafka import Consumer
    c = {"bootstrap.servers": bootstrap, "group.id": "weir-it-assign",
         "enable.auto.commit": False, "enable.partition.eof": True,
         "auto.offset.reset": "earliest", "check.crcs": True}
    c.update(conf)
    return Consumer(c)


def ck_produce_all(producer, records, topic, timeout=60):
    """Produce (key, value, kwargs) records; return delivery results in order.

    Each result is (err, partition, offset, msg) so callers can assert per record.
    """
    results = [None] * len(records)

    def cb_for(i):
        def cb(err, msg):
            results[i] = (err, msg.partition(), msg.offset(), msg)
        return cb
    for i, (k, v, kw) in enumerate(records):
        while True:
            try:
                producer.produce(topic, key=k, value=v, on_delivery=cb_for(i), **kw)
                break
            except BufferError:
                producer.poll(0.1)
    left = producer.flush(timeout)
    assert left == 0, "%d records still queued after %ss" % (left, timeout)
    return results


def ck_consume(consumer, tps, count, timeout=60):
    """assign() `tps` and read `count` messages (errors other than EOF raise)."""
    from confluent_kafka import KafkaError
    consumer.assign(tps)
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < count:
        assert time.monotonic() < deadline, \
            "consumed %d of %d records in %ss" % (len(out), count, timeout)
        m = consumer.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                continue
            raise AssertionError("consumer error: %s" % m.error())
        out.append(m)
    return out


def run(argv, timeout=120, input_data=None, check=True):
    """Run a client command; return CompletedProcess (text)."""
    cp = subprocess.run(argv, input=input_data, capture_output=True, text=True, timeout=timeout)
    if check and cp.returncode != 0:
        raise AssertionError("%s exited %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(argv), cp.returncode, cp.stdout[-4000:], cp.stderr[-4000:]))
    return cp


def segment_files(partition_dir):
    return sorted(f for f in os.listdir(partition_dir) if f.endswith(".log"))


def dir_log_bytes(partition_dir):
    return sum(os.path.getsize(os.path.join(partition_dir, f)) for f in segment_files(partition_dir))
