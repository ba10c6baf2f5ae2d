"""pytest fixtures for the Weir integration scenarios.

Owns the lifetime of the clusters the scenarios use:
  * `cluster`        a fresh ZooKeeper + cluster for one test (the default, safest);
  * `shared_cluster` one ZooKeeper + cluster for a whole module, for scenarios whose
                     tests do not depend on cluster-wide state;
  * `cluster_factory` start any number of clusters (and ZooKeepers) inside one test.
A module shapes its cluster with a module-level dict `CLUSTER` (keyword arguments of
harness.Cluster, e.g. broker_props). On a failure the last 50 lines of every
process log involved are attached to the report. Teardown stops each process by
pid and asserts that none is left running.
"""

import os

import pytest

import harness


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
    harness.attach_failure_logs(item, outcome.get_result(), 50)


class _Fleet:
    """Everything started by one fixture instance, stopped in reverse order."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.clusters = []
        self.zks = []

    def zookeeper(self):
        zk = harness.ZooKeeper(os.path.join(self.workdir, "zk%d" % len(self.zks)))
        self.zks.append(zk)
        return zk

    def cluster(self, zk=None, ready=True, **kw):
        zk = zk or self.zookeeper()
        d = os.path.join(self.workdir, "cluster%d" % len(self.clusters))
        os.makedirs(d, exist_ok=True)
        c = harness.Cluster(d, zk, **kw)
        self.clusters.append(c)
        if ready:
            c.wait_ready()
        return c

    def teardown(self):
        procs, unclean = [], []
        for c in reversed(self.clusters):
            running = [p for p in c.all_procs() if p.alive()]
            procs += c.all_procs()
            c.stop()
            # SIGTERM is a clean, controlled shutdown: exit status 0, within the timeout.
            unclean += ["%s (exit %s)" % (p.name, p.returncode()) for p in running
                        if p.returncode() != 0]
        for zk in reversed(self.zks):
            procs.append(zk.proc)
            zk.stop()
        left = [p.name for p in procs if p.alive()]
        assert not left, "processes still running after teardown: %s" % left
        assert not unclean, "unclean exit on SIGTERM: %s" % unclean


def _module_kw(request):
    return dict(getattr(request.module, "CLUSTER", {}))


@pytest.fixture
def cluster_factory(tmp_path):
    fleet = _Fleet(str(tmp_path))
    try:
        yield fleet
    finally:
        fleet.teardown()


@pytest.fixture
def cluster(cluster_factory, request):
    return cluster_factory.cluster(**_module_kw(request))


@pytest.fixture(scope="module")
def shared_cluster(tmp_path_factory, request):
    fleet = _Fleet(str(tmp_path_factory.mktemp(request.module.__name__)))
    try:
        yield fleet.cluster(**_module_kw(request))
    finally:
        fleet.teardown()


@pytest.fixture(autouse=True)
def _shared_cluster_still_serving(request):
    """A test sharing a cluster must leave every process of it alive."""
    yield
    if "shared_cluster" in request.fixturenames:
        request.getfixturevalue("shared_cluster").check_alive()


def pytest_sessionfinish(session, exitstatus):
    left = [p for p in harness.ALL_PROCS if p.alive()]
    for p in left:  # a fixture failed to stop them: do it now, by pid, and complain
        p.stop(timeout=5)
    if left:
        print("\nweir integration: processes left running were stopped: %s"
              % [p.name for p in left])
        session.exitstatus = 1
