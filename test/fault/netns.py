"""Network namespaces for partition faults: a private switch and one namespace per node.

What it owns: a set of network namespaces created for one test (names carry a
per-run tag), a hub namespace holding a Linux bridge, one veth pair per node
(hub end on the bridge, node end `eth0` in the node's namespace) with a private
10.x test address, and the blackhole routes that cut chosen pairs of nodes.
ZooKeeper, the controllers and every broker run inside these namespaces through
`ip netns exec`; the test's own clients run in the "client" namespace by moving
the pytest thread into it (`enter`), so the machine's own interfaces and
addresses are never touched.

Invariants:
  * addresses exist only inside namespaces created here; nothing is added to
    the initial namespace;
  * a partition is a pair of blackhole routes, one in each namespace, so
    packets already in flight and established connections are dropped silently
    (no RST, no ICMP): what a pulled cable looks like;
  * `destroy` returns the thread to its original namespace first and then
    deletes every namespace it created (deleting a namespace deletes its veth
    ends); it is safe to call twice and after a partial setup.

Called from pytest's single thread only. Moving that thread with setns(2)
affects threads it creates afterwards (librdkafka, kazoo), which is intended.
"""

import ctypes
import os
import random
import subprocess

CLONE_NEWNET = 0x40000000


def available():
    """None if namespaces can be used here, else the reason why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    name = "wfprobe%d" % os.getpid()
    cp = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if cp.returncode != 0:
        return "ip netns add failed: " + cp.stderr.strip()
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


def _ip(*args):
    cp = subprocess.run(["ip"] + list(args), capture_output=True, text=True)
    if cp.returncode != 0:
        raise AssertionError("ip %s: %s" % (" ".join(args), cp.stderr.strip()))
    return cp.stdout


def _setns(fd):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: " + os.strerror(err))


class Net:
    """A switch in a hub namespace and nodes attached to it."""

    def __init__(self):
        self.tag = "%04x" % random.randrange(0x10000)
        self.subnet = "10.%d.%d" % (200 + random.randrange(50), random.randrange(250))
        self.namespaces = []
        self.nodes = {}        # node name -> (namespace, address)
        self.cuts = []         # (namespace, destination address)
        self._home_fd = None
        try:
            self.hub = self._ns("hub")
            _ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.hub, "link", "set", "br0", "up")
        except BaseException:
            self.destroy()  # the caller never gets this object to clean up
            raise

    def _ns(self, short):
        name = "wf%s-%s" % (self.tag, short)
        _ip("netns", "add", name)
        self.namespaces.append(name)
        _ip("-n", name, "link", "set", "lo", "up")
        return name

    def add_node(self, short, host_index):
        """A namespace with eth0 on the switch at <subnet>.<host_index>/24."""
        ns = self._ns(short)
        hub_end = ("v%s%s" % (self.tag, short))[:15]  # IFNAMSIZ
        _ip("link", "add", hub_end, "netns", self.hub, "type", "veth", "peer", "name", "eth0",
            "netns", ns)
        _ip("-n", self.hub, "link", "set", hub_end, "master", "br0")
        _ip("-n", self.hub, "link", "set", hub_end, "up")
        addr = "%s.%d" % (self.subnet, host_index)
        _ip("-n", ns, "addr", "add", addr + "/24", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        self.nodes[short] = (ns, addr)
        return ns, addr

    def ns(self, short):
        return self.nodes[short][0]

    def addr(self, short):
        return self.nodes[short][1]

    def exec_argv(self, short, argv):
        return ["ip", "netns", "exec", self.ns(short)] + list(argv)

    # ---- the pytest thread -----------------------------------------------
    def enter(self, short):
        """Move this thread (and threads it creates later) into a node's namespace."""
        if self._home_fd is None:
            self._home_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        fd = os.open("/var/run/netns/" + self.ns(short), os.O_RDONLY)
        try:
            _setns(fd)
        finally:
            os.close(fd)

    def leave(self):
        if self._home_fd is not None:
            _setns(self._home_fd)
            os.close(self._home_fd)
            self._home_fd = None

    # ---- faults -----------------------------------------------------------
    def cut(self, a, others):
        """Isolate node `a` from each node in `others`, both directions."""
        for b in others:
            for src, dst in ((a, b), (b, a)):
                ns, ip = self.ns(src), self.addr(dst)
                _ip("-n", ns, "route", "add", "blackhole", ip + "/32")
                self.cuts.append((ns, ip))

    def heal(self):
        for ns, ip in self.cuts:
            subprocess.run(["ip", "-n", ns, "route", "del", "blackhole", ip + "/32"],
                           capture_output=True)
        self.cuts = []

    def destroy(self):
        try:
            self.leave()
        finally:
            for ns in reversed(self.namespaces):
                subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            self.namespaces = []
