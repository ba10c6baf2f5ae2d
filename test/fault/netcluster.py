"""ZooKeeper and a Weir cluster whose processes live in network namespaces.

What it owns: `NetZooKeeper` and `NetCluster`, variants of the integration
harness classes that start every process with `ip netns exec <node namespace>`
and make it listen on that node's private address from netns.Net instead of
127.0.0.1. Node names: "zk" (ZooKeeper and the controllers), "b<id>" (one per
broker), "cl" (the test's clients). Each namespace has its own port space, so
ports are fixed (ZooKeeper 2181, brokers 9092, controllers 9100+n).

Invariants: the pids recorded are those of the product processes themselves
(`ip netns exec` execs them), so SIGKILL/SIGSTOP reach the process; only
addresses inside the test's own namespaces are bound.

Called from pytest's single thread, after it entered the "cl" namespace.
"""

import os

import harness


class NetZooKeeper(harness.ZooKeeper):
    """Debian's ZooKeeper in the "zk" namespace, on <zk address>:2181."""

    def __init__(self, workdir, net, node="zk"):  # noqa: super().__init__ binds loopback
        self.net = net
        self.host = net.addr(node)
        self.port = 2181
        self.datadir = os.path.join(workdir, "zookeeper")
        os.makedirs(self.datadir, exist_ok=True)
        cfg = harness.write_zoo_cfg(workdir, self.datadir, self.host, self.port)
        argv = ["java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Dzookeeper.root.logger=INFO,CONSOLE", "-cp", harness.ZK_CLASSPATH,
                "org.apache.zookeeper.server.ZooKeeperServerMain", cfg]
        self.proc = harness.Proc("zookeeper", net.exec_argv(node, argv), workdir)
        self._kazoo = None
        harness.wait_until("ZooKeeper to answer ruok on %s:%d" % (self.host, self.port),
                           self._ruok, timeout=60)

    def _ruok(self):
        import socket
        if not self.proc.alive():
            raise AssertionError("ZooKeeper exited:\n" + self.proc.tail())
        with socket.create_connection((self.host, self.port), timeout=2) as s:
            s.sendall(b"ruok")
            return s.recv(16) == b"imok"

    @property
    def connect(self):
        return "%s:%d" % (self.host, self.port)


class NetCluster(harness.Cluster):
    """Controllers in the "zk" namespace, broker <id> in namespace "b<id>"."""

    def __init__(self, workdir, zk, net=None, **kw):
        self.net = net
        super().__init__(workdir, zk, **kw)

    def broker_config(self, broker_id, extra=None):
        self.broker_ports[broker_id] = 9092
        ex = {"listeners": "PLAINTEXT://%s:9092" % self.net.addr("b%d" % broker_id)}
        ex.update(extra or {})
        return super().broker_config(broker_id, extra=ex)

    def controller_config(self, cid):
        port = self.controller_ports.setdefault(cid, 9100 + cid - harness.CONTROLLER_ID_BASE)
        path = super().controller_config(cid)
        with open(path) as f:
            text = f.read()
        text = text.replace("listeners=PLAINTEXT://127.0.0.1:%d" % port,
                            "listeners=PLAINTEXT://%s:%d" % (self.net.addr("zk"), port))
        with open(path, "w") as f:
            f.write(text)
        return path

    def start_controller(self, cid):
        conf = self.controller_config(cid)
        argv = [os.path.join(harness.WEIR_BIN, "weir-controller"), conf]
        p = harness.Proc("%s-controller-%d" % (self.name, cid), self.net.exec_argv("zk", argv),
                         self.workdir)
        self.controllers[cid] = p
        return p

    def start_broker(self, broker_id, overrides=None, log_dir=None):
        conf = self.broker_config(broker_id)
        argv = [os.path.join(harness.WEIR_BIN, "weir-broker"), conf]
        for k, v in (overrides or {}).items():
            argv += ["--override", "%s=%s" % (k, v)]
        if log_dir is not None:
            argv += ["--override", "log.dirs=%s" % log_dir]
        p = harness.Proc("%s-broker-%d" % (self.name, broker_id),
                         self.net.exec_argv("b%d" % broker_id, argv), self.workdir)
        self.brokers[broker_id] = p
        return p

    def bootstrap(self, ids=None):
        ids = ids or sorted(self.broker_ports)
        return ",".join("%s:9092" % self.net.addr("b%d" % i) for i in ids)

    def broker_host(self, bid):
        return self.net.addr("b%d" % bid)
