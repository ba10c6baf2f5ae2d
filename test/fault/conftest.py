"""pytest fixtures for the Weir fault scenarios.

Owns the lifetime of what a fault scenario starts: the `fleet` fixture gives a
factory for ZooKeepers and clusters (test/integration/harness.py classes) and
for network namespaces (netns.Net). Teardown, even after a failure: every
process is sent SIGCONT first (a scenario may have left one stopped), then
stopped by pid (SIGTERM, then SIGKILL), namespaces are deleted, and leftover
processes fail the test. Unlike the integration suite, an unclean exit on
SIGTERM is only reported here: the scenarios that test shutdown assert it
themselves. On a failure the last 80 lines of every process log are attached
to the report, and at the end of the session the figures the scenarios
measured (unavailability windows, catch-up times) are printed in the terminal
summary, so they show even in `pytest -q` runs.
"""

import os
import signal

import pytest

import faultlib  # noqa: F401  (puts test/integration on sys.path)
import harness
import netns


def _missing_binaries():
    return [b for b in ("weir-broker", "weir-controller")
            if not os.access(os.path.join(harness.WEIR_BIN, b), os.X_OK)]


def pytest_collection_modifyitems(config, items):
    missing = _missing_binaries()
    if missing:
        skip = pytest.mark.skip(reason="not built: %s in %s" % (", ".join(missing), harness.WEIR_BIN))
        for item in items:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    harness.attach_failure_logs(item, outcome.get_result(), 80)


def pytest_terminal_summary(terminalreporter):
    if faultlib.FIGURES:
        terminalreporter.section("weir fault figures")
        for line in faultlib.FIGURES:
            terminalreporter.write_line(line)


class Fleet:
    """Everything one test started, stopped in reverse order."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.clusters = []
        self.zks = []
        self.nets = []
        self.unclean = []

    def zookeeper(self, zk_class=harness.ZooKeeper, **kw):
        zk = zk_class(os.path.join(self.workdir, "zk%d" % len(self.zks)), **kw)
        self.zks.append(zk)
        return zk

    def cluster(self, zk=None, ready=True, cluster_class=harness.Cluster, **kw):
        zk = zk or self.zookeeper()
        d = os.path.join(self.workdir, "cluster%d" % len(self.clusters))
        os.makedirs(d, exist_ok=True)
        c = cluster_class(d, zk, **kw)
        self.clusters.append(c)
        if ready:
            c.wait_ready()
        return c

    def net(self):
        n = netns.Net()
        self.nets.append(n)
        return n

    def teardown(self):
        procs = []
        try:
            for p in harness.ALL_PROCS:
                if p.alive():
                    try:
                        os.kill(p.pid, signal.SIGCONT)
                    except ProcessLookupError:
                        pass
            for c in reversed(self.clusters):
                running = [p for p in c.all_procs() if p.alive()]
                procs += c.all_procs()
                c.stop()
                self.unclean += ["%s (exit %s)" % (p.name, p.returncode()) for p in running
                                 if p.returncode() != 0]
            for zk in reversed(self.zks):
                procs.append(zk.proc)
                zk.stop()
        finally:
            for n in reversed(self.nets):
                n.destroy()
        if self.unclean:
            print("\nweir fault: unclean exit on SIGTERM in teardown: %s" % self.unclean)
        left = [p.name for p in procs if p.alive()]
        assert not left, "processes still running after teardown: %s" % left


@pytest.fixture
def fleet(tmp_path):
    f = Fleet(str(tmp_path))
    try:
        yield f
    finally:
        f.teardown()


def pytest_sessionfinish(session, exitstatus):
    left = [p for p in harness.ALL_PROCS if p.alive()]
    for p in left:
        try:
            os.kill(p.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        p.stop(timeout=5)
    if left:
        print("\nweir fault: processes left running were stopped: %s" % [p.name for p in left])
        session.exitstatus = 1
